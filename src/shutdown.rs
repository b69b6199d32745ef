//! Graceful shutdown (SIGTERM, SIGINT, or [`YesServer::shutdown`]), in the
//! order a client sees it:
//!
//! 1. health answers NOT_SERVING, so load balancers stop sending calls;
//! 2. C-core refuses new calls, and the registry is closed: every live
//!    stream's producer stops and its call is ended with `UNAVAILABLE`
//!    ("server shutting down"), after the replies already queued for it;
//! 3. the clients get up to the grace period to read those replies and the
//!    status (HTTP/2 sends a stream's trailers only after its data, so a
//!    slow reader sees its status only once it has read what was queued);
//! 4. whatever is still open then is cancelled.
//!
//! [`YesServer::shutdown`]: crate::YesServer::shutdown

use std::sync::Arc;
use std::time::{Duration, Instant};

use grpcio::Server;
use grpcio_health::HealthService;
use log::{info, warn};

use crate::executor;
use crate::registry::Registry;

/// Shuts `server` down as above, waiting at most `grace`. Returns whether
/// every call and stream finished in time.
pub async fn drain(
    server: &mut Server,
    health: &HealthService,
    registry: Arc<Registry>,
    grace: Duration,
) -> bool {
    let deadline = Instant::now() + grace;
    health.shutdown();
    let done = server.shutdown();
    let ended = registry.close();
    info!(
        "shutting down: refusing new calls, ended {ended} open streams; \
         waiting up to {:.1}s for clients",
        grace.as_secs_f64()
    );
    let calls_done = executor::timeout(grace, done).await.is_some();
    // C-core is done with the calls; let every stream task log its end.
    let left = deadline.saturating_duration_since(Instant::now());
    let waiting = registry.clone();
    let streams_done = executor::unblock(move || waiting.wait_idle(left)).await;
    if calls_done && streams_done {
        info!("shut down cleanly");
        return true;
    }
    warn!(
        "grace period over with {} streams and possibly other calls open: cancelling them",
        registry.active_count()
    );
    server.cancel_all_calls();
    false
}
