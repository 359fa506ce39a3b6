//! Paging with one-bit predictions.
//!
//! A cache of `k` pages (any `u64` ids) serves a sequence of requests; a request for a
//! page that is not cached is a fault (cold misses included). Each request may carry
//! one predicted bit:
//! - a discard bit: 1 = "safe to evict", i.e. the offline optimum evicts this page
//!   before its next request (or it is never requested again);
//! - a phase bit: 1 = the page is requested again in the next marking phase.
//!
//! Policies ([`Policy`]): LRU and MARKER (random marking) ignore the bits; DISCARD
//! evicts a page whose latest discard bit is 1 if there is one, else falls back to
//! marking (deterministic), DISCARD_RANDOM does the same with uniform random choices,
//! and PHASE is a marking algorithm that evicts, among unmarked pages, those predicted
//! not to return in the current phase first. Every access is O(1) (amortised over a
//! phase when a new phase starts), in memory fixed at init ([`Pager`]).
//!
//! [`offline`] computes Belady's optimal fault count and the perfect bits of a trace,
//! to train predictors and to check policies: with perfect discard bits DISCARD makes
//! exactly the optimum's faults.

mod candidates;
mod learner;
mod offline;
mod pager;
mod recency;
mod rng;
mod robust;
mod table;

pub use offline::{offline, offline_work_size};
pub use pager::{
    Access, MAX_CAPACITY, PAGER_STATE_WORDS, Pager, PagerState, pager_work_size, simulate,
    simulate_ctx,
};

use crate::{Error, Result};

/// An eviction policy; the values are its stable numeric codes (the C library's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Policy {
    /// Least recently used.
    Lru = 0,
    /// Random marking: evict a uniformly random unmarked page.
    Marker = 1,
    /// Discard bits, deterministic.
    Discard = 2,
    /// Discard bits, randomized.
    DiscardRandom = 3,
    /// Phase bits: mark and predict, randomized.
    Phase = 4,
    /// Discard bits made robust: DISCARD and MARKER simulated side by side, the cache
    /// following the one with fewer faults so far (see [`robust`](self#robustness)).
    DiscardRobust = 5,
    /// Discard bits learned online (Hawkeye's OPTgen and a table of counters indexed
    /// by the request's context), followed through the robust combination with LRU.
    Learned = 6,
}

impl Policy {
    /// Every policy, in code order.
    pub const ALL: [Policy; 7] = [
        Policy::Lru,
        Policy::Marker,
        Policy::Discard,
        Policy::DiscardRandom,
        Policy::Phase,
        Policy::DiscardRobust,
        Policy::Learned,
    ];

    /// The policy with C code `code`; [`Error::Argument`] for any other value.
    pub fn from_code(code: i32) -> Result<Policy> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Policy::ALL.get(i).copied())
            .ok_or(Error::Argument)
    }

    /// Short upper-case name.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Lru => "LRU",
            Policy::Marker => "MARKER",
            Policy::Discard => "DISCARD",
            Policy::DiscardRandom => "DISCARD_RANDOM",
            Policy::Phase => "PHASE",
            Policy::DiscardRobust => "DISCARD_ROBUST",
            Policy::Learned => "LEARNED",
        }
    }
}
