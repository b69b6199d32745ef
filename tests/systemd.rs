//! The Debian package, built by `scripts/package-deb.sh` from the release
//! binaries cargo built, checked with lintian, then installed with `apt` on
//! a Debian host that boots systemd as PID 1 in a podman container
//! (`deploy/systemd/test-setup.sh` makes it), and run there as an
//! administrator would: everything is checked from outside the unit. It is
//! active only once health answers; it runs as a dynamic user with no
//! capabilities; streams flow and a slow reader is paused; `systemctl stop`
//! ends open streams with UNAVAILABLE and the unit with status 0; after
//! `kill -9` systemd restarts it; TLS files reach it through
//! `LoadCredential=`; a changed `/etc/default/yes-server` survives a
//! reinstall and `apt purge` removes it. Prints one `deb:` line.
//!
//! The host container shares this machine's network (as the container
//! test's do), so a drop-in the test writes before installing puts the
//! server on free loopback ports (port 0; the journal says which).
//!
//! A machine where podman cannot boot systemd fails this test with the
//! reason; `YES_GRPC_SKIP_SYSTEMD=1` skips it there (CI never sets it).

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use grpcio::RpcStatusCode;
use grpcio_health::proto::{HealthCheckRequest, ServingStatus};
use grpcio_health::HealthClient;

use common::certs::Certs;
use common::metrics::{codes_at_end, flowing_and_paused};
use common::podman::{output, podman, run, skipped};
use common::process::BIN;
use common::recipes::{path, read as read_file};
use common::*;
use yes_grpc::client::{connect, ClientTls};
use yes_grpc::proto::yes_grpc::SayYesClient;
use yes_grpc::server::LISTENING;

const SKIP: &str = "YES_GRPC_SKIP_SYSTEMD";
const HOST: &str = "localhost/yes-grpc-systemd:bookworm";
const SETUP: &str = "deploy/systemd/test-setup.sh";
const UNIT: &str = "yes-server.service";
const CONFFILE: &str = "/etc/default/yes-server";
const DROP_IN_DIR: &str = "/etc/systemd/system/yes-server.service.d";
/// The highest exposure `systemd-analyze security` may rate the unit.
const MOST_EXPOSURE: f64 = 1.5;

/// The package built from the binaries under test.
struct Package {
    path: PathBuf,
    bytes: u64,
}

impl Package {
    fn build() -> Package {
        // The binaries under test: BIN is TARGET/release/yes-server. The
        // script's cargo build finds them built and adds the generator.
        let target = Path::new(BIN).parent().unwrap().parent().unwrap();
        let mut script = Command::new(path("scripts/package-deb.sh"));
        script.env("YES_GRPC_TARGET_DIR", target);
        let printed = run(script);
        let path = PathBuf::from(printed.lines().last().unwrap());
        let bytes = std::fs::metadata(&path).unwrap().len();
        Package { path, bytes }
    }

    fn name(&self) -> String {
        self.path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    /// `dpkg-deb OPTION PACKAGE FIELDS…`'s output.
    fn dpkg_deb(&self, option: &str, fields: &[&str]) -> String {
        let mut command = Command::new("dpkg-deb");
        command.arg(option).arg(&self.path).args(fields);
        run(command)
    }

    /// lintian's errors and warnings, as `E: …` and `W: …` lines.
    fn lintian(&self) -> (Vec<String>, Vec<String>) {
        let out = Command::new("lintian").arg(&self.path).output().unwrap();
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines = |prefix: &str| -> Vec<String> {
            report
                .lines()
                .filter(|l| l.starts_with(prefix))
                .map(str::to_owned)
                .collect()
        };
        (lines("E: "), lines("W: "))
    }
}

/// A Debian host booted with systemd as PID 1, removed on drop.
struct Host {
    name: String,
}

impl Host {
    fn boot() -> Result<Host, String> {
        output(podman(&["--version"]))?;
        output(podman(&["image", "exists", HOST]))
            .map_err(|_| format!("the image {HOST} is missing (made by {SETUP})"))?;
        let name = format!("yes-grpc-systemd-{}", std::process::id());
        let _ = podman(&["rm", "--force", "--time", "0", &name]).output();
        output(podman(&[
            "run",
            "--detach",
            "--name",
            &name,
            "--systemd=always",
            HOST,
            "/sbin/init",
        ]))?;
        let host = Host { name };
        // `--wait` waits for the boot to end, once systemd's bus is up.
        let state = host.try_sh(
            "timeout 60 sh -c 'while :; do \
               s=$(systemctl is-system-running --wait 2>/dev/null); \
               case \"$s\" in running|degraded|maintenance|stopping) echo $s; exit;; esac; \
               sleep 0.1; done'",
        )?;
        if state != "running" {
            let failed = host.try_sh("systemctl --failed --no-legend --plain")?;
            return Err(format!("systemd is {state}: {failed}"));
        }
        Ok(host)
    }

    /// Runs a shell script in the host; its standard output, trimmed.
    fn try_sh(&self, script: &str) -> Result<String, String> {
        let out = output(podman(&["exec", &self.name, "sh", "-c", script]))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn sh(&self, script: &str) -> String {
        self.try_sh(script).unwrap_or_else(|e| panic!("{e}"))
    }

    /// How long `script` took, in milliseconds, timed in the host.
    fn timed(&self, script: &str) -> u64 {
        let ns = self.sh(&format!(
            "t0=$(date +%s%N); {script} >/dev/null; echo $(( $(date +%s%N) - t0 ))"
        ));
        ns.parse::<u64>().unwrap() / 1_000_000
    }

    fn copy_in(&self, from: &Path, to: &str) {
        let to = format!("{}:{to}", self.name);
        run(podman(&["cp", &from.to_string_lossy(), &to]));
    }

    fn write(&self, file: &str, text: &str) {
        let source = std::env::temp_dir().join(format!("yes-grpc-systemd-{}", std::process::id()));
        std::fs::write(&source, text).unwrap();
        self.copy_in(&source, file);
        std::fs::remove_file(&source).unwrap();
    }

    /// The unit's properties `names`.
    fn show(&self, names: &[&str]) -> HashMap<String, String> {
        let shown = self.sh(&format!("systemctl show -p {} {UNIT}", names.join(",")));
        shown
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// What the server running now logged to the journal, once it has
    /// logged the line that says where it listens.
    fn journal(&self) -> Vec<String> {
        let id = self.show(&["InvocationID"])["InvocationID"].clone();
        let script = format!("journalctl --no-pager -o cat _SYSTEMD_INVOCATION_ID={id}");
        let mut lines = Vec::new();
        let logged = eventually(|| {
            lines = self.sh(&script).lines().map(str::to_owned).collect();
            lines.iter().any(|l| l.starts_with(LISTENING))
        });
        assert!(logged, "the server never said where it listens: {lines:#?}");
        lines
    }

    /// The addresses the running server's journal gives: gRPC and metrics.
    fn addresses(&self) -> (String, SocketAddr) {
        let journal = self.journal();
        let grpc = journal
            .iter()
            .find_map(|l| l.strip_prefix(LISTENING))
            .unwrap()
            .to_owned();
        let metrics = journal
            .iter()
            .find_map(|l| l.split_once("serving metrics on http://"))
            .map(|(_, rest)| rest.trim_end_matches("/metrics").parse().unwrap())
            .expect("the server serves metrics");
        (grpc, metrics)
    }

    /// The server process's `/proc/PID/status` fields.
    fn status(&self) -> HashMap<String, String> {
        let pid = &self.show(&["MainPID"])["MainPID"];
        self.sh(&format!("cat /proc/{pid}/status"))
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
            .collect()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // A failed test must not leave its host running.
        let _ = podman(&["rm", "--force", "--time", "0", &self.name]).output();
    }
}

/// Asks gRPC health at `addr` about `service`, once.
fn health(addr: &str, service: &str) -> ServingStatus {
    let client = HealthClient::new(channel_to(addr, |b| b));
    let mut check = HealthCheckRequest::new();
    check.service = service.to_owned();
    client
        .check_opt(&check, with_timeout(PATIENCE))
        .unwrap_or_else(|e| panic!("health of {service:?} at {addr}: {e}"))
        .status
}

fn both_serving(addr: &str) -> bool {
    ["", "yes.SayYes"]
        .iter()
        .all(|service| health(addr, service) == ServingStatus::Serving)
}

#[test]
#[ignore = "builds the Debian package and boots systemd with podman: scripts/test.sh runs it (--release --ignored)"]
fn the_package_installs_and_runs_hardened_under_systemd() {
    if skipped(SKIP) {
        eprintln!("systemd: skipped ({SKIP} is set)");
        return;
    }
    let package = Package::build();
    let (errors, warnings) = package.lintian();
    assert!(errors.is_empty(), "lintian: {errors:#?}");
    let docs = read_file("docs/hosts.md");
    for warning in &warnings {
        let tag = warning.split_whitespace().nth(2).unwrap();
        assert!(
            docs.contains(tag),
            "docs/hosts.md does not explain lintian's {warning}"
        );
    }
    check_contents(&package);

    let host = Host::boot().unwrap_or_else(|why| {
        panic!(
            "systemd: podman cannot boot systemd in a container here: {why}. {SETUP} installs \
             podman and makes the image; {SKIP}=1 skips this test on machines that cannot run it."
        )
    });
    // Before the package starts it: free loopback ports on the shared network.
    host.sh(&format!("mkdir -p {DROP_IN_DIR}"));
    host.write(
        &format!("{DROP_IN_DIR}/test-ports.conf"),
        "[Service]\nEnvironment=YES_SERVER_LISTEN=127.0.0.1:0 YES_SERVER_METRICS_LISTEN=127.0.0.1:0\n",
    );
    host.copy_in(&package.path, "/tmp/yes-grpc.deb");
    host.sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/yes-grpc.deb");
    assert_eq!(host.sh(&format!("systemctl is-enabled {UNIT}")), "enabled");
    assert_eq!(host.sh(&format!("systemctl is-active {UNIT}")), "active");
    host.sh(&format!("systemd-analyze verify --man=no {UNIT}"));
    let security = exposure(&host);

    // Type=notify: `systemctl start` returns once the server said READY=1,
    // so health answers at the first call, without a retry.
    host.sh(&format!("systemctl stop {UNIT}"));
    let active_ms = host.timed(&format!("systemctl start {UNIT}"));
    let (addr, metrics) = host.addresses();
    assert!(both_serving(&addr), "active but not SERVING");
    let journal = host.journal();
    let start_up = format!("on {}", yes_grpc::ccore::describe());
    assert!(
        journal
            .iter()
            .any(|l| l.contains("serving yes.SayYes") && l.contains(&start_up)),
        "no start-up line naming the C-core ({start_up}) in the journal: {journal:#?}"
    );
    let uid = sandboxed(&host.status());

    // A flowing stream and a paused one; `systemctl stop` ends both.
    let client = SayYesClient::new(channel_to(&addr, |b| b));
    let streams = flowing_and_paused(&client, metrics, "host ✓");
    let readers = codes_at_end(streams);
    let stop_ms = host.timed(&format!("systemctl stop {UNIT}"));
    assert_eq!(readers.join().unwrap(), [RpcStatusCode::UNAVAILABLE; 2]);
    let stopped = host.show(&[
        "Result",
        "ExecMainCode",
        "ExecMainStatus",
        "TimeoutStopUSec",
    ]);
    assert_eq!(
        (
            stopped["Result"].as_str(),
            stopped["ExecMainStatus"].as_str()
        ),
        ("success", "0"),
        "{stopped:?}"
    );
    // CLD_EXITED: the server exited by itself, it was not killed.
    assert_eq!(stopped["ExecMainCode"], "1", "{stopped:?}");
    let timeout = humantime::parse_duration(&stopped["TimeoutStopUSec"]).unwrap();
    assert!(Duration::from_millis(stop_ms) < timeout, "{stop_ms} ms");

    let restart_ms = restarts_after_kill(&host);
    let tls = serves_tls_from_credentials(&host);
    let conffile = conffile_is_kept_and_purged(&host);

    println!(
        "deb: {} {:.1} MB, lintian {} errors {} warnings; security {security:.1}; active in \
         {active_ms} ms; uid {uid}, caps none; health SERVING; streaming ok; stop -> status 0 in \
         {stop_ms} ms; restarted after kill -9 in {restart_ms} ms; {tls}; {conffile}",
        package.name(),
        package.bytes as f64 / 1e6,
        errors.len(),
        warnings.len(),
    );
}

/// What the package holds besides the binaries, and what cargo-deb found.
fn check_contents(package: &Package) {
    let files = package.dpkg_deb("--contents", &[]);
    for file in [
        "/usr/bin/yes-server",
        "/usr/bin/yes-client",
        "/usr/share/man/man1/yes-server.1.gz",
        "/usr/share/man/man1/yes-client.1.gz",
        "/usr/share/bash-completion/completions/yes-server",
        "/usr/share/zsh/vendor-completions/_yes-client",
        "/usr/share/fish/vendor_completions.d/yes-server.fish",
        "/usr/lib/systemd/system/yes-server.service",
        "/usr/share/doc/yes-grpc/copyright",
        CONFFILE,
    ] {
        assert!(
            files.lines().any(|l| l.ends_with(&format!(" .{file}"))),
            "{file} is not in the package:\n{files}"
        );
    }
    assert_eq!(package.dpkg_deb("--info", &["conffiles"]), CONFFILE);
    // The system's OpenSSL, found by cargo-deb in the binary.
    let depends = package.dpkg_deb("--field", &["Depends"]);
    assert!(depends.contains("libssl3"), "{depends}");
}

/// `systemd-analyze security`'s overall rating of the unit, at most
/// [`MOST_EXPOSURE`].
fn exposure(host: &Host) -> f64 {
    let report = host.sh(&format!("systemd-analyze security --no-pager {UNIT}"));
    let overall = report
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for yes-server.service: "))
        .map(|(_, rest)| rest.split_whitespace().next().unwrap().parse::<f64>())
        .unwrap_or_else(|| panic!("no overall rating:\n{report}"))
        .unwrap();
    assert!(overall <= MOST_EXPOSURE, "{report}");
    overall
}

/// The server runs as a dynamic user (systemd's range 61184–65519) with no
/// capabilities, no way to gain privileges, and a system-call filter.
/// Returns the uid.
fn sandboxed(status: &HashMap<String, String>) -> u32 {
    let uid: u32 = status["Uid"]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((61184..=65519).contains(&uid), "uid {uid}");
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(status[set], "0000000000000000", "{set}");
    }
    assert_eq!(status["NoNewPrivs"], "1");
    assert_eq!(status["Seccomp"], "2", "no system-call filter");
    uid
}

/// `kill -9` of the server: systemd restarts it and it serves again.
/// Returns how long it was down, from the kill to active again.
fn restarts_after_kill(host: &Host) -> u64 {
    host.sh(&format!("systemctl start {UNIT}"));
    let before = host.show(&["MainPID", "NRestarts"]);
    let waited = host.sh(&format!(
        "t0=$(date +%s%N); kill -9 {pid}; \
         for i in $(seq 1 400); do \
           [ \"$(systemctl show -p NRestarts,ActiveState --value {UNIT} | tr '\\n' ' ')\" \
             = \"{restarts} active \" ] && break; sleep 0.05; \
         done; echo $(( ($(date +%s%N) - t0) / 1000000 ))",
        pid = before["MainPID"],
        restarts = before["NRestarts"].parse::<u32>().unwrap() + 1,
    ));
    let after = host.show(&["MainPID", "NRestarts", "ActiveState"]);
    assert_eq!(after["ActiveState"], "active", "{after:?}");
    assert_ne!(after["MainPID"], before["MainPID"]);
    let (addr, _) = host.addresses();
    assert!(both_serving(&addr), "restarted but not SERVING");
    waited.parse().unwrap()
}

/// TLS files owned by root and readable by root only reach the server
/// through `LoadCredential=`, which copies them for the service at start.
fn serves_tls_from_credentials(host: &Host) -> String {
    let certs = Certs::new("systemd");
    host.sh("mkdir -p /etc/yes-server");
    for file in ["server.pem", "server.key"] {
        let to = format!("/etc/yes-server/{file}");
        host.copy_in(&certs.path(file), &to);
        host.sh(&format!("chown root:root {to} && chmod 0600 {to}"));
    }
    let drop_in = format!("{DROP_IN_DIR}/tls.conf");
    host.write(
        &drop_in,
        "[Service]\n\
         LoadCredential=server.pem:/etc/yes-server/server.pem\n\
         LoadCredential=server.key:/etc/yes-server/server.key\n\
         Environment=YES_SERVER_TLS_CERT=%d/server.pem YES_SERVER_TLS_KEY=%d/server.key\n",
    );
    host.sh(&format!(
        "systemctl daemon-reload && systemctl restart {UNIT}"
    ));
    let (addr, _) = host.addresses();
    let tls = ClientTls {
        ca: Some(certs.path("ca.pem")),
        identity: None,
        server_name: None,
    };
    let client = connect(&addr, false, Some(&tls)).unwrap();
    let mut stream = client.yes_with_fc(&request("over TLS")).unwrap();
    assert_eq!(read(&mut stream, 3), ["over TLS"; 3]);
    drop(stream);
    host.sh(&format!(
        "rm {drop_in} && systemctl daemon-reload && systemctl restart {UNIT}"
    ));
    "TLS from LoadCredential ok".to_owned()
}

/// An administrator's change to the conffile is used, survives a reinstall
/// of the package, and goes with `apt purge`.
fn conffile_is_kept_and_purged(host: &Host) -> String {
    let setting = "YES_SERVER_NAIVE_BUDGET=1MiB";
    host.sh(&format!("echo {setting} >> {CONFFILE}"));
    host.sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall /tmp/yes-grpc.deb");
    assert!(host
        .sh(&format!("cat {CONFFILE}"))
        .lines()
        .any(|l| l == setting));
    // The reinstall restarted the server, which read the changed file.
    let journal = host.journal();
    assert!(
        journal
            .iter()
            .any(|l| l.contains("Yes budget 1048576 bytes")),
        "the server did not read {CONFFILE}: {journal:#?}"
    );
    host.sh("DEBIAN_FRONTEND=noninteractive apt-get purge -y -q yes-grpc");
    assert_eq!(
        host.sh(&format!("test -e {CONFFILE} && echo kept || echo gone")),
        "gone"
    );
    assert_eq!(host.sh("command -v yes-server || echo gone"), "gone");
    "conffile kept on reinstall, removed by purge".to_owned()
}
