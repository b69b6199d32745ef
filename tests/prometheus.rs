//! `deploy/prometheus/`, the rules operators load: promtool checks them and
//! runs their unit tests, and a real Prometheus (Debian's, installed by
//! `deploy/prometheus/setup.sh`) scraping a real yes-server finds its
//! series, records the rules' series, fires `YesNaiveBudgetExceeded` once a
//! Yes stream exceeds its budget, and holds `YesServerDown` pending once
//! the server is gone.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use common::metrics::scrape;
use common::process::ServerProcess;
use common::recipes::path;
use common::*;

const RULES: &str = "deploy/prometheus/yes-server.rules.yml";
const RULE_TESTS: &str = "deploy/prometheus/yes-server.rules.test.yml";
const SETUP: &str = "deploy/prometheus/setup.sh";

/// `promtool ARGS`; fails the test with its output unless it succeeds.
fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("promtool did not start ({e}); {SETUP} installs it"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn the_rules_pass_promtools_checks_and_unit_tests() {
    let rules = path(RULES);
    promtool(&["check", "rules", rules.to_str().unwrap()]);
    let tested = promtool(&["test", "rules", path(RULE_TESTS).to_str().unwrap()]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// A Prometheus server scraping one yes-server every second with the
/// rules loaded, on a free loopback port, with its data in a directory of
/// its own; stopped and removed on drop.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Prometheus {
    fn start(target: SocketAddr) -> Prometheus {
        let dir = std::env::temp_dir().join(format!("yes-grpc-prometheus-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 rule_files:\n  - {rules}\n\
                 scrape_configs:\n  - job_name: yes-server\n    static_configs:\n      \
                 - targets: [\"{target}\"]\n",
                rules = path(RULES).display()
            ),
        )
        .unwrap();
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("prometheus did not start ({e}); {SETUP} installs it"));
        let prometheus = Prometheus { child, addr, dir };
        assert!(
            eventually(|| std::net::TcpStream::connect(addr).is_ok()
                && scrape(addr, "/-/ready").0.contains(" 200")),
            "prometheus never became ready on {addr}"
        );
        prometheus
    }

    /// The result of an instant query: each series' labels and value.
    fn query(&self, promql: &str) -> Vec<(Value, f64)> {
        let body = self.get(&format!("/api/v1/query?query={}", encode(promql)));
        body["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["metric"].clone(),
                    r["value"][1].as_str().unwrap().parse().unwrap(),
                )
            })
            .collect()
    }

    /// The state ("pending", "firing") of the alert `name`, if active.
    fn alert(&self, name: &str) -> Option<String> {
        let body = self.get("/api/v1/alerts");
        body["data"]["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["labels"]["alertname"] == name)
            .map(|a| a["state"].as_str().unwrap().to_owned())
    }

    fn get(&self, path: &str) -> Value {
        let (head, body) = scrape(self.addr, path);
        assert!(head.contains(" 200"), "{path}: {head}\n{body}");
        serde_json::from_str(&body).unwrap()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `text` percent-encoded for a URL's query.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn a_real_prometheus_scrapes_the_server_and_its_alerts_fire() {
    let mut server =
        ServerProcess::spawn(&["--metrics-listen", "127.0.0.1:0", "--naive-budget", "1MiB"]);
    let metrics = server.metrics_addr();
    let prometheus = Prometheus::start(metrics);

    // Scraped, with every series the rules read, before anything happened.
    let up = || prometheus.query("up{job=\"yes-server\"}");
    assert!(
        eventually(|| up().iter().any(|(_, v)| *v == 1.0)),
        "the server was never scraped: {:?}",
        up()
    );
    for series in [
        "yes_active_streams",
        "yes_paused_streams",
        "yes_messages_sent_total",
        "yes_streams_ended_total{reason=\"budget_exceeded\"}",
        "yes_paused_seconds_total",
        "process_resident_memory_bytes",
    ] {
        assert!(!prometheus.query(series).is_empty(), "no {series}");
    }
    assert_eq!(prometheus.alert("YesNaiveBudgetExceeded"), None);

    // A stream flows (so the recorded rate has something to show), then a
    // Yes stream outruns its client past the budget.
    let client = server.client();
    let mut flowing = client.yes_with_fc(&request("p")).unwrap();
    read(&mut flowing, 1_000);
    let mut naive = client.yes(&request("n")).unwrap();
    let (_, error) = read_to_error(&mut naive);
    assert_eq!(code(&error), grpcio::RpcStatusCode::RESOURCE_EXHAUSTED);
    assert!(
        eventually(|| prometheus.alert("YesNaiveBudgetExceeded").as_deref() == Some("firing")),
        "YesNaiveBudgetExceeded did not fire: {:?}",
        prometheus.get("/api/v1/alerts")
    );
    assert!(
        eventually(|| !prometheus.query("yes:messages_sent:rate5m > 0").is_empty()),
        "no recorded message rate"
    );
    drop(flowing);

    // The server gone: `up` is 0 and YesServerDown waits out its minute.
    server.stop();
    assert!(
        eventually(|| prometheus.alert("YesServerDown").as_deref() == Some("pending")),
        "YesServerDown is not pending with the server gone: {:?}",
        up()
    );
    println!(
        "prometheus: series scraped, YesNaiveBudgetExceeded firing, YesServerDown pending \
         ({} rules loaded)",
        prometheus.get("/api/v1/rules")["data"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["rules"].as_array().unwrap().len())
            .sum::<usize>()
    );
}
