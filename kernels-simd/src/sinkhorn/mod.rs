//! Matrix scaling and entropic optimal transport on the SIMD kernels: the solvers of
//! [`kernels_core::sinkhorn`] with `Simd` chosen, and their options and workspace
//! queries.

pub(crate) mod kernels;
pub(crate) mod lanes;
pub(crate) mod passes;

use kernels_core::sinkhorn::{self as core_sinkhorn, SinkhornKernels};
pub use kernels_core::sinkhorn::{
    SinkhornOpts, UnbalancedOpts, batch_work_size, points_work_size, scale_work_size,
    sinkhorn_work_size, unbalanced_work_size,
};
use kernels_core::{Dense, Real, Report, Result};

use crate::Simd;

/// Sinkhorn-Knopp scaling of a nonnegative `K`: positive `u`, `v` with
/// `diag(u) K diag(v)` having row sums `a` and column sums `b`
/// ([`kernels_core::sinkhorn::scale`] on the SIMD kernels).
///
/// ```
/// use kernels_core::Dense;
/// use kernels_simd::sinkhorn::{SinkhornOpts, scale, scale_work_size};
///
/// let k = [1.0f64, 2.0, 3.0, 4.0];
/// let (a, b) = ([0.5, 0.5], [0.5, 0.5]);
/// let (mut u, mut v) = ([0.0; 2], [0.0; 2]); // zeros: a cold start
/// let mut work = vec![0u8; scale_work_size::<f64>(2, 2)?.bytes()];
/// let opts = SinkhornOpts::default().tol(1e-12);
/// let rep = scale(Dense::new(&k, 2, 2)?, &a, &b, &opts, &mut u, &mut v, &mut work)?;
/// assert!(rep.converged);
/// let row0 = u[0] * (k[0] * v[0] + k[1] * v[1]);
/// assert!((row0 - 0.5).abs() < 1e-12);
/// # Ok::<(), kernels_core::Error>(())
/// ```
pub fn scale<T: Real>(
    k: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &SinkhornOpts,
    u: &mut [T],
    v: &mut [T],
    work: &mut [u8],
) -> Result<Report>
where
    Simd: SinkhornKernels<T>,
{
    core_sinkhorn::scale::<T, Simd>(&crate::DefaultExec::default(), k, a, b, opts, u, v, work)
}

/// Entropic optimal transport by log-domain Sinkhorn iterations on the dual
/// potentials `f`, `g` ([`kernels_core::sinkhorn::sinkhorn_log`] on the SIMD kernels).
///
/// ```
/// use kernels_core::Dense;
/// use kernels_simd::sinkhorn::{SinkhornOpts, sinkhorn_log, sinkhorn_work_size};
///
/// // Two points to two points; staying costs 0, moving costs 1.
/// let c = [0.0, 1.0, 1.0, 0.0];
/// let (a, b) = ([0.5, 0.5], [0.5, 0.5]);
/// let (mut f, mut g, mut plan) = ([0.0; 2], [0.0; 2], [0.0; 4]);
/// let mut work = vec![0u8; sinkhorn_work_size::<f64>(2, 2)?.bytes()];
/// let opts = SinkhornOpts::default().reg(0.25).tol(1e-12);
/// let c = Dense::new(&c, 2, 2)?;
/// let rep = sinkhorn_log(c, &a, &b, &opts, &mut f, &mut g, Some(&mut plan), &mut work)?;
/// assert!(rep.converged);
/// // The closed form: P = [[p, q], [q, p]] with p + q = 1/2 and p / q = e^(1 / reg).
/// let e = (1.0f64 / 0.25).exp();
/// assert!((plan[0] - 0.5 * e / (1.0 + e)).abs() < 1e-10);
/// # Ok::<(), kernels_core::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn sinkhorn_log<T: Real>(
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &SinkhornOpts,
    f: &mut [T],
    g: &mut [T],
    plan: Option<&mut [T]>,
    work: &mut [u8],
) -> Result<Report>
where
    Simd: SinkhornKernels<T>,
{
    core_sinkhorn::sinkhorn_log::<T, Simd>(
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

/// Unbalanced entropic optimal transport (KL penalties on the marginals, POT's
/// `sinkhorn_unbalanced` with `reg_type='kl'`) by log-domain Sinkhorn iterations
/// ([`kernels_core::sinkhorn::sinkhorn_unbalanced`] on the SIMD kernels).
///
/// ```
/// use kernels_core::Dense;
/// use kernels_simd::sinkhorn::{UnbalancedOpts, sinkhorn_unbalanced, unbalanced_work_size};
///
/// // One unit of mass against two: with penalty reg_m on each side, the plan's mass
/// // settles between them.
/// let c = [0.0, 1.0, 1.0, 0.0];
/// let (a, b) = ([0.5, 0.5], [1.0, 1.0]);
/// let (mut f, mut g, mut plan) = ([0.0; 2], [0.0; 2], [0.0; 4]);
/// let mut work = vec![0u8; unbalanced_work_size::<f64>(2, 2)?.bytes()];
/// let opts = UnbalancedOpts::default().reg(0.1).reg_m(1.0).tol(1e-12);
/// let c = Dense::new(&c, 2, 2)?;
/// let rep = sinkhorn_unbalanced(c, &a, &b, &opts, &mut f, &mut g, Some(&mut plan), &mut work)?;
/// assert!(rep.converged);
/// let mass: f64 = plan.iter().sum();
/// assert!(mass > 1.0 && mass < 2.0);
/// # Ok::<(), kernels_core::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn sinkhorn_unbalanced<T: Real>(
    c: Dense<'_, T>,
    a: &[T],
    b: &[T],
    opts: &UnbalancedOpts,
    f: &mut [T],
    g: &mut [T],
    plan: Option<&mut [T]>,
    work: &mut [u8],
) -> Result<Report>
where
    Simd: SinkhornKernels<T>,
{
    core_sinkhorn::sinkhorn_unbalanced::<T, Simd>(
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

/// A batch of log-domain Sinkhorn problems of one size, each bit-identical to its own
/// [`sinkhorn_log`] call, the problems spread over the thread pool
/// ([`kernels_core::sinkhorn::sinkhorn_batch`] on the SIMD kernels). Returns whether
/// every problem converged.
#[allow(clippy::too_many_arguments)]
pub fn sinkhorn_batch<T: Real>(
    dims: (usize, usize, usize),
    c: &[T],
    a: &[T],
    b: &[T],
    opts: &SinkhornOpts,
    f: &mut [T],
    g: &mut [T],
    plan: Option<&mut [T]>,
    work: &mut [u8],
    reports: Option<&mut [Report]>,
) -> Result<bool>
where
    Simd: SinkhornKernels<T>,
{
    core_sinkhorn::sinkhorn_batch::<T, Simd, Report>(
        &crate::DefaultExec::default(),
        dims,
        c,
        a,
        b,
        opts,
        f,
        g,
        plan,
        work,
        reports,
    )
}

/// Entropic optimal transport between the point clouds `x` (`n x d`) and `y` (`m x
/// d`) with the cost `|x_i - y_j|^2` computed on the fly, never stored
/// ([`kernels_core::sinkhorn::sinkhorn_points`] on the SIMD kernels and the thread
/// pool).
///
/// ```
/// use kernels_simd::sinkhorn::{SinkhornOpts, points_work_size, sinkhorn_points};
///
/// // Two points on a line to two points shifted by 0.1: most mass goes to the neighbour.
/// let (x, y) = ([0.0f64, 1.0], [0.1, 1.1]);
/// let (a, b) = ([0.5, 0.5], [0.5, 0.5]);
/// let (mut f, mut g) = ([0.0; 2], [0.0; 2]);
/// let mut work = vec![0u8; points_work_size::<f64>(2, 2, 1)?.bytes()];
/// let (reg, opts) = (0.25, SinkhornOpts::default().reg(0.25).tol(1e-12));
/// let rep = sinkhorn_points((2, 2, 1), &x, &y, &a, &b, &opts, &mut f, &mut g, &mut work)?;
/// assert!(rep.converged);
/// // The plan from the potentials: P_00 = exp((f_0 + g_0 - 0.01) / reg).
/// let p00 = ((f[0] + g[0] - 0.01f64) / reg).exp();
/// assert!(p00 > 0.4 && p00 < 0.5);
/// assert!(rep.value > 0.01 && rep.value < 0.1);
/// # Ok::<(), kernels_core::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn sinkhorn_points<T: Real>(
    dims: (usize, usize, usize),
    x: &[T],
    y: &[T],
    a: &[T],
    b: &[T],
    opts: &SinkhornOpts,
    f: &mut [T],
    g: &mut [T],
    work: &mut [u8],
) -> Result<Report>
where
    Simd: SinkhornKernels<T>,
{
    core_sinkhorn::sinkhorn_points::<T, Simd>(
        &crate::DefaultExec::default(),
        dims,
        x,
        y,
        a,
        b,
        opts,
        f,
        g,
        work,
    )
}
