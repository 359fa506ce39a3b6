//! Batches of independent transport problems of one size.
//!
//! Problem `p` of a batch is exactly the call [`sinkhorn_log`](super::sinkhorn_log)
//! would make on its slices: the same validation and the same iteration
//! ([`run`] on one problem, row tiles fixed by `n`), so its potentials, plan and
//! report are bit-identical to a separate call's. What the batch saves is per-call
//! work: one workspace and one option check for all problems, and the problems spread
//! over the executor (threads in `std` builds) in fixed contiguous runs, each run with
//! its own piece of the workspace. Small problems go through the iteration several
//! at a time, one per vector lane ([`lanes`](super::lanes)), still each bit-identical
//! to its own call.

use super::lanes::{self, Group, MAX_LANES};
use super::solve_log::{Scheme, Stop, absorbs, run_dense, sinkhorn_work_size, values};
use super::{SinkhornKernels, SinkhornOpts, check};
use crate::{Dense, Error, Exec, Real, Report, Result, Sequential, Workspace, WorkspaceSize};
use crate::{checked_product, tiles_per_slot};

/// Runs of problems (each with its own workspace piece) at most.
pub const BATCH_SLOTS: usize = 64;

/// Workspace bytes [`sinkhorn_batch`] needs for `batch` problems of `n x m`: one
/// piece per run of problems. Problems small enough to run side by side (one per
/// vector lane, see [`SinkhornKernels::batch_lanes`](super::SinkhornKernels::batch_lanes))
/// come in runs of a multiple of 16 problems (the most lanes: `f32` in 512 bits),
/// each piece holding that many problems' costs interleaved; otherwise
/// `min(batch, BATCH_SLOTS)` runs of one [`sinkhorn_work_size`] each.
/// [`Error::Dimension`] if a size is zero or `batch x n x m` values cannot exist.
pub fn batch_work_size<T: Real>(batch: usize, n: usize, m: usize) -> Result<WorkspaceSize> {
    if batch == 0 {
        return Err(Error::Dimension);
    }
    check::matrix_size::<T>(n, m)?;
    WorkspaceSize::new().array::<T>(checked_product(&[batch, n, m])?)?;
    let (per_run, piece) = run_layout::<T>(batch, n, m)?;
    piece.times(batch.div_ceil(per_run))
}

/// Problems per run, and the workspace of one run.
fn run_layout<T: Real>(batch: usize, n: usize, m: usize) -> Result<(usize, WorkspaceSize)> {
    let single = sinkhorn_work_size::<T>(n, m)?;
    let per_run = tiles_per_slot(batch, BATCH_SLOTS);
    if !lanes::eligible(n, m) {
        return Ok((per_run, single));
    }
    let side = lanes::work_len(n, m, MAX_LANES).ok_or(Error::Dimension)?;
    let piece = single.max(WorkspaceSize::new().array::<T>(side)?);
    Ok((per_run.next_multiple_of(MAX_LANES), piece))
}

/// Solves `batch` balanced problems of size `n x m` as
/// [`sinkhorn_log`](super::sinkhorn_log) solves one, with the same `opts` for all:
/// problem `p` has the cost `c[p n m..][..n m]` (row-major), marginals
/// `a[p n..][..n]`, `b[p m..][..m]`, potentials `f[p n..][..n]`, `g[p m..][..m]`
/// (in/out), and, when given, `plan[p n m..][..n m]` and `reports[p]`.
///
/// Each problem converges on its own (its own iteration count and flag in its
/// report). Returns whether every problem converged. Results are bit-identical to
/// `batch` separate [`sinkhorn_log`](super::sinkhorn_log) calls, whatever the
/// executor.
///
/// Errors, all before anything is written: [`Error::Dimension`] (`batch`, `n` or `m`
/// zero, a length disagreeing with them), [`Error::Workspace`] (`work` shorter than
/// [`batch_work_size`]), [`Error::Argument`] for epsilon scaling (not batched),
/// then [`sinkhorn_log`](super::sinkhorn_log)'s option and value errors for any
/// problem. [`Error::Numerical`] during the iteration of a
/// problem (a potential overflowed) leaves that problem as a separate call would
/// (its last finite `f`, `g`; its plan and report untouched); the other problems are
/// solved and written, and the error of the first such problem is returned (with
/// absorption, that problem's plan holds its kernel).
#[allow(clippy::too_many_arguments)]
pub fn sinkhorn_batch<T: Real, P: SinkhornKernels<T>, R: From<Report> + Send>(
    exec: &impl Exec,
    (batch, n, m): (usize, usize, usize),
    c: &[T],
    a: &[T],
    b: &[T],
    opts: &SinkhornOpts,
    f: &mut [T],
    g: &mut [T],
    plan: Option<&mut [T]>,
    work: &mut [u8],
    reports: Option<&mut [R]>,
) -> Result<bool> {
    let need = batch_work_size::<T>(batch, n, m)?;
    let nm = n * m;
    let lengths_ok = c.len() == batch * nm
        && a.len() == batch * n
        && f.len() == batch * n
        && b.len() == batch * m
        && g.len() == batch * m
        && plan.as_ref().is_none_or(|p| p.len() == batch * nm)
        && reports.as_ref().is_none_or(|r| r.len() == batch);
    if !lengths_ok {
        return Err(Error::Dimension);
    }
    if work.len() < need.bytes() {
        return Err(Error::Workspace);
    }
    opts.check(true)?;
    // Epsilon scaling is a sequence of solves per problem, and over-relaxation is
    // not in the side-by-side kernels: neither is batched.
    if opts.eps_scaling != 0.0 || opts.overrelax != 0.0 {
        return Err(Error::Argument);
    }
    let absorb = absorbs(opts, plan.is_some())?;
    let problems = c
        .chunks_exact(nm)
        .zip(a.chunks_exact(n))
        .zip(b.chunks_exact(m))
        .zip(f.chunks_exact(n).zip(g.chunks_exact(m)));
    for (((cp, ap), bp), (fp, gp)) in problems {
        values(Dense::new(cp, n, m)?, ap, bp, fp, gp, opts.reg)?;
    }

    // Runs of `per_run` consecutive problems, one workspace piece each.
    let (per_run, piece) = run_layout::<T>(batch, n, m)?;
    let piece = piece.bytes();
    let mut plans = plan.map(|p| p.chunks_mut(per_run * nm));
    let mut reps = reports.map(|r| r.chunks_mut(per_run));
    let mut results = [(true, None::<Error>); BATCH_SLOTS];
    let runs = c
        .chunks(per_run * nm)
        .zip(a.chunks(per_run * n))
        .zip(b.chunks(per_run * m))
        .zip(f.chunks_mut(per_run * n))
        .zip(g.chunks_mut(per_run * m))
        .zip(core::iter::from_fn(|| {
            Some(plans.as_mut().and_then(Iterator::next))
        }))
        .zip(core::iter::from_fn(|| {
            Some(reps.as_mut().and_then(Iterator::next))
        }))
        .zip(work.chunks_mut(piece))
        .zip(results.iter_mut())
        .map(
            |((((((((c, a), b), f), g), plan), reps), work), result)| Run {
                c,
                a,
                b,
                f,
                g,
                plan,
                reps,
                work,
                result,
            },
        );
    let ops = batch.saturating_mul(nm).saturating_mul(8);
    let scheme = Scheme {
        exponents: [T::one(); 2],
        stop: Stop::Marginals,
    };
    if batch <= per_run {
        // One run: its problems' row tiles may use the executor instead (the tiles
        // are fixed by n, so the results are the same).
        for r in runs {
            r.solve::<P>(exec, (n, m), opts, (scheme, absorb))?;
        }
    } else {
        exec.for_each(ops, runs, |_, r| {
            r.solve::<P>(&Sequential, (n, m), opts, (scheme, absorb))
        })?;
    }
    results
        .iter()
        .try_fold(true, |all, &(converged, error)| match error {
            Some(e) => Err(e),
            None => Ok(all && converged),
        })
}

/// A run of consecutive problems of a batch with its workspace piece: the slices of
/// its problems, and its outcome (all converged, the first error).
struct Run<'a, T, R> {
    c: &'a [T],
    a: &'a [T],
    b: &'a [T],
    f: &'a mut [T],
    g: &'a mut [T],
    plan: Option<&'a mut [T]>,
    reps: Option<&'a mut [R]>,
    work: &'a mut [u8],
    result: &'a mut (bool, Option<Error>),
}

impl<T: Real, R: From<Report>> Run<'_, T, R> {
    /// Solves the run's problems one after the other, each row pass through `inner`.
    fn solve<P: SinkhornKernels<T>>(
        self,
        inner: &impl Exec,
        (n, m): (usize, usize),
        opts: &SinkhornOpts,
        (scheme, absorb): (Scheme<T>, bool),
    ) -> Result<()> {
        let Run {
            c,
            a,
            b,
            f,
            g,
            mut plan,
            mut reps,
            work,
            result,
        } = self;
        let nm = n * m;
        let eps = T::of(opts.reg);
        let lanes = P::batch_lanes(m);
        // The lanes repeat the log-domain call's arithmetic, not absorption's.
        let side = !absorb && lanes > 1 && lanes <= MAX_LANES && lanes::eligible(n, m);
        let count = f.len() / n;
        let mut q = 0;
        while q < count {
            // The next `lanes` problems side by side where there are that many; the
            // rest (and any problem the side-by-side run dropped) one by one.
            let width = if side && q + lanes <= count { lanes } else { 1 };
            let mut solved = 0u64;
            let mut side_reports = [Report::default(); MAX_LANES];
            let side_work = lanes::work_len(n, m, width)
                .and_then(|len| Workspace::new(&mut *work).take::<T>(len).ok());
            if let (true, Some(side_work)) = (width > 1, side_work) {
                let group = Group {
                    c: &c[q * nm..(q + width) * nm],
                    a: &a[q * n..(q + width) * n],
                    b: &b[q * m..(q + width) * m],
                    f: &mut f[q * n..(q + width) * n],
                    g: &mut g[q * m..(q + width) * m],
                    plan: plan.as_mut().map(|p| &mut p[q * nm..(q + width) * nm]),
                };
                solved = lanes::solve::<T, P>(
                    width,
                    (n, m),
                    group,
                    eps,
                    opts,
                    side_work,
                    &mut side_reports,
                );
            }
            for k in q..q + width {
                let outcome = if solved & (1 << (k - q)) != 0 {
                    Ok(side_reports[k - q])
                } else {
                    let plan_k = plan.as_mut().map(|p| &mut p[k * nm..(k + 1) * nm]);
                    let ck = Dense::new(&c[k * nm..(k + 1) * nm], n, m)?;
                    run_dense::<T, P>(
                        inner,
                        ck,
                        &a[k * n..(k + 1) * n],
                        &b[k * m..(k + 1) * m],
                        eps,
                        opts,
                        scheme,
                        absorb,
                        &mut f[k * n..(k + 1) * n],
                        &mut g[k * m..(k + 1) * m],
                        plan_k,
                        &mut *work,
                        &mut |_| {},
                    )
                };
                match outcome {
                    Ok(report) => {
                        if let Some(r) = reps.as_mut() {
                            r[k] = R::from(report);
                        }
                        result.0 &= report.converged;
                    }
                    Err(e) => {
                        result.1.get_or_insert(e);
                    }
                }
            }
            q += width;
        }
        Ok(())
    }
}
