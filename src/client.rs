//! `yes-client`: GNU `yes` over gRPC, with backpressure from the terminal or
//! pipe all the way to the server.
//!
//! The reply stream is read on the client's completion-queue thread (no
//! cross-thread wake per message), and each reply becomes a line of the
//! [`Output`], which a thread of its own writes to stdout in
//! large blocks. When the reader of our stdout stops, the writer blocks, the
//! output fills, the reading side stops asking C-core for messages, the
//! call's HTTP/2 window closes, and the server's producer pauses.

pub mod health;
pub mod output;

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use futures::future::select;
use futures::StreamExt;
use grpcio::{
    CallOption, Channel, ChannelBuilder, ChannelCredentials, ChannelCredentialsBuilder,
    CompressionAlgorithms, EnvBuilder, LbPolicy, RpcStatus, RpcStatusCode,
};

use crate::codec::Method;
use crate::proto::yes::YesRequest;
use crate::proto::yes_grpc::SayYesClient;
use crate::tls;
use output::Output;

/// What to call and how to show it.
#[derive(Clone, Debug)]
pub struct Options {
    /// A C-core target: `host:port`, `dns:///name:port`, or several
    /// addresses (see [`channel_target`]).
    pub target: String,
    /// Which method to call.
    pub method: Method,
    /// The request's message (empty: the server's default, "yes").
    pub message: String,
    /// Stop after this many replies.
    pub count: Option<u64>,
    /// The call's deadline, from its start.
    pub deadline: Option<Duration>,
    /// Compress requests with gzip (and accept gzip replies).
    pub gzip: bool,
    /// Print rates to stderr once a second instead of the lines.
    pub stats: bool,
    /// Call over TLS instead of plaintext.
    pub tls: Option<ClientTls>,
}

/// How the client speaks TLS.
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    /// PEM CA certificates to trust; `None`: C-core's default roots.
    pub ca: Option<PathBuf>,
    /// PEM certificate chain and key to present (for mutual TLS).
    pub identity: Option<(PathBuf, PathBuf)>,
    /// The name to check the server's certificate against, instead of the
    /// target's host (e.g. when calling an IP address).
    pub server_name: Option<String>,
}

impl ClientTls {
    /// Reads the files into C-core channel credentials.
    pub fn credentials(&self) -> Result<ChannelCredentials, String> {
        let read =
            |path, flag, labels| tls::read_pem(path, flag, labels).map_err(|e| e.to_string());
        let mut builder = ChannelCredentialsBuilder::new();
        if let Some(ca) = &self.ca {
            builder = builder.root_cert(read(ca, "--tls-ca", tls::CERTIFICATE)?);
        }
        if let Some((cert, key)) = &self.identity {
            let cert = read(cert, "--tls-cert", tls::CERTIFICATE)?;
            builder = builder.cert(cert, read(key, "--tls-key", tls::PRIVATE_KEY)?);
        }
        Ok(builder.build())
    }
}

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    /// `--count` replies were written.
    Done,
    /// The reader of the output went away (EPIPE): like `yes`, a quiet end.
    OutputClosed,
    /// Interrupted (SIGINT): the call was cancelled.
    Interrupted,
    /// The call failed with this status.
    Failed(RpcStatus),
    /// Writing the output failed for another reason.
    OutputError(io::Error),
}

/// Turns the `--target` flag into a C-core target. A comma-separated list of
/// IP addresses becomes an `ipv4:`/`ipv6:` URI that C-core balances over
/// (with round_robin); anything else is passed to C-core as it is.
pub fn channel_target(target: &str) -> Result<String, String> {
    if !target.contains(',') {
        return Ok(target.to_owned());
    }
    let addrs: Vec<std::net::SocketAddr> = target
        .split(',')
        .map(|a| {
            a.trim()
                .parse()
                .map_err(|_| format!("{a:?} in --target is not an IP:PORT address"))
        })
        .collect::<Result<_, _>>()?;
    let scheme = if addrs.iter().all(|a| a.is_ipv4()) {
        "ipv4"
    } else if addrs.iter().all(|a| a.is_ipv6()) {
        "ipv6"
    } else {
        return Err("--target cannot mix IPv4 and IPv6 addresses".into());
    };
    let list: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    Ok(format!("{scheme}:{}", list.join(",")))
}

/// A client for `target` (a C-core target, see [`channel_target`]) on a
/// channel of its own, balancing calls round-robin over the target's
/// addresses, over TLS if `tls` says so.
pub fn connect(target: &str, gzip: bool, tls: Option<&ClientTls>) -> Result<SayYesClient, String> {
    channel(target, gzip, tls).map(SayYesClient::new)
}

/// The channel of [`connect`], for any service's client.
pub fn channel(target: &str, gzip: bool, tls: Option<&ClientTls>) -> Result<Channel, String> {
    let env = Arc::new(
        EnvBuilder::new()
            .cq_count(1)
            .name_prefix("yes-client")
            .build(),
    );
    let mut builder = ChannelBuilder::new(env).load_balancing_policy(LbPolicy::RoundRobin);
    if gzip {
        builder = builder.default_compression_algorithm(CompressionAlgorithms::GRPC_COMPRESS_GZIP);
    }
    let channel = match tls {
        None => builder.connect(target),
        Some(tls) => {
            if let Some(name) = &tls.server_name {
                builder = builder.override_ssl_target(name.clone());
            }
            builder.set_credentials(tls.credentials()?).connect(target)
        }
    };
    Ok(channel)
}

/// Runs one call and writes its replies to `output` per `options`, until
/// `--count`, an error, a closed output, or `interrupt` fires.
pub fn run(
    options: &Options,
    output: impl Write + Send + 'static,
    interrupt: oneshot::Receiver<()>,
) -> Outcome {
    // A bad --target or an unreadable TLS file is the caller's mistake.
    let client = channel_target(&options.target)
        .and_then(|target| connect(&target, options.gzip, options.tls.as_ref()));
    let client = match client {
        Ok(client) => client,
        Err(e) => {
            return Outcome::Failed(RpcStatus::with_message(RpcStatusCode::INVALID_ARGUMENT, e))
        }
    };

    let mut request = YesRequest::new();
    request.set_message(options.message.clone());
    let mut call_option = CallOption::default();
    if let Some(deadline) = options.deadline {
        call_option = call_option.timeout(deadline);
    }
    let call = match options.method {
        Method::Yes => client.yes_opt(&request, call_option),
        Method::YesWithFc => client.yes_with_fc_opt(&request, call_option),
    };
    let mut replies = match call {
        Ok(replies) => replies,
        Err(e) => return Outcome::Failed(status_of(e)),
    };

    let counters = Arc::new(Counters::default());
    let lines = Output::start(output);
    let stats = options.stats.then(|| start_stats(counters.clone()));

    let (done, outcome) = oneshot::channel();
    let count = options.count;
    let show_lines = !options.stats;
    let reading = {
        let counters = counters.clone();
        async move {
            let mut read = 0u64;
            let end = loop {
                if count == Some(read) {
                    break Outcome::Done;
                }
                match replies.next().await {
                    Some(Ok(reply)) => {
                        read += 1;
                        let text = reply.get_message().as_bytes();
                        counters.count(text.len() as u64);
                        if show_lines && lines.line(text).await.is_err() {
                            break Outcome::OutputClosed;
                        }
                    }
                    Some(Err(e)) => break Outcome::Failed(status_of(e)),
                    None => {
                        break Outcome::Failed(RpcStatus::with_message(
                            RpcStatusCode::INTERNAL,
                            "the server ended the stream without a status".into(),
                        ))
                    }
                }
            };
            // Whatever the end, the call is over for us: cancelling an ended
            // call does nothing, and cancelling a live one stops the server.
            replies.cancel();
            let _ = done.send((end, lines));
        }
    };
    let interrupted = async move {
        // A dropped sender means "never interrupted", not "interrupted now".
        if interrupt.await.is_err() {
            futures::future::pending::<()>().await;
        }
    };
    client.spawn(async move {
        // An interrupt drops the reading future, and so cancels the call
        // (and drops the output, whose writer then stops).
        select(Box::pin(reading), Box::pin(interrupted)).await;
    });
    let finished = futures::executor::block_on(outcome);
    if let Some(stats) = stats {
        stats.store(true, Ordering::Relaxed);
    }
    let Ok((outcome, lines)) = finished else {
        return Outcome::Interrupted;
    };
    match (outcome, lines.finish()) {
        (_, Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => Outcome::OutputClosed,
        (_, Err(e)) => Outcome::OutputError(e),
        (outcome, Ok(())) => outcome,
    }
}

/// The status of a failed call, whatever grpcio calls the failure.
pub(crate) fn status_of(error: grpcio::Error) -> RpcStatus {
    match error {
        grpcio::Error::RpcFailure(status) => status,
        other => RpcStatus::with_message(RpcStatusCode::UNKNOWN, other.to_string()),
    }
}

#[derive(Default)]
struct Counters {
    messages: AtomicU64,
    bytes: AtomicU64,
}

impl Counters {
    fn count(&self, bytes: u64) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Prints rates to stderr once a second until the returned flag is set.
fn start_stats(counters: Arc<Counters>) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::spawn(move || {
        let started = Instant::now();
        let (mut messages, mut bytes) = (0, 0);
        for second in 1.. {
            let next = started + Duration::from_secs(second);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            if stopped.load(Ordering::Relaxed) {
                break;
            }
            let (m, b) = (
                counters.messages.load(Ordering::Relaxed),
                counters.bytes.load(Ordering::Relaxed),
            );
            eprintln!(
                "yes-client: {:.0} msgs/s, {:.1} MB/s ({m} messages in all)",
                (m - messages) as f64,
                (b - bytes) as f64 / 1e6
            );
            (messages, bytes) = (m, b);
        }
    });
    stop
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(channel_target("localhost:9090").unwrap(), "localhost:9090");
        assert_eq!(
            channel_target("127.0.0.1:1,127.0.0.1:2").unwrap(),
            "ipv4:127.0.0.1:1,127.0.0.1:2"
        );
        assert_eq!(
            channel_target("[::1]:1,[::1]:2").unwrap(),
            "ipv6:[::1]:1,[::1]:2"
        );
        assert!(channel_target("127.0.0.1:1,[::1]:2").is_err());
        assert!(channel_target("a:1,b:2").is_err());
    }
}
