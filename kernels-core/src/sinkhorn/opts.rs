//! The options both solvers take.

use crate::{Error, Result};

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
}

impl Default for SinkhornOpts {
    /// `reg = 0.05`, `tol = 1e-9`, `max_iter = 1000`, `check_every = 10`.
    fn default() -> Self {
        SinkhornOpts {
            reg: 0.05,
            tol: 1e-9,
            max_iter: 1000,
            check_every: 10,
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

    /// [`Error::Argument`] unless `tol > 0` and `max_iter > 0` (and, when `use_reg`,
    /// `reg` is positive and finite).
    /// Public so that other backends (CUDA) validate exactly as the host solvers do.
    pub fn check(&self, use_reg: bool) -> Result<()> {
        // Written so that NaN fails every comparison.
        let tol_ok = self.tol > 0.0;
        let reg_ok = !use_reg || (self.reg > 0.0 && self.reg.is_finite());
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
