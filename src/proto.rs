//! The wire contract, generated from `proto/yes.proto` by `build.rs`.
//!
//! `yes` holds the messages; `yes_grpc` the client stub (`SayYesClient`,
//! used by tests and clients) and the service trait. Generated code is not
//! ours to lint.

#[allow(warnings, clippy::all)]
pub mod yes {
    include!(concat!(env!("OUT_DIR"), "/yes.rs"));
}

#[allow(warnings, clippy::all)]
pub mod yes_grpc {
    include!(concat!(env!("OUT_DIR"), "/yes_grpc.rs"));
}
