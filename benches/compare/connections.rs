//! `--connections`: what idle and silent connections cost yes-server and the
//! Java reference, side by side (issue 21). Each server in turn gets N idle
//! HTTP/2 connections (preface and SETTINGS sent, the server's SETTINGS
//! acknowledged, then nothing): its RSS before and after, per connection.
//! Then M TCP connections that never speak: how many the server has closed
//! 15 s later (yes-server's --handshake-timeout is 10 s by default;
//! grpc-java's Netty server waits 120 s).

use std::time::{Duration, Instant};

use crate::h2::{RawConnection, SETTINGS};
use crate::peers::{rss_kib, start, Server};
use crate::Setup;

/// How long a silent connection is given before it is counted as kept.
const SILENT_WAIT: Duration = Duration::from_secs(15);

pub fn compare_connections(setup: &Setup, quick: bool) {
    let (idle, silent) = if quick { (1_000, 500) } else { (5_000, 2_000) };
    println!(
        "server\tidle\tRSS before KiB\tRSS after KiB\tKiB per idle\tsilent\tclosed within 15 s"
    );
    for server in [Server::Yes, Server::Java] {
        let running = start(setup, server);
        // A first connection and call warm the server (the JVM's classes)
        // before its RSS is read.
        let mut warm = RawConnection::open(&running.addr, &[]);
        warm.read_until(Duration::from_secs(10), |f| f.kind == SETTINGS);
        let before = rss_kib(running.pid());
        let mut held = Vec::with_capacity(idle);
        for _ in 0..idle {
            let mut connection = RawConnection::open(&running.addr, &[]);
            connection.read_until(Duration::from_secs(10), |f| f.kind == SETTINGS);
            held.push(connection);
        }
        let after = rss_kib(running.pid());
        let per = after.saturating_sub(before) as f64 / idle as f64;

        let opened = Instant::now();
        let mut quiet: Vec<RawConnection> = (0..silent)
            .map(|_| RawConnection::connect(&running.addr))
            .collect();
        let mut closed = 0;
        for connection in &mut quiet {
            let left = SILENT_WAIT.saturating_sub(opened.elapsed());
            if connection
                .read_to_close(left.max(Duration::from_millis(1)))
                .1
            {
                closed += 1;
            }
        }
        println!(
            "{}\t{idle}\t{before}\t{after}\t{per:.1}\t{silent}\t{closed}",
            server.name()
        );
        drop((held, quiet, warm));
    }
}
