//! SOR: successive over-relaxation sweeps on CSR matrices and on the 5-point grid,
//! SOR iteration to a tolerance, and an online tuner that learns the relaxation
//! factor omega across a sequence of related systems.
//!
//! - Sweeps run on a [`SquareCsr`](crate::SquareCsr), validated once (structure, a
//!   nonzero diagonal in every row, finite values). [`sweep_once`] is the one sweep implementation
//!   (forward or backward); [`sor_csr`] (any number of forward, backward or
//!   symmetric sweeps), [`sor_solve`] and the SSOR preconditioner [`ssor_apply`]
//!   are built on it.
//! - [`sor_grid2d`]: red-black SOR for `(4 + shift) I - neighbours` on an
//!   `nx x ny` grid with zero Dirichlet boundary, one streaming pass per sweep.
//! - [`OmegaTuner`]: Tsallis-INF over a grid of omegas, or a contextual bandit
//!   (ChebCB) over the same grid; fixed size, seeded, deterministic.

mod grid;
mod kernels;
mod solve;
mod sweep;
mod tuner;

pub use grid::{grid_coefficients, grid_sweep, sor_grid2d};
pub use kernels::SorKernels;
pub use solve::{residual_norm, sor_solve, sor_solve_work_size};
pub use sweep::{Sweep, sor_csr, ssor_apply, sweep_once};
pub use tuner::{
    OMEGA_TUNER_MAX_ARMS, OMEGA_TUNER_WORDS, OmegaTuner, TunerWords, tuner_feedback, tuner_init,
    tuner_init_contextual, tuner_next,
};

use crate::{Error, Real, Result};

/// [`Error::Argument`] unless `0 < omega < 2` (the range where SOR converges for
/// symmetric positive definite matrices); NaN is refused too.
pub(crate) fn check_omega<T: Real>(omega: T) -> Result<()> {
    if omega > T::zero() && omega < T::of(2.0) {
        Ok(())
    } else {
        Err(Error::Argument)
    }
}
