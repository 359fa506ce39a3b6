//! The options of a CG solve.

use crate::{Error, Result};

/// A preconditioner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Precond {
    /// None: plain CG.
    None,
    /// Jacobi: `M = diag(A)`.
    Jacobi,
    /// SSOR with relaxation `omega` in `(0, 2)`:
    /// `M = (D/w + L) D^-1 (D/w + U) w / (2 - w)`.
    Ssor {
        /// The relaxation factor.
        omega: f64,
    },
}

impl Precond {
    /// The preconditioner for a C code (`omega` is read for SSOR only), or
    /// [`Error::Argument`] for an unknown code or an SSOR `omega` outside `(0, 2)`.
    pub fn from_code(code: i32, omega: f64) -> Result<Precond> {
        match code {
            0 => Ok(Precond::None),
            1 => Ok(Precond::Jacobi),
            2 if omega > 0.0 && omega < 2.0 => Ok(Precond::Ssor { omega }),
            _ => Err(Error::Argument),
        }
    }
}

/// The options of [`cg`](super::cg).
///
/// Build it from [`Default`] and the setters, e.g.
/// `CgOpts::default().tol(1e-10).precond(Precond::None)`: the struct is
/// `#[non_exhaustive]` so that options can be added without breaking callers. The
/// fields stay readable.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct CgOpts {
    /// Stop when `||b - A x|| / ||b|| <= tol`; positive and finite.
    pub tol: f64,
    /// The most iterations; positive.
    pub max_iter: u32,
    /// The preconditioner.
    pub precond: Precond,
}

impl Default for CgOpts {
    /// `tol = 1e-8`, `max_iter = 1000`, `precond = Precond::Jacobi`.
    fn default() -> Self {
        CgOpts {
            tol: 1e-8,
            max_iter: 1000,
            precond: Precond::Jacobi,
        }
    }
}

impl CgOpts {
    /// Sets `tol`, the relative residual to stop at.
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

    /// Sets `precond`, the preconditioner.
    #[must_use]
    pub fn precond(mut self, precond: Precond) -> Self {
        self.precond = precond;
        self
    }

    /// [`Error::Argument`] unless `tol` is positive and finite, `max_iter` positive
    /// and an SSOR `omega` in `(0, 2)`.
    pub(crate) fn check(&self) -> Result<()> {
        let tol_ok = self.tol > 0.0 && self.tol.is_finite();
        let omega_ok = match self.precond {
            Precond::Ssor { omega } => omega > 0.0 && omega < 2.0,
            Precond::None | Precond::Jacobi => true,
        };
        if tol_ok && self.max_iter > 0 && omega_ok {
            Ok(())
        } else {
            Err(Error::Argument)
        }
    }
}
