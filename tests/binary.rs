//! The real `yes-server` binary, driven as users drive it.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures::StreamExt;
use grpcio::{ChannelBuilder, RpcStatusCode};
use grpcio_health::proto::HealthCheckRequest;
use grpcio_health::HealthClient;

use common::*;
use yes_grpc::proto::yes_grpc::SayYesClient;

const BIN: &str = env!("CARGO_BIN_EXE_yes-server");

/// A running `yes-server` and the address it printed.
struct Running {
    child: Child,
    addr: String,
    stderr: BufReader<ChildStderr>,
}

fn spawn(args: &[&str]) -> Running {
    spawn_on("127.0.0.1:0", args)
}

fn spawn_on(listen: &str, args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .args(["--listen", listen])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("yes-server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("yes-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    Running {
        child,
        addr,
        stderr,
    }
}

impl Running {
    fn signal(&self, signal: libc::c_int) {
        assert_eq!(
            unsafe { libc::kill(self.child.id() as libc::pid_t, signal) },
            0
        );
    }

    /// Reads the log until a line contains `needle`; returns the lines read.
    fn log_until(&mut self, needle: &str) -> Vec<String> {
        let mut seen = Vec::new();
        for line in (&mut self.stderr).lines() {
            let line = line.unwrap();
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return seen;
            }
        }
        panic!("the log ended without {needle:?}: {seen:#?}");
    }

    /// Waits for the server to exit; kills it and fails after `limit`.
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let pid = self.child.id() as libc::pid_t;
        let (done, exited) = std::sync::mpsc::channel();
        std::thread::scope(|scope| {
            let child = &mut self.child;
            scope.spawn(move || done.send(child.wait().unwrap()));
            match exited.recv_timeout(limit) {
                Ok(status) => status,
                Err(_) => {
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    panic!("yes-server did not exit within {limit:?}");
                }
            }
        })
    }

    fn client(&self) -> SayYesClient {
        SayYesClient::new(ChannelBuilder::new(client_env()).connect(&self.addr))
    }
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
    let mut rest = String::new();
    server.stderr.read_to_string(&mut rest).unwrap();
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
    let lines = server.log_until("ended:");
    let line = lines.last().unwrap();
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
    let mut server = spawn_on("[::1]:0", &[]);
    assert!(server.addr.starts_with("[::1]:"), "{}", server.addr);
    assert!(!server.addr.ends_with(":0"), "the real port is printed");
    let client = server.client();
    let mut stream = client.yes_with_fc(&request("six")).unwrap();
    assert_eq!(read(&mut stream, 3), ["six", "six", "six"]);
    drop(stream);
    server.signal(libc::SIGTERM);
    assert!(server.wait(Duration::from_secs(15)).success());
}
