//! Interop: real grpc-java clients (Debian's grpc-java 1.41, built by
//! `interop/java/build.sh` from this repo's `proto/yes.proto`) against the real
//! `yes-server` binary over loopback. Each case runs against a server of its
//! own, so the server's log speaks of that case alone. The run prints one
//! `PASS`/`FAIL` line per case with its reason, then `N passed, M failed`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::certs::Certs;
use common::process::{log_field, ServerProcess};
use common::PATIENCE;
use yes_grpc::codec::Encoded;
use yes_grpc::stream::fc_limit;

/// How long one Java case may run.
const CASE_LIMIT: Duration = Duration::from_secs(120);

/// The built Java client: its class path.
struct Java {
    classpath: String,
}

impl Java {
    fn build() -> Java {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop-java");
        let status = Command::new("bash")
            .arg(root.join("interop/java/build.sh"))
            .arg(&out)
            .status()
            .expect("bash runs");
        assert!(
            status.success(),
            "building the Java interop client failed; interop/java/setup-debian.sh installs \
             what it needs"
        );
        let classpath = std::fs::read_to_string(out.join("classpath")).unwrap();
        Java {
            classpath: classpath.trim().to_owned(),
        }
    }

    fn command(&self, case: &str, target: &str) -> Command {
        let mut command = Command::new("java");
        command
            .args(["-Xss1m", "-cp", &self.classpath, "yes.interop.YesInterop"])
            .args([case, target])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs one case to its end; fails the test if it hangs.
    fn run(&self, case: &str, target: &str) -> Output {
        self.run_with(case, target, &[])
    }

    /// Runs one case with environment variables (the `YES_TLS_*` ones make
    /// its channel speak TLS).
    fn run_with(&self, case: &str, target: &str, env: &[(&str, String)]) -> Output {
        let mut command = self.command(case, target);
        command.envs(env.iter().map(|(name, value)| (name, value)));
        let child = command.spawn().expect("java starts");
        wait_output(child, CASE_LIMIT)
    }
}

fn wait_output(child: Child, limit: Duration) -> Output {
    let pid = child.id() as libc::pid_t;
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    match finished.recv_timeout(limit) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("a Java client ran past {limit:?}");
        }
    }
}

/// The Java client's verdict: its last `PASS`/`FAIL` line.
fn verdict(case: &str, output: &Output) -> Result<String, String> {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("PASS ") || l.starts_with("FAIL "));
    match last {
        Some(line) if line.starts_with("PASS ") && output.status.success() => {
            Ok(line[5 + case.len() + 2..].to_owned())
        }
        Some(line) => Err(line.to_owned()),
        None => Err(format!(
            "no verdict (exit {:?}); stderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

/// Server flags every case uses: stream starts are logged too.
const LOG: &[&str] = &["--log-level", "info,yes_grpc::stream=debug"];

/// Runs the simple cases: the Java verdict is the whole story.
fn client_case(java: &Java, case: &str) -> Result<String, String> {
    let mut server = ServerProcess::spawn(LOG);
    let output = java.run(case, &server.addr);
    server.stop();
    verdict(case, &output)
}

/// Case 4: manual inbound flow control, one read per 10 ms for 5 s. The
/// server's held bytes for the stream stay within its stated bound.
fn manual_flow_control(java: &Java) -> Result<String, String> {
    let case = "manual-flow-control";
    let mut server = ServerProcess::spawn(LOG);
    let output = java.run(case, &server.addr);
    let detail = verdict(case, &output)?;
    let line = server.log_until("ended:");
    server.stop();
    let bound = fc_limit(Encoded::reply("slow").len()) as u64;
    let (held, paused) = (log_field(&line, "max_held"), line.contains("paused=0.000s"));
    if held > bound {
        return Err(format!(
            "the server held {held} bytes, over its bound of {bound}: {line}"
        ));
    }
    if paused {
        return Err(format!("the server never paused the stream: {line}"));
    }
    Ok(format!(
        "{detail}; server: max_held={held} (bound {bound}), {line}"
    ))
}

/// Case 5: the naive method under the same slow reader.
fn naive_slow_reader(java: &Java) -> Result<String, String> {
    let case = "naive-slow-reader";
    let mut args = LOG.to_vec();
    args.extend(["--naive-budget", "8MiB"]);
    let mut server = ServerProcess::spawn(&args);
    let output = java.run(case, &server.addr);
    let detail = verdict(case, &output)?;
    let line = server.log_until("budget exceeded");
    server.stop();
    Ok(format!("{detail}; server: {line}"))
}

/// Starts a case that prints "streaming" once its streams flow; returns the
/// running client and the rest of its output.
fn start_streaming(
    java: &Java,
    case: &str,
    target: &str,
) -> Result<(Child, BufReader<ChildStdout>), String> {
    let mut child = java.command(case, target).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    if line.trim() == "streaming" {
        return Ok((child, stdout));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!("the client did not start streaming: {line:?}"))
}

/// Starts the kill case's client, waits until it streams, kills it with
/// SIGKILL, and waits until the server has ended `ended_before + 2` streams.
/// Returns the server's RSS while the client streamed, and how long the
/// server took to end both streams.
fn stream_then_kill(
    java: &Java,
    server: &mut ServerProcess,
    ended_before: usize,
) -> Result<(u64, Duration), String> {
    let (mut child, _stdout) = start_streaming(java, "stream-until-killed", &server.addr)?;
    let during = server.rss_kib();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed_at = Instant::now();
    // Both of its streams (Yes and YesWithFc) end.
    server.log_until_count(" ended: ", ended_before + 2);
    Ok((during, killed_at.elapsed()))
}

/// Case 11: the client process is killed mid-stream. Two kills warm the
/// server up (what any connection and naive stream allocate and the
/// allocator keeps); after the third, memory must be back where they left it.
fn killed_client(java: &Java) -> Result<String, String> {
    // A small naive budget: the naive stream's fill-up is not what is tested.
    let mut args = LOG.to_vec();
    args.extend(["--naive-budget", "4MiB"]);
    let mut server = ServerProcess::spawn(&args);
    stream_then_kill(java, &mut server, 0)?;
    stream_then_kill(java, &mut server, 2)?;
    let baseline = server.rss_kib();
    let (during, noticed) = stream_then_kill(java, &mut server, 4)?;
    let after = server.rss_kib();
    let started = server
        .lines
        .iter()
        .filter(|l| l.contains(" started: "))
        .count();
    let ended = server
        .lines
        .iter()
        .filter(|l| l.contains(" ended: "))
        .count();
    server.stop();
    if started != ended {
        return Err(format!("{started} streams started, {ended} ended"));
    }
    // Freed memory may stay with the allocator; allow it 10 %.
    if after * 10 > baseline * 11 {
        return Err(format!(
            "server RSS {after} KiB after the kill, over 110 % of {baseline} KiB before"
        ));
    }
    Ok(format!(
        "killed with SIGKILL mid-stream: the server ended both streams within {} ms, \
         0 live; RSS {baseline} KiB before, {during} KiB during, {after} KiB after",
        noticed.as_millis()
    ))
}

/// Case 12: SIGTERM to the server while Java clients stream. The server
/// ends every stream at once and queues its `UNAVAILABLE`; the trailers can
/// reach the client only after the replies queued before them on the same
/// HTTP/2 stream, so how soon a client sees them depends on how fast it
/// reads (grpc-java, behind on a busy machine, takes seconds). That is
/// reported; what is required is the server's prompt end of the streams and
/// every client's `UNAVAILABLE` within the grace period (after it, the
/// server would cancel the calls and the client would see `CANCELLED`).
fn shutdown_while_streaming(java: &Java) -> Result<String, String> {
    let case = "stream-until-shutdown";
    let mut server = ServerProcess::spawn(LOG);
    let (mut child, stdout) = start_streaming(java, case, &server.addr)?;
    let signalled = monotonic_nanos();
    server.signal(libc::SIGTERM);
    let shutting_down = server.log_until("shutting down: refusing new calls");
    let ended_in = Duration::from_nanos(monotonic_nanos() - signalled);
    // The client prints "ended trailers=T closed=C drained=D" as each of its
    // 3 streams gets its status: when the trailers reached its transport,
    // when the listener got the status, when the case read it.
    let mut rest = Vec::new();
    let (mut trailers, mut drained) = (Vec::new(), Vec::new());
    for line in stdout.lines().map_while(Result::ok) {
        if line.starts_with("ended ") {
            // 0 (before the signal) when the client never saw that event.
            let after = |field| {
                let at = log_field(&line, field).checked_sub(signalled);
                at.map_or(Duration::MAX, Duration::from_nanos)
            };
            trailers.push(after("trailers"));
            drained.push(after("drained"));
        }
        rest.push(line);
    }
    let output = Output {
        status: child.wait().unwrap(),
        stdout: rest.join("\n").into_bytes(),
        stderr: Vec::new(),
    };
    let status = server.wait(PATIENCE);
    let detail = verdict(case, &output)?;
    if !shutting_down.contains("ended 3 open streams") {
        return Err(format!(
            "the server did not end the 3 streams: {shutting_down}"
        ));
    }
    if ended_in > Duration::from_secs(2) {
        return Err(format!(
            "the server ended the streams only {ended_in:?} after SIGTERM"
        ));
    }
    if trailers.len() != 3 || trailers.contains(&Duration::MAX) {
        return Err(format!(
            "the client did not get the server's trailers on 3 streams: {rest:?}"
        ));
    }
    if !status.success()
        || !server
            .drain_log()
            .iter()
            .any(|l| l.contains("shut down cleanly"))
    {
        return Err(format!(
            "the server did not shut down cleanly (exit {status:?}): {:#?}",
            server.lines
        ));
    }
    let last = |times: &[Duration]| times.iter().max().unwrap().as_millis();
    Ok(format!(
        "{detail}; the server ended them {} ms after SIGTERM, its trailers reached the client \
         {} ms after it (the client had read every reply before them {} ms after); the server \
         shut down cleanly and exited 0",
        ended_in.as_millis(),
        last(&trailers),
        last(&drained)
    ))
}

/// `CLOCK_MONOTONIC` in nanoseconds: the clock of Java's `System.nanoTime()`
/// on Linux, so the Java client's instants can be set against ours.
fn monotonic_nanos() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for clock_gettime to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC)");
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// The server flags for TLS with `certs`, mutual if `mutual`.
fn tls_flags(certs: &Certs, mutual: bool) -> Vec<String> {
    let mut flags: Vec<String> = LOG.iter().map(|s| s.to_string()).collect();
    for (flag, file) in [("--tls-cert", "server.pem"), ("--tls-key", "server.key")] {
        flags.extend([flag.to_owned(), certs.arg(file)]);
    }
    if mutual {
        flags.extend(["--tls-client-ca".to_owned(), certs.arg("ca.pem")]);
    }
    flags
}

/// Case 13: TLS. The Java client trusts the test CA and reads 10,000 replies.
fn tls(java: &Java) -> Result<String, String> {
    let certs = Certs::new("java-tls");
    let flags = tls_flags(&certs, false);
    let mut server = ServerProcess::spawn(&flags.iter().map(String::as_str).collect::<Vec<_>>());
    let trust = [("YES_TLS_CA", certs.arg("ca.pem"))];
    let output = java.run_with("default-reply", &server.addr, &trust);
    server.stop();
    Ok(format!("over TLS: {}", verdict("default-reply", &output)?))
}

/// Case 14: mutual TLS. With the client certificate the Java client reads;
/// without one, or with one from another CA (which the JDK then does not
/// offer), it is refused during the handshake, and C-core logs why.
fn mutual_tls(java: &Java) -> Result<String, String> {
    let certs = Certs::new("java-mtls");
    let rogue = Certs::new("java-rogue");
    let flags = tls_flags(&certs, true);
    let mut server = ServerProcess::spawn(&flags.iter().map(String::as_str).collect::<Vec<_>>());
    let trust = ("YES_TLS_CA", certs.arg("ca.pem"));
    let identity = |of: &Certs| {
        [
            trust.clone(),
            ("YES_TLS_CERT", of.arg("client.pem")),
            ("YES_TLS_KEY", of.arg("client.key")),
        ]
    };
    let with_cert = java.run_with("default-reply", &server.addr, &identity(&certs));
    let without = java.run_with("refused", &server.addr, std::slice::from_ref(&trust));
    let untrusted = java.run_with("refused", &server.addr, &identity(&rogue));
    let refusal = server.log_until("Handshake failed");
    server.stop();
    let with_cert = verdict("default-reply", &with_cert)?;
    let without = verdict("refused", &without)?;
    let untrusted = verdict("refused", &untrusted)?;
    Ok(format!(
        "with its certificate: {with_cert}; without one: {without}; with another CA's: \
         {untrusted}, server logged \"{}\"",
        refusal.split("] ").nth(1).unwrap_or(&refusal).trim()
    ))
}

#[test]
#[ignore = "builds the Java client: scripts/test.sh runs it alone, showing each case"]
fn grpc_java_clients_against_the_server_binary() {
    let java = Java::build();
    let mut results: Vec<(&str, Result<String, String>)> = Vec::new();
    let simple = [
        ("1 YesWithFc default reply", "default-reply"),
        ("2 echo: custom, UTF-8, 1 MiB", "echo"),
        ("3 Yes echoes", "naive-echo"),
        ("6 cancel, then a new call", "cancel-then-new-call"),
        ("7 300 ms deadline", "deadline"),
        ("8 50 concurrent calls", "concurrent-calls"),
        ("9 gzip", "gzip"),
        (
            "10 metadata, UNIMPLEMENTED, health",
            "metadata-unimplemented-health",
        ),
    ];
    for (name, case) in simple {
        results.push((name, client_case(&java, case)));
    }
    results.push((
        "4 manual flow control, slow reader",
        manual_flow_control(&java),
    ));
    results.push(("5 Yes with a slow reader", naive_slow_reader(&java)));
    results.push(("11 client killed with SIGKILL", killed_client(&java)));
    results.push((
        "12 server SIGTERM while streaming",
        shutdown_while_streaming(&java),
    ));
    results.push(("13 TLS", tls(&java)));
    results.push(("14 mutual TLS", mutual_tls(&java)));
    results.sort_by_key(|(name, _)| name.split(' ').next().unwrap().parse::<u32>().unwrap());

    // Not a pass/fail case: what the sample's own style of client sees.
    let rate = client_case(&java, "sample-style-rate");

    let mut failed = 0;
    for (name, result) in &results {
        match result {
            Ok(detail) => println!("PASS {name}: {detail}"),
            Err(reason) => {
                failed += 1;
                println!("FAIL {name}: {reason}");
            }
        }
    }
    match &rate {
        Ok(detail) => println!("RATE sample-style client: {detail}"),
        Err(reason) => println!("RATE sample-style client failed: {reason}"),
    }
    println!(
        "interop: {} passed, {failed} failed",
        results.len() - failed
    );
    assert_eq!(failed, 0, "grpc-java interop cases failed (above)");
    assert!(rate.is_ok(), "the sample-style client failed: {rate:?}");
}
