//! The gRPC C-core this binary runs on.
//!
//! Which C-core a build links is chosen when it is built (`ccore/pkg-config`:
//! gRPC 1.85.1 by default, or the platform's), and the server's security
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
