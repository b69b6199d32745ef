//! `yes-server`'s flags, each also read from its environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};

use super::{parse_duration, parse_size, with_runtime_version};
use crate::ccore_args::CcoreArg;
use crate::server::{default_completion_queues, Config, Limits};
use crate::tls::TlsFiles;

/// A `yes`-like gRPC streaming server (service yes.SayYes) on gRPC C-core.
///
/// Yes streams the request's message (or "yes") forever without waiting
/// for the client, and is ended with RESOURCE_EXHAUSTED once it holds more
/// than --naive-budget bytes for a client that reads too slowly. YesWithFc
/// streams it forever, paused by HTTP/2 flow control whenever the client's
/// window is full. grpc.health.v1.Health reports SERVING for "" and
/// "yes.SayYes" until shutdown begins. Server reflection (v1 and v1alpha)
/// lists and describes the four services served (yes.SayYes,
/// grpc.health.v1.Health and both reflection services) to grpcurl,
/// `evans -r` and the like.
///
/// SIGINT or SIGTERM shuts down gracefully: no new calls, every open stream
/// ends with UNAVAILABLE, clients get up to --grace-period to see it, then
/// the server exits 0. A second signal exits at once (status 128+signal).
///
/// Every flag can also be set by the environment variable shown beside it
/// (YES_SERVER_ and the flag's name, e.g. YES_SERVER_GRACE_PERIOD=30s); a
/// flag given on the command line wins. Switches take 1/0, true/false,
/// yes/no or on/off.
#[derive(Parser, Debug)]
#[command(name = "yes-server", version, verbatim_doc_comment)]
pub struct Args {
    /// Address to listen on, as IP:PORT (IPv6 in brackets, e.g. `[::]:9090`).
    /// Port 0 picks a free port; the bound address is printed on stdout as
    /// "yes-server listening on ADDR".
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:9090")]
    listen: SocketAddr,

    /// Share --listen's port with other processes started with this flag:
    /// the kernel spreads new connections over them (SO_REUSEPORT), a way to
    /// run several servers on one port. Without it a port another process
    /// holds is refused (exit 1), so a forgotten old server cannot silently
    /// take a share of the clients.
    #[arg(long)]
    reuse_port: bool,

    /// Most bytes a Yes stream may hold unsent before it is ended with
    /// RESOURCE_EXHAUSTED (e.g. 64MiB, 512KiB, 1000000).
    #[arg(long, value_name = "SIZE", default_value = "64MiB", value_parser = parse_size)]
    naive_budget: usize,

    /// How long clients get to receive their UNAVAILABLE status on
    /// shutdown before the remaining calls are cancelled (e.g. 10s, 500ms).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    grace_period: Duration,

    /// Completion queues, each polled by its own C-core thread that also
    /// runs the streams' pumps. (On C-cores before 1.85 one more thread,
    /// yes-poll-0, only reads the sockets.) [default: one per core]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    completion_queues: Option<u16>,

    /// Largest request accepted; larger ones get RESOURCE_EXHAUSTED from
    /// C-core.
    #[arg(long, value_name = "SIZE", default_value = "4MiB", value_parser = parse_size)]
    max_request_bytes: usize,

    /// Bytes of replies C-core gathers per stream before writing them to the
    /// socket (C-core's default). At most 64 replies wait in it whatever
    /// their size, as each costs C-core about 64 bytes; smaller holds less
    /// per stalled client and slows replies of 1 KiB and more.
    #[arg(long, value_name = "SIZE", default_value = "64KiB", value_parser = parse_size)]
    http2_write_buffer: usize,

    /// Most concurrent streams one connection may open; further calls wait
    /// in the client until a stream ends.
    #[arg(long, value_name = "N", default_value_t = crate::server::DEFAULT_MAX_CONCURRENT_STREAMS)]
    max_concurrent_streams: u32,

    /// How often to ping a connection to check that it is alive.
    #[arg(long, value_name = "DURATION", default_value = "2h", value_parser = parse_duration)]
    keepalive_time: Duration,

    /// How long a keepalive ping may go unanswered before the connection is
    /// closed (its streams end as cancelled).
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    keepalive_timeout: Duration,

    /// Close a connection that has had no stream for this long. [default:
    /// never]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    max_connection_idle: Option<Duration>,

    /// Close connections this old (with GOAWAY, so clients reconnect and
    /// rebalance across replicas). [default: never]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    max_connection_age: Option<Duration>,

    /// After --max-connection-age, how long open streams may go on before
    /// the connection is closed under them. [default: until they end]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    max_connection_age_grace: Option<Duration>,

    /// Memory C-core may use for its buffers (a C-core resource quota), or
    /// "unlimited". Under its pressure C-core resets streams
    /// (ENHANCE_YOUR_CALM), not always the offender's. Before C-core 1.85 it
    /// is what stops a client that announces a huge request and trickles it
    /// in (those C-cores buffer a request whole before they check
    /// --max-request-bytes; 1.85 refuses it at once).
    #[arg(long, value_name = "SIZE", default_value = "512MiB", value_parser = parse_quota)]
    memory_quota: Quota,

    /// Most connections to keep at once; more are closed as soon as they are
    /// accepted (the client sees UNAVAILABLE and retries), until one
    /// closes. Needs gRPC C-core 1.63 or later: on an older one the server
    /// refuses to start with it. [default: no limit]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
    max_connections: Option<u32>,

    /// How long a new connection may take to complete its handshake (TCP
    /// accepted to the client's HTTP/2 settings, through TLS) before it is
    /// closed, so clients that connect and never speak cannot pile up.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    handshake_timeout: Duration,

    /// Set a C-core channel argument on the server, e.g.
    /// grpc.http2.bdp_probe=0 or grpc.optimization_target=throughput (a
    /// value that reads as an integer is one); repeat for more. Applied
    /// after the server's own settings, so it wins over them. For measuring
    /// C-core's tuning knobs (docs/benchmarks.md): C-core ignores a name it
    /// does not know, and the start-up line lists what was set. Several may
    /// be given at once, separated by commas.
    #[arg(long = "ccore-arg", value_name = "NAME=VALUE", value_delimiter = ',')]
    ccore_args: Vec<CcoreArg>,

    /// Serve Prometheus metrics at http://ADDR/metrics (IP:PORT): streams
    /// live and ended by method and reason, messages, bytes, seconds paused
    /// by flow control, naive-budget failures, memory. [default: off]
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,

    /// Serve TLS with this PEM certificate chain (leaf first). Needs
    /// --tls-key. The files are read again when they change on disk, so new
    /// connections pick up a renewed certificate without a restart.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Mutual TLS: clients must present a certificate issued by a CA in this
    /// PEM file, or the handshake fails; the log names each stream's client
    /// by its certificate. Needs --tls-cert and --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,

    /// Do not serve server reflection (grpc.reflection.v1 and v1alpha, which
    /// grpcurl and `evans -r` use to discover the services).
    #[arg(long)]
    no_reflection: bool,

    /// Serve channelz (grpc.channelz.v1.Channelz): C-core's account of the
    /// server's listeners, connections (each client's address, streams and
    /// messages) and calls, for grpcurl and channelz clients. Off by
    /// default, as it names every client.
    #[arg(long)]
    channelz: bool,

    /// Log filter: error, warn, info, debug or trace, optionally per module
    /// (e.g. "info,yes_grpc::stream=debug"). Logs go to stderr; each stream
    /// logs one line when it ends.
    #[arg(
        long,
        value_name = "FILTER",
        env = "YES_SERVER_LOG",
        default_value = "info"
    )]
    log_level: String,
}

/// A memory quota; `None` is "unlimited". (A field of type `Option` would
/// make clap treat the flag as optional instead.)
#[derive(Clone, Copy, Debug)]
struct Quota(Option<usize>);

fn parse_quota(text: &str) -> Result<Quota, String> {
    match text {
        "unlimited" => Ok(Quota(None)),
        _ => parse_size(text).map(|bytes| Quota(Some(bytes))),
    }
}

/// The flags as clap reads them, each also from its environment variable,
/// so that a systemd `EnvironmentFile=` or a Kubernetes `env:` can configure
/// the server as well as its command line. `--log-level` keeps the name it
/// always had, `YES_SERVER_LOG`.
pub fn command() -> clap::Command {
    Args::command().mut_args(|arg| {
        let Some(long) = arg.get_long() else {
            return arg;
        };
        if arg.get_env().is_some() {
            return arg;
        }
        let name: &'static str = Box::leak(env_name(long).into_boxed_str());
        let arg = arg.env(name);
        match arg.get_action() {
            // A switch from the environment takes 1/0, true/false, yes/no
            // or on/off; anything else is an error, not silently "on".
            clap::ArgAction::SetTrue => arg.value_parser(clap::builder::BoolishValueParser::new()),
            _ => arg,
        }
    })
}

/// The environment variable of the flag `--LONG`.
fn env_name(long: &str) -> String {
    format!("YES_SERVER_{}", long.to_uppercase().replace('-', "_"))
}

/// The command line of this process, or exit with clap's message.
pub fn parse() -> Args {
    let matches = with_runtime_version(command()).get_matches();
    Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

impl Args {
    /// The server's configuration from the flags. Their defaults, written
    /// for clap as text, must be [`Config::default`]'s: a unit test below
    /// holds them together.
    pub fn config(&self) -> Config {
        Config {
            listen: self.listen,
            reuse_port: self.reuse_port,
            naive_budget: self.naive_budget,
            completion_queues: self
                .completion_queues
                .map_or_else(default_completion_queues, usize::from),
            max_request_bytes: self.max_request_bytes,
            write_buffer_bytes: self.http2_write_buffer,
            limits: Limits {
                max_concurrent_streams: self.max_concurrent_streams,
                keepalive_time: self.keepalive_time,
                keepalive_timeout: self.keepalive_timeout,
                max_connection_idle: self.max_connection_idle,
                max_connection_age: self.max_connection_age,
                max_connection_age_grace: self.max_connection_age_grace,
                memory_quota: self.memory_quota.0,
                max_connections: self.max_connections,
                handshake_timeout: self.handshake_timeout,
            },
            metrics_listen: self.metrics_listen,
            reflection: !self.no_reflection,
            channelz: self.channelz,
            ccore_args: self.ccore_args.clone(),
            tls: match (self.tls_cert.clone(), self.tls_key.clone()) {
                (Some(cert), Some(key)) => Some(TlsFiles {
                    cert,
                    key,
                    client_ca: self.tls_client_ca.clone(),
                }),
                _ => None,
            },
        }
    }

    /// The log filter (`--log-level`).
    pub fn log_filter(&self) -> &str {
        &self.log_level
    }

    /// How long clients get to see their status at shutdown.
    pub fn grace_period(&self) -> Duration {
        self.grace_period
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binary and the in-process tests (which use `Config::default()`)
    /// run the same server.
    #[test]
    fn no_flags_give_the_library_defaults() {
        let matches = command().try_get_matches_from(["yes-server"]).unwrap();
        let args = Args::from_arg_matches(&matches).unwrap();
        assert_eq!(
            format!("{:?}", args.config()),
            format!("{:?}", Config::default())
        );
    }

    #[test]
    fn ccore_args_are_named_grpc_and_typed_by_their_value() {
        let config = |flags: &[&str]| {
            let line = ["yes-server"].iter().chain(flags);
            let matches = command().try_get_matches_from(line)?;
            Ok::<_, clap::Error>(Args::from_arg_matches(&matches)?.config())
        };
        let set = config(&[
            "--ccore-arg",
            "grpc.http2.bdp_probe=0",
            "--ccore-arg",
            "grpc.optimization_target=throughput,grpc.minimal_stack=1",
        ])
        .unwrap();
        let shown: Vec<String> = set.ccore_args.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "grpc.http2.bdp_probe=0",
                "grpc.optimization_target=throughput",
                "grpc.minimal_stack=1"
            ]
        );
        assert_eq!(
            set.ccore_args[1].value,
            crate::ccore_args::CcoreValue::Text("throughput".into())
        );
        assert_eq!(
            set.ccore_args[2].value,
            crate::ccore_args::CcoreValue::Int(1)
        );
        for bad in [
            "http2.bdp_probe=0",
            "grpc.=1",
            "grpc.minimal_stack",
            "grpc.x=",
        ] {
            let error = config(&["--ccore-arg", bad]).unwrap_err().to_string();
            assert!(error.contains("--ccore-arg"), "{bad}: {error}");
        }
    }

    /// Every flag has its variable, named after it, so the names can be
    /// guessed from --help and never drift from the flags.
    #[test]
    fn every_flag_has_its_environment_variable() {
        let command = command();
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let env = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            let expected = match long {
                "log-level" => "YES_SERVER_LOG".to_owned(),
                _ => env_name(long),
            };
            assert_eq!(env, Some(expected), "--{long}");
        }
    }
}
