//! yes-server against the sample's grpc-java server (a faithful port in
//! interop/java), and against a floor: a minimal grpcio loop with no producer
//! and no stats, just the sink. Same machine, same clients, one run, the
//! servers alternating.
//!
//! `scripts/bench-compare.sh [--quick]` (or `cargo bench --bench compare`
//! after `interop/java/setup-debian.sh`). Prints a table and writes
//! `target/bench-compare/{results.csv,results.json,*.svg}`. `--ccores` and
//! `--pinning` (`scripts/bench-ccores.sh`) measure one stream only, beside
//! the floors on other C-cores; `--pinning` also with the server and the
//! client on a core each. `--stacks` (`scripts/bench-compare.sh --stacks`)
//! measures one stream of `"yes"` and of 1 KiB from yes-server and the Java
//! reference as read by every client stack of the interop matrix.
//! `--fuse-filters` adds yes-server with C-core's `fuse_filters` experiment
//! (and only it) to `--ccores` and `--pinning`, side by side.
//!
//! The bench binary plays three roles: the harness (default), the floor
//! server (`YES_BENCH_ROLE=floor`), and the Rust load client
//! (`YES_BENCH_ROLE=client`), so that every server and client is a process
//! of its own and CPU can be read per process from /proc.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use grpcio::{CallOption, ChannelBuilder, EnvBuilder};

use yes_grpc::proto::yes::YesRequest;
use yes_grpc::proto::yes_grpc::SayYesClient;

fn main() {
    match std::env::var("YES_BENCH_ROLE").as_deref() {
        Ok("floor") => floor_server(),
        Ok("client") => load_client(),
        _ => harness(),
    }
}

// ---------------------------------------------------------------- floor --

/// The floor: a bare grpcio loop (`benches/floor/mod.rs`, shared with the
/// floor built on C-core 1.46).
#[path = "floor/mod.rs"]
mod floor;

fn floor_server() {
    floor::serve()
}

// --------------------------------------------------------------- client --

/// The Rust load client: `TARGET METHOD BYTES SECONDS STREAMS [READS_PER_S]`,
/// like the Java one (interop/java/src/yes/interop/YesLoad.java). Prints
/// `msgs=N bytes=B seconds=S total=T`, T counting the warm-up second too.
fn load_client() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (target, method, size) = (&args[0], args[1].as_str(), args[2].parse().unwrap());
    let seconds: f64 = args[3].parse().unwrap();
    let streams: usize = args[4].parse().unwrap();
    let paced: u64 = args.get(5).map_or(0, |a| a.parse().unwrap());

    let env = Arc::new(EnvBuilder::new().cq_count(2).build());
    let client = SayYesClient::new(ChannelBuilder::new(env).connect(target));
    let mut request = YesRequest::new();
    request.set_message("y".repeat(size));
    let (messages, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut calls = Vec::new();
    for _ in 0..streams {
        let option = CallOption::default().wait_for_ready(true);
        let mut replies = match method {
            "yes" => client.yes_opt(&request, option),
            _ => client.yes_with_fc_opt(&request, option),
        }
        .unwrap();
        let (messages, bytes) = (messages.clone(), bytes.clone());
        let (done, finished) = futures::channel::oneshot::channel::<()>();
        calls.push(done);
        let reading = async move {
            while let Some(Ok(reply)) = replies.next().await {
                messages.fetch_add(1, Ordering::Relaxed);
                bytes.fetch_add(reply.message.len() as u64, Ordering::Relaxed);
                if let Some(pause) = 1000u64.checked_div(paced) {
                    yes_grpc::executor::sleep(Duration::from_millis(pause)).await;
                }
            }
        };
        // Fast readers read on the client's completion-queue thread; paced
        // ones sleep, which that thread must not.
        let until_done = async move {
            futures::future::select(Box::pin(reading), finished).await;
        };
        if paced > 0 {
            yes_grpc::executor::spawn(until_done);
        } else {
            client.spawn(until_done);
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let (m0, b0) = (
        messages.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed),
    );
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    let (m, b) = (
        messages.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed),
    );
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "msgs={} bytes={} seconds={elapsed:.3} total={m}",
        m - m0,
        b - b0
    );
    std::io::stdout().flush().unwrap();
    drop(calls);
    std::process::exit(0);
}

// -------------------------------------------------------------- harness --

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Server {
    Yes,
    /// yes-server with C-core's `fuse_filters` experiment on (`--fuse-filters`).
    YesFused,
    Java,
    Floor,
    /// The `i`-th of [`extra_floors`]: the floor built on another C-core.
    Extra(usize),
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Yes => "yes-server",
            Server::YesFused => "yes-server+fuse_filters",
            Server::Java => "java-reference",
            Server::Floor => "grpcio-floor",
            Server::Extra(i) => &extra_floors()[i].0,
        }
    }
}

/// The `LABEL=PATH,...` entries of the environment variable `var`, each
/// label given `prefix`.
fn labelled_paths(var: &str, prefix: &str) -> Vec<(String, PathBuf)> {
    let list = std::env::var(var).unwrap_or_default();
    list.split(',')
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (label, path) = entry
                .split_once('=')
                .unwrap_or_else(|| panic!("{var} holds LABEL=PATH entries"));
            (format!("{prefix}{label}"), PathBuf::from(path))
        })
        .collect()
}

/// Floor servers built on other C-cores, from `YES_BENCH_FLOORS`
/// (`LABEL=PATH,...`; each binary prints "floor listening on ADDR").
fn extra_floors() -> &'static [(String, PathBuf)] {
    static FLOORS: std::sync::OnceLock<Vec<(String, PathBuf)>> = std::sync::OnceLock::new();
    FLOORS.get_or_init(|| labelled_paths("YES_BENCH_FLOORS", "floor-"))
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Client {
    Rust,
    Java,
    /// The `i`-th of [`stack_clients`]: an interop matrix client's load.
    Stack(usize),
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Rust => "rust-grpcio",
            Client::Java => "grpc-java",
            Client::Stack(i) => &stack_clients()[i].0,
        }
    }
}

/// The interop matrix's clients (`interop/<stack>/`), from
/// `YES_BENCH_STACKS` (`NAME=RUN,...`, set by `scripts/bench-compare.sh
/// --stacks`); each reads one stream with `RUN load ADDR BYTES SECONDS`.
fn stack_clients() -> &'static [(String, PathBuf)] {
    static STACKS: std::sync::OnceLock<Vec<(String, PathBuf)>> = std::sync::OnceLock::new();
    STACKS.get_or_init(|| labelled_paths("YES_BENCH_STACKS", ""))
}

/// Every load client: the Rust and Java ones, then the matrix's.
fn clients() -> Vec<Client> {
    let mut clients = vec![Client::Rust, Client::Java];
    clients.extend((0..stack_clients().len()).map(Client::Stack));
    clients
}

struct Setup {
    java_classpath: String,
    out: PathBuf,
}

struct Running {
    child: Child,
    addr: String,
    started: Instant,
}

impl Running {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether servers run on CPU 0 and load clients on CPU 1 (`--pinning`'s
/// second half): the per-core figure, free of the two competing for both.
static PINNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A command for `program`, on `cpu` alone when pinning.
fn command_on(program: impl AsRef<std::ffi::OsStr>, cpu: &str) -> Command {
    if PINNED.load(Ordering::Relaxed) {
        let mut c = Command::new("taskset");
        c.args(["-c", cpu]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn start(setup: &Setup, server: Server) -> Running {
    let mut command = match server {
        Server::Yes | Server::YesFused => {
            let mut c = command_on(env!("CARGO_BIN_EXE_yes-server"), "0");
            c.args(["--listen", "127.0.0.1:0", "--log-level", "warn"]);
            if server == Server::YesFused {
                // Only this server: the load clients run on C-core's defaults.
                c.env("GRPC_EXPERIMENTS", "fuse_filters");
            }
            c
        }
        Server::Java => {
            let mut c = command_on("java", "0");
            c.args([
                "-cp",
                &setup.java_classpath,
                "yes.reference.YesReferenceServer",
                "0",
            ]);
            c
        }
        Server::Floor | Server::Extra(_) => {
            // Another build of this harness (or the 1.46 floor, which
            // ignores the role) plays the floor as this one does.
            let exe = match server {
                Server::Extra(i) => extra_floors()[i].1.clone(),
                _ => std::env::current_exe().unwrap(),
            };
            let mut c = command_on(exe, "0");
            c.env("YES_BENCH_ROLE", "floor");
            c
        }
    };
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|a| a.contains(':'))
        .unwrap_or_else(|| panic!("{}: unexpected first line {line:?}", server.name()))
        .to_owned();
    Running {
        child,
        addr,
        started,
    }
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks: f64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    ticks / 100.0 // USER_HZ is 100 on Linux
}

fn rss_kib(pid: u32) -> u64 {
    yes_grpc::memory::resident_kib(pid).unwrap_or(0)
}

/// What a load client reported.
#[derive(Default, Clone, Copy)]
struct Load {
    msgs: u64,
    bytes: u64,
    seconds: f64,
    total: u64,
}

fn parse_load(output: &str) -> Load {
    let mut load = Load::default();
    for field in output.split_whitespace() {
        match field.split_once('=') {
            Some(("msgs", v)) => load.msgs = v.parse().unwrap(),
            Some(("bytes", v)) => load.bytes = v.parse().unwrap(),
            Some(("seconds", v)) => load.seconds = v.parse().unwrap(),
            Some(("total", v)) => load.total = v.parse().unwrap(),
            _ => {}
        }
    }
    if load.total == 0 {
        load.total = load.msgs;
    }
    load
}

fn client_command(setup: &Setup, client: Client, args: &[String]) -> Command {
    match client {
        Client::Rust => {
            let mut c = command_on(std::env::current_exe().unwrap(), "1");
            c.env("YES_BENCH_ROLE", "client").args(args);
            c
        }
        Client::Java => {
            let mut c = command_on("java", "1");
            c.args(["-cp", &setup.java_classpath, "yes.interop.YesLoad"])
                .args(args);
            c
        }
        Client::Stack(i) => {
            // ADDR METHOD BYTES SECONDS STREAMS: the matrix clients read one
            // YesWithFc stream.
            assert!(args[1] == "yes-with-fc" && args[4] == "1" && args.len() == 5);
            let mut c = command_on(&stack_clients()[i].1, "1");
            c.arg("load").args([&args[0], &args[2], &args[3]]);
            c
        }
    }
}

/// Runs one load client to its end against `server`; returns its figures
/// and the server's CPU seconds meanwhile.
fn drive(
    setup: &Setup,
    server: &Running,
    client: Client,
    size: usize,
    seconds: f64,
    streams: usize,
) -> (Load, f64) {
    let args = [
        server.addr.clone(),
        "yes-with-fc".into(),
        size.to_string(),
        seconds.to_string(),
        streams.to_string(),
    ];
    let cpu_before = cpu_seconds(server.pid());
    let output = client_command(setup, client, &args).output().unwrap();
    let cpu = cpu_seconds(server.pid()) - cpu_before;
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{} client failed: {text}",
        client.name()
    );
    (parse_load(&text), cpu)
}

#[derive(Clone)]
struct Row {
    figure: String,
    server: Server,
    client: String,
    value: f64,
    unit: &'static str,
}

fn median_min_max(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

fn harness() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (reps, seconds, slow_seconds) = if quick { (1, 2.0, 15) } else { (3, 5.0, 60) };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from);
    let out = target.join("bench-compare");
    std::fs::create_dir_all(&out).unwrap();
    let java_out = out.join("java");
    let built = Command::new("bash")
        .arg(root.join("interop/java/build.sh"))
        .arg(&java_out)
        .status()
        .unwrap();
    assert!(
        built.success(),
        "interop/java/build.sh failed (interop/java/setup-debian.sh?)"
    );
    let setup = Setup {
        java_classpath: std::fs::read_to_string(java_out.join("classpath"))
            .unwrap()
            .trim()
            .to_owned(),
        out,
    };
    if std::env::args().any(|a| a == "--ccores") {
        return compare_ccores(&setup, reps, seconds);
    }
    if std::env::args().any(|a| a == "--pinning") {
        return compare_pinning(&setup, reps, seconds);
    }
    if std::env::args().any(|a| a == "--stacks") {
        let servers = [Server::Yes, Server::Java];
        let rows = one_stream_of(&setup, reps, seconds, &servers, &[0, 1024], 5.0);
        return print_table(&setup, &rows, &servers, "stacks.csv");
    }
    let mut rows: Vec<Row> = Vec::new();
    eprintln!("compare: {reps} repetition(s), {seconds} s per measurement");

    // 1 + 2: one stream, by message size and client: msgs/s, MB/s, CPU.
    rows.extend(one_stream(
        &setup,
        reps,
        seconds,
        &[Server::Yes, Server::Java, Server::Floor],
    ));

    // 3: concurrent streams, aggregate msgs/s.
    for streams in [8usize, 64] {
        for rep in 0..reps {
            for server in [Server::Yes, Server::Java, Server::Floor] {
                let running = start(&setup, server);
                let (load, _) = drive(&setup, &running, Client::Rust, 0, seconds, streams);
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
            let running = start(&setup, server);
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
        let running = start(&setup, server);
        let (idle, mut load) = idle_then_paced_load(&setup, &running, slow_seconds, 100, 10);
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
        let running = start(&setup, server);
        let (idle, mut load) = idle_then_paced_load(&setup, &running, 5, 1000, 1);
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
fn one_stream(setup: &Setup, reps: usize, seconds: f64, servers: &[Server]) -> Vec<Row> {
    one_stream_of(setup, reps, seconds, servers, &[0, 1024, 64 * 1024], 0.0)
}

/// One stream of each size in `sizes`, read by each client; each server
/// first streams `warm_up` seconds unmeasured (the JVM's JIT needs it).
fn one_stream_of(
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
fn size_label(size: usize) -> String {
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
fn compare_ccores(setup: &Setup, reps: usize, seconds: f64) {
    let servers = servers_and_floors();
    let rows = one_stream(setup, reps, seconds, &servers);
    print_table(setup, &rows, &servers, "ccores.csv");
}

/// yes-server, the Java reference, this build's floor and the floors in
/// `YES_BENCH_FLOORS`.
fn servers_and_floors() -> Vec<Server> {
    let mut servers = vec![Server::Yes, Server::Java, Server::Floor];
    if std::env::args().any(|a| a == "--fuse-filters") {
        servers.insert(1, Server::YesFused);
    }
    servers.extend((0..extra_floors().len()).map(Server::Extra));
    servers
}

/// `--pinning`: one stream of `"yes"` and of 1 KiB from yes-server, the
/// Java reference and the floors, each server warmed up for 5 s first,
/// measured as the other benchmarks are (client and server share both
/// cores) and then with the server on CPU 0 and the client on CPU 1.
fn compare_pinning(setup: &Setup, reps: usize, seconds: f64) {
    let servers = servers_and_floors();
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

/// Prints msgs/s and CPU per million messages (median, min–max, ratio to
/// the Java reference) per figure and client, and writes them to `csv_name`.
fn print_table(setup: &Setup, rows: &[Row], servers: &[Server], csv_name: &str) {
    let mut csv = String::from("figure,client,server,unit,median,min,max,ratio_to_java\n");
    for (unit, digits) in [("msgs/s", 0), ("CPU s/M msgs", 2)] {
        let mut figures: BTreeMap<(&str, &str), BTreeMap<Server, Vec<f64>>> = BTreeMap::new();
        for row in rows.iter().filter(|r| r.unit == unit) {
            let cell = figures.entry((&row.figure, &row.client)).or_default();
            cell.entry(row.server).or_default().push(row.value);
        }
        print!("{:<18} {:<12} {:<13}", "figure", "client", "unit");
        for server in servers {
            print!(" {:>30}", server.name());
        }
        println!();
        for ((figure, client), mut by_server) in figures {
            let java = median_min_max(by_server.get_mut(&Server::Java).unwrap()).0;
            print!("{figure:<18} {client:<12} {unit:<13}");
            for server in servers {
                let (median, min, max) = median_min_max(by_server.get_mut(server).unwrap());
                let ratio = median / java;
                print!(
                    " {:>30}",
                    format!("{median:.digits$} ({min:.digits$}–{max:.digits$}) {ratio:.2}x")
                );
                csv.push_str(&format!(
                    "{figure:?},{client},{},{unit},{median},{min},{max},{ratio}\n",
                    server.name()
                ));
            }
            println!();
        }
        println!();
    }
    std::fs::write(setup.out.join(csv_name), csv).unwrap();
    eprintln!("compare: wrote {}", setup.out.join(csv_name).display());
}

/// Lets `server` settle and reads its idle RSS (KiB), then starts the Rust
/// client with `streams` `"yes"` streams, each reading `per_second` replies a
/// second, for `seconds`.
fn idle_then_paced_load(
    setup: &Setup,
    server: &Running,
    seconds: u64,
    streams: usize,
    per_second: u64,
) -> (u64, Child) {
    std::thread::sleep(Duration::from_millis(500));
    let idle = rss_kib(server.pid());
    let args = [
        server.addr.clone(),
        "yes-with-fc".into(),
        "0".into(),
        seconds.to_string(),
        streams.to_string(),
        per_second.to_string(),
    ];
    let load = client_command(setup, Client::Rust, &args)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    (idle, load)
}

fn window_mean(series: &[u64], first: bool) -> f64 {
    let n = series.len().min(10);
    let window = if first {
        &series[..n]
    } else {
        &series[series.len() - n..]
    };
    window.iter().sum::<u64>() as f64 / n as f64
}

/// Prints the table (median, min–max, ratio to the Java reference) and writes
/// CSV and JSON.
fn report(out: &Path, rows: &[Row]) {
    let mut groups: BTreeMap<(String, String, &'static str), BTreeMap<Server, Vec<f64>>> =
        BTreeMap::new();
    for row in rows {
        groups
            .entry((row.figure.clone(), row.client.clone(), row.unit))
            .or_default()
            .entry(row.server)
            .or_default()
            .push(row.value);
    }
    let mut csv = String::from("figure,client,unit,server,median,min,max,ratio_to_java\n");
    let mut json = Vec::new();
    println!(
        "{:<36} {:<12} {:<13} {:>26} {:>26} {:>14} {:>9}",
        "figure",
        "client",
        "unit",
        "yes-server (min–max)",
        "java-reference (min–max)",
        "floor",
        "yes/java"
    );
    for ((figure, client, unit), by_server) in &mut groups {
        let mut medians = BTreeMap::new();
        let mut cells = BTreeMap::new();
        for (server, values) in by_server.iter_mut() {
            let (median, min, max) = median_min_max(values);
            medians.insert(*server, median);
            cells.insert(*server, format!("{median:.1} ({min:.1}–{max:.1})"));
            csv.push_str(&format!(
                "{figure:?},{client},{unit},{},{median},{min},{max},",
                server.name()
            ));
            let ratio = medians.get(&Server::Java).map(|java| median / java);
            csv.push_str(&ratio.map_or(String::new(), |r| format!("{r}")));
            csv.push('\n');
            json.push(format!(
                "{{\"figure\":{figure:?},\"client\":{client:?},\"unit\":{unit:?},\"server\":{:?},\"median\":{median},\"min\":{min},\"max\":{max}}}",
                server.name()
            ));
        }
        let ratio = match (medians.get(&Server::Yes), medians.get(&Server::Java)) {
            (Some(yes), Some(java)) if *java > 0.0 => format!("{:.2}x", yes / java),
            _ => "-".into(),
        };
        let cell = |s: Server| cells.get(&s).cloned().unwrap_or_else(|| "-".into());
        println!(
            "{figure:<36} {client:<12} {unit:<13} {:>26} {:>26} {:>14} {ratio:>9}",
            cell(Server::Yes),
            cell(Server::Java),
            medians
                .get(&Server::Floor)
                .map_or("-".into(), |f| format!("{f:.1}")),
        );
    }
    std::fs::write(out.join("results.csv"), csv).unwrap();
    std::fs::write(
        out.join("results.json"),
        format!("[\n{}\n]\n", json.join(",\n")),
    )
    .unwrap();
}

fn plot_rss(path: &Path, series: &BTreeMap<Server, Vec<u64>>) {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (800, 400)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let max = series.values().flatten().copied().max().unwrap_or(1) as f64 / 1024.0;
    let len = series.values().map(Vec::len).max().unwrap_or(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Server RSS under 100 slow readers (10 msgs/s each)",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0..len, 0.0..max * 1.1)
        .unwrap();
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("RSS (MiB)")
        .draw()
        .unwrap();
    for (server, color) in [(Server::Yes, &BLUE), (Server::Java, &RED)] {
        if let Some(values) = series.get(&server) {
            chart
                .draw_series(LineSeries::new(
                    values
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (i, *v as f64 / 1024.0)),
                    color,
                ))
                .unwrap()
                .label(server.name())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()
        .unwrap();
    root.present().unwrap();
}

fn plot_rates(path: &Path, rows: &[Row]) {
    use plotters::prelude::*;
    let sizes = ["\"yes\"", "1024 B", "65536 B"];
    let median = |server: Server, size: &str| {
        let mut values: Vec<f64> = rows
            .iter()
            .filter(|r| {
                r.server == server
                    && r.unit == "msgs/s"
                    && r.client == Client::Rust.name()
                    && r.figure == format!("1 stream, {size}")
            })
            .map(|r| r.value)
            .collect();
        if values.is_empty() {
            0.0
        } else {
            median_min_max(&mut values).0
        }
    };
    let max = sizes
        .iter()
        .flat_map(|s| [median(Server::Yes, s), median(Server::Java, s)])
        .fold(1.0, f64::max);
    let root = SVGBackend::new(path, (800, 400)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "One YesWithFc stream, grpcio client: msgs/s by reply size",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..(sizes.len() as f64), 0.0..max * 1.15)
        .unwrap();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(sizes.len())
        .x_label_formatter(&|x| {
            sizes
                .get(x.floor() as usize)
                .map_or(String::new(), |s| s.to_string())
        })
        .y_desc("msgs/s")
        .draw()
        .unwrap();
    for (offset, server, color) in [(0.15, Server::Yes, BLUE), (0.5, Server::Java, RED)] {
        chart
            .draw_series(sizes.iter().enumerate().map(|(i, size)| {
                let x = i as f64 + offset;
                Rectangle::new([(x, 0.0), (x + 0.3, median(server, size))], color.filled())
            }))
            .unwrap()
            .label(server.name())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 15, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()
        .unwrap();
    root.present().unwrap();
}
