//! `yes-server`: parses flags, starts the server, waits for a signal.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use log::{error, info, warn};
use sd_notify::NotifyState;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_async_std::Signals;

use yes_grpc::server::{YesServer, LISTENING};
use yes_grpc::{accept, ccore, cli, executor, open_files};

fn main() -> ExitCode {
    let args = cli::server::parse();
    env_logger::Builder::new()
        .parse_filters(args.log_filter())
        .format_timestamp_millis()
        .init();
    ccore::route_logs();
    ccore::skip_mutex_deadlock_checks();
    executor::start();

    // Signals are caught before the server listens, so a client that sees
    // the listening line may signal at once.
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(e) => {
            error!("cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };

    let config = args.config();
    open_files_limit(config.limits.max_connections);
    if let Err(e) = accept::shed_when_out_of_files() {
        warn!("cannot keep a spare file descriptor for shedding connections: {e}");
    }
    let server = match YesServer::start(&config) {
        Ok(server) => server,
        Err(e) => {
            error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{LISTENING}{}", server.local_addr());
    let _ = std::io::stdout().flush();
    // The port is bound and health says SERVING: a `Type=notify` unit is up.
    notify_service_manager(&[NotifyState::Ready]);

    let grace = args.grace_period();
    executor::block_on(async move {
        let Some(signal) = signals.next().await else {
            return;
        };
        info!("received {}: shutting down", signal_name(signal));
        notify_service_manager(&[NotifyState::Stopping, stop_timeout(grace)]);
        executor::spawn(async move {
            if let Some(again) = signals.next().await {
                warn!("received {} again: exiting at once", signal_name(again));
                std::process::exit(128 + again);
            }
        });
        server.shutdown(grace).await;
    });
    ExitCode::SUCCESS
}

/// C-core's listeners call this `accept4` rather than libc's (build.rs
/// exports it from the binary), so that [`accept::accept4`] can shed new
/// connections when the process runs out of file descriptors, which stops
/// an old C-core's listener for good.
///
/// # Safety
/// As `accept4(2)`.
#[no_mangle]
pub unsafe extern "C" fn accept4(
    listener: std::os::raw::c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    flags: std::os::raw::c_int,
) -> std::os::raw::c_int {
    // SAFETY: the caller's, as accept4(2)'s.
    unsafe { accept::accept4(listener, addr, len, flags) }
}

/// Tells systemd (when it started us with `NOTIFY_SOCKET`, as a
/// `Type=notify` unit) that the server is ready or stopping; without the
/// variable this does nothing.
fn notify_service_manager(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(false, states) {
        warn!("cannot notify the service manager ({states:?}): {e}");
    }
}

/// Raises the open-files limit as far as allowed, and warns when
/// `--max-connections` is more than it lets the server hold.
fn open_files_limit(max_connections: Option<u32>) {
    let limit = match open_files::raise() {
        Ok((limit, Some(before))) => {
            info!("open files: limit raised from {before} to {limit}");
            limit
        }
        Ok((limit, None)) => limit,
        Err(e) => {
            warn!("open files: cannot read or raise the limit: {e}");
            return;
        }
    };
    let room = limit.saturating_sub(open_files::RESERVED);
    match max_connections {
        Some(max) if u64::from(max) > room => warn!(
            "--max-connections {max} is more than the open-files limit ({limit}) lets the server \
             hold (about {room}): raise it (ulimit -n, LimitNOFILE=)"
        ),
        None if room < 10_000 => info!(
            "open files: limit {limit}, about {room} connections at most; raise it for more \
             (ulimit -n, LimitNOFILE=)"
        ),
        _ => {}
    }
}

/// Asks systemd for the stop time the drain needs (the grace period and a
/// margin for cancelling what is left), so that a unit's `TimeoutStopSec`
/// never cuts a longer `--grace-period` short with SIGKILL.
fn stop_timeout(grace: Duration) -> NotifyState<'static> {
    let needed = grace + Duration::from_secs(5);
    NotifyState::ExtendTimeoutUsec(u32::try_from(needed.as_micros()).unwrap_or(u32::MAX))
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
