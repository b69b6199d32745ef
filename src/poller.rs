//! A completion-queue thread that no call ever uses, so that some thread is
//! always polling the server's sockets, on the C-cores that need one.
//!
//! Why: C-core reads sockets only from inside `grpc_completion_queue_next`,
//! and only when that queue has no completion ready to return. The streams'
//! pumps run on the completion-queue threads, and each reply they hand over
//! completes at once (a send waits only once C-core holds
//! `--http2-write-buffer` bytes or 1,024 of the stream's replies), so while enough
//! streams have window left, every queue always has a completion ready and
//! no thread polls for seconds. Nothing is read meanwhile: not the
//! WINDOW_UPDATEs of fast readers (which stalled for seconds at exactly
//! their initial window while 100 slow readers' windows were being filled),
//! not new calls, pings or cancellations. The fault suite's soak found it
//! (tests/faults.rs).
//!
//! With the epoll engine C-core uses on Linux, every thread in
//! `grpc_completion_queue_next` takes part in polling one shared epoll set,
//! so a queue that never gets a completion keeps a poller at work whatever
//! the busy queues do. It costs a thread that sleeps in `epoll_wait` when
//! there is nothing to read.
//!
//! C-core 1.85 reads sockets on its EventEngine's threads instead, so there
//! the thread earns nothing and is not started. Measured with the fault
//! suite's soak (100 slow readers filling while a health check is sent on
//! a warm connection): on 1.51 without this thread the check was answered
//! only once 66 and 76 of the 100 were paused and a fast stream stood still
//! for a second; with it, at 0 in each of three runs. On 1.85 without it: 0
//! in each run, and the fast streams never below 12,000 msgs in a second.

use grpcio::{EnvBuilder, Environment};

/// The first C-core (by its own version number, see [`crate::ccore`]) known
/// to read sockets on EventEngine threads: gRPC 1.85. C-cores between 1.51
/// and 1.85 are not measured, and keep the thread.
const READS_ON_EVENT_ENGINE: u32 = 58;

/// Whether the linked C-core reads sockets (and accepts connections) only
/// on threads inside `grpc_completion_queue_next`, and so needs the thread.
pub fn needed() -> bool {
    crate::ccore::major() < READS_ON_EVENT_ENGINE
}

/// Keeps one polling thread until dropped.
pub struct Poller {
    _env: Environment,
}

impl Poller {
    /// Starts the polling thread if the linked C-core needs one.
    pub fn start_if_needed() -> Option<Poller> {
        needed().then(Poller::start)
    }

    /// Starts the polling thread (named `yes-poll-0`).
    pub fn start() -> Poller {
        Poller {
            _env: EnvBuilder::new()
                .cq_count(1)
                .name_prefix("yes-poll")
                .build(),
        }
    }
}
