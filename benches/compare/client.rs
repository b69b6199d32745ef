//! The Rust load client, the bench binary's `YES_BENCH_ROLE=client`.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use grpcio::{CallOption, ChannelBuilder, EnvBuilder};

use yes_grpc::proto::yes::YesRequest;
use yes_grpc::proto::yes_grpc::SayYesClient;

/// The Rust load client: `TARGET METHOD BYTES SECONDS STREAMS [READS_PER_S
/// [CONNECTIONS]]`, like the Java one (interop/java/src/yes/interop/YesLoad.java).
/// READS_PER_S 0 reads as fast as it can; the streams are spread over
/// CONNECTIONS connections (default 1) in turn. Prints
/// `measuring` when its measurement begins, then `msgs=N bytes=B seconds=S
/// total=T`, T counting the warm-up too: one second, or `YES_BENCH_WARM_UP`
/// seconds. `YES_BENCH_CLIENT_BDP=0` turns off C-core's BDP probing on its
/// channels, which is what grows a window past HTTP/2's initial 64 KiB.
pub fn load_client() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (target, method, size) = (&args[0], args[1].as_str(), args[2].parse().unwrap());
    let seconds: f64 = args[3].parse().unwrap();
    let streams: usize = args[4].parse().unwrap();
    let paced: u64 = args.get(5).map_or(0, |a| a.parse().unwrap());
    let connections: usize = args.get(6).map_or(1, |a| a.parse().unwrap());

    let env = Arc::new(EnvBuilder::new().cq_count(2).build());
    let bdp_probe = std::env::var("YES_BENCH_CLIENT_BDP").map_or(true, |v| v != "0");
    // A local subchannel pool each: channels to one target would otherwise
    // share C-core's one connection.
    let channels: Vec<SayYesClient> = (0..connections.max(1))
        .map(|_| {
            let channel = ChannelBuilder::new(env.clone())
                .use_local_subchannel_pool(true)
                .http2_bdp_probe(bdp_probe)
                .connect(target);
            SayYesClient::new(channel)
        })
        .collect();
    let mut request = YesRequest::new();
    request.set_message("y".repeat(size));
    let (messages, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut calls = Vec::new();
    for index in 0..streams {
        let client = &channels[index % channels.len()];
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
    let warm_up = std::env::var("YES_BENCH_WARM_UP").map_or(1.0, |s| s.parse().unwrap());
    std::thread::sleep(Duration::from_secs_f64(warm_up));
    let (m0, b0) = (
        messages.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed),
    );
    // The harness reads the server's CPU time from here to the last line.
    println!("measuring");
    std::io::stdout().flush().unwrap();
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
