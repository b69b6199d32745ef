//! `--streams`: from one stream to thousands. One server at a time (yes-server,
//! the Java reference, the floor), warmed up, then read by one load client
//! with 1, 10, 100 and 1,000 concurrent `YesWithFc` streams over one
//! connection and over eight: total msgs/s, the server's CPU seconds per
//! million messages, and its RSS halfway through. Writes every sample to
//! `streams.csv`, prints the medians, and draws `cpu-by-streams.svg`.
//!
//! What it answers: whether the cost of a message grows with the number of
//! streams sharing the server (each stream is a producer task, a pipe and a
//! pump on a completion queue), and whether yes-server keeps its lead over
//! the Java reference when the work is spread.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::charts::{self, Line, Panel};
use crate::figures::size_label;
use crate::peers::{client_command, drive, load_args, run_command, start, Client, Server};
use crate::report::{csv_records, field, median_min_max};
use crate::Setup;

/// The stream counts measured.
pub const COUNTS: [usize; 4] = [1, 10, 100, 1000];
/// The connections the streams are spread over (never more than streams).
pub const CONNECTIONS: [usize; 2] = [1, 8];
/// The reply sizes: `"yes"` and 1 KiB.
pub const SIZES: [usize; 2] = [0, 1024];
/// How long each server streams unmeasured before its first cell (the
/// JVM's JIT needs it).
const WARM_UP: f64 = 5.0;
/// How long each cell's streams run before they are measured: a thousand
/// calls take a moment to open, and their buffers to fill.
const CELL_WARM_UP: f64 = 3.0;
/// The CSV's name and header; `charts` reads it back.
pub const CSV: &str = "streams.csv";
const HEADER: &str = "rep,size,client,server,streams,connections,msgs_per_s,cpu_s_per_m,rss_mib";

/// Every (streams, connections) cell, in the order they are measured.
fn cells() -> Vec<(usize, usize)> {
    COUNTS
        .iter()
        .flat_map(|&streams| {
            CONNECTIONS
                .iter()
                .filter(move |&&connections| connections <= streams)
                .map(move |&connections| (streams, connections))
        })
        .collect()
}

/// One measurement.
#[derive(Clone, Debug)]
pub struct Sample {
    pub size: usize,
    pub client: String,
    pub server: String,
    pub streams: usize,
    pub connections: usize,
    pub msgs_per_s: f64,
    pub cpu_s_per_m: f64,
    pub rss_mib: f64,
}

pub fn compare_streams(setup: &Setup, reps: usize, seconds: f64) {
    let servers = [Server::Yes, Server::Java, Server::Floor];
    let mut csv = format!("{HEADER}\n");
    let mut samples = Vec::new();
    for rep in 0..reps {
        for size in SIZES {
            for client in [Client::Rust, Client::Java] {
                for server in servers {
                    let running = start(setup, server);
                    drive(setup, &running, client, size, WARM_UP, 1);
                    for (streams, connections) in cells() {
                        let args = load_args(&running, size, seconds, streams, 0, connections);
                        let mut command = client_command(setup, client, &args);
                        command.env("YES_BENCH_WARM_UP", CELL_WARM_UP.to_string());
                        let halfway = Duration::from_secs_f64(CELL_WARM_UP + seconds / 2.0);
                        let (load, cpu, rss) =
                            run_command(&running, client.name(), command, Some(halfway));
                        let sample = Sample {
                            size,
                            client: client.name().into(),
                            server: server.name().into(),
                            streams,
                            connections,
                            msgs_per_s: load.msgs as f64 / load.seconds,
                            cpu_s_per_m: cpu / (load.total as f64 / 1e6),
                            rss_mib: rss.unwrap_or(0) as f64 / 1024.0,
                        };
                        eprintln!(
                            "  rep {rep} {:>7} {:>11} {:>14} {streams:>5} streams / {connections} conn: \
                             {:>9.0} msgs/s {:>6.2} CPU s/M {:>7.1} MiB",
                            size_label(size),
                            sample.client,
                            sample.server,
                            sample.msgs_per_s,
                            sample.cpu_s_per_m,
                            sample.rss_mib
                        );
                        writeln!(
                            csv,
                            "{rep},{size},{},{},{streams},{connections},{:.1},{:.4},{:.2}",
                            sample.client,
                            sample.server,
                            sample.msgs_per_s,
                            sample.cpu_s_per_m,
                            sample.rss_mib
                        )
                        .unwrap();
                        samples.push(sample);
                    }
                }
            }
        }
    }
    std::fs::write(setup.out.join(CSV), &csv).unwrap();
    print_streams(&samples);
    draw(&setup.out, &samples);
    eprintln!("compare: wrote {}", setup.out.join(CSV).display());
}

/// Reads `streams.csv` back (for `--charts`).
pub fn read_csv(text: &str) -> Vec<Sample> {
    csv_records(text)
        .map(|f| Sample {
            size: field(&f, 1),
            client: f[2].into(),
            server: f[3].into(),
            streams: field(&f, 4),
            connections: field(&f, 5),
            msgs_per_s: field(&f, 6),
            cpu_s_per_m: field(&f, 7),
            rss_mib: field(&f, 8),
        })
        .collect()
}

/// Whether a cell's `streams` flowed: under 10 replies a second a stream
/// they stalled, and CPU per message means nothing (the table says
/// "stalled", the chart leaves the point out).
fn flowed(msgs_per_s: f64, streams: usize) -> bool {
    msgs_per_s >= 10.0 * streams as f64
}

/// The medians of one cell: msgs/s, CPU s per M, RSS MiB.
type Medians = (f64, f64, f64);

fn medians(samples: &[Sample]) -> BTreeMap<(usize, String, String, usize, usize), Medians> {
    let mut cells: BTreeMap<_, Vec<&Sample>> = BTreeMap::new();
    for s in samples {
        let key = (
            s.size,
            s.client.clone(),
            s.server.clone(),
            s.streams,
            s.connections,
        );
        cells.entry(key).or_default().push(s);
    }
    cells
        .into_iter()
        .map(|(key, cell)| {
            let pick = |f: fn(&Sample) -> f64| {
                median_min_max(&mut cell.iter().map(|s| f(s)).collect::<Vec<_>>()).0
            };
            let m = (
                pick(|s| s.msgs_per_s),
                pick(|s| s.cpu_s_per_m),
                pick(|s| s.rss_mib),
            );
            (key, m)
        })
        .collect()
}

/// Prints a table per reply size and client (medians), and the two targets:
/// CPU per message at 1,000 streams against one stream, and messages per
/// server CPU-second against the Java reference's.
pub fn print_streams(samples: &[Sample]) {
    let medians = medians(samples);
    let servers = [Server::Yes, Server::Java, Server::Floor].map(Server::name);
    for size in SIZES {
        for client in [Client::Rust, Client::Java].map(Client::name) {
            println!(
                "{}, {client} client: msgs/s, server CPU s per M msgs, RSS MiB",
                size_label(size)
            );
            print!("{:<16}", "streams/conns");
            for server in servers {
                print!(" {server:>30}");
            }
            println!(" {:>12}", "yes/java msg per CPU s");
            for (streams, connections) in cells() {
                let cell = |server: &str| {
                    medians.get(&(size, client.into(), server.into(), streams, connections))
                };
                print!("{:<16}", format!("{streams}/{connections}"));
                for server in servers {
                    match cell(server) {
                        Some(&(rate, cpu, rss)) if flowed(rate, streams) => print!(
                            " {:>30}",
                            format!("{:.0} k, {cpu:.2}, {rss:.0}", rate / 1e3)
                        ),
                        Some(&(rate, _, rss)) => {
                            print!(" {:>30}", format!("stalled: {rate:.0}/s, {rss:.0}"))
                        }
                        None => print!(" {:>30}", "-"),
                    }
                }
                // Messages per CPU-second are the inverse of CPU per message.
                match (cell(servers[0]), cell(servers[1])) {
                    (Some(yes), Some(java))
                        if flowed(yes.0, streams) && flowed(java.0, streams) =>
                    {
                        println!(" {:>11.2}x", java.1 / yes.1)
                    }
                    _ => println!(" {:>12}", "-"),
                }
            }
            for server in servers {
                let one = medians.get(&(size, client.into(), server.into(), 1, 1));
                let growth: Vec<String> = CONNECTIONS
                    .iter()
                    .filter_map(|&c| {
                        let many = medians.get(&(size, client.into(), server.into(), 1000, c))?;
                        Some(if flowed(many.0, 1000) {
                            format!("{:.2}x over {c} conn", many.1 / one?.1)
                        } else {
                            format!("stalled over {c} conn")
                        })
                    })
                    .collect();
                println!(
                    "  {server}: CPU per message at 1000 streams / at 1: {}",
                    growth.join(", ")
                );
            }
            println!();
        }
    }
}

/// `cpu-by-streams.svg`: per client stack and reply size, server CPU
/// microseconds per message against the stream count, a line per server
/// and connection count.
pub fn draw(out: &std::path::Path, samples: &[Sample]) {
    let medians = medians(samples);
    let mut panels = Vec::new();
    for size in SIZES {
        for client in [Client::Rust, Client::Java].map(Client::name) {
            let mut lines = Vec::new();
            for (index, server) in [Server::Yes, Server::Java, Server::Floor]
                .map(Server::name)
                .into_iter()
                .enumerate()
            {
                for (dashed, connections) in CONNECTIONS.into_iter().enumerate() {
                    let points: Vec<(f64, f64)> = COUNTS
                        .iter()
                        .filter_map(|&streams| {
                            let m = medians.get(&(
                                size,
                                client.into(),
                                server.into(),
                                streams,
                                connections,
                            ))?;
                            // CPU s per million messages = µs per message.
                            flowed(m.0, streams).then_some((streams as f64, m.1))
                        })
                        .collect();
                    lines.push(Line {
                        label: format!("{server}, {connections} conn"),
                        points,
                        color: index,
                        dashed: dashed > 0,
                    });
                }
            }
            panels.push(Panel {
                title: format!("{}, {client} client", size_label(size)),
                x_desc: "concurrent streams".into(),
                y_desc: "server CPU µs per message".into(),
                log_x: true,
                lines,
            });
        }
    }
    charts::draw(
        &out.join("cpu-by-streams.svg"),
        "Server CPU per message, 1 to 1,000 YesWithFc streams (stalled cells left out)",
        &panels,
    );
}
