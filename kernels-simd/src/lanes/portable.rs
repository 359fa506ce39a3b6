//! [`Lanes`] on `wide`'s vectors at the compile-time instruction set.

use super::{HalfLanes, Lanes, bf16_to_f32};
use kernels_core::storage::f16_bits_to_f32;
use kernels_core::{bf16, f16};
use wide::{f32x8, f64x4, u32x8, u64x4};

/// The `wide` token: always available.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Portable;

macro_rules! wide_lanes {
    ($t:ty, $v:ident, $u:ident, $n:literal, $mant:literal, $reg:expr) => {
        impl Lanes<$t> for Portable {
            type V = $v;
            type M = $v;
            type U = $u;
            const N: usize = $n;
            const REGISTER_LANES: usize = $reg;

            #[inline(always)]
            fn splat(self, x: $t) -> $v {
                $v::splat(x)
            }
            #[inline(always)]
            fn zero(self) -> $v {
                $v::ZERO
            }
            #[inline(always)]
            fn load(self, x: &[$t]) -> $v {
                x.first_chunk::<$n>().map_or($v::ZERO, |a| $v::new(*a))
            }
            #[inline(always)]
            fn store(self, v: $v, out: &mut [$t]) {
                if let Some(o) = out.first_chunk_mut::<$n>() {
                    *o = v.to_array();
                }
            }
            #[inline(always)]
            fn add(self, a: $v, b: $v) -> $v {
                a + b
            }
            #[inline(always)]
            fn sub(self, a: $v, b: $v) -> $v {
                a - b
            }
            #[inline(always)]
            fn mul(self, a: $v, b: $v) -> $v {
                a * b
            }
            #[inline(always)]
            fn div(self, a: $v, b: $v) -> $v {
                a / b
            }
            #[inline(always)]
            fn mul_add(self, a: $v, b: $v, c: $v) -> $v {
                a.mul_add(b, c)
            }
            #[inline(always)]
            fn mul_neg_add(self, a: $v, b: $v, c: $v) -> $v {
                a.mul_neg_add(b, c)
            }
            #[inline(always)]
            fn max(self, a: $v, b: $v) -> $v {
                a.fast_max(b)
            }
            #[inline(always)]
            fn min(self, a: $v, b: $v) -> $v {
                a.fast_min(b)
            }
            #[inline(always)]
            fn reduce_add(self, a: $v) -> $t {
                a.reduce_add()
            }
            #[inline(always)]
            fn reduce_max(self, a: $v) -> $t {
                a.to_array()
                    .into_iter()
                    .fold(<$t>::NEG_INFINITY, |m, v| if v > m { v } else { m })
            }
            #[inline(always)]
            fn max_or_first(self, a: $v, b: $v) -> $v {
                a.max(b)
            }
            #[inline(always)]
            fn abs(self, a: $v) -> $v {
                a.abs()
            }
            #[inline(always)]
            fn neg(self, a: $v) -> $v {
                -a
            }
            #[inline(always)]
            fn lt(self, a: $v, b: $v) -> $v {
                a.simd_lt(b)
            }
            #[inline(always)]
            fn gt(self, a: $v, b: $v) -> $v {
                a.simd_gt(b)
            }
            #[inline(always)]
            fn is_nan(self, a: $v) -> $v {
                a.is_nan()
            }
            #[inline(always)]
            fn select(self, m: $v, a: $v, b: $v) -> $v {
                m.select(a, b)
            }
            #[inline(always)]
            fn to_bits(self, a: $v) -> $u {
                a.to_bits()
            }
            #[inline(always)]
            fn float_of_bits(self, a: $u) -> $v {
                $v::from_bits(a)
            }
            #[inline(always)]
            fn splat_bits(self, x: <$t as super::Element>::Bits) -> $u {
                $u::splat(x)
            }
            #[inline(always)]
            fn sub_bits(self, a: $u, b: $u) -> $u {
                a - b
            }
            #[inline(always)]
            fn select_bits(self, m: $v, a: $u, b: $u) -> $u {
                m.to_bits().select(a, b)
            }
            #[inline(always)]
            fn shr1(self, a: $u) -> $u {
                a >> 1
            }
            #[inline(always)]
            fn shl_mantissa(self, a: $u) -> $u {
                a << $mant
            }
            #[inline(always)]
            fn shr_mantissa(self, a: $u) -> $u {
                a >> $mant
            }
        }
    };
}

// A 256-bit vector is one register with AVX, two 128-bit ones on SSE2 and NEON (and
// one lane at a time on targets `wide` emulates).
wide_lanes!(
    f32,
    f32x8,
    u32x8,
    8,
    23,
    if cfg!(target_feature = "avx") { 8 } else { 4 }
);
wide_lanes!(
    f64,
    f64x4,
    u64x4,
    4,
    52,
    if cfg!(target_feature = "avx") { 4 } else { 2 }
);

impl HalfLanes for Portable {
    #[inline(always)]
    fn load_f16(self, x: &[f16]) -> f32x8 {
        x.first_chunk::<8>().map_or(f32x8::ZERO, |a| {
            f32x8::new(a.map(|h| f16_bits_to_f32(h.to_bits())))
        })
    }
    #[inline(always)]
    fn load_bf16(self, x: &[bf16]) -> f32x8 {
        x.first_chunk::<8>().map_or(f32x8::ZERO, |a| {
            f32x8::new(a.map(|h| bf16_to_f32(h.to_bits())))
        })
    }
}
