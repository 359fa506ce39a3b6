//! `kn_cuda_scale_*` and `kn_cuda_sinkhorn_*`: matrix scaling and log-domain
//! Sinkhorn on the device, with the semantics of `kn_scale_*` and `kn_sinkhorn_*`.

use crate::report::kn_report;
use crate::sinkhorn::kn_sinkhorn_opts;
use crate::status::kn_status;
use core::ffi::c_void;

#[cfg(feature = "cuda")]
use {
    super::device,
    crate::args::{out_value, output_opt},
    crate::guard::Done,
    crate::opts,
    crate::report::finish,
    kernels_core::sinkhorn::{Method, SinkhornOpts},
    kernels_core::{Error, Result, WorkspaceSize, checked_product},
    kernels_cuda::{Borrowed, Context, CudaReal, DeviceWrite, sinkhorn as dev},
};

/// Device workspaces are carved at this alignment; the byte queries include the slack.
#[cfg(feature = "cuda")]
const WORK_ALIGN: usize = 16;

/// The body of both workspace queries (`log`: the log-domain solver's, else kernel
/// mode's): the larger of the f32 and f64 workspaces, plus the slack that aligns it at
/// any address of `work`.
///
/// # Safety
/// `bytes` is NULL or points to a writable `size_t`.
#[cfg(feature = "cuda")]
unsafe fn work_bytes_device(log: bool, n: usize, m: usize, bytes: *mut usize) -> Result<Done> {
    device::require()?;
    // SAFETY: the caller passes a valid pointer to one size_t or NULL.
    let out = unsafe { out_value(bytes) }?;
    let size = if log {
        dev::sinkhorn_work_size::<f64>(n, m)?.max(dev::sinkhorn_work_size::<f32>(n, m)?)
    } else {
        dev::scale_work_size::<f64>(n, m)?.max(dev::scale_work_size::<f32>(n, m)?)
    };
    *out = size
        .then(WorkspaceSize::new().array::<u8>(WORK_ALIGN)?)?
        .bytes();
    Ok(Done::Ok)
}

/// [`Error::Null`] when `work` is NULL with `bytes` > 0 (the host functions' order:
/// pointers before sizes).
#[cfg(feature = "cuda")]
fn work_not_null(work: *mut c_void, bytes: usize) -> Result<()> {
    if work.is_null() && bytes > 0 {
        Err(Error::Null)
    } else {
        Ok(())
    }
}

/// The caller's device workspace: the array of `T` that `size` describes, from the
/// first `WORK_ALIGN`-aligned address of `[work, work + bytes)`; `KN_ERR_WORKSPACE`
/// when it is too small (or NULL).
///
/// # Safety
/// `work` is NULL or a device allocation of at least `bytes` bytes in `ctx`'s context.
#[cfg(feature = "cuda")]
unsafe fn device_work<T>(
    ctx: &Context,
    work: *mut c_void,
    bytes: usize,
    size: WorkspaceSize,
) -> Result<Borrowed<T>> {
    let len = size.len_of::<T>();
    let addr = work as usize;
    let pad = addr
        .checked_next_multiple_of(WORK_ALIGN)
        .map(|a| a - addr)
        .ok_or(Error::Workspace)?;
    let need = len
        .checked_mul(size_of::<T>())
        .and_then(|b| b.checked_add(pad))
        .ok_or(Error::Dimension)?;
    if work.is_null() || bytes < need {
        return Err(Error::Workspace);
    }
    // SAFETY: [addr + pad, addr + need) lies inside the caller's allocation of
    // `bytes` bytes (need <= bytes), aligned for T.
    unsafe { device::buffer(ctx, (addr + pad) as *const T, len) }
}

/// Device workspace bytes of `kn_cuda_scale_f32` / `kn_cuda_scale_f64` for an
/// `n x m` matrix (one query serves both types and any alignment of `work`).
///
/// Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n` or `m`
/// zero, or the size overflows), `KN_ERR_UNSUPPORTED` (no CUDA support, driver,
/// device or NVRTC; checked first).
///
/// # Safety
/// `bytes` must be NULL or point to a writable `size_t` (host memory).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cuda_scale_work_bytes(
    n: usize,
    m: usize,
    bytes: *mut usize,
) -> kn_status {
    cuda_entry!(work_bytes_device(false, n, m, bytes))
}

/// Device workspace bytes of `kn_cuda_sinkhorn_f32` / `kn_cuda_sinkhorn_f64` for an
/// `n x m` cost matrix (one query serves both types and any alignment of `work`).
///
/// Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n` or `m`
/// zero, or the size overflows), `KN_ERR_UNSUPPORTED` (no CUDA support, driver,
/// device or NVRTC; checked first).
///
/// # Safety
/// `bytes` must be NULL or point to a writable `size_t` (host memory).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cuda_sinkhorn_work_bytes(
    n: usize,
    m: usize,
    bytes: *mut usize,
) -> kn_status {
    cuda_entry!(work_bytes_device(true, n, m, bytes))
}

/// The body of `kn_cuda_scale_*`.
///
/// # Safety
/// The pointer contract of `kn_cuda_scale_f32`.
#[cfg(feature = "cuda")]
#[allow(clippy::too_many_arguments)]
unsafe fn scale_device<T: CudaReal>(
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
    stream: *mut c_void,
) -> Result<Done> {
    // SAFETY: forwarded stream contract.
    let ctx = unsafe { device::context(stream) }?;
    let nm = checked_product(&[n, m])?;
    // SAFETY: the caller's contract: opts and rep are host memory; every other
    // pointer is device memory of the length n and m imply, in ctx's context.
    // Checked in the host function's order: K, a, b, opts, u, v, work, rep.
    let (k, a, b, (opts, _), mut u, mut v) = unsafe {
        (
            device::buffer(&ctx, k, nm)?,
            device::buffer(&ctx, a, n)?,
            device::buffer(&ctx, b, m)?,
            opts::read(opts)?,
            device::buffer(&ctx, u.cast_const(), n)?,
            device::buffer(&ctx, v.cast_const(), m)?,
        )
    };
    work_not_null(work, work_bytes)?;
    // SAFETY: rep is NULL or a host kn_report.
    let rep = unsafe { output_opt(rep, 1) }?;
    let size = dev::scale_work_size::<T>(n, m)?;
    // SAFETY: the caller's contract for work.
    let mut work = unsafe { device_work::<T>(&ctx, work, work_bytes, size) }?;
    device::disjoint_device(
        &[u.span(), v.span(), work.span()],
        &[k.span(), a.span(), b.span()],
    )?;
    let opts = SinkhornOpts::try_from(opts)?;
    let report = dev::scale(&ctx, n, m, &k, &a, &b, &opts, &mut u, &mut v, &mut work)?;
    finish(report, rep.and_then(|r| r.first_mut()))
}

/// The body of `kn_cuda_sinkhorn_*`.
///
/// # Safety
/// The pointer contract of `kn_cuda_sinkhorn_f32`.
#[cfg(feature = "cuda")]
#[allow(clippy::too_many_arguments)]
unsafe fn sinkhorn_device<T: CudaReal>(
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
    rep: *mut kn_report,
    stream: *mut c_void,
) -> Result<Done> {
    // SAFETY: forwarded stream contract.
    let ctx = unsafe { device::context(stream) }?;
    let nm = checked_product(&[n, m])?;
    // SAFETY: the caller's contract: opts and rep are host memory; every other
    // pointer is device memory of the length n and m imply, in ctx's context.
    // Checked in the host function's order: C, a, b, opts, f, g, plan, work, rep.
    let (c, a, b, (opts, _), mut f, mut g) = unsafe {
        (
            device::buffer(&ctx, c, nm)?,
            device::buffer(&ctx, a, n)?,
            device::buffer(&ctx, b, m)?,
            opts::read(opts)?,
            device::buffer(&ctx, f.cast_const(), n)?,
            device::buffer(&ctx, g.cast_const(), m)?,
        )
    };
    let mut plan = if plan.is_null() {
        None
    } else {
        // SAFETY: the caller's contract: a non-NULL plan holds n*m values.
        Some(unsafe { device::buffer(&ctx, plan.cast_const(), nm) }?)
    };
    work_not_null(work, work_bytes)?;
    // SAFETY: rep is NULL or a host kn_report.
    let rep = unsafe { output_opt(rep, 1) }?;
    let size = dev::sinkhorn_work_size::<T>(n, m)?;
    // SAFETY: the caller's contract for work.
    let mut work = unsafe { device_work::<T>(&ctx, work, work_bytes, size) }?;
    let plan_span = plan.as_ref().map_or((0, 0), |p| p.span());
    device::disjoint_device(
        &[f.span(), g.span(), plan_span, work.span()],
        &[c.span(), a.span(), b.span()],
    )?;
    let opts = SinkhornOpts::try_from(opts)?;
    // Absorption, epsilon scaling and over-relaxation are host only; bad values are
    // still KN_ERR_ARGUMENT first, as on the host.
    opts.check(true)?;
    if opts.method == Method::Absorb || opts.eps_scaling != 0.0 || opts.overrelax != 0.0 {
        return Err(Error::Unsupported);
    }
    let report = dev::sinkhorn(
        &ctx,
        n,
        m,
        &c,
        &a,
        &b,
        &opts,
        &mut f,
        &mut g,
        plan.as_mut().map(|p| p as &mut dyn DeviceWrite<T>),
        &mut work,
    )?;
    finish(report, rep.and_then(|r| r.first_mut()))
}

/// Sinkhorn-Knopp matrix scaling on the device (f32): `kn_scale_f32` with device
/// memory. Positive `u` (n), `v` (m) such that diag(u) K diag(v) has row sums `a`
/// and column sums `b` (v = b / (K^T u), then u = a / (K v), each iteration).
///
/// - `K` (n*m, row-major), `a` (n), `b` (m), `u`, `v`: DEVICE pointers in the
///   current device's primary context (what the CUDA runtime uses), aligned for
///   the element type. Same requirements as `kn_scale_f32`: K nonnegative and
///   finite, a and b positive with equal sums (relative 1e-6), u and v
///   nonnegative and finite; u all zero is the cold start (ones).
/// - `opts`, `rep` (nullable): HOST pointers; `rep` as for `kn_scale_f32`.
/// - `work`: DEVICE memory of `work_bytes` >= `kn_cuda_scale_work_bytes(n, m)`
///   bytes, any alignment.
/// - `stream`: a `CUstream` (`cudaStream_t`) of that context, NULL for the
///   default stream. The call synchronises it (it returns a report).
///
/// Returns the statuses of `kn_scale_f32`, checked in the same order before
/// anything is written (the vectors are copied to the host and K is checked by a
/// read-only kernel first), and `KN_ERR_UNSUPPORTED` when there is no CUDA
/// support, driver, device or NVRTC (before any argument is looked at).
/// `KN_ERR_NUMERICAL` during the iteration leaves the last finite u, v. A
/// failing CUDA call is `KN_ERR_INTERNAL`.
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description gives
/// in the memory it names, valid for the call; `stream` must be NULL or a live
/// stream of the current device's primary context.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `K` as in API.md
pub unsafe extern "C" fn kn_cuda_scale_f32(
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
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(scale_device(
        n, m, K, a, b, opts, u, v, work, work_bytes, rep, stream
    ))
}

/// Sinkhorn-Knopp matrix scaling on the device (f64): `kn_scale_f64` with device
/// memory; everything else as `kn_cuda_scale_f32` (equal sums to relative 1e-12).
///
/// # Safety
/// As `kn_cuda_scale_f32`.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `K` as in API.md
pub unsafe extern "C" fn kn_cuda_scale_f64(
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
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(scale_device(
        n, m, K, a, b, opts, u, v, work, work_bytes, rep, stream
    ))
}

/// Log-domain Sinkhorn on the device (f32): `kn_sinkhorn_f32` with device memory.
/// Potentials `f` (n), `g` (m) of min <P, C> + reg * sum P (log P - 1) subject to
/// P 1 = a, P^T 1 = b, with P_ij = exp((f_i + g_j - C_ij) / reg); row and column
/// log-sum-exps with the maximum shifted out.
///
/// - `C` (n*m, row-major), `a` (n), `b` (m), `f`, `g`, `plan` (nullable, n*m):
///   DEVICE pointers in the current device's primary context, aligned for the
///   element type. Same requirements as `kn_sinkhorn_f32`: C, f, g finite (zeros
///   are the cold start), a and b positive with equal sums (relative 1e-6).
/// - `opts`, `rep` (nullable): HOST pointers; `rep` as for `kn_sinkhorn_f32`
///   (`value` = <P, C>, summed in double and rounded to the element type).
/// - `work`: DEVICE memory of `work_bytes` >= `kn_cuda_sinkhorn_work_bytes(n, m)`
///   bytes, any alignment.
/// - `stream`: a `CUstream` (`cudaStream_t`) of that context, NULL for the
///   default stream. The call synchronises it (it returns a report).
///
/// Returns the statuses of `kn_sinkhorn_f32`, checked in the same order before
/// anything is written (the vectors are copied to the host and C is checked by a
/// read-only kernel first), and `KN_ERR_UNSUPPORTED` when there is no CUDA
/// support, driver, device or NVRTC (before any argument is looked at).
/// `KN_ERR_NUMERICAL` during the iteration leaves the last finite f, g and does
/// not touch plan. A failing CUDA call is `KN_ERR_INTERNAL`.
///
/// # Safety
/// Each non-NULL pointer must point to the number of values its description gives
/// in the memory it names, valid for the call; `stream` must be NULL or a live
/// stream of the current device's primary context.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `C` as in API.md
pub unsafe extern "C" fn kn_cuda_sinkhorn_f32(
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
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(sinkhorn_device(
        n, m, C, a, b, opts, f, g, plan, work, work_bytes, rep, stream
    ))
}

/// Log-domain Sinkhorn on the device (f64): `kn_sinkhorn_f64` with device memory;
/// everything else as `kn_cuda_sinkhorn_f32` (equal sums to relative 1e-12).
///
/// # Safety
/// As `kn_cuda_sinkhorn_f32`.
#[unsafe(no_mangle)]
#[allow(non_snake_case)] // `C` as in API.md
pub unsafe extern "C" fn kn_cuda_sinkhorn_f64(
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
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(sinkhorn_device(
        n, m, C, a, b, opts, f, g, plan, work, work_bytes, rep, stream
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::KN_ERR_UNSUPPORTED;

    fn no_device() -> bool {
        super::super::kn_cuda_available() == 0
    }

    /// Without a device every entry point is KN_ERR_UNSUPPORTED before it looks at
    /// its arguments, and writes nothing (the host buffers stand in for device
    /// pointers: they must stay untouched).
    #[test]
    fn unsupported_without_a_device_and_nothing_written() {
        if !no_device() {
            // With a device the entry points run; the GPU tests check them.
            return;
        }
        let (n, m) = (2usize, 3usize);
        let k = [1.0f64; 6];
        let (a, b) = ([0.5f64; 2], [1.0f64 / 3.0; 3]);
        let opts = kn_sinkhorn_opts {
            reg: 0.1,
            tol: 1e-9,
            max_iter: 10,
            check_every: 1,
            ..Default::default()
        };
        let mut u = [7.0f64; 2];
        let mut v = [7.0f64; 3];
        let mut plan = [7.0f64; 6];
        let mut work = [7u8; 256];
        let mut rep = kn_report {
            iterations: 77,
            ..kn_report::default()
        };
        let mut bytes = 12345usize;
        let w = work.as_mut_ptr().cast::<c_void>();
        let null = core::ptr::null_mut::<c_void>();
        // SAFETY: every pointer is valid for the lengths given (or NULL); without a
        // device none of them is dereferenced.
        unsafe {
            assert_eq!(
                kn_cuda_scale_work_bytes(n, m, &raw mut bytes),
                KN_ERR_UNSUPPORTED
            );
            assert_eq!(
                kn_cuda_sinkhorn_work_bytes(n, m, &raw mut bytes),
                KN_ERR_UNSUPPORTED
            );
            assert_eq!(
                kn_cuda_scale_work_bytes(0, 0, null.cast()),
                KN_ERR_UNSUPPORTED
            );
            let (ku, vu) = (u.as_mut_ptr(), v.as_mut_ptr());
            assert_eq!(
                kn_cuda_scale_f64(
                    n,
                    m,
                    k.as_ptr(),
                    a.as_ptr(),
                    b.as_ptr(),
                    &opts,
                    ku,
                    vu,
                    w,
                    256,
                    &raw mut rep,
                    null,
                ),
                KN_ERR_UNSUPPORTED
            );
            assert_eq!(
                kn_cuda_sinkhorn_f64(
                    n,
                    m,
                    k.as_ptr(),
                    a.as_ptr(),
                    b.as_ptr(),
                    &opts,
                    ku,
                    vu,
                    plan.as_mut_ptr(),
                    w,
                    256,
                    &raw mut rep,
                    null,
                ),
                KN_ERR_UNSUPPORTED
            );
            // f32 (the f64 buffers reinterpreted: never read) and NULL everything.
            assert_eq!(
                kn_cuda_scale_f32(
                    n,
                    m,
                    k.as_ptr().cast(),
                    a.as_ptr().cast(),
                    b.as_ptr().cast(),
                    &opts,
                    ku.cast(),
                    vu.cast(),
                    w,
                    256,
                    &raw mut rep,
                    null,
                ),
                KN_ERR_UNSUPPORTED
            );
            assert_eq!(
                kn_cuda_sinkhorn_f32(
                    n,
                    m,
                    k.as_ptr().cast(),
                    a.as_ptr().cast(),
                    b.as_ptr().cast(),
                    &opts,
                    ku.cast(),
                    vu.cast(),
                    plan.as_mut_ptr().cast(),
                    w,
                    256,
                    &raw mut rep,
                    null,
                ),
                KN_ERR_UNSUPPORTED
            );
            let np = core::ptr::null::<f32>();
            let nm = core::ptr::null_mut::<f32>();
            assert_eq!(
                kn_cuda_scale_f32(
                    0,
                    0,
                    np,
                    np,
                    np,
                    core::ptr::null(),
                    nm,
                    nm,
                    null,
                    0,
                    core::ptr::null_mut(),
                    null
                ),
                KN_ERR_UNSUPPORTED
            );
            assert_eq!(
                kn_cuda_sinkhorn_f32(
                    0,
                    0,
                    np,
                    np,
                    np,
                    core::ptr::null(),
                    nm,
                    nm,
                    nm,
                    null,
                    0,
                    core::ptr::null_mut(),
                    null
                ),
                KN_ERR_UNSUPPORTED
            );
            let (np, nm) = (core::ptr::null::<f64>(), core::ptr::null_mut::<f64>());
            assert_eq!(
                kn_cuda_scale_f64(
                    usize::MAX,
                    2,
                    np,
                    np,
                    np,
                    core::ptr::null(),
                    nm,
                    nm,
                    null,
                    0,
                    core::ptr::null_mut(),
                    null
                ),
                KN_ERR_UNSUPPORTED
            );
            assert_eq!(
                kn_cuda_sinkhorn_f64(
                    usize::MAX,
                    2,
                    np,
                    np,
                    np,
                    core::ptr::null(),
                    nm,
                    nm,
                    nm,
                    null,
                    0,
                    core::ptr::null_mut(),
                    null
                ),
                KN_ERR_UNSUPPORTED
            );
        }
        assert_eq!(bytes, 12345);
        assert_eq!(u, [7.0; 2]);
        assert_eq!(v, [7.0; 3]);
        assert_eq!(plan, [7.0; 6]);
        assert_eq!(work, [7u8; 256]);
        assert_eq!(rep.iterations, 77);
    }
}
