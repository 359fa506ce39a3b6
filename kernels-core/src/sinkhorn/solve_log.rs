//! Log-domain Sinkhorn for entropic optimal transport.

use super::absorb::AbsorbSteps;
use super::driver::{HostSteps, Measured, iterate};
use super::log_steps::{
    col_lse_from_sums, f_update_fused, fused_scratch_len_of, marginal_error, potential_from_lse,
    transport_cost,
};
use super::overrelax::blend_potential;
use super::{CostRows, Method, SinkhornOpts, check, tiles};
use crate::sinkhorn::SinkhornKernels;
use crate::{Dense, Error, Exec, Real, Report, Result, Workspace, WorkspaceSize};
use core::marker::PhantomData;

/// Workspace bytes [`sinkhorn_log`] needs for an `n x m` cost matrix.
/// [`Error::Dimension`] if a size is zero or the total overflows.
pub fn sinkhorn_work_size<T: Real>(n: usize, m: usize) -> Result<WorkspaceSize> {
    check::matrix_size::<T>(n, m)?;
    // The log-domain arrays, then absorption's scalings u, v.
    log_work_size::<T>(n, m, 0, tiles::row_tiles(n))?
        .array::<T>(n)?
        .array::<T>(m)
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
/// `max_iter` zero, `eps_scaling` neither 0 nor in `(0, 1)`, `reg_start` negative
/// or not finite, [`Method::Absorb`] without `plan`, `a` or `b` not positive or
/// with different sums),
/// [`Error::NonFinite`] (NaN or infinity in `C`, `a`, `b`, `f` or `g`),
/// [`Error::Numerical`] (`max|C| / reg` overflows `T`). [`Error::Numerical`]
/// during the iteration (a potential overflowed) leaves in `f` and `g` the last
/// iterate that was finite and does not touch `plan` (with absorption `plan` holds
/// the stabilised kernel then).
///
/// Methods (`opts.method`): [`Method::Log`] runs the log-domain half-steps (one
/// exponential per entry per iteration). [`Method::Absorb`] (what
/// [`Method::Auto`] picks when `plan` is given; [`Error::Argument`] without one)
/// runs the same iterates as scalings on a stabilised kernel kept in `plan`,
/// absorbed into `f`, `g` when they leave a bounded range (Schmitzer 2019): an
/// iteration is one pass over that kernel without exponentials, so it runs at
/// kernel-mode speed and stays as stable as the log domain. The potentials, plan and
/// report agree with [`Method::Log`]'s to rounding.
///
/// Epsilon scaling (`opts.eps_scaling = q` in `(0, 1)`): first solves at `reg_start
/// q^k` (`reg_start` from the options, `max|C|` when 0) for `k = 0, 1, ...` while
/// above `reg`, each stage warm started from the last and stopped at an L1 error of
/// `max(tol, 1e-3)` (checked every iteration), then at `reg` to `tol`. `iterations`
/// counts every stage, and all stages together stay within `max_iter`; the error
/// and `converged` are the last stage's.
///
/// Over-relaxation (`opts.overrelax`): a fixed `omega` in `(0, 2)` or
/// [`OVERRELAX_AUTO`](super::OVERRELAX_AUTO) (`omega` from the rate the plain
/// iteration shows over its first checks) blends each update, `f <- f + omega
/// (f_sinkhorn - f)` and likewise `g`; the iteration returns to plain Sinkhorn if
/// the error stops shrinking over 20 iterations. The fixed point
/// is the same; at small `reg` it is reached in several times fewer iterations.
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
    let absorb = absorbs(opts, plan.is_some())?;
    let eps = values(c, a, b, f, g, opts.reg)?;
    let scheme = Scheme {
        exponents: [T::one(); 2],
        stop: Stop::Marginals,
    };
    let mut plan = plan;
    let mut done = 0u32;
    // Epsilon scaling: the stages above `reg`, each warm started from the last, to a
    // loose tolerance checked every iteration; their iterations count against
    // `max_iter`, one left for the last stage.
    for reg_k in stages(c, opts) {
        let budget = opts.max_iter.saturating_sub(done + 1);
        if budget == 0 {
            break;
        }
        let stage = SinkhornOpts {
            reg: reg_k,
            tol: opts.tol.max(STAGE_TOL),
            max_iter: budget,
            // A check costs O(n + m): a stage stops as soon as it may.
            check_every: 1,
            ..*opts
        };
        // A stage above what T represents (only a huge reg_start) is skipped.
        let Ok(eps_k) = check::regularisation(c, reg_k) else {
            continue;
        };
        let report = run_dense::<T, P>(
            exec,
            c,
            a,
            b,
            eps_k,
            &stage,
            scheme,
            absorb,
            f,
            g,
            // The plan is written by the last stage only (absorption keeps its
            // kernel there throughout, as documented).
            if absorb { plan.as_deref_mut() } else { None },
            work,
            observe,
        )?;
        done += report.iterations;
    }
    let last = SinkhornOpts {
        max_iter: opts.max_iter - done,
        ..*opts
    };
    let mut report = run_dense::<T, P>(
        exec, c, a, b, eps, &last, scheme, absorb, f, g, plan, work, observe,
    )?;
    report.iterations += done;
    Ok(report)
}

/// The L1 marginal error at which an epsilon-scaling stage above `reg` stops: the
/// next stage only needs a warm start.
const STAGE_TOL: f64 = 1e-3;

/// The regularisations of the epsilon-scaling stages above `opts.reg`, decreasing:
/// `reg_start q^k` (`reg_start = max|C|` when 0) while above `reg`. None without
/// scaling.
fn stages<T: Real>(c: Dense<'_, T>, opts: &SinkhornOpts) -> impl Iterator<Item = f64> {
    let q = opts.eps_scaling;
    let start = if opts.reg_start > 0.0 {
        opts.reg_start
    } else {
        c.data()
            .iter()
            .fold(0.0f64, |mx, v| mx.max(v.abs().to_f64_lossless()))
    };
    let first = if q > 0.0 { start } else { 0.0 };
    core::iter::successors(Some(first), move |&r| Some(r * q)).take_while(move |&r| r > opts.reg)
}

/// Whether the options select absorption, given whether a plan buffer is passed:
/// [`Error::Argument`] for [`Method::Absorb`] without one.
pub(crate) fn absorbs(opts: &SinkhornOpts, plan: bool) -> Result<bool> {
    match opts.method {
        Method::Log => Ok(false),
        Method::Absorb if !plan => Err(Error::Argument),
        _ => Ok(plan),
    }
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
    let mut ws = Workspace::new(work);
    let log = log_steps::<T, P, _, C>(exec, c, (a, b), eps, scheme, (f, g), &mut ws)?;
    let mut steps = Measured::new(log);
    let mut report = iterate(&mut steps, opts, observe)?;
    let l = steps.steps;
    report.value = transport_cost::<T, P>(c, l.f, l.g, eps, l.g_scaled, plan, l.row);
    Ok(report)
}

/// [`run`] on a stored matrix, or with `absorb` (and a plan buffer, which holds the
/// stabilised kernel) the same iterates by absorption (`work` at least
/// [`sinkhorn_work_size`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_dense<T: Real, P: SinkhornKernels<T>>(
    exec: &impl Exec,
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    eps: T,
    opts: &SinkhornOpts,
    scheme: Scheme<T>,
    absorb: bool,
    f: &mut [T],
    g: &mut [T],
    plan: Option<&mut [T]>,
    work: &mut [u8],
    observe: &mut dyn FnMut(&Report),
) -> Result<Report> {
    let plan = match (absorb, plan) {
        (true, Some(plan)) => plan,
        (_, plan) => {
            return run::<T, P, _>(exec, c, a, b, eps, opts, scheme, f, g, plan, work, observe);
        }
    };
    // Absorption runs the balanced update only (the plan is its kernel).
    debug_assert!(scheme.exponents == [T::one(); 2] && scheme.stop == Stop::Marginals);
    let (n, m) = (c.rows(), c.cols());
    let mut ws = Workspace::new(work);
    let log = log_steps::<T, P, _, _>(exec, c, (a, b), eps, scheme, (f, g), &mut ws)?;
    let u = ws.take::<T>(n)?;
    let v = ws.take::<T>(m)?;
    let mut steps = Measured::new(AbsorbSteps::new(log, plan, u, v));
    let mut report = iterate(&mut steps, opts, observe)?;
    report.value = steps.steps.finish()?;
    Ok(report)
}

/// The log-domain half-steps on validated arguments, their scratch carved from `ws`
/// in [`log_work_size`]'s order.
fn log_steps<'a, T: Real, P: SinkhornKernels<T>, E: Exec, C: CostRows<T>>(
    exec: &'a E,
    c: C,
    (a, b): (&'a [T], &'a [T]),
    eps: T,
    scheme: Scheme<T>,
    (f, g): (&'a mut [T], &'a mut [T]),
    ws: &mut Workspace<'a>,
) -> Result<LogSteps<'a, T, P, E, C>> {
    let (n, m) = (c.rows(), c.cols());
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
    Ok(LogSteps {
        exec,
        c,
        eps,
        scheme,
        relax: T::one(),
        change: [T::zero(); 2],
        a,
        b,
        log_a,
        log_b,
        f,
        g,
        f_next,
        g_scaled,
        row,
        col_sum,
        tiles,
        primitives: PhantomData,
    })
}

/// Log-domain half-steps: `f` from `g` (rows), then `g` from `f` (columns).
pub(super) struct LogSteps<'a, T, P, E, C> {
    pub(super) exec: &'a E,
    pub(super) c: C,
    pub(super) eps: T,
    pub(super) scheme: Scheme<T>,
    /// The over-relaxation `omega` of both updates (1: none).
    pub(super) relax: T,
    /// Under [`Stop::Change`], half the largest change of `f` and of `g` in the last
    /// iteration, in units of `eps`.
    pub(super) change: [T; 2],
    pub(super) a: &'a [T],
    pub(super) b: &'a [T],
    pub(super) log_a: &'a [T],
    pub(super) log_b: &'a [T],
    pub(super) f: &'a mut [T],
    pub(super) g: &'a mut [T],
    /// The candidate `f`.
    pub(super) f_next: &'a mut [T],
    pub(super) g_scaled: &'a mut [T],
    /// A plan row during the fused f-update, then the column log-sum-exps (`m`),
    /// followed by a computed cost row (`c.row_scratch()`).
    pub(super) row: &'a mut [T],
    /// Column sums of the plan with the candidate `f` (shift `g`), then the
    /// candidate `g`.
    pub(super) col_sum: &'a mut [T],
    /// The row tiles' plan rows and partial column sums.
    pub(super) tiles: &'a mut [T],
    pub(super) primitives: PhantomData<P>,
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
            (self.scheme.exponents[0], self.relax),
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
        if self.relax != T::one() {
            let mut finite = true;
            for (new, &old) in self.col_sum.iter_mut().zip(self.g.iter()) {
                *new = blend_potential(old, *new, self.relax);
                finite &= new.is_finite();
            }
            // The blend of two finite potentials may still overflow: `g` keeps the
            // last finite iterate, as `potential_from_lse` leaves it.
            if !finite {
                return Err(Error::Numerical);
            }
        }
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

    fn relax(&mut self, omega: T) -> Result<()> {
        self.relax = omega;
        Ok(())
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
