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
use crate::{Error, Real, Result, check_finite, checked_product};

/// One red-black sweep (no validation): `keep = 1 - omega`, `gain = omega / (4 + shift)`.
pub fn grid_sweep<T: Real, P: SorKernels<T>>(
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
    for i in 0..=ny {
        if i < ny {
            // Red points of row i: j with (i + j) even.
            update_row::<T, P>(nx, ny, i, i & 1, keep, gain, b, x);
        }
        if i >= 1 {
            // Black points of row i - 1: j with (i - 1 + j) odd.
            update_row::<T, P>(nx, ny, i - 1, i & 1, keep, gain, b, x);
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

/// `sweeps` red-black SOR sweeps on the grid, in place.
///
/// Errors, all before `x` is written: `nx` or `ny` zero, their product overflowing,
/// or `b`/`x` not of length `nx * ny`, [`Error::Dimension`]; `omega` outside
/// `(0, 2)` or a diagonal `4 + shift` that is zero (or whose reciprocal is not
/// finite), [`Error::Argument`]; NaN or infinity in `shift`, `b` or `x`,
/// [`Error::NonFinite`]. A non-finite `x` after the sweeps (SOR diverged) is
/// [`Error::Numerical`], with `x` holding the last sweep's values.
pub fn sor_grid2d<T: Real, P: SorKernels<T>>(
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
        grid_sweep::<T, P>(nx, ny, keep, gain, b, x);
    }
    check_finite(x).map_err(|_| Error::Numerical)
}
