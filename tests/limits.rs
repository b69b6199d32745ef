//! HTTP/2 connection limits, as C-core enforces them for the server.

mod common;

use std::time::{Duration, Instant};

use grpcio::RpcStatusCode;

use common::h2::{RawConnection, SETTINGS};
use common::*;
use yes_grpc::server::{StartError, MAX_CONNECTIONS_CORE};
use yes_grpc::YesServer;

/// With at most 2 streams per connection, a third call on the same channel
/// waits in the client until one of the two ends.
#[test]
fn max_concurrent_streams_holds_back_further_calls() {
    let server = server_with(|c| c.limits.max_concurrent_streams = 2);
    let client = client(&server);
    let mut first = client.yes_with_fc(&request("1")).unwrap();
    let mut second = client.yes_with_fc(&request("2")).unwrap();
    read(&mut first, 1);
    read(&mut second, 1);
    let mut third = client.yes_with_fc(&request("3")).unwrap();
    // Plenty of time for a third stream to start, were it allowed.
    read(&mut first, 20_000);
    read(&mut second, 20_000);
    assert_eq!(
        server.registry().totals().started,
        2,
        "a third stream started"
    );
    first.cancel();
    assert_eq!(read(&mut third, 1), ["3"]);
    assert_eq!(server.registry().totals().started, 3);
}

/// Connections older than --max-connection-age are closed after the grace
/// period; their streams end, and the client can reconnect.
#[test]
fn max_connection_age_ends_old_connections() {
    let server = server_with(|c| {
        c.limits.max_connection_age = Some(Duration::from_millis(300));
        c.limits.max_connection_age_grace = Some(Duration::from_millis(300));
    });
    let client = client(&server);
    let started = Instant::now();
    // Replies of 8 KiB: the client sees the status after reading what the
    // window holds, which in replies of "yes" took over 10 s on a busy
    // machine.
    let mut stream = client
        .yes_with_fc(&request(&large_message("aged")))
        .unwrap();
    let (received, error) = read_to_error(&mut stream);
    assert!(received > 0);
    assert_eq!(code(&error), RpcStatusCode::UNAVAILABLE, "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(server.registry().wait_idle(PATIENCE));
    // A new call on the same channel gets a new connection.
    let mut again = client.yes_with_fc(&request("again")).unwrap();
    assert_eq!(read(&mut again, 1), ["again"]);
}

/// The limits reach C-core without complaint at their extremes.
#[test]
fn limits_start_with_every_option_set() {
    let server = server_with(|c| {
        c.limits.keepalive_time = Duration::from_secs(10);
        c.limits.keepalive_timeout = Duration::from_secs(5);
        c.limits.max_connection_idle = Some(Duration::from_secs(60));
        c.limits.memory_quota = Some(64 << 20);
    });
    let client = client(&server);
    let mut stream = client.yes_with_fc(&request("quota")).unwrap();
    assert!(read(&mut stream, 10_000).iter().all(|r| r == "quota"));
}

/// Whether the server answers a new HTTP/2 connection with its SETTINGS
/// (accepted) rather than closing it (refused). The connection, if kept.
fn admitted(addr: &str) -> Option<RawConnection> {
    let mut connection = RawConnection::open(addr, &[]);
    let (frames, closed) = connection.read_until(PATIENCE, |f| f.kind == SETTINGS);
    let settings = frames.iter().any(|f| f.kind == SETTINGS);
    (settings && !closed).then_some(connection)
}

/// With --max-connections 100, the 101st connection is closed as soon as it
/// is accepted, and a new client is served once one of the 100 closes. On a
/// C-core without the limit the server refuses to start rather than run
/// without it.
#[test]
fn the_connection_past_the_limit_is_refused_until_one_closes() {
    const LIMIT: usize = 100;
    if yes_grpc::ccore::major() < MAX_CONNECTIONS_CORE {
        let mut config = yes_grpc::Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..yes_grpc::Config::default()
        };
        config.limits.max_connections = Some(LIMIT as u32);
        match YesServer::start(&config) {
            Err(StartError::Config(why)) => assert!(why.contains("1.63"), "{why}"),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("started with a connection limit its C-core ignores"),
        }
        return;
    }
    let server = server_with(|c| c.limits.max_connections = Some(LIMIT as u32));
    let addr = server.local_addr().to_string();
    let mut held: Vec<RawConnection> = (0..LIMIT)
        .map(|i| admitted(&addr).unwrap_or_else(|| panic!("connection {i} refused")))
        .collect();
    let mut refused = RawConnection::open(&addr, &[]);
    let (bytes, closed) = refused.read_to_close(PATIENCE);
    assert!(
        closed && bytes.is_empty(),
        "connection {} admitted",
        LIMIT + 1
    );

    held.pop();
    // A real client, whose channel retries the connection until admitted.
    let client = client(&server);
    let mut stream = client
        .yes_with_fc_opt(
            &request("admitted"),
            with_timeout(PATIENCE).wait_for_ready(true),
        )
        .unwrap();
    assert_eq!(read(&mut stream, 1), ["admitted"]);
    drop(held);
}

/// A client that connects and never speaks is closed at the handshake
/// timeout; one that sent its preface and settings stays.
#[test]
fn connections_that_never_speak_are_closed_at_the_handshake_timeout() {
    let timeout = Duration::from_secs(1);
    let server = server_with(|c| c.limits.handshake_timeout = timeout);
    let addr = server.local_addr().to_string();
    let mut speaking = admitted(&addr).expect("a client that speaks is admitted");
    let started = Instant::now();
    let mut silent = RawConnection::connect(&addr);
    // (C-core 1.51 sends its own settings first; 1.85 waits for the client.)
    let (_, closed) = silent.read_to_close(PATIENCE);
    let took = started.elapsed();
    assert!(closed, "a silent connection was kept {took:?}");
    assert!(
        took >= timeout - Duration::from_millis(100) && took < timeout * 5,
        "closed after {took:?}, the timeout is {timeout:?}"
    );
    let (_, closed) = speaking.read_until(Duration::from_millis(500), |_| false);
    assert!(
        !closed,
        "the handshake timeout closed a connection that spoke"
    );
}
