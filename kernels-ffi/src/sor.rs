//! SOR sweeps, SOR iteration, red-black grid SOR and the omega tuner.

use crate::args;
use crate::csr::{CsrArgs, csr_args, handle_args, kn_csr};
use crate::guard::{Done, status};
use crate::report::{finish, kn_report};
use crate::status::kn_status;
use core::ffi::c_void;
use kernels_core::sor::SorKernels;
use kernels_core::sor::{self, Sweep};
use kernels_core::{Error, Real, Result, checked_product};
use kernels_simd::Simd;

/// Sweep rows 0 .. n-1.
pub const KN_SWEEP_FORWARD: i32 = 1;
/// Sweep rows n-1 .. 0.
pub const KN_SWEEP_BACKWARD: i32 = 2;
/// A forward then a backward sweep (SSOR), counted as one sweep.
pub const KN_SWEEP_SYMMETRIC: i32 = 3;

/// Words of a `kn_omega_tuner` (14,464 bytes): room for 64 arms and the contextual
/// model.
pub const KN_OMEGA_TUNER_WORDS: usize = 1808;
/// The most arms an omega tuner takes.
pub const KN_OMEGA_TUNER_MAX_ARMS: u32 = 64;

const _: () = assert!(KN_OMEGA_TUNER_WORDS == sor::OMEGA_TUNER_WORDS);
const _: () = assert!(KN_OMEGA_TUNER_MAX_ARMS as usize == sor::OMEGA_TUNER_MAX_ARMS);

/// The state of an omega tuner: opaque, owned by the caller, fixed size, no pointers
/// (it may be copied, saved and restored). Initialise it with `kn_omega_tuner_init`
/// or `kn_omega_tuner_init_contextual`; every call validates it first and answers
/// `KN_ERR_ARGUMENT` for anything that is not a state the library wrote.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct kn_omega_tuner {
    /// Private to the library.
    pub opaque: [u64; KN_OMEGA_TUNER_WORDS],
}

/// # Safety
/// See the exported functions.
#[allow(clippy::too_many_arguments)]
unsafe fn sor_csr<T: Real>(
    m: Result<CsrArgs<'_, T>>,
    b: *const T,
    x: *mut T,
    omega: T,
    sweep: i32,
    sweeps: u32,
) -> kn_status
where
    Simd: SorKernels<T>,
{
    status(|| {
        let m = m?;
        let n = m.n();
        // SAFETY: b holds n values.
        let b = unsafe { args::input(b, n) }?;
        // SAFETY: x holds n values, checked for overlap below.
        let x = unsafe { args::output(x, n) }?;
        let [s0, s1, s2] = m.spans();
        args::disjoint(&[args::span(x)], &[s0, s1, s2, args::span(b)])?;
        let sweep = Sweep::from_code(sweep)?;
        let a = m.matrix()?;
        sor::sor_csr::<T, Simd>(&a, b, x, omega, sweep, sweeps)?;
        Ok(Done::Ok)
    })
}

/// In-place SOR sweeps on the `n x n` CSR matrix A (f32):
/// `x_i <- (1 - omega) x_i + omega (b_i - sum_{j != i} a_ij x_j) / a_ii`, row by row
/// in the order `sweep` gives (`KN_SWEEP_FORWARD`, `KN_SWEEP_BACKWARD`, or
/// `KN_SWEEP_SYMMETRIC` = forward then backward), `sweeps` times (0 = validate only).
///
/// Arguments: `indptr` (n + 1), `indices` (`indptr[n]`, strictly increasing within a
/// row, < n) and `values` (`indptr[n]`) are A in CSR form; `b` (n) the right-hand side;
/// `x` (n) the iterate, in/out; `omega` in (0, 2).
///
/// Status: `KN_OK`; `KN_ERR_NULL` (a NULL array); `KN_ERR_DIMENSION` (n = 0, or sizes
/// that overflow); `KN_ERR_ARGUMENT` (omega outside (0, 2), an unknown `sweep`, a
/// malformed CSR structure, a zero or missing diagonal entry, misaligned or
/// overlapping arrays); `KN_ERR_NON_FINITE` (NaN or infinity in values, b or x): on
/// all of these x is untouched. `KN_ERR_NUMERICAL`: the sweeps overflowed (SOR
/// diverged); x holds the last sweep's values.
///
/// # Safety
/// Each non-NULL pointer must point to the number of values given above, valid for
/// the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sor_csr_f32(
    n: usize,
    indptr: *const usize,
    indices: *const u32,
    values: *const f32,
    b: *const f32,
    x: *mut f32,
    omega: f32,
    sweep: i32,
    sweeps: u32,
) -> kn_status {
    // SAFETY: forwarded contract.
    unsafe {
        sor_csr(
            csr_args(n, indptr, indices, values),
            b,
            x,
            omega,
            sweep,
            sweeps,
        )
    }
}

/// In-place SOR sweeps on a CSR matrix (f64); see `kn_sor_csr_f32`.
///
/// # Safety
/// As for `kn_sor_csr_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sor_csr_f64(
    n: usize,
    indptr: *const usize,
    indices: *const u32,
    values: *const f64,
    b: *const f64,
    x: *mut f64,
    omega: f64,
    sweep: i32,
    sweeps: u32,
) -> kn_status {
    // SAFETY: forwarded contract.
    unsafe {
        sor_csr(
            csr_args(n, indptr, indices, values),
            b,
            x,
            omega,
            sweep,
            sweeps,
        )
    }
}

/// Workspace bytes `kn_sor_solve_csr_f32`/`_f64` need for order `n`, into `*bytes`
/// (currently 0: NULL work with 0 bytes is fine).
///
/// Status: `KN_OK`; `KN_ERR_NULL` (bytes is NULL); `KN_ERR_DIMENSION` (n = 0).
///
/// # Safety
/// `bytes` must be NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sor_solve_work_bytes(n: usize, bytes: *mut usize) -> kn_status {
    status(|| {
        // SAFETY: the caller's contract.
        let out = unsafe { args::out_value(bytes) }?;
        *out = sor::sor_solve_work_size(n)?.bytes();
        Ok(Done::Ok)
    })
}

/// # Safety
/// See the exported functions.
#[allow(clippy::too_many_arguments)]
unsafe fn sor_solve<T: Real>(
    m: Result<CsrArgs<'_, T>>,
    b: *const T,
    x: *mut T,
    omega: T,
    tol: f64,
    max_iter: u32,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status
where
    Simd: SorKernels<T>,
{
    status(|| {
        let m = m?;
        let n = m.n();
        // SAFETY: b holds n values.
        let b = unsafe { args::input(b, n) }?;
        // SAFETY: x holds n values, checked for overlap below.
        let x = unsafe { args::output(x, n) }?;
        // SAFETY: rep is NULL or one kn_report, checked for overlap below.
        let rep = unsafe { args::output_opt(rep, 1) }?;
        // SAFETY: work is NULL with 0 bytes or work_bytes bytes.
        let work = unsafe { args::workspace(work, work_bytes) }?;
        let [s0, s1, s2] = m.spans();
        let mut outs = [args::span(x), args::span(work), (0, 0)];
        if let Some(r) = rep.as_deref() {
            outs[2] = args::span(r);
        }
        args::disjoint(&outs, &[s0, s1, s2, args::span(b)])?;
        if work.len() < sor::sor_solve_work_size(n)?.bytes() {
            return Err(Error::Workspace);
        }
        let a = m.matrix()?;
        let report = sor::sor_solve::<T, Simd>(&a, b, x, omega, tol, max_iter)?;
        finish(report, rep.and_then(|r| r.first_mut()))
    })
}

/// Forward SOR iterations on A x = b (f32) from the initial guess in `x` until the
/// relative residual `||b - A x|| / ||b|| <= tol` (checked before the first sweep and
/// after each one; the absolute residual when b = 0), at most `max_iter` sweeps.
///
/// Arguments: A in CSR form and `b`, `x`, `omega` as for `kn_sor_csr_f32`; `tol` > 0;
/// `max_iter` > 0; `work`/`work_bytes` as `kn_sor_solve_work_bytes` says (any
/// alignment); `rep` (nullable) receives `iterations` = sweeps done, `error` = the
/// relative residual at exit, `converged`.
///
/// Status: `KN_OK` (converged); `KN_NOT_CONVERGED` (x holds the last iterate, rep is
/// filled); `KN_ERR_NULL`, `KN_ERR_DIMENSION`, `KN_ERR_WORKSPACE`, `KN_ERR_ARGUMENT`
/// (also tol not positive, max_iter = 0), `KN_ERR_NON_FINITE`: x and rep untouched.
/// `KN_ERR_NUMERICAL`: the residual overflowed (SOR diverged); x holds the last
/// iterate, rep is not written.
///
/// # Safety
/// Each non-NULL pointer must point to the number of values given above, valid for
/// the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sor_solve_csr_f32(
    n: usize,
    indptr: *const usize,
    indices: *const u32,
    values: *const f32,
    b: *const f32,
    x: *mut f32,
    omega: f32,
    tol: f64,
    max_iter: u32,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded contract.
    unsafe {
        let m = csr_args(n, indptr, indices, values);
        sor_solve(m, b, x, omega, tol, max_iter, work, work_bytes, rep)
    }
}

/// Forward SOR iterations to a relative residual (f64); see `kn_sor_solve_csr_f32`.
///
/// # Safety
/// As for `kn_sor_solve_csr_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sor_solve_csr_f64(
    n: usize,
    indptr: *const usize,
    indices: *const u32,
    values: *const f64,
    b: *const f64,
    x: *mut f64,
    omega: f64,
    tol: f64,
    max_iter: u32,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded contract.
    unsafe {
        let m = csr_args(n, indptr, indices, values);
        sor_solve(m, b, x, omega, tol, max_iter, work, work_bytes, rep)
    }
}

/// `kn_sor_csr_f32` on a matrix checked once by `kn_csr_init_f32`: the same sweeps
/// and statuses, without reading the whole matrix to validate it (the handle's
/// contract: its arrays are unchanged since init). A handle that `kn_csr_init_f32`
/// did not write (or wrote for f64) is `KN_ERR_ARGUMENT`.
///
/// # Safety
/// `h` must be NULL or point to a readable `kn_csr` whose arrays are still valid;
/// `b` and `x` as for `kn_sor_csr_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sor_csr_h_f32(
    h: *const kn_csr,
    b: *const f32,
    x: *mut f32,
    omega: f32,
    sweep: i32,
    sweeps: u32,
) -> kn_status {
    // SAFETY: forwarded contract.
    unsafe { sor_csr(handle_args(h), b, x, omega, sweep, sweeps) }
}

/// `kn_sor_csr_h_f32` for f64 (a handle from `kn_csr_init_f64`).
///
/// # Safety
/// As for `kn_sor_csr_h_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sor_csr_h_f64(
    h: *const kn_csr,
    b: *const f64,
    x: *mut f64,
    omega: f64,
    sweep: i32,
    sweeps: u32,
) -> kn_status {
    // SAFETY: forwarded contract.
    unsafe { sor_csr(handle_args(h), b, x, omega, sweep, sweeps) }
}

/// `kn_sor_solve_csr_f32` on a matrix checked once by `kn_csr_init_f32` (see
/// `kn_sor_csr_h_f32`).
///
/// # Safety
/// `h` as for `kn_sor_csr_h_f32`; the rest as for `kn_sor_solve_csr_f32`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_sor_solve_csr_h_f32(
    h: *const kn_csr,
    b: *const f32,
    x: *mut f32,
    omega: f32,
    tol: f64,
    max_iter: u32,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded contract.
    unsafe {
        sor_solve(
            handle_args(h),
            b,
            x,
            omega,
            tol,
            max_iter,
            work,
            work_bytes,
            rep,
        )
    }
}

/// `kn_sor_solve_csr_h_f32` for f64 (a handle from `kn_csr_init_f64`).
///
/// # Safety
/// As for `kn_sor_solve_csr_h_f32`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_sor_solve_csr_h_f64(
    h: *const kn_csr,
    b: *const f64,
    x: *mut f64,
    omega: f64,
    tol: f64,
    max_iter: u32,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded contract.
    unsafe {
        sor_solve(
            handle_args(h),
            b,
            x,
            omega,
            tol,
            max_iter,
            work,
            work_bytes,
            rep,
        )
    }
}

/// # Safety
/// See the exported functions.
#[allow(clippy::too_many_arguments)]
unsafe fn sor_grid2d<T: Real>(
    nx: usize,
    ny: usize,
    shift: T,
    b: *const T,
    x: *mut T,
    omega: T,
    sweeps: u32,
) -> kn_status
where
    Simd: SorKernels<T>,
{
    status(|| {
        let len = checked_product(&[nx, ny])?;
        // SAFETY: b holds nx * ny values.
        let b = unsafe { args::input(b, len) }?;
        // SAFETY: x holds nx * ny values, checked for overlap below.
        let x = unsafe { args::output(x, len) }?;
        args::disjoint(&[args::span(x)], &[args::span(b)])?;
        sor::sor_grid2d::<T, Simd>(
            &kernels_simd::DefaultExec::default(),
            nx,
            ny,
            shift,
            b,
            x,
            omega,
            sweeps,
        )?;
        Ok(Done::Ok)
    })
}

/// In-place red-black SOR sweeps (f32) for the matrix `(4 + shift) I - (sum of the
/// four neighbours)` on an `nx`-by-`ny` interior grid with zero Dirichlet boundary.
/// `x` and `b` are `nx * ny` values, row-major: `x[i * nx + j]`, row `i < ny`, column
/// `j < nx`. One sweep updates the red points (i + j even), then the black points
/// (i + j odd); `sweeps` = 0 validates only.
///
/// Status: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_DIMENSION` (nx or ny zero, product
/// overflow); `KN_ERR_ARGUMENT` (omega outside (0, 2), 4 + shift zero, misaligned or
/// overlapping arrays); `KN_ERR_NON_FINITE` (NaN or infinity in shift, b or x): on
/// all of these x is untouched. `KN_ERR_NUMERICAL`: the sweeps overflowed; x holds
/// the last sweep's values.
///
/// # Safety
/// `b` and `x` must be NULL or point to `nx * ny` values, valid for the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sor_grid2d_f32(
    nx: usize,
    ny: usize,
    shift: f32,
    b: *const f32,
    x: *mut f32,
    omega: f32,
    sweeps: u32,
) -> kn_status {
    // SAFETY: forwarded contract.
    unsafe { sor_grid2d(nx, ny, shift, b, x, omega, sweeps) }
}

/// In-place red-black SOR sweeps on the shifted 5-point grid (f64); see
/// `kn_sor_grid2d_f32`.
///
/// # Safety
/// As for `kn_sor_grid2d_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_sor_grid2d_f64(
    nx: usize,
    ny: usize,
    shift: f64,
    b: *const f64,
    x: *mut f64,
    omega: f64,
    sweeps: u32,
) -> kn_status {
    // SAFETY: forwarded contract.
    unsafe { sor_grid2d(nx, ny, shift, b, x, omega, sweeps) }
}

/// Stores a fresh state into `*t` (written without being read).
///
/// # Safety
/// `t` must be NULL or valid for writes of one `kn_omega_tuner`.
unsafe fn store(t: *mut kn_omega_tuner, words: Result<sor::TunerWords>) -> Result<Done> {
    // SAFETY: the caller's contract; the state is plain integers (any bits valid).
    let slot = unsafe { args::out_value(t) }?;
    let words = words?;
    slot.opaque = words;
    Ok(Done::Ok)
}

/// Initialises a non-contextual omega tuner: Tsallis-INF over `arms` omegas evenly
/// spaced on [omega_min, omega_max], driven by `seed` (same seed, same choices).
///
/// Arguments: `t` the state to initialise (its previous contents are ignored);
/// `arms` in 2 .. KN_OMEGA_TUNER_MAX_ARMS; 0 < omega_min < omega_max < 2.
///
/// Status: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_ARGUMENT` (a range violated, misaligned
/// t); `KN_ERR_NON_FINITE` (NaN or infinite bounds): on errors `*t` is untouched.
///
/// # Safety
/// `t` must be NULL or valid for writes of one `kn_omega_tuner`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_omega_tuner_init(
    t: *mut kn_omega_tuner,
    arms: u32,
    omega_min: f64,
    omega_max: f64,
    seed: u64,
) -> kn_status {
    let words = sor::tuner_init(arms, omega_min, omega_max, seed);
    // SAFETY: forwarded contract.
    status(|| unsafe { store(t, words) })
}

/// Initialises a contextual omega tuner over the same grid of omegas: per arm a
/// ridge regression of the cost on Chebyshev features (degree 5) of the context
/// mapped from [context_min, context_max] to [-1, 1] (outside values are clamped),
/// with inverse-gap-weighted sampling (ChebCB).
///
/// Status: as `kn_omega_tuner_init`, plus `KN_ERR_ARGUMENT` for
/// context_min >= context_max and `KN_ERR_NON_FINITE` for non-finite context bounds.
///
/// # Safety
/// `t` must be NULL or valid for writes of one `kn_omega_tuner`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_omega_tuner_init_contextual(
    t: *mut kn_omega_tuner,
    arms: u32,
    omega_min: f64,
    omega_max: f64,
    context_min: f64,
    context_max: f64,
    seed: u64,
) -> kn_status {
    let words =
        sor::tuner_init_contextual(arms, omega_min, omega_max, context_min, context_max, seed);
    // SAFETY: forwarded contract.
    status(|| unsafe { store(t, words) })
}

/// Draws the omega for the next system into `*omega`. `context` is used by a
/// contextual tuner and ignored otherwise. Must be followed by exactly one
/// `kn_omega_tuner_feedback` before the next call.
///
/// Status: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_ARGUMENT` (t is not a valid initialised
/// state, a previous draw still waits for its feedback, misaligned or overlapping
/// pointers); `KN_ERR_NON_FINITE` (a contextual tuner given a NaN or infinite
/// context): on errors neither `*t` nor `*omega` is written.
///
/// # Safety
/// `t` must be NULL or point to a `kn_omega_tuner`, `omega` NULL or valid for one
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_omega_tuner_next(
    t: *mut kn_omega_tuner,
    context: f64,
    omega: *mut f64,
) -> kn_status {
    status(|| {
        // SAFETY: the caller's contract.
        let state = unsafe { args::output(t, 1) }?;
        // SAFETY: the caller's contract; overlap checked below.
        let out = unsafe { args::output(omega, 1) }?;
        args::disjoint(&[args::span(state), args::span(out)], &[])?;
        let state = state.first_mut().ok_or(Error::Internal)?;
        let w = sor::tuner_next(&mut state.opaque, context)?;
        if let Some(o) = out.first_mut() {
            *o = w;
        }
        Ok(Done::Ok)
    })
}

/// Reports the cost of the system solved with the last drawn omega: any
/// nonnegative measure, lower is better (sweeps, seconds).
///
/// Status: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_ARGUMENT` (invalid state, no draw waiting
/// for feedback, negative cost, or a cost that takes the sum of all costs reported to
/// this tuner above 2^512, about 1.3e154); `KN_ERR_NON_FINITE` (NaN or infinite cost):
/// on errors `*t` is untouched.
///
/// # Safety
/// `t` must be NULL or point to a `kn_omega_tuner`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_omega_tuner_feedback(t: *mut kn_omega_tuner, cost: f64) -> kn_status {
    status(|| {
        // SAFETY: the caller's contract.
        let state = unsafe { args::out_value(t) }?;
        sor::tuner_feedback(&mut state.opaque, cost)?;
        Ok(Done::Ok)
    })
}
