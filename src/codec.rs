//! How `yes.SayYes` messages cross the wire: the method descriptors the server
//! registers, with marshallers that differ from the generated ones in two ways.
//!
//! * Requests are decoded leniently: a request that is not valid protobuf (or
//!   whose `message` is not UTF-8) still reaches the handler, as
//!   [`Request::Invalid`], so it can answer `INVALID_ARGUMENT` with a log
//!   line. grpcio's own codec would answer `INTERNAL` and log nothing.
//! * Replies are encoded once per stream into an [`Encoded`] buffer, and every
//!   write hands C-core that buffer again (a reference-count increment, or a
//!   32-byte copy for replies that fit inline in a slice) instead of
//!   serializing the reply per message.
//!
//! The wire format is untouched: clients use the generated `SayYesClient`.

use std::fmt;

use grpcio::{GrpcSlice, Marshaller, MessageReader, MethodType};
use protobuf::{CodedInputStream, Message};

use crate::proto::yes::{YesReply, YesRequest};

/// The gRPC service name, as health checks and reflection know it.
pub const SERVICE_NAME: &str = "yes.SayYes";

/// The reply when the request's `message` is empty, as in the sample.
pub const DEFAULT_REPLY: &str = "yes";

/// The two methods of `yes.SayYes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// The naive method: produces without waiting for the client.
    Yes,
    /// The flow-controlled method.
    YesWithFc,
}

impl Method {
    /// Both methods.
    pub const ALL: [Method; 2] = [Method::Yes, Method::YesWithFc];

    /// The method's name in the service.
    pub fn name(self) -> &'static str {
        match self {
            Method::Yes => "Yes",
            Method::YesWithFc => "YesWithFc",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A request as the handler receives it.
#[derive(Debug)]
pub enum Request {
    /// A request that decoded.
    Valid(YesRequest),
    /// A request that did not decode, with the decoder's reason.
    Invalid(String),
}

impl Request {
    /// Decodes a request from bytes, never failing: see the module docs.
    pub fn decode(bytes: &[u8]) -> Request {
        let mut input = CodedInputStream::from_bytes(bytes);
        Self::decode_from(&mut input)
    }

    fn decode_from(input: &mut CodedInputStream<'_>) -> Request {
        let mut request = YesRequest::new();
        match request.merge_from(input) {
            Ok(()) => Request::Valid(request),
            Err(e) => Request::Invalid(e.to_string()),
        }
    }
}

/// The text a stream repeats: the request's message, or "yes" when empty.
pub fn reply_text(request: &YesRequest) -> &str {
    match request.get_message() {
        "" => DEFAULT_REPLY,
        message => message,
    }
}

/// One reply, already in its wire encoding. Cloning it is cheap.
#[derive(Clone, Debug)]
pub struct Encoded(GrpcSlice);

impl Encoded {
    /// Encodes `YesReply { message: text }`.
    pub fn reply(text: &str) -> Encoded {
        Encoded(GrpcSlice::from(encode_reply(text)))
    }

    /// Wraps bytes that already hold one encoded reply.
    pub fn from_bytes(bytes: &[u8]) -> Encoded {
        Encoded(GrpcSlice::from(bytes))
    }

    /// The size of the encoded reply in bytes (without gRPC's 5-byte prefix).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the encoding is empty (a reply never is; for clippy's sake).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// Whether `other` shares this reply's buffer, or holds the same bytes.
    pub fn same_as(&self, other: &Encoded) -> bool {
        let (a, b) = (self.as_bytes(), other.as_bytes());
        std::ptr::eq(a, b) || a == b
    }
}

/// Serializes `YesReply { message: text }` into a fresh buffer.
pub fn encode_reply(text: &str) -> Vec<u8> {
    let mut reply = YesReply::new();
    reply.set_message(text.to_owned());
    reply
        .write_to_bytes()
        .expect("a string field always encodes")
}

/// Appends the encoding of `reply` to `out` (the naive producer's per-message
/// work, as the sample's `onNext` serializes every reply).
pub fn encode_reply_into(reply: &YesReply, out: &mut Vec<u8>) {
    reply
        .write_to_vec(out)
        .expect("a string field always encodes");
}

fn de_request(mut reader: MessageReader) -> grpcio::Result<Request> {
    let mut input = CodedInputStream::from_buffered_reader(&mut reader);
    Ok(Request::decode_from(&mut input))
}

fn ser_request(_: &Request, _: &mut GrpcSlice) -> grpcio::Result<()> {
    unreachable!("the server never sends requests")
}

fn ser_encoded(reply: &Encoded, buf: &mut GrpcSlice) -> grpcio::Result<()> {
    *buf = reply.0.clone();
    Ok(())
}

fn de_encoded(mut reader: MessageReader) -> grpcio::Result<Encoded> {
    let mut bytes = Vec::with_capacity(reader.len());
    std::io::Read::read_to_end(&mut reader, &mut bytes)
        .map_err(|e| grpcio::Error::Codec(Box::new(e)))?;
    Ok(Encoded(GrpcSlice::from(bytes)))
}

const fn server_streaming(name: &'static str) -> grpcio::Method<Request, Encoded> {
    grpcio::Method {
        ty: MethodType::ServerStreaming,
        name,
        req_mar: Marshaller {
            ser: ser_request,
            de: de_request,
        },
        resp_mar: Marshaller {
            ser: ser_encoded,
            de: de_encoded,
        },
    }
}

/// `rpc Yes (YesRequest) returns (stream YesReply)`.
pub const METHOD_YES: grpcio::Method<Request, Encoded> = server_streaming("/yes.SayYes/Yes");

/// `rpc YesWithFc (YesRequest) returns (stream YesReply)`.
pub const METHOD_YES_WITH_FC: grpcio::Method<Request, Encoded> =
    server_streaming("/yes.SayYes/YesWithFc");

#[cfg(test)]
mod tests {
    use super::*;

    fn request_bytes(message: &str) -> Vec<u8> {
        let mut request = YesRequest::new();
        request.set_message(message.to_owned());
        request.write_to_bytes().unwrap()
    }

    #[test]
    fn empty_message_replies_yes() {
        let Request::Valid(request) = Request::decode(&[]) else {
            panic!("an empty request is valid protobuf");
        };
        assert_eq!(reply_text(&request), "yes");
    }

    #[test]
    fn message_is_echoed() {
        let Request::Valid(request) = Request::decode(&request_bytes("héllo")) else {
            panic!("valid request");
        };
        assert_eq!(reply_text(&request), "héllo");
    }

    #[test]
    fn invalid_utf8_is_invalid() {
        // field 1, length 2, bytes that are not UTF-8
        let bytes = [0x0a, 0x02, 0xff, 0xfe];
        assert!(matches!(Request::decode(&bytes), Request::Invalid(_)));
    }

    #[test]
    fn truncated_is_invalid() {
        let bytes = [0x0a, 0x05, b'a'];
        assert!(matches!(Request::decode(&bytes), Request::Invalid(_)));
    }

    #[test]
    fn encoded_reply_decodes_to_the_text() {
        let encoded = Encoded::reply("yes");
        let reply = YesReply::parse_from_bytes(encoded.as_bytes()).unwrap();
        assert_eq!(reply.get_message(), "yes");
        assert_eq!(encoded.len(), 5);
    }
}
