//! The SOR sweep on CSR: one implementation, run forward or backward.

use super::check_omega;
use crate::SquareCsr;
use crate::sor::SorKernels;
use crate::{Error, Real, Result, check_finite};

/// The order of a sweep; the values are its stable numeric codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sweep {
    /// Rows `0, 1, ..., n-1`.
    Forward = 1,
    /// Rows `n-1, ..., 0`.
    Backward = 2,
    /// A forward then a backward sweep (SSOR); counts as one sweep.
    Symmetric = 3,
}

impl Sweep {
    /// The sweep for a C code, or [`Error::Argument`].
    pub fn from_code(code: i32) -> Result<Sweep> {
        match code {
            1 => Ok(Sweep::Forward),
            2 => Ok(Sweep::Backward),
            3 => Ok(Sweep::Symmetric),
            _ => Err(Error::Argument),
        }
    }
}

/// One SOR sweep, in place, without re-validating the matrix:
/// `x_i <- (1 - omega) x_i + omega (b_i - sum_{j != i} a_ij x_j) / a_ii` for the rows
/// in forward (`backward = false`) or backward order.
///
/// This is the building block for everything that sweeps a CSR matrix: the SOR
/// iteration, and an SSOR preconditioner (a forward then a backward sweep from
/// `x = 0` with the residual as `b`). `omega` is not checked here. Fails with
/// [`Error::Dimension`] (before writing) when `b` or `x` is not of length `n`.
pub fn sweep_once<T: Real, P: SorKernels<T>>(
    a: &SquareCsr<'_, T>,
    b: &[T],
    x: &mut [T],
    omega: T,
    backward: bool,
) -> Result<()> {
    let n = a.n();
    if b.len() != n || x.len() != n {
        return Err(Error::Dimension);
    }
    if backward {
        rows::<T, P>(a, b, x, omega, (0..n).rev(), 1);
    } else {
        rows::<T, P>(a, b, x, omega, 0..n, usize::MAX);
    }
    Ok(())
}

/// The rows of one sweep in the order `order`; `step` is `recent - i` in wrapping
/// arithmetic (the neighbour updated just before row `i`).
///
/// A plain loop over an iterator, not a closure called per row: the closure was not
/// inlined, so every row paid a call and `prev` made a round trip through memory on
/// the chain from one row to the next (measured 1.4-1.7x slower).
#[inline(always)]
fn rows<T: Real, P: SorKernels<T>>(
    a: &SquareCsr<'_, T>,
    b: &[T],
    x: &mut [T],
    omega: T,
    order: impl Iterator<Item = usize>,
    step: usize,
) {
    let csr = a.csr();
    let (indptr, indices, values) = (csr.indptr(), csr.indices(), csr.values());
    let keep = T::one() - omega;
    // Each row waits for the one updated just before it (its neighbour in a stencil
    // matrix). That value is kept in `prev` and its term added last, so the chain
    // from one row to the next is a multiply and a subtraction; everything else
    // (the other terms, omega / d: a division) runs ahead out of order.
    let mut prev = T::zero();
    for i in order {
        // SquareCsr validated the structure: these lookups succeed for i < n.
        let (Some(&start), Some(&end)) = (indptr.get(i), indptr.get(i + 1)) else {
            return;
        };
        let (Some(cols), Some(vals), Some(&bi), Some(&xi)) = (
            indices.get(start..end),
            values.get(start..end),
            b.get(i),
            x.get(i),
        ) else {
            return;
        };
        let (off, d, a_recent) = P::csr_row_split(cols, vals, x, i, i.wrapping_add(step));
        // d != 0: SquareCsr checked every diagonal entry.
        let g = omega / d;
        let ahead = keep * xi + g * (bi - off);
        prev = ahead - (g * a_recent) * prev;
        if let Some(xi) = x.get_mut(i) {
            *xi = prev;
        }
    }
}

/// `sweeps` SOR sweeps of the given kind on `A x = b`, in place.
///
/// Errors, all before `x` is written: `b`/`x` not of length `n`,
/// [`Error::Dimension`]; `omega` outside `(0, 2)`, [`Error::Argument`]; NaN or
/// infinity in `b` or `x`, [`Error::NonFinite`]. After the sweeps, a non-finite
/// entry in `x` (SOR diverged, e.g. on an indefinite matrix) is
/// [`Error::Numerical`], with `x` holding the last sweep's values.
pub fn sor_csr<T: Real, P: SorKernels<T>>(
    a: &SquareCsr<'_, T>,
    b: &[T],
    x: &mut [T],
    omega: T,
    sweep: Sweep,
    sweeps: u32,
) -> Result<()> {
    if b.len() != a.n() || x.len() != a.n() {
        return Err(Error::Dimension);
    }
    check_omega(omega)?;
    check_finite(b)?;
    check_finite(x)?;
    for _ in 0..sweeps {
        match sweep {
            Sweep::Forward => sweep_once::<T, P>(a, b, x, omega, false)?,
            Sweep::Backward => sweep_once::<T, P>(a, b, x, omega, true)?,
            Sweep::Symmetric => {
                sweep_once::<T, P>(a, b, x, omega, false)?;
                sweep_once::<T, P>(a, b, x, omega, true)?;
            }
        }
    }
    check_finite(x).map_err(|_| Error::Numerical)
}

/// The SSOR preconditioner: `z <- M^-1 r` with
/// `M = (D/w + L) D^-1 (D/w + U) w / (2 - w)` (A = L + D + U), applied as one
/// forward and one backward sweep from `z = 0` with `r` as the right-hand side. `M`
/// is symmetric positive definite when `A` is symmetric positive definite and
/// `0 < w < 2`, as CG needs. (Written with `(D/w)^-1` in the middle, as some texts
/// do, `M` is `w` times this one; CG is blind to that constant.)
///
/// Errors, before `z` is written: lengths, [`Error::Dimension`]; `omega` outside
/// `(0, 2)`, [`Error::Argument`]. `r` is not checked for NaN (the caller's iteration
/// owns it).
pub fn ssor_apply<T: Real, P: SorKernels<T>>(
    a: &SquareCsr<'_, T>,
    r: &[T],
    z: &mut [T],
    omega: T,
) -> Result<()> {
    if r.len() != a.n() || z.len() != a.n() {
        return Err(Error::Dimension);
    }
    check_omega(omega)?;
    z.fill(T::zero());
    sweep_once::<T, P>(a, r, z, omega, false)?;
    sweep_once::<T, P>(a, r, z, omega, true)
}
