//! The inner loops of matrix scaling: log-sum-exps and exponentials of affine
//! terms, one matrix row at a time, and the fused row pass of kernel mode.

use crate::{Primitives, Real, Scalar};

/// Rows per call of [`SinkhornKernels::dots_axpys`]: kernel mode's row pass reads `K`
/// this many rows at a time, so that `v` and the column sums are loaded once for all
/// of them (measured at n = 4000 on an AVX2 machine: one row at a time, an iteration
/// took about 1.6x the time of one pass over `K` at the memory's bandwidth; four at a
/// time, about 1.2x).
pub const PASS_ROWS: usize = 4;

/// The most rows one [`SinkhornKernels::lanes_axpy`] call takes: a batch's column
/// sums are loaded and stored once per four plan rows.
pub const LANES_AXPY_ROWS: usize = 4;

/// The Sinkhorn family's loops, with the scalar reference as the default bodies.
pub trait SinkhornKernels<T: Real>: Primitives<T> {
    /// One row of an online column log-sum-exp.
    ///
    /// With `v_j = alpha * x_j + beta`, updates the running pairs so that after
    /// streaming all rows of a matrix, `max_j + ln(sum_j)` is the log-sum-exp of
    /// column `j`. Start from `max = -inf`, `sum = 0`. Each call reads `x` once and
    /// costs one exponential per element (`sum_j` stays in `[1, rows]` once a finite
    /// value has been seen). `v_j = -inf` contributes nothing.
    fn lse_accumulate(alpha: T, x: &[T], beta: T, max: &mut [T], sum: &mut [T]) {
        debug_assert!(x.len() == max.len() && x.len() == sum.len());
        for ((&xj, m), s) in x.iter().zip(max.iter_mut()).zip(sum.iter_mut()) {
            let v = alpha * xj + beta;
            if v > *m {
                // New maximum: rescale the old sum to it; the new term is exp(0) = 1.
                *s = *s * (*m - v).exp() + T::one();
                *m = v;
            } else if v > T::neg_infinity() {
                *s = *s + (v - *m).exp();
            }
        }
    }

    /// `log sum_j exp(alpha x_j + y_j)` with the maximum shifted out (two passes over
    /// `x` and `y`: the maximum, then the sum). Negative infinity when empty or every
    /// term is negative infinity; positive infinity if a term is. `x` and `y` have
    /// the same length.
    fn lse_affine(alpha: T, x: &[T], y: &[T]) -> T {
        debug_assert_eq!(x.len(), y.len());
        let term = |(&xj, &yj): (&T, &T)| alpha * xj + yj;
        let m = x
            .iter()
            .zip(y)
            .map(term)
            .fold(T::neg_infinity(), |m, v| if v > m { v } else { m });
        if !m.is_finite() {
            return m;
        }
        let s = x
            .iter()
            .zip(y)
            .map(term)
            .fold(T::zero(), |acc, v| acc + (v - m).exp());
        m + s.ln()
    }

    /// `out_j = exp(alpha x_j + y_j + beta)`; `x`, `y` and `out` have the same length.
    fn exp_affine(alpha: T, x: &[T], beta: T, y: &[T], out: &mut [T]) {
        debug_assert!(x.len() == y.len() && x.len() == out.len());
        for ((o, &xj), &yj) in out.iter_mut().zip(x).zip(y) {
            *o = (alpha * xj + yj + beta).exp();
        }
    }

    /// `sum_j exp(alpha x_j + y_j + beta)`, without a shift (callers choose `beta`
    /// so that the terms neither overflow nor all underflow). `x`, `y` have the
    /// same length.
    fn sum_exp_affine(alpha: T, x: &[T], beta: T, y: &[T]) -> T {
        debug_assert_eq!(x.len(), y.len());
        x.iter().zip(y).fold(T::zero(), |acc, (&xj, &yj)| {
            acc + (alpha * xj + yj + beta).exp()
        })
    }

    /// `sum_j <- sum_j + exp(alpha x_j + y_j + beta)`: one row of column sums of
    /// exponentials, without a shift. `x`, `y`, `sum` have the same length.
    fn exp_affine_accumulate(alpha: T, x: &[T], beta: T, y: &[T], sum: &mut [T]) {
        debug_assert!(x.len() == y.len() && x.len() == sum.len());
        for ((s, &xj), &yj) in sum.iter_mut().zip(x).zip(y) {
            *s = *s + (alpha * xj + yj + beta).exp();
        }
    }

    /// `out_j = exp(alpha x_j + y_j + beta)`, returning `sum_j out_j`, without a
    /// shift: [`exp_affine`](SinkhornKernels::exp_affine) and
    /// [`sum_exp_affine`](SinkhornKernels::sum_exp_affine) in one pass, for a caller
    /// that reuses the terms once it knows their sum. `x`, `y`, `out` have the same
    /// length.
    fn exp_affine_sum(alpha: T, x: &[T], beta: T, y: &[T], out: &mut [T]) -> T {
        debug_assert!(x.len() == y.len() && x.len() == out.len());
        out.iter_mut()
            .zip(x)
            .zip(y)
            .fold(T::zero(), |acc, ((o, &xj), &yj)| {
                *o = (alpha * xj + yj + beta).exp();
                acc + *o
            })
    }

    /// One row of squared distances: `out_j = sum_k (x_k - yt_{k m + j})^2` for a point
    /// `x` (`d` values) against `m = out.len()` points stored coordinate by
    /// coordinate in `yt` (`d m` values). Each term is a difference squared and
    /// added, so no entry is negative and none loses bits to cancellation.
    fn sq_dist_row(x: &[T], yt: &[T], out: &mut [T]) {
        let m = out.len();
        debug_assert_eq!(yt.len(), x.len() * m);
        out.fill(T::zero());
        if m == 0 {
            return;
        }
        for (&xk, yk) in x.iter().zip(yt.chunks_exact(m)) {
            for (o, &y) in out.iter_mut().zip(yk) {
                let t = xk - y;
                *o = *o + t * t;
            }
        }
    }

    /// `x_k <- ln x_k` for every element. The log-domain solvers take the logarithms of
    /// a half-step's row or column sums in one such pass. An implementation computes
    /// each element alone (the result of an element does not depend on its position
    /// or its neighbours), so a value's logarithm is the same in any pass.
    fn ln_in_place(x: &mut [T]) {
        for v in x {
            *v = v.ln();
        }
    }

    /// How many problems [`lanes_exp_rows`](SinkhornKernels::lanes_exp_rows) and
    /// [`lanes_axpy`](SinkhornKernels::lanes_axpy) take side by side (one per vector
    /// lane) for rows of length `m`, or 1 where they do not apply (the default):
    /// a batch of small problems then runs them one at a time.
    fn batch_lanes(m: usize) -> usize {
        let _ = m;
        1
    }

    /// [`exp_affine_sum`](SinkhornKernels::exp_affine_sum) on `lanes` problems side by
    /// side, each with the arithmetic (operations and summation order) of its own
    /// call, for rows `r = 0, 1, ...` of `x` (each as long as `y`) in turn: problem
    /// `p`'s `x_j` in row `r` is `x[r len + j lanes + p]` (likewise `out`; its `y_j`
    /// is `y[j lanes + p]`), its `beta` is `beta[r lanes + p]`, its sum goes to
    /// `sums[r lanes + p]`, and `ratios[r lanes + p] = weights[r lanes + p] / sums[r
    /// lanes + p]`. `lanes` is what [`batch_lanes`](SinkhornKernels::batch_lanes)
    /// returned; returns false, with nothing meaningful written, if that is no longer
    /// what the kernels do (the instruction set was capped in between).
    #[allow(clippy::too_many_arguments)]
    fn lanes_exp_rows(
        lanes: usize,
        alpha: T,
        x: &[T],
        beta: &[T],
        y: &[T],
        weights: &[T],
        out: &mut [T],
        sums: &mut [T],
        ratios: &mut [T],
    ) -> bool {
        let _ = (lanes, alpha, x, beta, y, weights, out, sums, ratios);
        false
    }

    /// [`axpy`](crate::Primitives::axpy) on `lanes` problems side by side (layout as
    /// in [`lanes_exp_rows`](SinkhornKernels::lanes_exp_rows)), for rows `r = 0, 1, ...`
    /// of `x` (each as long as `y`, at most [`LANES_AXPY_ROWS`]) in turn: `y[j lanes
    /// + p] += a[r lanes + p] x[r len + j lanes + p]`, each with its own calls'
    /// arithmetic. Returns false as `lanes_exp_rows` does.
    fn lanes_axpy(a: &[T], x: &[T], y: &mut [T]) -> bool {
        let _ = (a, x, y);
        false
    }

    /// `[x_r . v]` for [`PASS_ROWS`] rows `x`, each exactly as
    /// [`Primitives::dot`](crate::Primitives::dot) computes it alone, and
    /// `y <- y + a_0 w_0 + ... + a_{PASS_ROWS-1} w_{PASS_ROWS-1}`, added in that
    /// order as that many [`Primitives::axpy`](crate::Primitives::axpy) calls: rows of
    /// `K v` taken with the previous rows' contribution to `K^T u`, so that a
    /// Sinkhorn-Knopp iteration streams `K` from memory once (the `w` rows, read just
    /// before, are still in cache) and an implementation loads `v` and `y` once for
    /// all the rows. Every slice has the length of `v`.
    fn dots_axpys(
        x: [&[T]; PASS_ROWS],
        v: &[T],
        a: [T; PASS_ROWS],
        w: [&[T]; PASS_ROWS],
        y: &mut [T],
    ) -> [T; PASS_ROWS] {
        for (a, w) in a.into_iter().zip(w) {
            Self::axpy(a, w, y);
        }
        x.map(|x| Self::dot(x, v))
    }
}

impl<T: Real> SinkhornKernels<T> for Scalar {}

#[cfg(test)]
mod tests {
    use super::*;

    type S = Scalar;

    #[test]
    fn column_lse_matches_per_column_lse() {
        // 3 x 2 matrix, columns [1, 3, -2] and [700, -700, 0], with alpha = -2, beta = 1.
        let rows = [[1.0f64, 700.0], [3.0, -700.0], [-2.0, 0.0]];
        let (alpha, beta) = (-2.0, 1.0);
        let mut m = [f64::NEG_INFINITY; 2];
        let mut s = [0.0; 2];
        for r in &rows {
            <S as SinkhornKernels<f64>>::lse_accumulate(alpha, r, beta, &mut m, &mut s);
        }
        for j in 0..2 {
            let col: [f64; 3] = core::array::from_fn(|i| alpha * rows[i][j] + beta);
            let want = <S as Primitives<f64>>::lse(&col);
            let got = m[j] + s[j].ln();
            assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0));
        }
    }
}
