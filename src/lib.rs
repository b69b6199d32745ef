//! `yes-grpc`: a `yes`-like gRPC streaming server on gRPC C-core (`grpcio`)
//! and async-std, flow-controlled end to end.
//!
//! It serves the wire contract of the well-known Kotlin/grpc-java sample
//! (package `yes`, service `SayYes`, methods `Yes` and `YesWithFc`). The
//! modules follow one stream's data path:
//!
//! * [`codec`]: how requests and replies cross the wire;
//! * [`stream`]: request -> reply -> producer -> pipe -> pump -> sink;
//! * [`pipe`]: the byte-counted hand-off between producer and pump;
//! * [`end`]: why a stream ended, and a count per reason;
//! * [`stats`]: live streams and totals;
//! * [`service`]: the service as grpcio registers it;
//! * [`server`]: the C-core server, health, and graceful shutdown;
//! * [`poller`]: the thread that keeps reading sockets while the queues are busy;
//! * [`reflection`]: server reflection, answered from the embedded descriptors;
//! * [`tls`]: TLS and mutual TLS, with certificates reloaded when they change;
//! * [`peer`]: a client's address as the log writes it;
//! * [`memory`]: returning freed memory to the system;
//! * [`metrics`]: Prometheus metrics over HTTP;
//! * [`executor`]: the one seam to the async executor;
//! * [`ccore`]: which gRPC C-core the binary runs on;
//! * [`client`]: `yes-client`, GNU `yes` over gRPC.

pub mod ccore;
pub mod client;
pub mod codec;
pub mod end;
pub mod executor;
pub mod memory;
pub mod metrics;
pub mod peer;
pub mod pipe;
pub mod poller;
pub mod proto;
pub mod reflection;
pub mod server;
pub mod service;
pub mod stats;
pub mod stream;
pub mod tls;

pub use server::{Config, Limits, YesServer};
