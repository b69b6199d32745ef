//! `yes-client`'s flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};

use super::{parse_duration, with_runtime_version};
use crate::client::{ClientTls, Options};
use crate::codec::Method;

/// GNU `yes` over gRPC: prints the server's replies, one per line, forever.
///
/// The STRINGs, joined by spaces, are the request's message; with none the
/// server's default ("yes") applies. Output goes through a 64 KiB buffer and
/// only as fast as stdout takes it, so a slow reader of our output slows
/// the server down through HTTP/2 flow control.
///
/// Exit status: 0 after --count replies or when the output is closed (as
/// with `| head`); 1 when the call fails (the status is printed as
/// "yes-client: CODE: message"); 2 for bad usage; 3 when writing the output
/// fails otherwise; 130 on SIGINT. With --health: 0 when SERVING, 1 when
/// not or when the check fails.
#[derive(Parser, Debug)]
#[command(name = "yes-client", version, verbatim_doc_comment)]
pub struct Args {
    /// The words of the message.
    #[arg(value_name = "STRING")]
    words: Vec<String>,

    /// Server to call: HOST:PORT, a DNS target such as dns:///name:9090, or
    /// several IP:PORT addresses separated by commas; several addresses (or
    /// a name with several) are balanced round-robin.
    #[arg(long, value_name = "TARGET", default_value = "127.0.0.1:9090")]
    target: String,

    /// The method to call: yes-with-fc is paused by flow control; yes is the
    /// naive one, which the server ends when this client falls too far
    /// behind.
    #[arg(long, value_enum, default_value_t = MethodArg::YesWithFc)]
    method: MethodArg,

    /// Stop after N replies.
    #[arg(short = 'n', long, value_name = "N")]
    count: Option<u64>,

    /// Give up after this long (e.g. 500ms, 10s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    deadline: Option<Duration>,

    /// Compress requests (and accept compressed replies).
    #[arg(long, value_enum, value_name = "ALGORITHM")]
    compress: Option<Compress>,

    /// Print messages/s and MB/s to stderr once a second instead of lines.
    #[arg(long)]
    stats: bool,

    /// Call over TLS, trusting C-core's default root certificates unless
    /// --tls-ca is given. Implied by the other --tls-* flags.
    #[arg(long)]
    tls: bool,

    /// Trust the CA certificates in this PEM file (e.g. the CA that signed
    /// the server's --tls-cert).
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,

    /// Present this PEM certificate chain to the server (mutual TLS, for a
    /// server started with --tls-client-ca). Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Check the server's certificate against this name instead of the
    /// target's host (e.g. "localhost" when calling 127.0.0.1).
    #[arg(long, value_name = "NAME")]
    tls_server_name: Option<String>,

    /// Instead of streaming, ask the server's grpc.health.v1 whether SERVICE
    /// is serving ("" for the server as a whole, yes.SayYes for the
    /// service), print the answer, and exit 0 if it is SERVING. For scripts
    /// and container health checks; --deadline bounds it (default 5s).
    #[arg(long, value_name = "SERVICE", conflicts_with_all = ["words", "count", "stats", "method", "compress"])]
    health: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum MethodArg {
    Yes,
    YesWithFc,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Compress {
    Gzip,
}

/// The command line as clap reads it.
pub fn command() -> clap::Command {
    Args::command()
}

/// The command line of this process, or exit with clap's message.
pub fn parse() -> Args {
    let matches = with_runtime_version(command()).get_matches();
    Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// What the command line asks for.
pub enum Call {
    /// One grpc.health.v1 check of `service`.
    Health {
        target: String,
        tls: Option<ClientTls>,
        service: String,
        deadline: Option<Duration>,
    },
    /// A stream of replies printed as lines.
    Stream(Options),
}

impl Args {
    pub fn call(self) -> Call {
        let tls = (self.tls
            || self.tls_ca.is_some()
            || self.tls_cert.is_some()
            || self.tls_server_name.is_some())
        .then(|| ClientTls {
            ca: self.tls_ca,
            identity: self.tls_cert.zip(self.tls_key),
            server_name: self.tls_server_name,
        });
        if let Some(service) = self.health {
            return Call::Health {
                target: self.target,
                tls,
                service,
                deadline: self.deadline,
            };
        }
        Call::Stream(Options {
            target: self.target,
            method: match self.method {
                MethodArg::Yes => Method::Yes,
                MethodArg::YesWithFc => Method::YesWithFc,
            },
            message: self.words.join(" "),
            count: self.count,
            deadline: self.deadline,
            gzip: matches!(self.compress, Some(Compress::Gzip)),
            stats: self.stats,
            tls,
        })
    }
}
