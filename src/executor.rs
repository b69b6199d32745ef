//! The one seam between this crate and its async executor.
//!
//! Producers run on async-std, as the project was asked to. Upstream now
//! points async-std's users to smol; every executor call in the crate goes
//! through these few functions, so moving means editing this file only.
//! (Work that must run on a call's completion-queue thread goes through
//! grpcio's `RpcContext::spawn` instead; that is C-core's executor, not ours.)

use std::future::Future;
use std::time::Duration;

/// Starts the executor's I/O reactor now. It would start on first use, and
/// it needs file descriptors of its own (an epoll and a wake-up one): a
/// server that a flood of connections has left without any before then
/// cannot start it, and panics ("cannot initialize I/O event notification",
/// seen in tests/connections.rs). Call once, before the server listens.
pub fn start() {
    // A timer is the reactor's: waiting on one starts it.
    block_on(sleep(Duration::from_millis(1)));
}

/// Runs `future` to completion on the executor's thread pool, detached.
pub fn spawn<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    // The handle is dropped on purpose: a producer ends by itself when its
    // stream closes, and nothing waits for it.
    drop(async_std::task::spawn(future));
}

/// Lets the executor run other tasks before this one continues.
pub async fn yield_now() {
    async_std::task::yield_now().await
}

/// Completes after `duration`.
pub async fn sleep(duration: Duration) {
    async_std::task::sleep(duration).await
}

/// Runs `future` to completion, or gives up after `limit` and returns `None`.
pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    async_std::future::timeout(limit, future).await.ok()
}

/// Runs blocking `work` on a thread where blocking is allowed.
pub async fn unblock<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    async_std::task::spawn_blocking(work).await
}

/// Runs `future` on the current thread until it completes.
pub fn block_on<F: Future>(future: F) -> F::Output {
    async_std::task::block_on(future)
}
