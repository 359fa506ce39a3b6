//! Red-black SOR on the shifted 5-point grid operator.
//!
//! The matrix is `(4 + shift) I - (sum of the four neighbours)` on an `nx x ny`
//! interior grid with zero Dirichlet boundary, `x[i * nx + j]` for row `i < ny`,
//! column `j < nx`. One sweep updates the red points (`i + j` even) and then the
//! black points (`i + j` odd).
//!
//! Each colour depends only on the other, so the two colours are fused into one
//! streaming pass: red row `i` is updated, then black row `i - 1`, whose red
//! neighbours (rows `i - 2`, `i - 1`, `i`) are all final by then. The result is
//! identical to two full passes, but `x` and `b` cross the memory bus once per sweep
//! instead of twice.
//!
//! On a threaded executor the rows are cut into tiles swept at once, with a short
//! second pass over the rows around each cut (see [`grid_sweep`]); every point still
//! reads exactly the values it reads in the single pass, so the bits do not change.
//!
//! Within a row the points of one colour are every other entry. The SIMD primitive
//! either updates whole vectors and keeps the other colour's lanes with a mask, or
//! splits chunks of the row into the two colours (where a register holds only two
//! lanes and the mask would leave one useful); see `kernels-simd`'s `red_black`.
//! Measured at 1024x1024 on the development machine (x and b in its large L3, the
//! machine shared), the SIMD sweep against the scalar loop over several runs: f64
//! 1.2-1.45x with SSE2 (split) and 1.1-1.5x with AVX-512 (masked); f32 (masked)
//! 1.6-2.0x and 2.2-2.7x.

use super::check_omega;
use crate::sor::SorKernels;
use crate::{Error, Exec, Real, Result, STREAM_OPS, check_finite, checked_product};
use core::ops::Range;

/// Rows per tile at least when a sweep is cut into row tiles: a tile's boundary costs
/// six rows of a second pass, negligible against this many rows of the first.
const MIN_TILE_ROWS: usize = 64;

/// Row tiles at most: enough for the cores of one node.
const MAX_ROW_TILES: usize = 64;

/// One red-black sweep (no validation): `keep = 1 - omega`, `gain = omega / (4 + shift)`.
///
/// On an executor that runs several tiles at once the rows are cut into one tile per
/// thread (at least 64 rows each), and the sweep runs in two passes:
/// every tile sweeps its rows except the two next to each neighbouring tile, then the
/// rows around each boundary are swept. Each point's update reads the same values in
/// any cut (a red point the old black values, a black point the new red ones), so the
/// result is the one streaming pass's, bit for bit, on any number of threads; with one
/// tile it *is* that pass.
pub fn grid_sweep<T: Real, P: SorKernels<T>>(
    exec: &impl Exec,
    nx: usize,
    ny: usize,
    keep: T,
    gain: T,
    b: &[T],
    x: &mut [T],
) {
    if nx == 0 || x.len() < nx * ny || b.len() < nx * ny {
        return;
    }
    let (b, x) = (&b[..nx * ny], &mut x[..nx * ny]);
    let tiles = exec.width().min(ny / MIN_TILE_ROWS).min(MAX_ROW_TILES);
    if tiles <= 1 {
        // One tile: the single streaming pass (all a one-thread build compiles).
        return sweep_rows::<T, P>(nx, 0, 0..ny, 0..ny, keep, gain, b, x);
    }
    let cut = |t: usize| t * ny / tiles;
    let sweep = |Block { rows, red, black }: Block, x: &mut [T]| {
        sweep_rows::<T, P>(
            nx,
            rows.start,
            red,
            black,
            keep,
            gain,
            &b[rows.start * nx..rows.end * nx],
            x,
        );
        Ok(())
    };
    // First pass: tile [s, e) sweeps the rows it alone reads. Its red rows leave out
    // s and e - 1 (they read the neighbouring tiles' black rows), its black rows also
    // s + 1 and e - 2 (they read those red rows).
    let inner = (0..tiles).map(|t| {
        let (s, e) = (cut(t), cut(t + 1));
        let red = if s == 0 { s } else { s + 1 }..if e == ny { e } else { e - 1 };
        let black = if s == 0 { s } else { s + 2 }..if e == ny { e } else { e - 2 };
        Block {
            rows: s..e,
            red,
            black,
        }
    });
    let ran = exec.for_each(
        STREAM_OPS * 2 * nx * ny,
        row_blocks(x, nx, inner),
        |_, (block, x)| sweep(block, x),
    );
    debug_assert!(ran.is_ok(), "the tiles do not fail");
    // Second pass: around each boundary s, red rows s - 1 and s, then black rows s - 2
    // to s + 1, reading rows s - 3 and s + 2 (final from the first pass).
    let seams = (1..tiles).map(|t| {
        let s = cut(t);
        Block {
            rows: s - 3..s + 3,
            red: s - 1..s + 1,
            black: s - 2..s + 2,
        }
    });
    let ran = exec.for_each(
        STREAM_OPS * 12 * nx * (tiles - 1),
        row_blocks(x, nx, seams),
        |_, (block, x)| sweep(block, x),
    );
    debug_assert!(ran.is_ok(), "the tiles do not fail");
}

/// Grid rows swept together: red row `i` is updated for `i` in `red` and black row `i`
/// for `i` in `black`, reading only rows in `rows`.
struct Block {
    rows: Range<usize>,
    red: Range<usize>,
    black: Range<usize>,
}

/// `x` cut into the rows of each block (`nx` values a row), the blocks' `rows` being
/// increasing and disjoint.
fn row_blocks<T: Send>(
    x: &mut [T],
    nx: usize,
    blocks: impl Iterator<Item = Block> + Send,
) -> impl Iterator<Item = (Block, &mut [T])> + Send {
    let (mut rest, mut at) = (x, 0);
    blocks.map(move |block| {
        let (_, from) = core::mem::take(&mut rest).split_at_mut((block.rows.start - at) * nx);
        let (rows, tail) = from.split_at_mut(block.rows.len() * nx);
        (rest, at) = (tail, block.rows.end);
        (block, rows)
    })
}

/// The streaming pass over the rows of `x` (row 0 being grid row `first`): red row `i`
/// for `i` in `red`, each followed by black row `i - 1` for `i - 1` in `black`. A black
/// row's red neighbours are final when it is updated, and a red row is updated before
/// its black neighbours are. `b` holds the same rows.
#[allow(clippy::too_many_arguments)]
fn sweep_rows<T: Real, P: SorKernels<T>>(
    nx: usize,
    first: usize,
    red: Range<usize>,
    black: Range<usize>,
    keep: T,
    gain: T,
    b: &[T],
    x: &mut [T],
) {
    let rows = x.len() / nx;
    // Local rows outside the grid's edge are never updated, so a block's own first and
    // last rows stand for the Dirichlet boundary only where they are the grid's.
    let (red, black) = (
        red.start - first..red.end - first,
        black.start - first..black.end - first,
    );
    for i in red.start..=red.end.max(black.end) {
        let parity = (first + i) & 1;
        if red.contains(&i) {
            // Red points of row i: j with (i + j) even.
            update_row::<T, P>(nx, rows, i, parity, keep, gain, b, x);
        }
        if i >= 1 && black.contains(&(i - 1)) {
            // Black points of row i - 1: j with (i - 1 + j) odd.
            update_row::<T, P>(nx, rows, i - 1, parity, keep, gain, b, x);
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn update_row<T: Real, P: SorKernels<T>>(
    nx: usize,
    ny: usize,
    i: usize,
    parity: usize,
    keep: T,
    gain: T,
    b: &[T],
    x: &mut [T],
) {
    let (above, rest) = x.split_at_mut(i * nx);
    let (row, below) = rest.split_at_mut(nx);
    let up = if i > 0 {
        above.get((i - 1) * nx..)
    } else {
        None
    };
    let down = if i + 1 < ny { below.get(..nx) } else { None };
    P::rb_row(parity, keep, gain, &b[i * nx..(i + 1) * nx], up, down, row);
}

/// The argument checks of [`sor_grid2d`] that need no values of `b` or `x`, and the
/// sweep's coefficients `(keep, gain) = (1 - omega, omega / (4 + shift))`.
///
/// Shared with other implementations of the sweep (the CUDA backend) so that they
/// refuse exactly what [`sor_grid2d`] refuses, with the same error and in the same
/// order, and sweep with the very same coefficients. `b_len` and `x_len` are the
/// lengths of `b` and `x`. Errors: as [`sor_grid2d`], except the value checks of `b`
/// and `x` (the caller's to do next).
pub fn grid_coefficients<T: Real>(
    nx: usize,
    ny: usize,
    shift: T,
    omega: T,
    b_len: usize,
    x_len: usize,
) -> Result<(T, T)> {
    if nx == 0 || ny == 0 {
        return Err(Error::Dimension);
    }
    let len = checked_product(&[nx, ny])?;
    if b_len != len || x_len != len {
        return Err(Error::Dimension);
    }
    check_omega(omega)?;
    if !shift.is_finite() {
        return Err(Error::NonFinite);
    }
    let diag = T::of(4.0) + shift;
    let gain = omega / diag;
    if diag == T::zero() || !gain.is_finite() {
        return Err(Error::Argument);
    }
    Ok((T::one() - omega, gain))
}

/// `sweeps` red-black SOR sweeps on the grid, in place, their rows in tiles on `exec`
/// (the result is the same on any executor: see [`grid_sweep`]).
///
/// Errors, all before `x` is written: `nx` or `ny` zero, their product overflowing,
/// or `b`/`x` not of length `nx * ny`, [`Error::Dimension`]; `omega` outside
/// `(0, 2)` or a diagonal `4 + shift` that is zero (or whose reciprocal is not
/// finite), [`Error::Argument`]; NaN or infinity in `shift`, `b` or `x`,
/// [`Error::NonFinite`]. A non-finite `x` after the sweeps (SOR diverged) is
/// [`Error::Numerical`], with `x` holding the last sweep's values.
#[allow(clippy::too_many_arguments)]
pub fn sor_grid2d<T: Real, P: SorKernels<T>>(
    exec: &impl Exec,
    nx: usize,
    ny: usize,
    shift: T,
    b: &[T],
    x: &mut [T],
    omega: T,
    sweeps: u32,
) -> Result<()> {
    let (keep, gain) = grid_coefficients(nx, ny, shift, omega, b.len(), x.len())?;
    check_finite(b)?;
    check_finite(x)?;
    for _ in 0..sweeps {
        grid_sweep::<T, P>(exec, nx, ny, keep, gain, b, x);
    }
    check_finite(x).map_err(|_| Error::Numerical)
}
