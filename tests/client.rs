//! `yes-client`, the real binary, against a real server in this process (so
//! the test can read the server's figures).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;
use yes_grpc::end::Reason;

use common::*;
use yes_grpc::codec::Encoded;
use yes_grpc::stream::fc_limit;

const CLIENT: &str = env!("CARGO_BIN_EXE_yes-client");

fn yes_client(server: &yes_grpc::YesServer, args: &[&str]) -> Command {
    let mut command = Command::new(CLIENT);
    command
        .args(["--target", &server.local_addr().to_string()])
        .args(args);
    command
}

fn lines(output: &[u8]) -> Vec<&str> {
    std::str::from_utf8(output).unwrap().lines().collect()
}

#[test]
fn count_prints_that_many_lines_for_both_methods() {
    let server = server();
    for method in ["yes-with-fc", "yes"] {
        let output = yes_client(&server, &["-n", "5", "--method", method])
            .output()
            .unwrap();
        assert!(output.status.success(), "{method}: {output:?}");
        assert_eq!(lines(&output.stdout), ["yes"; 5], "{method}");
    }
    let output = yes_client(&server, &["--count", "3", "hello", "wörld"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(lines(&output.stdout), ["hello wörld"; 3]);
    assert!(server.registry().wait_idle(PATIENCE));
}

/// `yes-client | head -n 1`: the reader goes away, the client exits 0
/// without a word, and the server's stream ends.
#[test]
fn closed_pipe_ends_quietly_and_frees_the_stream() {
    let server = server();
    let mut child = yes_client(&server, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(first, "yes\n");
    drop(stdout); // as `head` exits
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        server.registry().wait_idle(PATIENCE),
        "the stream outlived the client"
    );
    assert_eq!(server.registry().totals().ended(Reason::Cancelled), 1);
}

#[test]
fn unreachable_target_is_a_clear_error() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = unused.local_addr().unwrap().to_string();
    drop(unused);
    let output = Command::new(CLIENT)
        .args(["--target", &addr, "-n", "1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("yes-client: UNAVAILABLE: "), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn deadline_and_stats() {
    let server = server();
    let output = yes_client(&server, &["--stats", "--deadline", "2500ms"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty(), "--stats prints no lines");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let rates: Vec<f64> = stderr
        .lines()
        .filter_map(|l| {
            l.strip_prefix("yes-client: ")?
                .split(" msgs/s")
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert!(rates.len() >= 2, "{stderr}");
    assert!(rates.iter().all(|r| *r > 0.0), "{stderr}");
    assert!(
        stderr.contains("yes-client: DEADLINE_EXCEEDED: "),
        "{stderr}"
    );
}

#[test]
fn sigint_cancels_and_exits_130() {
    let server = server();
    let mut child = yes_client(&server, &[])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    // Keep reading, so the client is never stuck on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert!(server.registry().wait_idle(PATIENCE));
}

/// A consumer that reads the client's output slowly slows the server: the
/// stream's pause time grows while its held bytes stay within the bound.
#[test]
fn slow_consumer_pauses_the_server() {
    let server = server();
    let message = "slow consumer ".repeat(70); // about 1 KiB a line
    let mut child = yes_client(&server, &[&message])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let bound = fc_limit(Encoded::reply(&message).len());
    let mut chunk = [0u8; 4096];
    let paused = eventually(|| {
        stdout.read_exact(&mut chunk).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let streams = server.registry().streams();
        let stream = streams.first().expect("the stream is live");
        assert!(
            stream.max_held <= bound,
            "held {} > {bound}",
            stream.max_held
        );
        stream.paused > Duration::from_millis(500)
    });
    assert!(paused, "the server never paused for the slow consumer");
    drop(stdout);
    assert!(child.wait().unwrap().success());
    assert!(server.registry().wait_idle(PATIENCE));
}

/// Several addresses in --target: calls are balanced round-robin (the
/// client library as yes-client builds it; tests/replicas.rs drains one).
#[test]
fn round_robin_over_two_servers() {
    let (a, b) = (server(), server());
    let addrs = [a.local_addr().to_string(), b.local_addr().to_string()];
    let client = common::replicas::round_robin(&addrs);
    let active = || vec![a.registry().totals().active, b.registry().totals().active];
    // Until both connections are up, round_robin sends every call to the
    // first one that is: waiting for both keeps that from failing the test.
    let streams = common::replicas::open_on_every_replica(&client, 20, active);
    let spread = active();
    assert_eq!(spread.iter().sum::<u64>(), streams.len() as u64);
    assert!(spread.iter().all(|&n| n > 0), "{spread:?}");

    // And the binary accepts the same list.
    let output = Command::new(CLIENT)
        .args([
            "--target",
            &format!("{},{}", a.local_addr(), b.local_addr()),
            "-n",
            "2",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(lines(&output.stdout), ["yes"; 2]);
}

/// `yes-client --health SERVICE`, what scripts and the image's HEALTHCHECK
/// run: SERVING prints SERVING and exits 0; a service the server does not
/// know, and a server that is not there, exit 1 with the status.
#[test]
fn health_checks_exit_zero_only_when_serving() {
    let server = server();
    for service in ["", "yes.SayYes"] {
        let output = yes_client(&server, &["--health", service])
            .output()
            .unwrap();
        assert!(output.status.success(), "{service:?}: {output:?}");
        assert_eq!(lines(&output.stdout), ["SERVING"], "{service:?}");
    }
    let output = yes_client(&server, &["--health", "no.Such"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("yes-client: NOT_FOUND: "), "{stderr}");

    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = free.local_addr().unwrap().to_string();
    drop(free);
    let output = Command::new(CLIENT)
        .args(["--target", &nobody, "--health", "", "--deadline", "1s"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("yes-client: UNAVAILABLE: ")
            || stderr.starts_with("yes-client: DEADLINE_EXCEEDED: "),
        "{stderr}"
    );

    let output = yes_client(&server, &["--health", "", "-n", "3"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "--health with --count: {output:?}"
    );
}
