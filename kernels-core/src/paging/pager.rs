//! The online pager: a fixed-capacity cache of page ids driven one request at a
//! time, under one of the five policies, in memory carved from the caller's
//! workspace once at init.

use super::Policy;
use super::candidates::Candidates;
use super::recency::{NONE, Recency};
use super::rng::Rng;
use super::robust::{Robust, robust_size};
use super::table::{Table, mask_words, sparse_table_bits, table_size};
use crate::checksum;
use crate::{Error, Result, Workspace, WorkspaceSize};

/// The largest capacity a pager accepts (slot indices are 32-bit, with room for the
/// table of twice as many entries).
pub const MAX_CAPACITY: usize = 1 << 30;

/// Number of u64 words of [`PagerState::to_words`] (the last is a checksum).
pub const PAGER_STATE_WORDS: usize = 10;

/// Table entries per slot (at most; fewer for large capacities, see
/// [`sparse_table_bits`]): at load <= 1/8 a lookup of an absent page (nearly every
/// request when k is small) usually stops at its first entry and a deletion rarely
/// shifts, so the probe loops' exits are predictable; at load 1/2 their
/// mispredictions dominated the time per access (measured with callgrind's branch
/// simulator: 3.2 mispredictions per access, against 0.4 for the `lru` crate).
const SPREAD: usize = 8;

/// First word of a pager's state: "kn_pager" in ASCII.
const MAGIC: u64 = u64::from_be_bytes(*b"kn_pager");

/// What one request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// The page was cached.
    pub hit: bool,
    /// The page evicted to make room, on a fault with a full cache.
    pub evicted: Option<u64>,
}

/// Everything a pager holds outside its workspace arrays: small, `Copy`, and
/// convertible to and from words so a C caller can keep it in an opaque struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PagerState {
    policy: Policy,
    capacity: usize,
    len: usize,
    counts: [usize; 2],
    head: u32,
    tail: u32,
    rng: u64,
}

impl PagerState {
    /// The state as words, the magic word first.
    pub fn to_words(&self) -> [u64; PAGER_STATE_WORDS] {
        let mut w = [
            MAGIC,
            self.policy as u64,
            self.capacity as u64,
            self.len as u64,
            self.counts[0] as u64,
            self.counts[1] as u64,
            u64::from(self.head),
            u64::from(self.tail),
            self.rng,
            0,
        ];
        w[PAGER_STATE_WORDS - 1] = checksum(&w[..PAGER_STATE_WORDS - 1]);
        w
    }

    /// Reads words written by [`PagerState::to_words`], checking the magic word, the
    /// checksum and every invariant that does not need the arrays:
    /// [`Error::Argument`] otherwise.
    pub fn from_words(w: &[u64; PAGER_STATE_WORDS]) -> Result<Self> {
        let size = |v: u64| usize::try_from(v).map_err(|_| Error::Argument);
        let slot = |v: u64| u32::try_from(v).map_err(|_| Error::Argument);
        let policy = i32::try_from(w[1])
            .map_err(|_| Error::Argument)
            .and_then(Policy::from_code)?;
        let s = PagerState {
            policy,
            capacity: size(w[2])?,
            len: size(w[3])?,
            counts: [size(w[4])?, size(w[5])?],
            head: slot(w[6])?,
            tail: slot(w[7])?,
            rng: w[8],
        };
        let lru_ends_ok = if s.policy == Policy::Lru && s.len > 0 {
            (s.head as usize) < s.len && (s.tail as usize) < s.len
        } else {
            s.head == NONE && s.tail == NONE
        };
        let valid = w[0] == MAGIC
            && w[PAGER_STATE_WORDS - 1] == checksum(&w[..PAGER_STATE_WORDS - 1])
            && (1..=MAX_CAPACITY).contains(&s.capacity)
            && s.len <= s.capacity
            && s.counts[0]
                .checked_add(s.counts[1])
                .is_some_and(|c| c <= s.len)
            && lru_ends_ok;
        if valid { Ok(s) } else { Err(Error::Argument) }
    }

    /// The policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The capacity (pages).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Pages cached now.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no page is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn check_capacity(capacity: usize) -> Result<()> {
    match capacity {
        0 => Err(Error::Dimension),
        c if c > MAX_CAPACITY => Err(Error::Argument),
        _ => Ok(()),
    }
}

/// Workspace of a pager with `capacity` slots: [`Error::Dimension`] for capacity 0,
/// [`Error::Argument`] above [`MAX_CAPACITY`].
pub fn pager_work_size(capacity: usize) -> Result<WorkspaceSize> {
    check_capacity(capacity)?;
    // Same arrays, same order as `Pager::carve`.
    let words = mask_words(capacity);
    let size = table_size(WorkspaceSize::new(), sparse_table_bits(capacity, SPREAD)?)?
        .array::<u64>(capacity)? // page id per slot
        .array::<u64>(words)? // marked mask
        .array::<u64>(words)? // bit mask
        .array::<u32>(capacity)? // position in a candidate list
        .array::<u32>(capacity)? // candidates with bit 0
        .array::<u32>(capacity)? // candidates with bit 1
        .array::<u32>(capacity)? // LRU prev
        .array::<u32>(capacity)?; // LRU next
    // DISCARD_ROBUST's and LEARNED's region, after the other policies' arrays.
    robust_size(size, capacity)
}

/// A pager over a borrowed workspace.
pub struct Pager<'a> {
    policy: Policy,
    capacity: usize,
    len: usize,
    rng: Rng,
    table: Table<'a>,
    pages: &'a mut [u64],
    cand: Candidates<'a>,
    order: Recency<'a>,
    /// DISCARD_ROBUST's and LEARNED's combination (the arrays above are then unused).
    robust: Option<Robust<'a>>,
}

impl<'a> Pager<'a> {
    fn carve(s: PagerState, work: &'a mut [u8], fresh: bool) -> Result<Self> {
        if work.len() < pager_work_size(s.capacity)?.bytes() {
            return Err(Error::Workspace);
        }
        let k = s.capacity;
        let words = mask_words(k);
        let mut ws = Workspace::new(work);
        let mut p = Pager {
            policy: s.policy,
            capacity: k,
            len: s.len,
            rng: Rng::new(s.rng),
            table: Table::carve(&mut ws, sparse_table_bits(k, SPREAD)?)?,
            pages: ws.take(k)?,
            cand: Candidates {
                marked: ws.take(words)?,
                bits: ws.take(words)?,
                pos: ws.take(k)?,
                lists: [ws.take(k)?, ws.take(k)?],
                counts: s.counts,
            },
            order: Recency {
                prev: ws.take(k)?,
                next: ws.take(k)?,
                head: s.head,
                tail: s.tail,
            },
            robust: None,
        };
        if matches!(s.policy, Policy::DiscardRobust | Policy::Learned) {
            p.robust = Some(Robust::carve(&mut ws, s.policy, k, fresh)?);
        }
        Ok(p)
    }

    /// An empty pager. `work` must hold [`pager_work_size`] bytes; the pager keeps
    /// all its memory there and never asks for more.
    ///
    /// ```
    /// use kernels_core::paging::{Pager, Policy, pager_work_size};
    ///
    /// let mut work = vec![0u8; pager_work_size(2)?.bytes()];
    /// let mut pager = Pager::new(Policy::Lru, 2, 0, &mut work)?;
    /// assert!(!pager.access(10, false)?.hit); // cold miss
    /// assert!(!pager.access(20, false)?.hit);
    /// assert!(pager.access(10, false)?.hit);
    /// // Full: 30 evicts the least recently used page, 20.
    /// assert_eq!(pager.access(30, false)?.evicted, Some(20));
    /// # Ok::<(), kernels_core::Error>(())
    /// ```
    pub fn new(policy: Policy, capacity: usize, seed: u64, work: &'a mut [u8]) -> Result<Self> {
        check_capacity(capacity)?;
        let state = PagerState {
            policy,
            capacity,
            len: 0,
            counts: [0, 0],
            head: NONE,
            tail: NONE,
            rng: seed,
        };
        let mut p = Pager::carve(state, work, true)?;
        p.table.clear();
        p.cand.clear();
        Ok(p)
    }

    /// Resumes a pager from its state and the same workspace it was created in
    /// (the bytes at the same address: the arrays are found at the same offsets).
    /// The state is checked; the arrays are checked as they are used, so memory
    /// that was overwritten gives [`Error::Argument`], never a panic.
    ///
    /// A workspace too small for the state's capacity can only mean the state is not
    /// the one written for this workspace: that is [`Error::Argument`] too.
    pub fn attach(state: PagerState, work: &'a mut [u8]) -> Result<Self> {
        Pager::carve(state, work, false).map_err(|e| match e {
            Error::Workspace => Error::Argument,
            e => e,
        })
    }

    /// The state to keep for [`Pager::attach`].
    pub fn state(&self) -> PagerState {
        PagerState {
            policy: self.policy,
            capacity: self.capacity,
            len: self.len,
            counts: self.cand.counts,
            head: self.order.head,
            tail: self.order.tail,
            rng: self.rng.state(),
        }
    }

    /// Pages cached now (never more than the capacity).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no page is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// DISCARD_ROBUST and LEARNED: the faults so far of the two policies they simulate
    /// (DISCARD with the bits, then the partner: MARKER, or LRU for LEARNED); `None`
    /// for the other policies.
    pub fn simulated_faults(&self) -> Option<[u64; 2]> {
        self.robust.as_ref().map(|r| r.simulated_faults())
    }

    /// Whether `page` is cached.
    pub fn contains(&self, page: u64) -> Result<bool> {
        match &self.robust {
            Some(r) => r.contains(page),
            None => Ok(self.table.get(page)?.is_some()),
        }
    }

    /// Serves one request for `page` with its predicted `bit` (ignored by LRU, MARKER
    /// and LEARNED; the discard bit for DISCARD, DISCARD_RANDOM and DISCARD_ROBUST, the
    /// phase bit for PHASE). LEARNED takes the page id as the request's context.
    #[inline]
    pub fn access(&mut self, page: u64, bit: bool) -> Result<Access> {
        self.access_ctx(page, bit, page)
    }

    /// As [`Pager::access`], with the request's context `ctx` for LEARNED (for example
    /// the instruction address of the load); the other policies ignore it.
    #[inline]
    pub fn access_ctx(&mut self, page: u64, bit: bool, ctx: u64) -> Result<Access> {
        let (_, a) = self.requests(&[page], Some(&[u8::from(bit)]), Some(&[ctx]), true)?;
        Ok(a)
    }

    /// Serves `pages` in order, each with its bit (`bits` `None`: all 0; 1 means
    /// true) and context (`ctx` `None`: the page id); returns the faults and what the
    /// last request did. `keep` as for [`Pager::request`].
    ///
    /// Not `#[inline]`: this loop holds the one copy of a request's code, for this
    /// crate's simulations and for single requests from anywhere (the C entry points
    /// had their own copy: 9 KB of firmware flash), and a simulation pays no call per
    /// request.
    fn requests(
        &mut self,
        pages: &[u64],
        bits: Option<&[u8]>,
        ctx: Option<&[u64]>,
        keep: bool,
    ) -> Result<(u64, Access)> {
        let mut faults = 0u64;
        let mut last = Access {
            hit: false,
            evicted: None,
        };
        for (t, &p) in pages.iter().enumerate() {
            let bit = bits.and_then(|b| b.get(t)).is_some_and(|&x| x == 1);
            let c = ctx.and_then(|c| c.get(t)).copied().unwrap_or(p);
            last = self.request(p, bit, c, keep)?;
            faults += u64::from(!last.hit);
        }
        Ok((faults, last))
    }

    /// One request. `keep`: DISCARD_ROBUST's and LEARNED's counters are written back
    /// to the workspace, for [`Pager::attach`]; [`simulate`] passes false, its
    /// workspace being scratch.
    #[inline(always)]
    fn request(&mut self, page: u64, bit: bool, ctx: u64, keep: bool) -> Result<Access> {
        if let Some(r) = self.robust.as_mut() {
            let (hit, evicted) = r.step(page, bit, ctx, &mut self.len, &mut self.rng)?;
            if keep {
                r.save();
            }
            return Ok(Access { hit, evicted });
        }
        let empty = match self.table.lookup(page)? {
            Ok(s) => {
                // Only the bound is checked: a slot that disagrees with the table can
                // only come from overwritten memory, and is then merely wrong, not
                // unsafe.
                let s = usize::try_from(s).map_err(|_| Error::Argument)?;
                if s >= self.len {
                    return Err(Error::Argument);
                }
                match self.policy {
                    Policy::Lru => self.order.touch(s as u32)?,
                    _ => {
                        let (marked, b) = flags(self.policy, bit);
                        self.cand.set(s, marked, b)?;
                    }
                }
                return Ok(Access {
                    hit: true,
                    evicted: None,
                });
            }
            Err(i) => i,
        };
        let (s, evicted) = if self.len < self.capacity {
            self.len += 1;
            (self.len - 1, None)
        } else {
            let s = victim(
                self.policy,
                &mut self.cand,
                &mut self.order,
                self.len,
                &mut self.rng,
            )?;
            (s, Some(*self.pages.get(s).ok_or(Error::Argument)?))
        };
        // The new entry goes where the lookup found room, then the evicted page's
        // entry is removed: one probe fewer than looking the new page up again.
        self.table.put_at(empty, page, s as u64)?;
        if let Some(old) = evicted
            && !self.table.remove(old)?
        {
            return Err(Error::Argument);
        }
        *self.pages.get_mut(s).ok_or(Error::Argument)? = page;
        match self.policy {
            Policy::Lru => self.order.push_front(s as u32)?,
            _ => {
                let (marked, b) = flags(self.policy, bit);
                self.cand.enter(s, marked, b)?;
            }
        }
        Ok(Access {
            hit: false,
            evicted,
        })
    }
}

/// (marked, stored bit) of a slot just requested with `bit` under a marking policy.
/// MARKER and PHASE mark every requested page; the discard policies mark only pages
/// predicted to be kept (bit 0), so a page predicted "safe to evict" stays a candidate
/// even after it is requested in this phase.
#[inline(always)]
pub(super) fn flags(policy: Policy, bit: bool) -> (bool, bool) {
    match policy {
        Policy::Lru | Policy::Marker => (true, false),
        Policy::Discard | Policy::DiscardRandom | Policy::DiscardRobust | Policy::Learned => {
            (!bit, bit)
        }
        Policy::Phase => (true, bit),
    }
}

/// Chooses and detaches the slot to evict from a full cache of `len` slots under
/// `policy` (LRU: the recency list; the others: the candidate lists).
#[inline(always)]
pub(super) fn victim(
    policy: Policy,
    cand: &mut Candidates<'_>,
    order: &mut Recency<'_>,
    len: usize,
    rng: &mut Rng,
) -> Result<usize> {
    let random = |rng: &mut Rng, n: usize| rng.below(n);
    // Starts a new marking phase when every cached page is marked.
    let phase_if = |cand: &mut Candidates<'_>, all_marked: bool| -> Result<()> {
        if all_marked {
            cand.new_phase(len)?;
        }
        Ok(())
    };
    match policy {
        Policy::Lru => Ok(order.pop_back()? as usize),
        Policy::Marker => {
            phase_if(cand, cand.count(0) == 0)?;
            let i = random(rng, cand.count(0));
            cand.evict_at(0, i)
        }
        Policy::Discard | Policy::DiscardRandom | Policy::DiscardRobust | Policy::Learned => {
            let list = if cand.count(1) > 0 {
                1
            } else {
                phase_if(cand, cand.count(0) == 0)?;
                0
            };
            // The deterministic policies take the list's first entry: arbitrary but
            // reproducible, and O(1).
            let i = if policy == Policy::DiscardRandom {
                random(rng, cand.count(list))
            } else {
                0
            };
            cand.evict_at(list, i)
        }
        Policy::Phase => {
            phase_if(cand, cand.count(0) + cand.count(1) == 0)?;
            let list = if cand.count(0) > 0 { 0 } else { 1 };
            let i = random(rng, cand.count(list));
            cand.evict_at(list, i)
        }
    }
}

/// Faults of `policy` with `capacity` slots over a whole trace. `bits` (one 0/1 per
/// request; `None` means all 0) are the predictions; [`Error::Dimension`] if its
/// length differs from the trace's, [`Error::Argument`] if a bit is not 0 or 1.
/// LEARNED takes each page id as its request's context.
///
/// ```
/// use kernels_core::paging::{Policy, offline, offline_work_size, pager_work_size, simulate};
///
/// // A loop over 3 pages with 2 slots: LRU faults on every request.
/// let pages = [1u64, 2, 3, 1, 2, 3, 1, 2, 3];
/// let mut work = vec![0u8; pager_work_size(2)?.bytes()];
/// assert_eq!(simulate(Policy::Lru, 2, 0, &pages, None, &mut work)?, 9);
///
/// // With Belady's discard bits as predictions, DISCARD makes the optimum's faults.
/// let mut bits = vec![0u8; pages.len()];
/// let mut owork = vec![0u8; offline_work_size(2, pages.len())?.bytes()];
/// let opt = offline(2, &pages, Some(&mut bits), None, &mut owork)?;
/// assert_eq!(simulate(Policy::Discard, 2, 0, &pages, Some(&bits), &mut work)?, opt);
/// assert!(opt < 9);
/// # Ok::<(), kernels_core::Error>(())
/// ```
pub fn simulate(
    policy: Policy,
    capacity: usize,
    seed: u64,
    pages: &[u64],
    bits: Option<&[u8]>,
    work: &mut [u8],
) -> Result<u64> {
    simulate_ctx(policy, capacity, seed, pages, bits, None, work)
}

/// As [`simulate`], with one context per request for LEARNED (`None`: the page ids;
/// the other policies ignore it): [`Error::Dimension`] if its length differs from
/// the trace's.
pub fn simulate_ctx(
    policy: Policy,
    capacity: usize,
    seed: u64,
    pages: &[u64],
    bits: Option<&[u8]>,
    ctx: Option<&[u64]>,
    work: &mut [u8],
) -> Result<u64> {
    let n = pages.len();
    if bits.is_some_and(|b| b.len() != n) || ctx.is_some_and(|c| c.len() != n) {
        return Err(Error::Dimension);
    }
    if bits.is_some_and(|b| b.iter().any(|&x| x > 1)) {
        return Err(Error::Argument);
    }
    let mut pager = Pager::new(policy, capacity, seed, work)?;
    Ok(pager.requests(pages, bits, ctx, false)?.0)
}
