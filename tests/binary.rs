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

use common::process::{run_command_to_exit, run_to_exit, ServerProcess, BIN};
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
        "--ccore-arg",
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
fn help_names_every_service_served() {
    let output = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    let served: Vec<String> = yes_grpc::reflection::Catalog::served(false)
        .services()
        .map(str::to_owned)
        .collect();
    assert_eq!(served.len(), 4, "{served:?}");
    assert!(help.contains("the four services"), "{help}");
    for service in ["yes.SayYes", "grpc.health.v1.Health"] {
        assert!(served.iter().any(|s| s == service), "{served:?}");
        assert!(help.contains(service), "--help omits {service}:\n{help}");
    }
}

#[test]
fn bad_flags_fail_clearly() {
    let output = run_to_exit(&["--naive-budget", "lots"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--naive-budget"));
}

/// yes-server on a port another process holds exits 1 with one line that
/// says so, before C-core logs anything, and never says it listens.
fn assert_refused(addr: &str) {
    let output = run_to_exit(&["--listen", addr]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        output.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {stderr}");
    assert!(
        lines[0].contains(&format!(
            "cannot listen on {addr}: another process holds the port"
        )),
        "{stderr}"
    );
    assert!(lines[0].contains("--reuse-port"), "{stderr}");
}

#[test]
fn a_port_held_by_another_program_is_refused() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    assert_refused(&taken.local_addr().unwrap().to_string());
}

/// C-core shares ports (SO_REUSEPORT) unless told not to: a second
/// yes-server on a held port would start and take half the new clients.
#[test]
fn a_port_held_by_another_yes_server_is_refused_and_it_keeps_serving() {
    let mut first = spawn(&[]);
    assert_refused(&first.addr);
    let client = first.client();
    let mut stream = client.yes_with_fc(&request("first")).unwrap();
    assert_eq!(read(&mut stream, 2), ["first", "first"]);
    drop(stream);
    first.stop();
}

/// Several processes on one port, on purpose: each started with
/// --reuse-port, and new connections reach each of them.
#[test]
fn reuse_port_shares_a_port_between_servers_that_both_serve() {
    let args = ["--reuse-port", "--log-level", "info,yes_grpc::stream=debug"];
    let first = ServerProcess::spawn_on("127.0.0.1:0", &args);
    let addr = first.addr.clone();
    let second = ServerProcess::spawn_on(&addr, &args);
    assert_eq!(second.addr, addr);
    let mut servers = [first, second];
    let mut calls = 0;
    // The kernel picks a server per connection by a hash of its addresses:
    // both are reached within a few connections (all 64 on one: 2^-63).
    while servers.iter_mut().any(|s| s.started_streams() == 0) {
        assert!(calls < 64, "{calls} connections all reached one server");
        let client = yes_grpc::proto::yes_grpc::SayYesClient::new(channel_to(&addr, |b| b));
        let mut stream = client.yes_with_fc(&request("shared")).unwrap();
        assert_eq!(read(&mut stream, 1), ["shared"]);
        drop(stream);
        calls += 1;
        // Each call's start is logged by whichever server took it.
        assert!(eventually(|| {
            servers
                .iter_mut()
                .map(ServerProcess::started_streams)
                .sum::<usize>()
                == calls
        }));
    }
    for server in &mut servers {
        server.stop();
    }
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
    // Peers are logged as people write them, not URL-encoded.
    let line = server.log_until("ended:");
    assert!(line.contains(" from ipv6:[::1]:"), "{line}");
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

/// Configured from the environment alone, as a systemd `EnvironmentFile=`
/// or a Kubernetes `env:` would: the variables take effect, a flag given on
/// the command line wins over its variable, --help names them, and a switch
/// set to nonsense is refused, not taken as "on".
#[test]
fn every_flag_can_come_from_the_environment() {
    let configured = || {
        let mut command = Command::new(BIN);
        command
            .env("YES_SERVER_LISTEN", "127.0.0.1:0")
            .env("YES_SERVER_NAIVE_BUDGET", "8MiB")
            .env("YES_SERVER_REUSE_PORT", "off");
        command
    };
    let mut server = ServerProcess::spawn_command(configured());
    let line = server.log_until("serving yes.SayYes on");
    assert!(line.contains("Yes budget 8388608 bytes"), "{line}");
    let client = server.client();
    let mut stream = client.yes_with_fc(&request("env")).unwrap();
    assert_eq!(read(&mut stream, 3), ["env"; 3]);
    drop(stream);
    server.stop();

    let mut command = configured();
    command.args(["--naive-budget", "4MiB"]);
    let mut server = ServerProcess::spawn_command(command);
    let line = server.log_until("serving yes.SayYes on");
    assert!(line.contains("Yes budget 4194304 bytes"), "{line}");
    server.stop();

    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for variable in [
        "YES_SERVER_LISTEN",
        "YES_SERVER_GRACE_PERIOD",
        "YES_SERVER_LOG",
    ] {
        assert!(
            help.contains(&format!("[env: {variable}=")),
            "--help omits {variable}:\n{help}"
        );
    }

    let mut command = configured();
    command.env("YES_SERVER_REUSE_PORT", "maybe");
    let output = run_command_to_exit(command);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--reuse-port") && stderr.contains("maybe"),
        "{stderr}"
    );
}

/// Under systemd (`Type=notify`), the server says READY=1 once it serves
/// and STOPPING=1 when the drain begins, with the stop time the drain needs
/// (its grace period and 5 s), on the socket systemd names in
/// `NOTIFY_SOCKET`; here a datagram socket of the test's stands in for it.
#[test]
fn tells_the_service_manager_when_ready_and_when_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dir = std::env::temp_dir().join(format!("yes-notify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("notify.sock");
    let _ = std::fs::remove_file(&path);
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    let receive = || {
        let mut buffer = [0u8; 256];
        let n = socket.recv(&mut buffer).expect("a notification in time");
        String::from_utf8_lossy(&buffer[..n]).into_owned()
    };

    let mut command = Command::new(BIN);
    command
        .args(["--listen", "127.0.0.1:0", "--grace-period", "70s"])
        .env("NOTIFY_SOCKET", &path);
    let mut server = ServerProcess::spawn_command(command);
    assert_eq!(receive().trim(), "READY=1");
    // Ready means serving: a call succeeds at once.
    let client = server.client();
    let mut stream = client.yes_with_fc(&request("ready")).unwrap();
    assert_eq!(read(&mut stream, 1), ["ready"]);
    drop(stream);
    server.signal(libc::SIGTERM);
    assert_eq!(
        receive().lines().collect::<Vec<_>>(),
        ["STOPPING=1", "EXTEND_TIMEOUT_USEC=75000000"]
    );
    assert!(server.wait(PATIENCE).success());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The README's tables of flags name every flag of both binaries, and no
/// flag that does not exist: the table is written by hand beside `--help`.
#[test]
fn the_readme_tables_name_every_flag() {
    let readme = common::recipes::read("README.md");
    let rows: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `-")).collect();
    let mut flags = Vec::new();
    for command in yes_grpc::cli::commands() {
        let name = command.get_name().to_owned();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let flag = format!("--{long}");
            assert!(
                rows.iter().any(|row| row
                    .split('`')
                    .any(|cell| cell.split([' ', ',']).any(|word| word == flag))),
                "README.md has no row for {name} {flag}"
            );
            flags.push(flag);
        }
    }
    for row in rows {
        let first = row.split('`').nth(1).unwrap();
        let flag = first
            .split([' ', ','])
            .find(|w| w.starts_with("--"))
            .unwrap();
        assert!(
            flags.iter().any(|f| f == flag),
            "README.md: {flag} is no flag"
        );
    }
}
