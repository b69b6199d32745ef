//! One stream, top to bottom: request -> reply -> producer -> pipe -> pump ->
//! sink -> C-core.
//!
//! * The handler ([`serve`]) runs on the call's completion-queue thread. It
//!   checks the request, encodes the reply once, registers the stream, and
//!   starts two tasks.
//! * The **producer** runs on the async-std executor and hands replies to
//!   the stream's [`Pipe`](crate::pipe::Pipe). `YesWithFc` keeps at most [`fc_limit`] bytes in
//!   the pipe and waits for the pump to drain it; `Yes` never waits (it is the
//!   sample's naive method) and is ended once it holds more than its budget.
//! * The **pump** runs on the call's completion-queue thread (`ctx.spawn`),
//!   where grpcio completes the sink's writes, so a write costs no wake-up of
//!   another thread. It awaits the sink's readiness before every write: when
//!   the client's HTTP/2 window is full, C-core does not complete the write,
//!   the pump waits, the pipe fills, and the producer pauses.
//!
//! Writes carry a buffer hint whenever another reply follows at once; C-core
//! then gathers up to its write buffer (`--http2-write-buffer`) per socket
//! write. The last reply before the pipe runs dry goes without the hint, so
//! no reply ever waits in a buffer for one that is not coming, and so does
//! every [`MAX_BUFFERED_REPLIES`]th in a row, which bounds what C-core holds
//! for a stalled stream of small replies.

use std::future::poll_fn;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures::{FutureExt, SinkExt};
use grpcio::{Deadline, RpcContext, RpcStatus, RpcStatusCode, ServerStreamingSink, WriteFlags};
use log::{debug, info, warn};

use crate::codec::Method;
use crate::codec::{self, Encoded, Request};
use crate::end::End;
use crate::executor;
use crate::memory;
use crate::pipe::Chunk;
use crate::proto::yes::YesReply;
use crate::stats::{Registry, Stream};

/// How far a `YesWithFc` producer may run ahead of C-core, in bytes, for
/// replies up to half this size. The copies share one encoded reply, so the
/// lead costs no memory; what it sets is how often producer and pump wake
/// each other (once per half of it). At 64 KiB those wake-ups cost 1 KiB
/// replies about a fifth of their speed.
pub const FC_LEAD_BYTES: usize = 256 * 1024;

/// How many bytes a `Yes` producer encodes between two yields to the
/// executor (at least one reply).
pub const NAIVE_CHUNK_BYTES: usize = 64 * 1024;

/// The most bytes a `YesWithFc` stream holds between producer and C-core,
/// for an encoded reply of `reply_len` bytes: 256 KiB, or two replies when
/// that is more (so the producer can stay one reply ahead).
pub fn fc_limit(reply_len: usize) -> usize {
    FC_LEAD_BYTES.max(2 * reply_len)
}

/// The most replies of one stream C-core may hold in its write buffer: every
/// this many, a reply goes without the buffer hint even though more follow.
///
/// C-core keeps each buffered reply as slices of its own (about 64 bytes
/// however small the reply), and with the hint it completes a write at once
/// until a whole write buffer (`--http2-write-buffer`, 64 KiB) waits unsent.
/// For a client that stopped reading that would be 6,500 replies of "yes",
/// ~420 KB. A write without the hint completes only once C-core has framed
/// it, which a full window prevents, so this caps what a stalled stream of
/// small replies holds in C-core at ~64 KB. Replies of 64 bytes and more fill
/// the write buffer first, and keep all of it, which is what their
/// throughput needs; a fast stream of small ones loses nothing, as a socket
/// write of 1,024 replies of "yes" (10 KB) costs as little per reply.
pub const MAX_BUFFERED_REPLIES: usize = 1024;

/// What every stream of one server shares.
pub struct Streams {
    /// Where streams are registered and counted.
    pub registry: Arc<Registry>,
    /// The most bytes a `Yes` stream may hold before it is ended.
    pub naive_budget: usize,
}

/// Serves one call of `method`: the handler grpcio runs on the call's
/// completion-queue thread.
pub fn serve(
    ctx: RpcContext<'_>,
    request: Request,
    sink: ServerStreamingSink<Encoded>,
    method: Method,
    streams: &Streams,
) {
    // The address, and under mutual TLS who the certificate says it is.
    let peer = match crate::tls::client_identity(&ctx) {
        Some(identity) => format!("{} ({identity})", crate::peer::of(&ctx)),
        None => crate::peer::of(&ctx),
    };
    let request = match request {
        Request::Valid(request) => request,
        Request::Invalid(reason) => {
            warn!("{method} from {peer}: rejected an invalid request: {reason}");
            let message = format!("request is not a valid yes.YesRequest: {reason}");
            reject(&ctx, sink, RpcStatusCode::INVALID_ARGUMENT, message);
            return;
        }
    };
    let text = codec::reply_text(&request);
    let reply = Encoded::reply(text);
    let limit = fc_limit(reply.len());
    let low_water = match method {
        Method::YesWithFc => limit / 2,
        Method::Yes => 0,
    };
    let Ok(stream) = streams.registry.open(method, peer.clone(), low_water) else {
        info!("{method} from {peer}: refused, the server is shutting down");
        reject(
            &ctx,
            sink,
            RpcStatusCode::UNAVAILABLE,
            End::Shutdown.to_string(),
        );
        return;
    };
    debug!(
        "stream {} {method} from {peer} started: reply of {} bytes",
        stream.id,
        reply.len()
    );

    match method {
        Method::YesWithFc => executor::spawn(produce_with_fc(stream.clone(), reply, limit)),
        Method::Yes => executor::spawn(produce_naive(
            stream.clone(),
            text.to_owned(),
            streams.naive_budget,
        )),
    }

    let deadline = ctx.deadline();
    let registry = streams.registry.clone();
    ctx.spawn(async move {
        let end = pump(&stream, sink, deadline).await;
        // Outside the macro: `info!` skips its arguments when it is off.
        let report = registry.finish(&stream, end);
        if report.last.max_held > memory::TRIM_AFTER_HOLDING {
            memory::release_free_memory();
        }
        info!("{report}");
    });
}

/// Ends a call that never became a stream.
fn reject(
    ctx: &RpcContext<'_>,
    sink: ServerStreamingSink<Encoded>,
    code: RpcStatusCode,
    message: String,
) {
    let status = RpcStatus::with_message(code, message);
    ctx.spawn(sink.fail(status).map(|_| ()));
}

/// `YesWithFc`'s producer: keeps the pipe between half full and full of
/// copies of the one encoded reply, and waits while the pump drains it.
async fn produce_with_fc(stream: Arc<Stream>, reply: Encoded, limit: usize) {
    let pipe = &stream.pipe;
    let len = reply.len();
    loop {
        // After `drained`, at most `limit / 2` is held, so at least one fits.
        let count = limit.saturating_sub(pipe.held()) / len;
        let chunk = Chunk::Repeat {
            reply: reply.clone(),
            count,
        };
        if count > 0 && pipe.push(chunk).is_err() {
            return;
        }
        if pipe.drained().await.is_err() {
            return;
        }
    }
}

/// `Yes`'s producer: the sample's `while (true) onNext(reply)`, made safe.
/// It encodes every reply anew, as `onNext` does, never waits for the pump,
/// yields to the executor after each chunk so it cannot starve other tasks,
/// and ends the stream once the bytes it holds pass `budget`.
async fn produce_naive(stream: Arc<Stream>, text: String, budget: usize) {
    let pipe = &stream.pipe;
    let mut reply = YesReply::new();
    reply.set_message(text);
    let len = protobuf::Message::compute_size(&reply) as usize;
    let per_chunk = (NAIVE_CHUNK_BYTES / len).max(1);
    loop {
        let mut bytes = Vec::with_capacity(per_chunk * len);
        for _ in 0..per_chunk {
            codec::encode_reply_into(&reply, &mut bytes);
        }
        if pipe.push(Chunk::Packed { bytes, len }).is_err() {
            return;
        }
        let held = pipe.held();
        if held > budget {
            if pipe.close(End::BudgetExceeded { held, budget }) {
                warn!(
                    "stream {} Yes from {}: the client reads slower than the server writes; \
                     {held} bytes held, over the budget of {budget}: ending it",
                    stream.id, stream.peer
                );
            }
            return;
        }
        executor::yield_now().await;
    }
}

/// The sink stopped taking writes: the call is over on the client's side.
struct SinkFailed;

/// Writes the pipe's replies into the sink until the stream ends, then ends
/// the call: with a status when the server ended the stream, by dropping the
/// sink (never polled again) when the call failed under it. Returns why the
/// stream ended.
async fn pump(stream: &Stream, mut sink: ServerStreamingSink<Encoded>, deadline: Deadline) -> End {
    match write_all(stream, &mut sink).await {
        Err(SinkFailed) => {
            // Stop the producer and free the queue at once; only the
            // reason may take a moment longer to settle.
            stream.pipe.close(End::Cancelled);
            drop(sink);
            client_end(deadline).await
        }
        Ok(()) => {
            let end = stream
                .pipe
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
    stream: &Stream,
    sink: &mut ServerStreamingSink<Encoded>,
) -> Result<(), SinkFailed> {
    let pipe = &stream.pipe;
    // Replies C-core has been told to buffer since the last one it was not.
    let mut buffered = 0;
    while let Some(chunk) = poll_fn(|cx| pipe.poll_pop(cx)).await {
        let count = chunk.count();
        // When the last wait ended: the next one begins a write later.
        let mut clock = None;
        for index in 0..count {
            // `Some(len)`: C-core took a reply; `None`: the pipe was closed.
            let taken = match writable(stream, sink, &mut clock).await {
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
                    stream.sent(len);
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
/// (`false`); the stream counts long waits as pauses by flow control.
///
/// Nearly every write waits a moment for its completion, so the clock is
/// read once per write, not twice: a wait that follows another with only
/// the write in between begins when that one ended (`clock`), which
/// lengthens it by the time it takes to hand C-core one write.
async fn writable(
    stream: &Stream,
    sink: &mut ServerStreamingSink<Encoded>,
    clock: &mut Option<u64>,
) -> Result<bool, SinkFailed> {
    let mut waiting = false;
    let ready = poll_fn(|cx| {
        if stream.pipe.is_closed() {
            return Poll::Ready(Ok(false));
        }
        match sink.poll_ready_unpin(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(true)),
            Poll::Ready(Err(_)) => Poll::Ready(Err(SinkFailed)),
            Poll::Pending => {
                if stream.pipe.poll_closed(cx) {
                    return Poll::Ready(Ok(false));
                }
                if !waiting {
                    waiting = true;
                    let now = clock.take().unwrap_or_else(|| stream.clock());
                    stream.wait_began(now);
                }
                Poll::Pending
            }
        }
    })
    .await;
    *clock = waiting.then(|| stream.wait_ended());
    ready
}
