//! Giving freed memory back to the operating system.
//!
//! And reading how much memory a process holds, for tests, benchmarks and
//! the `process_resident_memory_bytes` metric.
//!
//! A `Yes` stream that hits its budget frees up to the budget (64 MiB by
//! default) at once, in 64 KiB chunks. glibc keeps such chunks in its heaps
//! for reuse, so the process's RSS stays high after the stream is gone, and
//! nobody can tell a leak from a cache. After a stream that held much ends,
//! and every few seconds, the server asks glibc to return free pages to the
//! system.

use std::time::Duration;

/// How often the server hands freed heap back to the system anyway: after
/// a thousand streams end, or a flood of calls C-core cancelled before any
/// handler ran, glibc would otherwise keep their memory for good.
pub const TRIM_EVERY: Duration = Duration::from_secs(5);

/// Trims the heap every [`TRIM_EVERY`] for as long as `alive` holds (the
/// server that started it is running). On the executor; the trim itself
/// runs where blocking is allowed.
pub async fn trim_periodically(alive: impl Fn() -> bool) {
    loop {
        crate::executor::sleep(TRIM_EVERY).await;
        if !alive() {
            return;
        }
        crate::executor::unblock(release_free_memory).await;
    }
}

/// Streams that held more than this many bytes trim the heap when they end.
pub const TRIM_AFTER_HOLDING: usize = 1 << 20;

/// Returns free heap memory to the operating system, where the allocator
/// supports it (glibc); elsewhere does nothing.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The resident memory (RSS) of process `pid` in KiB, from `/proc`; `None`
/// where there is no such process or no `/proc`.
pub fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_resident_memory_is_read() {
        let kib = resident_kib(std::process::id()).expect("/proc is there on Linux");
        assert!(kib > 100, "{kib} KiB");
    }
}
