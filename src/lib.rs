//! `yes-grpc`: a `yes`-like gRPC streaming server on gRPC C-core (`grpcio`)
//! and async-std, flow-controlled end to end.
//!
//! It serves the wire contract of the well-known Kotlin/grpc-java sample
//! (package `yes`, service `SayYes`, methods `Yes` and `YesWithFc`). The
//! modules follow one stream's data path:
//!
//! * [`codec`]: how requests and replies cross the wire;
//! * [`stream`]: request -> reply -> producer -> pipe -> pump -> sink, with
//!   [`stream::produce`] and [`stream::pump`];
//! * [`pipe`]: the byte-counted hand-off between producer and pump;
//! * [`meter`]: one stream's counters, written by its pump;
//! * [`end`]: why a stream ended, and a count per reason;
//! * [`registry`]: every stream of a server, live figures and totals;
//! * [`service`]: the service as grpcio registers it;
//! * [`server`]: the C-core server, its configuration and health;
//! * [`shutdown`]: graceful shutdown, step by step;
//! * [`poller`]: the thread that keeps reading sockets while the queues are busy;
//! * [`reflection`]: server reflection, answered from the embedded descriptors;
//! * [`channelz`]: channelz, C-core's account of connections and calls;
//! * [`tls`]: TLS and mutual TLS, with certificates reloaded when they change;
//! * [`peer`]: a client's address as the log writes it;
//! * [`memory`]: returning freed memory to the system;
//! * [`open_files`]: the open-files limit, which bounds the connections;
//! * [`metrics`]: Prometheus metrics over HTTP;
//! * [`executor`]: the one seam to the async executor;
//! * [`ccore`]: which gRPC C-core the binary runs on;
//! * [`client`]: `yes-client`, GNU `yes` over gRPC;
//! * [`cli`]: both command lines, for the binaries and the packaging.

pub mod accept;
pub mod ccore;
pub mod ccore_args;
pub mod channelz;
pub mod cli;
pub mod client;
pub mod codec;
pub mod end;
pub mod executor;
pub mod memory;
pub mod meter;
pub mod metrics;
pub mod open_files;
pub mod peer;
pub mod pipe;
pub mod poller;
pub mod proto;
pub mod reflection;
pub mod registry;
pub mod server;
pub mod service;
pub mod shutdown;
pub mod stream;
pub mod tls;

pub use server::{Config, Limits, YesServer};
