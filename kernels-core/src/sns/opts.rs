//! The options of an SNS solve.

use crate::{Error, Result};

/// Options of [`sns`](super::sns).
///
/// Build it from [`Default`] and the setters, e.g.
/// `SnsOpts::default().reg(1.0 / 1200.0).tol(1e-12)`: the struct is
/// `#[non_exhaustive]` so that options can be added without breaking callers. The
/// fields stay readable.
///
/// # Work cap
///
/// A solve does at most `sinkhorn_iters` Sinkhorn iterations, then at most
/// `max_newton` Newton-stage steps. Each step builds the sparse Newton system
/// (`O(n m)`), runs at most `cg_max_iter` CG iterations on it (each `O(kept entries)`)
/// and evaluates the dual at up to 31 line-search points (`O(n m)` each), or one
/// Sinkhorn iteration when the search fails. The CG work is bounded only by the
/// product: at most `max_newton * cg_max_iter` CG iterations in all (with the defaults,
/// `100 * (n + m)`; `cg_max_iter = 3e9` with `max_newton = 100` allows `3e11`). There
/// is no separate cap on the total: bound the run time by choosing the two factors.
/// The report's counters saturate at `u32::MAX` when a sum exceeds it.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct SnsOpts {
    /// Entropic regularisation `eps`, positive and finite.
    pub reg: f64,
    /// Stop when the L1 marginal error is at most `tol` (`tol > 0`).
    pub tol: f64,
    /// Sinkhorn iterations before the Newton stage (the paper's `N1`); may be 0.
    pub sinkhorn_iters: u32,
    /// The most Newton steps (each either a Newton step or, when the line search
    /// rejects it, a Sinkhorn iteration); may be 0. The CG work of a solve is at most
    /// `max_newton * cg_max_iter` iterations (see "Work cap" above).
    pub max_newton: u32,
    /// The most plan entries kept in the sparsified Hessian, as a fraction of
    /// `n * m`, in `(0, 1]`; 0 means the default `max(0.1, 8 / min(n, m))` (at most
    /// 1). Below this cap the solver keeps only the largest entries holding all but
    /// `1e-15` of the plan's mass. The cap must cover the plan's effective support:
    /// dropping entries that carry mass makes Newton converge only linearly.
    pub density: f64,
    /// CG iterations per Newton step; 0 means the default `n + m`. A cap per step, not
    /// per solve: the solve may run `max_newton` times as many.
    pub cg_max_iter: u32,
    /// Relative residual of the Newton system; 0 means the default (`1e-10` in
    /// `f64`, `1e-5` in `f32`).
    pub cg_tol: f64,
}

impl Default for SnsOpts {
    /// `reg = 0.05`, `tol = 1e-9` (as [`SinkhornOpts`](crate::sinkhorn::SinkhornOpts)),
    /// `sinkhorn_iters = 20`, `max_newton = 100`, and 0 (the defaults described on
    /// each field) for `density`, `cg_max_iter` and `cg_tol`.
    fn default() -> Self {
        SnsOpts {
            reg: 0.05,
            tol: 1e-9,
            sinkhorn_iters: 20,
            max_newton: 100,
            density: 0.0,
            cg_max_iter: 0,
            cg_tol: 0.0,
        }
    }
}

impl SnsOpts {
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

    /// Sets `sinkhorn_iters`, the Sinkhorn iterations before
    /// the Newton stage.
    #[must_use]
    pub fn sinkhorn_iters(mut self, sinkhorn_iters: u32) -> Self {
        self.sinkhorn_iters = sinkhorn_iters;
        self
    }

    /// Sets `max_newton`, the cap on Newton-stage steps.
    #[must_use]
    pub fn max_newton(mut self, max_newton: u32) -> Self {
        self.max_newton = max_newton;
        self
    }

    /// Sets `density`, the cap on kept plan entries as a fraction of
    /// `n * m` (0: the default).
    #[must_use]
    pub fn density(mut self, density: f64) -> Self {
        self.density = density;
        self
    }

    /// Sets `cg_max_iter`, the CG iterations per Newton step
    /// (0: `n + m`).
    #[must_use]
    pub fn cg_max_iter(mut self, cg_max_iter: u32) -> Self {
        self.cg_max_iter = cg_max_iter;
        self
    }

    /// Sets `cg_tol`, the relative residual of the Newton system (0:
    /// the default of the type).
    #[must_use]
    pub fn cg_tol(mut self, cg_tol: f64) -> Self {
        self.cg_tol = cg_tol;
        self
    }

    /// [`Error::Argument`] unless `reg` and `tol` are positive (and `reg` finite),
    /// `density` is 0 or in `(0, 1]`, `cg_tol` is 0 or in `(0, 1)`, and at least
    /// one iteration of either stage is allowed.
    pub(crate) fn check(&self) -> Result<()> {
        let reg_ok = self.reg > 0.0 && self.reg.is_finite();
        let density_ok = self.density == 0.0 || (self.density > 0.0 && self.density <= 1.0);
        let cg_tol_ok = self.cg_tol == 0.0 || (self.cg_tol > 0.0 && self.cg_tol < 1.0);
        let some_work = self.sinkhorn_iters > 0 || self.max_newton > 0;
        if reg_ok && self.tol > 0.0 && density_ok && cg_tol_ok && some_work {
            Ok(())
        } else {
            Err(Error::Argument)
        }
    }
}

/// The most plan entries kept for `density` (0 meaning the default
/// `max(0.1, 8 / min(n, m))`): `ceil(density * n * m)`, at least 1 and at most
/// `n * m`.
/// [`Error::Argument`] for a density outside `[0, 1]`, [`Error::Dimension`] for an
/// empty or overflowing `n * m`.
pub(crate) fn kept_entries(n: usize, m: usize, density: f64) -> Result<usize> {
    let total = n
        .checked_mul(m)
        .filter(|&t| t > 0)
        .ok_or(Error::Dimension)?;
    if !(0.0..=1.0).contains(&density) {
        return Err(Error::Argument);
    }
    // The default is generous: the cap costs workspace (24 bytes per kept entry
    // in f64), not time, since entries without mass are left out below it. A tenth
    // of the plan covers the support of entropic plans at small eps on the problems
    // measured (random assignment: about 8 entries per row; W2 on a 32x32 grid:
    // about 8%); 8 per row covers small problems.
    let density = if density == 0.0 {
        f64::max(0.1, 8.0 / n.min(m) as f64)
    } else {
        density
    };
    // The product is at most n * m as a float; the cast saturates.
    let kept = libm::ceil(density * total as f64) as usize;
    Ok(kept.clamp(1, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_entries_default_and_limits() {
        assert_eq!(kept_entries(500, 500, 0.0), Ok(25_000));
        assert_eq!(kept_entries(40, 50, 0.0), Ok(400));
        assert_eq!(kept_entries(2, 3, 0.0), Ok(6));
        assert_eq!(kept_entries(10, 10, 1e-9), Ok(1));
        assert_eq!(kept_entries(10, 10, 1.0), Ok(100));
        assert_eq!(kept_entries(10, 10, 1.5), Err(Error::Argument));
        assert_eq!(kept_entries(10, 10, f64::NAN), Err(Error::Argument));
        assert_eq!(kept_entries(0, 10, 0.5), Err(Error::Dimension));
    }
}
