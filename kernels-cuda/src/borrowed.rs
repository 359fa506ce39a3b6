//! Device buffers as the drivers take them ([`DeviceRead`], [`DeviceWrite`]), and
//! device memory the caller owns, borrowed for the length of a call ([`Borrowed`]).
//!
//! The C entry points receive raw device pointers. A [`Borrowed`] wraps one as a
//! `CudaSlice` it keeps to itself and hands out views only (a `&mut CudaSlice` would
//! let safe code swap the slice out and drop it, freeing the caller's allocation); on
//! drop it gives the pointer back without freeing it: the allocation stays the
//! caller's.

use crate::context::Context;
use cudarc::driver::sys::CUdeviceptr;
use cudarc::driver::{CudaSlice, CudaView, CudaViewMut};
use kernels_core::{Error, Result};

/// Device memory a driver reads: a [`CudaSlice`], a [`CudaView`] or [`CudaViewMut`]
/// of one (so a driver can work on part of a buffer), or a [`Borrowed`] buffer.
/// Structs of device arrays hold them as `&dyn DeviceRead<T>` (a `&CudaSlice<T>`
/// coerces to it).
pub trait DeviceRead<T>: std::fmt::Debug {
    /// A view of the whole buffer.
    fn view(&self) -> CudaView<'_, T>;
}

/// Device memory a driver writes: a [`CudaSlice`], a [`CudaViewMut`] of one, or a
/// [`Borrowed`] buffer.
pub trait DeviceWrite<T>: DeviceRead<T> {
    /// A mutable view of the whole buffer.
    fn view_mut(&mut self) -> CudaViewMut<'_, T>;
}

impl<T: std::fmt::Debug> DeviceRead<T> for CudaSlice<T> {
    fn view(&self) -> CudaView<'_, T> {
        self.as_view()
    }
}

impl<T: std::fmt::Debug> DeviceWrite<T> for CudaSlice<T> {
    fn view_mut(&mut self) -> CudaViewMut<'_, T> {
        self.as_view_mut()
    }
}

impl<T: std::fmt::Debug> DeviceRead<T> for CudaView<'_, T> {
    fn view(&self) -> CudaView<'_, T> {
        self.slice(..)
    }
}

impl<T: std::fmt::Debug> DeviceRead<T> for CudaViewMut<'_, T> {
    fn view(&self) -> CudaView<'_, T> {
        self.as_view()
    }
}

impl<T: std::fmt::Debug> DeviceWrite<T> for CudaViewMut<'_, T> {
    fn view_mut(&mut self) -> CudaViewMut<'_, T> {
        self.slice_mut(..)
    }
}

/// A caller's device buffer of `len` values of `T`, borrowed as a slice and seen only
/// through views ([`DeviceRead::view`], [`DeviceWrite::view_mut`]): no `&mut
/// CudaSlice` is ever handed out, so safe code cannot swap the slice out and drop it
/// (which would free the caller's allocation).
///
/// ```compile_fail
/// use kernels_cuda::{Borrowed, cudarc::driver::CudaSlice};
/// fn steal(b: &mut Borrowed<f32>, other: CudaSlice<f32>) -> CudaSlice<f32> {
///     let slice: &mut CudaSlice<f32> = b; // no DerefMut to a CudaSlice
///     std::mem::replace(slice, other)
/// }
/// ```
#[derive(Debug)]
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

impl<T: std::fmt::Debug> DeviceRead<T> for Borrowed<T> {
    fn view(&self) -> CudaView<'_, T> {
        // Present from construction until drop.
        self.slice
            .as_ref()
            .expect("borrowed slice present until drop")
            .as_view()
    }
}

impl<T: std::fmt::Debug> DeviceWrite<T> for Borrowed<T> {
    fn view_mut(&mut self) -> CudaViewMut<'_, T> {
        self.slice
            .as_mut()
            .expect("borrowed slice present until drop")
            .as_view_mut()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_buffer_kind_is_a_driver_argument() {
        fn read<T: DeviceRead<f32>>() {}
        fn write<T: DeviceWrite<f32>>() {}
        read::<CudaSlice<f32>>();
        read::<CudaView<'static, f32>>();
        read::<CudaViewMut<'static, f32>>();
        read::<Borrowed<f32>>();
        write::<CudaSlice<f32>>();
        write::<CudaViewMut<'static, f32>>();
        write::<Borrowed<f32>>();
    }
}
