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
//!
//! The override serves the whole process, so the metrics server's accept
//! goes through it too: its listener blocks, and tiny_http ends its accept
//! loop on the first error (and panics when it cannot duplicate a
//! connection), which left `/metrics` refusing connections for good after
//! a flood. For a blocking listener the call therefore waits for room
//! instead (`accept_blocking`).

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
/// Whether the spare could not be reopened after shedding (another thread
/// took the room first): the next accept that finds room reopens it.
static SPARE_MISSING: AtomicBool = AtomicBool::new(false);

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
    if !SHEDDING.load(Ordering::Acquire) {
        return accepted;
    }
    if !non_blocking(listener) {
        // SAFETY: as above.
        return unsafe { accept_blocking(listener, addr, len, flags, accepted) };
    }
    if accepted >= 0 {
        if SPARE_MISSING.load(Ordering::Relaxed) {
            reopen_spare(&mut SPARE.lock().unwrap_or_else(|e| e.into_inner()));
        }
        return accepted;
    }
    let error = errno();
    if error != libc::EMFILE && error != libc::ENFILE {
        return accepted;
    }
    shed(listener, error);
    set_errno(libc::EAGAIN);
    -1
}

/// accept4 for a blocking listener, whose first attempt gave `accepted`.
///
/// A blocking listener is a thread of its own waiting for connections:
/// the metrics server's. Its accept loop (tiny_http's) ends for good on any
/// error, and it duplicates every connection it accepts, panicking when it
/// cannot; either way /metrics would be gone until a restart. So this
/// never returns the error, nor a connection without room for its
/// duplicate: it sheds what is queued and tries again every
/// [`BLOCKING_RETRY`] until there is room.
///
/// # Safety
/// As `accept4(2)`.
unsafe fn accept_blocking(
    listener: c_int,
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    flags: c_int,
    mut accepted: c_int,
) -> c_int {
    loop {
        let error = if accepted >= 0 {
            if room_beside(accepted) {
                return accepted;
            }
            // SAFETY: just accepted, ours alone; its client sees it closed.
            unsafe { libc::close(accepted) };
            SHED.fetch_add(1, Ordering::Relaxed);
            libc::EMFILE
        } else {
            let error = errno();
            if error != libc::EMFILE && error != libc::ENFILE {
                return accepted;
            }
            error
        };
        shed(listener, error);
        std::thread::sleep(BLOCKING_RETRY);
        // SAFETY: the caller's pointers, as for the first attempt.
        accepted = unsafe { raw_accept4(listener, addr, len, flags) };
    }
}

/// Whether one more descriptor can be opened beside `fd` (a duplicate of it
/// is, and closed again).
fn room_beside(fd: c_int) -> bool {
    // SAFETY: F_DUPFD_CLOEXEC duplicates an open descriptor; the duplicate
    // is ours and closed at once.
    let probe = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if probe < 0 {
        return false;
    }
    // SAFETY: as above.
    unsafe { libc::close(probe) };
    true
}

/// How long a blocking listener's thread waits before it tries again while
/// the process is out of descriptors.
const BLOCKING_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

/// Sheds the connections queued on `listener`, counts and reports them.
fn shed(listener: c_int, error: c_int) {
    let shed = shed_pending(listener);
    let total = SHED.fetch_add(shed, Ordering::Relaxed) + shed;
    warn_at_most_once_a_second(error, shed, total);
}

/// At most this many connections are shed at once, so that a flood that
/// keeps the queue full cannot keep the thread (one of C-core's pollers)
/// here; connections left queued are taken at C-core's next accept.
const SHED_AT_ONCE: u64 = 4096;

/// Accepts and closes the connections waiting on `listener` (up to
/// [`SHED_AT_ONCE`]), with the spare descriptor's room; returns how many.
fn shed_pending(listener: c_int) -> u64 {
    let mut spare = SPARE.lock().unwrap_or_else(|e| e.into_inner());
    // Without a spare (another thread took the room before it could be
    // reopened) nothing can be shed now; the next accept that finds room
    // reopens it. Until then the queue may hold closed connections ahead of
    // live ones, which C-core takes only as room allows, and a client whose
    // connection waits behind them retries once shed (tests/connections.rs:
    // one run in about 25 under load waited 20 s before this).
    if spare.take().is_none() {
        return 0;
    }
    let mut shed = 0;
    while shed < SHED_AT_ONCE && queued(listener) {
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
    reopen_spare(&mut spare);
    shed
}

/// Opens the spare descriptor into `spare`, or marks it missing.
fn reopen_spare(spare: &mut Option<OwnedFd>) {
    if spare.is_none() {
        *spare = File::open("/dev/null").ok().map(OwnedFd::from);
    }
    SPARE_MISSING.store(spare.is_none(), Ordering::Relaxed);
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

/// Whether a connection waits on `listener`: asked before each accept
/// that sheds, so that on a blocking listener the accept cannot wait.
fn queued(listener: c_int) -> bool {
    let mut poll = libc::pollfd {
        fd: listener,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd, valid for the call; a zero timeout never blocks.
    unsafe { libc::poll(&mut poll, 1, 0) == 1 && poll.revents & libc::POLLIN != 0 }
}

/// Whether `fd` is non-blocking: C-core's listeners are, the metrics
/// server's is not.
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
