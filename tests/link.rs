//! yes-server over a real, shaped link (`common::link`): the server and
//! yes-client in network namespaces of their own, joined by veth pairs at
//! 10 Mbit/s with a 100 ms round trip. There the client's HTTP/2 window,
//! not the CPU, decides the speed: a stream held to C-core's initial 64 KiB
//! window would get 64 KiB per round trip, about half the link, so a
//! stream near the rate of a bulk TCP transfer on the same link shows that
//! the window grows (C-core's BDP probing on the client's side) and that
//! nothing in the server holds it back. The full grid of rates and round
//! trips, beside the Java reference, is `scripts/bench-compare.sh --link`.
//!
//! Needs root (namespaces, veth, tc); YES_GRPC_SKIP_LINK=1 skips it where
//! there is none.

mod common;

use std::time::Duration;

use common::link::{Link, Shape, SERVER_IP};
use common::process::{log_field, ServerProcess, BIN};
use common::stats::StatsClient;
use common::tier::alone;

const CLIENT: &str = env!("CARGO_BIN_EXE_yes-client");

/// The link, or `None` when YES_GRPC_SKIP_LINK is set and it cannot be made.
fn link(shape: Shape) -> Option<Link> {
    match Link::create(shape) {
        Ok(link) => Some(link),
        Err(e) if std::env::var_os("YES_GRPC_SKIP_LINK").is_some() => {
            eprintln!("link: skipped (YES_GRPC_SKIP_LINK): {e}");
            None
        }
        Err(e) => panic!(
            "cannot make the test link: {e}\n(it needs root, ip, tc and ethtool; \
             scripts/test.sh installs them; YES_GRPC_SKIP_LINK=1 skips this test)"
        ),
    }
}

#[test]
#[ignore = "makes network namespaces (root); scripts/test.sh runs it, showing its figures"]
fn one_stream_fills_a_shaped_link_with_a_long_round_trip() {
    let _alone = alone();
    let shape = Shape {
        rate_bps: 10_000_000,
        rtt: Duration::from_millis(100),
    };
    let Some(link) = link(shape) else { return };
    let (ramp, measure) = (Duration::from_secs(2), Duration::from_secs(4));
    let tcp = link.bulk_tcp(ramp, measure);
    let bulk = tcp.bytes_per_s;

    let mut command = link.in_server(BIN);
    command.args(["--listen", &format!("{SERVER_IP}:0"), "--log-level", "info"]);
    let mut server = ServerProcess::spawn_command(command);
    let reply = "y".repeat(1024);
    let mut client = link.in_client(CLIENT);
    client.args(["--target", &server.addr, "--stats", &reply]);
    let stats = StatsClient::start(client);
    stats.rates(ramp.as_secs() as usize);
    let stream = stats.rate(measure.as_secs() as usize) * reply.len() as f64;
    drop(stats);
    let ended = server.log_until("ended");
    let max_held = log_field(&ended, "max_held");

    let mbit = |bytes_per_s: f64| bytes_per_s * 8.0 / 1e6;
    let window_bound = 64.0 * 1024.0 / shape.rtt.as_secs_f64();
    eprintln!(
        "link: 10 Mbit/s, 100 ms round trip: one stream of 1 KiB replies {:.2} Mbit/s of payload \
         ({:.0} % of the link, {:.2}x a bulk TCP transfer's {:.2} Mbit/s; a 64 KiB window \
         would allow {:.2}), max_held {max_held} bytes; TCP's handshake took {:.1} ms; the delay \
         line carried {} frames, dropped {}",
        mbit(stream),
        stream * 8.0 / shape.rate_bps as f64 * 100.0,
        stream / bulk,
        mbit(bulk),
        mbit(window_bound),
        tcp.handshake.as_secs_f64() * 1e3,
        link.carried.load(std::sync::atomic::Ordering::Relaxed),
        link.dropped.load(std::sync::atomic::Ordering::Relaxed),
    );
    assert!(
        tcp.handshake >= shape.rtt.mul_f64(0.9),
        "the link's round trip is not there: TCP's handshake took {:?}",
        tcp.handshake
    );
    assert!(
        bulk > 0.8 * shape.rate_bps as f64 / 8.0,
        "the link itself is broken: bulk TCP got {:.2} Mbit/s of 10",
        mbit(bulk)
    );
    assert!(
        stream > 0.75 * bulk && stream > 1.3 * window_bound,
        "the stream got {:.2} Mbit/s where bulk TCP got {:.2}: its window did not grow past \
         what 64 KiB per round trip allows ({:.2})",
        mbit(stream),
        mbit(bulk),
        mbit(window_bound)
    );
}
