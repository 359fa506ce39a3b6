//! SOR iteration to a relative residual.

use super::{check_omega, sweep_once};
use crate::SquareCsr;
use crate::sor::SorKernels;
use crate::{Error, Real, Report, Result, WorkspaceSize, check_finite};
use num_traits::Float;

/// The workspace of [`sor_solve`] for order `n`: none. The residual is computed in a
/// separate streaming pass after each sweep, which needs no storage; the query
/// exists so that a fused sweep-and-residual can take scratch space later without
/// changing the interface. Fails only for `n == 0` ([`Error::Dimension`]).
pub fn sor_solve_work_size(n: usize) -> Result<WorkspaceSize> {
    if n == 0 {
        return Err(Error::Dimension);
    }
    Ok(WorkspaceSize::new())
}

/// `||b - A x||_2`, in `f64`, row by row (no storage).
pub fn residual_norm<T: Real, P: SorKernels<T>>(a: &SquareCsr<'_, T>, b: &[T], x: &[T]) -> f64 {
    let csr = a.csr();
    let (indptr, indices, values) = (csr.indptr(), csr.indices(), csr.values());
    let r = |i: usize| {
        let (start, end) = (indptr[i], indptr[i + 1]);
        let (cols, vals) = (&indices[start..end], &values[start..end]);
        let (off, d, _) = P::csr_row_split(cols, vals, x, i, usize::MAX);
        (b[i] - off - d * x[i]).to_f64_lossless()
    };
    let n = a.n().min(b.len()).min(x.len());
    let square = |v: f64| v * v;
    // One evaluation of each row per pass (a row costs a pass over its entries).
    let ssq: f64 = (0..n).map(|i| square(r(i))).sum();
    if ssq.is_finite() {
        return Float::sqrt(ssq);
    }
    // Squares overflowed (entries beyond 1e154): scale by the largest entry.
    let big = (0..n).map(r).fold(0.0f64, |m, v| m.max(v.abs()));
    if !big.is_finite() || big == 0.0 {
        return big;
    }
    let ssq: f64 = (0..n).map(|i| square(r(i) / big)).sum();
    big * Float::sqrt(ssq)
}

/// Forward SOR sweeps on `A x = b` from the initial guess in `x` until
/// `||b - A x|| / ||b|| <= tol` (checked before the first sweep and after every
/// sweep; `||b|| = 0` makes it the absolute residual), at most `max_iter` sweeps.
///
/// The report: `iterations` = sweeps done, `error` = the relative residual at exit,
/// `converged` = `error <= tol`. Not converging is not an error.
///
/// Errors, all before `x` is written: lengths, [`Error::Dimension`]; `omega`
/// outside `(0, 2)`, `tol` not positive and finite, or `max_iter == 0`,
/// [`Error::Argument`]; NaN or infinity in `b` or `x`, [`Error::NonFinite`]. No
/// workspace is taken (see [`sor_solve_work_size`]). A residual that becomes
/// non-finite (SOR diverged) is [`Error::Numerical`], with `x` holding the
/// last iterate.
pub fn sor_solve<T: Real, P: SorKernels<T>>(
    a: &SquareCsr<'_, T>,
    b: &[T],
    x: &mut [T],
    omega: T,
    tol: f64,
    max_iter: u32,
) -> Result<Report> {
    if b.len() != a.n() || x.len() != a.n() {
        return Err(Error::Dimension);
    }
    check_omega(omega)?;
    if !(tol > 0.0 && tol.is_finite()) || max_iter == 0 {
        return Err(Error::Argument);
    }
    check_finite(b)?;
    check_finite(x)?;
    let b_ssq: f64 = b
        .iter()
        .map(|v| v.to_f64_lossless() * v.to_f64_lossless())
        .sum();
    let b_norm = Float::sqrt(b_ssq);
    let scale = if b_norm > 0.0 && b_norm.is_finite() {
        b_norm
    } else {
        1.0
    };
    let mut report = Report::default();
    loop {
        report.error = residual_norm::<T, P>(a, b, x) / scale;
        if !report.error.is_finite() {
            return Err(Error::Numerical);
        }
        report.converged = report.error <= tol;
        if report.converged || report.iterations == max_iter {
            return Ok(report);
        }
        sweep_once::<T, P>(a, b, x, omega, false)?;
        report.add_iterations(1);
    }
}
