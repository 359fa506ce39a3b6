//! LEARNED's discard bits, produced online after Hawkeye (Jain and Lin, "Back to the
//! future: leveraging Belady's algorithm for improved cache replacement", ISCA 2016).
//!
//! OPTgen reconstructs Belady's decisions for the recent past: for a request to page p
//! at time t1 whose previous request was at t0, the optimum (with the same capacity)
//! keeps p over [t0, t1) iff every time slot of [t0, t1) is overlapped by fewer than k
//! intervals it already kept; an occupancy count per time slot over a window of 8k
//! requests answers it, and a kept interval adds one to each of its slots. A table of 3-bit saturating counters, indexed by a hash of the context of the
//! request at t0 (the page id, or a caller's 64-bit context such as the load's
//! instruction address), is trained up when the optimum kept p and down when it did
//! not (or when p was not requested again within the window). A request is predicted
//! "safe to evict" (discard bit 1) when its context's counter is below the midpoint.
//!
//! Cost. The check needs no scan: occupancy only grows, so a full slot stays full, and
//! the interval is kept iff it starts after the latest full slot. Only a kept interval
//! is scanned (one increment per slot, vectorisable), so the window is bounded: above
//! 128 pages of capacity, OPTgen sees only the pages a hash selects with probability
//! 1/S, S = ceil(k / 128), as a cache of k / S pages (the sampling of miss-ratio-curve
//! estimators and of Hawkeye's sampled sets): O(1) amortised per request. Contexts
//! shared by many pages (instruction addresses) learn from the sampled ones.
//!
//! With the page id as context, sampling leaves nothing to generalise: a page's own
//! counter learns only when that page is sampled, and an unsampled page reads the
//! counter it shares by hash with other pages (with more than 4096 pages, some of them
//! sampled), i.e. the reuse of unrelated pages. Its bits are then noise, and the
//! combination keeps following LRU. Measured on the benchmark's Zipf(0.9) trace (2^20
//! pages, 2^22 requests): at k = 1024 (S = 8), DISCARD with the learned bits makes
//! 3.92 M faults against LRU's 3.26 M, and LEARNED makes exactly LRU's; at k = 64
//! and 128 (unsampled) the learned bits beat LRU by 8-9 % and LEARNED follows them.
//! Predicting "keep" for unsampled pages instead (only sampled pages' own counters
//! used) brings DISCARD to 0.6 % below LRU at k = 1024 and 2.7 % at k = 256, inside
//! the 1/32 margin of a switch, so LEARNED would still make LRU's faults; learning
//! every page's reuse would need a counter per page, memory in the number of pages.

use super::table::{Table, table_bits, table_size};
use crate::{Error, Result, Workspace, WorkspaceSize};

/// log2 of the number of counters.
const COUNTER_BITS: u32 = 12;

/// The largest capacity OPTgen models without sampling.
const MAX_MODELLED: usize = 128;

/// Window length per page of modelled capacity.
const WINDOW_PER_PAGE: usize = 8;

/// Counters start here and predict "keep" at and above it (3-bit: 0..=7).
const MIDPOINT: u8 = 4;

/// Multipliers of the context hash and of the sampling hash (odd, unrelated).
const CTX_MUL: u64 = 0x9fb2_1c65_1e98_df25;
const SAMPLE_MUL: u64 = 0xc2b2_ae3d_27d4_eb4f;

/// (sampling divisor S, modelled capacity, window) for capacity `k` >= 1.
fn dims(k: usize) -> (usize, usize, usize) {
    let s = k.div_ceil(MAX_MODELLED).max(1);
    let kp = k.div_ceil(s).max(1);
    (s, kp, kp * WINDOW_PER_PAGE)
}

/// Adds the learner's arrays to a size query, in carving order.
pub(super) fn learner_size(size: WorkspaceSize, k: usize) -> Result<WorkspaceSize> {
    let (_, _, w) = dims(k);
    table_size(
        size.array::<u8>(1 << COUNTER_BITS)? // counters
            .array::<u8>(w)? // occupancy per slot
            .array::<u64>(w)? // page of each slot's request
            .array::<u16>(w)?, // context hash of each slot's request
        table_bits(w, 2)?, // page -> time of its latest request in the window
    )
}

/// The learner over borrowed arrays.
pub(super) struct Learner<'a> {
    counters: &'a mut [u8],
    occ: &'a mut [u8],
    ring_page: &'a mut [u64],
    ring_sig: &'a mut [u16],
    history: Table<'a>,
    sample: usize,
    modelled: u8,
    window: u64,
    /// Requests seen by OPTgen (sampled ones).
    clock: u64,
    /// 1 + the latest full slot's time; 0 if none.
    full: u64,
}

impl<'a> Learner<'a> {
    /// Carves the arrays; `words` are (clock, full) from [`Learner::words`].
    pub(super) fn carve(
        ws: &mut Workspace<'a>,
        k: usize,
        words: [u64; 2],
        fresh: bool,
    ) -> Result<Self> {
        let (sample, kp, w) = dims(k);
        let mut l = Learner {
            counters: ws.take(1 << COUNTER_BITS)?,
            occ: ws.take(w)?,
            ring_page: ws.take(w)?,
            ring_sig: ws.take(w)?,
            history: Table::carve(ws, table_bits(w, 2)?)?,
            sample,
            modelled: u8::try_from(kp).map_err(|_| Error::Internal)?,
            window: w as u64,
            clock: words[0],
            full: words[1],
        };
        if fresh {
            l.counters.fill(MIDPOINT);
            l.occ.fill(0);
            l.history.clear();
            (l.clock, l.full) = (0, 0);
        }
        if l.full > l.clock {
            return Err(Error::Argument);
        }
        Ok(l)
    }

    /// (clock, full), to keep between calls.
    pub(super) fn words(&self) -> [u64; 2] {
        [self.clock, self.full]
    }

    /// The prediction for a request of `page` in context `ctx` (true: safe to evict),
    /// after training on it.
    #[inline]
    pub(super) fn observe(&mut self, page: u64, ctx: u64) -> Result<bool> {
        let sig = (ctx.wrapping_mul(CTX_MUL) >> (64 - COUNTER_BITS)) as u16;
        let sampled = self.sample == 1
            || (u128::from(page.wrapping_mul(SAMPLE_MUL)) * self.sample as u128) >> 64 == 0;
        if sampled {
            self.train(page, sig)?;
        }
        let c = *self.counters.get(usize::from(sig)).ok_or(Error::Internal)?;
        Ok(c < MIDPOINT)
    }

    #[inline(always)]
    fn counter(&mut self, sig: u16, up: bool) -> Result<()> {
        let c = self
            .counters
            .get_mut(usize::from(sig))
            .ok_or(Error::Argument)?;
        *c = if up {
            c.saturating_add(1).min(7)
        } else {
            c.saturating_sub(1)
        };
        Ok(())
    }

    /// OPTgen's step for one sampled request.
    fn train(&mut self, page: u64, sig: u16) -> Result<()> {
        let (c, w) = (self.clock, self.window);
        let slot = (c % w) as usize;
        if c >= w {
            // The request of c - w leaves the window: not requested again within it,
            // so the optimum (as modelled) did not keep it.
            let q = *self.ring_page.get(slot).ok_or(Error::Argument)?;
            if self.history.get(q)? == Some(c - w) {
                self.history.remove(q)?;
                let g = *self.ring_sig.get(slot).ok_or(Error::Argument)?;
                self.counter(g, false)?;
            }
        }
        match self.history.lookup(page)? {
            Ok(t0) => {
                if t0 >= c || c - t0 >= w {
                    return Err(Error::Argument);
                }
                let g = *self
                    .ring_sig
                    .get((t0 % w) as usize)
                    .ok_or(Error::Argument)?;
                let kept = t0 >= self.full;
                if kept {
                    self.keep(t0)?;
                }
                self.counter(g, kept)?;
                self.history.insert(page, c)?;
            }
            Err(i) => self.history.put_at(i, page, c)?,
        }
        *self.ring_page.get_mut(slot).ok_or(Error::Argument)? = page;
        *self.ring_sig.get_mut(slot).ok_or(Error::Argument)? = sig;
        *self.occ.get_mut(slot).ok_or(Error::Argument)? = 0;
        self.clock = c.checked_add(1).ok_or(Error::Argument)?;
        Ok(())
    }

    /// Adds the kept interval [t0, clock) to the occupancy, moving `full` to its
    /// latest slot that becomes full.
    fn keep(&mut self, t0: u64) -> Result<()> {
        let (c, w) = (self.clock, self.window);
        let (a, b) = ((t0 % w) as usize, (c % w) as usize);
        let last = self.modelled - 1;
        // The interval's slots as one or two runs of the ring, oldest first, each with
        // the time of its first slot.
        let (first, second) = if a < b {
            ((a, b), (0, 0))
        } else {
            ((a, w as usize), (0, b))
        };
        let start2 = t0 + (first.1 - first.0) as u64;
        let mut newest = None;
        for ((lo, hi), start) in [(first, t0), (second, start2)] {
            let run = self.occ.get_mut(lo..hi).ok_or(Error::Argument)?;
            if let Some(i) = last_equal(run, last) {
                newest = Some(start + i as u64);
            }
            for x in run.iter_mut() {
                *x = x.wrapping_add(1);
            }
        }
        if let Some(t) = newest {
            self.full = t + 1;
        }
        Ok(())
    }
}

/// The last index of `run` holding `v`: chunks from the end, each tested without an
/// early exit so the test vectorises; most kept intervals have no such slot.
#[inline]
fn last_equal(run: &[u8], v: u8) -> Option<usize> {
    const CHUNK: usize = 32;
    let mut end = run.len();
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let chunk = &run[start..end];
        if chunk.iter().fold(false, |a, &x| a | (x == v)) {
            return chunk.iter().rposition(|&x| x == v).map(|i| start + i);
        }
        end = start;
    }
    None
}
