//! Log-domain Sinkhorn for entropic optimal transport.

use super::driver::{HostSteps, Measured, iterate};
use super::log_steps::{
    col_lse_from_sums, f_update_fused, fused_scratch_len_of, marginal_error, potential_from_lse,
    transport_cost,
};
use super::{CostRows, SinkhornOpts, check, tiles};
use crate::sinkhorn::SinkhornKernels;
use crate::{Dense, Error, Exec, Real, Report, Result, Workspace, WorkspaceSize};
use core::marker::PhantomData;

/// Workspace bytes [`sinkhorn_log`] needs for an `n x m` cost matrix.
/// [`Error::Dimension`] if a size is zero or the total overflows.
pub fn sinkhorn_work_size<T: Real>(n: usize, m: usize) -> Result<WorkspaceSize> {
    check::matrix_size::<T>(n, m)?;
    log_work_size::<T>(n, m, 0, tiles::row_tiles(n))
}

/// Workspace of [`run`] for `n x m` costs whose rows need `row_scratch` values of
/// scratch, in `tiles` row tiles (see [`CostRows`]).
pub(crate) fn log_work_size<T: Real>(
    n: usize,
    m: usize,
    row_scratch: usize,
    tiles: usize,
) -> Result<WorkspaceSize> {
    // log a, log b, next f, g / eps, column max (and a cost row), column sum, the row
    // tiles' scratch: carved in this order.
    WorkspaceSize::new()
        .array::<T>(n)?
        .array::<T>(m)?
        .array::<T>(n)?
        .array::<T>(m)?
        .array::<T>(m.checked_add(row_scratch).ok_or(Error::Dimension)?)?
        .array::<T>(m)?
        .array::<T>(fused_scratch_len_of(tiles, m, row_scratch)?)
}

/// Solves `min <P, C> + eps sum P (log P - 1)` subject to `P 1 = a`, `P^T 1 = b`
/// by Sinkhorn iterations on the dual potentials, in the log domain.
///
/// `f` (n) and `g` (m) are in/out: any finite values warm-start (zeros are the cold
/// start). Each iteration sets `f` from `g`, then `g` from `f`. On return `P_ij =
/// exp((f_i + g_j - C_ij) / eps)`; `plan` (n*m, row-major), when given, receives it.
///
/// Report: `iterations` done, `error` = `||P 1 - a||_1 + ||P^T 1 - b||_1` of the
/// returned potentials (measured every `opts.check_every` iterations and at the
/// cap), `value` = `<P, C>`, `converged` = `error <= opts.tol`. Not converging is
/// not an error: `f`, `g`, `plan` and the report are written.
///
/// Errors, all before anything is written: [`Error::Dimension`] (an empty matrix,
/// lengths disagreeing), [`Error::Workspace`] (`work` shorter than
/// [`sinkhorn_work_size`]), [`Error::Argument`] (`reg` or `tol` not positive,
/// `max_iter` zero, `a` or `b` not positive or with different sums),
/// [`Error::NonFinite`] (NaN or infinity in `C`, `a`, `b`, `f` or `g`),
/// [`Error::Numerical`] (`max|C| / reg` overflows `T`). [`Error::Numerical`]
/// during the iteration (a potential overflowed) leaves in `f` and `g` the last
/// iterate that was finite and does not touch `plan`.
///
/// Each pass over `C` runs in row tiles fixed by `n` through `exec`: the result does
/// not depend on the executor.
#[allow(clippy::too_many_arguments)]
pub fn sinkhorn_log<T: Real, P: SinkhornKernels<T>>(
    exec: &impl Exec,
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &SinkhornOpts,
    f: &mut [T],
    g: &mut [T],
    plan: Option<&mut [T]>,
    work: &mut [u8],
) -> Result<Report> {
    sinkhorn_log_observed::<T, P>(exec, c, a, b, opts, f, g, plan, work, &mut |_| {})
}

/// [`sinkhorn_log`], calling `observe` with the report of every error check (its
/// `value` is filled in only in the report returned). A [`History`](crate::History)
/// keeps the latest ones in fixed memory.
#[allow(clippy::too_many_arguments)]
pub fn sinkhorn_log_observed<T: Real, P: SinkhornKernels<T>>(
    exec: &impl Exec,
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &SinkhornOpts,
    f: &mut [T],
    g: &mut [T],
    plan: Option<&mut [T]>,
    work: &mut [u8],
    observe: &mut dyn FnMut(&Report),
) -> Result<Report> {
    buffers(c, a, b, f, g, plan.as_deref(), work)?;
    opts.check(true)?;
    let eps = values(c, a, b, f, g, opts.reg)?;
    let scheme = Scheme {
        exponents: [T::one(); 2],
        stop: Stop::Marginals,
    };
    run::<T, P, _>(exec, c, a, b, eps, opts, scheme, f, g, plan, work, observe)
}

/// The size checks of the log-domain solvers: [`Error::Dimension`] unless the
/// vectors and the plan (when given) have the lengths `c` implies,
/// [`Error::Workspace`] if `work` is shorter than [`sinkhorn_work_size`].
pub(crate) fn buffers<T: Real>(
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    f: &[T],
    g: &[T],
    plan: Option<&[T]>,
    work: &[u8],
) -> Result<()> {
    check::dims(c, &[a, f], &[b, g])?;
    if plan.is_some_and(|p| p.len() != c.data().len()) {
        return Err(Error::Dimension);
    }
    if work.len() < sinkhorn_work_size::<T>(c.rows(), c.cols())?.bytes() {
        return Err(Error::Workspace);
    }
    Ok(())
}

/// The value checks of one balanced problem, after the size and option checks:
/// [`Error::NonFinite`], then [`Error::Argument`] (marginals), then
/// [`Error::Numerical`] (`max|C| / reg` overflowing). Returns `eps`.
pub(crate) fn values<T: Real>(
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    f: &[T],
    g: &[T],
    reg: f64,
) -> Result<T> {
    check::finite(&[c.data(), a, b, f, g])?;
    check::marginals(a, b)?;
    check::regularisation(c, reg)
}

/// What the error measured at a check is.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Stop {
    /// `||P 1 - a||_1 + ||P^T 1 - b||_1` at the current pair.
    Marginals,
    /// `(max_i |df_i| + max_j |dg_j|) / (2 eps)`: the change of the potentials in the
    /// last iteration.
    Change,
}

/// The update rule and the stopping measure of a log-domain run.
#[derive(Clone, Copy)]
pub(crate) struct Scheme<T> {
    /// The exponents of the f- and g-updates (see
    /// [`f_update_fused`]): 1 and 1 for balanced transport.
    pub(crate) exponents: [T; 2],
    pub(crate) stop: Stop,
}

/// The log-domain iteration on validated arguments (`work` at least
/// [`log_work_size`] for `c`, `eps` from [`check::regularisation`]), then the cost and
/// the plan.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run<T: Real, P: SinkhornKernels<T>, C: CostRows<T>>(
    exec: &impl Exec,
    c: C,
    a: &[T],
    b: &[T],
    eps: T,
    opts: &SinkhornOpts,
    scheme: Scheme<T>,
    f: &mut [T],
    g: &mut [T],
    plan: Option<&mut [T]>,
    work: &mut [u8],
    observe: &mut dyn FnMut(&Report),
) -> Result<Report> {
    let (n, m) = (c.rows(), c.cols());
    let mut ws = Workspace::new(work);
    let log_a = ws.take::<T>(n)?;
    let log_b = ws.take::<T>(m)?;
    let f_next = ws.take::<T>(n)?;
    let g_scaled = ws.take::<T>(m)?;
    let row = ws.take::<T>(m + c.row_scratch())?;
    let col_sum = ws.take::<T>(m)?;
    let tiles = ws.take::<T>(fused_scratch_len_of(c.tiles(), m, c.row_scratch())?)?;
    for (l, &w) in log_a.iter_mut().zip(a).chain(log_b.iter_mut().zip(b)) {
        *l = w.ln();
    }
    let mut steps = Measured::new(LogSteps::<T, P, _, C> {
        exec,
        c,
        eps,
        scheme,
        change: [T::zero(); 2],
        a,
        b,
        log_a,
        log_b,
        f: &mut *f,
        g: &mut *g,
        f_next,
        g_scaled: &mut *g_scaled,
        row: &mut *row,
        col_sum,
        tiles,
        primitives: PhantomData,
    });
    let mut report = iterate(&mut steps, opts, observe)?;
    report.value = transport_cost::<T, P>(c, f, g, eps, g_scaled, plan, row);
    Ok(report)
}

/// Log-domain half-steps: `f` from `g` (rows), then `g` from `f` (columns).
struct LogSteps<'a, T, P, E, C> {
    exec: &'a E,
    c: C,
    eps: T,
    scheme: Scheme<T>,
    /// Under [`Stop::Change`], half the largest change of `f` and of `g` in the last
    /// iteration, in units of `eps`.
    change: [T; 2],
    a: &'a [T],
    b: &'a [T],
    log_a: &'a [T],
    log_b: &'a [T],
    f: &'a mut [T],
    g: &'a mut [T],
    /// The candidate `f`.
    f_next: &'a mut [T],
    g_scaled: &'a mut [T],
    /// A plan row during the fused f-update, then the column log-sum-exps (`m`),
    /// followed by a computed cost row (`c.row_scratch()`).
    row: &'a mut [T],
    /// Column sums of the plan with the candidate `f` (shift `g`), then the
    /// candidate `g`.
    col_sum: &'a mut [T],
    /// The row tiles' plan rows and partial column sums.
    tiles: &'a mut [T],
    primitives: PhantomData<P>,
}

impl<T: Real, P: SinkhornKernels<T>, E: Exec, C: CostRows<T>> HostSteps<T>
    for LogSteps<'_, T, P, E, C>
{
    fn first(&mut self, measure: bool) -> Result<T> {
        let marginals = self.scheme.stop == Stop::Marginals;
        let (error, finite) = f_update_fused::<T, P>(
            self.exec,
            self.c,
            self.f,
            self.g,
            self.a,
            self.log_a,
            self.eps,
            self.scheme.exponents[0],
            measure && marginals,
            self.g_scaled,
            self.f_next,
            self.col_sum,
            self.row,
            self.tiles,
        );
        match (finite, marginals) {
            (false, _) => Err(Error::Numerical),
            (true, true) => Ok(error),
            (true, false) => Ok(self.change[0]),
        }
    }

    fn apply_first(&mut self) {
        if self.scheme.stop == Stop::Change {
            self.change[0] = half_change(self.eps, self.f, self.f_next);
        }
        self.f.copy_from_slice(self.f_next);
    }

    fn second(&mut self, measure: bool) -> Result<T> {
        let (col_max, buf) = self.row.split_at_mut(self.c.cols());
        col_lse_from_sums::<T, P>(
            self.c,
            self.f,
            self.eps,
            self.g_scaled,
            col_max,
            self.col_sum,
            buf,
        );
        potential_from_lse(
            self.eps,
            self.scheme.exponents[1],
            self.log_b,
            col_max,
            self.col_sum,
        )?;
        if self.scheme.stop == Stop::Change {
            self.change[1] = half_change(self.eps, self.g, self.col_sum);
        }
        self.g.copy_from_slice(self.col_sum);
        Ok(match self.scheme.stop {
            // One scalar exponential per column: only when a check follows.
            Stop::Marginals if measure => marginal_error(self.eps, self.g, col_max, self.b),
            Stop::Marginals => T::zero(),
            Stop::Change => self.change[1],
        })
    }
}

/// `max_k |new_k - old_k| / (2 eps)`.
fn half_change<T: Real>(eps: T, old: &[T], new: &[T]) -> T {
    let max = old
        .iter()
        .zip(new)
        .fold(T::zero(), |mx, (&o, &n)| mx.max((n - o).abs()));
    max / (eps + eps)
}
