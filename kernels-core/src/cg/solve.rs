//! The CG iteration.

use super::{CgOpts, Precond};
use crate::SquareCsr;
use crate::cg::CgKernels;
use crate::sor::{residual_norm, ssor_apply};
use crate::{
    Error, Exec, MAX_SUM_TILES, Real, Report, Result, STREAM_OPS, Workspace, WorkspaceSize,
    check_finite, sum_tiles, sum_tiles_n,
};
use num_traits::Float;

/// Workspace bytes [`cg`] needs for order `n` (any preconditioner): the residual,
/// the preconditioned residual, the search direction, `A p` and the inverse
/// diagonal. [`Error::Dimension`] for `n == 0` or an overflowing size.
pub fn cg_work_size<T: Real>(n: usize) -> Result<WorkspaceSize> {
    if n == 0 {
        return Err(Error::Dimension);
    }
    let mut size = WorkspaceSize::new();
    for _ in 0..5 {
        size = size.array::<T>(n)?;
    }
    Ok(size)
}

/// Solves `A x = b` for a symmetric positive definite `A` by preconditioned
/// conjugate gradients, from the initial guess in `x`.
///
/// The iteration tracks the residual by recurrence; when that says converged, the
/// true residual `b - A x` is computed, and if it is still above `tol` (rounding
/// drift at tight tolerances) CG restarts from it. Symmetry is not checked: for a
/// nonsymmetric `A` the result is whatever CG makes of it.
///
/// Report: `iterations` = CG iterations, `error` = `||b - A x|| / ||b||` of the
/// returned `x` (the absolute residual when `b = 0`), `converged` =
/// `error <= opts.tol`. Not converging within `opts.max_iter` is not an error.
///
/// Errors, all before `x` is written: lengths disagreeing with `a`,
/// [`Error::Dimension`]; bad options, [`Error::Argument`]; `work` too small,
/// [`Error::Workspace`]; NaN or infinity in `b` or `x`, [`Error::NonFinite`]; a
/// negative diagonal entry (so `A` is not positive definite), [`Error::Numerical`].
/// During the iteration a curvature `p^T A p <= 0` (or a preconditioned residual
/// with `r^T z <= 0`, or an overflow) is [`Error::Numerical`] with `x` holding the
/// last iterate.
///
/// The product with `A` and the vector passes run in tiles of consecutive rows fixed
/// by `n` (16384 rows or more each, at most 64 tiles) through `exec`, their inner products summed per tile and
/// then in tile order: the result does not depend on the executor. The SSOR
/// preconditioner's sweeps run in order on the calling thread.
pub fn cg<T: Real, P: CgKernels<T>>(
    exec: &impl Exec,
    a: &SquareCsr<'_, T>,
    b: &[T],
    x: &mut [T],
    opts: &CgOpts,
    work: &mut [u8],
) -> Result<Report> {
    let n = a.n();
    if b.len() != n || x.len() != n {
        return Err(Error::Dimension);
    }
    opts.check()?;
    if work.len() < cg_work_size::<T>(n)?.bytes() {
        return Err(Error::Workspace);
    }
    check_finite(b)?;
    check_finite(x)?;
    let mut ws = Workspace::new(work);
    let r = ws.take::<T>(n)?;
    let z = ws.take::<T>(n)?;
    let p = ws.take::<T>(n)?;
    let q = ws.take::<T>(n)?;
    let d_inv = ws.take::<T>(n)?;
    let csr = a.csr();
    for (i, d) in d_inv.iter_mut().enumerate() {
        // SquareCsr checked that every diagonal entry is stored and nonzero.
        let diag = csr.get(i, i).copied().ok_or(Error::Internal)?;
        if diag < T::zero() {
            return Err(Error::Numerical);
        }
        *d = diag.recip();
    }

    let b_norm = Float::sqrt(b.iter().map(|v| v.to_f64_lossless().powi(2)).sum::<f64>());
    let scale = if b_norm > 0.0 && b_norm.is_finite() {
        b_norm
    } else {
        1.0
    };
    let precond = Preconditioner {
        kind: opts.precond,
        d_inv,
    };
    let tile = n.div_ceil(vector_tiles(n));
    // The passes over the vectors, tile by tile, partial sums in tile order.
    // The update `x += alpha p, r -= alpha q` returns `r^T r`; with Jacobi it also
    // applies the preconditioner to each tile of `r` while that tile is in cache,
    // `z = D^-1 r`, returning `r^T z` (the same tile kernels and partial sums as a
    // separate pass, so the same bits, for one pass over memory less).
    let jacobi = matches!(opts.precond, Precond::Jacobi);
    let update = |alpha: T, p: &[T], q: &[T], x: &mut [T], r: &mut [T], z: &mut [T]| {
        let tiles = p.chunks(tile).zip(q.chunks(tile));
        let tiles = tiles.zip(x.chunks_mut(tile).zip(r.chunks_mut(tile)));
        let tiles = tiles.zip(z.chunks_mut(tile).zip(precond.d_inv.chunks(tile)));
        let streams = if jacobi { 6 } else { 4 };
        sum_tiles_n(exec, STREAM_OPS * streams * n, tiles, |_, t| {
            let (((p, q), (x, r)), (z, d_inv)) = t;
            let rr = P::cg_update(alpha, p, q, x, r);
            let rz = if jacobi {
                P::mul_dot(d_inv, r, z)
            } else {
                T::zero()
            };
            [rr, rz]
        })
    };
    let next_direction = |dir: &[T], beta: T, p: &mut [T]| {
        let tiles = dir.chunks(tile).zip(p.chunks_mut(tile));
        exec.for_each(STREAM_OPS * 2 * n, tiles, |_, (dir, p)| {
            P::xpby(dir, beta, p);
            Ok(())
        })
    };
    let mut report = Report::default();
    // Each pass of this loop (re)starts CG from the true residual of the current x.
    loop {
        residual::<T, P>(a, b, x, r);
        report.error = residual_norm::<T, P>(a, b, x) / scale;
        if !report.error.is_finite() {
            return Err(Error::Numerical);
        }
        report.converged = report.error <= opts.tol;
        // A recomputed residual of exactly zero is as far as CG can go, even when the
        // measured error (summed in another order) is still above `tol`.
        let exact = r.iter().all(|&v| v == T::zero());
        if report.converged || exact || report.iterations >= opts.max_iter {
            return Ok(report);
        }
        let mut rz = precond.apply::<P>(exec, tile, a, r, z)?;
        if rz == T::zero() {
            // r^T M^-1 r underflowed: no step is representable from here.
            return Ok(report);
        }
        p.copy_from_slice(z);
        while report.iterations < opts.max_iter {
            let pq = spmv_dot::<T, P>(exec, tile, a, p, q)?;
            if !(pq > T::zero() && pq.is_finite()) {
                return Err(Error::Numerical);
            }
            let alpha = rz / pq;
            let [rr, rz_jacobi] = update(alpha, p, q, x, r, z)?;
            report.add_iterations(1);
            if Float::sqrt(rr.to_f64_lossless()) / scale <= opts.tol {
                break;
            }
            // Unpreconditioned, z would be a copy of r: the update has summed r^T r
            // already and the new direction reads r itself, which saves a copy and a
            // pass over r per iteration. With Jacobi the update has applied it.
            let (rz_next, dir) = match precond.kind {
                Precond::None => (positive(rr)?, &*r),
                Precond::Jacobi => (preconditioned(rz_jacobi)?, &*z),
                Precond::Ssor { .. } => (precond.apply::<P>(exec, tile, a, r, z)?, &*z),
            };
            if rz_next == T::zero() {
                // Underflowed (a tolerance below what the recurrence can reach):
                // restart from the true residual, which says where x really is.
                break;
            }
            next_direction(dir, rz_next / rz, p)?;
            rz = rz_next;
        }
    }
}

/// The preconditioner of one solve, with its inverse diagonal.
struct Preconditioner<'a, T> {
    kind: Precond,
    d_inv: &'a [T],
}

impl<T: Real> Preconditioner<'_, T> {
    /// `z <- M^-1 r`, returning `r^T z`; [`Error::Numerical`] when it is negative or
    /// not finite (M is not positive definite, or an overflow). Zero means it
    /// underflowed (a nonzero `r` too small to square): the caller stops or restarts.
    fn apply<P: CgKernels<T>>(
        &self,
        exec: &impl Exec,
        tile: usize,
        a: &SquareCsr<'_, T>,
        r: &[T],
        z: &mut [T],
    ) -> Result<T> {
        let n = r.len();
        let dot = |x: &[T], y: &[T]| {
            let tiles = x.chunks(tile).zip(y.chunks(tile));
            sum_tiles(exec, STREAM_OPS * 2 * n, tiles, |_, (x, y)| P::dot(x, y))
        };
        let rz = match self.kind {
            Precond::None => {
                z.copy_from_slice(r);
                dot(r, r)?
            }
            Precond::Jacobi => {
                let tiles = self.d_inv.chunks(tile).zip(r.chunks(tile));
                let tiles = tiles.zip(z.chunks_mut(tile));
                sum_tiles(exec, STREAM_OPS * 3 * n, tiles, |_, ((d, r), z)| {
                    P::mul_dot(d, r, z)
                })?
            }
            Precond::Ssor { omega } => {
                ssor_apply::<T, P>(a, r, z, T::of(omega))?;
                dot(r, z)?
            }
        };
        preconditioned(rz)
    }
}

/// `r^T M^-1 r`, or [`Error::Numerical`] when it is negative or not finite (M is not
/// positive definite, or an overflow).
fn preconditioned<T: Real>(rz: T) -> Result<T> {
    if rz >= T::zero() && rz.is_finite() {
        Ok(rz)
    } else {
        Err(Error::Numerical)
    }
}

/// `v`, or [`Error::Numerical`] unless it is positive and finite.
fn positive<T: Real>(v: T) -> Result<T> {
    if v > T::zero() && v.is_finite() {
        Ok(v)
    } else {
        Err(Error::Numerical)
    }
}

/// `r <- b - A x`.
fn residual<T: Real, P: CgKernels<T>>(a: &SquareCsr<'_, T>, b: &[T], x: &[T], r: &mut [T]) {
    let csr = a.csr();
    let (indptr, indices, values) = (csr.indptr(), csr.indices(), csr.values());
    for ((ri, &bi), w) in r.iter_mut().zip(b).zip(indptr.windows(2)) {
        let (cols, vals) = (&indices[w[0]..w[1]], &values[w[0]..w[1]]);
        *ri = bi - P::csr_dot(cols, vals, x);
    }
}

/// Rows per vector tile at least: a tile's partial sum and its hand-off to a thread
/// cost little against this many rows of a pass.
const MIN_TILE_ROWS: usize = 16384;

/// The number of row tiles of CG's passes over vectors of length `n`: fixed by `n`,
/// never by the executor (one tile, the plain loops, up to [`MIN_TILE_ROWS`] rows).
fn vector_tiles(n: usize) -> usize {
    n.div_ceil(MIN_TILE_ROWS).clamp(1, MAX_SUM_TILES)
}

/// `q <- A p`, returning `p^T A p` (rows in tiles of `tile`, summed in tile order).
fn spmv_dot<T: Real, P: CgKernels<T>>(
    exec: &impl Exec,
    tile: usize,
    a: &SquareCsr<'_, T>,
    p: &[T],
    q: &mut [T],
) -> Result<T> {
    let csr = a.csr();
    let (indptr, indices, values) = (csr.indptr(), csr.indices(), csr.values());
    let ops = indices.len().saturating_mul(STREAM_OPS);
    let tiles = q.chunks_mut(tile).zip(p.chunks(tile));
    sum_tiles(exec, ops, tiles, |t, (q, p_rows)| {
        let first = t * tile;
        let rows = indptr[first..=first + q.len()].windows(2);
        let mut pq = T::zero();
        for ((qi, &pi), w) in q.iter_mut().zip(p_rows).zip(rows) {
            let (cols, vals) = (&indices[w[0]..w[1]], &values[w[0]..w[1]]);
            *qi = P::csr_dot(cols, vals, p);
            pq = pq + pi * *qi;
        }
        pq
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scalar;
    use crate::Sequential;

    /// The 1D Laplacian `tridiag(-1, 2, -1)` of order 50 in CSR.
    fn laplacian() -> ([usize; 51], [u32; 148], [f64; 148]) {
        let (mut indptr, mut indices, mut values) = ([0; 51], [0; 148], [0.0; 148]);
        let mut k = 0;
        for i in 0..50usize {
            for j in i.saturating_sub(1)..(i + 2).min(50) {
                indices[k] = j as u32;
                values[k] = if i == j { 2.0 } else { -1.0 };
                k += 1;
            }
            indptr[i + 1] = k;
        }
        (indptr, indices, values)
    }

    #[test]
    fn solves_the_laplacian_with_each_preconditioner() {
        let (indptr, indices, values) = laplacian();
        let a = SquareCsr::new(50, &indptr, &indices, &values).unwrap();
        let b: [f64; 50] = core::array::from_fn(|i| (i as f64 * 0.37).sin());
        for precond in [Precond::None, Precond::Jacobi, Precond::Ssor { omega: 1.5 }] {
            let mut x = [0.0; 50];
            let mut work = [0u8; 5 * 50 * 8 + 40];
            let opts = CgOpts {
                tol: 1e-12,
                max_iter: 200,
                precond,
            };
            let rep = cg::<f64, Scalar>(&Sequential, &a, &b, &mut x, &opts, &mut work).unwrap();
            assert!(rep.converged && rep.error <= 1e-12, "{precond:?}: {rep:?}");
            // Exact arithmetic needs at most n = 50 iterations.
            assert!(rep.iterations <= 60, "{precond:?}: {rep:?}");
        }
    }

    #[test]
    fn an_indefinite_matrix_is_numerical() {
        let (indptr, indices, mut values) = laplacian();
        // Off-diagonals of -3 make tridiag(-3, 2, -3) indefinite (eigenvalues
        // 2 - 6 cos(k pi / 51) reach below zero).
        for v in values.iter_mut().filter(|v| **v < 0.0) {
            *v = -3.0;
        }
        let a = SquareCsr::new(50, &indptr, &indices, &values).unwrap();
        let b = [1.0; 50];
        let mut x = [0.0; 50];
        let mut work = [0u8; 5 * 50 * 8 + 40];
        let opts = CgOpts {
            tol: 1e-10,
            max_iter: 100,
            precond: Precond::None,
        };
        let got = cg::<f64, Scalar>(&Sequential, &a, &b, &mut x, &opts, &mut work);
        assert_eq!(got, Err(Error::Numerical));
    }
}
