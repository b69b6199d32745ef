//! Server memory under slow readers: starts the real `yes-server`, opens
//! `READERS` YesWithFc streams that each read 10 messages a second, and
//! prints the server's RSS once a second and the streams' end-of-stream log.
//!
//! `cargo bench --bench slow_readers [-- SECONDS [READERS [MESSAGE_BYTES]] [SERVER FLAGS]]`
//! (defaults: 60 s, 10 readers, "yes"). Flags from the first one starting
//! with `--` go to the server, e.g. `-- 12 100 0 --http2-write-buffer 16KiB`,
//! to weigh a setting's memory; `YES_SERVER=PATH` measures another build.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures::StreamExt;
use grpcio::{ChannelBuilder, EnvBuilder};

use yes_grpc::proto::yes::YesRequest;
use yes_grpc::proto::yes_grpc::SayYesClient;

#[path = "../tests/common/listening.rs"]
mod listening;
use listening::spawn_listening;

fn rss_kib(pid: u32) -> u64 {
    yes_grpc::memory::resident_kib(pid).unwrap_or(0)
}

fn main() {
    let all: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let split = all.iter().position(|a| a.starts_with("--"));
    let (numbers, server_flags) = all.split_at(split.unwrap_or(all.len()));
    let args: Vec<u64> = numbers.iter().filter_map(|a| a.parse().ok()).collect();
    let seconds = args.first().copied().unwrap_or(60);
    let readers = args.get(1).copied().unwrap_or(10);
    let size = args.get(2).copied().unwrap_or(0) as usize;

    let binary = std::env::var("YES_SERVER").unwrap_or(env!("CARGO_BIN_EXE_yes-server").into());
    let (mut server, addr) = spawn_listening(
        Command::new(binary)
            .args(["--listen", "127.0.0.1:0"])
            .args(server_flags)
            .stderr(Stdio::piped()),
    );
    let pid = server.id();
    let idle_rss = rss_kib(pid);

    let env = Arc::new(EnvBuilder::new().cq_count(1).build());
    let client = SayYesClient::new(ChannelBuilder::new(env).connect(&addr));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for _ in 0..readers {
        let client = client.clone();
        let stop = stop.clone();
        threads.push(std::thread::spawn(move || {
            let mut request = YesRequest::new();
            request.set_message("y".repeat(size));
            let mut stream = client.yes_with_fc(&request).unwrap();
            let mut read = 0u64;
            while !stop.load(Ordering::Relaxed) {
                block_on(stream.next()).unwrap().unwrap();
                read += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            stream.cancel();
            read
        }));
    }

    println!(
        "{readers} slow readers (10 msgs/s each), reply of {size} bytes (0 = \"yes\"), \
         server flags {server_flags:?}"
    );
    println!("server RSS idle: {} KiB", idle_rss);
    let started = Instant::now();
    let mut samples = Vec::new();
    for second in 1..=seconds {
        let next = started + Duration::from_secs(second);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        let rss = rss_kib(pid);
        samples.push(rss);
        if second % 10 == 0 || second <= 3 {
            println!("t={second:>4}s  server RSS {rss} KiB");
        }
    }
    stop.store(true, Ordering::Relaxed);
    let read: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let window = samples.len().min(10);
    let first: u64 = samples[..window].iter().sum::<u64>() / window as u64;
    let last: u64 = samples[samples.len() - window..].iter().sum::<u64>() / window as u64;
    println!("messages read by the clients: {read}");
    println!("server RSS mean of first {window} s: {first} KiB, of last {window} s: {last} KiB");

    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let stderr = BufReader::new(server.stderr.take().unwrap());
    let ended: Vec<String> = stderr
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.contains("ended:"))
        .collect();
    server.wait().unwrap();
    let max_held = ended
        .iter()
        .filter_map(|l| l.rsplit("max_held=").next()?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    println!(
        "streams logged as ended: {}; largest max_held of any stream: {max_held} bytes",
        ended.len()
    );
}
