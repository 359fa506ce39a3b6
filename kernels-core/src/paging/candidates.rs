//! Per-slot flags of the marking policies and the eviction candidates they define.
//!
//! Each cached slot is marked or not and carries the bit of its latest request; the
//! two flags are bit masks (one bit per slot). Unmarked slots are the eviction
//! candidates, split by their bit into two lists. A list is a dense array plus each
//! member's position in it, so adding, removing and drawing a uniformly random member
//! are O(1); scanning the masks for a candidate would cost O(k / 64) per fault.

use crate::{Error, Result};

/// Slot flags and candidate lists over borrowed arrays (all of length >= capacity).
pub(super) struct Candidates<'a> {
    pub(super) marked: &'a mut [u64],
    pub(super) bits: &'a mut [u64],
    pub(super) pos: &'a mut [u32],
    /// Unmarked slots with bit 0, then with bit 1.
    pub(super) lists: [&'a mut [u32]; 2],
    /// How many entries of each list are in use.
    pub(super) counts: [usize; 2],
}

#[inline(always)]
fn flag(mask: &[u64], s: usize) -> Result<bool> {
    mask.get(s >> 6)
        .map(|w| w >> (s & 63) & 1 == 1)
        .ok_or(Error::Argument)
}

#[inline(always)]
fn set_flag(mask: &mut [u64], s: usize, on: bool) -> Result<()> {
    let w = mask.get_mut(s >> 6).ok_or(Error::Argument)?;
    let bit = 1u64 << (s & 63);
    *w = if on { *w | bit } else { *w & !bit };
    Ok(())
}

impl Candidates<'_> {
    /// Empties both lists (slots keep their flags).
    pub(super) fn clear(&mut self) {
        self.counts = [0, 0];
    }

    /// The list slot `s` belongs to, if it is unmarked.
    #[inline(always)]
    fn list_of(&self, s: usize) -> Result<Option<usize>> {
        if flag(self.marked, s)? {
            Ok(None)
        } else {
            Ok(Some(usize::from(flag(self.bits, s)?)))
        }
    }

    #[inline(always)]
    fn push(&mut self, which: usize, s: usize) -> Result<()> {
        let n = self.counts[which & 1];
        *self.lists[which & 1].get_mut(n).ok_or(Error::Argument)? = s as u32;
        *self.pos.get_mut(s).ok_or(Error::Argument)? = n as u32;
        self.counts[which & 1] = n + 1;
        Ok(())
    }

    /// Removes the member at position `i` of list `which`; returns its slot.
    #[inline(always)]
    fn take_at(&mut self, which: usize, i: usize) -> Result<usize> {
        let which = which & 1;
        let n = self.counts[which];
        if i >= n {
            return Err(Error::Argument);
        }
        let list = &mut self.lists[which];
        let s = *list.get(i).ok_or(Error::Argument)? as usize;
        let last = *list.get(n - 1).ok_or(Error::Argument)?;
        *list.get_mut(i).ok_or(Error::Argument)? = last;
        *self.pos.get_mut(last as usize).ok_or(Error::Argument)? = i as u32;
        self.counts[which] = n - 1;
        Ok(s)
    }

    /// Takes slot `s` out of its list, if it is in one.
    #[inline(always)]
    fn unlist(&mut self, s: usize) -> Result<()> {
        if let Some(which) = self.list_of(s)? {
            let i = *self.pos.get(s).ok_or(Error::Argument)? as usize;
            if self.lists[which].get(i).copied() != Some(s as u32) {
                return Err(Error::Argument);
            }
            self.take_at(which, i)?;
        }
        Ok(())
    }

    /// Gives slot `s` (listed or not) its new flags and list membership.
    #[inline(always)]
    pub(super) fn set(&mut self, s: usize, marked: bool, bit: bool) -> Result<()> {
        if marked && flag(self.marked, s)? {
            // The common hit: a marked page stays marked; only its bit changes.
            return set_flag(self.bits, s, bit);
        }
        self.unlist(s)?;
        self.enter(s, marked, bit)
    }

    /// Flags a slot that is in no list (a fresh or just evicted one).
    #[inline(always)]
    pub(super) fn enter(&mut self, s: usize, marked: bool, bit: bool) -> Result<()> {
        set_flag(self.marked, s, marked)?;
        set_flag(self.bits, s, bit)?;
        if !marked {
            self.push(usize::from(bit), s)?;
        }
        Ok(())
    }

    /// Number of members of list `which` (0: bit 0, 1: bit 1).
    #[inline(always)]
    pub(super) fn count(&self, which: usize) -> usize {
        self.counts[which & 1]
    }

    /// Removes and returns the member at position `i` of list `which`.
    #[inline(always)]
    pub(super) fn evict_at(&mut self, which: usize, i: usize) -> Result<usize> {
        let s = self.take_at(which, i)?;
        // Evicted slots are refilled at once; marking it keeps it out of the lists
        // until the caller flags it.
        set_flag(self.marked, s, true)?;
        Ok(s)
    }

    /// A new marking phase: every one of the `len` cached slots becomes unmarked and
    /// joins the list of its bit. O(len), once per phase of at least `len` requests.
    pub(super) fn new_phase(&mut self, len: usize) -> Result<()> {
        let words = crate::paging::table::mask_words(len);
        self.marked.get_mut(..words).ok_or(Error::Argument)?.fill(0);
        let bits = self.bits.get(..words).ok_or(Error::Argument)?;
        let pos = self.pos.get_mut(..len).ok_or(Error::Argument)?;
        let [l0, l1] = &mut self.lists;
        let (l0, l1) = (
            l0.get_mut(..len).ok_or(Error::Argument)?,
            l1.get_mut(..len).ok_or(Error::Argument)?,
        );
        // Branch-free over random bits: slot s goes to the end of both lists (both
        // ends are at most s, so in range) and only its own list's end advances.
        let (mut c0, mut c1) = (0usize, 0usize);
        for (w, (chunk, &word)) in pos.chunks_mut(64).zip(bits).enumerate() {
            for (j, p) in chunk.iter_mut().enumerate() {
                let s = (w * 64 + j) as u32;
                let b = word >> j & 1;
                *l0.get_mut(c0).ok_or(Error::Argument)? = s;
                *l1.get_mut(c1).ok_or(Error::Argument)? = s;
                *p = if b == 0 { c0 } else { c1 } as u32;
                c0 += (b ^ 1) as usize;
                c1 += b as usize;
            }
        }
        self.counts = [c0, c1];
        Ok(())
    }
}
