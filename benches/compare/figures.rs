//! What is measured: one stream by reply size and client, concurrent
//! streams, start-up, slow readers' memory, and the `--ccores`,
//! `--pinning` and `--stacks` variants.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use grpcio::{CallOption, ChannelBuilder, EnvBuilder};

use yes_grpc::proto::yes::YesRequest;
use yes_grpc::proto::yes_grpc::SayYesClient;

use crate::peers::{
    clients, drive, extra_floors, idle_then_paced_load, rss_kib, start, Client, Server, PINNED,
};
use crate::report::{plot_rates, plot_rss, print_table, report, window_mean, Row};
use crate::Setup;

/// The default run: figures 1 to 6, reported as a table, CSV, JSON and
/// charts in `setup.out`.
pub fn all(setup: &Setup, reps: usize, seconds: f64, slow_seconds: u64) {
    let mut rows: Vec<Row> = Vec::new();
    eprintln!("compare: {reps} repetition(s), {seconds} s per measurement");

    // 1 + 2: one stream, by message size and client: msgs/s, MB/s, CPU.
    rows.extend(one_stream(
        setup,
        reps,
        seconds,
        &[Server::Yes, Server::Java, Server::Floor],
    ));

    // 3: concurrent streams, aggregate msgs/s.
    for streams in [8usize, 64] {
        for rep in 0..reps {
            for server in [Server::Yes, Server::Java, Server::Floor] {
                let running = start(setup, server);
                let (load, _) = drive(setup, &running, Client::Rust, 0, seconds, streams);
                let rate = load.msgs as f64 / load.seconds;
                eprintln!(
                    "  {streams} streams rep {rep}: {:>14} {rate:>9.0} msgs/s",
                    server.name()
                );
                rows.push(Row {
                    figure: format!("{streams} streams, \"yes\""),
                    server,
                    client: Client::Rust.name().into(),
                    value: rate,
                    unit: "msgs/s",
                });
            }
        }
    }

    // 6: start-up, process start to first reply.
    for rep in 0..reps {
        for server in [Server::Yes, Server::Java] {
            let running = start(setup, server);
            let env = Arc::new(EnvBuilder::new().cq_count(1).build());
            let client = SayYesClient::new(ChannelBuilder::new(env).connect(&running.addr));
            let mut stream = client
                .yes_with_fc_opt(
                    &YesRequest::new(),
                    CallOption::default().wait_for_ready(true),
                )
                .unwrap();
            futures::executor::block_on(stream.next()).unwrap().unwrap();
            let millis = running.started.elapsed().as_secs_f64() * 1e3;
            eprintln!("  start-up rep {rep}: {:>14} {millis:.0} ms", server.name());
            rows.push(Row {
                figure: "start-up to first reply".into(),
                server,
                client: Client::Rust.name().into(),
                value: millis,
                unit: "ms",
            });
        }
    }

    // 4: 100 slow readers (10 msgs/s each): RSS each second.
    let mut rss_series: BTreeMap<Server, Vec<u64>> = BTreeMap::new();
    for server in [Server::Yes, Server::Java] {
        let running = start(setup, server);
        let (idle, mut load) = idle_then_paced_load(setup, &running, slow_seconds, 100, 10);
        let mut series = vec![idle];
        for _ in 0..slow_seconds {
            std::thread::sleep(Duration::from_secs(1));
            series.push(rss_kib(running.pid()));
        }
        let _ = load.wait();
        let first = window_mean(&series[1..], true);
        let last = window_mean(&series[1..], false);
        eprintln!(
            "  100 slow readers: {:>14} RSS idle {idle} KiB, first 10 s {first:.0} KiB, last 10 s {last:.0} KiB",
            server.name()
        );
        for (figure, value) in [
            ("100 slow readers: RSS, first 10 s", first / 1024.0),
            ("100 slow readers: RSS, last 10 s", last / 1024.0),
        ] {
            rows.push(Row {
                figure: figure.into(),
                server,
                client: Client::Rust.name().into(),
                value,
                unit: "MiB",
            });
        }
        rss_series.insert(server, series);
    }

    // 5: 1,000 open slow streams: RSS per stream.
    for server in [Server::Yes, Server::Java] {
        let running = start(setup, server);
        let (idle, mut load) = idle_then_paced_load(setup, &running, 5, 1000, 1);
        std::thread::sleep(Duration::from_secs(5));
        let loaded = rss_kib(running.pid());
        let _ = load.wait();
        let per_stream = (loaded.saturating_sub(idle)) as f64 / 1000.0;
        eprintln!(
            "  1000 slow streams: {:>14} {per_stream:.1} KiB per stream",
            server.name()
        );
        rows.push(Row {
            figure: "1000 slow streams: RSS per stream".into(),
            server,
            client: Client::Rust.name().into(),
            value: per_stream,
            unit: "KiB",
        });
    }

    report(&setup.out, &rows);
    plot_rss(&setup.out.join("rss-slow-readers.svg"), &rss_series);
    plot_rates(&setup.out.join("msgs-by-size.svg"), &rows);
    eprintln!("compare: wrote {}", setup.out.display());
}

/// Figures 1 and 2: one stream at each message size, read by each client,
/// from each of `servers` in turn: msgs/s, MB/s and server CPU seconds per
/// million messages.
pub fn one_stream(setup: &Setup, reps: usize, seconds: f64, servers: &[Server]) -> Vec<Row> {
    one_stream_of(setup, reps, seconds, servers, &[0, 1024, 64 * 1024], 0.0)
}

/// One stream of each size in `sizes`, read by each client; each server
/// first streams `warm_up` seconds unmeasured (the JVM's JIT needs it).
pub fn one_stream_of(
    setup: &Setup,
    reps: usize,
    seconds: f64,
    servers: &[Server],
    sizes: &[usize],
    warm_up: f64,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for &size in sizes {
        for client in clients() {
            for rep in 0..reps {
                for &server in servers {
                    let running = start(setup, server);
                    if warm_up > 0.0 {
                        drive(setup, &running, client, size, warm_up, 1);
                    }
                    let (load, cpu) = drive(setup, &running, client, size, seconds, 1);
                    let label = size_label(size);
                    eprintln!(
                        "  {label:>8} {:>11} rep {rep}: {:>14} {:>9.0} msgs/s",
                        client.name(),
                        server.name(),
                        load.msgs as f64 / load.seconds
                    );
                    let figure = format!("1 stream, {label}");
                    let client_name = client.name().to_string();
                    rows.push(Row {
                        figure: figure.clone(),
                        server,
                        client: client_name.clone(),
                        value: load.msgs as f64 / load.seconds,
                        unit: "msgs/s",
                    });
                    rows.push(Row {
                        figure: figure.clone(),
                        server,
                        client: client_name.clone(),
                        value: load.bytes as f64 / load.seconds / 1e6,
                        unit: "MB/s",
                    });
                    rows.push(Row {
                        figure,
                        server,
                        client: client_name,
                        value: cpu / (load.total as f64 / 1e6),
                        unit: "CPU s/M msgs",
                    });
                }
            }
        }
    }
    rows
}

/// A reply size as the tables name it.
pub fn size_label(size: usize) -> String {
    if size == 0 {
        "\"yes\"".into()
    } else {
        format!("{size} B")
    }
}

/// `--ccores`: one stream at each message size, read by each client, from
/// yes-server, the Java reference, the floor on this build's C-core and the
/// floors in `YES_BENCH_FLOORS`, alternating, so the C-cores' speed is
/// measured side by side with the servers it bounds. Prints msgs/s and
/// server CPU per million messages (median, min–max, ratio to the Java
/// reference) and writes `ccores.csv`.
pub fn compare_ccores(setup: &Setup, reps: usize, seconds: f64) {
    let servers = servers_and_floors();
    let rows = one_stream(setup, reps, seconds, &servers);
    print_table(setup, &rows, &servers, "ccores.csv");
}

/// yes-server, the Java reference, this build's floor and the floors in
/// `YES_BENCH_FLOORS`.
pub fn servers_and_floors() -> Vec<Server> {
    let mut servers = vec![Server::Yes, Server::Java, Server::Floor];
    if std::env::args().any(|a| a == "--fuse-filters") {
        servers.insert(1, Server::YesFused);
    }
    servers.extend((0..extra_floors().len()).map(Server::Extra));
    servers
}

/// `--pinning`: one stream of `"yes"` and of 1 KiB from yes-server, the
/// Java reference and the floors (the capped one too), each server warmed up for 5 s first,
/// measured as the other benchmarks are (client and server share both
/// cores) and then with the server on CPU 0 and the client on CPU 1.
pub fn compare_pinning(setup: &Setup, reps: usize, seconds: f64) {
    let mut servers = servers_and_floors();
    // Beside the floor, the floor with yes-server's cap on buffered replies:
    // the distance between the two is the cap's, the rest is yes-server's.
    let floor = servers.iter().position(|&s| s == Server::Floor).unwrap();
    servers.insert(floor + 1, Server::FloorCapped);
    for (pinned, name) in [(false, "pinning-off.csv"), (true, "pinning-on.csv")] {
        PINNED.store(pinned, Ordering::Relaxed);
        println!(
            "{}",
            if pinned {
                "server on CPU 0, client on CPU 1 (taskset):"
            } else {
                "server and client sharing both CPUs:"
            }
        );
        let rows = one_stream_of(setup, reps, seconds, &servers, &[0, 1024], 5.0);
        print_table(setup, &rows, &servers, name);
    }
}

/// `--stacks`: one stream of `"yes"` and of 1 KiB from yes-server and the
/// Java reference, read by every client stack of the interop matrix.
pub fn compare_stacks(setup: &Setup, reps: usize, seconds: f64) {
    let servers = [Server::Yes, Server::Java];
    let rows = one_stream_of(setup, reps, seconds, &servers, &[0, 1024], 5.0);
    print_table(setup, &rows, &servers, "stacks.csv");
}
