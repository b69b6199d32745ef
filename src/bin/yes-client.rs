//! `yes-client`: parses flags (`yes_grpc::cli::client`), runs the call,
//! maps the outcome to an exit code.

use std::process::ExitCode;

use signal_hook::consts::SIGINT;
use signal_hook::iterator::Signals;

use grpcio::RpcStatus;
use yes_grpc::cli::{self, client::Call};
use yes_grpc::client::{health, run, Outcome};

fn main() -> ExitCode {
    yes_grpc::ccore::skip_mutex_deadlock_checks();
    let options = match cli::client::parse().call() {
        Call::Health {
            target,
            tls,
            service,
            deadline,
        } => {
            return match health::check(&target, tls.as_ref(), &service, deadline) {
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
        Call::Stream(options) => options,
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
