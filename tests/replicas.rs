//! Several servers behind one client with C-core's round_robin policy:
//! streams spread over the replicas and move off one that drains.

mod common;

use std::time::Duration;

use futures::executor::block_on;

use common::replicas::{open, open_on_every_replica, read_until_unavailable, round_robin};
use common::*;

#[test]
fn streams_spread_over_replicas_and_leave_a_draining_one() {
    let replicas = [server(), server(), server()];
    let addrs: Vec<String> = replicas
        .iter()
        .map(|r| r.local_addr().to_string())
        .collect();
    let client = round_robin(&addrs);
    let active = || -> Vec<u64> {
        replicas
            .iter()
            .map(|r| r.registry().totals().active)
            .collect()
    };
    let mut streams = open_on_every_replica(&client, 30, active);
    let spread = active();
    assert_eq!(spread.iter().sum::<u64>(), streams.len() as u64);

    // The first replica drains: its streams end with UNAVAILABLE...
    let [first, second, third] = replicas;
    let drained = std::thread::spawn(move || block_on(first.shutdown(Duration::from_secs(5))));
    read_until_unavailable(&mut streams, spread[0], Duration::ZERO);
    assert!(drained.join().unwrap(), "the drain was not clean");
    drop(streams);
    assert!(second.registry().wait_idle(PATIENCE) && third.registry().wait_idle(PATIENCE));

    // ...and new streams go to the others only.
    let started = [
        second.registry().totals().started,
        third.registry().totals().started,
    ];
    let _again = open(&client, 20);
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
