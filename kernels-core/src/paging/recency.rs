//! The LRU policy's recency order: a doubly linked list threaded through two arrays
//! of slot indices, most recent at the head. Every operation is O(1).

use crate::{Error, Result};

/// "No slot" in the links (slot indices are below the capacity limit).
pub(super) const NONE: u32 = u32::MAX;

/// The list over borrowed link arrays.
pub(super) struct Recency<'a> {
    pub(super) prev: &'a mut [u32],
    pub(super) next: &'a mut [u32],
    pub(super) head: u32,
    pub(super) tail: u32,
}

#[inline(always)]
fn link(a: &mut [u32], i: u32, value: u32) -> Result<()> {
    *a.get_mut(i as usize).ok_or(Error::Argument)? = value;
    Ok(())
}

#[inline(always)]
fn read(a: &[u32], i: u32) -> Result<u32> {
    a.get(i as usize).copied().ok_or(Error::Argument)
}

impl Recency<'_> {
    /// Takes slot `s` out of the list.
    #[inline(always)]
    pub(super) fn unlink(&mut self, s: u32) -> Result<()> {
        let (p, n) = (read(self.prev, s)?, read(self.next, s)?);
        if p == NONE {
            self.head = n;
        } else {
            link(self.next, p, n)?;
        }
        if n == NONE {
            self.tail = p;
        } else {
            link(self.prev, n, p)?;
        }
        Ok(())
    }

    /// Puts slot `s` (not in the list) at the head.
    #[inline(always)]
    pub(super) fn push_front(&mut self, s: u32) -> Result<()> {
        link(self.prev, s, NONE)?;
        link(self.next, s, self.head)?;
        if self.head == NONE {
            self.tail = s;
        } else {
            link(self.prev, self.head, s)?;
        }
        self.head = s;
        Ok(())
    }

    /// Moves slot `s` (in the list) to the head.
    #[inline(always)]
    pub(super) fn touch(&mut self, s: u32) -> Result<()> {
        if self.head != s {
            self.unlink(s)?;
            self.push_front(s)?;
        }
        Ok(())
    }

    /// Removes and returns the least recently used slot.
    #[inline(always)]
    pub(super) fn pop_back(&mut self) -> Result<u32> {
        let s = self.tail;
        if s == NONE {
            return Err(Error::Argument);
        }
        self.unlink(s)?;
        Ok(s)
    }
}
