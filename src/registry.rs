//! Every stream of one server: the live ones, why each one ended, and
//! totals. The handler registers a stream here before it starts its tasks
//! and reports its end here; the log, the metrics, shutdown and the tests
//! read from here. Nothing on a stream's write path goes through it.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::codec::Method;
use crate::end::{ByReason, End, Reason};
use crate::meter::Meter;
use crate::pipe::Pipe;

/// One live stream: who it is, its hand-off pipe, and its counters. The
/// producer and the pump borrow the pipe and the meter from it; the
/// registry keeps it to read its figures and to end it at shutdown.
pub struct Stream {
    /// A number unique within this server's lifetime.
    pub id: u64,
    /// The method called.
    pub method: Method,
    /// The client's address, as C-core reports it.
    pub peer: String,
    /// The hand-off between producer and pump.
    pub pipe: Pipe,
    /// What the pump has written, and how long it waited.
    pub meter: Meter,
}

impl Stream {
    /// The stream's figures now.
    pub fn snapshot(&self) -> StreamSnapshot {
        let read = self.meter.read();
        StreamSnapshot {
            id: self.id,
            method: self.method,
            peer: self.peer.clone(),
            messages: read.messages,
            bytes: read.bytes,
            held: self.pipe.held(),
            max_held: self.pipe.max_held(),
            paused: read.paused,
            paused_now: read.paused_now,
            age: read.age,
        }
    }
}

/// A stream's figures at one moment.
#[derive(Clone, Debug)]
pub struct StreamSnapshot {
    /// See [`Stream::id`].
    pub id: u64,
    /// See [`Stream::method`].
    pub method: Method,
    /// See [`Stream::peer`].
    pub peer: String,
    /// Messages given to C-core.
    pub messages: u64,
    /// Payload bytes given to C-core (without gRPC's 5-byte prefixes).
    pub bytes: u64,
    /// Bytes produced and not yet given to C-core.
    pub held: usize,
    /// The most bytes held at once.
    pub max_held: usize,
    /// Time writes waited on C-core because the client's window (or the
    /// socket) was full: the producer's pauses by flow control.
    pub paused: Duration,
    /// Whether the producer is paused by flow control at this moment: what
    /// a slow reader's stream spends most of its life doing.
    pub paused_now: bool,
    /// Time since the stream started.
    pub age: Duration,
}

/// A finished stream, as logged.
#[derive(Clone, Debug)]
pub struct StreamReport {
    /// The stream's last figures.
    pub last: StreamSnapshot,
    /// Why it ended.
    pub end: End,
}

impl fmt::Display for StreamReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.last;
        write!(
            f,
            "stream {} {} from {} ended: {}; messages={} bytes={} duration={:.3}s \
             paused={:.3}s max_held={}",
            s.id,
            s.method,
            s.peer,
            self.end,
            s.messages,
            s.bytes,
            s.age.as_secs_f64(),
            s.paused.as_secs_f64(),
            s.max_held
        )
    }
}

/// Totals over every stream, live and ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Streams started.
    pub started: u64,
    /// Streams live now.
    pub active: u64,
    /// Ended streams by reason.
    pub ended: ByReason,
    /// Messages given to C-core.
    pub messages: u64,
    /// Payload bytes given to C-core.
    pub bytes: u64,
}

impl Totals {
    /// How many streams ended for `reason`.
    pub fn ended(&self, reason: Reason) -> u64 {
        self.ended[reason]
    }
}

/// Totals of one method over all its streams, live and ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MethodTotals {
    /// The method.
    pub method: Method,
    /// Streams live now.
    pub active: u64,
    /// Ended streams by reason.
    pub ended: ByReason,
    /// Messages given to C-core.
    pub messages: u64,
    /// Payload bytes given to C-core.
    pub bytes: u64,
    /// Time the streams' writes waited on the clients' windows.
    pub paused: Duration,
    /// Live streams paused by flow control right now.
    pub paused_now: u64,
}

impl MethodTotals {
    /// How many streams ended for `reason`.
    pub fn ended(&self, reason: Reason) -> u64 {
        self.ended[reason]
    }
}

/// Every stream of one server.
#[derive(Default)]
pub struct Registry {
    next_id: AtomicU64,
    closed: AtomicBool,
    /// The live streams' number, readable without the lock; changed only
    /// with `active`, under its lock.
    live: AtomicUsize,
    active: Mutex<HashMap<u64, Arc<Stream>>>,
    changes: Mutex<u64>,
    changed: Condvar,
    finished: Mutex<Finished>,
}

#[derive(Default)]
struct Finished {
    by_method: [MethodFinished; Method::ALL.len()],
}

#[derive(Default, Clone, Copy)]
struct MethodFinished {
    ended: ByReason,
    messages: u64,
    bytes: u64,
    paused: Duration,
}

/// Returned by [`Registry::open`] once the registry is closed: the server
/// is shutting down.
#[derive(Debug)]
pub struct Closed;

impl Registry {
    fn active(&self) -> MutexGuard<'_, HashMap<u64, Arc<Stream>>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new stream whose producer is woken at `low_water` held bytes.
    pub fn open(
        &self,
        method: Method,
        peer: String,
        low_water: usize,
    ) -> Result<Arc<Stream>, Closed> {
        let mut active = self.active();
        // Checked under the lock, so `close` ends every stream it misses.
        if self.closed.load(Ordering::Acquire) {
            return Err(Closed);
        }
        let stream = Arc::new(Stream {
            id: self.next_id.fetch_add(1, Ordering::Relaxed) + 1,
            method,
            peer,
            pipe: Pipe::new(low_water),
            meter: Meter::start(),
        });
        active.insert(stream.id, stream.clone());
        self.live.fetch_add(1, Ordering::Relaxed);
        drop(active);
        self.changed();
        Ok(stream)
    }

    /// Removes a stream that ended for `end` and returns its report.
    pub fn finish(&self, stream: &Stream, end: End) -> StreamReport {
        let last = stream.snapshot();
        {
            let mut finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
            let method = &mut finished.by_method[last.method as usize];
            method.ended[end.reason()] += 1;
            method.messages += last.messages;
            method.bytes += last.bytes;
            method.paused += last.paused;
        }
        {
            let mut active = self.active();
            if active.remove(&stream.id).is_some() {
                self.live.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.changed();
        StreamReport { last, end }
    }

    /// The live streams' figures.
    pub fn streams(&self) -> Vec<StreamSnapshot> {
        let mut streams: Vec<_> = self.active().values().map(|s| s.snapshot()).collect();
        streams.sort_by_key(|s| s.id);
        streams
    }

    /// The number of live streams, without taking the registry's lock: a
    /// pump reads it every few writes (it sizes C-core's share of each
    /// stream's replies by it).
    pub fn active_count(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Totals over all streams so far.
    pub fn totals(&self) -> Totals {
        let by_method = self.by_method();
        Totals {
            started: self.next_id.load(Ordering::Relaxed),
            active: by_method.iter().map(|m| m.active).sum(),
            ended: by_method.iter().map(|m| m.ended).sum(),
            messages: by_method.iter().map(|m| m.messages).sum(),
            bytes: by_method.iter().map(|m| m.bytes).sum(),
        }
    }

    /// Totals per method over all streams so far, live ones included.
    pub fn by_method(&self) -> Vec<MethodTotals> {
        let live = self.streams();
        let finished = self.finished.lock().unwrap_or_else(|e| e.into_inner());
        Method::ALL
            .iter()
            .map(|&method| {
                let done = finished.by_method[method as usize];
                let live = live.iter().filter(|s| s.method == method);
                let (mut active, mut messages, mut bytes, mut paused, mut paused_now) =
                    (0, done.messages, done.bytes, done.paused, 0);
                for stream in live {
                    active += 1;
                    messages += stream.messages;
                    bytes += stream.bytes;
                    paused += stream.paused;
                    paused_now += u64::from(stream.paused_now);
                }
                MethodTotals {
                    method,
                    active,
                    ended: done.ended,
                    messages,
                    bytes,
                    paused,
                    paused_now,
                }
            })
            .collect()
    }

    /// Refuses new streams from now on and ends every live one for
    /// shutdown. Returns how many it ended.
    pub fn close(&self) -> usize {
        let streams: Vec<_> = {
            let active = self.active();
            self.closed.store(true, Ordering::Release);
            active.values().cloned().collect()
        };
        streams
            .iter()
            .filter(|s| s.pipe.close(End::Shutdown))
            .count()
    }

    /// Blocks until no stream is live, or `limit` passes; says which.
    pub fn wait_idle(&self, limit: Duration) -> bool {
        self.wait_for(limit, |totals| totals.active == 0)
    }

    fn changed(&self) {
        *self.changes.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.changed.notify_all();
    }

    /// Blocks until `done` holds for the totals (checked whenever a stream
    /// starts or ends), or `limit` passes; says which.
    pub fn wait_for(&self, limit: Duration, mut done: impl FnMut(&Totals) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        let lock = || self.changes.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let seen = *lock();
            if done(&self.totals()) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // Sleep only if nothing changed since `seen`: no change is missed.
            let changes = lock();
            if *changes == seen {
                drop(self.changed.wait_timeout(changes, left));
            }
        }
    }
}
