//! Floods of connections (issue 21), against the real binary over loopback:
//! thousands of idle HTTP/2 connections, thousands of TCP connections that
//! never speak, connections opened and closed as fast as the client can,
//! and more connections than the server has file descriptors for (the
//! class of CVE-2023-4785, where a flood stopped a C-core server from
//! accepting). A bystander `YesWithFc` stream is measured before and during
//! each flood (it must not stop for a whole second, or on C-cores before
//! 1.85 for more than two; its rates are printed, not asserted, as they
//! vary with the machine's load), and a new client must be served
//! afterwards. Each test prints a `connections:` line with its figures and
//! tier; the quick tier runs in CI, the long one (full counts) in
//! scripts/faults-long.sh.

mod common;

use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::h2::{RawConnection, SETTINGS};
use common::process::ServerProcess;
use common::stats::StatsClient;
use common::tier::{alone, Tier};
use common::*;

/// yes-client reading a stream as fast as it can, in a process of its own
/// (so that the sockets the test holds cannot slow the measurement).
fn bystander(server: &ServerProcess) -> StatsClient {
    let mut client = Command::new(CLIENT);
    client.args(["--target", &server.addr, "--stats", "bystander"]);
    StatsClient::start(client)
}

/// A new client's first reply (within [`PATIENCE`]), and how long it took.
/// The client waits for the server to be ready, as a client that retries
/// does: a server still out of file descriptors just after a flood closes
/// new connections at once (src/accept.rs), which fails a call that does
/// not wait ("Connection reset by peer"), and the client connects again.
fn new_client_served(server: &ServerProcess) -> Duration {
    let started = Instant::now();
    let client = server.client();
    let mut stream = client
        .yes_with_fc_opt(&request("new"), with_timeout(PATIENCE).wait_for_ready(true))
        .unwrap();
    assert_eq!(read(&mut stream, 1), ["new"]);
    started.elapsed()
}

const CLIENT: &str = env!("CARGO_BIN_EXE_yes-client");

/// A server whose open-files limit leaves room for a few dozen connections
/// is sent ten times as many at once: those it cannot take are closed, and
/// once they are gone a new client is served at once, and /metrics (asked
/// while the server was out of descriptors) still answers. Without src/accept.rs,
/// Debian's C-core 1.51 never serves it (CVE-2023-4785: its listener
/// stops for good) and 1.85 only after 12 s (it retries once a second).
#[test]
fn a_server_out_of_file_descriptors_keeps_accepting() {
    use std::os::unix::process::CommandExt;
    const LIMIT: libc::rlim_t = 64;
    let mut command = Command::new(common::process::BIN);
    command.args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"]);
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut server = ServerProcess::spawn_command(command);
    let metrics = server.metrics_addr();
    let opened: Vec<TcpStream> = (0..LIMIT * 10)
        .map(|_| TcpStream::connect(&server.addr).expect("the kernel queues the connection"))
        .collect();
    // The server has taken what it could and closed the rest.
    let said = server.log_until("new connections at once");
    // A scrape now, while the server holds every descriptor it may: the
    // metrics server's accept fails too, and must not end its accept loop
    // (tiny_http's does on any error), or /metrics is gone for good.
    let early_scrape = TcpStream::connect(metrics).expect("the kernel queues the scrape");
    drop(opened);
    let first_reply = new_client_served(&server);
    drop(early_scrape);
    let shed = common::metrics::metric(metrics, "yes_connections_shed_total");
    assert!(shed >= 1.0, "yes_connections_shed_total is {shed}");
    println!(
        "connections: {} connections at an open-files limit of {LIMIT}; the server said \
         {said:?}; {shed} shed in all; a new client's first reply {} ms after they closed",
        LIMIT * 10,
        first_reply.as_millis()
    );
}

mod fault_suite {
    use super::*;

    /// Idle HTTP/2 connections (preface and SETTINGS sent, the server's
    /// SETTINGS acknowledged, then nothing): what each costs, and that they
    /// slow nobody down.
    #[test]
    #[ignore = "the fault suite's quick tier: scripts/test.sh runs it alone, showing its figures"]
    fn idle_http2_connections_cost_little_and_harm_nobody() {
        let _alone = alone();
        let tier = Tier::from_env();
        let count = tier.pick(2_000, 10_000);
        let server = ServerProcess::spawn(&[]);
        let bystander = bystander(&server);
        let before = bystander.rate(1);
        let rss_before = server.rss_kib();

        let mut idle = Vec::with_capacity(count);
        let opening = Instant::now();
        for i in 0..count {
            let mut connection = RawConnection::open(&server.addr, &[]);
            let (frames, closed) = connection.read_until(PATIENCE, |f| f.kind == SETTINGS);
            assert!(
                !closed && frames.iter().any(|f| f.kind == SETTINGS),
                "idle connection {i} was refused"
            );
            idle.push(connection);
        }
        let opened_in = opening.elapsed();
        let rss_held = server.rss_kib();
        let during: Vec<f64> = (0..3).map(|_| bystander.rate(1)).collect();
        let first_reply = new_client_served(&server);
        // Still open: none of them was closed under us.
        for connection in &mut idle {
            let (_, closed) = connection.read_until(Duration::from_millis(1), |_| false);
            assert!(!closed, "the server closed an idle connection");
        }
        let per_connection = (rss_held.saturating_sub(rss_before)) as f64 / count as f64;
        println!(
            "connections ({tier:?} tier): {count} idle HTTP/2 connections opened in {:.1} s; \
             RSS {rss_before} KiB -> {rss_held} KiB, {per_connection:.1} KiB each; bystander \
             {} msgs/s in the 3 s after ({before:.0} before); a new client's first reply \
             in {} ms",
            opened_in.as_secs_f64(),
            during
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
            first_reply.as_millis()
        );
        // Rates are figures, not assertions (they vary with the machine's
        // load): the bystander must keep flowing, the new client be served.
        assert!(
            during.iter().all(|&r| r > 0.0),
            "the bystander stopped ({before:.0} msgs/s before)"
        );
    }

    /// TCP connections that never send the preface are closed at the
    /// handshake timeout, and what they held is reused, not leaked: a
    /// second round leaves the server no bigger than the first did. (The
    /// allocator keeps much of it for reuse rather than handing it back:
    /// docs/design.md, "Known limits".)
    #[test]
    #[ignore = "the fault suite's quick tier: scripts/test.sh runs it alone, showing its figures"]
    fn silent_connections_are_dropped_at_the_handshake_timeout() {
        let _alone = alone();
        let tier = Tier::from_env();
        let count = tier.pick(2_000, 5_000);
        let timeout = Duration::from_secs(2);
        let server = ServerProcess::spawn(&["--handshake-timeout", "2s"]);
        let bystander = bystander(&server);
        let before = bystander.rate(1);
        let rss_before = server.rss_kib();

        let mut rounds = Vec::new();
        for _ in 0..2 {
            let opened = Instant::now();
            let mut silent: Vec<RawConnection> = (0..count)
                .map(|_| RawConnection::connect(&server.addr))
                .collect();
            let held = server.rss_kib();
            let during = bystander.rate(1);
            // Every one is closed by the server, none long after the
            // timeout (counted from the last one opened).
            let deadline = timeout * 3 + opened.elapsed();
            for connection in &mut silent {
                let left = deadline.saturating_sub(opened.elapsed());
                let (_, closed) = connection.read_to_close(left.max(Duration::from_millis(1)));
                assert!(closed, "a silent connection outlived the handshake timeout");
            }
            let all_closed = opened.elapsed();
            drop(silent);
            // What stays once the server has trimmed its heap: the least
            // RSS over one trim period and a second (a measurement window).
            let settled = (0..(yes_grpc::memory::TRIM_EVERY.as_millis() / 100 + 10))
                .map(|_| {
                    std::thread::sleep(Duration::from_millis(100));
                    server.rss_kib()
                })
                .min()
                .unwrap();
            rounds.push((held, settled, during, all_closed));
        }
        let first_reply = new_client_served(&server);
        let [(held, first, during, all_closed), (_, second, _, _)] = rounds[..] else {
            unreachable!()
        };
        println!(
            "connections ({tier:?} tier): {count} silent TCP connections, all closed by the \
             server {:.1} s after the first opened (--handshake-timeout 2s); RSS {rss_before} KiB \
             -> {held} KiB held -> {first} KiB after, {second} KiB after a second round; \
             bystander {during:.0} msgs/s ({before:.0} before); a new client's first reply in \
             {} ms",
            all_closed.as_secs_f64(),
            first_reply.as_millis()
        );
        assert!(
            during > 0.0,
            "the bystander stopped ({before:.0} msgs/s before)"
        );
        let round_cost = held.saturating_sub(rss_before);
        assert!(
            second <= first + round_cost / 2,
            "RSS grew from {first} KiB to {second} KiB in a second round of {count}"
        );
    }

    /// Connections opened and closed as fast as four threads can, some
    /// right after the preface: the server keeps accepting and serving.
    #[test]
    #[ignore = "the fault suite's quick tier: scripts/test.sh runs it alone, showing its figures"]
    fn a_flood_of_connections_opened_and_closed_leaves_the_server_serving() {
        let _alone = alone();
        let tier = Tier::from_env();
        let length = tier.pick(Duration::from_secs(5), Duration::from_secs(60));
        let server = ServerProcess::spawn(&[]);
        let bystander = bystander(&server);
        let before = bystander.rate(1);
        let rss_before = server.rss_kib();

        let stop = Arc::new(AtomicBool::new(false));
        let opened = Arc::new(AtomicU64::new(0));
        let flooders: Vec<_> = (0..4)
            .map(|thread| {
                let (stop, opened, addr) = (stop.clone(), opened.clone(), server.addr.clone());
                std::thread::spawn(move || {
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        // Ephemeral ports run out at a few tens of thousands
                        // in TIME_WAIT; a refused connect is the client's
                        // limit, not the server's, and is not counted.
                        if let Ok(socket) = TcpStream::connect(&addr) {
                            if (n + thread) % 2 == 0 {
                                use std::io::Write;
                                let _ = (&socket).write_all(common::h2::PREFACE);
                            }
                            opened.fetch_add(1, Ordering::Relaxed);
                        }
                        n += 1;
                    }
                })
            })
            .collect();
        let started = Instant::now();
        let mut during = Vec::new();
        while started.elapsed() < length {
            during.push(bystander.rate(1));
        }
        stop.store(true, Ordering::Relaxed);
        for flooder in flooders {
            flooder.join().unwrap();
        }
        let flooded_for = started.elapsed();
        let first_reply = new_client_served(&server);
        let after = bystander.rate(1);
        let total = opened.load(Ordering::Relaxed);
        let slowest = during.iter().cloned().fold(f64::INFINITY, f64::min);
        // The most seconds in a row the bystander read nothing, the second
        // after the flood included (the server is still catching up).
        let longest_stop = during
            .iter()
            .chain([&after])
            .fold((0, 0), |(run, longest), &rate| {
                let run = if rate == 0.0 { run + 1 } else { 0 };
                (run, longest.max(run))
            })
            .1;
        println!(
            "connections ({tier:?} tier): flood of {total} connections opened and closed in \
             {:.1} s ({:.0}/s, half sending the preface); bystander never under {slowest:.0} \
             msgs/s during it ({before:.0} before, {after:.0} after; stopped for {longest_stop} \
             s at most); a new client's first reply in {} ms; RSS {rss_before} KiB -> {} KiB",
            flooded_for.as_secs_f64(),
            total as f64 / flooded_for.as_secs_f64(),
            first_reply.as_millis(),
            server.rss_kib()
        );
        assert!(total > 1_000, "only {total} connections in {flooded_for:?}");
        // C-cores before 1.85 do a new connection's work on whichever thread
        // polls, the completion-queue threads that run the streams' pumps
        // included (src/poller.rs), and a thread drafted during a flood can
        // be kept for a second: Debian's 1.51 stopped the bystander for one
        // second in about one run of 25 (and for two with abseil's deadlock
        // checks on, which src/ccore.rs now turns off). 1.85 does that work
        // on its own threads, and never stopped it for a second.
        let allowed = if yes_grpc::poller::needed() { 2 } else { 0 };
        assert!(
            longest_stop <= allowed,
            "the bystander stopped for {longest_stop} s during the flood, more than the \
             {allowed} s this C-core allows (msgs/s each second: {during:.0?}, then {after:.0})"
        );
        if longest_stop > 0 {
            assert!(
                bystander.rates(3).iter().any(|&rate| rate > 0.0),
                "the bystander did not resume after the flood"
            );
        }
    }
}
