//! The wire contracts, generated from `proto/` by `build.rs`.
//!
//! `yes` holds the messages; `yes_grpc` the client stub (`SayYesClient`,
//! used by tests and clients) and the service trait. `reflection_v1` and
//! `reflection_v1alpha` hold the server-reflection messages ([`crate::reflection`]
//! binds the methods itself); `health` describes `grpc.health.v1` to
//! reflection (grpcio-health serves it). Generated code is not ours to lint.

#[allow(warnings, clippy::all)]
pub mod yes {
    include!(concat!(env!("OUT_DIR"), "/yes/yes.rs"));
}

#[allow(warnings, clippy::all)]
pub mod yes_grpc {
    include!(concat!(env!("OUT_DIR"), "/yes/yes_grpc.rs"));
}

/// `grpc.reflection.v1`, from `proto/grpc/reflection/v1/reflection.proto`.
#[allow(warnings, clippy::all)]
pub mod reflection_v1 {
    include!(concat!(env!("OUT_DIR"), "/reflection_v1/reflection.rs"));
}

/// `grpc.reflection.v1alpha`: the same messages under the older package name.
#[allow(warnings, clippy::all)]
pub mod reflection_v1alpha {
    include!(concat!(
        env!("OUT_DIR"),
        "/reflection_v1alpha/reflection.rs"
    ));
}

/// `grpc.health.v1`, for its descriptor only: grpcio-health serves health.
#[allow(warnings, clippy::all)]
pub mod health {
    include!(concat!(env!("OUT_DIR"), "/health/health.rs"));
}

/// `grpc.channelz.v1`, served by [`crate::channelz`] with `--channelz`.
#[allow(warnings, clippy::all)]
pub mod channelz {
    include!(concat!(env!("OUT_DIR"), "/channelz/channelz.rs"));
}
