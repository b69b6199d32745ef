//! The real `yes-server` binary, driven as users drive it.

mod common;

use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures::StreamExt;
use grpcio::{ChannelBuilder, RpcStatusCode};
use grpcio_health::proto::HealthCheckRequest;
use grpcio_health::HealthClient;

use common::process::{ServerProcess, BIN};
use common::*;

fn spawn(args: &[&str]) -> ServerProcess {
    ServerProcess::spawn(args)
}

#[test]
fn help_documents_every_flag() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--listen",
        "--naive-budget",
        "--grace-period",
        "--completion-queues",
        "--max-request-bytes",
        "--http2-write-buffer",
        "--max-concurrent-streams",
        "--keepalive-time",
        "--keepalive-timeout",
        "--max-connection-idle",
        "--max-connection-age",
        "--max-connection-age-grace",
        "--memory-quota",
        "--metrics-listen",
        "--log-level",
        "--version",
        "0.0.0.0:9090",
        "64MiB",
        "YesWithFc",
        "SIGTERM",
    ] {
        assert!(
            help.contains(flag),
            "--help does not mention {flag}:\n{help}"
        );
    }
}

#[test]
fn bad_flags_and_busy_ports_fail_clearly() {
    let output = Command::new(BIN)
        .args(["--naive-budget", "lots"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--naive-budget"));

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = Command::new(BIN)
        .args(["--listen", &addr])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}

#[test]
fn sigterm_ends_streams_with_unavailable_and_exits_zero() {
    let mut server = spawn(&["--grace-period", "5s"]);
    let client = server.client();
    let mut streams = vec![
        client.yes_with_fc(&request("")).unwrap(),
        client.yes_with_fc(&request("two")).unwrap(),
    ];
    for stream in &mut streams {
        read(stream, 100);
    }
    server.signal(libc::SIGTERM);
    let started = Instant::now();
    for stream in &mut streams {
        let (_, error) = read_to_error(stream);
        assert_eq!(code(&error), RpcStatusCode::UNAVAILABLE);
        assert_eq!(message(&error), "server shutting down");
    }
    let status = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "clients waited for the grace period"
    );
    let rest = server.rest_of_log().join("\n");
    assert!(rest.contains("ended: server shutting down"), "{rest}");
    assert!(rest.contains("shut down cleanly"), "{rest}");
}

#[test]
fn second_signal_exits_at_once() {
    let mut server = spawn(&["--grace-period", "60s"]);
    // A health watch never ends by itself, so shutdown waits on it.
    let health = HealthClient::new(ChannelBuilder::new(client_env()).connect(&server.addr));
    let mut watch = health.watch(&HealthCheckRequest::default()).unwrap();
    block_on(watch.next()).unwrap().unwrap();

    server.signal(libc::SIGINT);
    server.log_until("waiting up to 60.0s");
    let started = Instant::now();
    server.signal(libc::SIGINT);
    let status = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(128 + libc::SIGINT), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn stream_end_is_logged_with_its_figures() {
    let mut server = spawn(&[]);
    let client = server.client();
    let mut stream = client.yes_with_fc(&request("logged")).unwrap();
    read(&mut stream, 500);
    stream.cancel();
    let line = server.log_until("ended:");
    for field in [
        "YesWithFc",
        "from ipv4:127.0.0.1:",
        "cancelled",
        "messages=",
        "bytes=",
        "duration=",
        "paused=",
        "max_held=",
    ] {
        assert!(line.contains(field), "{field} missing from {line:?}");
    }
    server.signal(libc::SIGTERM);
    assert!(server.wait(Duration::from_secs(15)).success());
}

#[test]
fn ipv6_loopback_with_a_free_port() {
    let mut server = ServerProcess::spawn_on("[::1]:0", &[]);
    assert!(server.addr.starts_with("[::1]:"), "{}", server.addr);
    assert!(!server.addr.ends_with(":0"), "the real port is printed");
    let client = server.client();
    let mut stream = client.yes_with_fc(&request("six")).unwrap();
    assert_eq!(read(&mut stream, 3), ["six", "six", "six"]);
    drop(stream);
    server.signal(libc::SIGTERM);
    assert!(server.wait(Duration::from_secs(15)).success());
}

/// C-core experiments switched on through C-core's own `GRPC_EXPERIMENTS`
/// change its code paths, so the start-up line names them; without the
/// variable it names none.
#[test]
fn the_start_up_line_names_c_core_experiments() {
    let mut command = Command::new(BIN);
    command
        .args(["--listen", "127.0.0.1:0"])
        .env("GRPC_EXPERIMENTS", "fuse_filters");
    let mut with = ServerProcess::spawn_command(command);
    let line = with.log_until("serving yes.SayYes on");
    assert!(
        line.contains(" with C-core experiments fuse_filters "),
        "{line}"
    );
    let client = with.client();
    let mut stream = client.yes_with_fc(&request("fused")).unwrap();
    assert_eq!(read(&mut stream, 3), ["fused"; 3]);
    drop(stream);
    with.stop();

    let mut command = Command::new(BIN);
    command
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("GRPC_EXPERIMENTS");
    let mut without = ServerProcess::spawn_command(command);
    let line = without.log_until("serving yes.SayYes on");
    assert!(!line.contains("experiments"), "{line}");
    without.stop();
}
