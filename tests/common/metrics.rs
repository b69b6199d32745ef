//! Scraping `--metrics-listen` the way Prometheus does, over plain HTTP.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use grpcio::{ClientSStreamReceiver, RpcStatusCode};
use yes_grpc::proto::yes::YesReply;
use yes_grpc::proto::yes_grpc::SayYesClient;

use super::{code, eventually, large_message, read, read_to_error, request, PATIENCE};

/// One scrape, over plain HTTP/1.0: the response's head and body.
pub fn scrape(addr: SocketAddr, path: &str) -> (String, String) {
    scrape_accepting(addr, path, "*/*")
}

/// One scrape asking for the formats in `accept` (an `Accept` header).
pub fn scrape_accepting(addr: SocketAddr, path: &str, accept: &str) -> (String, String) {
    let mut socket = TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        socket,
        "GET {path} HTTP/1.0\r\nHost: localhost\r\nAccept: {accept}\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    (head.to_owned(), body.to_owned())
}

/// The value of the sample `name{labels}` in an exposition.
pub fn sample(body: &str, series: &str) -> f64 {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in:\n{body}"))
        .parse()
        .unwrap()
}

/// The value of `series` in a scrape of `/metrics` at `addr`.
pub fn metric(addr: SocketAddr, series: &str) -> f64 {
    sample(&scrape(addr, "/metrics").1, series)
}

/// The scene a stop must end cleanly: a stream whose replies (marked `tag`)
/// are read 2,000 in, and one whose client read one reply and stopped,
/// awaited until the server's metrics at `metrics` count it paused. Both are
/// 8 KiB replies, so a busy machine's reader is not outrun by its window.
pub fn flowing_and_paused(
    client: &SayYesClient,
    metrics: SocketAddr,
    tag: &str,
) -> [ClientSStreamReceiver<YesReply>; 2] {
    let (fast, slow) = (large_message(tag), large_message("slow"));
    let mut flowing = client.yes_with_fc(&request(&fast)).unwrap();
    assert!(read(&mut flowing, 2_000).iter().all(|m| *m == fast));
    let mut paused = client.yes_with_fc(&request(&slow)).unwrap();
    assert_eq!(read(&mut paused, 1), [slow]);
    assert!(
        eventually(|| metric(metrics, "yes_paused_streams{method=\"YesWithFc\"}") >= 1.0),
        "a stream whose client stopped reading was never paused"
    );
    [flowing, paused]
}

/// Reads `streams` to their ends on a thread of its own: joined, it gives
/// the status code each ended with.
pub fn codes_at_end(
    streams: [ClientSStreamReceiver<YesReply>; 2],
) -> std::thread::JoinHandle<[RpcStatusCode; 2]> {
    std::thread::spawn(move || streams.map(|mut stream| code(&read_to_error(&mut stream).1)))
}
