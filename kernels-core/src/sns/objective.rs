//! The plan, its marginals, the dual objective and the marginal error at a point.

use crate::sinkhorn::log_steps::scaled;
use crate::sns::SnsKernels;
use crate::{Dense, Real};

/// Buffers one evaluation fills: the plan (n*m) and its row (n) and column (m)
/// sums; `g_scaled` (m) is scratch.
pub(crate) struct PlanBuffers<'a, T> {
    pub plan: &'a mut [T],
    pub rows: &'a mut [T],
    pub cols: &'a mut [T],
    pub g_scaled: &'a mut [T],
}

/// What one evaluation says about a point.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Value {
    /// `D(f, g) = <f, a> + <g, b> - eps sum P`; not finite if the plan overflowed.
    pub objective: f64,
    /// `||P 1 - a||_1 + ||P^T 1 - b||_1`.
    pub error: f64,
}

/// An entropic OT problem: cost, marginals and `eps`.
#[derive(Clone, Copy)]
pub(crate) struct Problem<'a, T> {
    pub c: Dense<'a, T>,
    pub a: &'a [T],
    pub b: &'a [T],
    pub eps: T,
}

impl<T: Real> Problem<'_, T> {
    /// Writes the plan at `(f, g)` and its marginals into `buf` (one pass over `C`,
    /// one exponential per entry) and returns the objective and the error.
    pub(crate) fn evaluate<P: SnsKernels<T>>(
        &self,
        f: &[T],
        g: &[T],
        buf: &mut PlanBuffers<'_, T>,
    ) -> Value {
        let (c, eps, m) = (self.c, self.eps, self.c.cols());
        scaled(g, eps, buf.g_scaled);
        buf.cols.fill(T::zero());
        let inv = eps.recip();
        let mut total = 0.0f64;
        let rows = buf.plan.chunks_exact_mut(m).zip(c.row_iter());
        for ((out, c_row), (r, &fi)) in rows.zip(buf.rows.iter_mut().zip(f)) {
            *r = P::exp_affine_sum(-inv, c_row, fi * inv, buf.g_scaled, out);
            P::axpy(T::one(), out, buf.cols);
            total += r.to_f64_lossless();
        }
        Value {
            objective: dot(f, self.a) + dot(g, self.b) - eps.to_f64_lossless() * total,
            error: l1_distance(buf.rows, self.a) + l1_distance(buf.cols, self.b),
        }
    }
}

fn dot<T: Real>(x: &[T], y: &[T]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(&u, &v)| u.to_f64_lossless() * v.to_f64_lossless())
        .sum()
}

fn l1_distance<T: Real>(x: &[T], y: &[T]) -> f64 {
    x.iter()
        .zip(y)
        .map(|(&u, &v)| (u - v).abs().to_f64_lossless())
        .sum()
}
