//! [`Lanes`] on x86_64 AVX2+FMA (256-bit) and AVX-512F (512-bit) intrinsics.

use super::{HalfLanes, Lanes};
use core::arch::x86_64::*;
use kernels_core::{bf16, f16};

/// The AVX2+FMA token; see the module docs of [`lanes`](super) for why holding one
/// makes its intrinsics sound.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// The token, in code compiled with the features it stands for.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) fn new() -> Self {
        Avx2(())
    }
}

/// The AVX-512F token (AVX2 and FMA included).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512(());

impl Avx512 {
    /// The token, in code compiled with the features it stands for.
    #[target_feature(enable = "avx512f,avx2,fma")]
    #[inline]
    pub(crate) fn new() -> Self {
        Avx512(())
    }
}

/// A method whose body is one intrinsic expression. SAFETY (for every expansion): a
/// value of the token type exists only where its features were enabled at compile
/// time (its constructor is a `#[target_feature]` function), so the instructions are
/// available; the intrinsics take their operands by value and touch no memory.
macro_rules! op {
    ($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $body:expr) => {
        #[inline(always)]
        fn $name(self, $($arg: $ty),*) -> $ret {
            // SAFETY: see the macro's documentation.
            unsafe { $body }
        }
    };
}

/// The memory and lane-reduction methods, the same for every token: loads and stores
/// go through `bytemuck` casts between arrays and registers (no pointers).
macro_rules! common {
    ($t:ty, $v:ty, $n:literal) => {
        type V = $v;
        const N: usize = $n;
        const REGISTER_LANES: usize = $n;
        const HALVING_SUM: bool = true;

        #[inline(always)]
        fn load(self, x: &[$t]) -> $v {
            x.first_chunk::<$n>().map_or_else(
                || <Self as Lanes<$t>>::zero(self),
                |a| bytemuck::cast::<[$t; $n], $v>(*a),
            )
        }
        #[inline(always)]
        fn store(self, v: $v, out: &mut [$t]) {
            if let Some(o) = out.first_chunk_mut::<$n>() {
                *o = bytemuck::cast::<$v, [$t; $n]>(v);
            }
        }
        #[inline(always)]
        fn reduce_max(self, a: $v) -> $t {
            bytemuck::cast::<$v, [$t; $n]>(a)
                .into_iter()
                .fold(<$t>::NEG_INFINITY, |m, v| if v > m { v } else { m })
        }
    };
}

impl Lanes<f64> for Avx2 {
    type M = __m256d;
    type U = __m256i;
    common!(f64, __m256d, 4);
    op!(splat(x: f64) -> __m256d = _mm256_set1_pd(x));
    op!(zero() -> __m256d = _mm256_setzero_pd());
    op!(add(a: __m256d, b: __m256d) -> __m256d = _mm256_add_pd(a, b));
    op!(sub(a: __m256d, b: __m256d) -> __m256d = _mm256_sub_pd(a, b));
    op!(mul(a: __m256d, b: __m256d) -> __m256d = _mm256_mul_pd(a, b));
    op!(div(a: __m256d, b: __m256d) -> __m256d = _mm256_div_pd(a, b));
    op!(mul_add(a: __m256d, b: __m256d, c: __m256d) -> __m256d = _mm256_fmadd_pd(a, b, c));
    op!(mul_neg_add(a: __m256d, b: __m256d, c: __m256d) -> __m256d = _mm256_fnmadd_pd(a, b, c));
    op!(max(a: __m256d, b: __m256d) -> __m256d = _mm256_max_pd(a, b));
    op!(min(a: __m256d, b: __m256d) -> __m256d = _mm256_min_pd(a, b));
    // MAXPD returns its second operand when either is NaN.
    op!(max_or_first(a: __m256d, b: __m256d) -> __m256d = _mm256_max_pd(b, a));
    op!(abs(a: __m256d) -> __m256d = _mm256_andnot_pd(_mm256_set1_pd(-0.0), a));
    op!(neg(a: __m256d) -> __m256d = _mm256_xor_pd(a, _mm256_set1_pd(-0.0)));
    op!(reduce_add(a: __m256d) -> f64 = {
        let s = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd::<1>(a));
        _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)))
    });
    op!(lt(a: __m256d, b: __m256d) -> __m256d = _mm256_cmp_pd::<_CMP_LT_OQ>(a, b));
    op!(gt(a: __m256d, b: __m256d) -> __m256d = _mm256_cmp_pd::<_CMP_GT_OQ>(a, b));
    op!(is_nan(a: __m256d) -> __m256d = _mm256_cmp_pd::<_CMP_UNORD_Q>(a, a));
    op!(select(m: __m256d, a: __m256d, b: __m256d) -> __m256d = _mm256_blendv_pd(b, a, m));
    op!(to_bits(a: __m256d) -> __m256i = _mm256_castpd_si256(a));
    op!(float_of_bits(a: __m256i) -> __m256d = _mm256_castsi256_pd(a));
    op!(splat_bits(x: u64) -> __m256i = _mm256_set1_epi64x(x.cast_signed()));
    op!(sub_bits(a: __m256i, b: __m256i) -> __m256i = _mm256_sub_epi64(a, b));
    op!(select_bits(m: __m256d, a: __m256i, b: __m256i) -> __m256i =
        _mm256_blendv_epi8(b, a, _mm256_castpd_si256(m)));
    op!(shr1(a: __m256i) -> __m256i = _mm256_srli_epi64::<1>(a));
    op!(shl_mantissa(a: __m256i) -> __m256i = _mm256_slli_epi64::<52>(a));
    op!(shr_mantissa(a: __m256i) -> __m256i = _mm256_srli_epi64::<52>(a));
}

impl Lanes<f32> for Avx2 {
    type M = __m256;
    type U = __m256i;
    common!(f32, __m256, 8);
    op!(splat(x: f32) -> __m256 = _mm256_set1_ps(x));
    op!(zero() -> __m256 = _mm256_setzero_ps());
    op!(add(a: __m256, b: __m256) -> __m256 = _mm256_add_ps(a, b));
    op!(sub(a: __m256, b: __m256) -> __m256 = _mm256_sub_ps(a, b));
    op!(mul(a: __m256, b: __m256) -> __m256 = _mm256_mul_ps(a, b));
    op!(div(a: __m256, b: __m256) -> __m256 = _mm256_div_ps(a, b));
    op!(mul_add(a: __m256, b: __m256, c: __m256) -> __m256 = _mm256_fmadd_ps(a, b, c));
    op!(mul_neg_add(a: __m256, b: __m256, c: __m256) -> __m256 = _mm256_fnmadd_ps(a, b, c));
    op!(max(a: __m256, b: __m256) -> __m256 = _mm256_max_ps(a, b));
    op!(min(a: __m256, b: __m256) -> __m256 = _mm256_min_ps(a, b));
    // MAXPS returns its second operand when either is NaN.
    op!(max_or_first(a: __m256, b: __m256) -> __m256 = _mm256_max_ps(b, a));
    op!(abs(a: __m256) -> __m256 = _mm256_andnot_ps(_mm256_set1_ps(-0.0), a));
    op!(neg(a: __m256) -> __m256 = _mm256_xor_ps(a, _mm256_set1_ps(-0.0)));
    op!(reduce_add(a: __m256) -> f32 = {
        let s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps::<1>(a));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    });
    op!(lt(a: __m256, b: __m256) -> __m256 = _mm256_cmp_ps::<_CMP_LT_OQ>(a, b));
    op!(gt(a: __m256, b: __m256) -> __m256 = _mm256_cmp_ps::<_CMP_GT_OQ>(a, b));
    op!(is_nan(a: __m256) -> __m256 = _mm256_cmp_ps::<_CMP_UNORD_Q>(a, a));
    op!(select(m: __m256, a: __m256, b: __m256) -> __m256 = _mm256_blendv_ps(b, a, m));
    op!(to_bits(a: __m256) -> __m256i = _mm256_castps_si256(a));
    op!(float_of_bits(a: __m256i) -> __m256 = _mm256_castsi256_ps(a));
    op!(splat_bits(x: u32) -> __m256i = _mm256_set1_epi32(x.cast_signed()));
    op!(sub_bits(a: __m256i, b: __m256i) -> __m256i = _mm256_sub_epi32(a, b));
    op!(select_bits(m: __m256, a: __m256i, b: __m256i) -> __m256i =
        _mm256_blendv_epi8(b, a, _mm256_castps_si256(m)));
    op!(shr1(a: __m256i) -> __m256i = _mm256_srli_epi32::<1>(a));
    op!(shl_mantissa(a: __m256i) -> __m256i = _mm256_slli_epi32::<23>(a));
    op!(shr_mantissa(a: __m256i) -> __m256i = _mm256_srli_epi32::<23>(a));
}

impl Lanes<f64> for Avx512 {
    type M = __mmask8;
    type U = __m512i;
    common!(f64, __m512d, 8);
    op!(splat(x: f64) -> __m512d = _mm512_set1_pd(x));
    op!(zero() -> __m512d = _mm512_setzero_pd());
    op!(add(a: __m512d, b: __m512d) -> __m512d = _mm512_add_pd(a, b));
    op!(sub(a: __m512d, b: __m512d) -> __m512d = _mm512_sub_pd(a, b));
    op!(mul(a: __m512d, b: __m512d) -> __m512d = _mm512_mul_pd(a, b));
    op!(div(a: __m512d, b: __m512d) -> __m512d = _mm512_div_pd(a, b));
    op!(mul_add(a: __m512d, b: __m512d, c: __m512d) -> __m512d = _mm512_fmadd_pd(a, b, c));
    op!(mul_neg_add(a: __m512d, b: __m512d, c: __m512d) -> __m512d = _mm512_fnmadd_pd(a, b, c));
    op!(max(a: __m512d, b: __m512d) -> __m512d = _mm512_max_pd(a, b));
    op!(min(a: __m512d, b: __m512d) -> __m512d = _mm512_min_pd(a, b));
    // VMAXPD returns its second operand when either is NaN.
    op!(max_or_first(a: __m512d, b: __m512d) -> __m512d = _mm512_max_pd(b, a));
    op!(abs(a: __m512d) -> __m512d = _mm512_abs_pd(a));
    op!(neg(a: __m512d) -> __m512d = _mm512_castsi512_pd(_mm512_xor_si512(
        _mm512_castpd_si512(a),
        _mm512_set1_epi64(i64::MIN),
    )));
    // The halving order spelled out (see `Lanes::HALVING_SUM`): the high 256 bits onto
    // the low, then as AVX2 does.
    op!(reduce_add(a: __m512d) -> f64 = {
        let s = _mm256_add_pd(_mm512_castpd512_pd256(a), _mm512_extractf64x4_pd::<1>(a));
        let s = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd::<1>(s));
        _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)))
    });
    op!(lt(a: __m512d, b: __m512d) -> __mmask8 = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(a, b));
    op!(gt(a: __m512d, b: __m512d) -> __mmask8 = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(a, b));
    op!(is_nan(a: __m512d) -> __mmask8 = _mm512_cmp_pd_mask::<_CMP_UNORD_Q>(a, a));
    op!(select(m: __mmask8, a: __m512d, b: __m512d) -> __m512d = _mm512_mask_blend_pd(m, b, a));
    op!(to_bits(a: __m512d) -> __m512i = _mm512_castpd_si512(a));
    op!(float_of_bits(a: __m512i) -> __m512d = _mm512_castsi512_pd(a));
    op!(splat_bits(x: u64) -> __m512i = _mm512_set1_epi64(x.cast_signed()));
    op!(sub_bits(a: __m512i, b: __m512i) -> __m512i = _mm512_sub_epi64(a, b));
    op!(select_bits(m: __mmask8, a: __m512i, b: __m512i) -> __m512i =
        _mm512_mask_blend_epi64(m, b, a));
    op!(shr1(a: __m512i) -> __m512i = _mm512_srli_epi64::<1>(a));
    op!(shl_mantissa(a: __m512i) -> __m512i = _mm512_slli_epi64::<52>(a));
    op!(shr_mantissa(a: __m512i) -> __m512i = _mm512_srli_epi64::<52>(a));
}

impl Lanes<f32> for Avx512 {
    type M = __mmask16;
    type U = __m512i;
    common!(f32, __m512, 16);
    op!(splat(x: f32) -> __m512 = _mm512_set1_ps(x));
    op!(zero() -> __m512 = _mm512_setzero_ps());
    op!(add(a: __m512, b: __m512) -> __m512 = _mm512_add_ps(a, b));
    op!(sub(a: __m512, b: __m512) -> __m512 = _mm512_sub_ps(a, b));
    op!(mul(a: __m512, b: __m512) -> __m512 = _mm512_mul_ps(a, b));
    op!(div(a: __m512, b: __m512) -> __m512 = _mm512_div_ps(a, b));
    op!(mul_add(a: __m512, b: __m512, c: __m512) -> __m512 = _mm512_fmadd_ps(a, b, c));
    op!(mul_neg_add(a: __m512, b: __m512, c: __m512) -> __m512 = _mm512_fnmadd_ps(a, b, c));
    op!(max(a: __m512, b: __m512) -> __m512 = _mm512_max_ps(a, b));
    op!(min(a: __m512, b: __m512) -> __m512 = _mm512_min_ps(a, b));
    // VMAXPS returns its second operand when either is NaN.
    op!(max_or_first(a: __m512, b: __m512) -> __m512 = _mm512_max_ps(b, a));
    op!(abs(a: __m512) -> __m512 = _mm512_abs_ps(a));
    op!(neg(a: __m512) -> __m512 = _mm512_castsi512_ps(_mm512_xor_si512(
        _mm512_castps_si512(a),
        _mm512_set1_epi32(i32::MIN),
    )));
    // The halving order spelled out (see `Lanes::HALVING_SUM`).
    op!(reduce_add(a: __m512) -> f32 = {
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(a)));
        let s = _mm256_add_ps(_mm512_castps512_ps256(a), hi);
        let s = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    });
    op!(lt(a: __m512, b: __m512) -> __mmask16 = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b));
    op!(gt(a: __m512, b: __m512) -> __mmask16 = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(a, b));
    op!(is_nan(a: __m512) -> __mmask16 = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(a, a));
    op!(select(m: __mmask16, a: __m512, b: __m512) -> __m512 = _mm512_mask_blend_ps(m, b, a));
    op!(to_bits(a: __m512) -> __m512i = _mm512_castps_si512(a));
    op!(float_of_bits(a: __m512i) -> __m512 = _mm512_castsi512_ps(a));
    op!(splat_bits(x: u32) -> __m512i = _mm512_set1_epi32(x.cast_signed()));
    op!(sub_bits(a: __m512i, b: __m512i) -> __m512i = _mm512_sub_epi32(a, b));
    op!(select_bits(m: __mmask16, a: __m512i, b: __m512i) -> __m512i =
        _mm512_mask_blend_epi32(m, b, a));
    op!(shr1(a: __m512i) -> __m512i = _mm512_srli_epi32::<1>(a));
    op!(shl_mantissa(a: __m512i) -> __m512i = _mm512_slli_epi32::<23>(a));
    op!(shr_mantissa(a: __m512i) -> __m512i = _mm512_srli_epi32::<23>(a));
}

/// `N` half values as their bits (a plain copy of the loaded bytes).
#[inline(always)]
fn bits<H: Copy, const N: usize>(x: &[H], to_bits: fn(H) -> u16) -> Option<[u16; N]> {
    x.first_chunk::<N>().map(|a| a.map(to_bits))
}

impl HalfLanes for Avx2 {
    #[inline(always)]
    fn load_f16(self, x: &[f16]) -> __m256 {
        let Some(h) = bits::<f16, 8>(x, f16::to_bits) else {
            return <Self as Lanes<f32>>::zero(self);
        };
        // SAFETY: an `Avx2` token exists only where AVX2 was enabled at compile time
        // (see `op!`); the intrinsics take their operands by value.
        unsafe {
            // Exact f16 -> f32 with integer operations (no F16C): the exponent is
            // rebiased by 112; an all-ones exponent (inf, NaN) by 112 more; zeros and
            // subnormals as (2^-14 + m 2^-24) - 2^-14, exact.
            let h = _mm256_cvtepu16_epi32(bytemuck::cast::<[u16; 8], __m128i>(h));
            let em = _mm256_and_si256(h, _mm256_set1_epi32(0x7fff));
            let sign = _mm256_slli_epi32::<16>(_mm256_and_si256(h, _mm256_set1_epi32(0x8000)));
            let rebias = _mm256_set1_epi32(112 << 23);
            let mut u = _mm256_add_epi32(_mm256_slli_epi32::<13>(em), rebias);
            let special = _mm256_cmpgt_epi32(em, _mm256_set1_epi32(0x7bff));
            u = _mm256_add_epi32(u, _mm256_and_si256(special, rebias));
            let small = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x0400), em);
            let sub = _mm256_sub_ps(
                _mm256_castsi256_ps(_mm256_add_epi32(u, _mm256_set1_epi32(1 << 23))),
                _mm256_set1_ps(1.0 / 16384.0),
            );
            let f = _mm256_blendv_ps(_mm256_castsi256_ps(u), sub, _mm256_castsi256_ps(small));
            _mm256_or_ps(f, _mm256_castsi256_ps(sign))
        }
    }
    #[inline(always)]
    fn load_bf16(self, x: &[bf16]) -> __m256 {
        let Some(h) = bits::<bf16, 8>(x, bf16::to_bits) else {
            return <Self as Lanes<f32>>::zero(self);
        };
        // SAFETY: as in `load_f16`.
        unsafe {
            let h = _mm256_cvtepu16_epi32(bytemuck::cast::<[u16; 8], __m128i>(h));
            _mm256_castsi256_ps(_mm256_slli_epi32::<16>(h))
        }
    }
}

impl HalfLanes for Avx512 {
    #[inline(always)]
    fn load_f16(self, x: &[f16]) -> __m512 {
        let Some(h) = bits::<f16, 16>(x, f16::to_bits) else {
            return <Self as Lanes<f32>>::zero(self);
        };
        // SAFETY: an `Avx512` token exists only where AVX-512F was enabled at compile
        // time (see `op!`); VCVTPH2PS on zmm is AVX-512F. Operands by value.
        unsafe { _mm512_cvtph_ps(bytemuck::cast::<[u16; 16], __m256i>(h)) }
    }
    #[inline(always)]
    fn load_bf16(self, x: &[bf16]) -> __m512 {
        let Some(h) = bits::<bf16, 16>(x, bf16::to_bits) else {
            return <Self as Lanes<f32>>::zero(self);
        };
        // SAFETY: as in `load_f16`.
        unsafe {
            let h = _mm512_cvtepu16_epi32(bytemuck::cast::<[u16; 16], __m256i>(h));
            _mm512_castsi512_ps(_mm512_slli_epi32::<16>(h))
        }
    }
}
