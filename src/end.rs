//! Why a stream ended. Streams are endless, so every end is one of these,
//! and the registry counts each kind.

use std::fmt;
use std::ops::{Index, IndexMut};

/// Why one stream ended, with the figures its log line gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The client cancelled the call or its connection dropped. C-core tells
    /// a server both the same way (the call is cancelled), so they share a
    /// reason.
    Cancelled,
    /// The client's deadline passed.
    Deadline,
    /// A `Yes` stream held more unsent bytes than its budget allows.
    BudgetExceeded {
        /// Bytes held when the budget was found exceeded.
        held: usize,
        /// The budget.
        budget: usize,
    },
    /// The server is shutting down.
    Shutdown,
}

impl End {
    /// The kind of end, without its figures.
    pub fn reason(&self) -> Reason {
        match self {
            End::Cancelled => Reason::Cancelled,
            End::Deadline => Reason::Deadline,
            End::BudgetExceeded { .. } => Reason::BudgetExceeded,
            End::Shutdown => Reason::Shutdown,
        }
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::Cancelled => f.write_str("cancelled by the client or connection lost"),
            End::Deadline => f.write_str("client deadline exceeded"),
            End::BudgetExceeded { held, budget } => {
                write!(f, "budget exceeded ({held} bytes held, budget {budget})")
            }
            End::Shutdown => f.write_str("server shutting down"),
        }
    }
}

/// The kinds of [`End`]: what totals count and metrics label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// [`End::Cancelled`].
    Cancelled,
    /// [`End::Deadline`].
    Deadline,
    /// [`End::BudgetExceeded`].
    BudgetExceeded,
    /// [`End::Shutdown`].
    Shutdown,
}

impl Reason {
    /// Every reason, in the order [`ByReason`] keeps them.
    pub const ALL: [Reason; 4] = [
        Reason::Cancelled,
        Reason::Deadline,
        Reason::BudgetExceeded,
        Reason::Shutdown,
    ];

    /// The name metrics give it (`reason="budget_exceeded"`).
    pub fn name(self) -> &'static str {
        match self {
            Reason::Cancelled => "cancelled",
            Reason::Deadline => "deadline",
            Reason::BudgetExceeded => "budget_exceeded",
            Reason::Shutdown => "shutdown",
        }
    }
}

/// A count per [`Reason`], indexed by the reason itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByReason([u64; Reason::ALL.len()]);

impl ByReason {
    /// Each reason with its count, in [`Reason::ALL`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (Reason, u64)> + '_ {
        Reason::ALL.into_iter().zip(self.0)
    }
}

impl Index<Reason> for ByReason {
    type Output = u64;

    fn index(&self, reason: Reason) -> &u64 {
        &self.0[reason as usize]
    }
}

impl IndexMut<Reason> for ByReason {
    fn index_mut(&mut self, reason: Reason) -> &mut u64 {
        &mut self.0[reason as usize]
    }
}

impl std::iter::Sum for ByReason {
    fn sum<I: Iterator<Item = ByReason>>(iter: I) -> ByReason {
        iter.fold(ByReason::default(), |mut total, one| {
            for reason in Reason::ALL {
                total[reason] += one[reason];
            }
            total
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_its_own_count() {
        let mut counts = ByReason::default();
        for (n, reason) in Reason::ALL.into_iter().enumerate() {
            counts[reason] += n as u64 + 1;
        }
        let seen: Vec<_> = counts.iter().collect();
        assert_eq!(
            seen,
            [
                (Reason::Cancelled, 1),
                (Reason::Deadline, 2),
                (Reason::BudgetExceeded, 3),
                (Reason::Shutdown, 4)
            ]
        );
        let names: Vec<_> = Reason::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(
            names,
            ["cancelled", "deadline", "budget_exceeded", "shutdown"]
        );
        let budget = End::BudgetExceeded { held: 1, budget: 0 };
        assert_eq!(budget.reason(), Reason::BudgetExceeded);
        assert_eq!(
            [counts, counts].into_iter().sum::<ByReason>()[budget.reason()],
            6
        );
    }
}
