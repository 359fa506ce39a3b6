//! Row tiles of the passes over the matrix, shared by both solvers.
//!
//! A pass that updates one potential (or scaling) per row also accumulates column
//! sums for the other half-step. Cut into row tiles, each tile sums its own rows into
//! its own column sums, and the partial sums are added in tile order afterwards. The
//! tiles are fixed by `n` (never by the executor), so the result is the same on any
//! number of threads; up to [`MIN_TILE_ROWS`] rows there is one tile and the pass is
//! the plain row loop.

use crate::{Exec, Real};
use core::ops::Range;

/// Rows per tile at least: a tile's partial column sums cost `m` additions to
/// combine, negligible against its `rows x m` pass.
pub const MIN_TILE_ROWS: usize = 64;

/// Row tiles at most: enough for the cores of one node.
pub const MAX_ROW_TILES: usize = 64;

/// The number of row tiles of an `n`-row pass.
pub fn row_tiles(n: usize) -> usize {
    n.div_ceil(MIN_TILE_ROWS).clamp(1, MAX_ROW_TILES)
}

/// Length of the scratch [`run`] takes for `n` rows, `m` column sums and a per-tile
/// row buffer of `row_len`: both for every tile but the first (which uses the
/// caller's). `None` if it overflows.
pub fn scratch_len(n: usize, m: usize, row_len: usize) -> Option<usize> {
    scratch_len_of(row_tiles(n), m, row_len)
}

/// [`scratch_len`] for a pass cut into `tiles` row tiles (see [`run_in`]).
pub fn scratch_len_of(tiles: usize, m: usize, row_len: usize) -> Option<usize> {
    tiles.saturating_sub(1).checked_mul(m.checked_add(row_len)?)
}

/// Runs `pass(rows, out, sums, row)` on every row tile through `exec`: `out` is the
/// tile's part of the per-row output `out` (n), `sums` its column sums (zeroed
/// first; the first tile's are `sums`), `row` its row buffer (the first tile's is
/// `row`). Then adds the partial sums into `sums` in tile order and returns the
/// tiles' results folded in tile order (summed, and all true). `ops` estimates the
/// work of the whole pass; `scratch` holds [`scratch_len`] values.
#[allow(clippy::too_many_arguments)]
pub fn run<T: Real>(
    exec: &impl Exec,
    ops: usize,
    out: &mut [T],
    sums: &mut [T],
    row: &mut [T],
    scratch: &mut [T],
    pass: impl Fn(Range<usize>, &mut [T], &mut [T], &mut [T]) -> (T, bool) + Sync,
) -> (T, bool) {
    run_in(
        exec,
        row_tiles(out.len()),
        ops,
        out,
        sums,
        row,
        scratch,
        pass,
    )
}

/// [`run`] with at most `tiles` row tiles (1 to [`MAX_ROW_TILES`]) instead of
/// [`row_tiles`]: for a pass whose per-tile scratch is large (the point-cloud
/// solver's rows of `m` costs), so that its workspace stays bounded. `scratch`
/// holds [`scratch_len_of`]`(tiles, ..)` values.
#[allow(clippy::too_many_arguments)]
pub fn run_in<T: Real>(
    exec: &impl Exec,
    tiles: usize,
    ops: usize,
    out: &mut [T],
    sums: &mut [T],
    row: &mut [T],
    scratch: &mut [T],
    pass: impl Fn(Range<usize>, &mut [T], &mut [T], &mut [T]) -> (T, bool) + Sync,
) -> (T, bool) {
    let (n, m, row_len) = (out.len(), sums.len(), row.len());
    let rows_per_tile = n.div_ceil(tiles.clamp(1, MAX_ROW_TILES)).max(1);
    // The tiles that hold rows (as many as asked for when the rows divide evenly
    // enough, as with `row_tiles`; never an empty tile whose sums would be added).
    let tiles = n.div_ceil(rows_per_tile).max(1);
    let (extra_sums, extra_rows) = scratch.split_at_mut((tiles - 1) * m);
    let mut results = [(T::zero(), true); MAX_ROW_TILES];
    let work = out
        .chunks_mut(rows_per_tile)
        .zip(core::iter::once(&mut *sums).chain(pieces(extra_sums, m)))
        .zip(core::iter::once(row).chain(pieces(extra_rows, row_len)))
        .zip(results.iter_mut());
    let ran = exec.for_each(ops, work, |t, (((out, sums), row), result)| {
        let first = t * rows_per_tile;
        sums.fill(T::zero());
        *result = pass(first..first + out.len(), out, sums, row);
        Ok(())
    });
    debug_assert!(ran.is_ok(), "the tiles do not fail");
    for partial in pieces(extra_sums, m) {
        for (s, &p) in sums.iter_mut().zip(partial.iter()) {
            *s = *s + p;
        }
    }
    results[..tiles]
        .iter()
        .fold((T::zero(), true), |(e, ok), &(te, tok)| (e + te, ok && tok))
}

/// `buf` cut into consecutive pieces of `len` (also when `len` is 0: then as many
/// empty pieces as asked for), as many as fit.
fn pieces<T>(mut buf: &mut [T], len: usize) -> impl Iterator<Item = &mut [T]> {
    let count = buf.len().checked_div(len).unwrap_or(MAX_ROW_TILES);
    (0..count).map(move |_| {
        let (piece, rest) = core::mem::take(&mut buf).split_at_mut(len);
        buf = rest;
        piece
    })
}
