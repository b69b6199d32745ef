//! Several servers behind one client with C-core's round_robin policy:
//! streams spread over the replicas and move off one that drains.

mod common;

use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures::future::select_all;
use futures::StreamExt;
use grpcio::RpcStatusCode;

use common::*;
use yes_grpc::client::{channel_target, connect};

#[test]
fn streams_spread_over_replicas_and_leave_a_draining_one() {
    let replicas = [server(), server(), server()];
    let target = replicas
        .iter()
        .map(|r| r.local_addr().to_string())
        .collect::<Vec<_>>()
        .join(",");
    let client = connect(&channel_target(&target).unwrap(), false, None).unwrap();

    let open = |count: usize| -> Vec<_> {
        (0..count)
            .map(|_| {
                let mut stream = client.yes_with_fc(&request("rr")).unwrap();
                assert_eq!(block_on(stream.next()).unwrap().unwrap().message, "rr");
                stream
            })
            .collect()
    };
    let mut streams = open(30);
    let active: Vec<u64> = replicas
        .iter()
        .map(|r| r.registry().totals().active)
        .collect();
    assert_eq!(active.iter().sum::<u64>(), 30);
    assert!(active.iter().all(|a| *a > 0), "not spread: {active:?}");

    // The first replica drains: its streams end with UNAVAILABLE...
    let [first, second, third] = replicas;
    let on_first = active[0];
    let drained = std::thread::spawn(move || block_on(first.shutdown(Duration::from_secs(5))));
    // Read every stream meanwhile (a stream whose client stops reading gets
    // its status only after its window's worth), until the drained ones end.
    let deadline = Instant::now() + PATIENCE;
    let mut ended = 0;
    while ended < on_first {
        assert!(
            Instant::now() < deadline,
            "only {ended} of {on_first} streams ended"
        );
        let next = streams.iter_mut().map(|s| s.next());
        let (item, index, _) = block_on(select_all(next));
        match item {
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                assert_eq!(code(&e), RpcStatusCode::UNAVAILABLE, "{e:?}");
                ended += 1;
                drop(streams.remove(index));
            }
            None => panic!("a stream ended without a status"),
        }
    }
    assert!(drained.join().unwrap(), "the drain was not clean");
    drop(streams);
    assert!(second.registry().wait_idle(PATIENCE) && third.registry().wait_idle(PATIENCE));

    // ...and new streams go to the others only.
    let started = [
        second.registry().totals().started,
        third.registry().totals().started,
    ];
    let _again = open(20);
    let now = [
        second.registry().totals().started,
        third.registry().totals().started,
    ];
    assert_eq!(now[0] - started[0] + now[1] - started[1], 20);
    assert!(
        now[0] > started[0] && now[1] > started[1],
        "{started:?} -> {now:?}"
    );
}
