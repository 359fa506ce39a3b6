//! Sinkhorn-Knopp matrix scaling (kernel mode).

use super::driver::{HalfSteps, iterate};
use super::{SinkhornOpts, check};
use crate::{Dense, Error, Primitives, Real, Report, Result, Workspace, WorkspaceSize};
use core::marker::PhantomData;

/// Workspace bytes [`scale`] needs for an `n x m` matrix.
/// [`Error::Dimension`] if a size is zero or the total overflows.
pub fn scale_work_size<T: Real>(n: usize, m: usize) -> Result<WorkspaceSize> {
    if n == 0 || m == 0 {
        return Err(Error::Dimension);
    }
    // K v, then K^T u: carved in this order.
    WorkspaceSize::new().array::<T>(n)?.array::<T>(m)
}

/// Finds positive `u` (n), `v` (m) such that `diag(u) K diag(v)` has row sums `a`
/// and column sums `b` (Sinkhorn-Knopp: `v = b / (K^T u)`, then `u = a / (K v)`).
///
/// `u` and `v` are in/out: `u` all zero is the cold start (ones); otherwise it
/// warm-starts (`v` is recomputed from `u` by the first half-step, so its input only
/// has to be valid). `K` must be nonnegative, `a`, `b` positive with equal sums.
///
/// Report: `iterations`, `error` = `||rowsums - a||_1 + ||colsums - b||_1` of the
/// returned scaling, `converged` = `error <= opts.tol`; `value` is 0 (no cost is
/// defined here). `opts.reg` is ignored.
///
/// Errors, all before anything is written: [`Error::Dimension`],
/// [`Error::Workspace`], [`Error::Argument`] (`tol` not positive, `max_iter` zero,
/// a negative entry in `K`, `u` or `v`, `a` or `b` not positive or with different
/// sums), [`Error::NonFinite`] (NaN or infinity in `K`, `a`, `b`, `u`, `v`),
/// [`Error::Numerical`] (a row or column of `K` is all zero). [`Error::Numerical`]
/// during the iteration (`K^T u` or `K v` underflowed to zero, or a scaling
/// overflowed) leaves in `u` and `v` the last iterate that was finite.
pub fn scale<T: Real, P: Primitives<T>>(
    k: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &SinkhornOpts,
    u: &mut [T],
    v: &mut [T],
    work: &mut [u8],
) -> Result<Report> {
    let (n, m) = (k.rows(), k.cols());
    check::dims(k, &[a, u], &[b, v])?;
    if work.len() < scale_work_size::<T>(n, m)?.bytes() {
        return Err(Error::Workspace);
    }
    opts.check(false)?;
    check::finite(&[k.data(), a, b, u, v])?;
    let nonnegative = |x: &[T]| x.iter().all(|&e| e >= T::zero());
    if !nonnegative(k.data()) || !nonnegative(u) || !nonnegative(v) {
        return Err(Error::Argument);
    }
    check::marginals(a, b)?;

    let mut ws = Workspace::new(work);
    let kv = ws.take::<T>(n)?;
    let ktu = ws.take::<T>(m)?;
    // Row and column sums of K: a zero one can never be scaled to a positive sum.
    let no_zero = |sums: &[T]| sums.iter().all(|&s| s > T::zero());
    ktu.fill(T::one());
    P::gemv(k, ktu, kv);
    if !no_zero(kv) {
        return Err(Error::Numerical);
    }
    kv.fill(T::one());
    P::gemv_t(k, kv, ktu);
    if !no_zero(ktu) {
        return Err(Error::Numerical);
    }

    if u.iter().all(|&x| x == T::zero()) {
        u.fill(T::one());
    }
    let mut steps = ScaleSteps::<T, P> {
        k,
        a,
        b,
        u,
        v,
        kv,
        ktu,
        primitives: PhantomData,
    };
    iterate(&mut steps, opts)
}

/// Kernel-mode half-steps: `v` from `u` (columns), then `u` from `v` (rows).
struct ScaleSteps<'a, T, P> {
    k: Dense<'a, T>,
    a: &'a [T],
    b: &'a [T],
    u: &'a mut [T],
    v: &'a mut [T],
    /// `K v`, then the new `u`.
    kv: &'a mut [T],
    /// `K^T u`, then the candidate `v`.
    ktu: &'a mut [T],
    primitives: PhantomData<P>,
}

/// `x_k <- w_k / x_k` in place. Returns the L1 error of the marginal `s * x` before
/// the update (zero without `s`) and that of `x_new * x_old` after it (rounding
/// level). [`Error::Numerical`] if a quotient is not finite and positive.
fn divide_into<T: Real>(w: &[T], s: Option<&[T]>, x: &mut [T]) -> Result<(T, T)> {
    let (mut before, mut after) = (T::zero(), T::zero());
    let mut ok = true;
    for (k, (xk, &wk)) in x.iter_mut().zip(w).enumerate() {
        let old = *xk;
        if let Some(sk) = s.and_then(|s| s.get(k)) {
            before = before + (*sk * old - wk).abs();
        }
        *xk = wk / old;
        after = after + (*xk * old - wk).abs();
        ok &= xk.is_finite() && *xk > T::zero();
    }
    if ok {
        Ok((before, after))
    } else {
        Err(Error::Numerical)
    }
}

impl<T: Real, P: Primitives<T>> HalfSteps<T> for ScaleSteps<'_, T, P> {
    fn first(&mut self, measure: bool) -> Result<T> {
        P::gemv_t(self.k, self.u, self.ktu);
        let v: &[T] = self.v;
        Ok(divide_into(self.b, measure.then_some(v), self.ktu)?.0)
    }

    fn apply_first(&mut self) {
        self.v.copy_from_slice(self.ktu);
    }

    fn second(&mut self) -> Result<T> {
        P::gemv(self.k, self.v, self.kv);
        let (_, after) = divide_into(self.a, None, self.kv)?;
        self.u.copy_from_slice(self.kv);
        Ok(after)
    }
}
