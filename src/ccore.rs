//! The gRPC C-core this binary runs on.
//!
//! Which C-core a build links is chosen when it is built (`ccore/pkg-config`:
//! the release in `ccore/pinned.env` by default, or the platform's), and the server's security
//! and speed rest on it; so the binary says which one it got, in
//! `--version` and in its start-up log line, rather than leaving it to be
//! inferred from how it was built.

use std::ffi::CStr;

/// The gRPC release series of the C-core versions this project builds and
/// tests. C-core numbers its own ABI (`grpc_version_string`) apart from
/// gRPC's releases, and users know the release. Keyed by [`major`].
const RELEASES: &[(u32, &str)] = &[(29, "1.51"), (58, "1.85")];

/// C-core's own version of the linked library, e.g. "58.0.0".
pub fn version() -> String {
    // SAFETY: `grpc_version_string` takes no argument, needs no `grpc_init`,
    // and returns a pointer to a static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(grpcio_sys::grpc_version_string()) };
    version.to_string_lossy().into_owned()
}

/// The major number of C-core's own version: 58 for gRPC 1.85, 29 for 1.51.
pub fn major() -> u32 {
    version()
        .split('.')
        .next()
        .and_then(|major| major.parse().ok())
        .unwrap_or(0)
}

/// The gRPC release series of the linked C-core, e.g. "1.85", where it is
/// one this project knows.
pub fn release() -> Option<&'static str> {
    let major = major();
    RELEASES
        .iter()
        .find(|&&(core, _)| core == major)
        .map(|&(_, release)| release)
}

/// How the linked C-core is named in logs: "gRPC 1.85 (C-core 58.0.0)", or
/// "C-core 41.0.0" for a release this project does not know.
pub fn describe() -> String {
    match release() {
        Some(release) => format!("gRPC {release} (C-core {})", version()),
        None => format!("C-core {}", version()),
    }
}

/// The C-core experiments set through C-core's own `GRPC_EXPERIMENTS`
/// variable (e.g. "fuse_filters"), which C-core reads when it starts. They
/// switch C-core onto other code paths, some faster (docs/benchmarks.md),
/// none of them C-core's default; the start-up log names them so that a
/// report from a server that runs with them says so.
pub fn experiments() -> Option<String> {
    std::env::var("GRPC_EXPERIMENTS")
        .ok()
        .filter(|list| !list.trim().is_empty())
}

/// What `--version` prints after the program name, e.g.
/// "0.1.0 on gRPC 1.85 (C-core 58.0.0)".
pub fn version_line() -> String {
    format!("{} on {}", env!("CARGO_PKG_VERSION"), describe())
}

/// Sends C-core's own log lines through `log`, with target "grpc", so they
/// are formatted and filtered like every other line (e.g. `--log-level
/// info,grpc=error`). Left alone, C-core writes them raw to stderr, and
/// C-cores from 1.66 on (which log through abseil) lead with abseil's
/// "WARNING: All log messages before absl::InitializeLog() is called are
/// written to STDERR". Call once, after the logger is set up. Each line
/// reads "FILE:LINE] MESSAGE", FILE:LINE being C-core's, for bug reports.
/// At the default level, what each C-core prints by default is printed:
/// 1.85's info lines (a failed TLS handshake, say) are info, 1.51's (epoll
/// descriptors and the like, which it hides by default) debug; errors and
/// warnings keep their level everywhere.
pub fn route_logs() {
    #[cfg(ccore_absl_log)]
    // SAFETY: the callback is a plain function, safe on any thread, for
    // the whole life of the process; abseil takes no other argument.
    unsafe {
        absl::yes_grpc_route_ccore_log(absl::forward)
    };
    #[cfg(not(ccore_absl_log))]
    gpr::route();
}

/// Switches off abseil's mutex deadlock detection where the linked abseil
/// runs it (built without NDEBUG, as Debian's is): a debug check that
/// serialises every C-core thread on one global lock and can abort the
/// process on a suspected lock-order cycle (ccore/mutex_checks.cc says
/// more). Release builds of abseil, the pinned C-core's included, never
/// run it, so this changes nothing there. Call once, early.
pub fn skip_mutex_deadlock_checks() {
    #[cfg(ccore_mutex_checks)]
    {
        extern "C" {
            fn yes_grpc_skip_mutex_deadlock_checks();
        }
        // SAFETY: takes no argument and only stores abseil's setting (an
        // atomic), from any thread, at any time.
        unsafe { yes_grpc_skip_mutex_deadlock_checks() };
    }
}

/// One C-core log line to `log`; `file` is C-core's source file.
fn log_line(level: log::Level, file: &str, line: i64, message: &str) {
    log::log!(target: "grpc", level, "{file}:{line}] {message}");
}

/// C-cores that log through abseil: ccore/log_sink.cc, compiled by build.rs,
/// registers an abseil `LogSink` that calls [`absl::forward`].
#[cfg(ccore_absl_log)]
mod absl {
    use std::os::raw::{c_char, c_int};

    type Forward = extern "C" fn(c_int, c_int, *const c_char, usize, c_int, *const c_char, usize);

    extern "C" {
        pub fn yes_grpc_route_ccore_log(forward: Forward);
    }

    /// abseil's severities: 0 info, 1 warning, 2 error (fatal lines stay
    /// with abseil, which writes them and aborts). VLOG lines, which C-core
    /// writes only when GRPC_TRACE or GRPC_VERBOSITY ask, are debug.
    pub extern "C" fn forward(
        severity: c_int,
        verbose: c_int,
        file: *const c_char,
        file_len: usize,
        line: c_int,
        message: *const c_char,
        message_len: usize,
    ) {
        let level = match (severity, verbose != 0) {
            (_, true) => log::Level::Debug,
            (0, false) => log::Level::Info,
            (1, false) => log::Level::Warn,
            _ => log::Level::Error,
        };
        if !log::log_enabled!(target: "grpc", level) {
            return;
        }
        let text = |data: *const c_char, len: usize| {
            if data.is_null() || len == 0 {
                return String::new();
            }
            // SAFETY: abseil passes a string_view's data and size, valid
            // for the duration of this call.
            let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) };
            String::from_utf8_lossy(bytes).into_owned()
        };
        super::log_line(
            level,
            &text(file, file_len),
            line.into(),
            &text(message, message_len),
        );
    }
}

/// C-cores before 1.66 (Debian's 1.51) log through `gpr_log`, whose
/// callback C-core lets us set. They print only errors by default, so their
/// info lines are debug here.
#[cfg(not(ccore_absl_log))]
mod gpr {
    use std::ffi::CStr;

    use grpcio_sys::{gpr_log_func_args, gpr_log_severity};

    pub fn route() {
        let lowest = if log::max_level() >= log::LevelFilter::Debug {
            gpr_log_severity::GPR_LOG_SEVERITY_DEBUG
        } else {
            gpr_log_severity::GPR_LOG_SEVERITY_ERROR
        };
        // SAFETY: both take effect for the whole process; the callback is a
        // plain function, safe on any thread.
        unsafe {
            grpcio_sys::gpr_set_log_verbosity(lowest);
            grpcio_sys::gpr_set_log_function(Some(forward));
        }
    }

    unsafe extern "C" fn forward(args: *mut gpr_log_func_args) {
        // SAFETY: C-core passes valid, NUL-terminated strings for the call.
        let args = unsafe { &*args };
        let level = match args.severity {
            gpr_log_severity::GPR_LOG_SEVERITY_ERROR => log::Level::Error,
            _ => log::Level::Debug,
        };
        if !log::log_enabled!(target: "grpc", level) {
            return;
        }
        let text = |p: *const std::os::raw::c_char| {
            if p.is_null() {
                return String::new();
            }
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        };
        let file = text(args.file);
        let file = file.rsplit('/').next().unwrap_or_default();
        super::log_line(level, file, args.line.into(), &text(args.message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_linked_c_core_is_the_one_the_build_chose() {
        let pinned = env!("YES_GRPC_PINNED_CCORE");
        match env!("YES_GRPC_CCORE_MODE") {
            // Catches grpcio-sys's bundled 1.56 or Debian's 1.51 sneaking
            // into a default build.
            "pinned" => assert!(
                release().is_some_and(|series| pinned.starts_with(&format!("{series}."))),
                "a default build must run on gRPC {pinned}, not on {}",
                describe()
            ),
            // Platform mode takes any C-core from 1.51 (core 29) up.
            _ => assert!(major() >= 29, "{} is older than gRPC 1.51", describe()),
        }
        assert!(version_line().contains(&version()));
    }
}
