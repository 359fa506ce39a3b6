//! Vectorised natural exponential and logarithm on `wide` vectors.
//!
//! All four functions are branch-free and lane-independent: every lane goes
//! through the same straight-line sequence of `wide` operations, and special
//! inputs (NaN, infinities, zeros, negatives, subnormals) are patched in at
//! the end with mask selects. Nothing here calls `libm` or loops over lanes.
//!
//! # Integer work without int<->float conversions
//!
//! `wide`'s `f32x8::from_i32x8` is a native conversion only with AVX2, and
//! `f64x4 <-> i64x4` (`round_int` and friends) only with AVX-512; otherwise
//! they are per-lane scalar code, e.g. on the portable SSE2 build. The kernels
//! avoid them:
//!
//! * `exp` rounds `x / ln 2` with the "shifter" trick: adding `1.5 * 2^23`
//!   (`1.5 * 2^52`) rounds to an integer *and* leaves that integer in the low
//!   mantissa bits, so both `n` as a float and `n` as bits come from one add.
//! * `ln` turns the (small, non-negative) biased exponent back into a float by
//!   OR-ing it into the mantissa of `2^23` (`2^52`) and subtracting.
//!
//! Every integer step is an unsigned add/sub/and/or or a *logical* shift,
//! which SSE2 has for both 32- and 64-bit lanes (64-bit arithmetic shifts do
//! not exist before AVX-512).
//!
//! # FMA or not
//!
//! `wide`'s `mul_add` fuses only when the FMA target feature is on; otherwise
//! it is a multiply followed by an add. The algorithms are arranged so that
//! the error bound holds either way: the Cody-Waite constants `LN2_HI` have
//! enough trailing zero bits that `n * LN2_HI` is exact, `x - n * LN2_HI` is
//! exact by Sterbenz's lemma, and every other multiply-add only touches terms
//! that are small compared to the final sum. The measured bounds below are
//! the maxima of both builds.
//!
//! # Accuracy, and what checks it
//!
//! Errors are counted in ulp against the standard library (`f64::exp`/`f64::ln`,
//! rounded to `f32` for the `f32` functions). Two figures per function:
//!
//! | function | bound (every test run) | measured maximum (the sweeps) |
//! | --- | --- | --- |
//! | `exp_f32x8` | 2 ulp | 2 ulp, all 2^32 inputs |
//! | `ln_f32x8` | 2 ulp | 1 ulp, all 2^32 inputs |
//! | `exp_f64x4` | 3 ulp | 1 ulp, 2^27 random inputs |
//! | `ln_f64x4` | 3 ulp | 1 ulp, 2^27 random inputs |
//!
//! The bound is the contract: the default test suite asserts it on sampled inputs
//! (strided bit patterns, dense ranges, random sets, proptest), and the
//! dispatched exponential of the kernels at every SIMD level the CPU has. The
//! measured maximum is asserted by the long sweeps, `scripts/math-sweeps.sh`,
//! which runs them in release twice, in the default build (no FMA) and with
//! `-C target-feature=+avx2,+fma` (fused `mul_add`); it fails if any input is
//! further off than the table says. The `f32` sweeps are exhaustive; the `f64` ones
//! are random samples, so their figure is a measurement, not a proof.

use crate::lanes::{Element, Lanes, Portable};
use num_traits::Float;
use wide::{f32x8, f64x4, u64x4};

// ---------------------------------------------------------------- f32 ----

/// Above this, `exp` overflows (ln(f32::MAX) = 88.72284); clamping here keeps
/// `n` <= 128 so the two-step scale factors stay representable while the
/// final multiply still overflows to +inf on its own.
const EXP_F32_MAX_X: f32 = 89.0;
/// Below this, `exp(x) < 2^-150`, which rounds to +0 (ln(2^-150) = -103.97).
/// Clamping keeps `n >= -150`.
const EXP_F32_MIN_X: f32 = -104.0;
/// `1.5 * 2^23`: adding it rounds to the nearest integer (ties to even) and
/// puts that integer in the low mantissa bits. The extra `0.5 * 2^23` keeps
/// the sum in `[2^23, 2^24)` for negative `n` too.
const SHIFT_F32: f32 = 12_582_912.0;
const SHIFT_F32_BITS: u32 = 0x4B40_0000;
/// `ln 2` split for Cody-Waite: `LN2_HI_F32` (0x3f317200) has 15 significant
/// bits, so `n * LN2_HI_F32` is exact for |n| <= 511 (we need <= 150 for exp,
/// <= 149 for ln); `LN2_LO_F32` (0x35bfbe8e) is `ln 2 - LN2_HI_F32` rounded.
const LN2_HI_F32: f32 = 0.693_145_75;
const LN2_LO_F32: f32 = 1.428_606_8e-6;

/// `exp(r) ~ 1 + r + r^2 * Q(r)` with `Q(r) = C2 + C3 r + C4 r^2 + C5 r^3` (`EXP_F32_Q`` on `|r| <= ln(2)/2`:
/// degree-5 relative-error minimax (Remez), 2^-23.2 before coefficient
/// rounding. This is the lowest degree that meets the 2-ulp target
/// (exhaustively checked, see `exp_f32x8`); degree 6 (one more FMA, error
/// 2^-28.3, coefficients 0.49999994, 0.16666521, 0.04166839, 0.0083687445,
/// 0.0013814544) brings the measured maximum down to 1 ulp.
const EXP_F32_Q: [f32; 4] = [0.499_992_3, 0.166_671_16, 0.041_890_323, 0.008_312_496];

/// Bits of `sqrt(1/2)` (0x3f3504f3), the lower end of the mantissa interval
/// `[sqrt(1/2), sqrt(2))` used by `ln`; centring the interval on 1 keeps
/// `|f| = |m - 1| <= 0.415`, so the polynomial converges fast.
const SQRT_HALF_F32_BITS: u32 = 0x3F35_04F3;
const MANT_MASK_F32: u32 = 0x007F_FFFF;
/// `2^23` as bits: OR-ing a small integer `k` into it gives the float `2^23 + k`.
const TWO_POW_23_F32_BITS: u32 = 0x4B00_0000;
/// Subtracted from `2^23 + k` to turn the biased `k` back into the exponent.
/// `k = e + 126` because the offset above has biased exponent 126.
const LN_F32_EXP_BIAS: f32 = 8_388_608.0 + 126.0;
/// Subnormal inputs are multiplied by `2^24` first so that their mantissa is
/// normalised; the exponent is corrected by the same 24.
const TWO_POW_24_F32: f32 = 16_777_216.0;

/// `ln(1 + f) ~ f - f^2/2 + f^3 * P(f)` on `f in [sqrt(1/2) - 1, sqrt(2) - 1]`,
/// `P` of degree 6 (relative-error minimax, 2^-24.9 before rounding; the
/// error is further damped by the `f^3` factor). Degree 5 measures 5 ulp.
const LN_F32_P: [f32; 7] = [
    0.333_339_12,
    -0.250_013_38,
    0.199_630_45,
    -0.165_775_45,
    0.149_149_4,
    -0.142_678_89,
    0.087_004_244,
];

// ---------------------------------------------------------------- f64 ----

/// ln(f64::MAX) = 709.78271; same role as `EXP_F32_MAX_X` (keeps `n <= 1024`).
const EXP_F64_MAX_X: f64 = 710.0;
/// ln(2^-1075) = -745.13; below it the result rounds to +0. Keeps `n >= -1076`.
const EXP_F64_MIN_X: f64 = -746.0;
/// `1.5 * 2^52`, see `SHIFT_F32`.
const SHIFT_F64: f64 = 6_755_399_441_055_744.0;
const SHIFT_F64_BITS: u64 = 0x4338_0000_0000_0000;
/// fdlibm's split: `LN2_HI_F64` (0x3fe62e42fee00000) has 32 significant bits,
/// so `n * LN2_HI_F64` is exact for |n| < 2^21.
const LN2_HI_F64: f64 = 0.693_147_180_369_123_8;
const LN2_LO_F64: f64 = 1.908_214_929_270_587_7e-10;

/// `exp(r) ~ 1 + r + r^2 * Q(r)`, `Q` of degree 9 (so degree 11 in total),
/// relative-error minimax on `|r| <= ln(2)/2`, max error 2^-57.9. Degree 10
/// in total only reaches 2^-52 and measured 3 ulp on 2^27 random inputs: at
/// the bound, with sampling (not exhaustive) verification, so one more FMA is
/// spent for the margin.
const EXP_F64_Q: [f64; 10] = [
    0.500_000_000_000_001_1,
    0.166_666_666_666_664_1,
    0.041_666_666_666_529_78,
    0.008_333_333_333_494_964,
    0.001_388_888_894_374_748_8,
    0.000_198_412_695_057_748_58,
    2.480_149_296_120_603e-5,
    2.755_758_682_126_321e-6,
    2.763_030_248_784_228_4e-7,
    2.500_000_899_352_846_5e-8,
];

/// Bits of `sqrt(1/2)`; see `SQRT_HALF_F32_BITS`.
const SQRT_HALF_F64_BITS: u64 = 0x3FE6_A09E_667F_3BCD;
const MANT_MASK_F64: u64 = 0x000F_FFFF_FFFF_FFFF;
const TWO_POW_52_F64_BITS: u64 = 0x4330_0000_0000_0000;
/// `2^52 + 1022`: the biased `k` is `e + 1022`.
const LN_F64_EXP_BIAS: f64 = 4_503_599_627_370_496.0 + 1022.0;
const TWO_POW_54_F64: f64 = 18_014_398_509_481_984.0;

/// fdlibm `__ieee754_log` coefficients: `R(z) = z * (Lg1 + z * (Lg2 + ...))`
/// with `z = s^2`, `s = f / (2 + f)`, `|s| <= 0.1716`; error < 2^-58.45.
const LN_F64_LG: [f64; 7] = [
    0.666_666_666_666_673_5,
    0.399_999_999_994_094_2,
    0.285_714_287_436_623_9,
    0.222_221_984_321_497_84,
    0.181_835_721_616_180_5,
    0.153_138_376_992_093_73,
    0.147_981_986_051_165_86,
];

/// Lane-wise natural exponential `e^x` of eight `f32`s.
///
/// # Method
///
/// Cody-Waite reduction `x = n ln 2 + r`, `n = round(x / ln 2)`,
/// `|r| <= ln(2)/2`, with `ln 2` split in a 15-bit `hi` part (so `n * hi` is
/// exact even without FMA) and a `lo` correction. `e^r` is a degree-5
/// minimax polynomial `1 + r + r^2 Q(r)`, evaluated by Horner with
/// `mul_add`; the leading `1 + r` is added last so that the small terms are
/// rounded first. No division.
///
/// The result is scaled by `2^n` in two steps, `(p * 2^a) * 2^b` with
/// `a = floor(n / 2)`, `b = n - a`, built directly from exponent bits. One
/// step cannot work at either end: `2^128` is not an `f32`, and for results
/// below `2^-126` a single factor would itself have to be subnormal (or zero
/// below `2^-149`). With two factors both stay normal, the first product is
/// exact, and the only rounding into the subnormal range happens in the last
/// multiply, which gives correct gradual underflow down to `n = -150`.
///
/// # Domain
///
/// * NaN -> NaN, `+inf` -> `+inf`, `-inf` -> `+0`.
/// * `x > 88.72284` (the overflow threshold) -> `+inf`, produced by the final
///   multiply overflowing; `x < -103.97` -> `+0`.
/// * Results in the subnormal range are rounded once, from the full-precision
///   polynomial value.
/// * `exp(0) = 1` exactly.
///
/// # Accuracy
///
/// Max error 2 ulp (ulp counted as distance in representable values, so
/// absolute in units of the smallest subnormal in the underflow range)
/// against `f64::exp` rounded to `f32`: the bound the tests assert on samples,
/// and the maximum measured *exhaustively* over all 2^32 `f32` inputs, both
/// with and without hardware FMA, by `scripts/math-sweeps.sh` (which fails
/// above 2 ulp). The bound is met with no slack: the degree-5 polynomial was
/// chosen as the cheapest one that meets it (see `EXP_F32_Q` for the 1-ulp
/// degree-6 set).
#[inline]
#[must_use]
pub fn exp_f32x8(x: f32x8) -> f32x8 {
    exp::<f32, _>(Portable, x)
}

/// Lane-wise natural logarithm `ln x` of eight `f32`s.
///
/// # Method
///
/// `x = 2^e m` with `m in [sqrt(1/2), sqrt(2))`, taken from the bits (the
/// exponent is split off relative to `sqrt(1/2)`, so `f = m - 1` is exact and
/// `|f| <= 0.415`). Then `ln x = e ln2_hi + (f - f^2/2 + f^3 P(f) + e ln2_lo)`
/// with `P` a degree-6 minimax polynomial (Horner, `mul_add`); no division.
/// The sum is formed smallest terms first, and `e * ln2_hi` is exact (15-bit
/// `hi`), so the final two additions are the only large roundings.
///
/// # Domain
///
/// * NaN -> NaN, `x < 0` (including `-inf`) -> NaN, `+-0` -> `-inf`,
///   `+inf` -> `+inf`.
/// * Subnormal inputs are multiplied by `2^24` (exact) before the exponent is
///   extracted, and 24 is subtracted from it, so they get full accuracy.
/// * `ln(1) = 0` exactly.
///
/// # Accuracy
///
/// Max error 2 ulp against `f64::ln` rounded to `f32` (the bound the tests
/// assert on samples). The measured maximum is 1 ulp, over all 2^32 `f32`
/// inputs, with and without hardware FMA: `scripts/math-sweeps.sh` asserts
/// that exhaustively.
#[inline]
#[must_use]
pub fn ln_f32x8(x: f32x8) -> f32x8 {
    ln_f32(Portable, x)
}

/// [`ln_f32x8`] on any [`Lanes`]: at the portable level it is that function, at a
/// level with FMA it rounds as `ln_f32x8` does in a build with hardware FMA (which
/// the sweeps measure too). The bit manipulations are spelled with subtractions and
/// shifts, which give the same bits as the masks and ors of the derivation.
#[inline(always)]
pub(crate) fn ln_f32<L: Lanes<f32>>(l: L, x: L::V) -> L::V {
    // Also true for zeros and negatives; harmless, those are patched below.
    let tiny = l.lt(x, l.splat(f32::MIN_POSITIVE));
    let xs = l.select(tiny, l.mul(x, l.splat(TWO_POW_24_F32)), x);

    // Subtracting only the mantissa part of the offset leaves the biased
    // exponent non-negative for every positive input, so a logical shift
    // suffices: k = e + 126 with m in [sqrt(1/2), sqrt(2)).
    let t = l.sub_bits(
        l.to_bits(xs),
        l.splat_bits(SQRT_HALF_F32_BITS & MANT_MASK_F32),
    );
    let k = l.shr_mantissa(t);
    // `t & MANT_MASK` is `t - (k << 23)`; adding a constant is subtracting its
    // negation modulo 2^32.
    let m = l.float_of_bits(l.sub_bits(
        l.sub_bits(t, l.shl_mantissa(k)),
        l.splat_bits(SQRT_HALF_F32_BITS.wrapping_neg()),
    ));
    let bias = l.select(
        tiny,
        l.splat(LN_F32_EXP_BIAS + 24.0),
        l.splat(LN_F32_EXP_BIAS),
    );
    // `k | 2^23` is `k + 2^23` (k < 2^9): `e` is `k - 126` (or `- 150`), exactly.
    let e = l.sub(
        l.float_of_bits(l.sub_bits(k, l.splat_bits(TWO_POW_23_F32_BITS.wrapping_neg()))),
        bias,
    );

    let f = l.sub(m, l.splat(1.0));
    let f2 = l.mul(f, f);
    let mut p = l.splat(LN_F32_P[6]);
    for &c in LN_F32_P[..6].iter().rev() {
        p = l.mul_add(p, f, l.splat(c));
    }
    let y = l.mul(l.mul(f2, f), p);
    let y = l.mul_add(e, l.splat(LN2_LO_F32), y);
    let y = l.mul_neg_add(f2, l.splat(0.5), y);
    let r = l.mul_add(e, l.splat(LN2_HI_F32), l.add(f, y));

    // +inf is the one value above MAX; the zeros are the values below the smallest
    // subnormal once the negatives (also below it) become NaN in the next select.
    let r = l.select(l.gt(x, l.splat(f32::MAX)), x, r);
    let r = l.select(
        l.lt(x, l.splat(f32::from_bits(1))),
        l.splat(f32::NEG_INFINITY),
        r,
    );
    let r = l.select(l.lt(x, l.zero()), l.splat(f32::NAN), r);
    l.select(l.is_nan(x), l.splat(f32::NAN), r)
}

/// Lane-wise natural exponential `e^x` of four `f64`s.
///
/// # Method
///
/// Same structure as [`exp_f32x8`]: Cody-Waite reduction with fdlibm's
/// 32-bit `ln2_hi` (exact `n * hi` for any `n` in range, with or without
/// FMA), a degree-11 minimax polynomial `1 + r + r^2 Q(r)` by Horner with
/// `mul_add`, and a two-step `2^n` scaling from exponent bits so that both
/// `2^1024` (near overflow) and results down to `2^-1075` (gradual
/// underflow, rounded once in the last multiply) are handled. No division.
///
/// # Domain
///
/// * NaN -> NaN, `+inf` -> `+inf`, `-inf` -> `+0`.
/// * `x > 709.78271` -> `+inf`; `x < -745.13` -> `+0`.
/// * `exp(0) = 1` exactly.
///
/// # Accuracy
///
/// Max error 3 ulp against `f64::exp` (std): the bound the tests assert on
/// samples, here and for the dispatched exponential at every SIMD level. The
/// measured maximum is 1 ulp, over 2^26 random inputs uniform in `[-746, 710]`,
/// 2^25 log-uniform in `|x| in [2^-60, 2^10]` and 2^25 in the subnormal-result
/// range `[-745.2, -708]`, with and without hardware FMA: `scripts/math-sweeps.sh`
/// asserts 1 ulp on those samples (random, not exhaustive).
#[inline]
#[must_use]
pub fn exp_f64x4(x: f64x4) -> f64x4 {
    exp::<f64, _>(Portable, x)
}

/// Lane-wise natural logarithm `ln x` of four `f64`s.
///
/// # Method
///
/// `x = 2^e m`, `m in [sqrt(1/2), sqrt(2))`, `f = m - 1` as in [`ln_f32x8`].
/// A plain polynomial in `f` would need about degree 22 for double precision
/// on that interval, so this uses fdlibm's formulation instead:
/// `s = f / (2 + f)`, `z = s^2`, `R = z (Lg1 + z (Lg2 + ... + z Lg7))` and
/// `ln x = e ln2_hi - ((f^2/2 - (s (f^2/2 + R) + e ln2_lo)) - f)`.
/// The one division only feeds the small correction term `s (f^2/2 + R)`,
/// so its rounding barely reaches the result; `e ln2_hi` is exact.
///
/// Cost: on a plain SSE2 build (two `f64` lanes per register, no FMA) the
/// division plus about 30 operations per element make this roughly as fast
/// as scalar `f64::ln`; with AVX2+FMA it is about twice as fast.
///
/// # Domain
///
/// * NaN -> NaN, `x < 0` (including `-inf`) -> NaN, `+-0` -> `-inf`,
///   `+inf` -> `+inf`.
/// * Subnormal inputs are scaled by `2^54` first (exact) and the exponent is
///   corrected, so they get full accuracy.
/// * `ln(1) = 0` exactly.
///
/// # Accuracy
///
/// Max error 3 ulp against `f64::ln` (std): the bound the tests assert on
/// samples. The measured maximum is 1 ulp, over 2^26 random bit patterns
/// covering all positive normals and subnormals, 2^25 uniform in `[0.5, 2]` and
/// 2^24 subnormals, with and without hardware FMA: `scripts/math-sweeps.sh`
/// asserts 1 ulp on those samples (random, not exhaustive).
#[inline]
#[must_use]
pub fn ln_f64x4(x: f64x4) -> f64x4 {
    let tiny = x.simd_lt(f64x4::splat(f64::MIN_POSITIVE));
    let xs = tiny.select(x * f64x4::splat(TWO_POW_54_F64), x);

    let t = xs.to_bits() - u64x4::splat(SQRT_HALF_F64_BITS & MANT_MASK_F64);
    let k = t >> 52;
    let m = f64x4::from_bits((t & u64x4::splat(MANT_MASK_F64)) + u64x4::splat(SQRT_HALF_F64_BITS));
    let bias = tiny.select(
        f64x4::splat(LN_F64_EXP_BIAS + 54.0),
        f64x4::splat(LN_F64_EXP_BIAS),
    );
    let e = f64x4::from_bits(k | u64x4::splat(TWO_POW_52_F64_BITS)) - bias;

    let f = m - f64x4::ONE;
    let s = f / (f + f64x4::splat(2.0));
    let z = s * s;
    let mut w = f64x4::splat(LN_F64_LG[6]);
    for &c in LN_F64_LG[..6].iter().rev() {
        w = w.mul_add(z, f64x4::splat(c));
    }
    let big_r = z * w;
    let hfsq = f64x4::splat(0.5) * f * f;
    let t = s.mul_add(hfsq + big_r, e * f64x4::splat(LN2_LO_F64));
    let r = e.mul_sub(f64x4::splat(LN2_HI_F64), (hfsq - t) - f);

    let r = x.simd_eq(f64x4::splat(f64::INFINITY)).select(x, r);
    let r = x
        .simd_eq(f64x4::splat(0.0))
        .select(f64x4::splat(f64::NEG_INFINITY), r);
    (!x.simd_ge(f64x4::splat(0.0))).select(f64x4::splat(f64::NAN), r)
}

// ------------------------------------------------------- exp, generic ----

/// The constants of the exponential for one element type (see [`exp`]).
pub(crate) trait ExpConsts: Element + Float + 'static {
    /// Inputs are clamped to `[MIN_X, MAX_X]`; below `MIN_X` the result is `+0`.
    const MIN_X: Self;
    const MAX_X: Self;
    /// `1.5 * 2^mantissa bits`.
    const SHIFT: Self;
    const LOG2_E: Self;
    const LN2_HI: Self;
    const LN2_LO: Self;
    /// `Q(r)`, lowest degree first.
    const Q: &'static [Self];
    /// Twice the exponent bias (254, 2046): `u = n + SCALE_BIAS`.
    const SCALE_BIAS: Self::Bits;
    /// The bits of `SHIFT` minus `SCALE_BIAS`: takes `z`'s bits to `u`.
    const U_OFFSET: Self::Bits;
}

impl ExpConsts for f32 {
    const MIN_X: f32 = EXP_F32_MIN_X;
    const MAX_X: f32 = EXP_F32_MAX_X;
    const SHIFT: f32 = SHIFT_F32;
    const LOG2_E: f32 = core::f32::consts::LOG2_E;
    const LN2_HI: f32 = LN2_HI_F32;
    const LN2_LO: f32 = LN2_LO_F32;
    const Q: &'static [f32] = &EXP_F32_Q;
    const SCALE_BIAS: u32 = 254;
    const U_OFFSET: u32 = SHIFT_F32_BITS - 254;
}

impl ExpConsts for f64 {
    const MIN_X: f64 = EXP_F64_MIN_X;
    const MAX_X: f64 = EXP_F64_MAX_X;
    const SHIFT: f64 = SHIFT_F64;
    const LOG2_E: f64 = core::f64::consts::LOG2_E;
    const LN2_HI: f64 = LN2_HI_F64;
    const LN2_LO: f64 = LN2_LO_F64;
    const Q: &'static [f64] = &EXP_F64_Q;
    const SCALE_BIAS: u64 = 2046;
    const U_OFFSET: u64 = SHIFT_F64_BITS - 2046;
}

/// [`exp_f32x8`] and [`exp_f64x4`] (whose docs give the method and its bounds) on the
/// vectors of any instruction set: the same operations in the same order, so every
/// level meets the same bound, with `mul_add` fused (FMA) or not (see the module
/// docs).
#[inline(always)]
pub(crate) fn exp<T: ExpConsts, L: Lanes<T>>(l: L, x: L::V) -> L::V {
    let [y] = exp_k(l, [x]);
    y
}

/// [`exp`] of `K` vectors, their steps interleaved as in [`exp_not_nan_k`].
#[inline(always)]
pub(crate) fn exp_k<T: ExpConsts, L: Lanes<T>, const K: usize>(l: L, x: [L::V; K]) -> [L::V; K] {
    let y = exp_not_nan_k(l, x);
    each(x, y, |x, y| l.select(l.is_nan(x), x, y))
}

/// [`exp`] of `K` vectors without the final NaN repair (the same bits for every
/// input but NaN, for which the result is unspecified: for a caller that drops those
/// lanes anyway), each step issued for all of them before the next.
/// One exponential is a chain of about 15 dependent operations, and a loop of lone
/// exponentials leaves the out-of-order window too few independent ones to fill the
/// units: the side-by-side Sinkhorn rows took half the time with `K = 2`. Each
/// vector's arithmetic is the same, bit for bit, whatever `K`.
#[inline(always)]
pub(crate) fn exp_not_nan_k<T: ExpConsts, L: Lanes<T>, const K: usize>(
    l: L,
    x: [L::V; K],
) -> [L::V; K] {
    // NaN lanes are repaired by the final select, so the NaN behaviour of
    // `max`/`min` (platform dependent) does not matter.
    let xc = x.map(|x| l.min(l.max(x, l.splat(T::MIN_X)), l.splat(T::MAX_X)));

    // z = n + 1.5 * 2^23 (2^52) with n = round(x / ln 2) sitting in the low bits.
    let z = xc.map(|xc| l.mul_add(xc, l.splat(T::LOG2_E), l.splat(T::SHIFT)));
    let n = z.map(|z| l.sub(z, l.splat(T::SHIFT)));
    // r = x - n ln2: the hi step is exact (exact product, Sterbenz), only the
    // tiny lo step rounds.
    let r = each(n, xc, |n, xc| l.mul_neg_add(n, l.splat(T::LN2_HI), xc));
    let r = each(n, r, |n, r| l.mul_neg_add(n, l.splat(T::LN2_LO), r));

    // Horner has the fewest operations; in the Sinkhorn loops many
    // independent vectors are in flight, so throughput rather than the
    // dependency chain is what limits.
    let Some((&top, rest)) = T::Q.split_last() else {
        return x.map(|_| l.splat(T::nan())); // no polynomial: not a case of the two impls
    };
    let mut q = x.map(|_| l.splat(top));
    for &c in rest.iter().rev() {
        q = each(q, r, |q, r| l.mul_add(q, r, l.splat(c)));
    }
    let p = each(q, r, |q, r| {
        l.add(l.mul_add(l.mul(r, r), q, r), l.splat(T::one()))
    });

    // f32: u = n + 254 >= 104 (n >= -150), so a logical shift gives floor(u / 2)
    // and no signed shift is needed: a = floor(n/2) + 127, b = n - floor(n/2)
    // + 127, both biased exponents in [52, 191]. f64: u = n + 2046 >= 970
    // (n >= -1076), a and b in [485, 1535].
    //
    // Lanes whose result is +0 get the scale 1 instead (u = SCALE_BIAS) and are
    // zeroed at the end: a multiply that underflows costs a microcode assist of about
    // a hundred cycles on x86 unless the flush-to-zero mode is set, and inputs that
    // far below are the common case in Sinkhorn at small eps (measured 6x slower).
    let zero = x.map(|x| l.lt(x, l.splat(T::MIN_X)));
    let u = z.map(|z| l.sub_bits(l.to_bits(z), l.splat_bits(T::U_OFFSET)));
    let u = each(zero, u, |zero, u| {
        l.select_bits(zero, l.splat_bits(T::SCALE_BIAS), u)
    });
    let a = u.map(|u| l.shr1(u));
    let b = each(u, a, |u, a| l.sub_bits(u, a));
    let y = each(p, a, |p, a| l.mul(p, l.float_of_bits(l.shl_mantissa(a))));
    let y = each(y, b, |y, b| l.mul(y, l.float_of_bits(l.shl_mantissa(b))));

    each(zero, y, |zero, y| l.select(zero, l.zero(), y))
}

/// `[op(a_0, b_0), op(a_1, b_1), ...]`.
#[inline(always)]
fn each<A: Copy, B: Copy, R, const K: usize>(
    a: [A; K],
    b: [B; K],
    op: impl Fn(A, B) -> R,
) -> [R; K] {
    core::array::from_fn(|k| op(a[k], b[k]))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    // ------------------------------------------------------------ helpers --

    /// Position of `x` on the number line of representable `f32`s (`-0` and
    /// `+0` coincide, `inf` is one past `MAX`), so that differences are ulp
    /// distances, absolute in units of the smallest subnormal near zero.
    fn ord32(x: f32) -> i64 {
        let b = x.to_bits();
        if b >> 31 == 1 {
            -i64::from(b & 0x7FFF_FFFF)
        } else {
            i64::from(b)
        }
    }

    fn ord64(x: f64) -> i128 {
        let b = x.to_bits();
        if b >> 63 == 1 {
            -i128::from(b & 0x7FFF_FFFF_FFFF_FFFF)
        } else {
            i128::from(b)
        }
    }

    /// ulp distance; NaN matches only NaN.
    fn ulp32(got: f32, want: f32) -> u64 {
        match (got.is_nan(), want.is_nan()) {
            (true, true) => 0,
            (false, false) => (ord32(got) - ord32(want)).unsigned_abs(),
            _ => u64::MAX,
        }
    }

    fn ulp64(got: f64, want: f64) -> u64 {
        match (got.is_nan(), want.is_nan()) {
            (true, true) => 0,
            (false, false) => {
                u64::try_from((ord64(got) - ord64(want)).unsigned_abs()).unwrap_or(u64::MAX)
            }
            _ => u64::MAX,
        }
    }

    fn ref_exp32(x: f32) -> f32 {
        f64::from(x).exp() as f32
    }

    fn ref_ln32(x: f32) -> f32 {
        f64::from(x).ln() as f32
    }

    /// Worst case seen by a sweep: (max ulp, input at which it occurred).
    #[derive(Clone, Copy, Debug)]
    struct Worst<T> {
        ulp: u64,
        at: T,
    }

    struct Sweep32 {
        f: fn(f32x8) -> f32x8,
        reference: fn(f32) -> f32,
        buf: [f32; 8],
        len: usize,
        worst: Worst<f32>,
        count: u64,
    }

    impl Sweep32 {
        fn new(f: fn(f32x8) -> f32x8, reference: fn(f32) -> f32) -> Self {
            Self {
                f,
                reference,
                buf: [0.0; 8],
                len: 0,
                worst: Worst { ulp: 0, at: 0.0 },
                count: 0,
            }
        }

        fn push(&mut self, x: f32) {
            self.buf[self.len] = x;
            self.len += 1;
            if self.len == 8 {
                self.flush();
            }
        }

        fn flush(&mut self) {
            let got: [f32; 8] = (self.f)(f32x8::new(self.buf)).into();
            for (&x, &g) in self.buf[..self.len].iter().zip(&got) {
                let u = ulp32(g, (self.reference)(x));
                if u > self.worst.ulp {
                    self.worst = Worst { ulp: u, at: x };
                }
            }
            self.count += self.len as u64;
            self.len = 0;
        }

        fn finish(mut self) -> (Worst<f32>, u64) {
            if self.len > 0 {
                self.flush();
            }
            (self.worst, self.count)
        }
    }

    struct Sweep64 {
        f: fn(f64x4) -> f64x4,
        reference: fn(f64) -> f64,
        buf: [f64; 4],
        len: usize,
        worst: Worst<f64>,
        count: u64,
    }

    impl Sweep64 {
        fn new(f: fn(f64x4) -> f64x4, reference: fn(f64) -> f64) -> Self {
            Self {
                f,
                reference,
                buf: [0.0; 4],
                len: 0,
                worst: Worst { ulp: 0, at: 0.0 },
                count: 0,
            }
        }

        fn push(&mut self, x: f64) {
            self.buf[self.len] = x;
            self.len += 1;
            if self.len == 4 {
                self.flush();
            }
        }

        fn flush(&mut self) {
            let got: [f64; 4] = (self.f)(f64x4::new(self.buf)).into();
            for (&x, &g) in self.buf[..self.len].iter().zip(&got) {
                let u = ulp64(g, (self.reference)(x));
                if u > self.worst.ulp {
                    self.worst = Worst { ulp: u, at: x };
                }
            }
            self.count += self.len as u64;
            self.len = 0;
        }

        fn finish(mut self) -> (Worst<f64>, u64) {
            if self.len > 0 {
                self.flush();
            }
            (self.worst, self.count)
        }
    }

    /// SplitMix64: tiny deterministic generator for the sweeps.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
        }

        fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * self.unit()
        }
    }

    /// Sweep sizes: builds with debug assertions (the default `cargo test`)
    /// must keep the whole module well under 10 s; `--release` is the real
    /// measurement. Measured: about 3 s single-threaded at opt-level 0, and
    /// 0.1 s under this workspace's `[profile.test]` (opt-level 2).
    const RELEASE: bool = !cfg!(debug_assertions);

    fn scale(release: u64, debug: u64) -> u64 {
        if RELEASE { release } else { debug }
    }

    /// The documented bounds (the module's table): what every sampled test asserts.
    const F32_ULP_BOUND: u64 = 2;
    const F64_ULP_BOUND: u64 = 3;
    /// The measured maxima the doc comments state, asserted by the long sweeps
    /// (`exhaustive_*`, run by `scripts/math-sweeps.sh`).
    const EXP_F32_MEASURED: u64 = 2;
    const LN_F32_MEASURED: u64 = 1;
    const EXP_F64_MEASURED: u64 = 1;
    const LN_F64_MEASURED: u64 = 1;

    // -------------------------------------------------------- f32 sweeps --

    /// Every `stride`-th bit pattern from 0 up (both signs, NaNs, infinities,
    /// subnormals); an odd stride cycles through all low mantissa bits.
    fn strided_bits32(sweep: &mut Sweep32, stride: u64) {
        let mut b = 0u64;
        while b <= u64::from(u32::MAX) {
            sweep.push(f32::from_bits(b as u32));
            b += stride;
        }
    }

    fn check32(name: &str, sweep: Sweep32) {
        let (worst, count) = sweep.finish();
        std::println!(
            "{name}: {count} inputs, max {} ulp at {:e} ({:#010x})",
            worst.ulp,
            worst.at,
            worst.at.to_bits()
        );
        assert!(
            worst.ulp <= F32_ULP_BOUND,
            "{name}: {} ulp at {:e} ({:#010x})",
            worst.ulp,
            worst.at,
            worst.at.to_bits()
        );
    }

    fn check64(name: &str, sweep: Sweep64) {
        check64_within(name, sweep, F64_ULP_BOUND);
    }

    fn check64_within(name: &str, sweep: Sweep64, bound: u64) {
        let (worst, count) = sweep.finish();
        std::println!(
            "{name}: {count} inputs, max {} ulp at {:e} ({:#018x})",
            worst.ulp,
            worst.at,
            worst.at.to_bits()
        );
        assert!(
            worst.ulp <= bound,
            "{name}: {} ulp at {:e} ({:#018x}), above {bound}",
            worst.ulp,
            worst.at,
            worst.at.to_bits()
        );
    }

    #[test]
    fn exp_f32_ulp_sweep() {
        // Strided over all 2^32 patterns: 2^32 / 61 = 70M (release),
        // 2^32 / 2039 = 2.1M (debug).
        let mut s = Sweep32::new(exp_f32x8, ref_exp32);
        strided_bits32(&mut s, scale(61, 2039));
        check32("exp_f32 strided bits", s);

        // Dense linear sweep over the interesting domain, subnormal results
        // and overflow boundary included.
        let n = scale(8_000_000, 1_000_000);
        let mut s = Sweep32::new(exp_f32x8, ref_exp32);
        for i in 0..=n {
            s.push((-104.5 + 194.0 * i as f64 / n as f64) as f32);
        }
        check32("exp_f32 linear [-104.5, 89.5]", s);

        // Random bit patterns restricted to |x| < 128.
        let mut rng = Rng(1);
        let mut s = Sweep32::new(exp_f32x8, ref_exp32);
        for _ in 0..scale(8_000_000, 1_000_000) {
            let b = rng.next() as u32;
            s.push(f32::from_bits(b & 0xC2FF_FFFF));
        }
        check32("exp_f32 random bits |x| < 128", s);
    }

    #[test]
    fn ln_f32_ulp_sweep() {
        let mut s = Sweep32::new(ln_f32x8, ref_ln32);
        strided_bits32(&mut s, scale(61, 2039));
        check32("ln_f32 strided bits", s);

        // Every f32 in [0.5, 2) in release (16.8M), where the result is
        // smallest relative to its inputs; strided in debug.
        let mut s = Sweep32::new(ln_f32x8, ref_ln32);
        let (lo, hi) = (0.5f32.to_bits(), 2.0f32.to_bits());
        let step = scale(1, 16) as usize;
        for b in (lo..hi).step_by(step) {
            s.push(f32::from_bits(b));
        }
        check32("ln_f32 [0.5, 2)", s);

        // Random positive patterns: normals and subnormals, log-uniform.
        let mut rng = Rng(2);
        let mut s = Sweep32::new(ln_f32x8, ref_ln32);
        for _ in 0..scale(8_000_000, 1_000_000) {
            s.push(f32::from_bits((rng.next() as u32) & 0x7FFF_FFFF));
        }
        check32("ln_f32 random positive bits", s);
    }

    // -------------------------------------------------------- f64 sweeps --

    #[test]
    fn exp_f64_ulp_sweep() {
        let mut rng = Rng(3);
        let mut s = Sweep64::new(exp_f64x4, f64::exp);
        for _ in 0..scale(4_000_000, 500_000) {
            s.push(rng.uniform(-746.0, 710.0));
        }
        check64("exp_f64 uniform [-746, 710]", s);

        let mut s = Sweep64::new(exp_f64x4, f64::exp);
        for _ in 0..scale(2_000_000, 250_000) {
            let mag = rng.uniform(-60.0, 10.0).exp2();
            s.push(if rng.next() & 1 == 0 { mag } else { -mag });
        }
        check64("exp_f64 log-uniform |x| in [2^-60, 2^10]", s);

        let mut s = Sweep64::new(exp_f64x4, f64::exp);
        for _ in 0..scale(2_000_000, 250_000) {
            s.push(rng.uniform(-745.2, -708.0));
        }
        check64("exp_f64 subnormal results [-745.2, -708]", s);
    }

    #[test]
    fn ln_f64_ulp_sweep() {
        let mut rng = Rng(4);
        let mut s = Sweep64::new(ln_f64x4, f64::ln);
        for _ in 0..scale(4_000_000, 500_000) {
            // Positive normals and subnormals (no inf/NaN): exponent field < 0x7ff.
            let b = rng.next() % 0x7FF0_0000_0000_0000;
            s.push(f64::from_bits(b));
        }
        check64("ln_f64 random positive bits", s);

        let mut s = Sweep64::new(ln_f64x4, f64::ln);
        for _ in 0..scale(2_000_000, 250_000) {
            s.push(rng.uniform(0.5, 2.0));
        }
        check64("ln_f64 uniform [0.5, 2]", s);

        let mut s = Sweep64::new(ln_f64x4, f64::ln);
        for _ in 0..scale(1_000_000, 125_000) {
            s.push(f64::from_bits(rng.next() & 0x000F_FFFF_FFFF_FFFF));
        }
        check64("ln_f64 subnormals", s);
    }

    /// The dispatched exponential (as `exp_affine_sum` with `alpha = 1`, `y = beta = 0`,
    /// which is exactly `exp(x)`) at every level this CPU has: the bounds above on
    /// the same kinds of inputs, and the special values of the docs.
    #[test]
    fn exp_every_level() {
        use crate::sinkhorn::kernels::{f32s, f64s};
        let mut rng = Rng(5);
        let mut x32: Vec<f32> = (0..=u64::from(u32::MAX))
            .step_by(scale(61, 2039) as usize)
            .map(|b| f32::from_bits(b as u32))
            .collect();
        x32.extend((0..scale(2_000_000, 250_000)).map(|_| rng.uniform(-104.5, 89.5) as f32));
        let mut x64: Vec<f64> = (0..scale(2_000_000, 250_000))
            .map(|_| rng.uniform(-746.0, 710.0))
            .collect();
        x64.extend((0..scale(1_000_000, 125_000)).map(|_| rng.uniform(-745.2, -708.0)));
        x64.extend((0..scale(1_000_000, 125_000)).map(|_| {
            let mag = rng.uniform(-60.0, 10.0).exp2();
            if rng.next() & 1 == 0 { mag } else { -mag }
        }));
        let specials = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            710.0,
            -746.0,
        ];
        x64.extend(specials);
        x32.extend(specials.map(|v| v as f32));
        for level in crate::isa::supported() {
            let mut out = std::vec![0.0f32; x32.len()];
            f32s::exp_affine_sum_at(level, 1.0, &x32, 0.0, &std::vec![0.0; x32.len()], &mut out);
            for (&x, &e) in x32.iter().zip(&out) {
                let u = ulp32(e, ref_exp32(x));
                assert!(u <= F32_ULP_BOUND, "{level:?}: exp({x:e}) = {e:e}, {u} ulp");
            }
            let mut out = std::vec![0.0f64; x64.len()];
            f64s::exp_affine_sum_at(level, 1.0, &x64, 0.0, &std::vec![0.0; x64.len()], &mut out);
            for (&x, &e) in x64.iter().zip(&out) {
                let u = ulp64(e, x.exp());
                assert!(u <= F64_ULP_BOUND, "{level:?}: exp({x:e}) = {e:e}, {u} ulp");
            }
            // Exact: exp(+-0) = 1 and the +0 of deep underflow, bit for bit.
            let n = out.len();
            assert_eq!(out[n - 4].to_bits(), 1.0f64.to_bits(), "{level:?}");
            assert_eq!(out[n - 3].to_bits(), 1.0f64.to_bits(), "{level:?}");
            assert_eq!(out[n - 1].to_bits(), 0.0f64.to_bits(), "{level:?}");
        }
    }

    // ---------------------------------------------------- special values --

    fn lanes32(f: fn(f32x8) -> f32x8, xs: [f32; 8]) -> [f32; 8] {
        f(f32x8::new(xs)).into()
    }

    fn lanes64(f: fn(f64x4) -> f64x4, xs: [f64; 4]) -> [f64; 4] {
        f(f64x4::new(xs)).into()
    }

    fn same32(got: f32, want: f32) -> bool {
        (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits()
    }

    fn same64(got: f64, want: f64) -> bool {
        (got.is_nan() && want.is_nan()) || got.to_bits() == want.to_bits()
    }

    #[test]
    fn exp_f32_special_lanes() {
        let min_sub = f32::from_bits(1);
        let cases: [(f32, f32); 16] = [
            (f32::NAN, f32::NAN),
            (f32::INFINITY, f32::INFINITY),
            (f32::NEG_INFINITY, 0.0),
            (0.0, 1.0),
            (-0.0, 1.0),
            (88.8, f32::INFINITY),
            (1.0e30, f32::INFINITY),
            (f32::MAX, f32::INFINITY),
            (-104.0, 0.0),
            (-1.0e30, 0.0),
            (f32::MIN, 0.0),
            (-f32::NAN, f32::NAN),
            (min_sub, 1.0),
            (-min_sub, 1.0),
            (1.0, core::f32::consts::E),
            (f32::MIN_POSITIVE, 1.0),
        ];
        for chunk in cases.chunks(8) {
            let xs: [f32; 8] = core::array::from_fn(|i| chunk[i].0);
            let got = lanes32(exp_f32x8, xs);
            for (i, &(x, want)) in chunk.iter().enumerate() {
                // NaN, infinities, 0 and 1 must be exact; other values
                // (e.g. exp(1)) within the ulp bound.
                let close = want.is_normal() && want != 1.0 && ulp32(got[i], want) <= F32_ULP_BOUND;
                assert!(
                    same32(got[i], want) || close,
                    "exp_f32({x:e}) = {:e}, want {want:e}",
                    got[i]
                );
            }
        }
        // Lanes must not influence each other: rotate NaN, +inf, -inf and a
        // huge value through every lane position, with ordinary neighbours
        // that must come out exactly as in an all-ordinary vector.
        let plain = lanes32(exp_f32x8, [0.5; 8])[0];
        let specials = [
            (f32::NAN, f32::NAN),
            (f32::INFINITY, f32::INFINITY),
            (f32::NEG_INFINITY, 0.0),
            (1.0e20, f32::INFINITY),
        ];
        for lane in 0..8 {
            let mut xs = [0.5f32; 8];
            for (j, &(s, _)) in specials.iter().enumerate() {
                xs[(lane + 2 * j) % 8] = s;
            }
            let got = lanes32(exp_f32x8, xs);
            for (i, &g) in got.iter().enumerate() {
                let want = specials
                    .iter()
                    .enumerate()
                    .find(|&(j, _)| (lane + 2 * j) % 8 == i)
                    .map_or(plain, |(_, &(_, w))| w);
                assert!(same32(g, want), "lane {i}: {g:e}, want {want:e}");
            }
        }
        // Gradual underflow: results are subnormal, must still be within the
        // ulp bound in absolute units of the smallest subnormal.
        let xs = [
            -87.5f32, -90.0, -95.0, -100.0, -102.0, -103.0, -103.5, -103.9,
        ];
        let got = lanes32(exp_f32x8, xs);
        for (&x, &g) in xs.iter().zip(&got) {
            assert!(
                ulp32(g, ref_exp32(x)) <= F32_ULP_BOUND,
                "exp_f32({x}) = {g:e}"
            );
            assert!(g > 0.0, "exp_f32({x}) must not flush to zero");
        }
        // Largest finite result, just below the overflow threshold.
        let x = 88.72283f32;
        assert_eq!(lanes32(exp_f32x8, [x; 8])[0], ref_exp32(x));
        assert!(ref_exp32(x).is_finite());
    }

    #[test]
    fn ln_f32_special_lanes() {
        let min_sub = f32::from_bits(1);
        let cases: [(f32, f32); 16] = [
            (f32::NAN, f32::NAN),
            (f32::INFINITY, f32::INFINITY),
            (f32::NEG_INFINITY, f32::NAN),
            (0.0, f32::NEG_INFINITY),
            (-0.0, f32::NEG_INFINITY),
            (-1.0, f32::NAN),
            (-min_sub, f32::NAN),
            (1.0, 0.0),
            (min_sub, ref_ln32(min_sub)),
            (f32::MIN_POSITIVE, ref_ln32(f32::MIN_POSITIVE)),
            (
                f32::from_bits(0x007F_FFFF),
                ref_ln32(f32::from_bits(0x007F_FFFF)),
            ),
            (f32::MAX, ref_ln32(f32::MAX)),
            (core::f32::consts::E, 1.0),
            (2.0, core::f32::consts::LN_2),
            (-f32::NAN, f32::NAN),
            (f32::MIN, f32::NAN),
        ];
        for chunk in cases.chunks(8) {
            let xs: [f32; 8] = core::array::from_fn(|i| chunk[i].0);
            let got = lanes32(ln_f32x8, xs);
            for (i, &(x, want)) in chunk.iter().enumerate() {
                assert!(
                    same32(got[i], want)
                        || (want.is_normal() && ulp32(got[i], want) <= F32_ULP_BOUND),
                    "ln_f32({x:e}) = {:e}, want {want:e}",
                    got[i]
                );
            }
        }
        // Lane independence, as in `exp_f32_special_lanes`.
        let plain = lanes32(ln_f32x8, [3.0; 8])[0];
        let specials = [
            (0.0, f32::NEG_INFINITY),
            (f32::NAN, f32::NAN),
            (f32::INFINITY, f32::INFINITY),
            (-2.0, f32::NAN),
        ];
        for lane in 0..8 {
            let mut xs = [3.0f32; 8];
            for (j, &(s, _)) in specials.iter().enumerate() {
                xs[(lane + 2 * j) % 8] = s;
            }
            let got = lanes32(ln_f32x8, xs);
            for (i, &g) in got.iter().enumerate() {
                let want = specials
                    .iter()
                    .enumerate()
                    .find(|&(j, _)| (lane + 2 * j) % 8 == i)
                    .map_or(plain, |(_, &(_, w))| w);
                assert!(same32(g, want), "lane {i}: {g:e}, want {want:e}");
            }
        }
        // ln(1) is exactly +0, not -0.
        for g in lanes32(ln_f32x8, [1.0; 8]) {
            assert_eq!(g.to_bits(), 0);
        }
    }

    #[test]
    fn exp_f64_special_lanes() {
        let min_sub = f64::from_bits(1);
        let cases: [(f64, f64); 16] = [
            (f64::NAN, f64::NAN),
            (f64::INFINITY, f64::INFINITY),
            (f64::NEG_INFINITY, 0.0),
            (0.0, 1.0),
            (-0.0, 1.0),
            (709.8, f64::INFINITY),
            (1.0e300, f64::INFINITY),
            (f64::MAX, f64::INFINITY),
            (-746.0, 0.0),
            (-1.0e300, 0.0),
            (f64::MIN, 0.0),
            (-f64::NAN, f64::NAN),
            (min_sub, 1.0),
            (-min_sub, 1.0),
            (1.0, core::f64::consts::E),
            (-745.13, f64::exp(-745.13)),
        ];
        for chunk in cases.chunks(4) {
            let xs: [f64; 4] = core::array::from_fn(|i| chunk[i].0);
            let got = lanes64(exp_f64x4, xs);
            for (i, &(x, want)) in chunk.iter().enumerate() {
                assert!(
                    same64(got[i], want)
                        || (want.is_normal()
                            && want != 1.0
                            && ulp64(got[i], want) <= F64_ULP_BOUND),
                    "exp_f64({x:e}) = {:e}, want {want:e}",
                    got[i]
                );
            }
        }
        let xs = [-709.0f64, -720.0, -740.0, -745.0];
        let got = lanes64(exp_f64x4, xs);
        for (&x, &g) in xs.iter().zip(&got) {
            assert!(ulp64(g, x.exp()) <= F64_ULP_BOUND, "exp_f64({x}) = {g:e}");
            assert!(g > 0.0);
        }
        let x = 709.782_712_893_383_9_f64;
        let got = lanes64(exp_f64x4, [x; 4])[0];
        assert!(got.is_finite() && ulp64(got, x.exp()) <= F64_ULP_BOUND);
    }

    #[test]
    fn ln_f64_special_lanes() {
        let min_sub = f64::from_bits(1);
        let cases: [(f64, f64); 16] = [
            (f64::NAN, f64::NAN),
            (f64::INFINITY, f64::INFINITY),
            (f64::NEG_INFINITY, f64::NAN),
            (0.0, f64::NEG_INFINITY),
            (-0.0, f64::NEG_INFINITY),
            (-1.0, f64::NAN),
            (-min_sub, f64::NAN),
            (1.0, 0.0),
            (min_sub, min_sub.ln()),
            (f64::MIN_POSITIVE, f64::MIN_POSITIVE.ln()),
            (
                f64::from_bits(0x000F_FFFF_FFFF_FFFF),
                f64::from_bits(0x000F_FFFF_FFFF_FFFF).ln(),
            ),
            (f64::MAX, f64::MAX.ln()),
            (core::f64::consts::E, 1.0),
            (2.0, core::f64::consts::LN_2),
            (-f64::NAN, f64::NAN),
            (f64::MIN, f64::NAN),
        ];
        for chunk in cases.chunks(4) {
            let xs: [f64; 4] = core::array::from_fn(|i| chunk[i].0);
            let got = lanes64(ln_f64x4, xs);
            for (i, &(x, want)) in chunk.iter().enumerate() {
                assert!(
                    same64(got[i], want)
                        || (want.is_normal() && ulp64(got[i], want) <= F64_ULP_BOUND),
                    "ln_f64({x:e}) = {:e}, want {want:e}",
                    got[i]
                );
            }
        }
        for g in lanes64(ln_f64x4, [1.0; 4]) {
            assert_eq!(g.to_bits(), 0);
        }
    }

    #[test]
    fn exact_identities() {
        for g in lanes32(exp_f32x8, [0.0, -0.0, 0.0, -0.0, 0.0, -0.0, 0.0, -0.0]) {
            assert_eq!(g, 1.0);
        }
        for g in lanes64(exp_f64x4, [0.0, -0.0, 0.0, -0.0]) {
            assert_eq!(g, 1.0);
        }
        for g in lanes32(ln_f32x8, [1.0; 8]) {
            assert_eq!(g.to_bits(), 0f32.to_bits());
        }
        for g in lanes64(ln_f64x4, [1.0; 4]) {
            assert_eq!(g.to_bits(), 0f64.to_bits());
        }
        // Powers of two: ln(2^k) must be k ln 2 to within the bound, exact
        // exponent handling across the whole range including subnormals.
        for k in -149..=127 {
            let x = 2f32.powi(k);
            let g = lanes32(ln_f32x8, [x; 8])[0];
            assert!(
                ulp32(g, ref_ln32(x)) <= F32_ULP_BOUND,
                "ln_f32(2^{k}) = {g}"
            );
        }
        for k in -1074..=1023 {
            let x = 2f64.powi(k);
            let g = lanes64(ln_f64x4, [x; 4])[0];
            assert!(ulp64(g, x.ln()) <= F64_ULP_BOUND, "ln_f64(2^{k}) = {g}");
        }
    }

    // ------------------------------------------------------ monotonicity --

    /// `count` consecutive representable values upwards from `start`.
    fn consecutive32(start: f32, count: usize) -> Vec<f32> {
        let mut v = Vec::with_capacity(count);
        let mut x = start;
        for _ in 0..count {
            v.push(x);
            x = x.next_up();
        }
        v
    }

    fn consecutive64(start: f64, count: usize) -> Vec<f64> {
        let mut v = Vec::with_capacity(count);
        let mut x = start;
        for _ in 0..count {
            v.push(x);
            x = x.next_up();
        }
        v
    }

    fn ulps_below32(x: f32, k: usize) -> f32 {
        (0..k).fold(x, |x, _| x.next_down())
    }

    fn ulps_below64(x: f64, k: usize) -> f64 {
        (0..k).fold(x, |x, _| x.next_down())
    }

    fn assert_monotone32(name: &str, f: fn(f32x8) -> f32x8, xs: &[f32]) {
        let mut ys = Vec::with_capacity(xs.len());
        for c in xs.chunks(8) {
            let mut buf = [c[c.len() - 1]; 8];
            buf[..c.len()].copy_from_slice(c);
            let out: [f32; 8] = f(f32x8::new(buf)).into();
            ys.extend_from_slice(&out[..c.len()]);
        }
        for i in 1..ys.len() {
            assert!(
                ys[i] >= ys[i - 1],
                "{name} not monotone at {:e}: {:e} < {:e}",
                xs[i],
                ys[i],
                ys[i - 1]
            );
        }
    }

    fn assert_monotone64(name: &str, f: fn(f64x4) -> f64x4, xs: &[f64]) {
        let mut ys = Vec::with_capacity(xs.len());
        for c in xs.chunks(4) {
            let mut buf = [c[c.len() - 1]; 4];
            buf[..c.len()].copy_from_slice(c);
            let out: [f64; 4] = f(f64x4::new(buf)).into();
            ys.extend_from_slice(&out[..c.len()]);
        }
        for i in 1..ys.len() {
            assert!(
                ys[i] >= ys[i - 1],
                "{name} not monotone at {:e}: {:e} < {:e}",
                xs[i],
                ys[i],
                ys[i - 1]
            );
        }
    }

    #[test]
    fn monotonicity_spot_checks() {
        use core::f32::consts as c32;
        use core::f64::consts as c64;
        const N: usize = 4096;
        // Windows of N consecutive values centred on: the underflow-to-zero,
        // smallest-subnormal and subnormal/normal result boundaries, the
        // reduction-interval edges (n changes at odd multiples of ln2/2),
        // zero and the overflow threshold.
        for centre in [
            -103.972_08f32,
            -103.278_93,
            -87.336_55,
            -10.0,
            -0.5 * c32::LN_2,
            0.0,
            0.5 * c32::LN_2,
            1.5 * c32::LN_2,
            20.0,
            88.722_83,
        ] {
            let xs = consecutive32(ulps_below32(centre, N / 2), N);
            assert_monotone32("exp_f32", exp_f32x8, &xs);
        }
        // ln: from the smallest subnormal up, across subnormal -> normal,
        // and centred on sqrt(1/2), 1, sqrt(2) and just below MAX.
        let mut windows = std::vec![
            consecutive32(f32::from_bits(1), N),
            consecutive32(ulps_below32(f32::MIN_POSITIVE, N / 2), N),
        ];
        for centre in [c32::FRAC_1_SQRT_2, 1.0, c32::SQRT_2] {
            windows.push(consecutive32(ulps_below32(centre, N / 2), N));
        }
        windows.push(consecutive32(ulps_below32(f32::MAX, N - 1), N));
        for xs in &windows {
            assert_monotone32("ln_f32", ln_f32x8, xs);
        }
        // Coarse check over the whole exp domain.
        let coarse: Vec<f32> = (0..=20_000)
            .map(|i| -104.0 + 193.0 * i as f32 / 20_000.0)
            .collect();
        assert_monotone32("exp_f32 coarse", exp_f32x8, &coarse);

        for centre in [
            -745.133_219_101_941_1f64,
            -708.396_418_532_264_1,
            -0.5 * c64::LN_2,
            0.0,
            0.5 * c64::LN_2,
            709.782_712_893_383_9,
        ] {
            let xs = consecutive64(ulps_below64(centre, N / 2), N);
            assert_monotone64("exp_f64", exp_f64x4, &xs);
        }
        let mut windows = std::vec![
            consecutive64(f64::from_bits(1), N),
            consecutive64(ulps_below64(f64::MIN_POSITIVE, N / 2), N),
        ];
        for centre in [c64::FRAC_1_SQRT_2, 1.0, c64::SQRT_2] {
            windows.push(consecutive64(ulps_below64(centre, N / 2), N));
        }
        windows.push(consecutive64(ulps_below64(f64::MAX, N - 1), N));
        for xs in &windows {
            assert_monotone64("ln_f64", ln_f64x4, xs);
        }
    }

    // --------------------------------------------------------- proptest --

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn finite32() -> impl Strategy<Value = f32> {
            prop_oneof![
                -104.5f32..89.5,
                proptest::num::f32::NORMAL
                    | proptest::num::f32::SUBNORMAL
                    | proptest::num::f32::ZERO,
            ]
        }

        fn finite64() -> impl Strategy<Value = f64> {
            prop_oneof![
                -746.0f64..710.0,
                proptest::num::f64::NORMAL
                    | proptest::num::f64::SUBNORMAL
                    | proptest::num::f64::ZERO,
            ]
        }

        fn positive32() -> impl Strategy<Value = f32> {
            prop_oneof![
                0.25f32..4.0,
                proptest::num::f32::POSITIVE
                    | proptest::num::f32::NORMAL
                    | proptest::num::f32::SUBNORMAL,
            ]
        }

        fn positive64() -> impl Strategy<Value = f64> {
            prop_oneof![
                0.25f64..4.0,
                proptest::num::f64::POSITIVE
                    | proptest::num::f64::NORMAL
                    | proptest::num::f64::SUBNORMAL,
            ]
        }

        proptest! {
            #[test]
            fn exp_f32_matches_std(xs in proptest::array::uniform8(finite32())) {
                let got = lanes32(exp_f32x8, xs);
                for (&x, &g) in xs.iter().zip(&got) {
                    prop_assert!(
                        ulp32(g, ref_exp32(x)) <= F32_ULP_BOUND,
                        "exp_f32({:e}) = {:e}", x, g
                    );
                }
            }

            #[test]
            fn ln_f32_matches_std(xs in proptest::array::uniform8(positive32())) {
                let got = lanes32(ln_f32x8, xs);
                for (&x, &g) in xs.iter().zip(&got) {
                    prop_assert!(
                        ulp32(g, ref_ln32(x)) <= F32_ULP_BOUND,
                        "ln_f32({:e}) = {:e}", x, g
                    );
                }
            }

            #[test]
            fn exp_f64_matches_std(xs in proptest::array::uniform4(finite64())) {
                let got = lanes64(exp_f64x4, xs);
                for (&x, &g) in xs.iter().zip(&got) {
                    prop_assert!(
                        ulp64(g, x.exp()) <= F64_ULP_BOUND,
                        "exp_f64({:e}) = {:e}", x, g
                    );
                }
            }

            #[test]
            fn ln_f64_matches_std(xs in proptest::array::uniform4(positive64())) {
                let got = lanes64(ln_f64x4, xs);
                for (&x, &g) in xs.iter().zip(&got) {
                    prop_assert!(
                        ulp64(g, x.ln()) <= F64_ULP_BOUND,
                        "ln_f64({:e}) = {:e}", x, g
                    );
                }
            }
        }
    }

    // ------------------------------------------- exhaustive measurement --

    /// All 2^32 `f32` inputs, split over the available cores, none more than `bound`
    /// ulp off. `scripts/math-sweeps.sh` runs these (`cargo test -p kernels-simd
    /// --release -- --ignored exhaustive --nocapture`).
    fn exhaustive32(name: &str, f: fn(f32x8) -> f32x8, reference: fn(f32) -> f32, bound: u64) {
        let threads = std::thread::available_parallelism().map_or(4, |n| n.get()) as u64;
        let per = (1u64 << 32) / threads;
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut s = Sweep32::new(f, reference);
                    let end = if t == threads - 1 {
                        1u64 << 32
                    } else {
                        (t + 1) * per
                    };
                    for b in t * per..end {
                        s.push(f32::from_bits(b as u32));
                    }
                    s.finish()
                })
            })
            .collect();
        let mut worst = Worst { ulp: 0, at: 0.0f32 };
        let mut count = 0;
        for h in handles {
            let (w, c) = h.join().unwrap();
            count += c;
            if w.ulp > worst.ulp {
                worst = w;
            }
        }
        std::println!(
            "{name}: {count} inputs, max {} ulp at {:e} ({:#010x})",
            worst.ulp,
            worst.at,
            worst.at.to_bits()
        );
        assert!(
            worst.ulp <= bound,
            "{name}: {} ulp at {:e}, above {bound}",
            worst.ulp,
            worst.at
        );
    }

    #[test]
    #[ignore = "exhaustive: 2^32 inputs, run in --release"]
    fn exhaustive_exp_f32() {
        exhaustive32("exp_f32 exhaustive", exp_f32x8, ref_exp32, EXP_F32_MEASURED);
    }

    #[test]
    #[ignore = "exhaustive: 2^32 inputs, run in --release"]
    fn exhaustive_ln_f32() {
        exhaustive32("ln_f32 exhaustive", ln_f32x8, ref_ln32, LN_F32_MEASURED);
    }

    /// Larger random f64 sweeps than the default test (2^26 + 2^25 + 2^25
    /// inputs for exp, 2^26 + 2^25 + 2^24 for ln; about 20 s in release), held to
    /// the measured 1 ulp of the doc comments. Named `exhaustive_*` only so that
    /// the same `--ignored exhaustive` filter runs every measurement quoted there.
    #[test]
    #[ignore = "long: run in --release"]
    fn exhaustive_f64_random() {
        let mut rng = Rng(5);
        let mut s = Sweep64::new(exp_f64x4, f64::exp);
        for _ in 0..1u64 << 26 {
            s.push(rng.uniform(-746.0, 710.0));
        }
        check64_within("exp_f64 uniform [-746, 710]", s, EXP_F64_MEASURED);
        let mut s = Sweep64::new(exp_f64x4, f64::exp);
        for _ in 0..1u64 << 25 {
            let mag = rng.uniform(-60.0, 10.0).exp2();
            s.push(if rng.next() & 1 == 0 { mag } else { -mag });
        }
        check64_within("exp_f64 log-uniform", s, EXP_F64_MEASURED);
        let mut s = Sweep64::new(exp_f64x4, f64::exp);
        for _ in 0..1u64 << 25 {
            s.push(rng.uniform(-745.2, -708.0));
        }
        check64_within("exp_f64 subnormal results", s, EXP_F64_MEASURED);

        let mut s = Sweep64::new(ln_f64x4, f64::ln);
        for _ in 0..1u64 << 26 {
            s.push(f64::from_bits(rng.next() % 0x7FF0_0000_0000_0000));
        }
        check64_within("ln_f64 random positive bits", s, LN_F64_MEASURED);
        let mut s = Sweep64::new(ln_f64x4, f64::ln);
        for _ in 0..1u64 << 25 {
            s.push(rng.uniform(0.5, 2.0));
        }
        check64_within("ln_f64 uniform [0.5, 2]", s, LN_F64_MEASURED);
        let mut s = Sweep64::new(ln_f64x4, f64::ln);
        for _ in 0..1u64 << 24 {
            s.push(f64::from_bits(rng.next() & 0x000F_FFFF_FFFF_FFFF));
        }
        check64_within("ln_f64 subnormals", s, LN_F64_MEASURED);
    }

    // -------------------------------------------------------- benchmark --

    /// Rough throughput, ns per element, against std's scalar functions.
    /// `cargo test -p kernels-simd --release -- --ignored bench --nocapture`
    #[test]
    #[ignore = "benchmark"]
    fn bench_vs_std() {
        use std::hint::black_box;
        use std::time::Instant;

        const N: usize = 1 << 16;
        const REPS: usize = 200;
        let xs32: Vec<f32> = (0..N)
            .map(|i| -80.0 + 160.0 * i as f32 / N as f32)
            .collect();
        let pos32: Vec<f32> = (0..N)
            .map(|i| 1.0e-3 + 1.0e3 * i as f32 / N as f32)
            .collect();
        let xs64: Vec<f64> = xs32.iter().map(|&x| f64::from(x) * 8.0).collect();
        let pos64: Vec<f64> = pos32.iter().map(|&x| f64::from(x)).collect();
        let total = (N * REPS) as f64;

        let time = |name: &str, run: &dyn Fn() -> f64| {
            let t = Instant::now();
            let mut acc = 0.0;
            for _ in 0..REPS {
                acc += run();
            }
            let ns = t.elapsed().as_nanos() as f64 / total;
            black_box(acc);
            std::println!("{name:>12}: {ns:.3} ns/element");
        };

        time("exp_f32x8", &|| {
            let mut acc = f32x8::ZERO;
            for c in black_box(&xs32).chunks_exact(8) {
                acc += exp_f32x8(f32x8::new(c.try_into().unwrap()));
            }
            f64::from(acc.reduce_add())
        });
        time("std f32::exp", &|| {
            black_box(&xs32)
                .iter()
                .map(|&x| x.exp())
                .sum::<f32>()
                .into()
        });
        time("ln_f32x8", &|| {
            let mut acc = f32x8::ZERO;
            for c in black_box(&pos32).chunks_exact(8) {
                acc += ln_f32x8(f32x8::new(c.try_into().unwrap()));
            }
            f64::from(acc.reduce_add())
        });
        time("std f32::ln", &|| {
            black_box(&pos32)
                .iter()
                .map(|&x| x.ln())
                .sum::<f32>()
                .into()
        });
        time("exp_f64x4", &|| {
            let mut acc = f64x4::ZERO;
            for c in black_box(&xs64).chunks_exact(4) {
                acc += exp_f64x4(f64x4::new(c.try_into().unwrap()));
            }
            acc.reduce_add()
        });
        time("std f64::exp", &|| {
            black_box(&xs64).iter().map(|&x| x.exp()).sum()
        });
        time("ln_f64x4", &|| {
            let mut acc = f64x4::ZERO;
            for c in black_box(&pos64).chunks_exact(4) {
                acc += ln_f64x4(f64x4::new(c.try_into().unwrap()));
            }
            acc.reduce_add()
        });
        time("std f64::ln", &|| {
            black_box(&pos64).iter().map(|&x| x.ln()).sum()
        });
    }
}
