//! Running podman for the container and systemd tests, with the
//! repository's settings, and the one line a failed command leaves.

use std::process::{Command, Output};

use super::recipes::path;

/// `podman ARGS` with the repository's settings (`deploy/podman/containers.conf`).
pub fn podman(args: &[&str]) -> Command {
    let mut command = Command::new("podman");
    command
        .env("CONTAINERS_CONF", path("deploy/podman/containers.conf"))
        .args(args);
    command
}

/// Runs `command`; its output if it succeeded, else what failed and the
/// last line it wrote to stderr.
pub fn output(mut command: Command) -> Result<Output, String> {
    let output = command
        .output()
        .map_err(|e| format!("{command:?} did not start: {e}"))?;
    if output.status.success() {
        Ok(output)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
        Err(format!(
            "{command:?} failed ({}): {}",
            output.status,
            last.unwrap_or("no message")
        ))
    }
}

/// Runs `command`; its standard output, trimmed.
pub fn run(command: Command) -> String {
    let out = output(command).unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Whether `YES_GRPC_SKIP_...` variable `name` asks to skip a test.
pub fn skipped(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}
