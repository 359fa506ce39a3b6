//! `H2oKernels` for `Simd`: the online-softmax exponentials (`exp_loops`) and, for
//! `f32`, the products with `f16` and `bf16` keys and values (`base::dots` and
//! `base::axpy` with the half loads of `lanes`), dispatched at run time by the
//! tables here.

use kernels_core::h2o::{H2oKernels, KV_ROWS};
use kernels_core::{bf16, f16};

use crate::Simd;

macro_rules! h2o_kernels {
    ($t:ty, $hot:ident, $($half:item)*) => {
        pub(crate) mod $hot {
            use super::rows;
            use crate::{base, exp_loops};
            use kernels_core::h2o::KV_ROWS;

            dispatched! {
                pub(crate) fn exp_shift / exp_shift_at(shift: $t, x: &mut [$t]) -> $t =
                    exp_loops::exp_shift;
                pub(crate) fn dots / dots_at(q: &[$t], k: [&[$t]; KV_ROWS]) -> [$t; KV_ROWS] =
                    rows::dots;
                pub(crate) fn axpys / axpys_at(
                    a: [$t; KV_ROWS],
                    v: [&[$t]; KV_ROWS],
                    y: &mut [$t],
                ) -> () = base::axpys;
            }
        }

        impl H2oKernels<$t> for Simd {
            fn exp_shift(shift: $t, x: &mut [$t]) -> $t {
                $hot::exp_shift(shift, x)
            }

            fn dots(q: &[$t], k: [&[$t]; KV_ROWS]) -> [$t; KV_ROWS] {
                $hot::dots(q, k)
            }

            fn axpys(a: [$t; KV_ROWS], v: [&[$t]; KV_ROWS], y: &mut [$t]) {
                $hot::axpys(a, v, y);
            }

            $($half)*
        }
    };
}

/// Dot products of a query with stored key rows, in the argument order of the
/// `H2oKernels` loops.
mod rows {
    use crate::base;
    use crate::lanes::{Element, Lanes, Load};
    use num_traits::Float;

    /// `[q . k_r]` for each stored row `k_r`, `q` loaded once: each is the `f32`
    /// `dot(q, k_r)` on the upcast row, bit for bit (`dot(x, y)` is `dots([x], y)`, the
    /// products commute, and `dots` computes each row as a lone one).
    #[inline(always)]
    pub(super) fn dots<T: Element + Float, L: Lanes<T>, X: Load<T, L>, const R: usize>(
        l: L,
        q: &[T],
        k: [&[X]; R],
    ) -> [T; R] {
        base::dots(l, k, q)
    }

    /// `sum_i q_i k_i`, `k` stored: [`dots`] of one row.
    #[inline(always)]
    pub(super) fn dot<T: Element + Float, L: Lanes<T>, X: Load<T, L>>(l: L, q: &[T], k: &[X]) -> T {
        let [d] = dots(l, q, [k]);
        d
    }
}

/// The half-precision loops: `base::dots`, `base::axpy` and `base::axpys` reading the
/// stored rows through their half load, so each result is the `f32` loop's on the
/// upcast rows (the same operations in the same order).
pub(crate) mod halves {
    use super::rows;
    use crate::base;
    use kernels_core::h2o::KV_ROWS;
    use kernels_core::{bf16, f16};

    dispatched! {
        pub(crate) fn dot_f16 / dot_f16_at(q: &[f32], k: &[f16]) -> f32 = rows::dot;
        pub(crate) fn dot_bf16 / dot_bf16_at(q: &[f32], k: &[bf16]) -> f32 = rows::dot;
        pub(crate) fn dots_f16 / dots_f16_at(q: &[f32], k: [&[f16]; KV_ROWS]) -> [f32; KV_ROWS] =
            rows::dots;
        pub(crate) fn dots_bf16 / dots_bf16_at(
            q: &[f32],
            k: [&[bf16]; KV_ROWS],
        ) -> [f32; KV_ROWS] = rows::dots;
        pub(crate) fn axpy_f16 / axpy_f16_at(a: f32, v: &[f16], y: &mut [f32]) -> () =
            base::axpy;
        pub(crate) fn axpy_bf16 / axpy_bf16_at(a: f32, v: &[bf16], y: &mut [f32]) -> () =
            base::axpy;
        pub(crate) fn axpys_f16 / axpys_f16_at(
            a: [f32; KV_ROWS],
            v: [&[f16]; KV_ROWS],
            y: &mut [f32],
        ) -> () = base::axpys;
        pub(crate) fn axpys_bf16 / axpys_bf16_at(
            a: [f32; KV_ROWS],
            v: [&[bf16]; KV_ROWS],
            y: &mut [f32],
        ) -> () = base::axpys;
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
    fn dots_f16(q: &[f32], k: [&[f16]; KV_ROWS]) -> [f32; KV_ROWS] {
        halves::dots_f16(q, k)
    }
    fn dots_bf16(q: &[f32], k: [&[bf16]; KV_ROWS]) -> [f32; KV_ROWS] {
        halves::dots_bf16(q, k)
    }
    fn axpys_f16(a: [f32; KV_ROWS], v: [&[f16]; KV_ROWS], y: &mut [f32]) {
        halves::axpys_f16(a, v, y);
    }
    fn axpys_bf16(a: [f32; KV_ROWS], v: [&[bf16]; KV_ROWS], y: &mut [f32]) {
        halves::axpys_bf16(a, v, y);
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

    /// The multi-row loops equal the one-row loops called row by row, bit for bit, at
    /// every level and length, for `f32`, `f16` and `bf16` rows.
    #[test]
    fn multi_row_loops_are_the_one_row_loops() {
        use super::f32s as rows32;
        for level in isa::supported() {
            for n in (0..70).chain([127, 128, 129, 1000]) {
                let x = q(n, 5);
                let r32: Vec<Vec<f32>> = (0..4).map(|r| q(n, 11 + r)).collect();
                let rh: Vec<Vec<f16>> = (0..4).map(|r| f16s(n, 21 + r, false)).collect();
                let rb: Vec<Vec<bf16>> = (0..4).map(|r| bf16s(n, 31 + r)).collect();
                let a = [0.5f32, -1.25, 3.0, 0.0078125];
                let k32 = [&r32[0][..], &r32[1], &r32[2], &r32[3]];
                let kh = [&rh[0][..], &rh[1], &rh[2], &rh[3]];
                let kb = [&rb[0][..], &rb[1], &rb[2], &rb[3]];
                let bits = |d: [f32; 4]| d.map(f32::to_bits);
                assert_eq!(
                    bits(rows32::dots_at(level, &x, k32)),
                    bits(k32.map(|k| f32s::dot_at(level, &x, k))),
                    "{level:?} f32 dots n = {n}"
                );
                assert_eq!(
                    bits(halves::dots_f16_at(level, &x, kh)),
                    bits(kh.map(|k| halves::dot_f16_at(level, &x, k))),
                    "{level:?} f16 dots n = {n}"
                );
                assert_eq!(
                    bits(halves::dots_bf16_at(level, &x, kb)),
                    bits(kb.map(|k| halves::dot_bf16_at(level, &x, k))),
                    "{level:?} bf16 dots n = {n}"
                );
                let (mut got, mut want) = (x.clone(), x.clone());
                rows32::axpys_at(level, a, k32, &mut got);
                for (a, k) in a.iter().zip(k32) {
                    f32s::axpy_at(level, *a, k, &mut want);
                }
                assert_eq!(got, want, "{level:?} f32 axpys n = {n}");
                let (mut got, mut want) = (x.clone(), x.clone());
                halves::axpys_f16_at(level, a, kh, &mut got);
                for (a, k) in a.iter().zip(kh) {
                    halves::axpy_f16_at(level, *a, k, &mut want);
                }
                assert_eq!(got, want, "{level:?} f16 axpys n = {n}");
                let (mut got, mut want) = (x.clone(), x.clone());
                halves::axpys_bf16_at(level, a, kb, &mut got);
                for (a, k) in a.iter().zip(kb) {
                    halves::axpy_bf16_at(level, *a, k, &mut want);
                }
                assert_eq!(got, want, "{level:?} bf16 axpys n = {n}");
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
