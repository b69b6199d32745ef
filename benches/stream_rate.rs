//! Messages per second of one `YesWithFc` stream read by a grpcio client,
//! server and client in this process on loopback.
//!
//! `cargo bench --bench stream_rate [-- SECONDS]`

use std::time::{Duration, Instant};

use futures::StreamExt;
use grpcio::{ChannelBuilder, EnvBuilder};
use std::sync::Arc;

use yes_grpc::proto::yes::YesRequest;
use yes_grpc::proto::yes_grpc::SayYesClient;
use yes_grpc::{Config, YesServer};

fn main() {
    let seconds: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5.0);
    let server = YesServer::start(&Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    })
    .expect("server starts");
    let env = Arc::new(EnvBuilder::new().cq_count(1).build());
    let channel = ChannelBuilder::new(env).connect(&server.local_addr().to_string());
    let client = SayYesClient::new(channel);

    println!("{:>10} {:>12} {:>10}", "message", "msgs/s", "MB/s");
    for size in [0usize, 1024, 64 * 1024] {
        let mut request = YesRequest::new();
        request.set_message("y".repeat(size));
        let mut stream = client.yes_with_fc(&request).expect("call starts");
        // The client reads on its own completion-queue thread (as the server
        // writes on its), so each message costs no cross-thread wake.
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let limit = Duration::from_secs_f64(seconds);
        client.spawn(async move {
            for _ in 0..1000 {
                stream.next().await.unwrap().unwrap();
            }
            let started = Instant::now();
            let (mut count, mut bytes) = (0u64, 0u64);
            while started.elapsed() < limit {
                for _ in 0..1000 {
                    let reply = stream.next().await.unwrap().unwrap();
                    bytes += reply.message.len() as u64;
                    count += 1;
                }
            }
            stream.cancel();
            done_tx.send((started, count, bytes)).unwrap();
        });
        let (started, count, bytes) = done_rx.recv().unwrap();
        let secs = started.elapsed().as_secs_f64();
        let label = if size == 0 {
            "\"yes\"".to_string()
        } else {
            format!("{size} B")
        };
        println!(
            "{label:>10} {:>12.0} {:>10.1}",
            count as f64 / secs,
            bytes as f64 / secs / 1e6
        );
    }
    server.registry().wait_idle(Duration::from_secs(5));
}
