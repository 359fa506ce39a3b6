//! SOR on the SIMD kernels: the sweeps and solves of [`kernels_core::sor`] with `Simd`
//! chosen, and the rest of that family (the sweep kinds, the omega tuner).

mod kernels;
pub(crate) mod red_black;

use kernels_core::sor::{self as core_sor, SorKernels};
pub use kernels_core::sor::{OmegaTuner, Sweep, sor_solve_work_size};
use kernels_core::{Real, Report, Result, SquareCsr};

use crate::Simd;

/// `sweeps` SOR sweeps of the given kind on `A x = b`, in place
/// ([`kernels_core::sor::sor_csr`] on the SIMD kernels).
///
/// ```
/// use kernels_core::SquareCsr;
/// use kernels_simd::sor::{Sweep, sor_csr};
///
/// // [[4, -1], [-1, 4]] x = [3, 3] has x = (1, 1).
/// let (indptr, indices, values) = ([0, 2, 4], [0, 1, 0, 1], [4.0f64, -1.0, -1.0, 4.0]);
/// let a = SquareCsr::new(2, &indptr, &indices, &values)?;
/// let mut x = [0.0; 2];
/// sor_csr(&a, &[3.0, 3.0], &mut x, 1.1, Sweep::Symmetric, 30)?;
/// assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12);
/// # Ok::<(), kernels_core::Error>(())
/// ```
pub fn sor_csr<T: Real>(
    a: &SquareCsr<'_, T>,
    b: &[T],
    x: &mut [T],
    omega: T,
    sweep: Sweep,
    sweeps: u32,
) -> Result<()>
where
    Simd: SorKernels<T>,
{
    core_sor::sor_csr::<T, Simd>(a, b, x, omega, sweep, sweeps)
}

/// Forward SOR sweeps on `A x = b` until the relative residual is at most `tol`
/// ([`kernels_core::sor::sor_solve`] on the SIMD kernels).
///
/// ```
/// use kernels_core::SquareCsr;
/// use kernels_simd::sor::sor_solve;
///
/// let (indptr, indices, values) = ([0, 2, 4], [0, 1, 0, 1], [4.0f64, -1.0, -1.0, 4.0]);
/// let a = SquareCsr::new(2, &indptr, &indices, &values)?;
/// let mut x = [0.0; 2];
/// let rep = sor_solve(&a, &[3.0, 3.0], &mut x, 1.05, 1e-12, 100)?;
/// assert!(rep.converged && rep.error <= 1e-12);
/// # Ok::<(), kernels_core::Error>(())
/// ```
pub fn sor_solve<T: Real>(
    a: &SquareCsr<'_, T>,
    b: &[T],
    x: &mut [T],
    omega: T,
    tol: f64,
    max_iter: u32,
) -> Result<Report>
where
    Simd: SorKernels<T>,
{
    core_sor::sor_solve::<T, Simd>(a, b, x, omega, tol, max_iter)
}

/// `sweeps` red-black SOR sweeps for `(4 + shift) I - neighbours` on an `nx x ny`
/// grid with zero Dirichlet boundary, `x[i * nx + j]`, in place
/// ([`kernels_core::sor::sor_grid2d`] on the SIMD kernels and the default executor).
///
/// ```
/// use kernels_simd::sor::sor_grid2d;
///
/// // b = A 1 on a 16 x 8 grid: the sweeps converge to x = 1.
/// let (nx, ny) = (16, 8);
/// let b: Vec<f64> = (0..nx * ny)
///     .map(|p| {
///         let (i, j) = (p / nx, p % nx);
///         let inner = [i > 0, i + 1 < ny, j > 0, j + 1 < nx].iter().filter(|&&n| n).count();
///         4.0 - inner as f64
///     })
///     .collect();
/// let mut x = vec![0.0; nx * ny];
/// sor_grid2d(nx, ny, 0.0, &b, &mut x, 1.6, 200)?;
/// assert!(x.iter().all(|&v| (v - 1.0).abs() < 1e-9));
/// # Ok::<(), kernels_core::Error>(())
/// ```
pub fn sor_grid2d<T: Real>(
    nx: usize,
    ny: usize,
    shift: T,
    b: &[T],
    x: &mut [T],
    omega: T,
    sweeps: u32,
) -> Result<()>
where
    Simd: SorKernels<T>,
{
    core_sor::sor_grid2d::<T, Simd>(
        &crate::DefaultExec::default(),
        nx,
        ny,
        shift,
        b,
        x,
        omega,
        sweeps,
    )
}
