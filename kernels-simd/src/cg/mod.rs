//! Preconditioned conjugate gradients on the SIMD kernels: [`kernels_core::cg`] with
//! `Simd` chosen, and its options and workspace query.

mod kernels;
pub(crate) mod passes;

use kernels_core::cg::{self as core_cg, CgKernels};
pub use kernels_core::cg::{CgOpts, Precond, cg_work_size};
use kernels_core::{Real, Report, Result, SquareCsr};

use crate::Simd;

/// Solves `A x = b` for a symmetric positive definite `A` by preconditioned conjugate
/// gradients from the guess in `x` ([`kernels_core::cg::cg`] on the SIMD kernels).
///
/// ```
/// use kernels_core::SquareCsr;
/// use kernels_simd::cg::{CgOpts, Precond, cg, cg_work_size};
///
/// // The 1D Laplacian of order 3: [[2, -1, 0], [-1, 2, -1], [0, -1, 2]].
/// let indptr = [0, 2, 5, 7];
/// let indices = [0, 1, 0, 1, 2, 1, 2];
/// let values = [2.0f64, -1.0, -1.0, 2.0, -1.0, -1.0, 2.0];
/// let a = SquareCsr::new(3, &indptr, &indices, &values)?;
/// let b = [1.0, 0.0, 1.0];
/// let mut x = [0.0; 3];
/// let mut work = vec![0u8; cg_work_size::<f64>(3)?.bytes()];
/// let opts = CgOpts::default().tol(1e-12).precond(Precond::Jacobi);
/// let rep = cg(&a, &b, &mut x, &opts, &mut work)?;
/// assert!(rep.converged);
/// assert!(x.iter().all(|&xi| (xi - 1.0).abs() < 1e-10)); // x = (1, 1, 1)
/// # Ok::<(), kernels_core::Error>(())
/// ```
pub fn cg<T: Real>(
    a: &SquareCsr<'_, T>,
    b: &[T],
    x: &mut [T],
    opts: &CgOpts,
    work: &mut [u8],
) -> Result<Report>
where
    Simd: CgKernels<T>,
{
    core_cg::cg::<T, Simd>(&crate::DefaultExec::default(), a, b, x, opts, work)
}
