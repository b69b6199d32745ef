//! The pump: moves one stream's replies from its pipe into grpcio's sink,
//! one write at a time, as fast as C-core takes them, and ends the call.
//! It runs on the call's completion-queue thread.

use std::future::poll_fn;
use std::task::Poll;
use std::time::Duration;

use futures::SinkExt;
use grpcio::{Deadline, RpcStatus, RpcStatusCode, ServerStreamingSink, WriteFlags};
use log::debug;

use crate::codec::Encoded;
use crate::end::End;
use crate::executor;
use crate::meter::Meter;
use crate::pipe::{Chunk, Pipe};
use crate::registry::{Registry, Stream};

/// The most replies of one stream C-core may hold in its write buffer, when
/// few streams are open: every this many in a row, a reply goes without
/// the buffer hint even though more follow. [`buffered_replies_cap`] says
/// how many when more streams share the server.
///
/// C-core keeps each buffered reply as slices of its own (about 64 bytes
/// however small the reply), and with the hint it completes a write at once
/// until a whole write buffer (`--http2-write-buffer`, 64 KiB) waits unsent.
/// For a client that stopped reading that would be 6,500 replies of "yes",
/// ~420 KB. A write without the hint completes only once C-core has framed
/// it, which a full window prevents, so this caps what a stalled stream of
/// small replies holds in C-core at ~16 KB. Replies of 1 KiB and more fill
/// the write buffer first, and keep all of it, which is what their
/// throughput needs.
///
/// Each write without the hint makes C-core write to the socket, so the
/// cap is what one stream of tiny replies pays for: with the floor's
/// bare loop (server on one CPU, one stream of "yes"), every 64th reply
/// unhinted cost 2.70-2.82 µs of server CPU a message against 2.28-2.33
/// never unhinted, every 256th 2.24-2.27, every 1,024th 1.94-2.21.
pub const MAX_BUFFERED_REPLIES: usize = 256;

/// The fewest replies of one stream C-core may hold in its write buffer
/// (with many streams open; see [`buffered_replies_cap`]).
///
/// Why not fewer: at 1,000 streams of "yes" on one connection a cap of 16
/// lost to 64 (66-79 k msgs/s against 76-107 k); why not more there: a cap
/// of 1,024 gave 15-24 k msgs/s at 61-98 µs of server CPU a message, as
/// every stream's buffered replies are work C-core redoes
/// (docs/benchmarks.md, "From one stream to a thousand").
pub const MIN_BUFFERED_REPLIES: usize = 64;

/// How many replies all streams together may leave in C-core's write
/// buffers before each stream's cap shrinks from [`MAX_BUFFERED_REPLIES`]
/// toward [`MIN_BUFFERED_REPLIES`]: 16 streams take 256 each, 64 and more
/// take 64 each, so a server of many stalled streams holds no more in C-core
/// than with a cap of 64 for all.
pub const SHARED_BUFFERED_REPLIES: usize = 4096;

/// The most replies in a row one stream may write with the buffer hint
/// while `streams` streams are open.
pub fn buffered_replies_cap(streams: usize) -> usize {
    (SHARED_BUFFERED_REPLIES / streams.max(1)).clamp(MIN_BUFFERED_REPLIES, MAX_BUFFERED_REPLIES)
}

/// The sink stopped taking writes: the call is over on the client's side.
struct SinkFailed;

/// Writes the pipe's replies into the sink until the stream ends, then ends
/// the call: with a status when the server ended the stream, by dropping the
/// sink (never polled again) when the call failed under it. Returns why the
/// stream ended. `write_buffer` is C-core's HTTP/2 write buffer in bytes
/// (which tells the pump which writes can wait for the client); `registry`
/// holds every stream of the server.
pub async fn run(
    stream: &Stream,
    mut sink: ServerStreamingSink<Encoded>,
    deadline: Deadline,
    write_buffer: usize,
    registry: &Registry,
) -> End {
    let Stream { pipe, meter, .. } = stream;
    let writes = Writes::new(write_buffer);
    match write_all(pipe, meter, &mut sink, writes, registry).await {
        Err(SinkFailed) => {
            // Stop the producer and free the queue at once; only the
            // reason may take a moment longer to settle.
            pipe.close(End::Cancelled);
            drop(sink);
            client_end(deadline).await
        }
        Ok(()) => {
            let end = pipe
                .end()
                .expect("write_all returns once the pipe is closed");
            if let Err(e) = sink.fail(status_for(&end)).await {
                debug!(
                    "stream {}: the client did not get its status: {e}",
                    stream.id
                );
            }
            end
        }
    }
}

/// How close to its deadline a cancelled call counts as timed out: the
/// client's own timer and the server's race, and the client's RST_STREAM
/// may arrive a hair before the server's deadline passes.
pub const DEADLINE_SLACK: Duration = Duration::from_millis(20);

/// Why a call that failed under the pump ended. C-core tells the server
/// only that the call was cancelled; its deadline tells the rest.
async fn client_end(deadline: Deadline) -> End {
    if !deadline.exceeded() {
        executor::sleep(DEADLINE_SLACK).await;
    }
    if deadline.exceeded() {
        End::Deadline
    } else {
        End::Cancelled
    }
}

/// The status a client gets when the server ends its stream.
fn status_for(end: &End) -> RpcStatus {
    match end {
        End::BudgetExceeded { held, budget } => RpcStatus::with_message(
            RpcStatusCode::RESOURCE_EXHAUSTED,
            format!(
                "Yes does not wait for the client, and this client reads slower than the \
                 server writes: {held} bytes were held for the stream, over its budget of \
                 {budget} bytes. Use YesWithFc, which waits for the client's window."
            ),
        ),
        End::Shutdown => RpcStatus::with_message(RpcStatusCode::UNAVAILABLE, end.to_string()),
        // Client-side ends: the call is already over, nobody reads a status.
        End::Cancelled | End::Deadline => {
            RpcStatus::with_message(RpcStatusCode::CANCELLED, end.to_string())
        }
    }
}

/// Moves chunks from the pipe into the sink; `Ok` once the pipe is closed.
async fn write_all(
    pipe: &Pipe,
    meter: &Meter,
    sink: &mut ServerStreamingSink<Encoded>,
    mut writes: Writes,
    registry: &Registry,
) -> Result<(), SinkFailed> {
    let result = loop {
        let Some(chunk) = poll_fn(|cx| pipe.poll_pop(cx)).await else {
            break Ok(());
        };
        // The pump may have waited for the chunk: no wait begins earlier.
        writes.last_wait_end = None;
        let written = write_chunk(pipe, meter, sink, &mut writes, registry, &chunk).await;
        if let Err(ended) = written {
            break ended;
        }
    };
    writes.report(pipe, meter);
    result
}

/// Writes one chunk's replies. `Err(Ok(()))`: the pipe was closed, and the
/// rest of the chunk let go; `Err(Err(_))`: the call failed.
async fn write_chunk(
    pipe: &Pipe,
    meter: &Meter,
    sink: &mut ServerStreamingSink<Encoded>,
    writes: &mut Writes,
    registry: &Registry,
    chunk: &Chunk,
) -> Result<(), Result<(), SinkFailed>> {
    let count = chunk.count();
    for index in 0..count {
        let ended = match writable(pipe, meter, sink, writes).await {
            Ok(true) => None,
            Ok(false) => Some(Ok(())),
            Err(failed) => Some(Err(failed)),
        };
        if let Some(ended) = ended {
            // Let go of the rest of the chunk.
            pipe.consumed(chunk.bytes() / count * (count - index));
            return Err(ended);
        }
        let reply = chunk.reply(index);
        let more = index + 1 < count || pipe.has_queued();
        let flags = writes.flags(reply.len(), more, registry.active_count());
        sink.start_send_unpin((reply, flags))
            .map_err(|_| Err(SinkFailed))?;
    }
    Ok(())
}

/// Waits until C-core takes another write (`true`) or the pipe is closed
/// (`false`); the meter counts long waits as pauses by flow control.
///
/// Only a write that [may wait](Writes::may_wait) for the client's window
/// is timed (a clock read as it ends, and one as it begins unless the last
/// write was timed too), and before it the counters are brought up to date
/// when [due](Writes::report_due), so that a stalled stream's figures are
/// current to within a few replies. Every other write completes as soon as
/// the completion queue's turn comes round, so its wait is not a pause, and
/// it costs no clock read.
async fn writable(
    pipe: &Pipe,
    meter: &Meter,
    sink: &mut ServerStreamingSink<Encoded>,
    writes: &mut Writes,
) -> Result<bool, SinkFailed> {
    let timed = writes.may_wait;
    if timed && writes.report_due() {
        writes.report(pipe, meter);
    }
    // A timed wait right after another began when that one ended: the
    // write between them is not worth a clock read.
    let clock = writes.last_wait_end.take().filter(|_| timed);
    let mut waiting = false;
    let ready = poll_fn(|cx| {
        if pipe.is_closed() {
            return Poll::Ready(Ok(false));
        }
        match sink.poll_ready_unpin(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(true)),
            Poll::Ready(Err(_)) => Poll::Ready(Err(SinkFailed)),
            Poll::Pending => {
                if pipe.poll_closed(cx) {
                    return Poll::Ready(Ok(false));
                }
                if timed && !waiting {
                    waiting = true;
                    meter.wait_began(clock.unwrap_or_else(|| meter.clock()));
                }
                Poll::Pending
            }
        }
    })
    .await;
    if waiting {
        writes.last_wait_end = Some(meter.wait_ended());
    }
    ready
}

/// The pump's record of the writes it has handed C-core: how to hint the
/// next one, whether the one in flight may wait for the client's window,
/// and what was given since the pipe and the meter were last told.
///
/// C-core completes a write with the buffer hint at once while the stream's
/// unsent bytes stay within its write buffer; a write without the hint, or
/// one past the buffer, completes only once it is framed, which a full
/// window prevents. So only those writes can wait on the client. (Ending
/// every run of hints at a write buffer's worth of bytes would leave only
/// unhinted writes able to wait, but 64 KiB replies, all unhinted then,
/// took 32-42 µs of server CPU a message against 29-36 with the hint, in
/// three alternating runs: behind a hinted write C-core keeps a buffer's
/// worth queued and writes as the socket drains, behind one without it
/// nothing.)
struct Writes {
    write_buffer: usize,
    /// Replies written with the hint since the last one without it.
    hinted: usize,
    /// How many may be, before one goes without ([`buffered_replies_cap`]).
    cap: usize,
    /// Their bytes on the wire (with gRPC's 5-byte prefixes).
    hinted_bytes: usize,
    /// Whether the write in flight may wait for the client's window.
    may_wait: bool,
    /// Messages and payload bytes given to C-core, not yet reported.
    given: (u64, usize),
    /// Whether the next write is the stream's first.
    first: bool,
    /// When the last timed wait ended, while only the write after it has
    /// happened since.
    last_wait_end: Option<u64>,
}

/// How many bytes given to C-core may go unreported while writes past a
/// full write buffer follow one another: the pipe's producer and the
/// figures lag by no more.
const REPORT_BYTES: usize = 16 * 1024;

/// gRPC's length prefix: what each message adds on the wire.
const PREFIX_BYTES: usize = 5;

impl Writes {
    fn new(write_buffer: usize) -> Writes {
        Writes {
            write_buffer,
            hinted: 0,
            cap: MIN_BUFFERED_REPLIES,
            hinted_bytes: 0,
            may_wait: false,
            given: (0, 0),
            first: true,
            last_wait_end: None,
        }
    }

    /// The flags for a write of `len` payload bytes, which is being handed
    /// to C-core while `streams` streams are open: with the buffer hint when
    /// `more` replies follow at once, but never [`buffered_replies_cap`] in
    /// a row.
    fn flags(&mut self, len: usize, more: bool, streams: usize) -> WriteFlags {
        let hint = more && self.hinted + 1 < self.cap;
        // grpcio sends the first reply, with the headers, without the hint.
        let first = std::mem::replace(&mut self.first, false);
        if hint && !first {
            self.hinted += 1;
            self.hinted_bytes += len + PREFIX_BYTES;
            self.may_wait = self.hinted_bytes > self.write_buffer;
        } else {
            self.hinted = 0;
            self.hinted_bytes = 0;
            self.may_wait = true;
            self.cap = buffered_replies_cap(streams);
        }
        self.given.0 += 1;
        self.given.1 += len;
        WriteFlags::default().buffer_hint(hint)
    }

    /// Whether to report before waiting on the write in flight: always
    /// after one without the hint (every few hundred small replies), and
    /// every [`REPORT_BYTES`] among writes past a full buffer.
    fn report_due(&self) -> bool {
        // No hinted reply since the last write without the hint: the write
        // in flight is that one.
        self.hinted == 0 || self.given.1 >= REPORT_BYTES
    }

    /// Tells the pipe and the meter what was given to C-core since last time.
    fn report(&mut self, pipe: &Pipe, meter: &Meter) {
        let (messages, bytes) = std::mem::take(&mut self.given);
        if messages > 0 {
            pipe.consumed(bytes);
            meter.sent(messages, bytes as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::Chunk;

    /// Which of `count` writes of `len` bytes, more following each, may wait,
    /// with `streams` open.
    fn waiting_writes(len: usize, count: usize, streams: usize) -> Vec<usize> {
        let mut writes = Writes::new(64 * 1024);
        (0..count)
            .filter(|_| {
                writes.flags(len, true, streams);
                writes.may_wait
            })
            .collect()
    }

    #[test]
    fn the_cap_on_buffered_replies_shrinks_as_streams_share_the_server() {
        let caps: Vec<usize> = [0, 1, 16, 32, 64, 1000].map(buffered_replies_cap).into();
        assert_eq!(caps, [256, 256, 256, 128, 64, 64]);
    }

    #[test]
    fn small_replies_wait_only_at_the_unhinted_writes() {
        // The first (grpcio sends it with the headers, unhinted), then one
        // at each cap: 64 in a row with many streams open, 256 with one.
        assert_eq!(waiting_writes(5, 200, 1000), [0, 64, 128, 192]);
        assert_eq!(waiting_writes(5, 600, 1), [0, 256, 512]);
    }

    #[test]
    fn each_run_of_hints_takes_the_cap_of_its_start() {
        let mut writes = Writes::new(64 * 1024);
        let mut unhinted = vec![];
        for index in 0..400 {
            let streams = if index < 100 { 1 } else { 1000 };
            if !writes.flags(5, true, streams).get_buffer_hint() {
                unhinted.push(index);
            }
        }
        // The first run began with the first write (one stream, 256); the
        // next with the 256th, after the count had grown (64).
        assert_eq!(unhinted, [256, 320, 384]);
    }

    #[test]
    fn hinted_writes_past_the_write_buffer_may_wait_too() {
        // 2 KiB replies take 2,053 bytes on the wire: 32 hinted ones are
        // past 64 KiB, so C-core completes the 32nd only once written.
        let waiting = waiting_writes(2048, 65, 1000);
        assert_eq!(&waiting[..3], [0, 32, 33]);
        assert_eq!(waiting.len(), 1 + 32 + 1, "32..=63 and the unhinted 64th");
    }

    #[test]
    fn the_last_write_before_the_pipe_runs_dry_goes_unhinted_and_may_wait() {
        let mut writes = Writes::new(64 * 1024);
        writes.flags(5, true, 1);
        assert!(
            writes.may_wait,
            "the first write goes unhinted with the headers"
        );
        assert!(writes.flags(5, true, 1).get_buffer_hint());
        assert!(!writes.may_wait);
        assert!(!writes.flags(5, false, 1).get_buffer_hint());
        assert!(writes.may_wait);
    }

    #[test]
    fn reports_tell_the_pipe_and_the_meter_everything_given() {
        let pipe = Pipe::new(0);
        let meter = Meter::start();
        pipe.push(Chunk::Repeat {
            reply: Encoded::reply("yes"),
            count: 100,
        })
        .unwrap();
        let mut writes = Writes::new(64 * 1024);
        for _ in 0..70 {
            writes.flags(5, true, 1);
        }
        writes.report(&pipe, &meter);
        writes.report(&pipe, &meter);
        assert_eq!(pipe.held(), 30 * 5);
        let reading = meter.read();
        assert_eq!((reading.messages, reading.bytes), (70, 350));
    }
}
