//! The command lines of `yes-server` and `yes-client`, as clap definitions
//! the binaries parse and the packaging reads: the man pages, shell
//! completions and `/etc/default/yes-server` of the Debian package are
//! generated from these same [`clap::Command`]s (`examples/package_assets.rs`),
//! so they cannot drift from `--help`.

pub mod client;
pub mod server;

use std::str::FromStr;
use std::time::Duration;

/// Every command this crate installs, by the name it is installed under.
pub fn commands() -> [clap::Command; 2] {
    [server::command(), client::command()]
}

/// A size such as `64MiB`, `512KiB` or a number of bytes.
fn parse_size(text: &str) -> Result<usize, String> {
    let size = bytesize::ByteSize::from_str(text)
        .map_err(|e| format!("{e} (try 64MiB, 512KiB or a number of bytes)"))?;
    usize::try_from(size.as_u64()).map_err(|_| format!("{text} is too large"))
}

/// A duration such as `10s`, `500ms` or `2m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (try 10s, 500ms or 2m)"))
}

/// `--version` names the C-core too, which is only known at run time.
fn with_runtime_version(command: clap::Command) -> clap::Command {
    let version: &'static str = Box::leak(crate::ccore::version_line().into_boxed_str());
    command.version(version)
}
