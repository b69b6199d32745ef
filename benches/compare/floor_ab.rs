//! `--floor-ab`: yes-server's distance to the floor, fine enough to tell
//! 5 %. One stream of `"yes"` and of 1 KiB from yes-server, the floor and
//! the floor with yes-server's cap on buffered replies (`grpcio-floor+cap`),
//! the server on CPU 0 and the Rust load client on CPU 1, in rounds: each
//! round measures the three once per size, in an order that rotates from
//! round to round, each after 3 s of warm-up. Why rounds: this machine's
//! pace drifts by more than 5 % over minutes, and a cell's own spread in
//! `--pinning` is 10-25 %, so only ratios taken within one round, a few
//! seconds apart, resolve a few per cent. Prints each run, then per size the
//! mean of the per-round ratios with a 95 % interval; writes `floor-ab.csv`
//! (`floor-ab-N.csv` for N streams).
//!
//! `--concurrent N` measures N streams on one connection instead of one (the
//! capped floor then takes yes-server's cap for N streams), of 1 KiB only:
//! the floor's streams of `"yes"` stall from a few hundred on.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::figures::size_label;
use crate::peers::{drive, start, Client, Server, CAPPED_STREAMS, PINNED};
use crate::report::median_min_max;
use crate::Setup;

const SERVERS: [Server; 3] = [Server::Yes, Server::Floor, Server::FloorCapped];
/// Warm-up before each measured run, seconds.
const WARM_UP: f64 = 3.0;

pub fn compare_floor_ab(setup: &Setup, rounds: usize, seconds: f64, streams: usize) {
    PINNED.store(true, Ordering::Relaxed);
    CAPPED_STREAMS.store(streams, Ordering::Relaxed);
    let sizes: &[usize] = if streams == 1 { &[0, 1024] } else { &[1024] };
    // cpu_per_msg[size][server][round], µs per message.
    let mut cpu_per_msg = vec![vec![Vec::new(); SERVERS.len()]; sizes.len()];
    let mut csv = String::from("round,streams,size,server,msgs_per_s,cpu_us_per_msg\n");
    for round in 0..rounds {
        for (s, &size) in sizes.iter().enumerate() {
            for i in 0..SERVERS.len() {
                let k = (i + round) % SERVERS.len();
                let server = SERVERS[k];
                let running = start(setup, server);
                drive(setup, &running, Client::Rust, size, WARM_UP, streams);
                let (load, cpu) = drive(setup, &running, Client::Rust, size, seconds, streams);
                let rate = load.msgs as f64 / load.seconds;
                let micros = cpu / load.total as f64 * 1e6;
                let (label, name) = (size_label(size), server.name());
                eprintln!(
                    "  round {round:>2} {label:>8} {name:>16}: {:>5.0} k msgs/s, {micros:.3} µs/msg",
                    rate / 1e3
                );
                writeln!(csv, "{round},{streams},{size},{name},{rate:.0},{micros:.4}").unwrap();
                cpu_per_msg[s][k].push(micros);
            }
        }
    }
    let file = match streams {
        1 => "floor-ab.csv".to_string(),
        n => format!("floor-ab-{n}.csv"),
    };
    std::fs::write(setup.out.join(&file), csv).unwrap();
    println!(
        "server CPU µs per message, {streams} stream(s), {rounds} rounds of {seconds} s, \
         pinned, Rust client:"
    );
    for (s, &size) in sizes.iter().enumerate() {
        let per = &cpu_per_msg[s];
        for (k, server) in SERVERS.iter().enumerate() {
            let (median, min, max) = median_min_max(&mut per[k].clone());
            println!(
                "{:>8} {:>16}: median {median:.3} (min {min:.3}, max {max:.3})",
                size_label(size),
                server.name()
            );
        }
        for (a, b) in [(0, 1), (0, 2), (2, 1)] {
            let mut ratios: Vec<f64> = (0..rounds).map(|r| per[a][r] / per[b][r]).collect();
            let (mean, half) = mean_and_interval(&ratios);
            let (_, low, high) = median_min_max(&mut ratios);
            println!(
                "{:>8} {} / {}: {mean:.3} ± {half:.3} (95 %), rounds {low:.2}-{high:.2}",
                size_label(size),
                SERVERS[a].name(),
                SERVERS[b].name()
            );
        }
    }
    eprintln!("compare: wrote {}", setup.out.join(file).display());
}

/// The mean and the half-width of its 95 % interval (normal
/// approximation: 1.96 standard errors).
fn mean_and_interval(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, f64::NAN);
    }
    let variance = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, 1.96 * (variance / n).sqrt())
}
