//! Sinkhorn-Knopp matrix scaling (kernel mode).

use super::driver::{HostSteps, Measured, iterate};
use super::overrelax::blend_scaling;
use super::{SinkhornOpts, check};
use crate::sinkhorn::{PASS_ROWS, SinkhornKernels, tiles};
use crate::{Dense, Error, Exec, Real, Report, Result, Workspace, WorkspaceSize};
use core::marker::PhantomData;

/// Workspace bytes [`scale`] needs for an `n x m` matrix.
/// [`Error::Dimension`] if a size is zero or the total overflows.
pub fn scale_work_size<T: Real>(n: usize, m: usize) -> Result<WorkspaceSize> {
    check::matrix_size::<T>(n, m)?;
    // K v, K^T u, the row tiles' partial sums: carved in this order.
    WorkspaceSize::new()
        .array::<T>(n)?
        .array::<T>(m)?
        .array::<T>(tiles::scratch_len(n, m, 0).ok_or(Error::Dimension)?)
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
///
/// Each pass over `K` runs in row tiles fixed by `n` through `exec`: the result does
/// not depend on the executor.
#[allow(clippy::too_many_arguments)]
pub fn scale<T: Real, P: SinkhornKernels<T>>(
    exec: &impl Exec,
    k: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &SinkhornOpts,
    u: &mut [T],
    v: &mut [T],
    work: &mut [u8],
) -> Result<Report> {
    scale_observed::<T, P>(exec, k, a, b, opts, u, v, work, &mut |_| {})
}

/// [`scale`], calling `observe` with the report of every error check (a
/// [`History`](crate::History) keeps the latest ones in fixed memory).
#[allow(clippy::too_many_arguments)]
pub fn scale_observed<T: Real, P: SinkhornKernels<T>>(
    exec: &impl Exec,
    k: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &SinkhornOpts,
    u: &mut [T],
    v: &mut [T],
    work: &mut [u8],
    observe: &mut dyn FnMut(&Report),
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
    let partial = ws.take::<T>(tiles::scratch_len(n, m, 0).ok_or(Error::Dimension)?)?;
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
    let mut steps = Measured::new(ScaleSteps::<T, P, _> {
        exec,
        k,
        a,
        b,
        u,
        v,
        kv,
        ktu,
        partial,
        ktu_current: false,
        primitives: PhantomData,
    });
    // Over-relaxation is the log-domain solver's (documented as ignored here).
    let plain = SinkhornOpts {
        overrelax: 0.0,
        ..*opts
    };
    iterate(&mut steps, &plain, observe)
}

/// Kernel-mode half-steps: `v` from `u` (columns), then `u` from `v` (rows).
struct ScaleSteps<'a, T, P, E> {
    exec: &'a E,
    k: Dense<'a, T>,
    a: &'a [T],
    b: &'a [T],
    u: &'a mut [T],
    v: &'a mut [T],
    /// `K v`, then the new `u`.
    kv: &'a mut [T],
    /// `K^T u`, then the candidate `v`.
    ktu: &'a mut [T],
    /// The row tiles' partial `K^T u`.
    partial: &'a mut [T],
    /// Whether `ktu` holds `K^T u` for the current `u`, as the fused pass of
    /// [`HostSteps::second`] leaves it.
    ktu_current: bool,
    primitives: PhantomData<P>,
}

/// `x_k <- w_k / x_k` in place. Returns the L1 error of the marginal `s * x` before
/// the update (zero without `s`). [`Error::Numerical`] if a quotient is not finite
/// and positive.
fn divide_into<T: Real>(w: &[T], s: Option<&[T]>, x: &mut [T]) -> Result<T> {
    let mut before = T::zero();
    let mut ok = true;
    for (k, (xk, &wk)) in x.iter_mut().zip(w).enumerate() {
        let old = *xk;
        if let Some(sk) = s.and_then(|s| s.get(k)) {
            before = before + (*sk * old - wk).abs();
        }
        *xk = wk / old;
        ok &= xk.is_finite() && *xk > T::zero();
    }
    if ok {
        Ok(before)
    } else {
        Err(Error::Numerical)
    }
}

/// `x_i <- w_i / (K v)_i` for every row (over-relaxed with `old` and `relax` != 1:
/// `x_i <- old_i (w_i / (old_i (K v)_i))^relax`), and `y <- K^T x` with the new `x`, in one
/// pass over `K`: rows `i .. i + PASS_ROWS` take their products with `v` in the same
/// loop as the rows before them add their part of `y` (those rows are still in
/// cache), so `K` streams from memory once instead of twice. The rows run in
/// [`tiles`] through `exec` (`partial`: their scratch). Returns the L1 error of
/// `old * (K v)` against `w` when `old` (the scaling before the update: the error at
/// the current pair) is given, else of `x * (K v)` (rounding level).
/// [`Error::Numerical`] if a quotient is not finite and positive or a `(K v)_i` is
/// below `floor` (then `x` and `y` are unspecified).
///
/// Every `(K v)_i` is [`Primitives::dot`](crate::Primitives::dot) of its row and each
/// `y_j` adds the rows' terms in row order, as a row-by-row loop would.
#[allow(clippy::too_many_arguments)]
pub(crate) fn divide_rows_then_transpose<T: Real, P: SinkhornKernels<T>>(
    exec: &impl Exec,
    k: Dense<'_, T>,
    v: &[T],
    w: &[T],
    old: Option<&[T]>,
    relax: T,
    floor: T,
    x: &mut [T],
    y: &mut [T],
    partial: &mut [T],
) -> Result<T> {
    // Bound by memory: each entry of K streamed counts as 8 operations.
    let ops = k.rows().saturating_mul(k.cols()).saturating_mul(8);
    let (error, ok) = tiles::run(exec, ops, x, y, &mut [], partial, |rows, x, y, _| {
        let (mut error, mut ok) = (T::zero(), true);
        let mut divide = |i: usize, t: T, xi: &mut T| {
            let update = w[i] / t;
            *xi = match old {
                Some(o) => blend_scaling(o[i], update, relax),
                None => update,
            };
            let s = old.map_or(*xi, |o| o[i]);
            error = error + (s * t - w[i]).abs();
            ok &= xi.is_finite() && *xi > T::zero() && t >= floor;
            *xi
        };
        let first = rows.start;
        let whole = x.len() - x.len() % PASS_ROWS;
        let (grouped, rest) = x.split_at_mut(whole);
        // The previous group's rows and their new `x`, added into `y` by the next call.
        let mut pending: Option<([&[T]; PASS_ROWS], [T; PASS_ROWS])> = None;
        for (g, xs) in grouped.chunks_exact_mut(PASS_ROWS).enumerate() {
            let at = first + g * PASS_ROWS;
            let group: [&[T]; PASS_ROWS] = core::array::from_fn(|r| k.row(at + r));
            let t = match pending {
                Some((p, q)) => P::dots_axpys(group, v, q, p, y),
                None => group.map(|row| P::dot(row, v)),
            };
            let new = core::array::from_fn(|r| divide(at + r, t[r], &mut xs[r]));
            pending = Some((group, new));
        }
        if let Some((p, q)) = pending {
            for (q, p) in q.into_iter().zip(p) {
                P::axpy(q, p, y);
            }
        }
        for (r, xi) in rest.iter_mut().enumerate() {
            let row = k.row(first + whole + r);
            let q = divide(first + whole + r, P::dot(row, v), xi);
            P::axpy(q, row, y);
        }
        (error, ok)
    });
    if ok { Ok(error) } else { Err(Error::Numerical) }
}

impl<T: Real, P: SinkhornKernels<T>, E: Exec> HostSteps<T> for ScaleSteps<'_, T, P, E> {
    fn first(&mut self, measure: bool) -> Result<T> {
        if !self.ktu_current {
            P::gemv_t(self.k, self.u, self.ktu);
        }
        self.ktu_current = false;
        let v: &[T] = self.v;
        divide_into(self.b, measure.then_some(v), self.ktu)
    }

    fn apply_first(&mut self) {
        self.v.copy_from_slice(self.ktu);
    }

    fn second(&mut self, _measure: bool) -> Result<T> {
        // The error comes out of the pass at no extra cost: always measured.
        let after = divide_rows_then_transpose::<T, P>(
            self.exec,
            self.k,
            self.v,
            self.a,
            None,
            T::one(),
            T::zero(),
            self.kv,
            self.ktu,
            self.partial,
        )?;
        self.u.copy_from_slice(self.kv);
        self.ktu_current = true;
        Ok(after)
    }
}
