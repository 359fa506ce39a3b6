//! The element types a forward pass reads its tokens from: the computing type itself,
//! or a half-precision [`Storage`] type loaded into `f32` a chunk at a time.

use super::{LinattnKernels, all_finite};
use crate::storage::{Storage, bf16, f16};
use crate::{Real, Result};

/// An element type of `q`, `k`, `v` and `out` for computing type `T`: `T` itself (the
/// slices are used in place), or [`f16`](struct@f16) / [`bf16`] for `T = f32` (each
/// chunk's tokens are loaded into `f32` scratch and its outputs rounded once to the
/// storage type, to nearest even).
pub trait Token<T: Real>: Copy + Send + Sync + 'static {
    /// Whether the tokens are `T` itself: no conversion scratch.
    const NATIVE: bool;

    /// The slice itself when the type is `T`.
    fn native(x: &[Self]) -> Option<&[T]>;

    /// Mutable form of [`native`](Token::native).
    fn native_mut(x: &mut [Self]) -> Option<&mut [T]>;

    /// The value as `T` (exact).
    fn get(self) -> T;

    /// `dst_i = src_i` as `T`, over the common length.
    fn load(src: &[Self], dst: &mut [T]) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s.get();
        }
    }

    /// `dst_i = src_i` rounded to this type, over the common length.
    fn store(src: &[T], dst: &mut [Self]);

    /// [`Error::NonFinite`](crate::Error::NonFinite) if a value is NaN or infinite
    /// (for `T` at the speed of a SIMD sum).
    fn finite<P: LinattnKernels<T>>(x: &[Self]) -> Result<()>;
}

impl<T: Real> Token<T> for T {
    const NATIVE: bool = true;

    fn native(x: &[T]) -> Option<&[T]> {
        Some(x)
    }

    fn native_mut(x: &mut [T]) -> Option<&mut [T]> {
        Some(x)
    }

    #[inline(always)]
    fn get(self) -> T {
        self
    }

    fn store(src: &[T], dst: &mut [T]) {
        dst.copy_from_slice(src);
    }

    fn finite<P: LinattnKernels<T>>(x: &[T]) -> Result<()> {
        all_finite::<T, P>(x)
    }
}

/// `Token<f32>` for a half-precision [`Storage`] type.
macro_rules! half_token {
    ($t:ty) => {
        impl Token<f32> for $t {
            const NATIVE: bool = false;

            fn native(_: &[Self]) -> Option<&[f32]> {
                None
            }

            fn native_mut(_: &mut [Self]) -> Option<&mut [f32]> {
                None
            }

            #[inline(always)]
            fn get(self) -> f32 {
                Storage::to_f32(self)
            }

            fn load(src: &[Self], dst: &mut [f32]) {
                <$t as Storage>::load(src, dst);
            }

            fn store(src: &[f32], dst: &mut [Self]) {
                <$t as Storage>::store(src, dst);
            }

            fn finite<P: LinattnKernels<f32>>(x: &[Self]) -> Result<()> {
                crate::storage::check_finite_stored(x)
            }
        }
    };
}

half_token!(f16);
half_token!(bf16);
