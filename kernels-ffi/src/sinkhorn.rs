//! C entry points of matrix scaling and log-domain entropic optimal transport.

use crate::args::{disjoint, input, out_value, output, output_opt, span, workspace};
use crate::guard::{Done, status};
use crate::opts::{self, Opts, size_of_u32};
use crate::report::{finish, kn_report};
use crate::status::kn_status;
use core::ffi::c_void;
use kernels_core::sinkhorn::{self, Method, SinkhornOpts, UnbalancedOpts};
use kernels_core::{Dense, Error, Real, Report, Result, checked_product};
use kernels_simd::Simd;

/// Options of `kn_scale_*` and `kn_sinkhorn_*`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct kn_sinkhorn_opts {
    /// `sizeof` of this struct as the caller compiled it; `kn_sinkhorn_opts_default()`
    /// fills it in.
    /// The library reads only the fields that fit in `size` bytes (later fields take
    /// their defaults): 32 is the 0.2 struct (up to `check_every`), `sizeof` today's;
    /// any other `size` (below the first version, between versions, or above what
    /// the library knows: a newer header) is `KN_ERR_ARGUMENT`.
    pub size: u32,
    /// Entropic regularisation epsilon > 0, finite (ignored by `kn_scale_*`).
    pub reg: f64,
    /// Stop when the L1 marginal error is <= tol; > 0.
    pub tol: f64,
    /// Iteration cap; > 0.
    pub max_iter: u32,
    /// Compute the error every `check_every` iterations (and at the cap); 0 means 1.
    /// A check costs O(n + m), not a pass over the matrix.
    pub check_every: u32,
    /// (Since 0.3; `kn_sinkhorn_*` only, host only.) How the log-domain solver
    /// iterates: `KN_SINKHORN_AUTO` (the default: absorption when `plan` is given,
    /// else the log domain), `KN_SINKHORN_LOG` (one exponential per entry per
    /// iteration), `KN_SINKHORN_ABSORB` (scalings on a stabilised kernel kept in
    /// `plan`, absorbed into the potentials when they leave a bounded range:
    /// kernel-mode speed, log-domain stability, the same results to rounding;
    /// `plan` NULL is `KN_ERR_ARGUMENT`). Another value is `KN_ERR_ARGUMENT`. The
    /// CUDA backend runs the log domain: `KN_SINKHORN_ABSORB` there is
    /// `KN_ERR_UNSUPPORTED`.
    pub method: i32,
    /// Padding (keeps `eps_scaling` 8-byte aligned); ignored, set it to 0.
    pub reserved: u32,
    /// (Since 0.3; `kn_sinkhorn_*` only, host only.) Epsilon scaling: 0 (the
    /// default) solves at `reg` directly; a factor q in (0, 1) first solves at
    /// `reg_start * q^k` for k = 0, 1, ... while above `reg`, each stage warm
    /// started from the last and stopped at an L1 error of max(tol, 1e-3) (checked
    /// every iteration), then at `reg` to `tol` (`iterations` counts every stage;
    /// all stay within `max_iter`). Negative, NaN, or >= 1 is `KN_ERR_ARGUMENT`. The CUDA backend
    /// and `kn_sinkhorn_batch_*` do not scale: a nonzero value there is
    /// `KN_ERR_UNSUPPORTED` (CUDA) or `KN_ERR_ARGUMENT` (batch).
    pub eps_scaling: f64,
    /// (Since 0.3.) The first regularisation of epsilon scaling; 0 (the default)
    /// means max|C|. Negative, NaN or infinite is `KN_ERR_ARGUMENT`.
    pub reg_start: f64,
    /// (Since 0.3; `kn_sinkhorn_*` and `kn_sinkhorn_points_*`, host only.)
    /// Over-relaxation: 0 (the default) is the plain iteration; omega in (0, 2)
    /// blends each update as `f <- f + omega (f_sinkhorn - f)` (likewise g);
    /// `KN_SINKHORN_OVERRELAX_AUTO` runs the plain iteration for at least 20
    /// iterations, measures its convergence rate theta between two checks and then
    /// uses omega = 2 / (1 + sqrt(1 - theta)) (Lehmann et al. 2022), which near the
    /// solution converges at about omega - 1 per iteration instead of theta: often
    /// 5x fewer iterations at small `reg`. Either returns to the plain iteration
    /// for the rest of the solve when the error at a check is not below the error
    /// 20 or more iterations before. Each stage of epsilon scaling relaxes on its
    /// own. Another value (NaN, <= 0 other than the two above, >= 2) is
    /// `KN_ERR_ARGUMENT`; nonzero with `kn_sinkhorn_batch_*` is `KN_ERR_ARGUMENT`,
    /// with CUDA `KN_ERR_UNSUPPORTED`; ignored by `kn_scale_*`.
    pub overrelax: f64,
}

/// `kn_sinkhorn_opts.overrelax`: pick omega from the observed convergence rate.
pub const KN_SINKHORN_OVERRELAX_AUTO: f64 = -1.0;

// A literal above, for the header generator; the solver's value is the same.
const _: () = assert!(KN_SINKHORN_OVERRELAX_AUTO == sinkhorn::OVERRELAX_AUTO);

/// `kn_sinkhorn_opts.method`: absorption when a plan buffer is given, else the log
/// domain.
pub const KN_SINKHORN_AUTO: i32 = 0;
/// `kn_sinkhorn_opts.method`: the log-domain iteration.
pub const KN_SINKHORN_LOG: i32 = 1;
/// `kn_sinkhorn_opts.method`: absorption (needs the plan buffer).
pub const KN_SINKHORN_ABSORB: i32 = 2;

// SAFETY: repr(C), begins with `size: u32`, numbers only.
unsafe impl Opts for kn_sinkhorn_opts {
    // size, padding, reg, tol, max_iter, check_every.
    const V1_SIZE: usize = 32;
}

impl Default for kn_sinkhorn_opts {
    /// What `kn_sinkhorn_opts_default` returns.
    fn default() -> Self {
        let o = SinkhornOpts::default();
        kn_sinkhorn_opts {
            size: size_of_u32::<Self>(),
            reg: o.reg,
            tol: o.tol,
            max_iter: o.max_iter,
            check_every: o.check_every,
            method: KN_SINKHORN_AUTO,
            reserved: 0,
            eps_scaling: o.eps_scaling,
            reg_start: o.reg_start,
            overrelax: o.overrelax,
        }
    }
}

/// The default options of `kn_scale_*` and `kn_sinkhorn_*`, with `size` filled in:
/// `reg` = 0.05, `tol` = 1e-9, `max_iter` = 1000, `check_every` = 10. Start from
/// these and set the fields you need, so that fields added later keep their defaults.
#[unsafe(no_mangle)]
pub extern "C" fn kn_sinkhorn_opts_default() -> kn_sinkhorn_opts {
    kn_sinkhorn_opts::default()
}

impl TryFrom<kn_sinkhorn_opts> for SinkhornOpts {
    type Error = Error;

    /// [`Error::Argument`] for an unknown `method`; the values are checked by the
    /// solvers.
    fn try_from(o: kn_sinkhorn_opts) -> Result<Self> {
        let method = match o.method {
            KN_SINKHORN_AUTO => Method::Auto,
            KN_SINKHORN_LOG => Method::Log,
            KN_SINKHORN_ABSORB => Method::Absorb,
            _ => return Err(Error::Argument),
        };
        Ok(SinkhornOpts::default()
            .reg(o.reg)
            .tol(o.tol)
            .max_iter(o.max_iter)
            .check_every(o.check_every)
            .method(method)
            .eps_scaling(o.eps_scaling)
            .reg_start(o.reg_start)
            .overrelax(o.overrelax))
    }
}

/// Workspace bytes of `kn_scale_f32`/`kn_scale_f64` for an `n x m` matrix (the
/// larger of the two types, so one query serves both).
///
/// Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n` or `m`
/// zero, or the size overflows).
///
/// # Safety
/// `bytes` must be NULL or point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_scale_work_bytes(n: usize, m: usize, bytes: *mut usize) -> kn_status {
    status(|| {
        // SAFETY: the caller passes a valid pointer to one size_t or NULL.
        let out = unsafe { out_value(bytes) }?;
        *out = sinkhorn::scale_work_size::<f64>(n, m)?
            .max(sinkhorn::scale_work_size::<f32>(n, m)?)
            .bytes();
        Ok(Done::Ok)
    })
}

/// Workspace bytes of `kn_sinkhorn_f32`/`kn_sinkhorn_f64` for an `n x m` cost
/// matrix (the larger of the two types, so one query serves both).
///
/// Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n` or `m`
/// zero, or the size overflows).
///
/// # Safety
/// `bytes` must be NULL or point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sinkhorn_work_bytes(
    n: usize,
    m: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes a valid pointer to one size_t or NULL.
        let out = unsafe { out_value(bytes) }?;
        *out = sinkhorn::sinkhorn_work_size::<f64>(n, m)?
            .max(sinkhorn::sinkhorn_work_size::<f32>(n, m)?)
            .bytes();
        Ok(Done::Ok)
    })
}

/// The arguments of a transport call, read and checked: `c`, `a`, `b`, `f`, `g`,
/// `plan` and the reports at the lengths given, and every output disjoint from every
/// other argument. (Matrix scaling reads its `K`, `u`, `v` as `c`, `f`, `g`.)
struct Transport<'a, T, O> {
    c: &'a [T],
    a: &'a [T],
    b: &'a [T],
    opts: O,
    f: &'a mut [T],
    g: &'a mut [T],
    plan: Option<&'a mut [T]>,
    work: &'a mut [u8],
    reports: Option<&'a mut [kn_report]>,
}

impl<'a, T, O: Opts> Transport<'a, T, O> {
    /// Reads the pointers, with the lengths `(c and plan, a and f, b and g, reports)`.
    ///
    /// # Safety
    /// Each non-NULL pointer covers its length and stays valid for 'a; outputs are
    /// not aliased (checked here with `disjoint`).
    #[allow(clippy::too_many_arguments)]
    unsafe fn read(
        (c_len, a_len, b_len, reports): (usize, usize, usize, usize),
        c: *const T,
        a: *const T,
        b: *const T,
        opts: *const O,
        f: *mut T,
        g: *mut T,
        plan: *mut T,
        work: *mut c_void,
        work_bytes: usize,
        rep: *mut kn_report,
    ) -> Result<Self> {
        // SAFETY: the caller's contract.
        let (c, a, b, (opts, opts_span), f, g, plan, work, reports) = unsafe {
            (
                input(c, c_len)?,
                input(a, a_len)?,
                input(b, b_len)?,
                opts::read(opts)?,
                output(f, a_len)?,
                output(g, b_len)?,
                output_opt(plan, c_len)?,
                workspace(work, work_bytes)?,
                output_opt(rep, reports)?,
            )
        };
        let plan_span = plan.as_deref().map_or((0, 0), span);
        let reports_span = reports.as_deref().map_or((0, 0), span);
        disjoint(
            &[span(f), span(g), plan_span, span(work), reports_span],
            &[span(c), span(a), span(b), opts_span],
        )?;
        Ok(Transport {
            c,
            a,
            b,
            opts,
            f,
            g,
            plan,
            work,
            reports,
        })
    }
}

/// The body of `kn_scale_*`.
///
/// # Safety
/// The pointer contract of `kn_scale_f64`.
#[allow(clippy::too_many_arguments)]
unsafe fn scale_body<T: Real>(
    n: usize,
    m: usize,
    k: *const T,
    a: *const T,
    b: *const T,
    opts: *const kn_sinkhorn_opts,
    u: *mut T,
    v: *mut T,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> Result<Done>
where
    Simd: kernels_core::sinkhorn::SinkhornKernels<T>,
{
    let nm = checked_product(&[n, m])?;
    let no_plan = core::ptr::null_mut();
    // SAFETY: forwarded pointer contract, with these lengths (no plan).
    let t = unsafe {
        Transport::read(
            (nm, n, m, 1),
            k,
            a,
            b,
            opts,
            u,
            v,
            no_plan,
            work,
            work_bytes,
            rep,
        )
    }?;
    let (k, a, b, opts, u, v, work, rep) = (t.c, t.a, t.b, t.opts, t.f, t.g, t.work, t.reports);
    let opts = SinkhornOpts::try_from(opts)?;
    let k = Dense::new(k, n, m)?;
    let report = sinkhorn::scale::<T, Simd>(
        &kernels_simd::DefaultExec::default(),
        k,
        a,
        b,
        &opts,
        u,
        v,
        work,
    )?;
    finish(report, rep.and_then(|r| r.first_mut()))
}

/// A log-domain solver on checked slices: cost, marginals, options, potentials, plan,
/// workspace.
type LogSolve<'a, T, O> = fn(
    Dense<'a, T>,
    &'a [T],
    &'a [T],
    O,
    &'a mut [T],
    &'a mut [T],
    Option<&'a mut [T]>,
    &'a mut [u8],
) -> Result<Report>;

/// The body of `kn_sinkhorn_*` and `kn_sinkhorn_unbalanced_*` (which take the same
/// arguments but for the options): the pointer checks, then `solve`.
///
/// # Safety
/// The pointer contract of `kn_sinkhorn_f64`.
#[allow(clippy::too_many_arguments)]
unsafe fn log_body<'a, T: Real, O: Opts>(
    n: usize,
    m: usize,
    c: *const T,
    a: *const T,
    b: *const T,
    opts: *const O,
    f: *mut T,
    g: *mut T,
    plan: *mut T,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
    solve: LogSolve<'a, T, O>,
) -> Result<Done> {
    let nm = checked_product(&[n, m])?;
    // SAFETY: forwarded pointer contract, with these lengths.
    let t = unsafe {
        Transport::read(
            (nm, n, m, 1),
            c,
            a,
            b,
            opts,
            f,
            g,
            plan,
            work,
            work_bytes,
            rep,
        )
    }?;
    let (c, a, b, opts, f, g, plan, work, rep) =
        (t.c, t.a, t.b, t.opts, t.f, t.g, t.plan, t.work, t.reports);
    let report = solve(Dense::new(c, n, m)?, a, b, opts, f, g, plan, work)?;
    finish(report, rep.and_then(|r| r.first_mut()))
}

/// `kn_sinkhorn_*`'s solver.
#[allow(clippy::too_many_arguments)]
fn balanced<'a, T: Real>(
    c: Dense<'a, T>,
    a: &'a [T],
    b: &'a [T],
    opts: kn_sinkhorn_opts,
    f: &'a mut [T],
    g: &'a mut [T],
    plan: Option<&'a mut [T]>,
    work: &'a mut [u8],
) -> Result<Report>
where
    Simd: kernels_core::sinkhorn::SinkhornKernels<T>,
{
    let exec = kernels_simd::DefaultExec::default();
    let opts = SinkhornOpts::try_from(opts)?;
    sinkhorn::sinkhorn_log::<T, Simd>(&exec, c, a, b, &opts, f, g, plan, work)
}

/// Sinkhorn-Knopp matrix scaling (f32): positive `u` (n), `v` (m) such that
/// diag(u) K diag(v) has row sums `a` and column sums `b`
/// (v = b / (K^T u), then u = a / (K v), each iteration).
///
/// - `K`: n*m row-major, nonnegative, finite, no zero row or column.
/// - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
/// - `opts`: `tol` > 0, `max_iter` > 0, `check_every` (0 = 1); `reg` ignored.
/// - `u`, `v`: in/out, nonnegative and finite. `u` all zero is the cold start
///   (ones); any other `u` warm-starts (v is recomputed from u).
/// - `work`, `work_bytes`: at least `kn_scale_work_bytes(n, m)` bytes, any
///   alignment (NULL only with 0 bytes).
/// - `rep` (nullable): `iterations`, `error` = ||rowsums - a||_1 +
///   ||colsums - b||_1 of the returned u, v, `value` = 0 (no cost is defined
///   for plain scaling), `converged`.
///
/// Returns `KN_OK`; `KN_NOT_CONVERGED` (u, v and rep written, tolerance not
/// reached in `max_iter`); `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m zero,
/// n*m overflows); `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of range,
/// a negative entry in K, u or v, a or b not positive or with different sums,
/// a misaligned array, an output overlapping another argument);
/// `KN_ERR_NON_FINITE` (NaN or inf in K, a, b, u, v); `KN_ERR_NUMERICAL` (a
/// zero row or column of K: nothing written; or K^T u, K v underflowed to zero
/// or a scaling overflowed during the iteration: u, v hold the last iterate
/// that was finite, rep is not written).
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description
/// gives, valid for the call.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `K` as in API.md
pub unsafe extern "C" fn kn_scale_f32(
    n: usize,
    m: usize,
    K: *const f32,
    a: *const f32,
    b: *const f32,
    opts: *const kn_sinkhorn_opts,
    u: *mut f32,
    v: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded pointer contract.
    status(|| unsafe { scale_body(n, m, K, a, b, opts, u, v, work, work_bytes, rep) })
}

/// Sinkhorn-Knopp matrix scaling (f64): positive `u` (n), `v` (m) such that
/// diag(u) K diag(v) has row sums `a` and column sums `b`
/// (v = b / (K^T u), then u = a / (K v), each iteration).
///
/// - `K`: n*m row-major, nonnegative, finite, no zero row or column.
/// - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
/// - `opts`: `tol` > 0, `max_iter` > 0, `check_every` (0 = 1); `reg` ignored.
/// - `u`, `v`: in/out, nonnegative and finite. `u` all zero is the cold start
///   (ones); any other `u` warm-starts (v is recomputed from u).
/// - `work`, `work_bytes`: at least `kn_scale_work_bytes(n, m)` bytes, any
///   alignment (NULL only with 0 bytes).
/// - `rep` (nullable): `iterations`, `error` = ||rowsums - a||_1 +
///   ||colsums - b||_1 of the returned u, v, `value` = 0 (no cost is defined
///   for plain scaling), `converged`.
///
/// Returns `KN_OK`; `KN_NOT_CONVERGED` (u, v and rep written, tolerance not
/// reached in `max_iter`); `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m zero,
/// n*m overflows); `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of range,
/// a negative entry in K, u or v, a or b not positive or with different sums,
/// a misaligned array, an output overlapping another argument);
/// `KN_ERR_NON_FINITE` (NaN or inf in K, a, b, u, v); `KN_ERR_NUMERICAL` (a
/// zero row or column of K: nothing written; or K^T u, K v underflowed to zero
/// or a scaling overflowed during the iteration: u, v hold the last iterate
/// that was finite, rep is not written).
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description
/// gives, valid for the call.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `K` as in API.md
pub unsafe extern "C" fn kn_scale_f64(
    n: usize,
    m: usize,
    K: *const f64,
    a: *const f64,
    b: *const f64,
    opts: *const kn_sinkhorn_opts,
    u: *mut f64,
    v: *mut f64,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded pointer contract.
    status(|| unsafe { scale_body(n, m, K, a, b, opts, u, v, work, work_bytes, rep) })
}

/// Log-domain Sinkhorn for entropic optimal transport (f32):
/// min <P, C> + reg * sum P (log P - 1) subject to P 1 = a, P^T 1 = b, with
/// the plan P_ij = exp((f_i + g_j - C_ij) / reg). Every exponential sum is a
/// log-sum-exp with its maximum shifted out: stable for reg down to
/// 1e-4 * max|C| (f64) and below, where exp(-C/reg) underflows.
///
/// - `C`: n*m row-major cost, finite.
/// - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
/// - `opts`: `reg` > 0 and finite, `tol` > 0, `max_iter` > 0, `check_every`
///   (0 = 1).
/// - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold
///   start, anything else warm-starts. Each iteration sets f from g, then g
///   from f.
/// - `plan` (nullable, n*m): receives P for the returned f, g.
/// - `work`, `work_bytes`: at least `kn_sinkhorn_work_bytes(n, m)` bytes, any
///   alignment (NULL only with 0 bytes).
/// - `rep` (nullable): `iterations`, `error` = ||P 1 - a||_1 + ||P^T 1 - b||_1
///   of the returned f, g, `value` = <P, C>, `converged`.
///
/// Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g, plan and rep written, tolerance
/// not reached in `max_iter`); `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m zero,
/// n*m overflows); `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of range,
/// a or b not positive or with different sums, a misaligned array, an output
/// overlapping another argument); `KN_ERR_NON_FINITE` (NaN or inf in C, a, b,
/// f, g); `KN_ERR_NUMERICAL` (max|C| / reg overflows the type: nothing
/// written; or a potential overflowed during the iteration: f, g hold the last
/// iterate that was finite, plan and rep are not written).
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description
/// gives, valid for the call.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `C` as in API.md
pub unsafe extern "C" fn kn_sinkhorn_f32(
    n: usize,
    m: usize,
    C: *const f32,
    a: *const f32,
    b: *const f32,
    opts: *const kn_sinkhorn_opts,
    f: *mut f32,
    g: *mut f32,
    plan: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded pointer contract.
    status(|| unsafe {
        log_body(
            n, m, C, a, b, opts, f, g, plan, work, work_bytes, rep, balanced,
        )
    })
}

/// Log-domain Sinkhorn for entropic optimal transport (f64):
/// min <P, C> + reg * sum P (log P - 1) subject to P 1 = a, P^T 1 = b, with
/// the plan P_ij = exp((f_i + g_j - C_ij) / reg). Every exponential sum is a
/// log-sum-exp with its maximum shifted out: stable for reg down to
/// 1e-4 * max|C| (f64) and below, where exp(-C/reg) underflows.
///
/// - `C`: n*m row-major cost, finite.
/// - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
/// - `opts`: `reg` > 0 and finite, `tol` > 0, `max_iter` > 0, `check_every`
///   (0 = 1).
/// - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold
///   start, anything else warm-starts. Each iteration sets f from g, then g
///   from f.
/// - `plan` (nullable, n*m): receives P for the returned f, g.
/// - `work`, `work_bytes`: at least `kn_sinkhorn_work_bytes(n, m)` bytes, any
///   alignment (NULL only with 0 bytes).
/// - `rep` (nullable): `iterations`, `error` = ||P 1 - a||_1 + ||P^T 1 - b||_1
///   of the returned f, g, `value` = <P, C>, `converged`.
///
/// Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g, plan and rep written, tolerance
/// not reached in `max_iter`); `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m zero,
/// n*m overflows); `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of range,
/// a or b not positive or with different sums, a misaligned array, an output
/// overlapping another argument); `KN_ERR_NON_FINITE` (NaN or inf in C, a, b,
/// f, g); `KN_ERR_NUMERICAL` (max|C| / reg overflows the type: nothing
/// written; or a potential overflowed during the iteration: f, g hold the last
/// iterate that was finite, plan and rep are not written).
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description
/// gives, valid for the call.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `C` as in API.md
pub unsafe extern "C" fn kn_sinkhorn_f64(
    n: usize,
    m: usize,
    C: *const f64,
    a: *const f64,
    b: *const f64,
    opts: *const kn_sinkhorn_opts,
    f: *mut f64,
    g: *mut f64,
    plan: *mut f64,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded pointer contract.
    status(|| unsafe {
        log_body(
            n, m, C, a, b, opts, f, g, plan, work, work_bytes, rep, balanced,
        )
    })
}

/// Options of `kn_sinkhorn_unbalanced_*`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct kn_unbalanced_opts {
    /// `sizeof` of this struct as the caller compiled it;
    /// `kn_unbalanced_opts_default()` fills it in. The library reads only the fields
    /// that fit in `size` bytes (later fields take their defaults); `size` below the
    /// first version of the struct (version 0.2.0) or above what the library knows
    /// is `KN_ERR_ARGUMENT`.
    pub size: u32,
    /// Entropic regularisation reg > 0, finite.
    pub reg: f64,
    /// KL penalty on the row marginal P 1 against a: >= 0, or INFINITY for the
    /// constraint P 1 = a.
    pub reg_m1: f64,
    /// KL penalty on the column marginal P^T 1 against b: >= 0, or INFINITY for the
    /// constraint P^T 1 = b.
    pub reg_m2: f64,
    /// Stop when the change of the potentials in one iteration,
    /// (max_i |df_i| + max_j |dg_j|) / (2 reg), is <= tol; > 0.
    pub tol: f64,
    /// Iteration cap; > 0.
    pub max_iter: u32,
    /// Measure the change every `check_every` iterations (and at the cap); 0 means 1.
    pub check_every: u32,
}

// SAFETY: repr(C), begins with `size: u32`, numbers only.
unsafe impl Opts for kn_unbalanced_opts {
    // size, padding, reg, reg_m1, reg_m2, tol, max_iter, check_every.
    const V1_SIZE: usize = 48;
}

impl Default for kn_unbalanced_opts {
    /// What `kn_unbalanced_opts_default` returns.
    fn default() -> Self {
        let o = UnbalancedOpts::default();
        kn_unbalanced_opts {
            size: size_of_u32::<Self>(),
            reg: o.reg,
            reg_m1: o.reg_m1,
            reg_m2: o.reg_m2,
            tol: o.tol,
            max_iter: o.max_iter,
            check_every: o.check_every,
        }
    }
}

/// The default options of `kn_sinkhorn_unbalanced_*`, with `size` filled in:
/// `reg` = 0.05, `reg_m1` = `reg_m2` = 1, `tol` = 1e-9, `max_iter` = 1000,
/// `check_every` = 10.
#[unsafe(no_mangle)]
pub extern "C" fn kn_unbalanced_opts_default() -> kn_unbalanced_opts {
    kn_unbalanced_opts::default()
}

impl From<kn_unbalanced_opts> for UnbalancedOpts {
    fn from(o: kn_unbalanced_opts) -> Self {
        UnbalancedOpts::default()
            .reg(o.reg)
            .reg_m1(o.reg_m1)
            .reg_m2(o.reg_m2)
            .tol(o.tol)
            .max_iter(o.max_iter)
            .check_every(o.check_every)
    }
}

/// Workspace bytes of `kn_sinkhorn_unbalanced_f32`/`_f64` for an `n x m` cost matrix
/// (the larger of the two types, so one query serves both).
///
/// Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n` or `m`
/// zero, or the size overflows).
///
/// # Safety
/// `bytes` must be NULL or point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sinkhorn_unbalanced_work_bytes(
    n: usize,
    m: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes a valid pointer to one size_t or NULL.
        let out = unsafe { out_value(bytes) }?;
        *out = sinkhorn::unbalanced_work_size::<f64>(n, m)?
            .max(sinkhorn::unbalanced_work_size::<f32>(n, m)?)
            .bytes();
        Ok(Done::Ok)
    })
}

/// `kn_sinkhorn_unbalanced_*`'s solver.
#[allow(clippy::too_many_arguments)]
fn unbalanced<'a, T: Real>(
    c: Dense<'a, T>,
    a: &'a [T],
    b: &'a [T],
    opts: kn_unbalanced_opts,
    f: &'a mut [T],
    g: &'a mut [T],
    plan: Option<&'a mut [T]>,
    work: &'a mut [u8],
) -> Result<Report>
where
    Simd: kernels_core::sinkhorn::SinkhornKernels<T>,
{
    let exec = kernels_simd::DefaultExec::default();
    let opts = UnbalancedOpts::from(opts);
    sinkhorn::sinkhorn_unbalanced::<T, Simd>(&exec, c, a, b, &opts, f, g, plan, work)
}

/// Unbalanced entropic optimal transport (f32), POT's
/// `sinkhorn_unbalanced(a, b, C, reg, (reg_m1, reg_m2), reg_type='kl')`:
/// min <P, C> + reg KL(P | a b^T) + reg_m1 KL(P 1 | a) + reg_m2 KL(P^T 1 | b)
/// (generalised KL), by log-domain Sinkhorn iterations with the plan
/// P_ij = exp((f_i + g_j - C_ij) / reg). Each update is the balanced one with its
/// log-sum-exp scaled by reg_m / (reg_m + reg); with both penalties INFINITY it is
/// `kn_sinkhorn_f32` (the same iterates, bit for bit; only the stopping measure
/// differs).
///
/// - `C`: n*m row-major cost, finite.
/// - `a` (n), `b` (m): positive; their sums may differ unless both penalties are
///   INFINITY (then as `kn_sinkhorn_f32`).
/// - `opts`: `reg` > 0 and finite, `reg_m1`, `reg_m2` >= 0 or INFINITY, `tol` > 0,
///   `max_iter` > 0, `check_every` (0 = 1).
/// - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold start.
/// - `plan` (nullable, n*m): receives P for the returned f, g.
/// - `work`, `work_bytes`: at least `kn_sinkhorn_unbalanced_work_bytes(n, m)`
///   bytes, any alignment (NULL only with 0 bytes).
/// - `rep` (nullable): `iterations`, `error` = the change of the potentials in the
///   last iteration, (max_i |df_i| + max_j |dg_j|) / (2 reg), `value` = <P, C>,
///   `converged`.
///
/// Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g, plan and rep written);
/// `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m zero, n*m overflows);
/// `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of range, reg_m negative or NaN,
/// a or b not positive, unequal sums with both penalties INFINITY, a misaligned
/// array, an output overlapping another argument); `KN_ERR_NON_FINITE` (NaN or inf
/// in C, a, b, f, g); `KN_ERR_NUMERICAL` (max|C| / reg overflows the type: nothing
/// written; or a potential overflowed during the iteration: f, g hold the last
/// iterate that was finite, plan and rep are not written).
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description
/// gives, valid for the call.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `C` as in API.md
pub unsafe extern "C" fn kn_sinkhorn_unbalanced_f32(
    n: usize,
    m: usize,
    C: *const f32,
    a: *const f32,
    b: *const f32,
    opts: *const kn_unbalanced_opts,
    f: *mut f32,
    g: *mut f32,
    plan: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded pointer contract.
    status(|| unsafe {
        log_body(
            n, m, C, a, b, opts, f, g, plan, work, work_bytes, rep, unbalanced,
        )
    })
}

/// Unbalanced entropic optimal transport (f64), POT's
/// `sinkhorn_unbalanced(a, b, C, reg, (reg_m1, reg_m2), reg_type='kl')`:
/// min <P, C> + reg KL(P | a b^T) + reg_m1 KL(P 1 | a) + reg_m2 KL(P^T 1 | b)
/// (generalised KL), by log-domain Sinkhorn iterations with the plan
/// P_ij = exp((f_i + g_j - C_ij) / reg). Each update is the balanced one with its
/// log-sum-exp scaled by reg_m / (reg_m + reg); with both penalties INFINITY it is
/// `kn_sinkhorn_f64` (the same iterates, bit for bit; only the stopping measure
/// differs).
///
/// - `C`: n*m row-major cost, finite.
/// - `a` (n), `b` (m): positive; their sums may differ unless both penalties are
///   INFINITY (then as `kn_sinkhorn_f64`).
/// - `opts`: `reg` > 0 and finite, `reg_m1`, `reg_m2` >= 0 or INFINITY, `tol` > 0,
///   `max_iter` > 0, `check_every` (0 = 1).
/// - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold start.
/// - `plan` (nullable, n*m): receives P for the returned f, g.
/// - `work`, `work_bytes`: at least `kn_sinkhorn_unbalanced_work_bytes(n, m)`
///   bytes, any alignment (NULL only with 0 bytes).
/// - `rep` (nullable): `iterations`, `error` = the change of the potentials in the
///   last iteration, (max_i |df_i| + max_j |dg_j|) / (2 reg), `value` = <P, C>,
///   `converged`.
///
/// Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g, plan and rep written);
/// `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m zero, n*m overflows);
/// `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of range, reg_m negative or NaN,
/// a or b not positive, unequal sums with both penalties INFINITY, a misaligned
/// array, an output overlapping another argument); `KN_ERR_NON_FINITE` (NaN or inf
/// in C, a, b, f, g); `KN_ERR_NUMERICAL` (max|C| / reg overflows the type: nothing
/// written; or a potential overflowed during the iteration: f, g hold the last
/// iterate that was finite, plan and rep are not written).
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description
/// gives, valid for the call.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `C` as in API.md
pub unsafe extern "C" fn kn_sinkhorn_unbalanced_f64(
    n: usize,
    m: usize,
    C: *const f64,
    a: *const f64,
    b: *const f64,
    opts: *const kn_unbalanced_opts,
    f: *mut f64,
    g: *mut f64,
    plan: *mut f64,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded pointer contract.
    status(|| unsafe {
        log_body(
            n, m, C, a, b, opts, f, g, plan, work, work_bytes, rep, unbalanced,
        )
    })
}

/// Workspace bytes of `kn_sinkhorn_batch_f32`/`_f64` for `batch` problems of
/// `n x m` (the larger of the two types, so one query serves both):
/// O(min(batch, 64) (n + m)); for `n` and `m` at most 64, up to 16 problems per run
/// with their costs interleaved, O(min(batch + 15, 1024) (n m + 7 m + 6 n)).
///
/// Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`batch`, `n`
/// or `m` zero, or `batch * n * m` values, or the workspace, overflowing).
///
/// # Safety
/// `bytes` must be NULL or point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sinkhorn_batch_work_bytes(
    batch: usize,
    n: usize,
    m: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes a valid pointer to one size_t or NULL.
        let out = unsafe { out_value(bytes) }?;
        *out = sinkhorn::batch_work_size::<f64>(batch, n, m)?
            .max(sinkhorn::batch_work_size::<f32>(batch, n, m)?)
            .bytes();
        Ok(Done::Ok)
    })
}

/// The body of `kn_sinkhorn_batch_*`.
///
/// # Safety
/// The pointer contract of `kn_sinkhorn_batch_f64`.
#[allow(clippy::too_many_arguments)]
unsafe fn batch_body<T: Real>(
    batch: usize,
    n: usize,
    m: usize,
    c: *const T,
    a: *const T,
    b: *const T,
    opts: *const kn_sinkhorn_opts,
    f: *mut T,
    g: *mut T,
    plan: *mut T,
    work: *mut c_void,
    work_bytes: usize,
    reports: *mut kn_report,
) -> Result<Done>
where
    Simd: kernels_core::sinkhorn::SinkhornKernels<T>,
{
    let bnm = checked_product(&[batch, n, m])?;
    let (bn, bm) = (checked_product(&[batch, n])?, checked_product(&[batch, m])?);
    // SAFETY: forwarded pointer contract, with these lengths.
    let t = unsafe {
        Transport::read(
            (bnm, bn, bm, batch),
            c,
            a,
            b,
            opts,
            f,
            g,
            plan,
            work,
            work_bytes,
            reports,
        )
    }?;
    let (c, a, b, opts, f, g, plan, work, reports) =
        (t.c, t.a, t.b, t.opts, t.f, t.g, t.plan, t.work, t.reports);
    let all = sinkhorn::sinkhorn_batch::<T, Simd, kn_report>(
        &kernels_simd::DefaultExec::default(),
        (batch, n, m),
        c,
        a,
        b,
        &SinkhornOpts::try_from(opts)?,
        f,
        g,
        plan,
        work,
        reports,
    )?;
    Ok(Done::converged(all))
}

/// A batch of log-domain Sinkhorn problems of one size (f32): problem `p` is
/// `kn_sinkhorn_f32(n, m, C + p*n*m, a + p*n, b + p*m, opts, f + p*n, g + p*m,
/// plan + p*n*m, ...)` with its report in `reports[p]`, and its results are
/// bit-identical to that call's. Each problem converges on its own (its own
/// iteration count and flag in its report); the problems run on the library's
/// threads (`kn_set_num_threads`) in fixed runs, so the results do not depend on the
/// thread count. Problems of at most 64 x 64 run several at a time, one per vector
/// lane (AVX2, AVX-512), with the same results.
///
/// - `C`: batch*n*m, row-major per problem, finite.
/// - `a` (batch*n), `b` (batch*m): positive, each problem's sums equal (relative
///   1e-6 in f32, 1e-12 in f64).
/// - `opts`: as `kn_sinkhorn_f32`, for every problem.
/// - `f` (batch*n), `g` (batch*m): in/out potentials, finite (zeros: cold start).
/// - `plan` (nullable, batch*n*m): receives each problem's plan.
/// - `work`, `work_bytes`: at least `kn_sinkhorn_batch_work_bytes(batch, n, m)`
///   bytes, any alignment.
/// - `reports` (nullable, batch): each problem's report, as `kn_sinkhorn_f32`'s.
///
/// Returns `KN_OK` when every problem converged, `KN_NOT_CONVERGED` otherwise
/// (everything written); the argument errors of `kn_sinkhorn_f32` for any problem,
/// and `KN_ERR_DIMENSION` for `batch` zero or `batch * n * m` overflowing, all
/// before anything is written; `KN_ERR_NUMERICAL` (max|C| / reg overflowing for a
/// problem: nothing written; or a potential of some problem overflowed during its
/// iteration: that problem's f, g hold its last finite iterate and its plan and
/// report are untouched, every other problem is solved and written).
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description
/// gives, valid for the call.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `C` as in API.md
pub unsafe extern "C" fn kn_sinkhorn_batch_f32(
    batch: usize,
    n: usize,
    m: usize,
    C: *const f32,
    a: *const f32,
    b: *const f32,
    opts: *const kn_sinkhorn_opts,
    f: *mut f32,
    g: *mut f32,
    plan: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    reports: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded pointer contract.
    status(|| unsafe {
        batch_body(
            batch, n, m, C, a, b, opts, f, g, plan, work, work_bytes, reports,
        )
    })
}

/// A batch of log-domain Sinkhorn problems of one size (f64): problem `p` is
/// `kn_sinkhorn_f64(n, m, C + p*n*m, a + p*n, b + p*m, opts, f + p*n, g + p*m,
/// plan + p*n*m, ...)` with its report in `reports[p]`, and its results are
/// bit-identical to that call's. Each problem converges on its own (its own
/// iteration count and flag in its report); the problems run on the library's
/// threads (`kn_set_num_threads`) in fixed runs, so the results do not depend on the
/// thread count.
///
/// - `C`: batch*n*m, row-major per problem, finite.
/// - `a` (batch*n), `b` (batch*m): positive, each problem's sums equal (relative
///   1e-6 in f32, 1e-12 in f64).
/// - `opts`: as `kn_sinkhorn_f64`, for every problem.
/// - `f` (batch*n), `g` (batch*m): in/out potentials, finite (zeros: cold start).
/// - `plan` (nullable, batch*n*m): receives each problem's plan.
/// - `work`, `work_bytes`: at least `kn_sinkhorn_batch_work_bytes(batch, n, m)`
///   bytes, any alignment.
/// - `reports` (nullable, batch): each problem's report, as `kn_sinkhorn_f64`'s.
///
/// Returns `KN_OK` when every problem converged, `KN_NOT_CONVERGED` otherwise
/// (everything written); the argument errors of `kn_sinkhorn_f64` for any problem,
/// and `KN_ERR_DIMENSION` for `batch` zero or `batch * n * m` overflowing, all
/// before anything is written; `KN_ERR_NUMERICAL` (max|C| / reg overflowing for a
/// problem: nothing written; or a potential of some problem overflowed during its
/// iteration: that problem's f, g hold its last finite iterate and its plan and
/// report are untouched, every other problem is solved and written).
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description
/// gives, valid for the call.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `C` as in API.md
pub unsafe extern "C" fn kn_sinkhorn_batch_f64(
    batch: usize,
    n: usize,
    m: usize,
    C: *const f64,
    a: *const f64,
    b: *const f64,
    opts: *const kn_sinkhorn_opts,
    f: *mut f64,
    g: *mut f64,
    plan: *mut f64,
    work: *mut c_void,
    work_bytes: usize,
    reports: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded pointer contract.
    status(|| unsafe {
        batch_body(
            batch, n, m, C, a, b, opts, f, g, plan, work, work_bytes, reports,
        )
    })
}

/// Workspace bytes of `kn_sinkhorn_points_f32`/`_f64` for `n` points against `m` in
/// `d` dimensions (the larger of the two types, so one query serves both):
/// O((n + m) (d + 1)) plus at most 8 MiB of row tiles (under 16 MiB for
/// n = m = 100,000, d = 3).
///
/// Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n`, `m` or `d`
/// zero, or `(n + m) * d`, or the workspace, overflowing).
///
/// # Safety
/// `bytes` must be NULL or point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sinkhorn_points_work_bytes(
    n: usize,
    m: usize,
    d: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes a valid pointer to one size_t or NULL.
        let out = unsafe { out_value(bytes) }?;
        *out = sinkhorn::points_work_size::<f64>(n, m, d)?
            .max(sinkhorn::points_work_size::<f32>(n, m, d)?)
            .bytes();
        Ok(Done::Ok)
    })
}

/// The body of `kn_sinkhorn_points_*`.
///
/// # Safety
/// The pointer contract of `kn_sinkhorn_points_f64`.
#[allow(clippy::too_many_arguments)]
unsafe fn points_body<T: Real>(
    (n, m, d): (usize, usize, usize),
    x: *const T,
    y: *const T,
    a: *const T,
    b: *const T,
    opts: *const kn_sinkhorn_opts,
    f: *mut T,
    g: *mut T,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> Result<Done>
where
    Simd: kernels_core::sinkhorn::SinkhornKernels<T>,
{
    let (nd, md) = (checked_product(&[n, d])?, checked_product(&[m, d])?);
    let no_plan = core::ptr::null_mut();
    // SAFETY: forwarded pointer contract, with these lengths (`x` in the place of
    // the cost, no plan).
    let t = unsafe {
        Transport::read(
            (nd, n, m, 1),
            x,
            a,
            b,
            opts,
            f,
            g,
            no_plan,
            work,
            work_bytes,
            rep,
        )
    }?;
    // SAFETY: forwarded pointer contract.
    let y = unsafe { input(y, md) }?;
    let rep_span = t.reports.as_deref().map_or((0, 0), span);
    disjoint(&[span(t.f), span(t.g), span(t.work), rep_span], &[span(y)])?;
    let report = sinkhorn::sinkhorn_points::<T, Simd>(
        &kernels_simd::DefaultExec::default(),
        (n, m, d),
        t.c,
        y,
        t.a,
        t.b,
        &SinkhornOpts::try_from(t.opts)?,
        t.f,
        t.g,
        t.work,
    )?;
    finish(report, t.reports.and_then(|r| r.first_mut()))
}

/// Log-domain Sinkhorn between two point clouds (f32): `kn_sinkhorn_f32` for the
/// cost C_ij = |x_i - y_j|^2 (POT's `ot.dist` default), computed tile by tile on the
/// fly and never stored, so that clouds whose n x m cost matrix would not fit in
/// memory can be solved. Each entry is the direct sum of squared coordinate
/// differences (never negative, no cancellation). There is no plan output: the
/// plan is P_ij = exp((f_i + g_j - C_ij) / reg).
///
/// - `x` (n*d), `y` (m*d): the points, row-major, finite.
/// - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
/// - `opts`: as `kn_sinkhorn_f32`.
/// - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold start.
/// - `work`, `work_bytes`: at least `kn_sinkhorn_points_work_bytes(n, m, d)`
///   bytes, any alignment (NULL only with 0 bytes).
/// - `rep` (nullable): as `kn_sinkhorn_f32`'s; `value` = <P, C>, computed on the
///   fly.
///
/// Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g and rep written); `KN_ERR_NULL`;
/// `KN_ERR_DIMENSION` (n, m or d zero, (n + m) * d overflows); `KN_ERR_WORKSPACE`;
/// `KN_ERR_ARGUMENT` (opts out of range, a or b not positive or with different
/// sums, a misaligned array, an output overlapping another argument);
/// `KN_ERR_NON_FINITE` (NaN or inf in x, y, a, b, f, g); `KN_ERR_NUMERICAL` (a
/// bound of max C / reg from the clouds' bounding boxes overflows the type:
/// nothing written; or a potential overflowed during the iteration: f, g hold the
/// last iterate that was finite, rep is not written).
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description
/// gives, valid for the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sinkhorn_points_f32(
    n: usize,
    m: usize,
    d: usize,
    x: *const f32,
    y: *const f32,
    a: *const f32,
    b: *const f32,
    opts: *const kn_sinkhorn_opts,
    f: *mut f32,
    g: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded pointer contract.
    status(|| unsafe { points_body((n, m, d), x, y, a, b, opts, f, g, work, work_bytes, rep) })
}

/// Log-domain Sinkhorn between two point clouds (f64): `kn_sinkhorn_f64` for the
/// cost C_ij = |x_i - y_j|^2 (POT's `ot.dist` default), computed tile by tile on the
/// fly and never stored, so that clouds whose n x m cost matrix would not fit in
/// memory can be solved. Each entry is the direct sum of squared coordinate
/// differences (never negative, no cancellation). There is no plan output: the
/// plan is P_ij = exp((f_i + g_j - C_ij) / reg).
///
/// - `x` (n*d), `y` (m*d): the points, row-major, finite.
/// - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
/// - `opts`: as `kn_sinkhorn_f64`.
/// - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold start.
/// - `work`, `work_bytes`: at least `kn_sinkhorn_points_work_bytes(n, m, d)`
///   bytes, any alignment (NULL only with 0 bytes).
/// - `rep` (nullable): as `kn_sinkhorn_f64`'s; `value` = <P, C>, computed on the
///   fly.
///
/// Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g and rep written); `KN_ERR_NULL`;
/// `KN_ERR_DIMENSION` (n, m or d zero, (n + m) * d overflows); `KN_ERR_WORKSPACE`;
/// `KN_ERR_ARGUMENT` (opts out of range, a or b not positive or with different
/// sums, a misaligned array, an output overlapping another argument);
/// `KN_ERR_NON_FINITE` (NaN or inf in x, y, a, b, f, g); `KN_ERR_NUMERICAL` (a
/// bound of max C / reg from the clouds' bounding boxes overflows the type:
/// nothing written; or a potential overflowed during the iteration: f, g hold the
/// last iterate that was finite, rep is not written).
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description
/// gives, valid for the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sinkhorn_points_f64(
    n: usize,
    m: usize,
    d: usize,
    x: *const f64,
    y: *const f64,
    a: *const f64,
    b: *const f64,
    opts: *const kn_sinkhorn_opts,
    f: *mut f64,
    g: *mut f64,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded pointer contract.
    status(|| unsafe { points_body((n, m, d), x, y, a, b, opts, f, g, work, work_bytes, rep) })
}
