//! Entropic optimal transport between two point clouds, with the cost
//! `C_ij = |x_i - y_j|^2` computed row by row as the passes need it and never
//! stored: the `n x m` matrix a dense call would take is what this mode avoids.
//!
//! The solver is [`sinkhorn_log`](super::sinkhorn_log)'s (the same half-steps, loop
//! and report) on a [`Points`] cost instead of a [`Dense`](crate::Dense) one. Each
//! iteration computes every cost entry once (in the fused f-update; the g-update
//! works from the column sums that pass leaves) and `<P, C>` at the end once more.
//! Workspace: `O((n + m) (d + 1))` values plus the row tiles' scratch, which
//! [`POINT_TILE_BYTES`](super::cost::POINT_TILE_BYTES) bounds.

use super::cost::{Points, cost_bound, point_tiles};
use super::solve_log::{Scheme, Stop, absorbs, log_work_size, run};
use super::{SinkhornKernels, SinkhornOpts, check};
use crate::{Error, Exec, Real, Report, Result, Workspace, WorkspaceSize, checked_product};

/// [`Error::Dimension`] unless `n`, `m`, `d` are nonzero and `(n + m) d` values can
/// exist.
fn point_dims<T: Real>(n: usize, m: usize, d: usize) -> Result<()> {
    if n == 0 || m == 0 || d == 0 {
        return Err(Error::Dimension);
    }
    let rows = n.checked_add(m).ok_or(Error::Dimension)?;
    WorkspaceSize::new().array::<T>(checked_product(&[rows, d])?)?;
    Ok(())
}

/// Workspace bytes [`sinkhorn_points`] needs for `n` points against `m` in `d`
/// dimensions: `y` transposed (`m d`), the log-domain solver's `O(n + m)` vectors
/// with a cost row, and the row tiles' scratch (at most
/// [`POINT_TILE_BYTES`](super::cost::POINT_TILE_BYTES) beyond the first tile).
/// [`Error::Dimension`] if a size is zero or a size overflows.
pub fn points_work_size<T: Real>(n: usize, m: usize, d: usize) -> Result<WorkspaceSize> {
    point_dims::<T>(n, m, d)?;
    WorkspaceSize::new()
        .array::<T>(m * d)?
        .then(log_work_size::<T>(n, m, m, point_tiles::<T>(n, m))?)
}

/// Solves `min <P, C> + eps sum P (log P - 1)` subject to `P 1 = a`, `P^T 1 = b` for
/// the cost `C_ij = |x_i - y_j|^2` between the points `x` (`n x d`, row-major) and
/// `y` (`m x d`), as [`sinkhorn_log`](super::sinkhorn_log) solves it for a stored
/// `C`, without a plan output (the potentials give it:
/// `P_ij = exp((f_i + g_j - C_ij) / eps)`).
///
/// `f` (n) and `g` (m) are in/out: any finite values warm-start (zeros are the cold
/// start). Report: as [`sinkhorn_log`](super::sinkhorn_log)'s, `value` = `<P, C>`
/// computed on the fly.
///
/// Errors, all before anything is written: [`Error::Dimension`] (`n`, `m` or `d`
/// zero, `(n + m) d` overflowing, a length disagreeing), [`Error::Workspace`]
/// (`work` shorter than [`points_work_size`]), [`Error::Argument`] (options, among
/// them [`Method::Absorb`](super::Method::Absorb) and a nonzero `eps_scaling`, or `a`,
/// `b` not positive or with different sums), [`Error::NonFinite`] (NaN or infinity
/// in `x`, `y`, `a`, `b`, `f` or `g`), [`Error::Numerical`] (a bound of `max C / reg`,
/// from the clouds' bounding boxes, overflowing `T`). [`Error::Numerical`] during the
/// iteration leaves the last finite iterate in `f` and `g`.
///
/// The passes run in row tiles fixed by `n`, `m` and `T` through `exec`: the result
/// does not depend on the executor. With the same tiles (up to
/// [`POINT_TILE_BYTES`](super::cost::POINT_TILE_BYTES) of tile scratch) and the same
/// cost entries, the iterates are those of [`sinkhorn_log`](super::sinkhorn_log) on
/// the explicit matrix.
#[allow(clippy::too_many_arguments)]
pub fn sinkhorn_points<T: Real, P: SinkhornKernels<T>>(
    exec: &impl Exec,
    (n, m, d): (usize, usize, usize),
    x: &[T],
    y: &[T],
    a: &[T],
    b: &[T],
    opts: &SinkhornOpts,
    f: &mut [T],
    g: &mut [T],
    work: &mut [u8],
) -> Result<Report> {
    let need = points_work_size::<T>(n, m, d)?;
    let lengths_ok = x.len() == n * d
        && y.len() == m * d
        && a.len() == n
        && f.len() == n
        && b.len() == m
        && g.len() == m;
    if !lengths_ok {
        return Err(Error::Dimension);
    }
    if work.len() < need.bytes() {
        return Err(Error::Workspace);
    }
    opts.check(true)?;
    // No plan buffer for absorption's kernel, and epsilon scaling is a dense-matrix
    // option (its schedule starts from max|C|): both are refused here.
    if opts.eps_scaling != 0.0 {
        return Err(Error::Argument);
    }
    absorbs(opts, false)?;
    check::finite(&[x, y, a, b, f, g])?;
    check::marginals(a, b)?;
    let eps = check::regularisation_of(T::of(cost_bound(x, y, d)), opts.reg)?;

    let (head, rest) = work.split_at_mut(WorkspaceSize::new().array::<T>(m * d)?.bytes());
    let yt = Workspace::new(head).take::<T>(m * d)?;
    Points::transpose(y, d, yt);
    let cost = Points::new(x, &*yt, d).ok_or(Error::Internal)?;
    let scheme = Scheme {
        exponents: [T::one(); 2],
        stop: Stop::Marginals,
    };
    run::<T, P, _>(
        exec,
        cost,
        a,
        b,
        eps,
        opts,
        scheme,
        f,
        g,
        None,
        rest,
        &mut |_| {},
    )
}
