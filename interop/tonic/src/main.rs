//! The interop matrix's cases (interop/CASES.md) from tonic.
//!
//! Usage: yes-interop-tonic CASE HOST:PORT   (YES_TLS_CA=ca.pem for `tls`)
//!        yes-interop-tonic cases            (lists the cases it knows)
//!        yes-interop-tonic load HOST:PORT BYTES SECONDS   (the benchmark's
//!        load: one YesWithFc stream of BYTES-byte replies read as fast as it
//!        comes; after a second's warm-up prints msgs=N bytes=B seconds=S total=T)

use std::time::{Duration, Instant};

use tokio_stream::StreamExt;
use tonic::codec::{CompressionEncoding, Streaming};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1alpha::ServerReflectionRequest;

mod yes {
    tonic::include_proto!("yes");
}
use yes::say_yes_client::SayYesClient;
use yes::{YesReply, YesRequest};

type Client = SayYesClient<Channel>;
type Outcome = Result<String, String>;

fn request(message: &str) -> Request<YesRequest> {
    Request::new(YesRequest {
        message: message.to_owned(),
    })
}

async fn yes(client: &mut Client, message: &str) -> Result<Streaming<YesReply>, String> {
    let response = client.yes_with_fc(request(message)).await;
    Ok(response
        .map_err(|s| format!("YesWithFc: {s}"))?
        .into_inner())
}

/// Reads `n` replies, each of which must be `want`.
async fn read(stream: &mut Streaming<YesReply>, n: usize, want: &str) -> Result<(), String> {
    for i in 0..n {
        match stream.message().await {
            Ok(Some(reply)) if reply.message == want => {}
            Ok(Some(reply)) => return Err(format!("reply {i}: {} bytes", reply.message.len())),
            Ok(None) => return Err(format!("the stream ended after {i} replies")),
            Err(status) => return Err(format!("reply {i}: {status}")),
        }
    }
    Ok(())
}

/// Reads until the stream fails with `code`; the replies read before.
async fn expect_code(
    stream: &mut Streaming<YesReply>,
    code: Code,
) -> Result<(u64, String), String> {
    let mut count = 0;
    loop {
        match stream.message().await {
            Ok(Some(_)) => count += 1,
            Ok(None) => return Err(format!("no status after {count} replies")),
            Err(status) if status.code() == code => return Ok((count, status.message().into())),
            Err(status) => return Err(format!("{status} instead of {code:?}")),
        }
    }
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

async fn run(case: &str, channel: Channel) -> Outcome {
    let mut client = SayYesClient::new(channel.clone()).max_decoding_message_size(8 << 20);
    match case {
        "default-reply" | "tls" => {
            read(&mut yes(&mut client, "").await?, 3, "yes").await?;
            Ok("3 replies of 'yes'".into())
        }
        "echo" => {
            for text in ["hello interop", "はい — да — 👍", &"a".repeat(1 << 20)] {
                read(&mut yes(&mut client, text).await?, 2, text).await?;
            }
            Ok("custom, UTF-8 and 1 MiB messages echoed intact".into())
        }
        "cancel-then-new-call" => {
            let mut first = yes(&mut client, "first").await?;
            read(&mut first, 10, "first").await?;
            drop(first); // tonic cancels a call by dropping it
            read(&mut yes(&mut client, "again").await?, 3, "again").await?;
            Ok("10 replies, cancelled (dropped), then a new call on the same channel".into())
        }
        "deadline" => {
            let started = Instant::now();
            let mut call = request("");
            call.set_timeout(Duration::from_millis(300));
            let response = client.yes_with_fc(call).await;
            let mut stream = response.map_err(|s| s.to_string())?.into_inner();
            let (count, _) = expect_code(&mut stream, Code::DeadlineExceeded).await?;
            let took = started.elapsed();
            check(
                count > 0 && took >= Duration::from_millis(250) && took <= Duration::from_secs(5),
                || format!("{count} replies in {took:?}"),
            )?;
            Ok(format!(
                "DEADLINE_EXCEEDED after {} ms and {count} replies",
                took.as_millis()
            ))
        }
        "unimplemented" => {
            let mut grpc = tonic::client::Grpc::new(channel);
            grpc.ready().await.map_err(|e| e.to_string())?;
            let path =
                tonic::codegen::http::uri::PathAndQuery::from_static("/yes.SayYes/NoSuchMethod");
            let codec = tonic_prost::ProstCodec::<YesRequest, YesReply>::default();
            let result = grpc.server_streaming(request(""), path, codec).await;
            let code = match result {
                Err(status) => status.code(),
                Ok(response) => match response.into_inner().message().await {
                    Err(status) => status.code(),
                    Ok(_) => Code::Ok,
                },
            };
            check(code == Code::Unimplemented, || format!("{code:?}"))?;
            Ok("UNIMPLEMENTED".into())
        }
        "slow-reader" => {
            let mut stream = yes(&mut client, "slow").await?;
            let until = Instant::now() + Duration::from_secs(3);
            let mut count = 0;
            while Instant::now() < until {
                read(&mut stream, 1, "slow").await?;
                count += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Ok(format!("{count} replies read at 100 a second, all right"))
        }
        "concurrent" => {
            let calls = (0..20).map(|i| {
                let mut client = client.clone();
                tokio::spawn(async move {
                    let text = format!("c{i}");
                    read(&mut yes(&mut client, &text).await?, 100, &text).await
                })
            });
            for call in calls.collect::<Vec<_>>() {
                call.await.map_err(|e| e.to_string())??;
            }
            Ok("20 streams on one channel, 100 replies each".into())
        }
        "gzip" => {
            let mut gzip = client.send_compressed(CompressionEncoding::Gzip);
            read(&mut yes(&mut gzip, "gzip").await?, 3, "gzip").await?;
            Ok("gzip request, 3 replies".into())
        }
        "naive-echo" => {
            let response = client.yes(request("naive")).await;
            let mut stream = response.map_err(|s| s.to_string())?.into_inner();
            read(&mut stream, 3, "naive").await?;
            Ok("Yes echoed 3 replies".into())
        }
        "health" => {
            let mut health = HealthClient::new(channel);
            for service in ["", "yes.SayYes"] {
                let check_request = HealthCheckRequest {
                    service: service.into(),
                };
                let reply = health
                    .check(check_request)
                    .await
                    .map_err(|s| s.to_string())?;
                let status = reply.into_inner().status();
                check(status == ServingStatus::Serving, || {
                    format!("Check({service:?}) = {status:?}")
                })?;
            }
            let watch_request = HealthCheckRequest {
                service: "yes.SayYes".into(),
            };
            let watch = health
                .watch(watch_request)
                .await
                .map_err(|s| s.to_string())?;
            let mut updates = watch.into_inner();
            let mut seen = Vec::new();
            while let Some(update) = updates.next().await {
                let status = update
                    .map_err(|s| format!("Watch after {seen:?}: {s}"))?
                    .status();
                seen.push(status);
                if seen.len() == 1 {
                    check(status == ServingStatus::Serving, || {
                        format!("began with {seen:?}")
                    })?;
                    println!("streaming");
                } else if status == ServingStatus::NotServing {
                    return Ok(
                        "Check SERVING twice; Watch SERVING, then NOT_SERVING on shutdown".into(),
                    );
                }
            }
            Err(format!("Watch ended after {seen:?}"))
        }
        "reflection" => {
            let mut reflect = ServerReflectionClient::new(channel);
            let ask = ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            };
            let response = reflect
                .server_reflection_info(tokio_stream::iter([ask]))
                .await
                .map_err(|s| s.to_string())?;
            let first = response.into_inner().next().await;
            let Some(Ok(reply)) = first else {
                return Err(format!("no reply: {first:?}"));
            };
            let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
                return Err("not a service list".into());
            };
            let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
            names.sort();
            check(
                names.iter().any(|n| n == "yes.SayYes")
                    && names.iter().any(|n| n == "grpc.health.v1.Health"),
                || format!("listed {names:?}"),
            )?;
            Ok(format!("listed {}", names.join(", ")))
        }
        "sigterm" => {
            let mut stream = yes(&mut client, "until shutdown").await?;
            read(&mut stream, 10, "until shutdown").await?;
            println!("streaming");
            let (count, message) = expect_code(&mut stream, Code::Unavailable).await?;
            Ok(format!(
                "UNAVAILABLE ({message}) after {count} more replies"
            ))
        }
        _ => unreachable!(),
    }
}

const CASES: &[&str] = &[
    "default-reply",
    "echo",
    "cancel-then-new-call",
    "deadline",
    "unimplemented",
    "slow-reader",
    "concurrent",
    "gzip",
    "naive-echo",
    "health",
    "reflection",
    "tls",
    "sigterm",
];

async fn connect(case: &str, target: &str) -> Result<Channel, String> {
    let endpoint = if case == "tls" {
        let path = std::env::var("YES_TLS_CA").map_err(|_| "YES_TLS_CA is not set".to_string())?;
        let pem = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(pem))
            .domain_name("localhost");
        Endpoint::from_shared(format!("https://{target}"))
            .and_then(|e| e.tls_config(tls))
            .map_err(|e| e.to_string())?
    } else {
        Endpoint::from_shared(format!("http://{target}")).map_err(|e| e.to_string())?
    };
    endpoint
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))
}

/// The benchmark's load (see the usage above).
async fn load(target: &str, size: usize, seconds: f64) {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::sync::Arc;
    let channel = connect("load", target).await.expect("connects");
    let mut client = SayYesClient::new(channel).max_decoding_message_size(8 << 20);
    let mut stream = yes(&mut client, &"y".repeat(size)).await.expect("calls");
    let counts = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let reading = counts.clone();
    tokio::spawn(async move {
        while let Ok(Some(reply)) = stream.message().await {
            reading.0.fetch_add(1, Relaxed);
            reading.1.fetch_add(reply.message.len() as u64, Relaxed);
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (m0, b0, started) = (
        counts.0.load(Relaxed),
        counts.1.load(Relaxed),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let (m, b) = (counts.0.load(Relaxed), counts.1.load(Relaxed));
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "msgs={} bytes={} seconds={elapsed:.3} total={m}",
        m - m0,
        b - b0
    );
    std::process::exit(0);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 2 && args[1] == "cases" {
        CASES.iter().for_each(|case| println!("{case}"));
        return;
    }
    let (case, target) = (args[1].as_str(), args[2].as_str());
    if case == "load" {
        return load(target, args[3].parse().unwrap(), args[4].parse().unwrap()).await;
    }
    if !CASES.contains(&case) {
        println!("N/A {case}: no such case in this client");
        return;
    }
    let outcome = tokio::time::timeout(Duration::from_secs(30), async {
        run(case, connect(case, target).await?).await
    })
    .await
    .unwrap_or_else(|_| Err("no verdict within 30 s".into()));
    match outcome {
        Ok(detail) => println!("PASS {case}: {detail}"),
        Err(why) => {
            println!("FAIL {case}: {why}");
            std::process::exit(1);
        }
    }
}
