//! How a client's address is written in the log.
//!
//! C-core names a peer as a URI and percent-encodes what a URI may not hold
//! there, so an IPv6 client comes as `ipv6:%5B::1%5D:42364`. The log writes
//! it as people (and `ss`, and grpc-java) do: `ipv6:[::1]:42364`.

use grpcio::RpcContext;

/// The call's peer, decoded for the log.
pub fn of(ctx: &RpcContext<'_>) -> String {
    decode(&ctx.peer())
}

/// Undoes percent-encoding; a `%` not followed by two hex digits stays as
/// it is, and so does anything that would not decode to UTF-8.
pub fn decode(peer: &str) -> String {
    let bytes = peer.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let digit = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
    while i < bytes.len() {
        match (bytes[i], digit(i + 1), digit(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| peer.to_owned())
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn ipv6_peers_read_as_people_write_them() {
        assert_eq!(decode("ipv6:%5B::1%5D:42364"), "ipv6:[::1]:42364");
        assert_eq!(
            decode("ipv6:%5Bfe80::1%25eth0%5D:443"),
            "ipv6:[fe80::1%eth0]:443"
        );
    }

    #[test]
    fn other_peers_are_untouched() {
        assert_eq!(decode("ipv4:127.0.0.1:5555"), "ipv4:127.0.0.1:5555");
        assert_eq!(decode("unix:/run/yes.sock"), "unix:/run/yes.sock");
        assert_eq!(decode("50%"), "50%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%FF"), "%FF");
    }
}
