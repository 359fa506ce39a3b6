//! Unbalanced entropic optimal transport: the marginals are KL penalties, not
//! constraints, so mass may be created and destroyed.
//!
//! The problem is POT's `sinkhorn_unbalanced(a, b, M, reg, (reg_m1, reg_m2),
//! reg_type='kl')`:
//! `min_P <P, C> + reg KL(P | a b^T) + reg_m1 KL(P 1 | a) + reg_m2 KL(P^T 1 | b)` with
//! the generalised `KL(x | y) = sum x log(x / y) - x + y`. In the log domain with the
//! plan `P_ij = exp((f_i + g_j - C_ij) / reg)`, POT's scaling updates
//! `u = (a / K v)^fi1`, `v = (b / K^T u)^fi2` become the balanced updates with the
//! log-sum-exp scaled by `fi = reg_m / (reg_m + reg)` (1 for `reg_m = inf`):
//! `f_i = reg (log a_i - fi1 LSE_j((g_j - C_ij) / reg))`, and likewise `g`. The
//! solver is the balanced one ([`sinkhorn_log`](super::sinkhorn_log)'s passes and
//! loop) with those exponents; with both penalties infinite its iterates are
//! bit-identical to the balanced solver's.

use super::solve_log::{Scheme, Stop, buffers, run, sinkhorn_work_size};
use super::{SinkhornKernels, SinkhornOpts, check};
use crate::{Dense, Error, Exec, Real, Report, Result, WorkspaceSize};

/// Options of [`sinkhorn_unbalanced`].
///
/// Build it from [`Default`] and the setters, e.g.
/// `UnbalancedOpts::default().reg(0.01).reg_m(1.0)`; `#[non_exhaustive]` so that
/// options can be added without breaking callers.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct UnbalancedOpts {
    /// Entropic regularisation `reg > 0` (finite).
    pub reg: f64,
    /// KL penalty on the row marginal, `>= 0`; infinity makes `P 1 = a` a constraint.
    pub reg_m1: f64,
    /// KL penalty on the column marginal, `>= 0`; infinity makes `P^T 1 = b` a
    /// constraint.
    pub reg_m2: f64,
    /// Stop when the change of the potentials in one iteration,
    /// `(max_i |df_i| + max_j |dg_j|) / (2 reg)`, is at most `tol` (`tol > 0`).
    pub tol: f64,
    /// Iteration cap, at least 1.
    pub max_iter: u32,
    /// Measure the change every `check_every` iterations; 0 means 1.
    pub check_every: u32,
}

impl Default for UnbalancedOpts {
    /// `reg = 0.05`, `reg_m1 = reg_m2 = 1`, `tol = 1e-9`, `max_iter = 1000`,
    /// `check_every = 10`.
    fn default() -> Self {
        let s = SinkhornOpts::default();
        UnbalancedOpts {
            reg: s.reg,
            reg_m1: 1.0,
            reg_m2: 1.0,
            tol: s.tol,
            max_iter: s.max_iter,
            check_every: s.check_every,
        }
    }
}

impl UnbalancedOpts {
    /// Sets `reg`, the entropic regularisation.
    #[must_use]
    pub fn reg(mut self, reg: f64) -> Self {
        self.reg = reg;
        self
    }

    /// Sets both marginal penalties to `reg_m`.
    #[must_use]
    pub fn reg_m(self, reg_m: f64) -> Self {
        self.reg_m1(reg_m).reg_m2(reg_m)
    }

    /// Sets `reg_m1`, the penalty on the row marginal.
    #[must_use]
    pub fn reg_m1(mut self, reg_m1: f64) -> Self {
        self.reg_m1 = reg_m1;
        self
    }

    /// Sets `reg_m2`, the penalty on the column marginal.
    #[must_use]
    pub fn reg_m2(mut self, reg_m2: f64) -> Self {
        self.reg_m2 = reg_m2;
        self
    }

    /// Sets `tol`, the change of the potentials to stop at.
    #[must_use]
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Sets `max_iter`, the iteration cap.
    #[must_use]
    pub fn max_iter(mut self, max_iter: u32) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Sets `check_every`, the check period (0 means 1).
    #[must_use]
    pub fn check_every(mut self, check_every: u32) -> Self {
        self.check_every = check_every;
        self
    }

    /// [`Error::Argument`] unless `reg`, `tol` and `max_iter` are as
    /// [`SinkhornOpts::check`] requires and each `reg_m` is `>= 0` or `+inf` (not NaN).
    pub fn check(&self) -> Result<()> {
        // Written so that NaN fails.
        let penalty_ok = |r: f64| r >= 0.0;
        self.loop_opts().check(true)?;
        if penalty_ok(self.reg_m1) && penalty_ok(self.reg_m2) {
            Ok(())
        } else {
            Err(Error::Argument)
        }
    }

    /// Whether both marginals are constraints: the balanced problem.
    pub fn balanced(&self) -> bool {
        self.reg_m1 == f64::INFINITY && self.reg_m2 == f64::INFINITY
    }

    /// The options of the shared iteration loop.
    fn loop_opts(&self) -> SinkhornOpts {
        SinkhornOpts::default()
            .reg(self.reg)
            .tol(self.tol)
            .max_iter(self.max_iter)
            .check_every(self.check_every)
    }

    /// POT's `fi = reg_m / (reg_m + reg)` for one penalty, 1 for infinity.
    fn exponent<T: Real>(&self, reg_m: f64) -> T {
        if reg_m == f64::INFINITY {
            T::one()
        } else {
            T::of(reg_m / (reg_m + self.reg))
        }
    }
}

/// Workspace bytes [`sinkhorn_unbalanced`] needs for an `n x m` cost matrix (the
/// balanced solver's). [`Error::Dimension`] if a size is zero or the total overflows.
pub fn unbalanced_work_size<T: Real>(n: usize, m: usize) -> Result<WorkspaceSize> {
    sinkhorn_work_size::<T>(n, m)
}

/// Solves unbalanced entropic transport, POT's `sinkhorn_unbalanced` with KL
/// penalties of weights `reg_m1`, `reg_m2` on the marginals (see [`UnbalancedOpts`]),
/// by log-domain Sinkhorn iterations on the dual potentials.
///
/// `f` (n) and `g` (m) are in/out: any finite values warm-start (zeros are the cold
/// start). On return `P_ij = exp((f_i + g_j - C_ij) / reg)`; `plan` (n*m,
/// row-major), when given, receives it.
///
/// Report: `iterations` done, `error` = the change of the potentials in the last
/// iteration, `(max_i |df_i| + max_j |dg_j|) / (2 reg)` (the log-domain form of
/// POT's stopping measure, the mean relative change of its scalings `u`, `v`),
/// measured every `opts.check_every` iterations and at the cap; `value` = `<P, C>`
/// (POT's `log['cost']`); `converged` = `error <= opts.tol`.
///
/// Errors, all before anything is written: as [`sinkhorn_log`](super::sinkhorn_log),
/// except that `a` and `b` need only be positive unless both penalties are infinite
/// (then their sums must agree); [`Error::Argument`] also for a `reg_m` negative or
/// NaN.
#[allow(clippy::too_many_arguments)]
pub fn sinkhorn_unbalanced<T: Real, P: SinkhornKernels<T>>(
    exec: &impl Exec,
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &UnbalancedOpts,
    f: &mut [T],
    g: &mut [T],
    plan: Option<&mut [T]>,
    work: &mut [u8],
) -> Result<Report> {
    buffers(c, a, b, f, g, plan.as_deref(), work)?;
    opts.check()?;
    check::finite(&[c.data(), a, b, f, g])?;
    if opts.balanced() {
        check::marginals(a, b)?;
    } else {
        check::positive(a, b)?;
    }
    let eps = check::regularisation(c, opts.reg)?;
    let scheme = Scheme {
        exponents: [opts.exponent(opts.reg_m1), opts.exponent(opts.reg_m2)],
        stop: Stop::Change,
    };
    let loop_opts = opts.loop_opts();
    run::<T, P, _>(
        exec,
        c,
        a,
        b,
        eps,
        &loop_opts,
        scheme,
        f,
        g,
        plan,
        work,
        &mut |_| {},
    )
}
