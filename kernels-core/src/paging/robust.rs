//! The robust combination behind DISCARD_ROBUST and LEARNED: two policies simulated
//! side by side on the pager's own metadata, the real cache following the one with
//! fewer faults so far and moving toward it lazily.
//!
//! Both simulated caches (DISCARD with the request's discard bit, and a partner that
//! ignores the bits: MARKER for DISCARD_ROBUST, LRU for LEARNED) see every request and
//! count their faults. The real cache follows one of them, F. On a real fault with a
//! full cache it evicts F's own victim of this request if the real cache holds it, else
//! any page it holds that F does not (one exists: F now holds the requested page,
//! which the real cache lacks). Then the number of pages F holds and the real cache
//! lacks never grows while F is followed, and every real fault is a fault of F or
//! lowers that number (at most k): a period of following F costs F's faults in it
//! plus at most k.
//!
//! Switching rule (deterministic follow-the-better with a factor, as in Fiat, Karp,
//! Luby, McGeoch, Sleator and Young, "Competitive paging algorithms", J. Algorithms
//! 1991, and the combination of Antoniadis, Coester, Elias, Polak and Simon, "Online
//! metric algorithms with untrusted predictions", ICML 2020): after each request,
//! switch from F to the other policy G if F's faults so far exceed (1 + d) x G's + k,
//! with d = 1/8 (DISCARD_ROBUST; it starts following DISCARD) or d = 1/32 (LEARNED,
//! whose target is within a few per cent of LRU; it starts following LRU).
//!
//! Bound. With A and B the two policies' faults and m = min(A, B): without a switch
//! the real cache makes at most (1 + d) m + k faults; with one switch, toward the
//! policy that ends better, at most (1 + d) m + 2k + 1; with N switches at most
//! 2 (1 + d) m + k + N (2k + 1), where N <= 1 + log_{1+d}(1 + d m / k) since the
//! smaller count grows by a factor of 1 + d plus k from switch to switch. That is
//! O(m + k log(m / k)): a wrong bit costs at most a constant factor of the better
//! policy, whatever the bits.
//!
//! Memory: nodes, one per page held by any of the three caches (at most 3k + 1 with
//! the request being served), each with its page, which caches hold it and its slot in
//! each simulated cache; one hash table from page to node; each simulated cache's own
//! slot arrays, flags and candidate lists (as the plain pager's); a list of the real
//! cache's pages that F lacks. Every access is O(1) (amortised: a marking phase start is
//! O(k) once per at least k requests, and a switch rebuilds the list in O(k) once per at
//! least k faults).

use super::Policy;
use super::candidates::Candidates;
use super::learner::{Learner, learner_size};
use super::pager::{flags, victim};
use super::recency::{NONE, Recency};
use super::rng::Rng;
use super::table::{Table, mask_words, sparse_table_bits, table_size};
use crate::{Error, Result, Workspace, WorkspaceSize};

/// Table entries per node (at most; fewer for a large capacity, see
/// [`sparse_table_bits`]): the table is at most 1/4 full (nodes are up to
/// three times the capacity; usually fewer, as the caches mostly overlap).
const SPREAD: usize = 4;

/// Membership bits of a node: held by simulated cache 0 (DISCARD), 1 (the partner),
/// or the real cache.
const IN_REAL: u8 = 4;

/// Membership bit of a node in the stale list (held by the real cache, not by the
/// followed policy), mirrored here so most updates read one byte.
const IN_STALE: u8 = 8;

/// Switch when the followed policy's faults exceed (1 + 1 / divisor) x the other's
/// plus k: DISCARD_ROBUST's divisor, then LEARNED's (whose target is a few per cent
/// of LRU's faults, so it leaves a worse-performing policy sooner).
const SWITCH_DIV: [u64; 2] = [8, 32];

/// Words of the workspace header: each simulated cache's length, candidate counts and
/// recency ends; free nodes, stale nodes, both fault counts, the followed policy (bit
/// 0) and whether the real cache holds exactly its pages (bit 1); then the learner's
/// clock and latest full slot.
const HEADER_WORDS: usize = 17;

/// Bit of the follow word: the real cache holds exactly the followed policy's pages.
const SYNCED: u64 = 2;

/// Nodes for capacity `k`: three caches of k pages plus the page being served.
fn nodes(k: usize) -> Result<usize> {
    k.checked_mul(3)
        .and_then(|n| n.checked_add(1))
        .ok_or(Error::Dimension)
}

fn sub_size(size: WorkspaceSize, k: usize) -> Result<WorkspaceSize> {
    let words = mask_words(k);
    size.array::<u32>(k)? // node of each slot
        .array::<u64>(words)? // marked mask
        .array::<u64>(words)? // bit mask
        .array::<u32>(k)? // position in a candidate list
        .array::<u32>(k)? // candidates with bit 0
        .array::<u32>(k)? // candidates with bit 1
        .array::<u32>(k)? // LRU prev
        .array::<u32>(k) // LRU next
}

/// Workspace of the combination (and the learner) for capacity `k`, in carving order.
pub(super) fn robust_size(size: WorkspaceSize, k: usize) -> Result<WorkspaceSize> {
    let n = nodes(k)?;
    let size = table_size(
        size.array::<u64>(HEADER_WORDS)?,
        sparse_table_bits(n, SPREAD)?,
    )?
    .array::<u64>(n)? // page of each node
    .array::<u8>(n)? // membership bits
    .array::<[u32; 2]>(n)? // slot in each simulated cache
    .array::<u32>(n)? // position in the stale list
    .array::<u32>(n)? // free node stack
    .array::<u32>(k)?; // stale list
    let size = sub_size(sub_size(size, k)?, k)?;
    learner_size(size, k)
}

/// One simulated cache: slots 0..len, each holding a node.
struct Sub<'a> {
    policy: Policy,
    len: usize,
    node: &'a mut [u32],
    cand: Candidates<'a>,
    order: Recency<'a>,
}

impl<'a> Sub<'a> {
    fn carve(ws: &mut Workspace<'a>, policy: Policy, k: usize, h: &[u64]) -> Result<Self> {
        let words = mask_words(k);
        let size = |v: u64| usize::try_from(v).map_err(|_| Error::Argument);
        let slot = |v: u64| u32::try_from(v).map_err(|_| Error::Argument);
        let s = Sub {
            policy,
            len: size(h[0])?,
            node: ws.take(k)?,
            cand: Candidates {
                marked: ws.take(words)?,
                bits: ws.take(words)?,
                pos: ws.take(k)?,
                lists: [ws.take(k)?, ws.take(k)?],
                counts: [size(h[1])?, size(h[2])?],
            },
            order: Recency {
                prev: ws.take(k)?,
                next: ws.take(k)?,
                head: slot(h[3])?,
                tail: slot(h[4])?,
            },
        };
        let ends_ok = if policy == Policy::Lru && s.len > 0 {
            (s.order.head as usize) < s.len && (s.order.tail as usize) < s.len
        } else {
            s.order.head == NONE && s.order.tail == NONE
        };
        let counts_ok = s.cand.counts[0]
            .checked_add(s.cand.counts[1])
            .is_some_and(|c| c <= s.len);
        if s.len <= k && counts_ok && ends_ok {
            Ok(s)
        } else {
            Err(Error::Argument)
        }
    }

    fn save(&self, h: &mut [u64]) {
        h[0] = self.len as u64;
        h[1] = self.cand.counts[0] as u64;
        h[2] = self.cand.counts[1] as u64;
        h[3] = u64::from(self.order.head);
        h[4] = u64::from(self.order.tail);
    }

    /// A request for the page this cache holds in slot `s`. `policy` is this cache's,
    /// passed as a constant by the caller so the policy matches fold away (a match on
    /// the field stays a run-time branch).
    #[inline(always)]
    fn hit(&mut self, policy: Policy, s: usize, bit: bool) -> Result<()> {
        if s >= self.len {
            return Err(Error::Argument);
        }
        match policy {
            Policy::Lru => self.order.touch(s as u32),
            p => {
                let (marked, b) = flags(p, bit);
                self.cand.set(s, marked, b)
            }
        }
    }

    /// A request for node `n`, not held: its slot, and the node evicted for it.
    /// `policy` as for [`Sub::hit`].
    #[inline(always)]
    fn fault(
        &mut self,
        policy: Policy,
        n: u32,
        bit: bool,
        k: usize,
        rng: &mut Rng,
    ) -> Result<(u32, Option<u32>)> {
        let (s, evicted) = if self.len < k {
            self.len += 1;
            (self.len - 1, None)
        } else {
            let s = victim(policy, &mut self.cand, &mut self.order, self.len, rng)?;
            (s, Some(*self.node.get(s).ok_or(Error::Argument)?))
        };
        *self.node.get_mut(s).ok_or(Error::Argument)? = n;
        match policy {
            Policy::Lru => self.order.push_front(s as u32)?,
            p => {
                let (marked, b) = flags(p, bit);
                self.cand.enter(s, marked, b)?;
            }
        }
        Ok((s as u32, evicted))
    }
}

/// The combination over a borrowed workspace region. Its counters live in fields; the
/// pager copies them to the region's header after every access (except in a
/// simulation, whose workspace is scratch), so the workspace can be attached again.
///
/// Synced. The real cache usually holds exactly the followed policy's pages (always
/// until the first switch, and again once the stale list empties and both hold as
/// many pages): it then hits and evicts exactly as that policy does, and nothing of
/// it is kept apart (its membership bits are left stale and recomputed from the
/// followed policy's at the next switch).
pub(super) struct Robust<'a> {
    k: usize,
    header: &'a mut [u64; HEADER_WORDS],
    table: Table<'a>,
    page: &'a mut [u64],
    mem: &'a mut [u8],
    slot: &'a mut [[u32; 2]],
    stale_pos: &'a mut [u32],
    free: &'a mut [u32],
    stale: &'a mut [u32],
    subs: [Sub<'a>; 2],
    learner: Option<Learner<'a>>,
    nfree: usize,
    nstale: usize,
    faults: [u64; 2],
    follow: usize,
    synced: bool,
}

#[inline(always)]
fn at<T: Copy>(a: &[T], i: usize) -> Result<T> {
    a.get(i).copied().ok_or(Error::Argument)
}

#[inline(always)]
fn put<T>(a: &mut [T], i: usize, v: T) -> Result<()> {
    *a.get_mut(i).ok_or(Error::Argument)? = v;
    Ok(())
}

impl<'a> Robust<'a> {
    /// Carves the region for `policy` (DISCARD_ROBUST or LEARNED) with capacity `k`;
    /// `fresh` initialises it, else its header is read and checked.
    pub(super) fn carve(
        ws: &mut Workspace<'a>,
        policy: Policy,
        k: usize,
        fresh: bool,
    ) -> Result<Self> {
        let n = nodes(k)?;
        let header: &mut [u64; HEADER_WORDS] = ws
            .take::<u64>(HEADER_WORDS)?
            .try_into()
            .map_err(|_| Error::Internal)?;
        if fresh {
            header.fill(0);
            for i in [3, 4, 8, 9] {
                header[i] = u64::from(NONE);
            }
            header[10] = n as u64;
            // LEARNED follows LRU until its own bits prove better: unlearned bits
            // then cost nothing. Both caches start empty, so synced.
            header[14] = u64::from(policy == Policy::Learned) | SYNCED;
        }
        let partner = if policy == Policy::Learned {
            Policy::Lru
        } else {
            Policy::Marker
        };
        let h: [u64; HEADER_WORDS] = *header;
        let size = |v: u64| usize::try_from(v).map_err(|_| Error::Argument);
        let mut r = Robust {
            k,
            table: Table::carve(ws, sparse_table_bits(n, SPREAD)?)?,
            page: ws.take(n)?,
            mem: ws.take(n)?,
            slot: ws.take(n)?,
            stale_pos: ws.take(n)?,
            free: ws.take(n)?,
            stale: ws.take(k)?,
            subs: [
                Sub::carve(ws, Policy::Discard, k, &h[0..5])?,
                Sub::carve(ws, partner, k, &h[5..10])?,
            ],
            learner: None,
            nfree: size(h[10])?,
            nstale: size(h[11])?,
            faults: [h[12], h[13]],
            follow: (h[14] & 1) as usize,
            synced: h[14] & SYNCED != 0,
            header,
        };
        if policy == Policy::Learned {
            r.learner = Some(Learner::carve(ws, k, [h[15], h[16]], fresh)?);
        }
        if r.nfree > n || r.nstale > k || h[14] > (1 | SYNCED) {
            return Err(Error::Argument);
        }
        if fresh {
            r.table.clear();
            r.mem.fill(0);
            r.stale_pos.fill(NONE);
            for (i, f) in r.free.iter_mut().enumerate() {
                *f = (n - 1 - i) as u32;
            }
            for sub in &mut r.subs {
                sub.cand.clear();
            }
            r.save();
        }
        Ok(r)
    }

    /// Writes the counters to the region's header, for a later [`Robust::carve`].
    #[inline(always)]
    pub(super) fn save(&mut self) {
        let h = &mut *self.header;
        self.subs[0].save(&mut h[0..5]);
        self.subs[1].save(&mut h[5..10]);
        h[10] = self.nfree as u64;
        h[11] = self.nstale as u64;
        h[12] = self.faults[0];
        h[13] = self.faults[1];
        h[14] = self.follow as u64 | if self.synced { SYNCED } else { 0 };
        if let Some(l) = &self.learner {
            let [a, b] = l.words();
            h[15] = a;
            h[16] = b;
        }
    }

    /// Faults of the two simulated policies so far.
    pub(super) fn simulated_faults(&self) -> [u64; 2] {
        self.faults
    }

    /// Whether the real cache holds `page`.
    pub(super) fn contains(&self, page: u64) -> Result<bool> {
        Ok(match self.table.get(page)? {
            Some(n) => {
                let n = usize::try_from(n).map_err(|_| Error::Argument)?;
                let real = if self.synced {
                    1 << self.follow
                } else {
                    IN_REAL
                };
                at(self.mem, n)? & real != 0
            }
            None => false,
        })
    }

    /// Puts node `x` in the stale list or takes it out, as it is held by the real
    /// cache and not by the followed policy or not.
    #[inline(always)]
    fn restale(&mut self, x: usize) -> Result<()> {
        let m = at(self.mem, x)?;
        let want = m & IN_REAL != 0 && m & (1 << self.follow) == 0;
        let listed = m & IN_STALE != 0;
        if want && !listed {
            put(self.stale, self.nstale, x as u32)?;
            put(self.stale_pos, x, self.nstale as u32)?;
            put(self.mem, x, m | IN_STALE)?;
            self.nstale += 1;
        } else if !want && listed {
            let i = at(self.stale_pos, x)? as usize;
            if i >= self.nstale || at(self.stale, i)? != x as u32 {
                return Err(Error::Argument);
            }
            let last = at(self.stale, self.nstale - 1)?;
            put(self.stale, i, last)?;
            put(self.stale_pos, last as usize, i as u32)?;
            put(self.mem, x, m & !IN_STALE)?;
            self.nstale -= 1;
        }
        Ok(())
    }

    /// Follows the other policy: the stale list is rebuilt from every node. O(k).
    #[inline(never)]
    fn switch(&mut self) -> Result<()> {
        if self.synced {
            // The real cache holds the followed policy's pages: its bits from theirs.
            let f = 1 << self.follow;
            for m in self.mem.iter_mut() {
                *m = (*m & 3) | if *m & f != 0 { IN_REAL } else { 0 };
            }
            self.nstale = 0;
            self.synced = false;
        }
        for i in 0..self.nstale {
            let x = at(self.stale, i)? as usize;
            let m = at(self.mem, x)?;
            put(self.mem, x, m & !IN_STALE)?;
        }
        self.nstale = 0;
        self.follow ^= 1;
        for x in 0..self.mem.len() {
            if self.mem[x] != 0 {
                self.restale(x)?;
            }
        }
        Ok(())
    }

    /// Serves node `n` (membership `before`) in simulated cache `j`, whose policy is
    /// `policy`; returns the node it evicted, or usize::MAX.
    #[inline(always)]
    fn serve(
        &mut self,
        j: usize,
        policy: Policy,
        n: usize,
        before: u8,
        bit: bool,
        rng: &mut Rng,
    ) -> Result<usize> {
        let sub = &mut self.subs[j];
        if before & (1 << j) != 0 {
            let s = at(self.slot, n)?[j] as usize;
            sub.hit(policy, s, bit)?;
            return Ok(usize::MAX);
        }
        self.faults[j] = self.faults[j].wrapping_add(1);
        let (s, evicted) = sub.fault(policy, n as u32, bit, self.k, rng)?;
        self.slot.get_mut(n).ok_or(Error::Argument)?[j] = s;
        self.mem[n] |= 1 << j;
        let Some(v) = evicted else {
            return Ok(usize::MAX);
        };
        let v = v as usize;
        let m = self.mem.get_mut(v).ok_or(Error::Argument)?;
        if *m & (1 << j) == 0 {
            return Err(Error::Argument);
        }
        *m &= !(1 << j);
        Ok(v)
    }

    /// Frees node `v` (or nothing for usize::MAX) if no cache holds it, its
    /// membership bits under `held` being clear.
    #[inline(always)]
    fn release(&mut self, v: usize, held: u8) -> Result<()> {
        // `get` gives None for usize::MAX, and every other victim is a node index.
        if self.mem.get(v).is_some_and(|&m| m & held == 0) {
            if !self.table.remove(at(self.page, v)?)? {
                return Err(Error::Argument);
            }
            put(self.mem, v, 0)?;
            put(self.free, self.nfree, v as u32)?;
            self.nfree += 1;
        }
        Ok(())
    }

    /// [`Robust::step`], then [`Robust::save`].
    #[cfg(test)]
    fn access(
        &mut self,
        page: u64,
        bit: bool,
        ctx: u64,
        len: &mut usize,
        rng: &mut Rng,
    ) -> Result<(bool, Option<u64>)> {
        let out = self.step(page, bit, ctx, len, rng)?;
        self.save();
        Ok(out)
    }

    /// Serves one request; `len` is the real cache's length. `ctx` is the learner's
    /// context (LEARNED), `bit` the caller's discard bit (DISCARD_ROBUST). Returns
    /// whether the real cache hit and the page it evicted. The header is not written
    /// ([`Robust::save`]).
    #[inline]
    pub(super) fn step(
        &mut self,
        page: u64,
        bit: bool,
        ctx: u64,
        len: &mut usize,
        rng: &mut Rng,
    ) -> Result<(bool, Option<u64>)> {
        let k = self.k;
        let bit = match self.learner.as_mut() {
            Some(l) => l.observe(page, ctx)?,
            None => bit,
        };
        let n = match self.table.lookup(page)? {
            Ok(v) => {
                let n = usize::try_from(v).map_err(|_| Error::Argument)?;
                if at(self.page, n)? != page || at(self.mem, n)? == 0 {
                    return Err(Error::Argument);
                }
                n
            }
            Err(i) => {
                if self.nfree == 0 {
                    return Err(Error::Argument);
                }
                self.nfree -= 1;
                let n = at(self.free, self.nfree)? as usize;
                if at(self.mem, n)? != 0 {
                    return Err(Error::Argument);
                }
                self.table.put_at(i, page, n as u64)?;
                put(self.page, n, page)?;
                n
            }
        };
        let before = at(self.mem, n)?;
        // Each simulated cache served with its policy as a constant, so the policy
        // matches inside fold away.
        let mut gone = [usize::MAX; 3];
        gone[0] = self.serve(0, Policy::Discard, n, before, bit, rng)?;
        gone[1] = match self.subs[1].policy {
            Policy::Lru => self.serve(1, Policy::Lru, n, before, bit, rng)?,
            _ => self.serve(1, Policy::Marker, n, before, bit, rng)?,
        };
        let f = self.follow;
        let (hit, evicted) = if self.synced {
            // The real cache is the followed policy's: its hit, its victim. A victim
            // is usize::MAX (none, so `get` gives None) or a node index checked by
            // `serve`.
            *len = self.subs[f].len;
            (before & (1 << f) != 0, self.page.get(gone[f]).copied())
        } else {
            self.serve_real(n, before, &mut gone, len)?
        };
        // Each victim once (a node both caches evicted counts once): a duplicate
        // becomes "none" (all ones), without a branch.
        gone[1] |= usize::from(gone[1] == gone[0]).wrapping_neg();
        if self.synced {
            // Only the simulated caches evict (gone[2] is none).
            self.release(gone[0], 3)?;
            self.release(gone[1], 3)?;
        } else {
            for v in gone {
                if v != usize::MAX {
                    self.restale(v)?;
                }
                self.release(v, !IN_STALE)?;
            }
        }
        if !self.synced && self.nstale == 0 && *len == self.subs[f].len {
            // The real cache holds only the followed policy's pages, as many: the same.
            self.synced = true;
        }
        // Counts change only on faults of the simulated policies. Saturating products
        // are exact below 2^58 faults and can only delay a switch above that.
        if before & 3 != 3 {
            let (f, g) = (self.faults[f], self.faults[f ^ 1]);
            let div = SWITCH_DIV[usize::from(self.learner.is_some())];
            let limit = g
                .saturating_mul(div + 1)
                .saturating_add((k as u64).saturating_mul(div));
            if f.saturating_mul(div) > limit {
                self.switch()?;
            }
        }
        Ok((hit, evicted))
    }

    /// The real cache's part of a request for node `n` (membership `before`) when it
    /// is not synced: on a fault with a full cache it evicts the followed policy's
    /// victim if it holds it, else a stale page (recorded in `gone[2]`). Returns the
    /// hit and the evicted page.
    fn serve_real(
        &mut self,
        n: usize,
        before: u8,
        gone: &mut [usize; 3],
        len: &mut usize,
    ) -> Result<(bool, Option<u64>)> {
        let hit = before & IN_REAL != 0;
        let mut evicted = None;
        if !hit {
            if *len < self.k {
                *len += 1;
            } else {
                let fv = gone[self.follow];
                let c = if fv != usize::MAX && at(self.mem, fv)? & IN_REAL != 0 {
                    fv
                } else if self.nstale > 0 {
                    at(self.stale, self.nstale - 1)? as usize
                } else {
                    return Err(Error::Argument);
                };
                *self.mem.get_mut(c).ok_or(Error::Argument)? &= !IN_REAL;
                evicted = Some(at(self.page, c)?);
                if !gone[..2].contains(&c) {
                    gone[2] = c;
                }
            }
            *self.mem.get_mut(n).ok_or(Error::Argument)? |= IN_REAL;
        }
        self.restale(n)?;
        Ok((hit, evicted))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Overwritten counters of the workspace-held header (a fault count at the top of
    /// its range, more free or stale nodes than exist, a follower or recency end out of
    /// range, the learner's clock at its limit) are refused or harmless: never a
    /// panic or an overflow, and the real cache never exceeds its capacity.
    #[test]
    fn an_overwritten_header_is_refused_or_harmless() {
        let k = 5;
        let bytes = robust_size(WorkspaceSize::new(), k).unwrap().bytes();
        assert!(bytes <= 32768);
        let pages: [u64; 400] = core::array::from_fn(|i| (i as u64 * 11) % 31);
        for policy in [Policy::DiscardRobust, Policy::Learned] {
            for word in 0..HEADER_WORDS {
                for value in [u64::MAX, u64::MAX / 2, 1 << 33, 16, 3, 1, 0] {
                    let mut buf = [0u8; 32768];
                    let (mut len, mut rng) = (0usize, Rng::new(1));
                    {
                        let mut ws = Workspace::new(&mut buf);
                        let mut r = Robust::carve(&mut ws, policy, k, true).unwrap();
                        for &p in &pages[..200] {
                            r.access(p, p % 3 == 0, p, &mut len, &mut rng).unwrap();
                        }
                    }
                    {
                        let mut ws = Workspace::new(&mut buf);
                        let h = ws.take::<u64>(HEADER_WORDS).unwrap();
                        h[word] = value;
                    }
                    let mut ws = Workspace::new(&mut buf);
                    if let Ok(mut r) = Robust::carve(&mut ws, policy, k, false) {
                        for &p in &pages[200..] {
                            if r.access(p, false, p, &mut len, &mut rng).is_err() {
                                break;
                            }
                            assert!(len <= k);
                        }
                    }
                }
            }
        }
    }
}
