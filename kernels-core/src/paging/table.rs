//! An open-addressing hash table from page id to a value (a slot or a request index),
//! in caller memory.
//!
//! Linear probing over a power-of-two array at most half full (the pager keeps it at
//! most 1/8 full while it fits in 2 MiB, see [`sparse_table_bits`]), so probes stay
//! short.
//! Every page id is a valid key (0 and `u64::MAX` included): whether an entry is in
//! use is kept in its value word (0 = empty, else value + 1), never in the key. Key
//! and value share one 16-byte entry, so a probe touches one cache line. Deletion
//! shifts the following entries of the probe run back instead of leaving
//! tombstones, so a table that sees endless inserts and deletes never degrades.
//!
//! The arrays may live in a workspace the caller keeps between calls (the pager), so
//! the probe loops are bounded by the table size even if that memory was overwritten.

use crate::{Error, Result, WorkspaceSize};

/// Multiplicative hashing: the table takes the top bits of the product, which depend
/// on every bit of the page id, so dense runs of page numbers from real traces spread
/// over the whole power-of-two table. One multiply per lookup. The multiplier is a
/// spectrally good one unrelated to the golden ratio, which callers often use to
/// scramble ids themselves (the product of the two would hash them again by a fixed
/// constant of unknown quality).
const MUL: u64 = 0xd6e8_feb8_6659_fd93;

/// log2 of the table size for at most `entries` keys: a power of two >= `spread` *
/// entries (and >= 2), so the load factor stays <= 1 / `spread`.
pub(super) fn table_bits(entries: usize, spread: usize) -> Result<u32> {
    let want = entries.checked_mul(spread).ok_or(Error::Dimension)?.max(2);
    let size = want.checked_next_power_of_two().ok_or(Error::Dimension)?;
    Ok(size.trailing_zeros())
}

/// log2 of a pager's table size for at most `entries` keys: `most` entries per key
/// while the table fits in [`SPARSE_BYTES`], fewer above, down to 2. A sparse table
/// keeps the probe loops' exits predictable (see the pager's `SPREAD`); a large one
/// costs cache and TLB misses instead, which then dominate: LRU over a Zipf trace at
/// k = 65536 ran 1.9x faster at 2 entries per key than at 8 (8 MiB), at k = 32768
/// 1.2x faster at 4, and the same at k = 16384 (AMD EPYC, 32 MiB L3).
pub(super) fn sparse_table_bits(entries: usize, most: usize) -> Result<u32> {
    let per_key = SPARSE_BYTES / size_of::<[u64; 2]>() / entries.max(1);
    table_bits(entries, per_key.clamp(2, most.max(2)))
}

/// The largest table [`sparse_table_bits`] keeps at its most entries per key.
const SPARSE_BYTES: usize = 2 << 20;

/// Number of u64 words of a bit mask over `n` entries.
pub(super) fn mask_words(n: usize) -> usize {
    n.div_ceil(64)
}

/// Adds a table of `1 << bits` entries to a workspace size query, as
/// [`Table::carve`] takes it.
pub(super) fn table_size(size: WorkspaceSize, bits: u32) -> Result<WorkspaceSize> {
    let n = 1usize.checked_shl(bits).ok_or(Error::Dimension)?;
    size.array::<[u64; 2]>(n)
}

/// The table over a borrowed array of (key, value + 1) entries. Values are below
/// `u64::MAX` (slot or request indices).
pub(super) struct Table<'a> {
    entries: &'a mut [[u64; 2]],
    mask: usize,
    shift: u32,
}

impl<'a> Table<'a> {
    /// Takes the table's array from a workspace (contents as they are).
    pub(super) fn carve(ws: &mut crate::Workspace<'a>, bits: u32) -> Result<Self> {
        if bits == 0 || bits >= usize::BITS {
            return Err(Error::Internal);
        }
        let n = 1usize << bits;
        Ok(Table {
            entries: ws.take::<[u64; 2]>(n)?,
            mask: n - 1,
            shift: 64 - bits,
        })
    }

    /// Empties the table.
    pub(super) fn clear(&mut self) {
        self.entries.fill([0, 0]);
    }

    #[inline(always)]
    fn home(&self, page: u64) -> usize {
        (page.wrapping_mul(MUL) >> self.shift) as usize & self.mask
    }

    #[inline(always)]
    fn entry(&self, i: usize) -> Result<[u64; 2]> {
        self.entries.get(i).copied().ok_or(Error::Internal)
    }

    /// Where `page` sits, or the empty position where it would go.
    #[inline(always)]
    fn probe(&self, page: u64) -> Result<(usize, bool)> {
        let mut i = self.home(page);
        let mut left = self.entries.len();
        while left > 0 {
            let [key, value] = self.entry(i)?;
            if value == 0 {
                return Ok((i, false));
            }
            if key == page {
                return Ok((i, true));
            }
            i = (i + 1) & self.mask;
            left -= 1;
        }
        // A full table cannot happen at load <= 1/2 unless the memory was overwritten.
        Err(Error::Argument)
    }

    /// The value stored for `page`.
    #[inline(always)]
    pub(super) fn get(&self, page: u64) -> Result<Option<u64>> {
        let (i, found) = self.probe(page)?;
        Ok(if found {
            Some(self.entry(i)?[1] - 1)
        } else {
            None
        })
    }

    /// The value stored for `page`, or else the position where it would be stored:
    /// a fault passes that to [`Table::put_at`] and saves a second probe.
    #[inline(always)]
    pub(super) fn lookup(&self, page: u64) -> Result<core::result::Result<u64, usize>> {
        let (i, found) = self.probe(page)?;
        Ok(if found {
            Ok(self.entry(i)?[1] - 1)
        } else {
            Err(i)
        })
    }

    /// Stores `value` for `page` (absent) at the empty position [`Table::lookup`]
    /// returned, before any other change to the table. The table may briefly hold
    /// one entry more than its budget (a pager inserts before it removes the evicted
    /// page); it has room, and lookups of present keys stay correct.
    #[inline(always)]
    pub(super) fn put_at(&mut self, i: usize, page: u64, value: u64) -> Result<()> {
        let stored = value.checked_add(1).ok_or(Error::Internal)?;
        let e = self.entries.get_mut(i).ok_or(Error::Internal)?;
        if e[1] != 0 {
            return Err(Error::Argument);
        }
        *e = [page, stored];
        Ok(())
    }

    /// Stores `value` (< u64::MAX) for `page`, replacing any previous value.
    #[inline(always)]
    pub(super) fn insert(&mut self, page: u64, value: u64) -> Result<()> {
        let (i, _) = self.probe(page)?;
        let stored = value.checked_add(1).ok_or(Error::Internal)?;
        *self.entries.get_mut(i).ok_or(Error::Internal)? = [page, stored];
        Ok(())
    }

    /// Removes `page`; false if it was absent.
    #[inline(always)]
    pub(super) fn remove(&mut self, page: u64) -> Result<bool> {
        let (mut hole, found) = self.probe(page)?;
        if !found {
            return Ok(false);
        }
        // Backward shift: walk the rest of the probe run and move back every entry
        // whose home lies at or before the hole, so lookups never cross a gap.
        let mut j = hole;
        for _ in 0..self.mask {
            j = (j + 1) & self.mask;
            let e = self.entry(j)?;
            if e[1] == 0 {
                break;
            }
            let home = self.home(e[0]);
            if j.wrapping_sub(home) & self.mask >= j.wrapping_sub(hole) & self.mask {
                *self.entries.get_mut(hole).ok_or(Error::Internal)? = e;
                hole = j;
            }
        }
        *self.entries.get_mut(hole).ok_or(Error::Internal)? = [0, 0];
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Workspace;

    #[test]
    fn insert_get_remove_with_extreme_keys() {
        let bits = table_bits(8, 2).unwrap();
        let bytes = table_size(WorkspaceSize::new(), bits).unwrap().bytes();
        let mut buf = [0u8; 2048];
        let mut ws = Workspace::new(&mut buf[..bytes]);
        let mut t = Table::carve(&mut ws, bits).unwrap();
        t.clear();
        let keys = [0u64, u64::MAX, 1, 17, 1 << 40, 33, 49, 65];
        for (v, &k) in keys.iter().enumerate() {
            assert_eq!(t.get(k).unwrap(), None);
            t.insert(k, v as u64).unwrap();
        }
        for (v, &k) in keys.iter().enumerate() {
            assert_eq!(t.get(k).unwrap(), Some(v as u64));
        }
        // Remove in an order that exercises shifting across runs.
        for (n, &k) in keys.iter().enumerate() {
            assert!(t.remove(k).unwrap());
            assert!(!t.remove(k).unwrap());
            for (v, &other) in keys.iter().enumerate().skip(n + 1) {
                assert_eq!(t.get(other).unwrap(), Some(v as u64), "lost {other}");
            }
        }
    }

    #[test]
    fn churn_never_fills_the_table() {
        let bits = table_bits(4, 2).unwrap();
        let bytes = table_size(WorkspaceSize::new(), bits).unwrap().bytes();
        let mut buf = [0u8; 512];
        let mut ws = Workspace::new(&mut buf[..bytes]);
        let mut t = Table::carve(&mut ws, bits).unwrap();
        t.clear();
        for p in 0..10_000u64 {
            t.insert(p * 7919, p).unwrap();
            if p >= 4 {
                assert!(t.remove((p - 4) * 7919).unwrap());
            }
        }
        for p in 9996..10_000u64 {
            assert_eq!(t.get(p * 7919).unwrap(), Some(p));
        }
    }
}
