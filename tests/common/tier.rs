//! The fault suite's two tiers: `quick` (the default, run by `cargo test`
//! and CI: minutes) and `long` (`scripts/faults-long.sh`: tens of minutes),
//! chosen by `YES_FAULTS_TIER`. Every figure the suite prints says its tier.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    Quick,
    Long,
}

impl Tier {
    pub fn from_env() -> Tier {
        match std::env::var("YES_FAULTS_TIER").as_deref() {
            Ok("long") => Tier::Long,
            Ok("quick") | Err(_) => Tier::Quick,
            Ok(other) => panic!("YES_FAULTS_TIER must be quick or long, not {other:?}"),
        }
    }

    /// `quick` in the quick tier, `long` in the long one.
    pub fn pick<T>(self, quick: T, long: T) -> T {
        match self {
            Tier::Quick => quick,
            Tier::Long => long,
        }
    }

    /// How long the soak runs.
    pub fn soak(self) -> Duration {
        self.pick(Duration::from_secs(20), Duration::from_secs(600))
    }

    /// How long a client holds streams open without reading.
    pub fn never_reading(self) -> Duration {
        self.pick(Duration::from_secs(5), Duration::from_secs(60))
    }
}

/// The fault tests measure RSS and rates, so those of one test binary run
/// one at a time: each holds this while it runs.
pub fn alone() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}
