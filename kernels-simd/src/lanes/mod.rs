//! One vector interface, three instruction sets: the vector kernels are written once
//! against [`Lanes`] and compiled for each [`Level`](crate::isa::Level).
//!
//! A `Lanes` value is a zero-sized token for an instruction set. The tokens for AVX2
//! and AVX-512 can only be made inside a function compiled with those features (their
//! constructors are `#[target_feature]` functions), so holding one proves that the
//! CPU has them; that is what makes their methods' intrinsics sound. Each kernel is an
//! `#[inline(always)]` generic function; [`dispatch`](crate::dispatch) instantiates it
//! inside one `#[target_feature]` function per level, where every method inlines to
//! single instructions.

use kernels_core::{bf16, f16};

mod portable;
pub(crate) use portable::Portable;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

/// An element type and the unsigned integer of its bits.
pub(crate) trait Element: Copy {
    type Bits: Copy;
}

impl Element for f32 {
    type Bits = u32;
}

impl Element for f64 {
    type Bits = u64;
}

/// Vectors of `Self::N` lanes of `T`, their masks and their bit patterns.
///
/// `load` and `store` take slices of exactly `N` elements (from `chunks_exact(N)`);
/// `max`/`min` return either operand when one is NaN, as one instruction does.
pub(crate) trait Lanes<T: Element>: Copy {
    type V: Copy;
    type M: Copy;
    type U: Copy;
    /// Lanes per vector.
    const N: usize;
    /// Lanes per hardware register: fewer than `N` where `wide` spreads a vector over
    /// two registers (e.g. `f64x4` on SSE2). Kernels pick their form with it.
    const REGISTER_LANES: usize;

    /// Whether [`reduce_add`](Lanes::reduce_add) sums by halving: lane `j + N/2` onto
    /// lane `j`, then `j + N/4` onto `j`, down to lanes 0 and 1 (the x86 levels). The
    /// kernels that run several problems side by side repeat that order with vertical
    /// adds, and run only where it holds.
    const HALVING_SUM: bool = false;

    fn splat(self, x: T) -> Self::V;
    fn zero(self) -> Self::V;
    fn load(self, x: &[T]) -> Self::V;
    fn store(self, v: Self::V, out: &mut [T]);
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a / b`, correctly rounded (as the scalar division).
    fn div(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a b + c`, fused where the instruction set has FMA.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `c - a b`, fused where the instruction set has FMA.
    fn mul_neg_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// The larger of `a` and `b`, and `a` where `b` is NaN.
    fn max_or_first(self, a: Self::V, b: Self::V) -> Self::V;
    fn min(self, a: Self::V, b: Self::V) -> Self::V;
    /// The sum of the lanes (in a tree order).
    fn reduce_add(self, a: Self::V) -> T;
    /// The largest lane (inputs hold no NaN).
    fn reduce_max(self, a: Self::V) -> T;
    fn abs(self, a: Self::V) -> Self::V;
    /// The sign flipped (NaN and zeros included).
    fn neg(self, a: Self::V) -> Self::V;
    fn lt(self, a: Self::V, b: Self::V) -> Self::M;
    fn gt(self, a: Self::V, b: Self::V) -> Self::M;
    fn is_nan(self, a: Self::V) -> Self::M;
    /// `m ? a : b` per lane.
    fn select(self, m: Self::M, a: Self::V, b: Self::V) -> Self::V;

    fn to_bits(self, a: Self::V) -> Self::U;
    fn float_of_bits(self, a: Self::U) -> Self::V;
    fn splat_bits(self, x: T::Bits) -> Self::U;
    fn sub_bits(self, a: Self::U, b: Self::U) -> Self::U;
    /// `m ? a : b` per lane.
    fn select_bits(self, m: Self::M, a: Self::U, b: Self::U) -> Self::U;
    /// Logical shift right by one.
    fn shr1(self, a: Self::U) -> Self::U;
    /// Shift left by the mantissa width (23 or 52): an exponent into place.
    fn shl_mantissa(self, a: Self::U) -> Self::U;
    /// Logical shift right by the mantissa width: the sign and exponent bits.
    fn shr_mantissa(self, a: Self::U) -> Self::U;
}

/// Elements a vector of `T` lanes loads: `T` itself, and for `f32` lanes the half
/// types `f16` and `bf16`, converted exactly as they are loaded (the kernels that read
/// stored keys and values are the `f32` kernels with this load).
pub(crate) trait Load<T: Element, L: Lanes<T>>: Copy {
    /// `N` elements (a slice of exactly `N`, as [`Lanes::load`]) as a vector of `T`.
    fn load(l: L, x: &[Self]) -> L::V;
    /// One element as `T` (the scalar tails).
    fn get(self) -> T;
}

impl<T: Element, L: Lanes<T>> Load<T, L> for T {
    #[inline(always)]
    fn load(l: L, x: &[T]) -> L::V {
        l.load(x)
    }
    #[inline(always)]
    fn get(self) -> T {
        self
    }
}

/// Loads of half-precision elements into `f32` lanes, exact: `bf16` is the upper half
/// of an `f32` (a 16-bit shift); `f16` is widened by `VCVTPH2PS` where the level has it
/// (AVX-512F) and by integer operations otherwise (no F16C needed at AVX2).
pub(crate) trait HalfLanes: Lanes<f32> {
    /// `N` `f16` values (a slice of exactly `N`) as `f32` lanes.
    fn load_f16(self, x: &[f16]) -> Self::V;
    /// `N` `bf16` values (a slice of exactly `N`) as `f32` lanes.
    fn load_bf16(self, x: &[bf16]) -> Self::V;
}

impl<L: HalfLanes> Load<f32, L> for f16 {
    #[inline(always)]
    fn load(l: L, x: &[f16]) -> L::V {
        l.load_f16(x)
    }
    #[inline(always)]
    fn get(self) -> f32 {
        kernels_core::storage::f16_bits_to_f32(self.to_bits())
    }
}

impl<L: HalfLanes> Load<f32, L> for bf16 {
    #[inline(always)]
    fn load(l: L, x: &[bf16]) -> L::V {
        l.load_bf16(x)
    }
    #[inline(always)]
    fn get(self) -> f32 {
        bf16_to_f32(self.to_bits())
    }
}

/// A `bf16` bit pattern as `f32` (exact).
#[inline(always)]
pub(crate) fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

/// How far ahead of the current position the streaming loops prefetch (the
/// exponential loops, the sum, the CG vector passes). Not critical: 4 to 32 KiB timed
/// alike in the exponential loops in a one-off sweep (not kept in the repo), and the
/// shortest is kept.
pub(crate) const AHEAD_BYTES: usize = 4096;

/// [`AHEAD_BYTES`] in elements of `T`.
#[inline(always)]
pub(crate) fn ahead<T>() -> usize {
    AHEAD_BYTES / core::mem::size_of::<T>()
}

/// Asks for the cache line holding `p + i` (in elements) to be brought into L2. A
/// hint: it never faults, and `p + i` may lie past the end of the data (nothing is
/// read); the address is formed with `wrapping_add`, never dereferenced.
#[inline(always)]
#[allow(
    unused_variables,
    reason = "a no-op where there is no prefetch instruction"
)]
pub(crate) fn prefetch_at<T>(p: *const T, i: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT1 is part of SSE, which every x86_64 CPU has; a prefetch reads
    // nothing architecturally and never faults, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T1 }>(
            p.wrapping_add(i).cast(),
        );
    }
}

/// A streaming loop at element `i` of each of `streams`: prefetches them
/// [`AHEAD_BYTES`] ahead.
#[inline(always)]
pub(crate) fn prefetch_ahead<T>(streams: &[*const T], i: usize) {
    for &s in streams {
        prefetch_at(s, i + ahead::<T>());
    }
}

/// For operands of these lengths: the length all of them cover, and where the whole
/// vectors of `L` end in it.
#[inline(always)]
pub(crate) fn split<T: Element, L: Lanes<T>>(lens: &[usize]) -> (usize, usize) {
    let n = lens.iter().copied().min().unwrap_or(0);
    debug_assert!(
        lens.iter().all(|&len| len == n),
        "operand lengths differ: {lens:?}"
    );
    (n, n - n % L::N)
}
