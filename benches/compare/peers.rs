//! Who runs: the servers measured (yes-server, the Java reference, the
//! floors) and the load clients that read them, each a process of its own
//! so that CPU can be read per process from /proc.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::listening::spawn_listening;
use crate::Setup;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Server {
    Yes,
    /// yes-server with C-core's `fuse_filters` experiment on (`--fuse-filters`).
    YesFused,
    Java,
    Floor,
    /// The floor clearing the buffer hint as often as yes-server does with
    /// [`CAPPED_STREAMS`] streams open (`buffered_replies_cap`): what the
    /// cap costs.
    FloorCapped,
    /// The `i`-th of [`extra_floors`]: the floor built on another C-core.
    Extra(usize),
}

impl Server {
    pub fn name(self) -> &'static str {
        match self {
            Server::Yes => "yes-server",
            Server::YesFused => "yes-server+fuse_filters",
            Server::Java => "java-reference",
            Server::Floor => "grpcio-floor",
            Server::FloorCapped => "grpcio-floor+cap",
            Server::Extra(i) => &extra_floors()[i].0,
        }
    }
}

/// The `LABEL=PATH,...` entries of the environment variable `var`, each
/// label given `prefix`.
pub fn labelled_paths(var: &str, prefix: &str) -> Vec<(String, PathBuf)> {
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
pub fn extra_floors() -> &'static [(String, PathBuf)] {
    static FLOORS: std::sync::OnceLock<Vec<(String, PathBuf)>> = std::sync::OnceLock::new();
    FLOORS.get_or_init(|| labelled_paths("YES_BENCH_FLOORS", "floor-"))
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Client {
    Rust,
    Java,
    /// The `i`-th of [`stack_clients`]: an interop matrix client's load.
    Stack(usize),
}

impl Client {
    pub fn name(self) -> &'static str {
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
pub fn stack_clients() -> &'static [(String, PathBuf)] {
    static STACKS: std::sync::OnceLock<Vec<(String, PathBuf)>> = std::sync::OnceLock::new();
    STACKS.get_or_init(|| labelled_paths("YES_BENCH_STACKS", ""))
}

/// Every load client: the Rust and Java ones, then the matrix's.
pub fn clients() -> Vec<Client> {
    let mut clients = vec![Client::Rust, Client::Java];
    clients.extend((0..stack_clients().len()).map(Client::Stack));
    clients
}

pub struct Running {
    pub child: Child,
    pub addr: String,
    pub started: Instant,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many open streams `grpcio-floor+cap` takes yes-server's cap for
/// (1 unless `--floor-ab --concurrent N` says otherwise).
pub static CAPPED_STREAMS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

/// Whether servers run on CPU 0 and load clients on CPU 1 (`--pinning`'s
/// second half): the per-core figure, free of the two competing for both.
pub static PINNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A command for `program`, on `cpu` alone when pinning.
pub fn command_on(program: impl AsRef<std::ffi::OsStr>, cpu: &str) -> Command {
    if PINNED.load(Ordering::Relaxed) {
        let mut c = Command::new("taskset");
        c.args(["-c", cpu]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Starts `server` on a free 127.0.0.1 port; its log is dropped.
pub fn start(setup: &Setup, server: Server) -> Running {
    let mut command = server_command(setup, server, "127.0.0.1", "warn");
    start_command(command.stderr(Stdio::null()))
}

/// The command that runs `server` on a free port of `host` (yes-server and
/// the Java reference; the floors listen on 127.0.0.1 only); yes-server
/// logs at `log_level` (at info, each stream's end line says what it held).
pub fn server_command(setup: &Setup, server: Server, host: &str, log_level: &str) -> Command {
    match server {
        Server::Yes | Server::YesFused => {
            let mut c = command_on(env!("CARGO_BIN_EXE_yes-server"), "0");
            c.args(["--listen", &format!("{host}:0"), "--log-level", log_level]);
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
                host,
            ]);
            c
        }
        Server::Floor | Server::FloorCapped | Server::Extra(_) => {
            // Another build of this harness (or the 1.46 floor, which
            // ignores the role) plays the floor as this one does.
            let exe = match server {
                Server::Extra(i) => extra_floors()[i].1.clone(),
                _ => std::env::current_exe().unwrap(),
            };
            let mut c = command_on(exe, "0");
            c.env("YES_BENCH_ROLE", "floor");
            if server == Server::FloorCapped {
                let streams = CAPPED_STREAMS.load(Ordering::Relaxed);
                let cap = yes_grpc::stream::buffered_replies_cap(streams);
                c.env("YES_BENCH_FLOOR_CAP", cap.to_string());
            }
            c
        }
    }
}

/// Starts a server `command` and reads the address it listens on.
pub fn start_command(command: &mut Command) -> Running {
    let started = Instant::now();
    let (child, addr) = spawn_listening(command);
    Running {
        child,
        addr,
        started,
    }
}

/// CPU seconds (user + system) a process has used, from /proc.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks: f64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    ticks / 100.0 // USER_HZ is 100 on Linux
}

pub fn rss_kib(pid: u32) -> u64 {
    yes_grpc::memory::resident_kib(pid).unwrap_or(0)
}

/// What a load client reported.
#[derive(Default, Clone, Copy)]
pub struct Load {
    pub msgs: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub total: u64,
}

pub fn parse_load(output: &str) -> Load {
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

pub fn client_command(setup: &Setup, client: Client, args: &[String]) -> Command {
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

/// A load client's arguments: `ADDR yes-with-fc BYTES SECONDS STREAMS`, then
/// `READS_PER_S CONNECTIONS` when either is not its default (0: as fast as
/// it can; 1), which only the Rust and grpc-java clients take.
pub fn load_args(
    server: &Running,
    size: usize,
    seconds: f64,
    streams: usize,
    paced: u64,
    connections: usize,
) -> Vec<String> {
    let mut args = vec![
        server.addr.clone(),
        "yes-with-fc".into(),
        size.to_string(),
        seconds.to_string(),
        streams.to_string(),
    ];
    if paced != 0 || connections != 1 {
        args.extend([paced.to_string(), connections.to_string()]);
    }
    args
}

/// Runs one load client to its end against `server`; returns its figures
/// and the server's CPU seconds meanwhile.
pub fn drive(
    setup: &Setup,
    server: &Running,
    client: Client,
    size: usize,
    seconds: f64,
    streams: usize,
) -> (Load, f64) {
    let args = load_args(server, size, seconds, streams, 0, 1);
    let (load, cpu, _) = run_load(setup, server, client, &args, None);
    (load, cpu)
}

/// Runs a load client with `args` to its end; returns its figures, the
/// server's CPU seconds meanwhile, and its RSS `rss_at` after the start.
pub fn run_load(
    setup: &Setup,
    server: &Running,
    client: Client,
    args: &[String],
    rss_at: Option<Duration>,
) -> (Load, f64, Option<u64>) {
    let command = client_command(setup, client, args);
    run_command(server, client.name(), command, rss_at)
}

/// Runs the load client `command` to its end; returns its figures, the
/// server's CPU seconds meanwhile, and its RSS `rss_at` after the start.
/// A client that prints `measuring` when its measurement begins (the Rust
/// and grpc-java ones) has the server's CPU read over its measurement only,
/// and its `total` set to the messages measured, so that CPU per message
/// leaves out connecting, warming up and filling the buffers.
pub fn run_command(
    server: &Running,
    name: &str,
    mut command: Command,
    rss_at: Option<Duration>,
) -> (Load, f64, Option<u64>) {
    let pid = server.pid();
    let mut cpu_before = cpu_seconds(pid);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The RSS and stderr on threads of their own, while stdout is read.
    let rss = rss_at.map(|at| {
        std::thread::spawn(move || {
            std::thread::sleep(at);
            rss_kib(pid)
        })
    });
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let (mut text, mut windowed) = (String::new(), false);
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        if line == "measuring" {
            cpu_before = cpu_seconds(pid);
            windowed = true;
        } else {
            text.push_str(&line);
            text.push('\n');
        }
    }
    let cpu = cpu_seconds(pid) - cpu_before;
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "{name} client failed: {text}{}",
        errors.join().unwrap_or_default()
    );
    let mut load = parse_load(&text);
    if windowed {
        load.total = load.msgs;
    }
    (load, cpu, rss.map(|r| r.join().unwrap()))
}

/// Lets `server` settle and reads its idle RSS (KiB), then starts the Rust
/// client with `streams` `"yes"` streams, each reading `per_second` replies a
/// second, for `seconds`.
pub fn idle_then_paced_load(
    setup: &Setup,
    server: &Running,
    seconds: u64,
    streams: usize,
    per_second: u64,
) -> (u64, Child) {
    std::thread::sleep(Duration::from_millis(500));
    let idle = rss_kib(server.pid());
    let args = load_args(server, 0, seconds as f64, streams, per_second, 1);
    let load = client_command(setup, Client::Rust, &args)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    (idle, load)
}
