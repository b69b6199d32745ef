//! Scraping `--metrics-listen` the way Prometheus does, over plain HTTP.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use super::PATIENCE;

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
