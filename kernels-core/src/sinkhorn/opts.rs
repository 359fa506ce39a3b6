//! The options both solvers take.

use crate::{Error, Result};

/// How [`sinkhorn_log`](super::sinkhorn_log) iterates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// [`Absorb`](Method::Absorb) when the caller passes a plan buffer, else
    /// [`Log`](Method::Log).
    #[default]
    Auto,
    /// Log-domain half-steps: one exponential per entry per iteration.
    Log,
    /// Scalings on a stabilised kernel kept in the plan buffer, absorbed into the
    /// potentials when they leave a bounded range (Schmitzer 2019): the same
    /// iterates as [`Log`](Method::Log) at kernel-mode cost. Needs the plan buffer.
    Absorb,
}

/// Stopping rule and regularisation of [`scale`](super::scale) and
/// [`sinkhorn_log`](super::sinkhorn_log).
///
/// Build it from [`Default`] and the setters, e.g.
/// `SinkhornOpts::default().reg(0.01).tol(1e-12)`: the struct is `#[non_exhaustive]`
/// so that options can be added without breaking callers. The fields stay readable.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct SinkhornOpts {
    /// Entropic regularisation `eps > 0` (finite). Ignored by [`scale`](super::scale).
    pub reg: f64,
    /// Stop when the L1 marginal error is at most `tol` (`tol > 0`).
    pub tol: f64,
    /// Iteration cap, at least 1.
    pub max_iter: u32,
    /// Measure the error every `check_every` iterations; 0 means 1.
    pub check_every: u32,
    /// The log-domain solver's iteration ([`Method::Auto`] by default). Ignored by
    /// [`scale`](super::scale).
    pub method: Method,
    /// Epsilon scaling: 0 (the default) solves at `reg` directly; a factor `q` in
    /// `(0, 1)` first solves at `reg_k = reg_start q^k` (while above `reg`), each
    /// stage warm started from the last, then at `reg`. Ignored by
    /// [`scale`](super::scale).
    pub eps_scaling: f64,
    /// The first regularisation of epsilon scaling; 0 (the default) means `max|C|`.
    /// At least 0 and finite.
    pub reg_start: f64,
    /// Over-relaxation of the log-domain solver: 0 (the default) is the plain
    /// iteration; `omega` in `(0, 2)` blends each half-step's update as `f <- f +
    /// omega (f_sinkhorn - f)`; [`OVERRELAX_AUTO`] estimates `omega` from the
    /// convergence rate (see [`iterate`](super::driver::iterate)). Either falls back to
    /// the plain iteration if the error stops shrinking. Ignored by
    /// [`scale`](super::scale).
    pub overrelax: f64,
}

/// `SinkhornOpts::overrelax` value that picks `omega` from the observed rate of the
/// plain iteration (Lehmann, von Renesse, Sambale and Uschmajew, "A note on
/// overrelaxation in the Sinkhorn algorithm", Optim. Lett. 2022; OTT's `Momentum`).
pub const OVERRELAX_AUTO: f64 = -1.0;

impl Default for SinkhornOpts {
    /// `reg = 0.05`, `tol = 1e-9`, `max_iter = 1000`, `check_every = 10`,
    /// `method = Auto`, no epsilon scaling, no over-relaxation.
    fn default() -> Self {
        SinkhornOpts {
            reg: 0.05,
            tol: 1e-9,
            max_iter: 1000,
            check_every: 10,
            method: Method::Auto,
            eps_scaling: 0.0,
            reg_start: 0.0,
            overrelax: 0.0,
        }
    }
}

impl SinkhornOpts {
    /// Sets `reg`, the entropic regularisation.
    #[must_use]
    pub fn reg(mut self, reg: f64) -> Self {
        self.reg = reg;
        self
    }

    /// Sets `tol`, the L1 marginal error to stop at.
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

    /// Sets `check_every`, the error check period (0 means 1).
    #[must_use]
    pub fn check_every(mut self, check_every: u32) -> Self {
        self.check_every = check_every;
        self
    }

    /// Sets `method`, the log-domain solver's iteration.
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Sets `eps_scaling`, the epsilon-scaling factor (0: none).
    #[must_use]
    pub fn eps_scaling(mut self, factor: f64) -> Self {
        self.eps_scaling = factor;
        self
    }

    /// Sets `reg_start`, the first regularisation of epsilon scaling (0: `max|C|`).
    #[must_use]
    pub fn reg_start(mut self, reg_start: f64) -> Self {
        self.reg_start = reg_start;
        self
    }

    /// Sets `overrelax`: 0 (none), `omega` in `(0, 2)`, or [`OVERRELAX_AUTO`].
    #[must_use]
    pub fn overrelax(mut self, omega: f64) -> Self {
        self.overrelax = omega;
        self
    }

    /// [`Error::Argument`] unless `tol > 0` and `max_iter > 0` (and, when `use_reg`,
    /// `reg` is positive and finite, `eps_scaling` is 0 or in `(0, 1)`,
    /// `reg_start` is at least 0 and finite and `overrelax` is 0,
    /// [`OVERRELAX_AUTO`] or in `(0, 2)`).
    /// Public so that other backends (CUDA) validate exactly as the host solvers do.
    pub fn check(&self, use_reg: bool) -> Result<()> {
        // Written so that NaN fails every comparison.
        let tol_ok = self.tol > 0.0;
        let scaling_ok =
            self.eps_scaling == 0.0 || (self.eps_scaling > 0.0 && self.eps_scaling < 1.0);
        let start_ok = self.reg_start >= 0.0 && self.reg_start.is_finite();
        let w = self.overrelax;
        let relax_ok = w == 0.0 || w == OVERRELAX_AUTO || (w > 0.0 && w < 2.0);
        let reg_ok = !use_reg
            || (self.reg > 0.0 && self.reg.is_finite() && scaling_ok && start_ok && relax_ok);
        if tol_ok && reg_ok && self.max_iter > 0 {
            Ok(())
        } else {
            Err(Error::Argument)
        }
    }

    /// The check period, never zero.
    pub fn period(&self) -> u32 {
        self.check_every.max(1)
    }
}
