//! The SNS driver: Sinkhorn warm-up, then Newton steps with a line search and a
//! Sinkhorn fallback.

use super::SnsOpts;
use super::hessian::{NewtonCsr, capacity, order};
use super::newton::NewtonSystem;
use super::objective::{PlanBuffers, Problem, Value};
use super::opts::kept_entries;
use super::race::{Race, Rate, SINKHORN_PASSES};
use super::select::BUCKETS;
use crate::cg::{CgOpts, Precond, cg_work_size};
use crate::sinkhorn::{SinkhornOpts, check, sinkhorn_log_observed, sinkhorn_work_size};
use crate::sns::SnsKernels;
use crate::{Dense, Error, Exec, Real, Report, Result, Workspace, WorkspaceSize};

/// Armijo's sufficient-increase fraction.
const ARMIJO: f64 = 1e-4;
/// Step halvings before a Newton step is given up for a Sinkhorn iteration.
const MAX_HALVINGS: u32 = 30;
/// Below this fraction of `|D|`, a predicted increase is lost in the rounding of
/// `D`, and a step is judged by the marginal error instead.
const RESOLUTION: f64 = 1e-13;

/// What [`sns`] did, beyond the [`Report`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SnsOutcome {
    /// The report: `iterations` = Sinkhorn iterations + Newton-stage steps (at most
    /// `sinkhorn_iters + max_newton`), `inner_iterations` = CG iterations (at most
    /// `max_newton * cg_max_iter`), both saturating at `u32::MAX`, `error` = L1
    /// marginal error of the returned potentials, `value` = `<P, C>`.
    pub report: Report,
    /// Newton steps the line search accepted.
    pub newton_steps: u32,
    /// Newton-stage steps that fell back to a Sinkhorn iteration.
    pub fallbacks: u32,
    /// Sinkhorn iterations run in the Newton stage because its Newton steps fell
    /// behind Sinkhorn's rate (each counts as a Newton-stage step in
    /// `report.iterations`).
    pub finish: u32,
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
/// plan entries at most (0: the default, see [`SnsOpts::density`]). [`Error::Dimension`] for an empty
/// or overflowing size, [`Error::Argument`] for a density outside `[0, 1]`.
pub fn sns_work_size<T: Real>(n: usize, m: usize, density: f64) -> Result<WorkspaceSize> {
    check::matrix_size::<T>(n, m)?;
    layout::<T>(n, m, density)
}

/// Solves `min <P, C> + eps sum P (log P - 1)` subject to `P 1 = a`, `P^T 1 = b`
/// (as [`sinkhorn_log`](crate::sinkhorn::sinkhorn_log)) by Sinkhorn-Newton-Sparse: `opts.sinkhorn_iters`
/// Sinkhorn iterations, then up to `opts.max_newton` Newton steps on the dual with a
/// sparsified Hessian, stopping once the L1 marginal error is at most `opts.tol`.
/// The work is bounded by the caps of [`SnsOpts`] (see its "Work cap"): at most
/// `max_newton * cg_max_iter` CG iterations in all.
///
/// `f` (n), `g` (m) are in/out potentials (any finite values; zeros are the cold
/// start). The returned pair is the one with the smallest marginal error among the
/// starting pair and every iterate, so it is never worse than the one given.
/// `plan` (n*m) is scratch during the solve and holds the plan of the returned pair
/// on success.
///
/// Errors, all before anything is written: [`Error::Dimension`],
/// [`Error::Workspace`], [`Error::Argument`], [`Error::NonFinite`] and
/// [`Error::Numerical`] exactly as [`sinkhorn_log`](crate::sinkhorn::sinkhorn_log) (with the options checked by
/// [`SnsOpts`]). [`Error::Numerical`] from the Sinkhorn iterations (a potential
/// overflowed) leaves in `f`, `g` the best iterate so far; `plan` is then
/// unspecified.
#[allow(clippy::too_many_arguments)]
pub fn sns<T: Real, P: SnsKernels<T>>(
    exec: &impl Exec,
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &SnsOpts,
    f: &mut [T],
    g: &mut [T],
    plan: &mut [T],
    work: &mut [u8],
) -> Result<SnsOutcome> {
    sns_observed::<T, P>(exec, c, a, b, opts, f, g, plan, work, &mut |_| {})
}

/// [`sns`], calling `observe` after stage 1 and after every Newton-stage step with
/// the counts so far and the marginal error of the current iterate (in
/// `report.error`): progress for long runs, and convergence curves timed in one
/// uninterrupted solve.
#[allow(clippy::too_many_arguments)]
pub fn sns_observed<T: Real, P: SnsKernels<T>>(
    exec: &impl Exec,
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
    let eps = check::regularisation(c, opts.reg)?;

    let order = order(n, m)?;
    let kept = kept_entries(n, m, opts.density)?;
    let problem = Problem { c, a, b, eps };
    let mut ws = Workspace::new(work);
    let sinkhorn_work = ws.take::<u8>(sinkhorn_work_size::<T>(n, m)?.bytes())?;
    let cg_work = ws.take::<u8>(cg_work_size::<T>(order)?.bytes())?;
    let mut buf = PlanBuffers {
        g_scaled: ws.take::<T>(m)?,
        rows: ws.take::<T>(n)?,
        cols: ws.take::<T>(m)?,
        plan,
    };
    let trial_f = ws.take::<T>(n)?;
    let trial_g = ws.take::<T>(m)?;
    let mut best = Best {
        f: ws.take::<T>(n)?,
        g: ws.take::<T>(m)?,
        error: f64::INFINITY,
    };
    let mut newton = NewtonSystem {
        kept,
        cg_opts: CgOpts {
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
        },
        rhs: ws.take::<T>(order)?,
        dir: ws.take::<T>(order)?,
        hist: ws.take::<usize>(BUCKETS)?,
        cursor: ws.take::<usize>(m)?,
        csr: NewtonCsr {
            indptr: ws.take::<usize>(order + 1)?,
            indices: ws.take::<u32>(capacity(order, kept)?)?,
            values: ws.take::<T>(capacity(order, kept)?)?,
        },
        cg_work,
    };

    let mut out = SnsOutcome::default();
    best.offer(f, g, problem.evaluate::<P>(f, g, &mut buf).error);
    // Every check of the Sinkhorn iterations is every iteration: stage 1's give its
    // rate.
    let sinkhorn = |iters: u32, f: &mut [T], g: &mut [T], work: &mut [u8], rate: &mut Rate| {
        let opts = SinkhornOpts {
            reg: opts.reg,
            tol: opts.tol,
            max_iter: iters,
            check_every: 1,
            ..SinkhornOpts::default()
        };
        let observe = &mut |r: &Report| rate.observe(r);
        sinkhorn_log_observed::<T, P>(exec, c, a, b, &opts, f, g, None, work, observe)
    };

    // Stage 1.
    let mut rate = Rate::default();
    if opts.sinkhorn_iters > 0 {
        let run = sinkhorn(opts.sinkhorn_iters, f, g, sinkhorn_work, &mut rate);
        let report = run.inspect_err(|_| best.restore(f, g))?;
        out.report.add_iterations(report.iterations);
    }
    let mut here = problem.evaluate::<P>(f, g, &mut buf);
    best.offer(f, g, here.error);
    out.report.error = here.error;
    observe(&out);

    // Stage 2.
    let mut race = Race::new(&rate, here.error);
    // One pass over the plan per CG iteration costs the entries it reads.
    let cg_passes = |entries: usize| (2 * entries + 5 * order) as f64 / (n * m) as f64;
    // Before the first step, an estimate of its cost: assembly, one point, and the
    // CG iterations a step from a Sinkhorn iterate takes (18 to 600 on the panel of
    // `tests/tests/sns.rs`; 60 here, so that a solve Sinkhorn is about to finish is
    // left to it).
    let mut step_passes = 2.0 + 60.0 * cg_passes(kept);
    let mut steps = 0;
    while here.error > opts.tol && steps < opts.max_newton {
        let left = opts.max_newton - steps;
        if race.sinkhorn_finishes(here.error, opts.tol, step_passes, left) {
            let iters = race.sinkhorn_iterations(left);
            let mut rate = Rate::default();
            let run = sinkhorn(iters, f, g, sinkhorn_work, &mut rate);
            let report = run.inspect_err(|_| best.restore(f, g))?;
            steps += report.iterations;
            out.report.add_iterations(report.iterations);
            out.finish = out.finish.saturating_add(report.iterations);
            here = problem.evaluate::<P>(f, g, &mut buf);
            best.offer(f, g, here.error);
            out.report.error = here.error;
            observe(&out);
            race.probe(&rate, here.error);
            continue;
        }
        steps += 1;
        out.report.add_iterations(1);
        // Selecting and assembling the kept entries: about one pass.
        let mut passes = 1.0;
        let accepted =
            newton
                .direction::<P>(exec, &problem, &buf)
                .and_then(|(slope, cg_iters, entries)| {
                    out.report.add_inner_iterations(cg_iters);
                    passes += f64::from(cg_iters) * cg_passes(entries);
                    let trial = Trial {
                        f: &mut *trial_f,
                        g: &mut *trial_g,
                    };
                    let (value, evaluations) =
                        trial.search::<P>(&problem, here, slope, f, g, newton.dir, &mut buf);
                    passes += f64::from(evaluations);
                    value
                });
        match accepted {
            Some(value) => {
                f.copy_from_slice(trial_f);
                g.copy_from_slice(trial_g);
                here = value;
                out.newton_steps = out.newton_steps.saturating_add(1);
            }
            None => {
                out.fallbacks = out.fallbacks.saturating_add(1);
                let run = sinkhorn(1, f, g, sinkhorn_work, &mut Rate::default());
                run.inspect_err(|_| best.restore(f, g))?;
                passes += SINKHORN_PASSES + 1.0;
                here = problem.evaluate::<P>(f, g, &mut buf);
            }
        }
        best.offer(f, g, here.error);
        out.report.error = here.error;
        observe(&out);
        race.step(passes, here.error);
        step_passes = passes;
    }

    if here.error > best.error {
        best.restore(f, g);
        here = problem.evaluate::<P>(f, g, &mut buf);
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

/// The point a line search tries.
struct Trial<'a, T> {
    f: &'a mut [T],
    g: &'a mut [T],
}

impl<T: Real> Trial<'_, T> {
    /// Backtracking from the full step `dir` at `(f, g)`: the first
    /// `alpha = 2^-k` whose point raises `D` by at least [`ARMIJO`]` * alpha *
    /// slope` (or, where `D` cannot resolve that, lowers the marginal error) is
    /// left in `self` (its plan in `buf`) and its value returned; `None` after
    /// [`MAX_HALVINGS`]. Also returns the number of points evaluated.
    #[allow(clippy::too_many_arguments)]
    fn search<P: SnsKernels<T>>(
        self,
        problem: &Problem<'_, T>,
        here: Value,
        slope: f64,
        f: &[T],
        g: &[T],
        dir: &[T],
        buf: &mut PlanBuffers<'_, T>,
    ) -> (Option<Value>, u32) {
        let (df, dg) = dir.split_at(f.len());
        let mut alpha = 1.0f64;
        for halvings in 0..=MAX_HALVINGS {
            let t = T::of(alpha);
            for ((o, &x), &d) in self.f.iter_mut().zip(f).zip(df) {
                *o = x + t * d;
            }
            // The last g stays where it is (its step is 0).
            self.g.copy_from_slice(g);
            for (o, &d) in self.g.iter_mut().zip(dg) {
                *o = *o + t * d;
            }
            let trial = problem.evaluate::<P>(self.f, self.g, buf);
            let gain = alpha * slope;
            let accepted = if gain < RESOLUTION * here.objective.abs() {
                trial.error < here.error
            } else {
                trial.objective >= here.objective + ARMIJO * gain
            };
            if trial.objective.is_finite() && accepted {
                return (Some(trial), halvings + 1);
            }
            alpha *= 0.5;
        }
        (None, MAX_HALVINGS + 1)
    }
}

/// `<P, C>` in `f64`.
fn transport_value<T: Real>(c: Dense<'_, T>, plan: &[T]) -> f64 {
    plan.iter()
        .zip(c.data())
        .map(|(&p, &cost)| p.to_f64_lossless() * cost.to_f64_lossless())
        .sum()
}
