//! Giving freed memory back to the operating system.
//!
//! And reading how much memory a process holds, for tests, benchmarks and
//! (later) metrics.
//!
//! A `Yes` stream that hits its budget frees up to the budget (64 MiB by
//! default) at once, in 64 KiB chunks. glibc keeps such chunks in its heaps
//! for reuse, so the process's RSS stays high after the stream is gone, and
//! nobody can tell a leak from a cache. After a stream that held much ends,
//! the server asks glibc to return free pages to the system.

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
