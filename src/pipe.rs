//! The hand-off between one stream's producer and its pump.
//!
//! The producer is an async-std task; the pump runs on the call's
//! completion-queue thread and writes into grpcio's sink. Every byte the
//! producer hands over is counted as *held* until the pump has given it to
//! C-core, so the producer's lead over the sink is a number both sides (and
//! tests) can read. Waking another thread costs far more than writing one
//! small message, so both sides wake each other only at marks, not per
//! message: the pump when the pipe goes from empty to non-empty, the producer
//! when the held bytes fall to its low-water mark.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};

use futures::task::AtomicWaker;

use crate::codec::Encoded;
use crate::end::End;

/// Replies handed from producer to pump in one piece.
#[derive(Debug)]
pub enum Chunk {
    /// `count` copies of one encoded reply, which all share its buffer.
    Repeat {
        /// The reply.
        reply: Encoded,
        /// How many times it is sent.
        count: usize,
    },
    /// Replies encoded one after another into one buffer, each `len` bytes.
    Packed {
        /// The encodings, back to back.
        bytes: Vec<u8>,
        /// The length of each one.
        len: usize,
    },
}

impl Chunk {
    /// The payload bytes the chunk stands for.
    pub fn bytes(&self) -> usize {
        match self {
            Chunk::Repeat { reply, count } => reply.len() * count,
            Chunk::Packed { bytes, .. } => bytes.len(),
        }
    }

    /// The number of replies in the chunk.
    pub fn count(&self) -> usize {
        match self {
            Chunk::Repeat { count, .. } => *count,
            Chunk::Packed { bytes, len } => bytes.len() / len,
        }
    }

    /// The `index`-th reply of the chunk.
    pub fn reply(&self, index: usize) -> Encoded {
        match self {
            Chunk::Repeat { reply, .. } => reply.clone(),
            Chunk::Packed { bytes, len } => Encoded::from_bytes(&bytes[index * len..][..*len]),
        }
    }
}

/// A byte-counted queue of chunks with one producer and one consumer.
pub struct Pipe {
    queue: Mutex<Queue>,
    held: AtomicUsize,
    max_held: AtomicUsize,
    closed: AtomicBool,
    low_water: usize,
    producer: AtomicWaker,
    pump: AtomicWaker,
}

struct Queue {
    chunks: VecDeque<Chunk>,
    end: Option<End>,
}

impl Pipe {
    /// A pipe whose producer, when it waits, is woken once `held() <= low_water`.
    pub fn new(low_water: usize) -> Pipe {
        Pipe {
            queue: Mutex::new(Queue {
                chunks: VecDeque::new(),
                end: None,
            }),
            held: AtomicUsize::new(0),
            max_held: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            low_water,
            producer: AtomicWaker::new(),
            pump: AtomicWaker::new(),
        }
    }

    /// Bytes handed to the pipe and not yet given to C-core.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// The most bytes ever held at once.
    pub fn max_held(&self) -> usize {
        self.max_held.load(Ordering::Relaxed)
    }

    /// Whether the stream has ended.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Why the stream ended, once it has.
    pub fn end(&self) -> Option<End> {
        self.lock().end.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // The lock guards plain data; a panic elsewhere cannot leave it torn.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Producer: appends `chunk`, or returns why the stream ended.
    /// A repeat of the reply at the tail only raises the tail's count.
    pub fn push(&self, chunk: Chunk) -> Result<(), End> {
        let bytes = chunk.bytes();
        let was_empty = {
            let mut queue = self.lock();
            if let Some(end) = &queue.end {
                return Err(end.clone());
            }
            let was_empty = queue.chunks.is_empty();
            match (queue.chunks.back_mut(), chunk) {
                (
                    Some(Chunk::Repeat { reply, count }),
                    Chunk::Repeat {
                        reply: next,
                        count: more,
                    },
                ) if reply.same_as(&next) => *count += more,
                (_, chunk) => queue.chunks.push_back(chunk),
            }
            let held = self.held.fetch_add(bytes, Ordering::AcqRel) + bytes;
            self.max_held.fetch_max(held, Ordering::Relaxed);
            was_empty
        };
        if was_empty {
            self.pump.wake();
        }
        Ok(())
    }

    /// Producer: waits until at most the low-water mark is held, or the
    /// stream ends (then returns why).
    pub fn drained(&self) -> Drained<'_> {
        Drained { pipe: self }
    }

    /// Pump: takes the next chunk; `Ready(None)` once the stream has ended.
    pub fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        // Register first, so a push between the check and the return wakes us.
        self.pump.register(cx.waker());
        let mut queue = self.lock();
        if queue.end.is_some() {
            return Poll::Ready(None);
        }
        match queue.chunks.pop_front() {
            Some(chunk) => Poll::Ready(Some(chunk)),
            None => Poll::Pending,
        }
    }

    /// Pump: whether another chunk is already waiting (then the write in hand
    /// may be buffered by C-core, because another follows it at once).
    pub fn has_queued(&self) -> bool {
        !self.lock().chunks.is_empty()
    }

    /// Pump: `bytes` have been given to C-core.
    pub fn consumed(&self, bytes: usize) {
        let held = self.held.fetch_sub(bytes, Ordering::AcqRel) - bytes;
        if held <= self.low_water {
            self.producer.wake();
        }
    }

    /// Pump: registers to be woken when the stream is closed, and says
    /// whether it already is.
    pub fn poll_closed(&self, cx: &mut Context<'_>) -> bool {
        if self.is_closed() {
            return true;
        }
        self.pump.register(cx.waker());
        self.is_closed()
    }

    /// Ends the stream for `end`, unless it already ended; frees every queued
    /// chunk and wakes both sides. Returns whether this call ended it. (The
    /// chunk in the pump's hands stays counted until the pump lets it go.)
    pub fn close(&self, end: End) -> bool {
        let dropped = {
            let mut queue = self.lock();
            if queue.end.is_some() {
                return false;
            }
            queue.end = Some(end);
            self.closed.store(true, Ordering::Release);
            let dropped = std::mem::take(&mut queue.chunks);
            let freed: usize = dropped.iter().map(Chunk::bytes).sum();
            self.held.fetch_sub(freed, Ordering::AcqRel);
            dropped
        };
        drop(dropped);
        self.producer.wake();
        self.pump.wake();
        true
    }
}

/// The future returned by [`Pipe::drained`].
pub struct Drained<'a> {
    pipe: &'a Pipe,
}

impl Future for Drained<'_> {
    type Output = Result<(), End>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let pipe = self.pipe;
        for attempt in 0..2 {
            if pipe.is_closed() {
                return Poll::Ready(Err(pipe.end().expect("a closed pipe has an end")));
            }
            if pipe.held() <= pipe.low_water {
                return Poll::Ready(Ok(()));
            }
            if attempt == 0 {
                pipe.producer.register(cx.waker());
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::task::noop_waker_ref;

    fn yes() -> Encoded {
        Encoded::reply("yes")
    }

    #[test]
    fn repeats_of_one_reply_merge_and_count_bytes() {
        let pipe = Pipe::new(0);
        pipe.push(Chunk::Repeat {
            reply: yes(),
            count: 3,
        })
        .unwrap();
        pipe.push(Chunk::Repeat {
            reply: yes(),
            count: 2,
        })
        .unwrap();
        assert_eq!(pipe.held(), 25);
        let mut cx = Context::from_waker(noop_waker_ref());
        let Poll::Ready(Some(chunk)) = pipe.poll_pop(&mut cx) else {
            panic!("a chunk is queued")
        };
        assert_eq!(chunk.count(), 5);
        assert!(pipe.poll_pop(&mut cx).is_pending());
        pipe.consumed(25);
        assert_eq!(pipe.held(), 0);
        assert_eq!(pipe.max_held(), 25);
    }

    #[test]
    fn packed_chunks_split_into_replies() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(yes().as_bytes());
        bytes.extend_from_slice(yes().as_bytes());
        let chunk = Chunk::Packed { bytes, len: 5 };
        assert_eq!(chunk.count(), 2);
        assert_eq!(chunk.reply(1).as_bytes(), yes().as_bytes());
    }

    #[test]
    fn drained_waits_for_the_low_water_mark() {
        let pipe = Pipe::new(5);
        pipe.push(Chunk::Repeat {
            reply: yes(),
            count: 2,
        })
        .unwrap();
        let mut cx = Context::from_waker(noop_waker_ref());
        let mut drained = pipe.drained();
        assert!(Pin::new(&mut drained).poll(&mut cx).is_pending());
        pipe.consumed(5);
        assert_eq!(Pin::new(&mut drained).poll(&mut cx), Poll::Ready(Ok(())));
    }

    #[test]
    fn close_frees_the_queue_and_reports_the_end() {
        let pipe = Pipe::new(0);
        pipe.push(Chunk::Repeat {
            reply: yes(),
            count: 1000,
        })
        .unwrap();
        let mut cx = Context::from_waker(noop_waker_ref());
        let Poll::Ready(Some(in_hand)) = pipe.poll_pop(&mut cx) else {
            panic!("a chunk is queued")
        };
        pipe.consumed(5);
        pipe.push(Chunk::Repeat {
            reply: Encoded::reply("no"),
            count: 10,
        })
        .unwrap();
        assert!(pipe.close(End::Shutdown));
        assert_eq!(pipe.held(), 4995, "only the pump's chunk stays counted");
        pipe.consumed(in_hand.bytes() - 5);
        assert!(!pipe.close(End::Cancelled), "the first end wins");
        assert_eq!(pipe.held(), 0);
        assert!(!pipe.has_queued());
        assert_eq!(
            pipe.push(Chunk::Repeat {
                reply: yes(),
                count: 1
            }),
            Err(End::Shutdown)
        );
        assert_eq!(
            pipe.poll_pop(&mut cx).map(|c| c.is_some()),
            Poll::Ready(false)
        );
        let mut drained = pipe.drained();
        assert_eq!(
            Pin::new(&mut drained).poll(&mut cx),
            Poll::Ready(Err(End::Shutdown))
        );
    }
}
