//! Storage element types: `f32`, and the half-precision [`f16`](struct@f16) and [`bf16`] of the
//! `half` crate, which a kernel reads and writes but never computes in.
//!
//! A kernel generic over [`Storage`] loads its inputs as `f32` (exactly: every half
//! value is an `f32`), computes and accumulates in `f32`, and rounds its outputs once
//! to the storage type (round to nearest, ties to even). With `f32` storage the loads
//! and stores are the identity and no scratch is needed ([`Storage::NATIVE`]), so the
//! `f32` kernels are the same code with nothing converted.

pub use half::{bf16, f16};

use crate::{Error, Result};

/// An element type data may be stored in: `f32`, [`f16`](struct@f16) or [`bf16`].
pub trait Storage: Copy + Default + PartialEq + core::fmt::Debug + Send + Sync + 'static {
    /// Whether this is `f32` itself: slices are computed on in place
    /// ([`as_f32`](Storage::as_f32) is `Some`) and need no conversion scratch.
    const NATIVE: bool;

    /// The value as `f32` (exact).
    fn to_f32(self) -> f32;

    /// `x` rounded to this type, to nearest with ties to even (overflow gives an
    /// infinity, as IEEE 754 rounding does).
    fn from_f32(x: f32) -> Self;

    /// Whether the value is neither NaN nor infinite.
    fn is_finite(self) -> bool;

    /// The slice itself when the type is `f32`, else `None`.
    fn as_f32(x: &[Self]) -> Option<&[f32]> {
        let _ = x;
        None
    }

    /// Mutable form of [`as_f32`](Storage::as_f32).
    fn as_f32_mut(x: &mut [Self]) -> Option<&mut [f32]> {
        let _ = x;
        None
    }

    /// `dst_i = src_i` as `f32`, over the common length.
    fn load(src: &[Self], dst: &mut [f32]) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s.to_f32();
        }
    }

    /// `dst_i = src_i` rounded to this type, over the common length.
    fn store(src: &[f32], dst: &mut [Self]) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = Self::from_f32(s);
        }
    }

    /// Scratch values a kernel needs to see `n` stored values as `f32`: 0 for `f32`
    /// itself, else `n`.
    fn scratch(n: usize) -> usize {
        if Self::NATIVE { 0 } else { n }
    }
}

impl Storage for f32 {
    const NATIVE: bool = true;

    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }

    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        x
    }

    #[inline(always)]
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }

    fn as_f32(x: &[f32]) -> Option<&[f32]> {
        Some(x)
    }

    fn as_f32_mut(x: &mut [f32]) -> Option<&mut [f32]> {
        Some(x)
    }
}

impl Storage for f16 {
    const NATIVE: bool = false;

    #[inline(always)]
    fn to_f32(self) -> f32 {
        f16_bits_to_f32(self.to_bits())
    }

    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        f16::from_f32(x)
    }

    #[inline(always)]
    fn is_finite(self) -> bool {
        // Exponent bits not all ones.
        self.to_bits() & 0x7c00 != 0x7c00
    }
}

impl Storage for bf16 {
    const NATIVE: bool = false;

    #[inline(always)]
    fn to_f32(self) -> f32 {
        // The upper half of an f32's bits.
        f32::from_bits(u32::from(self.to_bits()) << 16)
    }

    #[inline(always)]
    fn from_f32(x: f32) -> Self {
        bf16::from_f32(x)
    }

    #[inline(always)]
    fn is_finite(self) -> bool {
        self.to_bits() & 0x7f80 != 0x7f80
    }
}

/// An `f16` bit pattern as `f32`, exactly, without branches (so that loops of it
/// vectorise): the exponent rebiased by 112, an all-ones exponent (infinity, NaN) by
/// 112 more, and zeros and subnormals as `(2^-14 + m 2^-24) - 2^-14` (exact). The
/// same steps as the SIMD loads of `kernels-simd`.
#[inline(always)]
pub fn f16_bits_to_f32(h: u16) -> f32 {
    let h = u32::from(h);
    let (sign, em) = ((h & 0x8000) << 16, h & 0x7fff);
    let rebias = 112 << 23;
    let u = (em << 13) + rebias + if em > 0x7bff { rebias } else { 0 };
    let small = f32::from_bits(u + (1 << 23)) - 1.0 / 16384.0;
    let f = if em < 0x0400 {
        small
    } else {
        f32::from_bits(u)
    };
    f32::from_bits(f.to_bits() | sign)
}

/// [`Error::NonFinite`] when an element of `x` is NaN or infinite (any storage type;
/// for `f32` this is [`check_finite`](crate::check_finite)).
pub fn check_finite_stored<S: Storage>(x: &[S]) -> Result<()> {
    if x.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::NonFinite)
    }
}

/// `sum_i x_i y_i` in `f32`, `y` loaded from storage: the scalar reference of the
/// mixed-type dot products (left to right, as `Primitives::dot`'s default).
pub fn dot_stored<S: Storage>(x: &[f32], y: &[S]) -> f32 {
    x.iter()
        .zip(y)
        .fold(0.0, |acc, (&a, &b)| acc + a * b.to_f32())
}

/// `y <- y + a x` in `f32`, `x` loaded from storage: the scalar reference of the
/// mixed-type axpy (as `Primitives::axpy`'s default).
pub fn axpy_stored<S: Storage>(a: f32, x: &[S], y: &mut [f32]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi.to_f32();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_are_exact_and_round_to_nearest_even() {
        for bits in 0..=u16::MAX {
            let h = f16::from_bits(bits);
            let b = bf16::from_bits(bits);
            assert_eq!(Storage::is_finite(h), f16::to_f32(h).is_finite());
            let (ours, theirs) = (Storage::to_f32(h), f16::to_f32(h));
            assert!(
                ours.to_bits() == theirs.to_bits() || (ours.is_nan() && theirs.is_nan()),
                "f16 {bits:#06x}: {ours} vs {theirs}"
            );
            assert_eq!(Storage::is_finite(b), bf16::to_f32(b).is_finite());
            if Storage::is_finite(b) {
                assert_eq!(Storage::to_f32(b), bf16::to_f32(b));
                assert_eq!(<bf16 as Storage>::from_f32(Storage::to_f32(b)), b);
            }
        }
        // 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1 + 2^-7: ties to even.
        assert_eq!(<bf16 as Storage>::from_f32(1.0 + 1.0 / 256.0).to_f32(), 1.0);
        let up = 1.0 + 3.0 / 256.0;
        assert_eq!(<bf16 as Storage>::from_f32(up).to_f32(), 1.0 + 2.0 / 128.0);
        assert_eq!(<f16 as Storage>::from_f32(1.0 + 1.0 / 2048.0).to_f32(), 1.0);
    }

    #[test]
    fn check_finite_stored_finds_nan_and_inf() {
        assert!(check_finite_stored(&[bf16::ONE, bf16::ZERO]).is_ok());
        assert_eq!(
            check_finite_stored(&[bf16::ONE, bf16::INFINITY]),
            Err(Error::NonFinite)
        );
        assert_eq!(check_finite_stored(&[f16::NAN]), Err(Error::NonFinite));
        assert_eq!(
            check_finite_stored(&[1.0f32, f32::NAN]),
            Err(Error::NonFinite)
        );
    }
}
