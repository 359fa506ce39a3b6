//! Device memory the caller owns, seen as [`CudaSlice`]s for the length of a call.
//!
//! The C entry points receive raw device pointers. A [`Borrowed`] wraps one as a
//! `CudaSlice` so the drivers (which take slices) can use it, and gives it back on drop
//! without freeing it: the allocation stays the caller's.

use crate::context::Context;
use cudarc::driver::CudaSlice;
use cudarc::driver::sys::CUdeviceptr;
use kernels_core::{Error, Result};
use std::ops::{Deref, DerefMut};

/// A caller's device buffer of `len` values of `T`, borrowed as a slice.
pub struct Borrowed<T> {
    slice: Option<CudaSlice<T>>,
    ptr: CUdeviceptr,
    bytes: u64,
}

impl<T> Borrowed<T> {
    /// Borrows `len` values of `T` at device address `ptr` in `ctx`'s CUDA context.
    ///
    /// [`Error::Null`] for a null pointer; [`Error::Dimension`] when the byte length
    /// overflows; [`Error::Argument`] for an address not aligned for `T`.
    ///
    /// # Safety
    /// `ptr` must be a device allocation of at least `len * size_of::<T>()` bytes in
    /// `ctx`'s CUDA context, valid (and not freed) until every launch queued with it
    /// has finished.
    pub unsafe fn new(ctx: &Context, ptr: CUdeviceptr, len: usize) -> Result<Borrowed<T>> {
        if ptr == 0 {
            return Err(Error::Null);
        }
        let bytes = len.checked_mul(size_of::<T>()).ok_or(Error::Dimension)?;
        if bytes > isize::MAX as usize || ptr.checked_add(bytes as u64).is_none() {
            return Err(Error::Dimension);
        }
        if !ptr.is_multiple_of(align_of::<T>() as u64) {
            return Err(Error::Argument);
        }
        // SAFETY: the caller guarantees a live allocation of `len` values of T in
        // this context; `Drop` leaks the slice, so cudarc never frees it.
        let slice = unsafe { ctx.stream().upgrade_device_ptr::<T>(ptr, len) };
        Ok(Borrowed {
            slice: Some(slice),
            ptr,
            bytes: bytes as u64,
        })
    }

    /// The device address range `[start, end)` it covers (for overlap checks).
    pub fn span(&self) -> (u64, u64) {
        (self.ptr, self.ptr + self.bytes)
    }
}

impl<T> Deref for Borrowed<T> {
    type Target = CudaSlice<T>;

    fn deref(&self) -> &CudaSlice<T> {
        // Present from construction until drop.
        self.slice
            .as_ref()
            .expect("borrowed slice present until drop")
    }
}

impl<T> DerefMut for Borrowed<T> {
    fn deref_mut(&mut self) -> &mut CudaSlice<T> {
        self.slice
            .as_mut()
            .expect("borrowed slice present until drop")
    }
}

impl<T> Drop for Borrowed<T> {
    fn drop(&mut self) {
        if let Some(slice) = self.slice.take() {
            // Gives the pointer back without freeing it.
            let _ = slice.leak();
        }
    }
}
