//! HTTP/2 connection limits, as C-core enforces them for the server.

mod common;

use std::time::{Duration, Instant};

use grpcio::RpcStatusCode;

use common::*;

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
    let mut stream = client.yes_with_fc(&request("")).unwrap();
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
