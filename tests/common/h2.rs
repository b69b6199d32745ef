//! A raw HTTP/2 peer over a plain socket, to send what no well-behaved client
//! would: bad prefaces, junk frames, malformed gRPC messages, floods of
//! RST_STREAM, and a connection that never reads. Headers are HPACK literals
//! without indexing or Huffman coding, which every decoder must accept.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The client connection preface (RFC 9113, 3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;

pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

/// SETTINGS_INITIAL_WINDOW_SIZE.
pub const INITIAL_WINDOW_SIZE: u16 = 0x4;

/// One frame as read from the server.
#[derive(Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The big-endian 32-bit word at byte `at` of the payload: a
    /// RST_STREAM's or GOAWAY's (at 4) error code, a WINDOW_UPDATE's
    /// increment.
    pub fn word(&self, at: usize) -> u32 {
        let bytes = &self.payload[at..at + 4];
        u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    }
}

/// Encodes one frame.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    assert!(len < 1 << 24, "frame too long");
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A SETTINGS payload.
pub fn settings(values: &[(u16, u32)]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|(id, value)| id.to_be_bytes().into_iter().chain(value.to_be_bytes()))
        .collect()
}

/// An HPACK header block of literals (no indexing, no Huffman).
pub fn header_block(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        out.push(0x00);
        hpack_string(&mut out, name.as_bytes());
        hpack_string(&mut out, value.as_bytes());
    }
    out
}

fn hpack_string(out: &mut Vec<u8>, bytes: &[u8]) {
    // A 7-bit-prefix integer (RFC 7541, 5.1), Huffman bit clear.
    let mut len = bytes.len();
    if len < 127 {
        out.push(len as u8);
    } else {
        out.push(127);
        len -= 127;
        while len >= 128 {
            out.push((len % 128) as u8 | 0x80);
            len /= 128;
        }
        out.push(len as u8);
    }
    out.extend_from_slice(bytes);
}

/// The request headers of a gRPC call to `path` on `authority`.
pub fn grpc_headers<'a>(path: &'a str, authority: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
    ]
}

/// A gRPC length-prefixed message: flag byte, 4-byte length, bytes.
pub fn grpc_message(body: &[u8]) -> Vec<u8> {
    let mut out = vec![0];
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

enum Filled {
    More,
    Closed,
    TimedOut,
}

/// A connection to the server at `addr`.
pub struct RawConnection {
    pub socket: TcpStream,
    buffered: Vec<u8>,
}

impl RawConnection {
    /// Connects; sends nothing yet.
    pub fn connect(addr: &str) -> RawConnection {
        let socket = TcpStream::connect(addr).expect("the server accepts connections");
        socket.set_nodelay(true).unwrap();
        RawConnection {
            socket,
            buffered: Vec::new(),
        }
    }

    /// Connects and sends the preface and `settings`.
    pub fn open(addr: &str, values: &[(u16, u32)]) -> RawConnection {
        let mut connection = RawConnection::connect(addr);
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &settings(values)));
        connection.send(&hello);
        connection
    }

    /// Writes bytes; a reset or closed connection is not an error here
    /// (the server may rightly hang up on what we send).
    pub fn send(&mut self, bytes: &[u8]) -> bool {
        self.socket.write_all(bytes).is_ok()
    }

    /// Opens stream `id` with `headers`, then sends `body` as DATA with
    /// END_STREAM (if `body` is some).
    pub fn request(&mut self, id: u32, headers: &[(&str, &str)], body: Option<&[u8]>) -> bool {
        let block = header_block(headers);
        let flags = END_HEADERS | if body.is_none() { END_STREAM } else { 0 };
        let mut bytes = frame(HEADERS, flags, id, &block);
        if let Some(body) = body {
            bytes.extend(frame(DATA, END_STREAM, id, body));
        }
        self.send(&bytes)
    }

    /// Reads frames until `wanted` says stop or `limit` passes; acknowledges
    /// the server's SETTINGS. Returns the frames read (the matching one
    /// last), and whether the server closed the connection.
    pub fn read_until(
        &mut self,
        limit: Duration,
        mut wanted: impl FnMut(&Frame) -> bool,
    ) -> (Vec<Frame>, bool) {
        let deadline = Instant::now() + limit;
        let mut frames = Vec::new();
        loop {
            while let Some(frame) = self.parse() {
                if frame.kind == SETTINGS && frame.flags & ACK == 0 {
                    self.send(&self::frame(SETTINGS, ACK, 0, &[]));
                }
                let stop = wanted(&frame);
                frames.push(frame);
                if stop {
                    return (frames, false);
                }
            }
            match self.fill(deadline) {
                Filled::More => {}
                Filled::Closed => return (frames, true),
                Filled::TimedOut => return (frames, false),
            }
        }
    }

    /// Reads until the server closes the connection (or `limit` passes);
    /// returns every byte it sent, not parsed as frames.
    pub fn read_to_close(&mut self, limit: Duration) -> (Vec<u8>, bool) {
        let deadline = Instant::now() + limit;
        loop {
            match self.fill(deadline) {
                Filled::More => {}
                Filled::Closed => return (std::mem::take(&mut self.buffered), true),
                Filled::TimedOut => return (std::mem::take(&mut self.buffered), false),
            }
        }
    }

    /// Reads what the socket has into the buffer, waiting until `deadline`.
    fn fill(&mut self, deadline: Instant) -> Filled {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Filled::TimedOut;
        }
        self.socket.set_read_timeout(Some(left)).unwrap();
        let mut chunk = [0u8; 16 * 1024];
        match self.socket.read(&mut chunk) {
            Ok(0) => Filled::Closed,
            Ok(n) => {
                self.buffered.extend_from_slice(&chunk[..n]);
                Filled::More
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Filled::TimedOut
            }
            Err(_) => Filled::Closed,
        }
    }

    fn parse(&mut self) -> Option<Frame> {
        if self.buffered.len() < 9 {
            return None;
        }
        let len =
            u32::from_be_bytes([0, self.buffered[0], self.buffered[1], self.buffered[2]]) as usize;
        if self.buffered.len() < 9 + len {
            return None;
        }
        let header: Vec<u8> = self.buffered.drain(..9).collect();
        let payload = self.buffered.drain(..len).collect();
        Some(Frame {
            kind: header[3],
            flags: header[4],
            stream: u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff,
            payload,
        })
    }
}

/// The `grpc-status` of a trailers HEADERS frame, if the server's HPACK
/// block spells it as a literal (C-core does for trailers it has not sent
/// before on the connection, and the status digits always appear in clear).
pub fn grpc_status(frame: &Frame) -> Option<u32> {
    let text = String::from_utf8_lossy(&frame.payload);
    let at = text.find("grpc-status")?;
    let digits: String = text[at + "grpc-status".len()..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}
