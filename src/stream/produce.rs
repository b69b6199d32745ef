//! The producers: what a stream's task on the executor does, by method.
//! Both only fill the stream's pipe; the pump empties it into C-core.

use std::sync::Arc;

use log::warn;

use crate::codec::{self, Encoded};
use crate::end::End;
use crate::executor;
use crate::pipe::Chunk;
use crate::proto::yes::YesReply;
use crate::registry::Stream;

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

/// `YesWithFc`'s producer: keeps the pipe between half full and full of
/// copies of the one encoded reply, and waits while the pump drains it.
pub async fn with_fc(stream: Arc<Stream>, reply: Encoded, limit: usize) {
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
pub async fn naive(stream: Arc<Stream>, text: String, budget: usize) {
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
