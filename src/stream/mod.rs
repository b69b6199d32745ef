//! One stream, top to bottom: request -> reply -> producer -> pipe -> pump ->
//! sink -> C-core.
//!
//! * The handler ([`Handler::serve`], this file) runs on the call's
//!   completion-queue thread. It checks the request, encodes the reply once,
//!   registers the stream, and starts two tasks.
//! * The **producer** ([`produce`]) runs on the async-std executor and hands
//!   replies to the stream's [`Pipe`](crate::pipe::Pipe). `YesWithFc` keeps
//!   at most [`fc_limit`] bytes in the pipe and waits for the pump to drain
//!   it; `Yes` never waits (it is the sample's naive method) and is ended
//!   once it holds more than its budget.
//! * The **pump** ([`pump`]) runs on the call's completion-queue thread
//!   (`ctx.spawn`), where grpcio completes the sink's writes, so a write
//!   costs no wake-up of another thread. It awaits the sink's readiness
//!   before every write: when the client's HTTP/2 window is full, C-core does
//!   not complete the write, the pump waits, the pipe fills, and the producer
//!   pauses. Once the pipe is closed it ends the call with a status.
//!
//! Writes carry a buffer hint whenever another reply follows at once; C-core
//! then gathers up to its write buffer (`--http2-write-buffer`) per socket
//! write. The last reply before the pipe runs dry goes without the hint, so
//! no reply ever waits in a buffer for one that is not coming, and so does
//! one at the end of every run of [`buffered_replies_cap`] (fewer as more
//! streams are open), which bounds what C-core holds for a stalled stream of
//! small replies.

pub mod produce;
pub mod pump;

use std::sync::Arc;

use futures::FutureExt;
use grpcio::{RpcContext, RpcStatus, RpcStatusCode, ServerStreamingSink};
use log::{debug, info, warn};

use crate::codec::{self, Encoded, Method, Request};
use crate::end::End;
use crate::executor;
use crate::memory;
use crate::registry::Registry;

pub use produce::fc_limit;
pub use pump::{buffered_replies_cap, MAX_BUFFERED_REPLIES};

/// What serves every call of one server's `yes.SayYes`: the registry its
/// streams join and the settings they share.
pub struct Handler {
    /// Where streams are registered and counted.
    pub registry: Arc<Registry>,
    /// The most bytes a `Yes` stream may hold before it is ended.
    pub naive_budget: usize,
    /// C-core's HTTP/2 write buffer in bytes, which tells the pump which of
    /// its writes can wait for the client's window.
    pub write_buffer: usize,
}

impl Handler {
    /// Serves one call of `method`: what grpcio runs on the call's
    /// completion-queue thread.
    pub fn serve(
        &self,
        ctx: RpcContext<'_>,
        request: Request,
        sink: ServerStreamingSink<Encoded>,
        method: Method,
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
        let Ok(stream) = self.registry.open(method, peer.clone(), low_water) else {
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
            Method::YesWithFc => executor::spawn(produce::with_fc(stream.clone(), reply, limit)),
            Method::Yes => executor::spawn(produce::naive(
                stream.clone(),
                text.to_owned(),
                self.naive_budget,
            )),
        }

        let deadline = ctx.deadline();
        let registry = self.registry.clone();
        let write_buffer = self.write_buffer;
        ctx.spawn(async move {
            let end = pump::run(&stream, sink, deadline, write_buffer, &registry).await;
            // Outside the macro: `info!` skips its arguments when it is off.
            let report = registry.finish(&stream, end);
            if report.last.max_held > memory::TRIM_AFTER_HOLDING {
                memory::release_free_memory();
            }
            info!("{report}");
        });
    }
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
