//! Shared by the integration tests: a real server on a free loopback port,
//! and a real grpcio client.
#![allow(dead_code)]

pub mod certs;
pub mod h2;
pub mod link;
pub mod listening;
pub mod metrics;
pub mod noise;
pub mod podman;
pub mod process;
pub mod recipes;
pub mod replicas;
pub mod stats;
pub mod tier;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures::StreamExt;
use grpcio::{
    CallOption, Channel, ChannelBuilder, ClientSStreamReceiver, EnvBuilder, Environment,
    Marshaller, Method, MethodType, RpcStatusCode,
};

use yes_grpc::proto::yes::{YesReply, YesRequest};
use yes_grpc::proto::yes_grpc::SayYesClient;
use yes_grpc::{Config, YesServer};

/// How long any single wait in a test may take before it fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Starts a server on 127.0.0.1 with a free port, changed by `tune`.
pub fn server_with(tune: impl FnOnce(&mut Config)) -> YesServer {
    YesServer::start(&config_with(tune)).expect("the server starts")
}

/// The configuration [`server_with`] starts, for a test that expects the
/// start to fail.
pub fn config_with(tune: impl FnOnce(&mut Config)) -> Config {
    // RUST_LOG=debug shows the server's log in a failing test's output.
    let _ = env_logger::builder().is_test(true).try_init();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        completion_queues: 2,
        ..Config::default()
    };
    tune(&mut config);
    config
}

/// Starts a server with the defaults on a free loopback port.
pub fn server() -> YesServer {
    server_with(|_| {})
}

/// A client environment of its own, so client and server threads differ.
pub fn client_env() -> Arc<Environment> {
    Arc::new(
        EnvBuilder::new()
            .cq_count(1)
            .name_prefix("test-client")
            .build(),
    )
}

/// A channel to `server` on a connection of its own.
pub fn channel(server: &YesServer) -> Channel {
    channel_with(server, |b| b)
}

/// A channel to `server` on a connection of its own, built by `tune`.
pub fn channel_with(
    server: &YesServer,
    tune: impl FnOnce(ChannelBuilder) -> ChannelBuilder,
) -> Channel {
    channel_to(&server.local_addr().to_string(), tune)
}

/// A channel to `addr` on a connection of its own, built by `tune`.
pub fn channel_to(addr: &str, tune: impl FnOnce(ChannelBuilder) -> ChannelBuilder) -> Channel {
    let builder = ChannelBuilder::new(client_env()).use_local_subchannel_pool(true);
    tune(builder).connect(addr)
}

/// A client on a connection of its own.
pub fn client(server: &YesServer) -> SayYesClient {
    SayYesClient::new(channel(server))
}

pub fn request(message: &str) -> YesRequest {
    let mut request = YesRequest::new();
    request.set_message(message.to_owned());
    request
}

/// Reads `n` replies, failing the test on any error or end.
pub fn read(stream: &mut ClientSStreamReceiver<YesReply>, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match block_on(stream.next()) {
            Some(Ok(reply)) => reply.message,
            Some(Err(e)) => panic!("reply {i}: {e}"),
            None => panic!("reply {i}: the stream ended"),
        })
        .collect()
}

/// The size of [`large_message`].
pub const LARGE_MESSAGE_BYTES: usize = 8 * 1024;

/// `tag` padded with dots to 8 KiB, the message (and so the reply) of a
/// stream whose status a test awaits after its client stopped reading. The
/// client sees the status only after it has read what the stream's window
/// holds, one message per read: in replies of 8 KiB that is a few hundred
/// reads, where replies of a few bytes make it hundreds of thousands, more
/// than a busy machine reads in the [`PATIENCE`] a test gives it.
pub fn large_message(tag: &str) -> String {
    assert!(tag.len() <= LARGE_MESSAGE_BYTES);
    format!("{tag}{}", ".".repeat(LARGE_MESSAGE_BYTES - tag.len()))
}

/// Reads until the stream fails; returns how many replies came and the error.
pub fn read_to_error(stream: &mut ClientSStreamReceiver<YesReply>) -> (u64, grpcio::Error) {
    read_to_error_within(PATIENCE, stream)
}

/// Like [`read_to_error`], for streams with much buffered to read first.
pub fn read_to_error_within(
    limit: Duration,
    stream: &mut ClientSStreamReceiver<YesReply>,
) -> (u64, grpcio::Error) {
    let mut count = 0;
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < limit, "the stream did not end");
        match block_on(stream.next()) {
            Some(Ok(_)) => count += 1,
            Some(Err(e)) => return (count, e),
            None => panic!("the stream ended without a status after {count} replies"),
        }
    }
}

/// The status code of a failed call.
pub fn code(error: &grpcio::Error) -> RpcStatusCode {
    match error {
        grpcio::Error::RpcFailure(status) => status.code(),
        other => panic!("expected an RPC status, got {other:?}"),
    }
}

/// The status message of a failed call.
pub fn message(error: &grpcio::Error) -> String {
    match error {
        grpcio::Error::RpcFailure(status) => status.message().to_owned(),
        other => panic!("expected an RPC status, got {other:?}"),
    }
}

pub fn with_timeout(timeout: Duration) -> CallOption {
    CallOption::default().timeout(timeout)
}

/// Samples `holds` every 10 ms until it is true or `PATIENCE` passes; for
/// quantities that grow continuously (pause time), which raise no event.
pub fn eventually(holds: impl FnMut() -> bool) -> bool {
    eventually_within(PATIENCE, holds)
}

/// Like [`eventually`], for waits that scale with load (e.g. a thousand
/// streams starting on a debug build).
pub fn eventually_within(limit: Duration, mut holds: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    loop {
        if holds() {
            return true;
        }
        if started.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A method that sends and receives raw bytes, to put any bytes on the wire.
pub fn raw_method(ty: MethodType, name: &'static str) -> Method<Vec<u8>, Vec<u8>> {
    fn ser(bytes: &Vec<u8>, buf: &mut grpcio::GrpcSlice) -> grpcio::Result<()> {
        *buf = grpcio::GrpcSlice::from(bytes.as_slice());
        Ok(())
    }
    fn de(mut reader: grpcio::MessageReader) -> grpcio::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut bytes).unwrap();
        Ok(bytes)
    }
    Method {
        ty,
        name,
        req_mar: Marshaller { ser, de },
        resp_mar: Marshaller { ser, de },
    }
}
