//! Page request traces with their perfect predictions (Belady's bits).

use crate::oracle;
use proptest::collection::{SizeRange, vec};
use proptest::prelude::*;
use std::ops::RangeInclusive;

/// A request trace for a cache of `capacity` pages, with the offline optimum's fault
/// count and the perfect one-bit predictions (the inputs of `kn_paging_simulate` and
/// `kn_pager_access`): `discard[t]` = 1 if Belady's optimum evicts `pages[t]` before
/// its next request (or it is never requested again), `phase[t]` = 1 if `pages[t]` is
/// requested in the next marking phase.
#[derive(Clone, Debug, PartialEq)]
pub struct PageTrace {
    /// Cache slots.
    pub capacity: usize,
    /// The requests.
    pub pages: Vec<u64>,
    /// Belady's discard bit of each request.
    pub discard: Vec<u8>,
    /// The phase bit of each request.
    pub phase: Vec<u8>,
    /// Belady's (optimal) number of faults, cold misses included.
    pub opt_faults: u64,
}

/// Traces of `len` requests over `distinct` possible pages (page ids spread over the
/// whole `u64` range, 0 and `u64::MAX` included when `distinct` allows), for a cache
/// of `capacity` pages, with their bits from the reference
/// ([`oracle::belady`]). Few distinct pages make reuse frequent.
///
/// # Panics
/// If `distinct` or `capacity` allows 0.
pub fn page_trace(
    len: impl Into<SizeRange>,
    distinct: RangeInclusive<u64>,
    capacity: RangeInclusive<usize>,
) -> impl Strategy<Value = PageTrace> {
    assert!(
        *distinct.start() >= 1 && *capacity.start() >= 1,
        "page_trace: ranges >= 1"
    );
    let len: SizeRange = len.into();
    (distinct, capacity)
        .prop_flat_map(move |(u, capacity)| (Just(capacity), vec(0..u, len.clone())))
        .prop_map(|(capacity, ids)| {
            // 0 -> u64::MAX, 1 -> 0, the rest spread by an odd multiplier (a bijection).
            let pages: Vec<u64> = ids
                .into_iter()
                .map(|i| match i {
                    0 => u64::MAX,
                    i => (i - 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                })
                .collect();
            let (opt_faults, discard, phase) =
                oracle::belady(capacity, &pages).expect("capacity >= 1");
            PageTrace {
                capacity,
                pages,
                discard,
                phase,
                opt_faults,
            }
        })
}
