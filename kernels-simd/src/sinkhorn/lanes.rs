//! The kernels that run several small Sinkhorn problems side by side, one per vector
//! lane (`kernels_core::sinkhorn`'s batches), and the logarithm pass of the
//! log-domain half-steps.
//!
//! Each lane must come out bit-identical to its problem's own call, so these repeat
//! that call's arithmetic: [`lanes_exp_row`] is `write_exp_affine` (two accumulators
//! over a row's vectors, then `reduce_add`) with the lanes of the separate call's
//! vectors turned into separate vectors, summed by the halving order of
//! `reduce_add` ([`Lanes::HALVING_SUM`]); the logarithm is [`ln_f32x8`] or
//! [`ln_f64x4`] whatever the lane, or the scalar `ln` at the portable level (whose
//! recorded results `tests/tests/golden.rs` keeps).

use kernels_core::Real;

use crate::isa::{self, Level};
use crate::lanes::Lanes;
use crate::math::{ExpConsts, exp_not_nan, ln_f32x8, ln_f64x4};

/// The widest vector of the side-by-side kernels (16 `f32` lanes).
const MAX_WIDTH: usize = 16;

/// Problems side by side at this level: `L::N` where `reduce_add` halves, else 1.
#[inline(always)]
pub(crate) fn batch_width<T: ExpConsts, L: Lanes<T>>(_: L) -> usize {
    if L::HALVING_SUM && L::N <= MAX_WIDTH {
        L::N
    } else {
        1
    }
}

/// `SinkhornKernels::lanes_exp_row`: `write_exp_affine::<false>` on `L::N` problems
/// with `x`, `y`, `out` interleaved (column `j` of problem `p` at `j N + p`), and the
/// ratios `weights / sums`. False where the width or the lengths do not fit.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "the kernel's arguments")]
pub(crate) fn lanes_exp_row<T: ExpConsts, L: Lanes<T>>(
    l: L,
    lanes: usize,
    alpha: T,
    x: &[T],
    beta: &[T],
    y: &[T],
    weights: &[T],
    out: &mut [T],
    sums: &mut [T],
    ratios: &mut [T],
) -> bool {
    let w = L::N;
    let fits = batch_width::<T, L>(l) == lanes
        && lanes > 1
        && beta.len() == w
        && weights.len() == w
        && sums.len() == w
        && ratios.len() == w
        && y.len() == x.len()
        && out.len() == x.len()
        && x.len().is_multiple_of(w * w);
    if !fits {
        return false;
    }
    // The separate call's row has `vectors` whole vectors (no scalar tail); lane `q`
    // of its vector `k` is column `k N + q`.
    let vectors = x.len() / (w * w);
    let (av, bv) = (l.splat(alpha), l.load(beta));
    let mut lane_sums = [l.zero(); MAX_WIDTH];
    for (q, sum) in lane_sums.iter_mut().enumerate().take(w) {
        // The two accumulators of `write_exp_affine` (even and odd vectors), held
        // in registers.
        let (mut even, mut odd) = (l.zero(), l.zero());
        let mut k = 0;
        while k + 1 < vectors {
            even = l.add(even, term(l, av, bv, (k * w + q) * w, x, y, out));
            odd = l.add(odd, term(l, av, bv, ((k + 1) * w + q) * w, x, y, out));
            k += 2;
        }
        if k < vectors {
            even = l.add(even, term(l, av, bv, (k * w + q) * w, x, y, out));
        }
        *sum = l.add(even, odd);
    }
    let mut half = w / 2;
    while half > 0 {
        for q in 0..half {
            lane_sums[q] = l.add(lane_sums[q], lane_sums[q + half]);
        }
        half /= 2;
    }
    l.store(lane_sums[0], sums);
    l.store(l.div(l.load(weights), lane_sums[0]), ratios);
    true
}

/// `out[j..] = exp(alpha x[j..] + y[j..] + beta)` for one vector at `j`, as
/// `exp_loops` computes a term; returns it. A NaN argument (only in a lane whose
/// potentials are no longer finite, which the caller drops) gives an unspecified
/// value instead of NaN.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "the term's operands")]
fn term<T: ExpConsts, L: Lanes<T>>(
    l: L,
    av: L::V,
    bv: L::V,
    j: usize,
    x: &[T],
    y: &[T],
    out: &mut [T],
) -> L::V {
    let e = exp_not_nan(
        l,
        l.add(l.mul_add(av, l.load(&x[j..]), l.load(&y[j..])), bv),
    );
    l.store(e, &mut out[j..]);
    e
}

/// `SinkhornKernels::lanes_axpy`: `base::axpy` on `L::N` problems, `a` holding each
/// one's multiplier. False where the width or the lengths do not fit.
#[inline(always)]
pub(crate) fn lanes_axpy<T: ExpConsts, L: Lanes<T>>(l: L, a: &[T], x: &[T], y: &mut [T]) -> bool {
    let w = L::N;
    if batch_width::<T, L>(l) != a.len()
        || a.len() < 2
        || x.len() != y.len()
        || !x.len().is_multiple_of(w)
    {
        return false;
    }
    let av = l.load(a);
    for (ys, xs) in y.chunks_exact_mut(w).zip(x.chunks_exact(w)) {
        l.store(l.mul_add(av, l.load(xs), l.load(ys)), ys);
    }
    true
}

/// The logarithm of the log-domain half-steps, element by element: the vector
/// logarithm (the same function at every x86 level, so the same bits whatever the
/// level or the lane), or the scalar one at the portable level.
pub(crate) trait LnPass: Real {
    /// `x_k <- ln x_k`.
    fn ln_pass(x: &mut [Self]) {
        if isa::active() == Level::Portable {
            for v in x {
                *v = v.ln();
            }
        } else {
            Self::ln_vectors(x);
        }
    }

    /// `x_k <- ln x_k` by the vector logarithm, the tail padded to a whole vector.
    fn ln_vectors(x: &mut [Self]);
}

macro_rules! ln_pass {
    ($t:ty, $v:ident, $ln:ident, $n:literal) => {
        impl LnPass for $t {
            fn ln_vectors(x: &mut [$t]) {
                let mut chunks = x.chunks_exact_mut($n);
                for c in &mut chunks {
                    if let Some(a) = c.first_chunk_mut::<$n>() {
                        *a = $ln(wide::$v::new(*a)).to_array();
                    }
                }
                let tail = chunks.into_remainder();
                if !tail.is_empty() {
                    let mut a = [1.0; $n];
                    a[..tail.len()].copy_from_slice(tail);
                    let a = $ln(wide::$v::new(a)).to_array();
                    tail.copy_from_slice(&a[..tail.len()]);
                }
            }
        }
    };
}

ln_pass!(f32, f32x8, ln_f32x8, 8);
ln_pass!(f64, f64x4, ln_f64x4, 4);

#[cfg(test)]
mod tests {
    extern crate std;

    use super::LnPass;
    use crate::isa;
    use std::vec::Vec;

    /// Pseudo-random values in `[lo, hi)`.
    fn values(len: usize, seed: u64, lo: f64, hi: f64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                lo + (hi - lo) * (s >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect()
    }

    /// Every lane of the side-by-side kernels is its own call's result, bit for bit,
    /// at every level this CPU has (odd and even vector counts per row).
    macro_rules! lanes_match_separate_calls {
        ($name:ident, $t:ty, $k:ident, $base:ident) => {
            #[test]
            fn $name() {
                use crate::dispatch::$base as base;
                use crate::sinkhorn::kernels::$k as k;
                for level in isa::supported() {
                    let w = k::batch_width_at(level);
                    if w == 1 {
                        continue;
                    }
                    for vectors in [1usize, 3, 4] {
                        let m = vectors * w;
                        let get = |seed, lo, hi| -> Vec<$t> {
                            values(m * w, seed, lo, hi).iter().map(|&v| v as $t).collect()
                        };
                        let (x, y, out0) = (get(1, 0.0, 1.0), get(2, -3.0, 3.0), get(3, 0.0, 1.0));
                        let beta: Vec<$t> = get(4, -2.0, 2.0)[..w].to_vec();
                        let weights: Vec<$t> = get(5, 0.01, 0.1)[..w].to_vec();
                        let alpha: $t = -20.0;
                        let (mut out, mut sums, mut ratios) =
                            (std::vec![0.0; m * w], std::vec![0.0; w], std::vec![0.0; w]);
                        assert!(k::lanes_exp_row_at(
                            level, w, alpha, &x, &beta, &y, &weights, &mut out, &mut sums,
                            &mut ratios,
                        ));
                        let mut acc = out0.clone();
                        assert!(k::lanes_axpy_at(level, &ratios, &out, &mut acc));
                        for p in 0..w {
                            let lane = |v: &[$t]| -> Vec<$t> { v.iter().skip(p).step_by(w).copied().collect() };
                            let mut row = std::vec![0.0; m];
                            let sum = k::exp_affine_sum_at(
                                level, alpha, &lane(&x), beta[p], &lane(&y), &mut row,
                            );
                            assert_eq!(sum.to_bits(), sums[p].to_bits(), "{level:?} {m} lane {p}");
                            assert_eq!((weights[p] / sum).to_bits(), ratios[p].to_bits());
                            let bits = |v: &[$t]| v.iter().map(|e| e.to_bits()).collect::<Vec<_>>();
                            assert_eq!(bits(&row), bits(&lane(&out)), "{level:?} {m} lane {p}");
                            let mut want = lane(&out0);
                            base::axpy_at(level, ratios[p], &row, &mut want);
                            assert_eq!(bits(&want), bits(&lane(&acc)), "{level:?} axpy lane {p}");
                        }
                    }
                }
            }
        };
    }

    lanes_match_separate_calls!(f32_lanes_match_separate_calls, f32, f32s, f32s);
    lanes_match_separate_calls!(f64_lanes_match_separate_calls, f64, f64s, f64s);

    /// The vector logarithm pass gives a value the same bits wherever it sits (a
    /// whole vector or the padded tail).
    #[test]
    fn ln_pass_is_elementwise() {
        let x: Vec<f32> = values(37, 9, 1e-3, 40.0)
            .iter()
            .map(|&v| v as f32)
            .collect();
        let mut all = x.clone();
        <f32 as LnPass>::ln_vectors(&mut all);
        for (k, &v) in x.iter().enumerate() {
            let mut one = [v];
            <f32 as LnPass>::ln_vectors(&mut one);
            assert_eq!(one[0].to_bits(), all[k].to_bits());
            assert!(
                (f64::from(one[0]) - f64::from(v).ln()).abs()
                    < 1e-6 * f64::from(v).ln().abs().max(1.0)
            );
        }
        let x: Vec<f64> = values(19, 10, 1e-3, 40.0);
        let mut all = x.clone();
        <f64 as LnPass>::ln_vectors(&mut all);
        for (k, &v) in x.iter().enumerate() {
            let mut one = [v];
            <f64 as LnPass>::ln_vectors(&mut one);
            assert_eq!(one[0].to_bits(), all[k].to_bits());
        }
    }
}
