//! An open-addressing hash table from page id to a value (a slot or a request index),
//! in caller memory.
//!
//! Linear probing over a power-of-two array at most half full, so probes stay short.
//! Every page id is a valid key (0 and `u64::MAX` included): whether an entry is in
//! use is kept in a separate occupancy bit mask, never in the key. Deletion shifts the
//! following entries of the probe run back instead of leaving tombstones, so a table
//! that sees endless inserts and deletes never degrades.
//!
//! The arrays may live in a workspace the caller keeps between calls (the pager), so
//! the probe loops are bounded by the table size even if that memory was overwritten.

use crate::{Error, Result, WorkspaceSize};
use bytemuck::Pod;

/// Fibonacci hashing after folding the high half in: page numbers from real traces
/// are dense runs, and the multiply spreads them over the whole table.
#[inline(always)]
fn mix(page: u64) -> u64 {
    (page ^ (page >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// log2 of the table size for at most `entries` keys: a power of two >= 2 * entries
/// (and >= 2), so the load factor stays <= 1/2.
pub(super) fn table_bits(entries: usize) -> Result<u32> {
    let want = entries.checked_mul(2).ok_or(Error::Dimension)?.max(2);
    let size = want.checked_next_power_of_two().ok_or(Error::Dimension)?;
    Ok(size.trailing_zeros())
}

/// Number of u64 words of a bit mask over `n` entries.
pub(super) fn mask_words(n: usize) -> usize {
    n.div_ceil(64)
}

/// Adds a table of `1 << bits` entries with values `V` to a workspace size query, in
/// the order [`Table::carve`] takes them.
pub(super) fn table_size<V: Pod>(size: WorkspaceSize, bits: u32) -> Result<WorkspaceSize> {
    let n = 1usize.checked_shl(bits).ok_or(Error::Dimension)?;
    size.array::<u64>(n)?
        .array::<V>(n)?
        .array::<u64>(mask_words(n))
}

/// The table over borrowed arrays.
pub(super) struct Table<'a, V> {
    keys: &'a mut [u64],
    values: &'a mut [V],
    occupied: &'a mut [u64],
    mask: usize,
    shift: u32,
}

impl<'a, V: Pod> Table<'a, V> {
    /// Takes the table's arrays from a workspace (contents as they are).
    pub(super) fn carve(ws: &mut crate::Workspace<'a>, bits: u32) -> Result<Self> {
        if bits == 0 || bits >= usize::BITS {
            return Err(Error::Internal);
        }
        let n = 1usize << bits;
        Ok(Table {
            keys: ws.take::<u64>(n)?,
            values: ws.take::<V>(n)?,
            occupied: ws.take::<u64>(mask_words(n))?,
            mask: n - 1,
            shift: 64 - bits,
        })
    }

    /// Empties the table.
    pub(super) fn clear(&mut self) {
        self.occupied.fill(0);
    }

    #[inline(always)]
    fn home(&self, page: u64) -> usize {
        (mix(page) >> self.shift) as usize & self.mask
    }

    #[inline(always)]
    fn is_used(&self, i: usize) -> bool {
        self.occupied
            .get(i >> 6)
            .is_some_and(|w| w >> (i & 63) & 1 == 1)
    }

    #[inline(always)]
    fn set_used(&mut self, i: usize, used: bool) {
        if let Some(w) = self.occupied.get_mut(i >> 6) {
            let bit = 1u64 << (i & 63);
            *w = if used { *w | bit } else { *w & !bit };
        }
    }

    /// Where `page` sits, or the empty position where it would go.
    #[inline(always)]
    fn probe(&self, page: u64) -> Result<(usize, bool)> {
        let mut i = self.home(page);
        for _ in 0..=self.mask {
            if !self.is_used(i) {
                return Ok((i, false));
            }
            if self.keys.get(i) == Some(&page) {
                return Ok((i, true));
            }
            i = (i + 1) & self.mask;
        }
        // A full table cannot happen at load <= 1/2 unless the memory was overwritten.
        Err(Error::Argument)
    }

    /// The value stored for `page`.
    #[inline(always)]
    pub(super) fn get(&self, page: u64) -> Result<Option<V>> {
        let (i, found) = self.probe(page)?;
        Ok(if found {
            self.values.get(i).copied()
        } else {
            None
        })
    }

    /// Stores `value` for `page`, replacing any previous value.
    #[inline(always)]
    pub(super) fn insert(&mut self, page: u64, value: V) -> Result<()> {
        let (i, _) = self.probe(page)?;
        match (self.keys.get_mut(i), self.values.get_mut(i)) {
            (Some(k), Some(v)) => {
                *k = page;
                *v = value;
            }
            _ => return Err(Error::Internal),
        }
        self.set_used(i, true);
        Ok(())
    }

    /// Removes `page`; false if it was absent.
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
            if !self.is_used(j) {
                break;
            }
            let key = *self.keys.get(j).ok_or(Error::Internal)?;
            let home = self.home(key);
            if j.wrapping_sub(home) & self.mask >= j.wrapping_sub(hole) & self.mask {
                let value = *self.values.get(j).ok_or(Error::Internal)?;
                match (self.keys.get_mut(hole), self.values.get_mut(hole)) {
                    (Some(k), Some(v)) => {
                        *k = key;
                        *v = value;
                    }
                    _ => return Err(Error::Internal),
                }
                hole = j;
            }
        }
        self.set_used(hole, false);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Workspace;

    #[test]
    fn insert_get_remove_with_extreme_keys() {
        let bits = table_bits(8).unwrap();
        let bytes = table_size::<u32>(WorkspaceSize::new(), bits)
            .unwrap()
            .bytes();
        let mut buf = [0u8; 1024];
        let mut ws = Workspace::new(&mut buf[..bytes]);
        let mut t = Table::<u32>::carve(&mut ws, bits).unwrap();
        t.clear();
        let keys = [0u64, u64::MAX, 1, 17, 1 << 40, 33, 49, 65];
        for (v, &k) in keys.iter().enumerate() {
            assert_eq!(t.get(k).unwrap(), None);
            t.insert(k, v as u32).unwrap();
        }
        for (v, &k) in keys.iter().enumerate() {
            assert_eq!(t.get(k).unwrap(), Some(v as u32));
        }
        // Remove in an order that exercises shifting across runs.
        for (n, &k) in keys.iter().enumerate() {
            assert!(t.remove(k).unwrap());
            assert!(!t.remove(k).unwrap());
            for (v, &other) in keys.iter().enumerate().skip(n + 1) {
                assert_eq!(t.get(other).unwrap(), Some(v as u32), "lost {other}");
            }
        }
    }

    #[test]
    fn churn_never_fills_the_table() {
        let bits = table_bits(4).unwrap();
        let bytes = table_size::<u32>(WorkspaceSize::new(), bits)
            .unwrap()
            .bytes();
        let mut buf = [0u8; 512];
        let mut ws = Workspace::new(&mut buf[..bytes]);
        let mut t = Table::<u32>::carve(&mut ws, bits).unwrap();
        t.clear();
        for p in 0..10_000u64 {
            t.insert(p * 7919, p as u32).unwrap();
            if p >= 4 {
                assert!(t.remove((p - 4) * 7919).unwrap());
            }
        }
        for p in 9996..10_000u64 {
            assert_eq!(t.get(p * 7919).unwrap(), Some(p as u32));
        }
    }
}
