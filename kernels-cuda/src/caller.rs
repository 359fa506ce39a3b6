//! The context the C entry points launch in: the caller's device and stream.
//!
//! A C caller hands over device pointers and a `CUstream` (NULL: the default stream)
//! from the CUDA runtime, which works in the primary context of the thread's current
//! device. [`for_caller`] launches there: one [`Context`] per device is created on
//! first use and kept for the life of the process (so each source compiles once per
//! device), and each call gets a view of it on the caller's stream.

use crate::context::{Context, driver_error_code};
use crate::detect;
use cudarc::driver::{CudaContext, sys as cu};
use kernels_core::{Error, Result};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// The per-device contexts, by ordinal.
fn bases() -> &'static Mutex<HashMap<usize, Arc<Context>>> {
    static BASES: OnceLock<Mutex<HashMap<usize, Arc<Context>>>> = OnceLock::new();
    BASES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The ordinal of the calling thread's current device, 0 when it has no context.
fn current_device() -> Result<usize> {
    let current = cudarc::driver::result::ctx::get_current().map_err(driver_error_code)?;
    if current.is_none() {
        return Ok(0);
    }
    let mut device: cu::CUdevice = 0;
    // SAFETY: the driver is loaded (checked by the caller) and `device` is a valid
    // out-pointer for one CUdevice.
    let status = unsafe { cu::cuCtxGetDevice(&raw mut device) };
    if status != cu::CUresult::CUDA_SUCCESS {
        return Err(Error::Unsupported);
    }
    usize::try_from(device).map_err(|_| Error::Internal)
}

/// A context on the primary context of the calling thread's current device,
/// launching on `stream` (a `CUstream` of that context, or NULL for its default
/// stream).
///
/// [`Error::Unsupported`] when there is no driver, device or NVRTC.
///
/// # Safety
/// `stream` must be NULL or a live stream of that context, kept alive until the work
/// queued on it has finished.
pub unsafe fn for_caller(stream: *mut core::ffi::c_void) -> Result<Context> {
    if !detect::available() || !detect::nvrtc_available() {
        return Err(Error::Unsupported);
    }
    let ordinal = current_device()?;
    let base = {
        let mut bases = bases().lock().unwrap_or_else(PoisonError::into_inner);
        match bases.get(&ordinal) {
            Some(base) => base.clone(),
            None => {
                let ctx = CudaContext::new(ordinal).map_err(driver_error_code)?;
                // SAFETY: every launch through this context goes to the caller's
                // stream, in the caller's order; the buffers are the caller's, so
                // cross-stream ordering (what event tracking provides) is the
                // caller's business, as with any CUDA library.
                unsafe { ctx.disable_event_tracking() };
                let base = Arc::new(Context::from_stream(ctx.default_stream())?);
                bases.insert(ordinal, base.clone());
                base
            }
        }
    };
    // SAFETY: the caller's contract: a live stream of this context (or NULL, the
    // legacy default stream), outliving the work queued on it.
    let stream = unsafe {
        base.cuda_context()
            .wrap_borrowed_stream(stream.cast::<cu::CUstream_st>())
    };
    base.on_stream(stream)
}
