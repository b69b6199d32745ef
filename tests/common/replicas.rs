//! Several replicas behind one round_robin client, as `yes-client` balances
//! them: used by `tests/replicas.rs` (in-process servers) and
//! `tests/container.rs` (containers).

use std::time::Instant;

use futures::executor::block_on;
use futures::future::select_all;
use futures::StreamExt;
use grpcio::{ClientSStreamReceiver, RpcStatusCode};
use yes_grpc::client::{channel_target, connect};
use yes_grpc::proto::yes::YesReply;
use yes_grpc::proto::yes_grpc::SayYesClient;

use super::{code, large_message, request, PATIENCE};

pub type Stream = ClientSStreamReceiver<YesReply>;

/// A client balancing round-robin over `addrs`.
pub fn round_robin(addrs: &[String]) -> SayYesClient {
    connect(&channel_target(&addrs.join(",")).unwrap(), false, None).unwrap()
}

/// `count` `YesWithFc` streams of [`large_message`]s (a stopped replica's
/// streams are read to their status beside the live ones), each opened
/// after the previous one's first reply.
pub fn open(client: &SayYesClient, count: usize) -> Vec<Stream> {
    let message = large_message("r");
    (0..count)
        .map(|_| {
            let mut stream = client.yes_with_fc(&request(&message)).unwrap();
            let first = block_on(stream.next()).unwrap().unwrap().message;
            assert!(
                first == message,
                "a reply of {} bytes, not the request's",
                first.len()
            );
            stream
        })
        .collect()
}

/// Opens streams until every replica has one by `active` (each replica's
/// live streams), then up to `total`. round_robin picks among the replicas
/// it is connected to, and the connections come up one by one, so the first
/// streams may all go to the first replica to answer.
pub fn open_on_every_replica(
    client: &SayYesClient,
    total: usize,
    active: impl Fn() -> Vec<u64>,
) -> Vec<Stream> {
    let mut streams = Vec::new();
    while active().contains(&0) {
        assert!(
            streams.len() < 300,
            "never on every replica: {:?}",
            active()
        );
        streams.extend(open(client, 1));
    }
    streams.extend(open(client, total.saturating_sub(streams.len())));
    streams
}

/// Reads every stream, in turn (a stream whose client stops reading gets its
/// status only after its window's worth) until `count` of them have ended with
/// UNAVAILABLE, which it drops; fails on any other end or after `PATIENCE`
/// plus `grace`.
pub fn read_until_unavailable(streams: &mut Vec<Stream>, count: u64, grace: std::time::Duration) {
    let deadline = Instant::now() + PATIENCE + grace;
    let mut ended = 0;
    while ended < count {
        assert!(
            Instant::now() < deadline,
            "only {ended} of {count} streams ended"
        );
        let (item, index, _) = block_on(select_all(streams.iter_mut().map(|s| s.next())));
        match item {
            // `select_all` takes the first ready stream in order, and the
            // live replicas' streams are always ready: the one just read
            // goes last, so every stream gets its turn and those of the
            // stopped replica reach their status even when this loop is
            // slower than the servers (a busy machine starved them).
            Some(Ok(_)) => {
                let read = streams.remove(index);
                streams.push(read);
            }
            Some(Err(e)) => {
                assert_eq!(code(&e), RpcStatusCode::UNAVAILABLE, "{e:?}");
                ended += 1;
                drop(streams.remove(index));
            }
            None => panic!("a stream ended without a status"),
        }
    }
}
