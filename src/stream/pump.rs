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
use crate::pipe::Pipe;
use crate::registry::Stream;

/// The most replies of one stream C-core may hold in its write buffer: every
/// this many, a reply goes without the buffer hint even though more follow.
///
/// C-core keeps each buffered reply as slices of its own (about 64 bytes
/// however small the reply), and with the hint it completes a write at once
/// until a whole write buffer (`--http2-write-buffer`, 64 KiB) waits unsent.
/// For a client that stopped reading that would be 6,500 replies of "yes",
/// ~420 KB. A write without the hint completes only once C-core has framed
/// it, which a full window prevents, so this caps what a stalled stream of
/// small replies holds in C-core at ~4 KB. Replies of 1 KiB and more fill the
/// write buffer first, and keep all of it, which is what their throughput
/// needs.
///
/// Why 64 and not more: with many streams on a connection, every stream's
/// buffered replies are work C-core redoes. At 1,000 streams of "yes" on one
/// connection a cap of 1,024 gave 15-24 k msgs/s at 61-98 µs of server CPU a
/// message, 256 gave 72-79 k at 12-14 µs, 64 gave 76-107 k at 8-9 µs, and 16
/// lost again (66-79 k); one stream was the same at 1,024 and 64 (246-265 k
/// msgs/s), as C-core gathers the replies of a fast stream into large socket
/// writes either way (docs/benchmarks.md, "From one stream to a thousand").
pub const MAX_BUFFERED_REPLIES: usize = 64;

/// The sink stopped taking writes: the call is over on the client's side.
struct SinkFailed;

/// Writes the pipe's replies into the sink until the stream ends, then ends
/// the call: with a status when the server ended the stream, by dropping the
/// sink (never polled again) when the call failed under it. Returns why the
/// stream ended.
pub async fn run(
    stream: &Stream,
    mut sink: ServerStreamingSink<Encoded>,
    deadline: Deadline,
) -> End {
    let Stream { pipe, meter, .. } = stream;
    match write_all(pipe, meter, &mut sink).await {
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
) -> Result<(), SinkFailed> {
    // Replies C-core has been told to buffer since the last one it was not.
    let mut buffered = 0;
    while let Some(chunk) = poll_fn(|cx| pipe.poll_pop(cx)).await {
        let count = chunk.count();
        // When the last wait ended: the next one begins a write later.
        let mut clock = None;
        for index in 0..count {
            // `Some(len)`: C-core took a reply; `None`: the pipe was closed.
            let taken = match writable(pipe, meter, sink, &mut clock).await {
                Ok(true) => {
                    let reply = chunk.reply(index);
                    let len = reply.len();
                    let more = index + 1 < count || pipe.has_queued();
                    let hint = more && buffered + 1 < MAX_BUFFERED_REPLIES;
                    buffered = if hint { buffered + 1 } else { 0 };
                    let flags = WriteFlags::default().buffer_hint(hint);
                    sink.start_send_unpin((reply, flags))
                        .map(|()| Some(len))
                        .map_err(|_| SinkFailed)
                }
                Ok(false) => Ok(None),
                Err(failed) => Err(failed),
            };
            match taken {
                Ok(Some(len)) => {
                    pipe.consumed(len);
                    meter.sent(len);
                }
                // The stream ended: let go of the rest of the chunk.
                end => {
                    pipe.consumed(chunk.bytes() / count * (count - index));
                    return end.map(drop);
                }
            }
        }
    }
    Ok(())
}

/// Waits until C-core takes another write (`true`) or the pipe is closed
/// (`false`); the meter counts long waits as pauses by flow control.
///
/// Nearly every write waits a moment for its completion, so the clock is
/// read once per write, not twice: a wait that follows another with only
/// the write in between begins when that one ended (`clock`), which
/// lengthens it by the time it takes to hand C-core one write.
async fn writable(
    pipe: &Pipe,
    meter: &Meter,
    sink: &mut ServerStreamingSink<Encoded>,
    clock: &mut Option<u64>,
) -> Result<bool, SinkFailed> {
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
                if !waiting {
                    waiting = true;
                    let now = clock.take().unwrap_or_else(|| meter.clock());
                    meter.wait_began(now);
                }
                Poll::Pending
            }
        }
    })
    .await;
    *clock = waiting.then(|| meter.wait_ended());
    ready
}
