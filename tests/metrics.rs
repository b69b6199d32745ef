//! `--metrics-listen`: Prometheus metrics scraped while streams run.

mod common;

use std::time::Duration;

use common::metrics::{metric, sample, scrape, scrape_accepting};
use common::*;

#[test]
fn metrics_show_streams_and_a_slow_readers_pauses_growing() {
    let server = server_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap()));
    let metrics = server.metrics_addr().expect("metrics are served");

    let (head, body) = scrape(metrics, "/metrics");
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{head}"
    );
    assert_eq!(
        sample(&body, "yes_active_streams{method=\"YesWithFc\"}"),
        0.0
    );

    // A slow reader: 1 KiB replies, read now and then.
    let client = client(&server);
    let mut slow = client.yes_with_fc(&request(&"m".repeat(1024))).unwrap();
    read(&mut slow, 1);
    let paused = |body: &str| sample(body, "yes_paused_seconds_total{method=\"YesWithFc\"}");
    let mut first = None;
    let grew = eventually(|| {
        read(&mut slow, 1);
        let (_, body) = scrape(metrics, "/metrics");
        assert_eq!(
            sample(&body, "yes_active_streams{method=\"YesWithFc\"}"),
            1.0
        );
        let now = paused(&body);
        match first {
            None if now > 0.0 => first = Some(now),
            Some(then) => return now >= then + 0.5,
            _ => {}
        }
        std::thread::sleep(Duration::from_millis(50));
        false
    });
    assert!(grew, "the slow reader's pause seconds did not grow");
    // Not read at all now: its producer is paused, and the gauge says so.
    assert!(
        eventually(|| metric(metrics, "yes_paused_streams{method=\"YesWithFc\"}") == 1.0),
        "not counted as paused"
    );

    // The slow stream ends: counted as cancelled, with what it sent.
    drop(slow);
    assert!(server.registry().wait_idle(PATIENCE));
    let (_, body) = scrape(metrics, "/metrics");
    assert_eq!(
        sample(
            &body,
            "yes_streams_ended_total{method=\"YesWithFc\",reason=\"cancelled\"}"
        ),
        1.0
    );
    assert!(sample(&body, "yes_messages_sent_total{method=\"YesWithFc\"}") > 1.0);
    assert!(sample(&body, "yes_bytes_sent_total{method=\"YesWithFc\"}") > 1024.0);
    assert_eq!(sample(&body, "yes_naive_budget_exceeded_total"), 0.0);
    assert_eq!(
        sample(&body, "yes_paused_streams{method=\"YesWithFc\"}"),
        0.0
    );
    assert!(sample(&body, "process_resident_memory_bytes") > 1e6);

    let (head, _) = scrape(metrics, "/nothing");
    assert!(head.contains(" 404"), "{head}");
}

#[test]
fn naive_budget_failures_are_counted() {
    let server = server_with(|c| {
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        c.naive_budget = 1 << 20;
    });
    let client = client(&server);
    let mut naive = client.yes(&request("n")).unwrap();
    let (_, error) = read_to_error(&mut naive);
    assert_eq!(code(&error), grpcio::RpcStatusCode::RESOURCE_EXHAUSTED);
    assert!(server.registry().wait_idle(PATIENCE));
    let (_, body) = scrape(server.metrics_addr().unwrap(), "/metrics");
    assert_eq!(sample(&body, "yes_naive_budget_exceeded_total"), 1.0);
    assert_eq!(
        sample(
            &body,
            "yes_streams_ended_total{method=\"Yes\",reason=\"budget_exceeded\"}"
        ),
        1.0
    );
}

/// A scraper that asks only for Prometheus's classic text format gets it,
/// and promtool's linter finds nothing wrong in it.
#[test]
fn old_scrapers_get_the_classic_text_format() {
    use std::io::Write;
    let server = server_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap()));
    let client = client(&server);
    let mut stream = client.yes_with_fc(&request("classic")).unwrap();
    read(&mut stream, 100);
    let addr = server.metrics_addr().unwrap();
    let (head, body) = scrape_accepting(addr, "/metrics", "text/plain;version=0.0.4");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    assert!(!body.contains("# EOF"), "{body}");
    assert!(
        body.contains("# TYPE yes_messages_sent_total counter"),
        "{body}"
    );
    assert!(sample(&body, "yes_messages_sent_total{method=\"YesWithFc\"}") >= 100.0);
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (deploy/prometheus/setup.sh installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let lint = promtool.wait_with_output().unwrap();
    assert!(
        lint.status.success(),
        "promtool check metrics: {}{}\n{body}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
}
