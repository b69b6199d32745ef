//! The open-files limit, which bounds how many connections the server can
//! hold: each is a file descriptor. Shells and many service managers start
//! processes with a soft limit of 1,024, about a thousand connections,
//! under a hard limit far higher; a server may raise its own soft limit up
//! to the hard one, as Go's runtime does for every Go server.

/// Raises the soft limit on open files to the hard limit. Returns the
/// limit now in force, and the one before if it changed.
pub fn raise() -> std::io::Result<(u64, Option<u64>)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur >= limit.rlim_max {
        return Ok((widen(limit.rlim_cur), None));
    }
    let before = widen(limit.rlim_cur);
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: setrlimit reads the struct we pass; raising the soft limit
    // up to the hard one needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((widen(limit.rlim_max), Some(before)))
}

/// `rlim_t` is 64 bits wide on 64-bit Linux, 32 on 32-bit.
#[allow(clippy::useless_conversion)]
fn widen(value: libc::rlim_t) -> u64 {
    u64::from(value)
}

/// Descriptors the server needs besides its connections: listeners,
/// epoll and event descriptors, the metrics listener, TLS files, logs.
pub const RESERVED: u64 = 64;
