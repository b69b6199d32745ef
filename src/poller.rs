//! A completion-queue thread that no call ever uses, so that some thread is
//! always polling the server's sockets.
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

use grpcio::{EnvBuilder, Environment};

/// Keeps one polling thread until dropped.
pub struct Poller {
    _env: Environment,
}

impl Poller {
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
