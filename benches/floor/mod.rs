//! The floor: `YesWithFc` as a bare grpcio loop on the call's
//! completion-queue thread, writing one pre-encoded reply with a buffer
//! hint, nothing else: what C-core itself costs, with no producer, pipe or
//! figures. Prints "floor listening on ADDR" and serves until killed.
//!
//! One source for every C-core: `benches/compare.rs` includes it on this
//! crate's grpcio, `benches/floor-ccore-1.46` on grpcio 0.12.1 (C-core
//! 1.46.5), so only the C-core differs between them. It therefore uses only
//! grpcio API both versions share, and decodes the request by hand (field 1,
//! the message) instead of through protobuf code.

use std::io::Write;
use std::sync::Arc;

use futures::SinkExt;
use grpcio::{
    EnvBuilder, GrpcSlice, Marshaller, MessageReader, Method, MethodType, ServerBuilder,
    ServerCredentials, ServiceBuilder, WriteFlags,
};

/// The request's `message`, or "yes" when it is empty or unreadable.
fn reply_text(request: &[u8]) -> Vec<u8> {
    let message = match request {
        [0x0a, rest @ ..] => varint(rest).and_then(|(len, body)| body.get(..len)),
        _ => None,
    };
    match message {
        Some(text) if !text.is_empty() => text.to_vec(),
        _ => b"yes".to_vec(),
    }
}

fn varint(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let mut value = 0usize;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// `YesReply { message: text }` on the wire.
fn encode_reply(text: &[u8]) -> Vec<u8> {
    let mut out = vec![0x0a];
    let mut len = text.len();
    while len >= 0x80 {
        out.push((len as u8) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
    out.extend_from_slice(text);
    out
}

fn de_request(mut reader: MessageReader) -> grpcio::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut bytes)
        .map_err(|e| grpcio::Error::Codec(Box::new(e)))?;
    Ok(bytes)
}

fn ser_request(_: &Vec<u8>, _: &mut GrpcSlice) -> grpcio::Result<()> {
    unreachable!("the server never sends requests")
}

fn ser_reply(reply: &GrpcSlice, buf: &mut GrpcSlice) -> grpcio::Result<()> {
    *buf = reply.clone();
    Ok(())
}

fn de_reply(_: MessageReader) -> grpcio::Result<GrpcSlice> {
    unreachable!("the server never reads replies")
}

const YES_WITH_FC: Method<Vec<u8>, GrpcSlice> = Method {
    ty: MethodType::ServerStreaming,
    name: "/yes.SayYes/YesWithFc",
    req_mar: Marshaller {
        ser: ser_request,
        de: de_request,
    },
    resp_mar: Marshaller {
        ser: ser_reply,
        de: de_reply,
    },
};

/// Serves `YesWithFc` on a free 127.0.0.1 port until the process is killed.
///
/// With `YES_BENCH_FLOOR_CAP=N` it writes every `N`th reply without the hint,
/// as yes-server does (`buffered_replies_cap`), so that the price of
/// that cap can be told apart from the price of everything else.
pub fn serve() -> ! {
    let cap: Option<usize> = std::env::var("YES_BENCH_FLOOR_CAP")
        .ok()
        .map(|n| n.parse().expect("YES_BENCH_FLOOR_CAP is a number"))
        .filter(|&n| n > 0);
    let env = Arc::new(EnvBuilder::new().cq_count(2).build());
    let service = ServiceBuilder::new()
        .add_server_streaming_handler(&YES_WITH_FC, move |ctx, request: Vec<u8>, mut sink| {
            let reply = GrpcSlice::from(encode_reply(&reply_text(&request)));
            ctx.spawn(async move {
                let hinted = WriteFlags::default().buffer_hint(true);
                let mut written = 0usize;
                loop {
                    written += 1;
                    let flags = match cap {
                        Some(cap) if written % cap == 0 => WriteFlags::default(),
                        _ => hinted,
                    };
                    if sink.send((reply.clone(), flags)).await.is_err() {
                        break;
                    }
                }
            });
        })
        .build();
    let mut server = ServerBuilder::new(env)
        .register_service(service)
        .build()
        .unwrap();
    let port = server
        .add_listening_port("127.0.0.1:0", ServerCredentials::insecure())
        .unwrap();
    server.start();
    println!("floor listening on 127.0.0.1:{port}");
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::park();
    }
}
