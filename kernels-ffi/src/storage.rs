//! The half-precision element types of the C interface, as bit patterns.

/// An IEEE 754 binary16 (half precision) value, as its bit pattern: sign, 5 exponent
/// bits, 10 mantissa bits. Kernels read it exactly as `float` and write it rounded to
/// nearest, ties to even. An all-ones exponent (infinity, NaN) in an input is
/// `KN_ERR_NON_FINITE`.
pub type kn_f16 = u16;

/// A bfloat16 value, as its bit pattern: the upper 16 bits of a `float` (sign, 8
/// exponent bits, 7 mantissa bits). Kernels read it exactly as `float` and write it
/// rounded to nearest, ties to even. An all-ones exponent (infinity, NaN) in an input
/// is `KN_ERR_NON_FINITE`.
pub type kn_bf16 = u16;

/// The Rust element type behind a C half pointer: `kn_f16` is `f16`, `kn_bf16` is
/// `bf16` (both `#[repr(C)]` over one `u16`, so the cast changes no layout).
pub(crate) fn halves<H>(p: *const u16) -> *const H {
    const { assert!(size_of::<H>() == 2 && align_of::<H>() == 2) };
    p.cast()
}

/// Mutable form of [`halves`].
pub(crate) fn halves_mut<H>(p: *mut u16) -> *mut H {
    const { assert!(size_of::<H>() == 2 && align_of::<H>() == 2) };
    p.cast()
}
