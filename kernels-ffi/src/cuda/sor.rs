//! `kn_cuda_sor_grid2d_*`: red-black grid SOR sweeps on device memory.

use crate::status::kn_status;
use core::ffi::c_void;
#[cfg(feature = "cuda")]
use kernels_core::Error;

#[cfg(feature = "cuda")]
use {
    super::device, crate::args, crate::guard::Done, kernels_core::Result,
    kernels_core::checked_product, kernels_cuda::CudaReal, kernels_cuda::sor,
};

/// Device workspace bytes `kn_cuda_sor_grid2d_f32` / `_f64` need for an `nx`-by-`ny`
/// grid, into `*bytes` (the same for both types: a few bytes, for the verdicts of the
/// finiteness checks run on the device).
///
/// Status: `KN_OK`; `KN_ERR_UNSUPPORTED` (no CUDA support, driver, device or NVRTC;
/// checked first); `KN_ERR_NULL` (bytes is NULL); `KN_ERR_DIMENSION` (nx or ny zero,
/// or their product overflows). `*bytes` is written only on `KN_OK`.
///
/// # Safety
/// `bytes` must be NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cuda_sor_grid2d_work_bytes(
    nx: usize,
    ny: usize,
    bytes: *mut usize,
) -> kn_status {
    cuda_entry!(work_bytes(nx, ny, bytes))
}

#[cfg(feature = "cuda")]
unsafe fn work_bytes(nx: usize, ny: usize, bytes: *mut usize) -> Result<Done> {
    device::require()?;
    // SAFETY: the caller's contract.
    let out = unsafe { args::out_value(bytes) }?;
    if nx == 0 || ny == 0 {
        return Err(Error::Dimension);
    }
    checked_product(&[nx, ny])?;
    // One query for both types.
    *out = sor::sor_grid2d_work_size::<f64>(nx, ny)?
        .max(sor::sor_grid2d_work_size::<f32>(nx, ny)?)
        .bytes();
    Ok(Done::Ok)
}

/// In-place red-black SOR sweeps (f32) on the GPU: `kn_sor_grid2d_f32` with device
/// memory. The matrix is `(4 + shift) I - (sum of the four neighbours)` on an
/// `nx`-by-`ny` interior grid with zero Dirichlet boundary; `b` and `x` are DEVICE
/// pointers to `nx * ny` values, row-major (`x[i * nx + j]`, row `i < ny`, column
/// `j < nx`). One sweep updates the red points (i + j even), then the black points
/// (i + j odd); `sweeps` = 0 validates only. The result is bit for bit the host
/// function's. `work`: DEVICE memory of at least `kn_cuda_sor_grid2d_work_bytes(nx,
/// ny)` bytes, not overlapping `b` or `x`. `stream`: a `CUstream` of the current
/// device's primary context, or NULL for its default stream. The call waits for the
/// stream (the device's verdicts on the data come back to the host).
///
/// Status: `KN_OK`; `KN_ERR_UNSUPPORTED` (no CUDA support, driver, device or NVRTC;
/// checked first); `KN_ERR_NULL` (b, x or work NULL); `KN_ERR_DIMENSION` (nx or ny
/// zero, product overflow); `KN_ERR_ARGUMENT` (omega outside (0, 2), 4 + shift zero,
/// misaligned or overlapping arrays); `KN_ERR_NON_FINITE` (NaN or infinity in shift,
/// b or x, checked on the device before any sweep); `KN_ERR_WORKSPACE` (work_bytes
/// too small): on all of these x is untouched. `KN_ERR_NUMERICAL`: the sweeps
/// overflowed; x holds the last sweep's values. `KN_ERR_INTERNAL`: a CUDA failure.
///
/// # Safety
/// `b`, `x` and `work` must be NULL or device allocations of the sizes above in the
/// current device's primary context; `stream` NULL or a live stream of that context.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cuda_sor_grid2d_f32(
    nx: usize,
    ny: usize,
    shift: f32,
    b: *const f32,
    x: *mut f32,
    omega: f32,
    sweeps: u32,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(grid2d(
        nx, ny, shift, b, x, omega, sweeps, work, work_bytes, stream
    ))
}

/// In-place red-black SOR sweeps (f64) on the GPU; see `kn_cuda_sor_grid2d_f32`.
///
/// # Safety
/// As for `kn_cuda_sor_grid2d_f32`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cuda_sor_grid2d_f64(
    nx: usize,
    ny: usize,
    shift: f64,
    b: *const f64,
    x: *mut f64,
    omega: f64,
    sweeps: u32,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(grid2d(
        nx, ny, shift, b, x, omega, sweeps, work, work_bytes, stream
    ))
}

/// # Safety
/// See the exported functions.
#[cfg(feature = "cuda")]
#[allow(clippy::too_many_arguments)]
unsafe fn grid2d<T: CudaReal>(
    nx: usize,
    ny: usize,
    shift: T,
    b: *const T,
    x: *mut T,
    omega: T,
    sweeps: u32,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> Result<Done> {
    // SAFETY: forwarded contract.
    let ctx = unsafe { device::context(stream) }?;
    // The host function's order: sizes, then pointers, overlap, options and values.
    let len = checked_product(&[nx, ny])?;
    // SAFETY: b holds nx * ny values in this context (the caller's contract).
    let b = unsafe { device::buffer(&ctx, b, len) }?;
    // SAFETY: as for b; x is checked against b (and work) for overlap below.
    let mut x = unsafe { device::buffer(&ctx, x.cast_const(), len) }?;
    // SAFETY: work holds work_bytes bytes of device memory in this context; the
    // driver refuses it (KN_ERR_WORKSPACE) when it is too short.
    let mut work = unsafe {
        device::buffer(
            &ctx,
            work.cast_const().cast::<T>(),
            work_bytes / size_of::<T>(),
        )
    }?;
    device::disjoint_device(&[x.span(), work.span()], &[b.span()])?;
    sor::sor_grid2d(&ctx, nx, ny, shift, &b, &mut x, omega, sweeps, &mut work)?;
    Ok(Done::Ok)
}
