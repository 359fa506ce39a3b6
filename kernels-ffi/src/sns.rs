//! C entry points of Sinkhorn-Newton-Sparse.

use crate::args::{disjoint, input, out_value, output, output_opt, span, workspace};
use crate::guard::{Done, status};
use crate::opts::{self, Opts, size_of_u32};
use crate::report::{finish, kn_report};
use crate::status::kn_status;
use core::ffi::c_void;
use kernels_core::sns::{self, SnsOpts};
use kernels_core::{Dense, Real, Result, checked_product};
use kernels_simd::Simd;

/// Options of `kn_sns_*`.
///
/// Work cap: a solve does at most `sinkhorn_iters` Sinkhorn iterations and
/// `max_newton` Newton-stage steps; each step runs at most `cg_max_iter` CG iterations
/// (each O(kept entries)) and up to 31 line-search evaluations (O(n*m) each). The CG
/// work is bounded only by the product, `max_newton * cg_max_iter` iterations in all
/// (default 100 * (n + m); `cg_max_iter` = 3e9 with `max_newton` = 100 allows 3e11):
/// choose both to bound the run time. The report's counters saturate at UINT32_MAX.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct kn_sns_opts {
    /// `sizeof` of this struct as the caller compiled it; `kn_sns_opts_default()`
    /// fills it in.
    /// The library reads only the fields that fit in `size` bytes (later fields take
    /// their defaults); `size` below the first version of the struct (version 0.2.0)
    /// or above what the library knows (a newer header) is `KN_ERR_ARGUMENT`.
    pub size: u32,
    /// Entropic regularisation epsilon > 0, finite.
    pub reg: f64,
    /// Stop when the L1 marginal error is <= tol; > 0.
    pub tol: f64,
    /// Sinkhorn iterations before the Newton stage (the paper's N1); may be 0.
    pub sinkhorn_iters: u32,
    /// Newton-stage steps cap; may be 0 (but not together with sinkhorn_iters).
    pub max_newton: u32,
    /// The most plan entries kept in the sparsified Hessian, as a fraction of
    /// n*m, in (0, 1]; 0 means the default max(0.1, 8 / min(n, m)), at most 1.
    /// Below the cap only the largest entries holding all but 1e-15 of the plan's
    /// mass are kept. The cap must cover the plan's effective support, else
    /// Newton converges only linearly.
    pub density: f64,
    /// CG iterations per Newton step (not per solve: see the work cap above); 0
    /// means n + m.
    pub cg_max_iter: u32,
    /// Relative residual of the Newton system, in (0, 1); 0 means 1e-10 (f64)
    /// or 1e-5 (f32).
    pub cg_tol: f64,
}

// SAFETY: repr(C), begins with `size: u32`, numbers only.
unsafe impl Opts for kn_sns_opts {
    // size, padding, reg, tol, sinkhorn_iters, max_newton, density, cg_max_iter,
    // padding, cg_tol.
    const V1_SIZE: usize = 56;
}

impl Default for kn_sns_opts {
    /// What `kn_sns_opts_default` returns.
    fn default() -> Self {
        let o = SnsOpts::default();
        kn_sns_opts {
            size: size_of_u32::<Self>(),
            reg: o.reg,
            tol: o.tol,
            sinkhorn_iters: o.sinkhorn_iters,
            max_newton: o.max_newton,
            density: o.density,
            cg_max_iter: o.cg_max_iter,
            cg_tol: o.cg_tol,
        }
    }
}

/// The default options of `kn_sns_*`, with `size` filled in: `reg` = 0.05, `tol` =
/// 1e-9, `sinkhorn_iters` = 20, `max_newton` = 100, and 0 (each field's default) for
/// `density`, `cg_max_iter` and `cg_tol`. Start from these and set the fields you
/// need, so that fields added later keep their defaults.
#[unsafe(no_mangle)]
pub extern "C" fn kn_sns_opts_default() -> kn_sns_opts {
    kn_sns_opts::default()
}

impl From<kn_sns_opts> for SnsOpts {
    fn from(o: kn_sns_opts) -> Self {
        SnsOpts::default()
            .reg(o.reg)
            .tol(o.tol)
            .sinkhorn_iters(o.sinkhorn_iters)
            .max_newton(o.max_newton)
            .density(o.density)
            .cg_max_iter(o.cg_max_iter)
            .cg_tol(o.cg_tol)
    }
}

/// Workspace bytes of `kn_sns_f32`/`kn_sns_f64` for an `n x m` problem keeping
/// at most `density * n * m` plan entries (0: the default of `kn_sns_opts`); the larger of
/// the two types, so one query serves both.
///
/// Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n` or `m`
/// zero, or the size overflows), `KN_ERR_ARGUMENT` (density outside [0, 1]).
///
/// # Safety
/// `bytes` must be NULL or point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sns_work_bytes(
    n: usize,
    m: usize,
    density: f64,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes a valid pointer to one size_t or NULL.
        let out = unsafe { out_value(bytes) }?;
        *out = sns::sns_work_size::<f64>(n, m, density)?
            .max(sns::sns_work_size::<f32>(n, m, density)?)
            .bytes();
        Ok(Done::Ok)
    })
}

/// The body of `kn_sns_*`.
///
/// # Safety
/// The pointer contract of `kn_sns_f64`.
#[allow(clippy::too_many_arguments)]
unsafe fn sns_body<T: Real>(
    n: usize,
    m: usize,
    c: *const T,
    a: *const T,
    b: *const T,
    opts: *const kn_sns_opts,
    f: *mut T,
    g: *mut T,
    plan: *mut T,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> Result<Done>
where
    Simd: kernels_core::sns::SnsKernels<T>,
{
    let nm = checked_product(&[n, m])?;
    // SAFETY: the caller's contract: each non-NULL pointer covers the length implied
    // by n and m, and outputs are not aliased (checked below with `disjoint`).
    let (c, a, b, (opts, opts_span), f, g, plan, work, rep) = unsafe {
        (
            input(c, nm)?,
            input(a, n)?,
            input(b, m)?,
            opts::read(opts)?,
            output(f, n)?,
            output(g, m)?,
            output(plan, nm)?,
            workspace(work, work_bytes)?,
            output_opt(rep, 1)?,
        )
    };
    let rep_span = rep.as_deref().map_or((0, 0), span);
    disjoint(
        &[span(f), span(g), span(plan), span(work), rep_span],
        &[span(c), span(a), span(b), opts_span],
    )?;
    let opts = SnsOpts::from(opts);
    let c = Dense::new(c, n, m)?;
    let outcome = sns::sns::<T, Simd>(
        &kernels_simd::DefaultExec::default(),
        c,
        a,
        b,
        &opts,
        f,
        g,
        plan,
        work,
    )?;
    finish(outcome.report, rep.and_then(|r| r.first_mut()))
}

/// Sinkhorn-Newton-Sparse for entropic optimal transport (f32): the problem,
/// potentials and plan of `kn_sinkhorn_f32` (min <P, C> + reg * sum P (log P - 1)
/// subject to P 1 = a, P^T 1 = b, P_ij = exp((f_i + g_j - C_ij) / reg)), solved by
/// `sinkhorn_iters` Sinkhorn iterations and then Newton steps on the dual with a
/// sparsified Hessian (the largest plan entries, at most density * n * m, plus the exact
/// diagonal blocks), each solved by Jacobi-preconditioned CG and accepted by a
/// backtracking line search. A step the line search rejects is replaced by a
/// Sinkhorn iteration, and once the Newton steps gain less per pass over the plan
/// than Sinkhorn iterations do (its rate measured in stage 1, and again where the
/// Newton stage stands) and reach `tol` within half of the steps left, Sinkhorn
/// iterations finish the solve, each counted as a Newton-stage step; the pair
/// returned is the one with the smallest marginal
/// error among the given pair and every iterate, never worse than the given one.
///
/// - `C`: n*m row-major cost, finite.
/// - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
/// - `opts`: see `kn_sns_opts`.
/// - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold start.
/// - `plan` (n*m): scratch during the solve; receives P for the returned f, g.
/// - `work`, `work_bytes`: at least `kn_sns_work_bytes(n, m, opts->density)`
///   bytes, any alignment (NULL only with 0 bytes).
/// - `rep` (nullable): `iterations` = Sinkhorn iterations + Newton-stage steps,
///   `inner_iterations` = CG iterations (at most `max_newton * cg_max_iter`; both
///   counters saturate at UINT32_MAX), `error` = ||P 1 - a||_1 +
///   ||P^T 1 - b||_1 of the returned f, g, `value` = <P, C>, `converged`.
///
/// Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g, plan and rep written, tolerance not
/// reached within the iteration caps); `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m
/// zero, sizes overflow); `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of
/// range, a or b not positive or with different sums, a misaligned array, an
/// output overlapping another argument); `KN_ERR_NON_FINITE` (NaN or inf in C, a,
/// b, f, g); `KN_ERR_NUMERICAL` (max|C| / reg overflows the type: nothing
/// written; or a potential overflowed in a Sinkhorn iteration: f, g hold the best
/// iterate so far, plan is unspecified, rep is not written).
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description
/// gives, valid for the call.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `C` as in API.md
pub unsafe extern "C" fn kn_sns_f32(
    n: usize,
    m: usize,
    C: *const f32,
    a: *const f32,
    b: *const f32,
    opts: *const kn_sns_opts,
    f: *mut f32,
    g: *mut f32,
    plan: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded pointer contract.
    status(|| unsafe { sns_body(n, m, C, a, b, opts, f, g, plan, work, work_bytes, rep) })
}

/// Sinkhorn-Newton-Sparse for entropic optimal transport (f64): the problem,
/// potentials and plan of `kn_sinkhorn_f64` (min <P, C> + reg * sum P (log P - 1)
/// subject to P 1 = a, P^T 1 = b, P_ij = exp((f_i + g_j - C_ij) / reg)), solved by
/// `sinkhorn_iters` Sinkhorn iterations and then Newton steps on the dual with a
/// sparsified Hessian (the largest plan entries, at most density * n * m, plus the exact
/// diagonal blocks), each solved by Jacobi-preconditioned CG and accepted by a
/// backtracking line search. A step the line search rejects is replaced by a
/// Sinkhorn iteration, and once the Newton steps gain less per pass over the plan
/// than Sinkhorn iterations do (its rate measured in stage 1, and again where the
/// Newton stage stands) and reach `tol` within half of the steps left, Sinkhorn
/// iterations finish the solve, each counted as a Newton-stage step; the pair
/// returned is the one with the smallest marginal
/// error among the given pair and every iterate, never worse than the given one.
///
/// - `C`: n*m row-major cost, finite.
/// - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
/// - `opts`: see `kn_sns_opts`.
/// - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold start.
/// - `plan` (n*m): scratch during the solve; receives P for the returned f, g.
/// - `work`, `work_bytes`: at least `kn_sns_work_bytes(n, m, opts->density)`
///   bytes, any alignment (NULL only with 0 bytes).
/// - `rep` (nullable): `iterations` = Sinkhorn iterations + Newton-stage steps,
///   `inner_iterations` = CG iterations (at most `max_newton * cg_max_iter`; both
///   counters saturate at UINT32_MAX), `error` = ||P 1 - a||_1 +
///   ||P^T 1 - b||_1 of the returned f, g, `value` = <P, C>, `converged`.
///
/// Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g, plan and rep written, tolerance not
/// reached within the iteration caps); `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m
/// zero, sizes overflow); `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of
/// range, a or b not positive or with different sums, a misaligned array, an
/// output overlapping another argument); `KN_ERR_NON_FINITE` (NaN or inf in C, a,
/// b, f, g); `KN_ERR_NUMERICAL` (max|C| / reg overflows the type: nothing
/// written; or a potential overflowed in a Sinkhorn iteration: f, g hold the best
/// iterate so far, plan is unspecified, rep is not written).
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description
/// gives, valid for the call.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `C` as in API.md
pub unsafe extern "C" fn kn_sns_f64(
    n: usize,
    m: usize,
    C: *const f64,
    a: *const f64,
    b: *const f64,
    opts: *const kn_sns_opts,
    f: *mut f64,
    g: *mut f64,
    plan: *mut f64,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded pointer contract.
    status(|| unsafe { sns_body(n, m, C, a, b, opts, f, g, plan, work, work_bytes, rep) })
}
