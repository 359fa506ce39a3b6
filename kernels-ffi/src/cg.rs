//! Preconditioned conjugate gradients on CSR matrices.

use crate::args::{disjoint, input, out_value, output, output_opt, span, workspace};
use crate::csr::{CsrArgs, csr_args, handle_args, kn_csr};
use crate::guard::{Done, status};
use crate::opts::{self, Opts, size_of_u32};
use crate::report::{finish, kn_report};
use crate::status::kn_status;
use core::ffi::c_void;
use kernels_core::cg::CgKernels;
use kernels_core::cg::{self, CgOpts, Precond};
use kernels_core::{Real, Result};
use kernels_simd::Simd;

/// No preconditioner: plain CG.
pub const KN_PRECOND_NONE: i32 = 0;
/// Jacobi: `M = diag(A)`.
pub const KN_PRECOND_JACOBI: i32 = 1;
/// SSOR with relaxation `omega` in (0, 2): a forward then a backward SOR sweep.
pub const KN_PRECOND_SSOR: i32 = 2;

/// Options of `kn_cg_csr_f32`/`kn_cg_csr_f64`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct kn_cg_opts {
    /// `sizeof` of this struct as the caller compiled it; `kn_cg_opts_default()`
    /// fills it in.
    /// The library reads only the fields that fit in `size` bytes (later fields take
    /// their defaults); `size` below the first version of the struct (version 0.2.0)
    /// or above what the library knows (a newer header) is `KN_ERR_ARGUMENT`.
    pub size: u32,
    /// Stop when `||b - A x|| / ||b|| <= tol`; > 0 and finite.
    pub tol: f64,
    /// Iteration cap; > 0.
    pub max_iter: u32,
    /// `KN_PRECOND_NONE`, `KN_PRECOND_JACOBI` or `KN_PRECOND_SSOR`.
    pub precond: i32,
    /// SSOR relaxation factor in (0, 2); ignored by the other preconditioners.
    pub omega: f64,
}

// SAFETY: repr(C), begins with `size: u32`, numbers only.
unsafe impl Opts for kn_cg_opts {
    // size, padding, tol, max_iter, precond, omega.
    const V1_SIZE: usize = 32;
}

impl Default for kn_cg_opts {
    /// What `kn_cg_opts_default` returns.
    fn default() -> Self {
        let o = CgOpts::default();
        let (precond, omega) = match o.precond {
            Precond::None => (KN_PRECOND_NONE, 1.0),
            Precond::Jacobi => (KN_PRECOND_JACOBI, 1.0),
            Precond::Ssor { omega } => (KN_PRECOND_SSOR, omega),
        };
        kn_cg_opts {
            size: size_of_u32::<Self>(),
            tol: o.tol,
            max_iter: o.max_iter,
            precond,
            omega,
        }
    }
}

/// The default options of `kn_cg_csr_*`, with `size` filled in: `tol` = 1e-8,
/// `max_iter` = 1000, `precond` = `KN_PRECOND_JACOBI`, `omega` = 1 (used only if
/// `precond` is set to `KN_PRECOND_SSOR`: symmetric Gauss-Seidel). Start from these
/// and set the fields you need, so that fields added later keep their defaults.
#[unsafe(no_mangle)]
pub extern "C" fn kn_cg_opts_default() -> kn_cg_opts {
    kn_cg_opts::default()
}

/// Workspace bytes of `kn_cg_csr_f32`/`kn_cg_csr_f64` for order `n` (the larger of
/// the two types, so one query serves both; the same for every preconditioner).
///
/// Status: `KN_OK`; `KN_ERR_NULL` (`bytes` NULL); `KN_ERR_DIMENSION` (`n` = 0, or
/// the size overflows).
///
/// # Safety
/// `bytes` must be NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cg_work_bytes(n: usize, bytes: *mut usize) -> kn_status {
    status(|| {
        // SAFETY: the caller's contract.
        let out = unsafe { out_value(bytes) }?;
        *out = cg::cg_work_size::<f64>(n)?
            .max(cg::cg_work_size::<f32>(n)?)
            .bytes();
        Ok(Done::Ok)
    })
}

/// The body of `kn_cg_csr_*`.
///
/// # Safety
/// The pointer contract of `kn_cg_csr_f32`.
#[allow(clippy::too_many_arguments)]
unsafe fn cg_body<T: Real>(
    m: Result<CsrArgs<'_, T>>,
    b: *const T,
    x: *mut T,
    opts: *const kn_cg_opts,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> Result<Done>
where
    Simd: CgKernels<T>,
{
    let m = m?;
    let n = m.n();
    // SAFETY: the caller's contract: each non-NULL pointer covers the length implied
    // by n, and outputs are not aliased (checked below with `disjoint`).
    let (b, (o, opts_span), x, work, rep) = unsafe {
        (
            input(b, n)?,
            opts::read(opts)?,
            output(x, n)?,
            workspace(work, work_bytes)?,
            output_opt(rep, 1)?,
        )
    };
    let [s0, s1, s2] = m.spans();
    let rep_span = rep.as_deref().map_or((0, 0), span);
    disjoint(
        &[span(x), span(work), rep_span],
        &[s0, s1, s2, span(b), opts_span],
    )?;
    let opts = CgOpts::default()
        .tol(o.tol)
        .max_iter(o.max_iter)
        .precond(Precond::from_code(o.precond, o.omega)?);
    let a = m.matrix()?;
    let report = cg::cg::<T, Simd>(&kernels_simd::DefaultExec::default(), &a, b, x, &opts, work)?;
    finish(report, rep.and_then(|r| r.first_mut()))
}

/// Solves `A x = b` (f32) for a symmetric positive definite `n x n` matrix `A` in
/// CSR form (both triangles stored) by preconditioned conjugate gradients, from the
/// initial guess in `x`, until `||b - A x|| / ||b|| <= opts->tol` (the absolute
/// residual when b = 0) or `opts->max_iter` iterations. Symmetry is not checked.
///
/// Arguments: `indptr` (n + 1), `indices` (`indptr[n]`, strictly increasing within a
/// row, < n) and `values` (`indptr[n]`) are A; every diagonal entry must be stored
/// and nonzero. `b` (n) the right-hand side; `x` (n) the initial guess in, the
/// solution out; `opts` the tolerance, the iteration cap and the preconditioner
/// (`KN_PRECOND_NONE`, `KN_PRECOND_JACOBI`, or `KN_PRECOND_SSOR` with `omega` in
/// (0, 2)); `work`/`work_bytes` as `kn_cg_work_bytes` says (any alignment); `rep`
/// (nullable) receives `iterations` = CG iterations, `error` = the relative residual
/// `||b - A x|| / ||b||` of the returned x, `converged`.
///
/// Status: `KN_OK` (converged); `KN_NOT_CONVERGED` (x holds the last iterate, rep is
/// filled); `KN_ERR_NULL` (a NULL array or opts); `KN_ERR_DIMENSION` (n = 0, sizes
/// that overflow); `KN_ERR_WORKSPACE` (work too small); `KN_ERR_ARGUMENT` (a
/// malformed CSR structure, a zero or missing diagonal entry, tol not positive and
/// finite, max_iter = 0, an unknown preconditioner, an SSOR omega outside (0, 2),
/// misaligned or overlapping arrays); `KN_ERR_NON_FINITE` (NaN or infinity in
/// values, b or x); `KN_ERR_NUMERICAL` found before the iteration (a negative
/// diagonal entry: A is not positive definite): on all of these x and rep are
/// untouched. `KN_ERR_NUMERICAL` during the iteration (a curvature `p^T A p <= 0`,
/// which proves A is not positive definite, or an overflow): x holds the last
/// iterate, rep is not written.
///
/// # Safety
/// Each non-NULL pointer must point to the number of values given above, valid for
/// the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cg_csr_f32(
    n: usize,
    indptr: *const usize,
    indices: *const u32,
    values: *const f32,
    b: *const f32,
    x: *mut f32,
    opts: *const kn_cg_opts,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded contract.
    status(|| unsafe {
        let m = csr_args(n, indptr, indices, values);
        cg_body(m, b, x, opts, work, work_bytes, rep)
    })
}

/// Preconditioned conjugate gradients on a CSR matrix (f64); see `kn_cg_csr_f32`.
///
/// # Safety
/// As for `kn_cg_csr_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cg_csr_f64(
    n: usize,
    indptr: *const usize,
    indices: *const u32,
    values: *const f64,
    b: *const f64,
    x: *mut f64,
    opts: *const kn_cg_opts,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded contract.
    status(|| unsafe {
        let m = csr_args(n, indptr, indices, values);
        cg_body(m, b, x, opts, work, work_bytes, rep)
    })
}

/// `kn_cg_csr_f32` on a matrix checked once by `kn_csr_init_f32`: the same solve and
/// statuses, without reading the whole matrix to validate it (the handle's contract:
/// its arrays are unchanged since init). A handle that `kn_csr_init_f32` did not
/// write (or wrote for f64) is `KN_ERR_ARGUMENT`.
///
/// # Safety
/// `h` must be NULL or point to a readable `kn_csr` whose arrays are still valid;
/// the rest as for `kn_cg_csr_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cg_csr_h_f32(
    h: *const kn_csr,
    b: *const f32,
    x: *mut f32,
    opts: *const kn_cg_opts,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { cg_body(handle_args(h), b, x, opts, work, work_bytes, rep) })
}

/// `kn_cg_csr_h_f32` for f64 (a handle from `kn_csr_init_f64`).
///
/// # Safety
/// As for `kn_cg_csr_h_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cg_csr_h_f64(
    h: *const kn_csr,
    b: *const f64,
    x: *mut f64,
    opts: *const kn_cg_opts,
    work: *mut c_void,
    work_bytes: usize,
    rep: *mut kn_report,
) -> kn_status {
    // SAFETY: forwarded contract.
    status(|| unsafe { cg_body(handle_args(h), b, x, opts, work, work_bytes, rep) })
}
