//! Sinkhorn-Newton-Sparse on the SIMD kernels: [`kernels_core::sns`] with `Simd`
//! chosen, and its options and workspace query.

mod kernels;

use kernels_core::sns::{self as core_sns, SnsKernels};
pub use kernels_core::sns::{SnsOpts, SnsOutcome, sns_work_size};
use kernels_core::{Dense, Real, Result};

use crate::Simd;

/// Entropic optimal transport by Sinkhorn-Newton-Sparse
/// ([`kernels_core::sns::sns`] on the SIMD kernels).
///
/// ```
/// use kernels_core::Dense;
/// use kernels_simd::sns::{SnsOpts, sns, sns_work_size};
///
/// // Three points on a line to three points, squared distances.
/// let x = [0.0f64, 0.5, 1.0];
/// let c: Vec<f64> = x.iter().flat_map(|a| x.iter().map(move |b| (a - b) * (a - b))).collect();
/// let w = [1.0 / 3.0; 3];
/// let (mut f, mut g, mut plan) = ([0.0; 3], [0.0; 3], [0.0; 9]);
/// let opts = SnsOpts::default().reg(0.01).tol(1e-12);
/// let mut work = vec![0u8; sns_work_size::<f64>(3, 3, opts.density)?.bytes()];
/// let out = sns(Dense::new(&c, 3, 3)?, &w, &w, &opts, &mut f, &mut g, &mut plan, &mut work)?;
/// assert!(out.report.converged);
/// // Nearly all the mass stays put.
/// assert!(plan[0] + plan[4] + plan[8] > 0.99);
/// # Ok::<(), kernels_core::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn sns<T: Real>(
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &SnsOpts,
    f: &mut [T],
    g: &mut [T],
    plan: &mut [T],
    work: &mut [u8],
) -> Result<SnsOutcome>
where
    Simd: SnsKernels<T>,
{
    core_sns::sns::<T, Simd>(
        &crate::DefaultExec::default(),
        c,
        a,
        b,
        opts,
        f,
        g,
        plan,
        work,
    )
}
