//! The `yes.SayYes` service as grpcio registers it.
//!
//! The methods are bound with this crate's own descriptors ([`crate::codec`])
//! rather than the generated `create_say_yes`, so that a bad request is
//! answered `INVALID_ARGUMENT` and the reply is encoded once per stream.

use std::sync::Arc;

use grpcio::{Service, ServiceBuilder};

use crate::codec::Method;
use crate::codec::{METHOD_YES, METHOD_YES_WITH_FC};
use crate::stream::Handler;

/// Builds the service; `handler` serves both methods.
pub fn say_yes(handler: Arc<Handler>) -> Service {
    let for_fc = handler.clone();
    ServiceBuilder::new()
        .add_server_streaming_handler(&METHOD_YES, move |ctx, request, sink| {
            handler.serve(ctx, request, sink, Method::Yes)
        })
        .add_server_streaming_handler(&METHOD_YES_WITH_FC, move |ctx, request, sink| {
            for_fc.serve(ctx, request, sink, Method::YesWithFc)
        })
        .build()
}
