//! `yes-client`: parses flags, runs the call, maps the outcome to an exit code.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};
use signal_hook::consts::SIGINT;
use signal_hook::iterator::Signals;

use grpcio::RpcStatus;
use yes_grpc::client::{health, run, ClientTls, Options, Outcome};
use yes_grpc::codec::Method;

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
struct Args {
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

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (try 500ms, 10s or 2m)"))
}

fn main() -> ExitCode {
    // `--version` names the C-core too, which is only known at run time.
    let version: &'static str = Box::leak(yes_grpc::ccore::version_line().into_boxed_str());
    let matches = Args::command().version(version).get_matches();
    let args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let tls = (args.tls
        || args.tls_ca.is_some()
        || args.tls_cert.is_some()
        || args.tls_server_name.is_some())
    .then(|| ClientTls {
        ca: args.tls_ca,
        identity: args.tls_cert.zip(args.tls_key),
        server_name: args.tls_server_name,
    });
    if let Some(service) = &args.health {
        return match health::check(&args.target, tls.as_ref(), service, args.deadline) {
            Ok((serving, name)) => {
                println!("{name}");
                if serving {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(status) => failed(&status),
        };
    }
    let options = Options {
        target: args.target,
        method: match args.method {
            MethodArg::Yes => Method::Yes,
            MethodArg::YesWithFc => Method::YesWithFc,
        },
        message: args.words.join(" "),
        count: args.count,
        deadline: args.deadline,
        gzip: matches!(args.compress, Some(Compress::Gzip)),
        stats: args.stats,
        tls,
    };

    let (interrupt, interrupted) = futures::channel::oneshot::channel();
    match Signals::new([SIGINT]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                if signals.forever().next().is_some() {
                    let _ = interrupt.send(());
                }
            });
        }
        Err(e) => eprintln!("yes-client: cannot catch SIGINT: {e}"),
    }

    match run(&options, std::io::stdout(), interrupted) {
        Outcome::Done | Outcome::OutputClosed => ExitCode::SUCCESS,
        Outcome::Interrupted => ExitCode::from(130),
        Outcome::Failed(status) => failed(&status),
        Outcome::OutputError(e) => {
            eprintln!("yes-client: cannot write the output: {e}");
            ExitCode::from(3)
        }
    }
}

/// Prints a failed call's status as "yes-client: CODE: message"; exit 1.
fn failed(status: &RpcStatus) -> ExitCode {
    // grpcio shows a code as "14-UNAVAILABLE"; users know the name.
    let code = format!("{:?}", status.code());
    let name = code.split_once('-').map_or(code.as_str(), |(_, name)| name);
    eprintln!("yes-client: {name}: {}", status.message());
    ExitCode::from(1)
}
