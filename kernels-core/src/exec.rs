//! The execution seam: how an algorithm runs work that splits into independent tiles.
//!
//! An algorithm whose heads, rows or blocks are independent hands them to an
//! [`Exec`] as an iterator of tiles, each tile carrying the disjoint parts of the
//! outputs it writes (`out.chunks_mut(per_head).zip(state.chunks_mut(per_state))`).
//! The tiles depend on the problem size only, never on the executor, and nothing is
//! summed across tiles inside `for_each`: a reduction writes one partial per tile
//! and sums the partials in tile order afterwards. So the result is the same, bit for
//! bit, whichever executor runs the tiles and in whatever order or on however many
//! threads. [`Sequential`] runs them in order on the calling thread (core and
//! firmware builds); a threaded executor belongs to a `std` layer above.

use crate::{Error, Real, Result};

/// Runs independent tiles.
pub trait Exec: Sync {
    /// Calls `f(i, tile)` for every tile, `i` being its position in `tiles`, in any
    /// order and possibly several at once. `ops` estimates the arithmetic in all the
    /// tiles together (multiply-adds, exponentials): an executor runs a call too small
    /// to pay for threads on the calling thread. Returns `Ok` if every call did, else
    /// the error of the first failing tile in tile order (the calls after a failure
    /// may or may not have run).
    fn for_each<I>(
        &self,
        ops: usize,
        tiles: I,
        f: impl Fn(usize, I::Item) -> Result<()> + Sync,
    ) -> Result<()>
    where
        I: Iterator + Send,
        I::Item: Send;

    /// At most how many tiles this executor runs at once. An algorithm whose tiles
    /// need scratch carves this many slots (or fewer) and deals the tiles out to
    /// them in fixed contiguous runs: what a tile computes never depends on the slot.
    fn width(&self) -> usize {
        1
    }
}

/// Every tile in order on the calling thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sequential;

impl Exec for Sequential {
    fn for_each<I>(
        &self,
        _ops: usize,
        tiles: I,
        f: impl Fn(usize, I::Item) -> Result<()> + Sync,
    ) -> Result<()>
    where
        I: Iterator + Send,
        I::Item: Send,
    {
        tiles.enumerate().try_for_each(|(i, t)| f(i, t))
    }
}

/// For a pass bound by memory rather than arithmetic, the operations to count per
/// value it streams in an executor's estimate (about the time of one 8-byte load from
/// memory, in multiply-adds).
pub const STREAM_OPS: usize = 8;

/// For `tiles` tiles and at most `slots` slots of scratch: how many consecutive tiles
/// each slot takes (the last may take fewer), so that every slot is busy at most once.
pub fn tiles_per_slot(tiles: usize, slots: usize) -> usize {
    tiles.div_ceil(slots.clamp(1, tiles.max(1))).max(1)
}

/// Most tiles [`sum_tiles`] takes.
pub const MAX_SUM_TILES: usize = 64;

/// Runs `f` on every tile through `exec` and returns the sum of the tiles' results,
/// added in tile order (so the same on any executor). [`Error::Internal`] for more
/// than [`MAX_SUM_TILES`] tiles; a tile's error as [`Exec::for_each`] reports it.
pub fn sum_tiles<T: Real, I>(
    exec: &impl Exec,
    ops: usize,
    tiles: I,
    f: impl Fn(usize, I::Item) -> T + Sync,
) -> Result<T>
where
    I: ExactSizeIterator + Send,
    I::Item: Send,
{
    let [sum] = sum_tiles_n(exec, ops, tiles, |i, tile| [f(i, tile)])?;
    Ok(sum)
}

/// [`sum_tiles`] of `N` sums at once: each tile gives one partial of each, and each
/// sum adds its partials in tile order (a pass that yields two inner products).
pub fn sum_tiles_n<T: Real, const N: usize, I>(
    exec: &impl Exec,
    ops: usize,
    tiles: I,
    f: impl Fn(usize, I::Item) -> [T; N] + Sync,
) -> Result<[T; N]>
where
    I: ExactSizeIterator + Send,
    I::Item: Send,
{
    let count = tiles.len();
    if count > MAX_SUM_TILES {
        return Err(Error::Internal);
    }
    let mut partial = [[T::zero(); N]; MAX_SUM_TILES];
    exec.for_each(ops, tiles.zip(partial.iter_mut()), |i, (tile, out)| {
        *out = f(i, tile);
        Ok(())
    })?;
    Ok(core::array::from_fn(|k| {
        partial[..count]
            .iter()
            .map(|p| p[k])
            .reduce(|s, x| s + x)
            .unwrap_or_else(T::zero)
    }))
}
