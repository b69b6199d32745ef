//! Giving freed memory back to the operating system.
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
