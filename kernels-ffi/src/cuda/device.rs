//! What every `kn_cuda_*` body needs: the caller's context and stream, device
//! buffers, and the overlap check on device addresses.

use crate::args::disjoint;
use core::ffi::c_void;
use kernels_core::Result;
use kernels_cuda::{Borrowed, CallerContext, Context};

/// `KN_ERR_UNSUPPORTED` unless a CUDA driver, a device and NVRTC are present: what
/// the workspace queries answer first, as the launching functions do through
/// [`context`].
pub(crate) fn require() -> Result<()> {
    if kernels_cuda::available() && kernels_cuda::nvrtc_available() {
        Ok(())
    } else {
        Err(kernels_core::Error::Unsupported)
    }
}

/// The context on the caller's stream ([`kernels_cuda::for_caller`]);
/// `KN_ERR_UNSUPPORTED` without driver, device or NVRTC; `KN_ERR_ARGUMENT` when the
/// thread's current context is not a primary one. Declare it before the buffers: its
/// drop, last, gives the thread its current context back.
///
/// # Safety
/// `stream` is NULL or a live `CUstream` of the current device's primary context.
pub(crate) unsafe fn context(stream: *mut c_void) -> Result<CallerContext> {
    // SAFETY: forwarded contract.
    unsafe { kernels_cuda::for_caller(stream) }
}

/// `len` values of `T` at device address `p` (NULL: `KN_ERR_NULL`).
///
/// # Safety
/// `p` is NULL or a device allocation of at least `len` values of `T` in `ctx`'s
/// context, live until the queued work has finished.
pub(crate) unsafe fn buffer<T>(ctx: &Context, p: *const T, len: usize) -> Result<Borrowed<T>> {
    // SAFETY: forwarded contract.
    unsafe { Borrowed::new(ctx, p as u64, len) }
}

/// [`disjoint`] on device address ranges.
pub(crate) fn disjoint_device(outputs: &[(u64, u64)], others: &[(u64, u64)]) -> Result<()> {
    // A 64-bit host (kernels-cuda asserts it): device addresses fit usize.
    let widen = |r: &(u64, u64)| (r.0 as usize, r.1 as usize);
    let outputs: Vec<(usize, usize)> = outputs.iter().map(widen).collect();
    let others: Vec<(usize, usize)> = others.iter().map(widen).collect();
    disjoint(&outputs, &others)
}
