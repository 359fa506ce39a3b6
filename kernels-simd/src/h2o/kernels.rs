//! `H2oKernels` for `Simd`: the online-softmax exponentials (`exp_loops`) and, for
//! `f32`, the products with `f16` and `bf16` keys and values (`base::dots` and
//! `base::axpy` with the half loads of `lanes`), dispatched at run time by the
//! tables here.

use kernels_core::h2o::H2oKernels;
use kernels_core::{bf16, f16};

use crate::Simd;
use crate::lanes::prefetch_at;

macro_rules! h2o_kernels {
    ($t:ty, $hot:ident, $($half:item)*) => {
        pub(crate) mod $hot {
            use crate::exp_loops;

            dispatched! {
                pub(crate) fn exp_shift / exp_shift_at(shift: $t, x: &mut [$t]) -> $t =
                    exp_loops::exp_shift;
            }
        }

        impl H2oKernels<$t> for Simd {
            fn exp_shift(shift: $t, x: &mut [$t]) -> $t {
                $hot::exp_shift(shift, x)
            }

            $($half)*
        }
    };
}

/// The half-precision loops: `base::dots` and `base::axpy` reading the stored row
/// through its half load, so each result is the `f32` loop's on the upcast row (the
/// same operations in the same order).
pub(crate) mod halves {
    use crate::base;
    use crate::lanes::{HalfLanes, Load};
    use kernels_core::{bf16, f16};

    /// `sum_i q_i k_i`, `k` stored (the `f32` `dot(q, k)`'s order: `dot(x, y)` is
    /// `dots([x], y)` and the products commute).
    #[inline(always)]
    fn dot<L: HalfLanes, X: Load<f32, L>>(l: L, q: &[f32], k: &[X]) -> f32 {
        let [d] = base::dots(l, [k], q);
        d
    }

    dispatched! {
        pub(crate) fn dot_f16 / dot_f16_at(q: &[f32], k: &[f16]) -> f32 = dot;
        pub(crate) fn dot_bf16 / dot_bf16_at(q: &[f32], k: &[bf16]) -> f32 = dot;
        pub(crate) fn axpy_f16 / axpy_f16_at(a: f32, v: &[f16], y: &mut [f32]) -> () =
            base::axpy;
        pub(crate) fn axpy_bf16 / axpy_bf16_at(a: f32, v: &[bf16], y: &mut [f32]) -> () =
            base::axpy;
    }
}

h2o_kernels! { f32, f32s,
    fn dot_f16(q: &[f32], k: &[f16]) -> f32 {
        halves::dot_f16(q, k)
    }
    fn dot_bf16(q: &[f32], k: &[bf16]) -> f32 {
        halves::dot_bf16(q, k)
    }
    fn axpy_f16(a: f32, v: &[f16], y: &mut [f32]) {
        halves::axpy_f16(a, v, y);
    }
    fn axpy_bf16(a: f32, v: &[bf16], y: &mut [f32]) {
        halves::axpy_bf16(a, v, y);
    }
    fn prefetch_half(x: &[u16]) {
        // One hint per 64-byte cache line.
        for i in (0..x.len()).step_by(32) {
            prefetch_at(x.as_ptr(), i);
        }
    }
}
h2o_kernels! { f64, f64s, }

#[cfg(test)]
mod tests {
    extern crate std;

    use super::halves;
    use crate::dispatch::f32s;
    use crate::isa;
    use kernels_core::{bf16, f16};
    use std::vec::Vec;

    /// Pseudo-random bit patterns.
    fn bits(len: usize, seed: u64) -> Vec<u16> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as u16
            })
            .collect()
    }

    /// Finite values of every kind (zeros, subnormals, normals of both signs) with a
    /// few infinities and NaNs where `special`.
    fn f16s(len: usize, seed: u64, special: bool) -> Vec<f16> {
        bits(len, seed)
            .into_iter()
            .map(f16::from_bits)
            .map(|h| {
                if special || h.is_finite() {
                    h
                } else {
                    f16::ONE
                }
            })
            .collect()
    }

    fn bf16s(len: usize, seed: u64) -> Vec<bf16> {
        // Exponents kept moderate so that products and sums stay finite.
        bits(len, seed)
            .into_iter()
            .map(|b| bf16::from_bits((b & 0x83ff) | 0x3c00))
            .collect()
    }

    fn q(len: usize, seed: u64) -> Vec<f32> {
        bits(len, seed)
            .into_iter()
            .map(|b| (b as f32 / 32768.0 - 1.0) * 0.01)
            .collect()
    }

    /// Every half load converts exactly, infinities and NaNs included, at every level.
    #[test]
    fn half_loads_are_exact() {
        let all: Vec<u16> = (0..=u16::MAX).collect();
        let h: Vec<f16> = all.iter().map(|&b| f16::from_bits(b)).collect();
        let b: Vec<bf16> = all.iter().map(|&b| bf16::from_bits(b)).collect();
        for level in isa::supported() {
            let mut y = std::vec![-0.0f32; all.len()]; // -0 + x = x exactly
            halves::axpy_f16_at(level, 1.0, &h, &mut y);
            for (x, y) in h.iter().zip(&y) {
                let want = x.to_f32();
                assert!(
                    want.to_bits() == y.to_bits() || (want.is_nan() && y.is_nan()),
                    "{level:?}: f16 {:#06x} gave {y}, not {want}",
                    x.to_bits()
                );
            }
            let mut y = std::vec![-0.0f32; all.len()]; // -0 + x = x exactly
            halves::axpy_bf16_at(level, 1.0, &b, &mut y);
            for (x, y) in b.iter().zip(&y) {
                let want = x.to_f32();
                assert!(
                    want.to_bits() == y.to_bits() || (want.is_nan() && y.is_nan()),
                    "{level:?}: bf16 {:#06x}",
                    x.to_bits()
                );
            }
        }
    }

    /// The half dot and axpy are the `f32` ones on the upcast row, bit for bit, at
    /// every level and every length (whole blocks, whole vectors and tails).
    #[test]
    fn half_loops_are_the_f32_loops_on_upcast_rows() {
        for level in isa::supported() {
            for n in (0..140).chain([255, 256, 257, 1000]) {
                let (h, b, x) = (f16s(n, n as u64, false), bf16s(n, 7 + n as u64), q(n, 3));
                let hu: Vec<f32> = h.iter().map(|v| v.to_f32()).collect();
                let bu: Vec<f32> = b.iter().map(|v| v.to_f32()).collect();
                let (got, want) = (
                    halves::dot_f16_at(level, &x, &h),
                    f32s::dot_at(level, &x, &hu),
                );
                assert_eq!(got.to_bits(), want.to_bits(), "{level:?} f16 dot n = {n}");
                let (got, want) = (
                    halves::dot_bf16_at(level, &x, &b),
                    f32s::dot_at(level, &x, &bu),
                );
                assert_eq!(got.to_bits(), want.to_bits(), "{level:?} bf16 dot n = {n}");
                let (mut got, mut want) = (x.clone(), x.clone());
                halves::axpy_f16_at(level, 0.375, &h, &mut got);
                f32s::axpy_at(level, 0.375, &hu, &mut want);
                assert_eq!(got, want, "{level:?} f16 axpy n = {n}");
                let (mut got, mut want) = (x.clone(), x.clone());
                halves::axpy_bf16_at(level, -1.5, &b, &mut got);
                f32s::axpy_at(level, -1.5, &bu, &mut want);
                assert_eq!(got, want, "{level:?} bf16 axpy n = {n}");
            }
        }
    }
}
