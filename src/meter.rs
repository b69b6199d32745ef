//! One stream's counters, written by its pump: messages and bytes given to
//! C-core, and time spent paused by flow control. Plain relaxed atomics, so
//! the registry, the log and the metrics can read them while the stream runs
//! without ever blocking the pump. The pump is their only writer, so it
//! updates them with a load and a store, never a read-modify-write: those
//! lock the bus, which a message of "yes" pays for.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Writes that wait at least this long on C-core count as paused by flow
/// control; shorter waits are the completion queue's ordinary turn-around.
pub const PAUSE_THRESHOLD: Duration = Duration::from_millis(1);

/// What one stream has done so far.
pub struct Meter {
    started: Instant,
    messages: AtomicU64,
    bytes: AtomicU64,
    paused_ns: AtomicU64,
    waiting_since_ns: AtomicU64,
}

/// A [`Meter`]'s figures at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Reading {
    /// Messages given to C-core.
    pub messages: u64,
    /// Payload bytes given to C-core (without gRPC's 5-byte prefixes).
    pub bytes: u64,
    /// Time writes waited on C-core because the client's window (or the
    /// socket) was full, the wait under way included.
    pub paused: Duration,
    /// Whether a write is waiting that long at this moment.
    pub paused_now: bool,
    /// Time since the stream started.
    pub age: Duration,
}

impl Meter {
    /// A meter for a stream starting now.
    pub fn start() -> Meter {
        Meter {
            started: Instant::now(),
            messages: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            paused_ns: AtomicU64::new(0),
            waiting_since_ns: AtomicU64::new(0),
        }
    }

    /// The pump gave C-core `messages` more messages, of `bytes` payload
    /// bytes in all. (Only the pump calls this; see the module docs.)
    #[inline]
    pub fn sent(&self, messages: u64, bytes: u64) {
        add(&self.messages, messages);
        add(&self.bytes, bytes);
    }

    /// Nanoseconds since the stream started: the clock of its waits.
    pub fn clock(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// The pump started waiting for C-core to take a write at `now` (a
    /// [`Meter::clock`] reading).
    pub fn wait_began(&self, now: u64) {
        // +1: zero means "not waiting".
        self.waiting_since_ns.store(now + 1, Ordering::Relaxed);
    }

    /// C-core took the write (or the stream ended) after the wait began.
    /// Waits of at least [`PAUSE_THRESHOLD`] count as pauses. Returns the
    /// clock's reading, so that a wait beginning right after can start
    /// from it instead of reading the clock again.
    pub fn wait_ended(&self) -> u64 {
        let since = self.waiting_since_ns.load(Ordering::Relaxed);
        self.waiting_since_ns.store(0, Ordering::Relaxed);
        let now = self.clock();
        let waited = waited(since, now);
        if waited >= PAUSE_THRESHOLD {
            add(&self.paused_ns, waited.as_nanos() as u64);
        }
        now
    }

    /// The figures now.
    pub fn read(&self) -> Reading {
        let since = self.waiting_since_ns.load(Ordering::Relaxed);
        let now = self.clock();
        let ongoing = waited(since, now);
        let paused_now = ongoing >= PAUSE_THRESHOLD;
        let paused = Duration::from_nanos(self.paused_ns.load(Ordering::Relaxed));
        Reading {
            messages: self.messages.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            paused: if paused_now { paused + ongoing } else { paused },
            paused_now,
            age: Duration::from_nanos(now),
        }
    }
}

/// Adds `n` to a counter that only the calling thread writes.
#[inline]
fn add(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
}

/// How long a wait that began at `since` (a `waiting_since_ns` value: zero
/// for none) has lasted at `now`, both [`Meter::clock`] readings.
fn waited(since: u64, now: u64) -> Duration {
    match since {
        0 => Duration::ZERO,
        since => Duration::from_nanos(now.saturating_sub(since - 1)),
    }
}
