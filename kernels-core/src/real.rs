//! The element types the kernels are generic over.

use bytemuck::Pod;
use core::fmt::{Debug, Display};
use num_traits::{Float, FloatConst, FromPrimitive, ToPrimitive};

/// A real floating-point element type: `f32` or `f64`.
///
/// Math functions come from `num-traits` backed by `libm`, so they work without `std`.
/// The trait is sealed: the kernels' tolerances and SIMD paths exist for these two
/// types only.
pub trait Real:
    Float
    + FloatConst
    + FromPrimitive
    + ToPrimitive
    + Pod
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + sealed::Sealed
    + 'static
{
    /// A short name for reports: `"f32"` or `"f64"`.
    const NAME: &'static str;

    /// Converts from `f64`, rounding to nearest (C options are `double`).
    fn of(x: f64) -> Self;

    /// Widens (or keeps) the value as `f64`, exactly.
    fn to_f64_lossless(self) -> f64;
}

impl Real for f32 {
    const NAME: &'static str = "f32";

    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }

    #[inline(always)]
    fn to_f64_lossless(self) -> f64 {
        f64::from(self)
    }
}

impl Real for f64 {
    const NAME: &'static str = "f64";

    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }

    #[inline(always)]
    fn to_f64_lossless(self) -> f64 {
        self
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}
