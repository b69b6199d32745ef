//! What a stream carries, and how it behaves under a slow client.

mod common;

use std::time::{Duration, Instant};
use yes_grpc::end::Reason;

use grpcio::RpcStatusCode;

use common::*;
use yes_grpc::codec::Encoded;
use yes_grpc::codec::Method;
use yes_grpc::meter::PAUSE_THRESHOLD;
use yes_grpc::stream::fc_limit;

#[test]
fn empty_request_streams_yes() {
    let server = server();
    let client = client(&server);
    for method in ["Yes", "YesWithFc"] {
        let mut stream = match method {
            "Yes" => client.yes(&request("")),
            _ => client.yes_with_fc(&request("")),
        }
        .unwrap();
        let replies = read(&mut stream, 10_000);
        assert!(
            replies.iter().all(|r| r == "yes"),
            "{method}: {:?}",
            &replies[..3]
        );
    }
}

#[test]
fn custom_non_ascii_and_64_kib_messages_are_echoed_intact() {
    let server = server();
    let client = client(&server);
    let big: String = "0123456789abcdef".repeat(4096);
    assert_eq!(big.len(), 64 * 1024);
    for message in ["no", "ja ✓ はい — oui", "🦀 yes 🦀", big.as_str()] {
        let mut stream = client.yes_with_fc(&request(message)).unwrap();
        for reply in read(&mut stream, 200) {
            assert_eq!(reply, message);
        }
        // The naive stream runs ahead until its budget (64 MiB) is gone; a
        // slow debug-build client reads 64 KiB replies for a while only.
        let mut naive = client.yes(&request(message)).unwrap();
        let naive_count = if message.len() > 1024 { 20 } else { 200 };
        for reply in read(&mut naive, naive_count) {
            assert_eq!(reply, message);
        }
    }
}

/// A client that reads one reply every 20 ms. The server's stream must stay
/// within its stated bound of held bytes, while its pause time grows.
#[test]
fn slow_reader_pauses_the_producer_within_the_bound() {
    for size in [1024, 64 * 1024] {
        let server = server();
        let client = client(&server);
        let message = "s".repeat(size);
        let bound = fc_limit(Encoded::reply(&message).len());
        let mut stream = client.yes_with_fc(&request(&message)).unwrap();
        read(&mut stream, 1);

        let started = Instant::now();
        let mut first_pause = None;
        let grown = loop {
            assert!(
                started.elapsed() < PATIENCE,
                "{size}: the pause time never grew"
            );
            read(&mut stream, 1);
            std::thread::sleep(Duration::from_millis(20));
            let streams = server.registry().streams();
            let s = streams.into_iter().next().expect("the stream is live");
            assert!(
                s.held <= bound && s.max_held <= bound,
                "{size}: held {} (max {}) over the bound {bound}",
                s.held,
                s.max_held
            );
            match first_pause {
                None if s.paused >= PAUSE_THRESHOLD => first_pause = Some(s.paused),
                Some(first) if s.paused >= first + Duration::from_millis(500) => break s,
                _ => {}
            }
        };
        assert_eq!(grown.method, Method::YesWithFc);
        assert!(grown.paused <= grown.age);
        // Reading slowly must not have broken the stream.
        assert_eq!(read(&mut stream, 100).last().unwrap(), &message);
    }
}

/// The naive method against a client that stops reading: its stream ends
/// with RESOURCE_EXHAUSTED and a message that says why, and a YesWithFc
/// stream of another client flows on meanwhile.
#[test]
fn naive_stream_over_budget_ends_while_others_flow() {
    let budget = 1 << 20;
    let server = server_with(|c| c.naive_budget = budget);
    let slow = client(&server);
    let fast = client(&server);
    let text = "n".repeat(1024);

    let mut naive = slow.yes(&request(&text)).unwrap();
    let mut flowing = fast.yes_with_fc(&request("")).unwrap();

    // The slow client reads nothing while the fast one reads on.
    let before = Instant::now();
    let mut fast_replies = 0u64;
    while !server
        .registry()
        .wait_for(Duration::ZERO, |t| t.ended(Reason::BudgetExceeded) == 1)
    {
        assert!(
            before.elapsed() < PATIENCE,
            "the naive stream was never ended"
        );
        fast_replies += read(&mut flowing, 1000).len() as u64;
    }
    fast_replies += read(&mut flowing, 10_000).len() as u64;
    assert!(fast_replies >= 10_000);

    // The slow client then gets what was already in flight, and the status.
    let (_, error) = read_to_error(&mut naive);
    assert_eq!(code(&error), RpcStatusCode::RESOURCE_EXHAUSTED);
    let text = message(&error);
    for needle in [
        "reads slower than the server writes",
        "bytes were held",
        "YesWithFc",
    ] {
        assert!(
            text.contains(needle),
            "status message {text:?} lacks {needle:?}"
        );
    }
    assert!(text.contains(&budget.to_string()), "{text}");
    assert_eq!(
        server.registry().totals().active,
        1,
        "only the fast stream lives"
    );
}

#[test]
fn gzip_compressed_requests_decode() {
    let server = server();
    let channel = channel_with(&server, |b| {
        b.default_compression_algorithm(grpcio::CompressionAlgorithms::GRPC_COMPRESS_GZIP)
    });
    let client = yes_grpc::proto::yes_grpc::SayYesClient::new(channel);
    let message = "compress me ".repeat(500);
    let mut stream = client.yes_with_fc(&request(&message)).unwrap();
    assert!(read(&mut stream, 100).iter().all(|r| *r == message));
}

#[test]
fn many_concurrent_streams_on_one_channel_all_flow() {
    let server = server();
    let client = client(&server);
    let mut streams: Vec<_> = (0..20)
        .map(|i| client.yes_with_fc(&request(&format!("s{i}"))).unwrap())
        .collect();
    for _round in 0..5 {
        for (i, stream) in streams.iter_mut().enumerate() {
            let want = format!("s{i}");
            assert!(read(stream, 1000).iter().all(|r| *r == want));
        }
    }
    assert_eq!(server.registry().totals().active, 20);
    drop(streams);
    assert!(server.registry().wait_idle(PATIENCE));
}
