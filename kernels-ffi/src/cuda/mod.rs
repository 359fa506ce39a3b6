//! C entry points on NVIDIA GPUs: `kn_cuda_available` and the `kn_cuda_*` variants of
//! the data-parallel kernels, taking device pointers and a `CUstream`.
//!
//! Every function exists in every build, so the header is one and a program links
//! whatever the library was built with. Without the cargo feature `cuda`, or where
//! no driver, device or NVRTC is present, `kn_cuda_available` returns 0 and every
//! `kn_cuda_*` returns `KN_ERR_UNSUPPORTED` before looking at its arguments.
//! Otherwise the arguments are checked as the host function checks them, before
//! anything is launched: sizes, options and pointers on the host, and the values in
//! device memory (finiteness, ranges) by a read-only check on the device whose
//! verdict comes back before any kernel writes.
//!
//! Launches go to the caller's stream in the primary context of the calling thread's
//! current device (what the CUDA runtime uses). A function that returns a report or
//! must judge convergence synchronises that stream; the others are asynchronous. A
//! current context that is not a primary one (made with `cuCtxCreate`) is refused with
//! `KN_ERR_ARGUMENT` before anything else is looked at; the thread's current context
//! is the same on return as on entry (none stays none).

/// The body of every `kn_cuda_*` entry point: `status` of the call `$device(args)` (an
/// `unsafe fn` that exists only with the `cuda` feature, forwarding the entry point's
/// pointer contract) where CUDA is compiled in, and `KN_ERR_UNSUPPORTED` without
/// looking at any argument where it is not.
macro_rules! cuda_entry {
    ($device:ident($($arg:expr),* $(,)?)) => {
        $crate::guard::status(|| {
            #[cfg(feature = "cuda")]
            // SAFETY: the entry point forwards its caller's pointer contract.
            return unsafe { $device($($arg),*) };
            #[cfg(not(feature = "cuda"))]
            return {
                let _ = ($($arg,)*);
                Err(kernels_core::Error::Unsupported)
            };
        })
    };
}

#[cfg(feature = "cuda")]
pub(crate) mod device;
mod h2o;
mod linattn;
mod sinkhorn;
mod sor;

pub use h2o::*;
pub use linattn::*;
pub use sinkhorn::*;
pub use sor::*;

/// 1 if the `kn_cuda_*` functions can run here (the library was built with CUDA
/// support, and a CUDA driver, a device and NVRTC were found), else 0. Never fails.
#[unsafe(no_mangle)]
pub extern "C" fn kn_cuda_available() -> i32 {
    #[cfg(feature = "cuda")]
    {
        i32::from(device::require().is_ok())
    }
    #[cfg(not(feature = "cuda"))]
    {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_matches_the_probe() {
        #[cfg(feature = "cuda")]
        let want = kernels_cuda::available() && kernels_cuda::nvrtc_available();
        #[cfg(not(feature = "cuda"))]
        let want = false;
        assert_eq!(kn_cuda_available(), i32::from(want));
    }
}
