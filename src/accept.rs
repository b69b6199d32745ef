//! What the server's listener does when the process is out of file
//! descriptors.
//!
//! Why: C-cores before the CVE-2023-4785 fix (1.53.2 … 1.57.1; Debian's
//! 1.51 is one) treat any error from `accept4` but EAGAIN as the end of
//! the listener: it logs "Failed accept4: Too many open files" once and
//! never accepts again, while the process goes on serving the streams it
//! has, so nothing restarts it. A flood of connections reaches the
//! open-files limit easily: 30,000 connections opened and closed in 6 s
//! left Debian's 1.51 holding 15,000 descriptors at once, and with a
//! limit of 20,000 a new client then waited for good (tests/connections.rs
//! holds the case).
//!
//! C-core 1.85 survives the error (it logs "File descriptor limit reached.
//! Retrying." and tries again a second later) but drains a full queue only
//! as fast as its retries free room: with 640 connections queued at a limit
//! of 64, a new client waited 12 s.
//!
//! So yes-server defines `accept4` itself (src/main.rs exports it, and C-core
//! calls it instead of libc's), and when the process is out of descriptors,
//! this module does what libuv and nginx do: it closes a spare descriptor
//! kept for the purpose, accepts the pending connections and closes each at
//! once, reopens the spare, and tells C-core EAGAIN, which every C-core
//! survives (it waits for the next connection). The shed clients see their
//! connection closed and retry, instead of waiting in the kernel's queue
//! for a server that may never take them; the same case then served a new
//! client in 5 ms on both C-cores.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Whether [`shed_when_out_of_files`] was called.
static SHEDDING: AtomicBool = AtomicBool::new(false);

/// The spare descriptor closed to make room for the accept that sheds.
static SPARE: Mutex<Option<OwnedFd>> = Mutex::new(None);

/// Connections shed since the start.
static SHED: AtomicU64 = AtomicU64::new(0);

/// When the last warning was logged, to log at most one a second.
static LAST_WARNING: Mutex<Option<Instant>> = Mutex::new(None);

/// Turns shedding on (it is off until then, so that a program that does
/// not serve behaves as libc's accept4). Call before the server listens.
pub fn shed_when_out_of_files() -> std::io::Result<()> {
    let spare = File::open("/dev/null")?;
    *SPARE.lock().unwrap_or_else(|e| e.into_inner()) = Some(spare.into());
    SHEDDING.store(true, Ordering::Release);
    Ok(())
}

/// Connections shed so far.
pub fn shed_so_far() -> u64 {
    SHED.load(Ordering::Relaxed)
}

/// `accept4(2)`, shedding as the module says when shedding is on and the
/// process (EMFILE) or the system (ENFILE) is out of descriptors.
///
/// # Safety
/// As `accept4(2)`: `addr` and `len` are null or valid for the call.
pub unsafe fn accept4(
    listener: c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's pointers, passed on as given.
    let accepted = unsafe { raw_accept4(listener, addr, len, flags) };
    if accepted >= 0 || !SHEDDING.load(Ordering::Acquire) {
        return accepted;
    }
    let error = errno();
    if (error != libc::EMFILE && error != libc::ENFILE) || !non_blocking(listener) {
        return accepted;
    }
    let shed = shed_pending(listener);
    let total = SHED.fetch_add(shed, Ordering::Relaxed) + shed;
    warn_at_most_once_a_second(error, shed, total);
    set_errno(libc::EAGAIN);
    -1
}

/// At most this many connections are shed at once, so that a flood that
/// keeps the queue full cannot keep the thread (one of C-core's pollers)
/// here; connections left queued are taken at C-core's next accept.
const SHED_AT_ONCE: u64 = 4096;

/// Accepts and closes the connections waiting on `listener` (up to
/// [`SHED_AT_ONCE`]), with the spare descriptor's room; returns how many.
fn shed_pending(listener: c_int) -> u64 {
    let mut spare = SPARE.lock().unwrap_or_else(|e| e.into_inner());
    // Without a spare (another thread took the room before it was
    // reopened), the next accept that finds room sheds instead.
    if spare.take().is_none() {
        return 0;
    }
    let mut shed = 0;
    while shed < SHED_AT_ONCE {
        // SAFETY: null address and length are allowed by accept4(2).
        let fd = unsafe {
            raw_accept4(
                listener,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if fd < 0 {
            if errno() == libc::EINTR {
                continue;
            }
            break;
        }
        // SAFETY: `fd` was just returned by accept4 and is ours alone.
        unsafe { libc::close(fd) };
        shed += 1;
    }
    *spare = File::open("/dev/null").ok().map(OwnedFd::from);
    shed
}

fn warn_at_most_once_a_second(error: c_int, shed: u64, total: u64) {
    let mut last = LAST_WARNING.lock().unwrap_or_else(|e| e.into_inner());
    if last.is_some_and(|at| at.elapsed().as_secs() < 1) {
        return;
    }
    *last = Some(Instant::now());
    let whose = if error == libc::ENFILE {
        "the system is"
    } else {
        "the server is"
    };
    log::warn!(
        "{whose} out of file descriptors ({}): closed {shed} new connections at once, \
         {total} since the start; raise the open-files limit (LimitNOFILE=) or limit \
         connections in front of the server",
        std::io::Error::from_raw_os_error(error)
    );
}

/// accept4 straight from the kernel: libc's own would be this module's.
unsafe fn raw_accept4(
    listener: c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    flags: c_int,
) -> c_int {
    // SAFETY: the caller's pointers; the syscall sets errno as libc's does.
    unsafe { libc::syscall(libc::SYS_accept4, listener, addr, len, flags) as c_int }
}

/// A blocking listener would make [`shed_pending`]'s loop wait for the
/// next connection; only non-blocking ones (C-core's) are shed.
fn non_blocking(fd: c_int) -> bool {
    // SAFETY: F_GETFL reads flags and touches no memory.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    flags >= 0 && flags & libc::O_NONBLOCK != 0
}

fn errno() -> c_int {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn set_errno(value: c_int) {
    // SAFETY: errno is this thread's own.
    unsafe { *libc::__errno_location() = value };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd as _;

    #[test]
    fn accepts_like_the_kernel_when_there_is_room() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let fd = listener.as_raw_fd();
        listener.set_nonblocking(true).unwrap();
        // SAFETY: null address and length.
        let none = unsafe { accept4(fd, std::ptr::null_mut(), std::ptr::null_mut(), 0) };
        assert_eq!((none, errno()), (-1, libc::EAGAIN));
        // On loopback the connection is queued once connect returns.
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        listener.set_nonblocking(false).unwrap();
        // SAFETY: as above.
        let accepted = unsafe { accept4(fd, std::ptr::null_mut(), std::ptr::null_mut(), 0) };
        assert!(accepted >= 0, "{}", std::io::Error::last_os_error());
        // SAFETY: ours.
        unsafe { libc::close(accepted) };
    }
}
