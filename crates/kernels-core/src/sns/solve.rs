//! The SNS driver: Sinkhorn warm-up, then Newton steps with a line search and a
//! Sinkhorn fallback.

use super::SnsOpts;
use super::hessian::{NewtonCsr, assemble, capacity, order};
use super::objective::{PlanBuffers, Value, evaluate};
use super::opts::kept_entries;
use super::select::{BUCKETS, Keep};
use crate::cg::{CgOpts, Precond, cg, cg_work_size};
use crate::sinkhorn::{SinkhornOpts, check, sinkhorn_log, sinkhorn_work_size};
use crate::sor::SorCsr;
use crate::{Dense, Error, Primitives, Real, Report, Result, Workspace, WorkspaceSize};

/// Armijo's sufficient-increase fraction.
const ARMIJO: f64 = 1e-4;
/// Step halvings before a Newton step is given up for a Sinkhorn iteration.
const MAX_HALVINGS: u32 = 30;
/// Below this fraction of `|D|`, a predicted increase is lost in the rounding of
/// `D`, and a step is judged by the marginal error instead.
const RESOLUTION: f64 = 1e-13;

/// What [`sns`] did, beyond the C report.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SnsOutcome {
    /// The C report: `iterations` = Sinkhorn iterations + Newton-stage steps,
    /// `inner_iterations` = CG iterations, `error` = L1 marginal error of the
    /// returned potentials, `value` = `<P, C>`.
    pub report: Report,
    /// Newton steps the line search accepted.
    pub newton_steps: u32,
    /// Newton-stage steps that fell back to a Sinkhorn iteration.
    pub fallbacks: u32,
}

/// The arrays [`sns`] carves, listed once for the size query and the carving.
fn layout<T: Real>(n: usize, m: usize, density: f64) -> Result<WorkspaceSize> {
    let kept = kept_entries(n, m, density)?;
    let order = order(n, m)?;
    WorkspaceSize::new()
        .array::<u8>(sinkhorn_work_size::<T>(n, m)?.bytes())?
        .array::<u8>(cg_work_size::<T>(order)?.bytes())?
        // g / eps, row sums, column sums
        .array::<T>(m)?
        .array::<T>(n)?
        .array::<T>(m)?
        // trial f, trial g, best f, best g
        .array::<T>(n)?
        .array::<T>(m)?
        .array::<T>(n)?
        .array::<T>(m)?
        // right-hand side, direction
        .array::<T>(order)?
        .array::<T>(order)?
        // histogram, column cursors
        .array::<usize>(BUCKETS)?
        .array::<usize>(m)?
        // the Newton matrix
        .array::<usize>(order + 1)?
        .array::<u32>(capacity(order, kept)?)?
        .array::<T>(capacity(order, kept)?)
}

/// Workspace bytes [`sns`] needs for an `n x m` problem keeping `density * n * m`
/// plan entries (0: the default `4 / min(n, m)`). [`Error::Dimension`] for an empty
/// or overflowing size, [`Error::Argument`] for a density outside `[0, 1]`.
pub fn sns_work_size<T: Real>(n: usize, m: usize, density: f64) -> Result<WorkspaceSize> {
    if n == 0 || m == 0 {
        return Err(Error::Dimension);
    }
    layout::<T>(n, m, density)
}

/// Solves `min <P, C> + eps sum P (log P - 1)` subject to `P 1 = a`, `P^T 1 = b`
/// (as [`sinkhorn_log`]) by Sinkhorn-Newton-Sparse: `opts.sinkhorn_iters`
/// Sinkhorn iterations, then up to `opts.max_newton` Newton steps on the dual with a
/// sparsified Hessian, stopping once the L1 marginal error is at most `opts.tol`.
///
/// `f` (n), `g` (m) are in/out potentials (any finite values; zeros are the cold
/// start). The returned pair is the one with the smallest marginal error among the
/// starting pair and every iterate, so it is never worse than the one given.
/// `plan` (n*m) is scratch during the solve and holds the plan of the returned pair
/// on success.
///
/// Errors, all before anything is written: [`Error::Dimension`],
/// [`Error::Workspace`], [`Error::Argument`], [`Error::NonFinite`] and
/// [`Error::Numerical`] exactly as [`sinkhorn_log`] (with the options checked by
/// [`SnsOpts`]). [`Error::Numerical`] from the Sinkhorn iterations (a potential
/// overflowed) leaves in `f`, `g` the best iterate so far; `plan` is then
/// unspecified.
#[allow(clippy::too_many_arguments)]
pub fn sns<T: Real, P: Primitives<T>>(
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &SnsOpts,
    f: &mut [T],
    g: &mut [T],
    plan: &mut [T],
    work: &mut [u8],
) -> Result<SnsOutcome> {
    sns_observed::<T, P>(c, a, b, opts, f, g, plan, work, &mut |_| {})
}

/// [`sns`], calling `observe` after stage 1 and after every Newton-stage step with
/// the counts so far and the marginal error of the current iterate (in
/// `report.error`): progress for long runs, and convergence curves timed in one
/// uninterrupted solve.
#[allow(clippy::too_many_arguments)]
pub fn sns_observed<T: Real, P: Primitives<T>>(
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &SnsOpts,
    f: &mut [T],
    g: &mut [T],
    plan: &mut [T],
    work: &mut [u8],
    observe: &mut dyn FnMut(&SnsOutcome),
) -> Result<SnsOutcome> {
    let (n, m) = (c.rows(), c.cols());
    check::dims(c, &[a, f], &[b, g])?;
    if plan.len() != c.data().len() {
        return Err(Error::Dimension);
    }
    if work.len() < sns_work_size::<T>(n, m, opts.density)?.bytes() {
        return Err(Error::Workspace);
    }
    opts.check()?;
    check::finite(&[c.data(), a, b, f, g])?;
    check::marginals(a, b)?;
    let eps = T::of(opts.reg);
    let c_max = c.data().iter().fold(T::zero(), |mx, v| mx.max(v.abs()));
    if !(eps > T::zero() && (c_max / eps).is_finite() && eps.recip().is_finite()) {
        return Err(Error::Numerical);
    }

    let order = order(n, m)?;
    let kept = kept_entries(n, m, opts.density)?;
    let mut ws = Workspace::new(work);
    let sinkhorn_work = ws.take::<u8>(sinkhorn_work_size::<T>(n, m)?.bytes())?;
    let cg_work = ws.take::<u8>(cg_work_size::<T>(order)?.bytes())?;
    let mut buf = PlanBuffers {
        g_scaled: ws.take::<T>(m)?,
        rows: ws.take::<T>(n)?,
        cols: ws.take::<T>(m)?,
        plan,
    };
    let f_trial = ws.take::<T>(n)?;
    let g_trial = ws.take::<T>(m)?;
    let best_f = ws.take::<T>(n)?;
    let best_g = ws.take::<T>(m)?;
    let rhs = ws.take::<T>(order)?;
    let dir = ws.take::<T>(order)?;
    let hist = ws.take::<usize>(BUCKETS)?;
    let cursor = ws.take::<usize>(m)?;
    let mut newton = NewtonCsr {
        indptr: ws.take::<usize>(order + 1)?,
        indices: ws.take::<u32>(capacity(order, kept)?)?,
        values: ws.take::<T>(capacity(order, kept)?)?,
    };

    let mut out = SnsOutcome::default();
    let mut best = Best {
        f: best_f,
        g: best_g,
        error: f64::INFINITY,
    };
    best.offer(f, g, evaluate::<T, P>(c, a, b, f, g, eps, &mut buf).error);
    let sinkhorn = |iters: u32, f: &mut [T], g: &mut [T], work: &mut [u8]| {
        let opts = SinkhornOpts {
            reg: opts.reg,
            tol: opts.tol,
            max_iter: iters,
            check_every: 1,
        };
        sinkhorn_log::<T, P>(c, a, b, &opts, f, g, None, work)
    };
    let cg_opts = CgOpts {
        tol: match opts.cg_tol {
            0.0 if T::epsilon().to_f64_lossless() > 1e-10 => 1e-5,
            0.0 => 1e-10,
            tol => tol,
        },
        max_iter: match opts.cg_max_iter {
            0 => u32::try_from(n + m).unwrap_or(u32::MAX),
            iters => iters,
        },
        precond: Precond::Jacobi,
    };

    // Stage 1.
    if opts.sinkhorn_iters > 0 {
        let run = sinkhorn(opts.sinkhorn_iters, f, g, sinkhorn_work);
        let report = run.inspect_err(|_| best.restore(f, g))?;
        out.report.iterations += report.iterations;
    }
    let mut here = evaluate::<T, P>(c, a, b, f, g, eps, &mut buf);
    best.offer(f, g, here.error);
    out.report.error = here.error;
    observe(&out);

    // Stage 2.
    let mut steps = 0;
    while here.error > opts.tol && steps < opts.max_newton {
        steps += 1;
        out.report.iterations += 1;
        let step = newton_direction::<T, P>(
            eps,
            a,
            b,
            kept,
            &cg_opts,
            &mut buf,
            hist,
            cursor,
            &mut newton,
            rhs,
            dir,
            cg_work,
        );
        let accepted = match step {
            Some((slope, cg_iters)) => {
                out.report.inner_iterations += cg_iters;
                line_search::<T, P>(
                    c, a, b, f, g, eps, here, slope, dir, f_trial, g_trial, &mut buf,
                )
            }
            None => None,
        };
        match accepted {
            Some(value) => {
                f.copy_from_slice(f_trial);
                g.copy_from_slice(g_trial);
                here = value;
                out.newton_steps += 1;
            }
            None => {
                out.fallbacks += 1;
                sinkhorn(1, f, g, sinkhorn_work).inspect_err(|_| best.restore(f, g))?;
                here = evaluate::<T, P>(c, a, b, f, g, eps, &mut buf);
            }
        }
        best.offer(f, g, here.error);
        out.report.error = here.error;
        observe(&out);
    }

    if here.error > best.error {
        best.restore(f, g);
        here = evaluate::<T, P>(c, a, b, f, g, eps, &mut buf);
    }
    out.report.error = here.error;
    out.report.converged = here.error <= opts.tol;
    out.report.value = transport_value(c, buf.plan);
    Ok(out)
}

/// The pair with the smallest marginal error so far.
struct Best<'a, T> {
    f: &'a mut [T],
    g: &'a mut [T],
    error: f64,
}

impl<T: Real> Best<'_, T> {
    fn offer(&mut self, f: &[T], g: &[T], error: f64) {
        if error < self.error {
            self.f.copy_from_slice(f);
            self.g.copy_from_slice(g);
            self.error = error;
        }
    }

    fn restore(&self, f: &mut [T], g: &mut [T]) {
        if self.error.is_finite() {
            f.copy_from_slice(self.f);
            g.copy_from_slice(self.g);
        }
    }
}

/// The Newton direction at the point whose plan and marginals `buf` holds: keeps
/// the largest `kept` plan entries, assembles the Newton matrix and solves
/// `H d = eps grad` by Jacobi-PCG into `dir` (`df` then `dg` without its last
/// entry). Returns the predicted slope `grad . d` and the CG iterations, or `None`
/// when the system cannot be solved (a marginal underflowed to zero, CG broke
/// down, or the direction is not an ascent direction).
#[allow(clippy::too_many_arguments)]
fn newton_direction<T: Real, P: Primitives<T>>(
    eps: T,
    a: &[T],
    b: &[T],
    kept: usize,
    cg_opts: &CgOpts,
    buf: &mut PlanBuffers<'_, T>,
    hist: &mut [usize],
    cursor: &mut [usize],
    newton: &mut NewtonCsr<'_, T>,
    rhs: &mut [T],
    dir: &mut [T],
    cg_work: &mut [u8],
) -> Option<(f64, u32)> {
    let keep = Keep::largest(buf.plan, kept, hist);
    let nnz = assemble(buf.plan, buf.rows, buf.cols, keep, cursor, newton).ok()?;
    let gradient = a
        .iter()
        .zip(buf.rows.iter())
        .chain(b.iter().zip(buf.cols.iter()));
    for (r, (&w, &s)) in rhs.iter_mut().zip(gradient) {
        *r = eps * (w - s);
    }
    let order = rhs.len();
    let h = SorCsr::new(
        order,
        newton.indptr,
        &newton.indices[..nnz],
        &newton.values[..nnz],
    )
    .ok()?;
    dir.fill(T::zero());
    let report = cg::<T, P>(&h, rhs, dir, cg_opts, cg_work).ok()?;
    // rhs = eps grad, so grad . d = rhs . d / eps.
    let slope = P::dot(rhs, dir).to_f64_lossless() / eps.to_f64_lossless();
    (slope > 0.0 && slope.is_finite()).then_some((slope, report.iterations))
}

/// Backtracking from the full Newton step: the first `alpha = 2^-k` whose point
/// raises `D` by at least [`ARMIJO`]` * alpha * slope` (or, where `D` cannot
/// resolve that, lowers the marginal error) is written into `f_trial`, `g_trial`
/// (its plan into `buf`) and its value returned. `None` after [`MAX_HALVINGS`].
#[allow(clippy::too_many_arguments)]
fn line_search<T: Real, P: Primitives<T>>(
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    f: &[T],
    g: &[T],
    eps: T,
    here: Value,
    slope: f64,
    dir: &[T],
    f_trial: &mut [T],
    g_trial: &mut [T],
    buf: &mut PlanBuffers<'_, T>,
) -> Option<Value> {
    let (df, dg) = dir.split_at(f.len());
    let mut alpha = 1.0f64;
    for _ in 0..=MAX_HALVINGS {
        let t = T::of(alpha);
        for ((o, &x), &d) in f_trial.iter_mut().zip(f).zip(df) {
            *o = x + t * d;
        }
        g_trial.copy_from_slice(g);
        for (o, &d) in g_trial.iter_mut().zip(dg) {
            *o = *o + t * d;
        }
        let trial = evaluate::<T, P>(c, a, b, f_trial, g_trial, eps, buf);
        let gain = alpha * slope;
        let accepted = if gain < RESOLUTION * here.objective.abs() {
            trial.error < here.error
        } else {
            trial.objective >= here.objective + ARMIJO * gain
        };
        if trial.objective.is_finite() && accepted {
            return Some(trial);
        }
        alpha *= 0.5;
    }
    None
}

/// `<P, C>` in `f64`.
fn transport_value<T: Real>(c: Dense<'_, T>, plan: &[T]) -> f64 {
    plan.iter()
        .zip(c.data())
        .map(|(&p, &cost)| p.to_f64_lossless() * cost.to_f64_lossless())
        .sum()
}
