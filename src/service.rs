//! The `yes.SayYes` service as grpcio registers it.
//!
//! The methods are bound with this crate's own descriptors ([`crate::codec`])
//! rather than the generated `create_say_yes`, so that a bad request is
//! answered `INVALID_ARGUMENT` and the reply is encoded once per stream.

use std::sync::Arc;

use grpcio::{Service, ServiceBuilder};

use crate::codec::Method;
use crate::codec::{METHOD_YES, METHOD_YES_WITH_FC};
use crate::stream::{serve, Streams};

/// Builds the service; every stream it starts is counted in `streams`.
pub fn say_yes(streams: Arc<Streams>) -> Service {
    let for_fc = streams.clone();
    ServiceBuilder::new()
        .add_server_streaming_handler(&METHOD_YES, move |ctx, request, sink| {
            serve(ctx, request, sink, Method::Yes, &streams)
        })
        .add_server_streaming_handler(&METHOD_YES_WITH_FC, move |ctx, request, sink| {
            serve(ctx, request, sink, Method::YesWithFc, &for_fc)
        })
        .build()
}
