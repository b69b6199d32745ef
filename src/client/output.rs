//! The client's output: lines gathered in memory and written by a thread of
//! its own, in large writes, without ever keeping a line for long.
//!
//! The reading side appends lines under a lock (cheap, and almost never
//! contended). The writer thread takes everything gathered whenever 64 KiB
//! have piled up or [`FLUSH_EVERY`] has passed, so a fast stream is written
//! in large blocks and a slow one still shows each line within a few
//! milliseconds. Once [`PENDING_LIMIT`] bytes wait, the reading side waits
//! too: that is how a slow reader of stdout slows the call down.

use std::future::poll_fn;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Poll;
use std::thread::JoinHandle;
use std::time::Duration;

use futures::task::AtomicWaker;

/// Bytes gathered before the writer is woken at once.
pub const WRITE_BLOCK: usize = 64 * 1024;

/// Bytes that may wait for the writer before the reading side waits.
pub const PENDING_LIMIT: usize = 2 * WRITE_BLOCK;

/// The longest a line waits before the writer takes it.
pub const FLUSH_EVERY: Duration = Duration::from_millis(10);

/// The reading side's handle; dropping it (or [`Output::finish`]) lets the
/// writer write what is left and stop.
pub struct Output {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<io::Result<()>>>,
}

struct Shared {
    state: Mutex<State>,
    wake_writer: Condvar,
    wake_reader: AtomicWaker,
}

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    finished: bool,
    failed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The writer failed (the reader of the output went away, or another error,
/// which [`Output::finish`] returns).
#[derive(Debug)]
pub struct Closed;

impl Output {
    /// Starts the writer thread on `sink`.
    pub fn start(sink: impl Write + Send + 'static) -> Output {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake_writer: Condvar::new(),
            wake_reader: AtomicWaker::new(),
        });
        let writer = {
            let shared = shared.clone();
            std::thread::spawn(move || write_loop(&shared, sink))
        };
        Output {
            shared,
            writer: Some(writer),
        }
    }

    /// Appends `line` and a newline; waits while too much is pending.
    pub async fn line(&self, line: &[u8]) -> Result<(), Closed> {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if state.failed {
                return Poll::Ready(Err(Closed));
            }
            if state.pending.len() >= PENDING_LIMIT {
                self.shared.wake_reader.register(cx.waker());
                return Poll::Pending;
            }
            state.pending.extend_from_slice(line);
            state.pending.push(b'\n');
            if state.pending.len() >= WRITE_BLOCK {
                self.shared.wake_writer.notify_one();
            }
            Poll::Ready(Ok(()))
        })
        .await
    }

    /// Writes what is pending, stops the writer, and returns how it went.
    pub fn finish(mut self) -> io::Result<()> {
        self.stop();
        let writer = self.writer.take().expect("finish runs once");
        writer.join().expect("the writer thread does not panic")
    }

    fn stop(&self) {
        self.shared.lock().finished = true;
        self.shared.wake_writer.notify_one();
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if self.writer.is_some() {
            self.stop();
        }
    }
}

fn write_loop(shared: &Shared, mut sink: impl Write) -> io::Result<()> {
    let mut spare = Vec::with_capacity(PENDING_LIMIT);
    loop {
        let (mut block, finished) = {
            let mut state = shared.lock();
            if state.pending.len() < WRITE_BLOCK && !state.finished {
                state = shared
                    .wake_writer
                    .wait_timeout(state, FLUSH_EVERY)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            spare.clear();
            (std::mem::replace(&mut state.pending, spare), state.finished)
        };
        shared.wake_reader.wake();
        let written = if block.is_empty() {
            Ok(())
        } else {
            sink.write_all(&block)
        };
        if let Err(e) = written.and_then(|()| if finished { sink.flush() } else { Ok(()) }) {
            shared.lock().failed = true;
            shared.wake_reader.wake();
            return Err(e);
        }
        if finished {
            return Ok(());
        }
        block.clear();
        spare = block;
    }
}
