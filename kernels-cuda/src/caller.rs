//! The context the C entry points launch in: the caller's device and stream.
//!
//! A C caller hands over device pointers and a `CUstream` (NULL: the default stream)
//! from the CUDA runtime, which works in the primary context of the thread's current
//! device. [`for_caller`] launches there: one [`Context`] per device is created on
//! first use and kept for the life of the process (so each source compiles once per
//! device), and each call gets a view of it on the caller's stream.
//!
//! The thread's current context: a context of the caller's own (not a primary one)
//! is refused with [`Error::Argument`], since the pointers and stream the caller
//! passes belong to it and the kernels run in the primary context; otherwise (the
//! primary context current, or none yet) the call goes ahead, and the returned
//! [`CallerContext`] puts back on drop whatever was current on entry, so the caller's
//! thread state is the same after the call as before it.

use crate::context::{Context, driver_error_code};
use crate::detect;
use cudarc::driver::{CudaContext, sys as cu};
use kernels_core::{Error, Result};
use std::collections::HashMap;
use std::ops::Deref;
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

/// The context of a C call: a [`Context`] (by `Deref`) that restores the calling
/// thread's current CUDA context on drop to what it was when [`for_caller`] was
/// called. Keep it alive for the whole call (declare it first, so it is dropped last).
pub struct CallerContext {
    ctx: Option<Context>,
    /// The current context on entry (null: none).
    entry: cu::CUcontext,
}

impl Deref for CallerContext {
    type Target = Context;

    fn deref(&self) -> &Context {
        // Present from construction; only a failed construction leaves it empty,
        // and that one is never handed out.
        self.ctx.as_ref().expect("caller context present")
    }
}

impl Drop for CallerContext {
    fn drop(&mut self) {
        // The context's own drop may call the driver: let it run first.
        drop(self.ctx.take());
        let now = cudarc::driver::result::ctx::get_current()
            .ok()
            .flatten()
            .unwrap_or(std::ptr::null_mut());
        if now != self.entry {
            // SAFETY: `entry` was the thread's current context (or null) on entry;
            // the caller keeps its own contexts alive across the call. Nothing can
            // be reported from a drop: a failure leaves the primary context current.
            let _ = unsafe { cu::cuCtxSetCurrent(self.entry) };
        }
    }
}

/// The rule for the thread's current context on entry (`None`: no context): a
/// context other than the primary one of the device is refused.
fn judge_current(entry: Option<cu::CUcontext>, primary: cu::CUcontext) -> Result<()> {
    match entry {
        Some(c) if c != primary => Err(Error::Argument),
        _ => Ok(()),
    }
}

/// A context on the primary context of the calling thread's current device,
/// launching on `stream` (a `CUstream` of that context, or NULL for its default
/// stream). The thread's current context is the same after the returned value is
/// dropped as before the call.
///
/// [`Error::Unsupported`] when there is no driver, device or NVRTC;
/// [`Error::Argument`] when the thread's current context is not the primary context
/// of its device (a context the caller created with `cuCtxCreate`).
///
/// # Safety
/// `stream` must be NULL or a live stream of that context, kept alive until the work
/// queued on it has finished.
pub unsafe fn for_caller(stream: *mut core::ffi::c_void) -> Result<CallerContext> {
    if !detect::available() || !detect::nvrtc_available() {
        return Err(Error::Unsupported);
    }
    let entry = cudarc::driver::result::ctx::get_current().map_err(driver_error_code)?;
    // From here on, whatever happens, the thread gets its entry context back.
    let mut caller = CallerContext {
        ctx: None,
        entry: entry.unwrap_or(std::ptr::null_mut()),
    };
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
    judge_current(entry, base.cuda_context().cu_ctx())?;
    // SAFETY: the caller's contract: a live stream of this context (or NULL, the
    // legacy default stream), outliving the work queued on it.
    let stream = unsafe {
        base.cuda_context()
            .wrap_borrowed_stream(stream.cast::<cu::CUstream_st>())
    };
    caller.ctx = Some(base.on_stream(stream)?);
    Ok(caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_primary_context_or_none_is_accepted() {
        // Stand-in handles: the rule compares them, never dereferences them.
        let primary = std::ptr::dangling_mut::<cu::CUctx_st>();
        let other = primary.wrapping_byte_add(64);
        assert_eq!(judge_current(None, primary), Ok(()));
        assert_eq!(judge_current(Some(primary), primary), Ok(()));
        assert_eq!(judge_current(Some(other), primary), Err(Error::Argument));
    }

    #[test]
    fn without_a_device_the_caller_context_is_unsupported() {
        if crate::available() && crate::nvrtc_available() {
            return; // the GPU tests of kernels-ffi cover this case
        }
        // SAFETY: a NULL stream.
        let r = unsafe { for_caller(std::ptr::null_mut()) };
        assert_eq!(r.err(), Some(Error::Unsupported));
    }
}
