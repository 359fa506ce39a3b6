//! The kernels that run several small Sinkhorn problems side by side, one per vector
//! lane (`kernels_core::sinkhorn`'s batches), and the logarithm pass of the
//! log-domain half-steps.
//!
//! Each lane must come out bit-identical to its problem's own call, so these repeat
//! that call's arithmetic: [`lanes_exp_rows`] is `write_exp_affine` (two accumulators
//! over a row's vectors, then `reduce_add`) with the lanes of the separate call's
//! vectors turned into separate vectors, summed by the halving order of
//! `reduce_add` ([`Lanes::HALVING_SUM`]); the logarithm is the same pass for both
//! ([`LnPass`]; the scalar `ln` at the portable level, whose recorded results
//! `tests/tests/golden.rs` keeps).

use kernels_core::Real;

use crate::exp_loops::affine_args;
use crate::isa::{self, Level};
use crate::lanes::Lanes;
use crate::math::{ExpConsts, exp_not_nan_k, ln_f32, ln_f64x4};

/// The widest vector of the side-by-side kernels (16 `f32` lanes).
const MAX_WIDTH: usize = 16;

/// Exponentials computed together, their steps interleaved (a divisor of every
/// width). A row of 32 columns took 4.4 ns per vector with two, 4.5 with four
/// (which spill) and 9.1 with one (AVX2, Zen 3).
const IN_FLIGHT: usize = 2;

/// Problems side by side at this level: `L::N` where `reduce_add` halves, else 1.
#[inline(always)]
pub(crate) fn batch_width<T: ExpConsts, L: Lanes<T>>(_: L) -> usize {
    if L::HALVING_SUM && L::N <= MAX_WIDTH {
        L::N
    } else {
        1
    }
}

/// `SinkhornKernels::lanes_exp_rows`: `write_exp_affine::<false>` on `L::N` problems
/// with `x`, `y`, `out` interleaved (column `j` of problem `p` at `j N + p`), for
/// each row of `x` (and `out`) with its vector of `beta` and `weights`, and the
/// ratios `weights / sums`. False where the width or the lengths do not fit.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "the kernel's arguments")]
pub(crate) fn lanes_exp_rows<T: ExpConsts, L: Lanes<T>>(
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
    let rows = beta.len() / w;
    let fits = batch_width::<T, L>(l) == lanes
        && lanes > 1
        && beta.len() == rows * w
        && weights.len() == beta.len()
        && sums.len() == beta.len()
        && ratios.len() == beta.len()
        && x.len() == rows * y.len()
        && out.len() == x.len()
        && y.len().is_multiple_of(w * w);
    if !fits {
        return false;
    }
    let av = l.splat(alpha);
    let len = y.len();
    let per_row = beta
        .chunks_exact(w)
        .zip(weights.chunks_exact(w))
        .zip(sums.chunks_exact_mut(w).zip(ratios.chunks_exact_mut(w)))
        .zip(x.chunks_exact(len).zip(out.chunks_exact_mut(len)));
    for (((b, wt), (sum, ratio)), (xs, os)) in per_row {
        let bv = l.load(b);
        // The lane count as a constant (the match folds away) sizes the
        // accumulators exactly.
        let total = match w {
            4 => exp_row_sum::<T, L, 4>(l, av, bv, xs, y, os),
            8 => exp_row_sum::<T, L, 8>(l, av, bv, xs, y, os),
            16 => exp_row_sum::<T, L, 16>(l, av, bv, xs, y, os),
            _ => return false,
        };
        l.store(total, sum);
        l.store(l.div(l.load(wt), total), ratio);
    }
    true
}

/// One row of [`lanes_exp_rows`] for `W = L::N` lanes: writes `out` and returns the
/// vector of the lanes' sums.
#[inline(always)]
fn exp_row_sum<T: ExpConsts, L: Lanes<T>, const W: usize>(
    l: L,
    av: L::V,
    bv: L::V,
    x: &[T],
    y: &[T],
    out: &mut [T],
) -> L::V {
    let w = W;
    // The separate call's row has `x.len() / (w w)` whole vectors (no scalar tail);
    // lane `q` of its vector `k` is column `k N + q`, here vector `q` of block `k`.
    // Its two accumulators (even and odd vectors) become one array per parity,
    // indexed by lane. The blocks are walked in memory order, `IN_FLIGHT`
    // exponentials at a time. A NaN argument (only in a lane whose potentials are
    // no longer finite, which the caller drops) gives an unspecified value instead
    // of NaN.
    let mut acc = [[l.zero(); W]; 2];
    let blocks = out
        .chunks_exact_mut(w * w)
        .zip(x.chunks_exact(w * w).zip(y.chunks_exact(w * w)));
    for (k, (ob, (xb, yb))) in blocks.enumerate() {
        let vectors = ob.chunks_exact_mut(IN_FLIGHT * w).zip(
            xb.chunks_exact(IN_FLIGHT * w)
                .zip(yb.chunks_exact(IN_FLIGHT * w)),
        );
        for (sums, (os, (xs, ys))) in acc[k & 1].chunks_exact_mut(IN_FLIGHT).zip(vectors) {
            let e = exp_not_nan_k(l, affine_args::<T, L, IN_FLIGHT>(l, av, bv, xs, ys));
            for (h, (sum, e)) in sums.iter_mut().zip(e).enumerate() {
                l.store(e, &mut os[h * w..(h + 1) * w]);
                *sum = l.add(*sum, e);
            }
        }
    }
    // Even plus odd, then `reduce_add`'s halving order.
    let [mut lane_sums, odd] = acc;
    for (sum, odd) in lane_sums.iter_mut().zip(odd) {
        *sum = l.add(*sum, odd);
    }
    let mut half = w / 2;
    while half > 0 {
        for q in 0..half {
            lane_sums[q] = l.add(lane_sums[q], lane_sums[q + half]);
        }
        half /= 2;
    }
    lane_sums[0]
}

/// `SinkhornKernels::lanes_axpy`: `base::axpy` on `L::N` problems, for the rows of
/// `x` in turn (`a` holding each row's multipliers, one per problem). Each element
/// chains its rows' multiply-adds in registers, which is the rows' separate calls
/// bit for bit, with one load and store of `y` per element. False where the width
/// or the lengths do not fit.
#[inline(always)]
pub(crate) fn lanes_axpy<T: ExpConsts, L: Lanes<T>>(l: L, a: &[T], x: &[T], y: &mut [T]) -> bool {
    let w = L::N;
    let rows = a.len() / w;
    if batch_width::<T, L>(l) != w
        || w < 2
        || a.len() != rows * w
        || x.len() != rows * y.len()
        || !y.len().is_multiple_of(w)
    {
        return false;
    }
    match rows {
        1 => axpy_rows::<T, L, 1>(l, a, x, y),
        2 => axpy_rows::<T, L, 2>(l, a, x, y),
        3 => axpy_rows::<T, L, 3>(l, a, x, y),
        4 => axpy_rows::<T, L, 4>(l, a, x, y),
        _ => return false,
    }
    true
}

/// [`lanes_axpy`] for `R` rows.
#[inline(always)]
fn axpy_rows<T: ExpConsts, L: Lanes<T>, const R: usize>(l: L, a: &[T], x: &[T], y: &mut [T]) {
    let (w, len) = (L::N, y.len());
    let av: [L::V; R] = core::array::from_fn(|r| l.load(&a[r * w..]));
    let rows: [&[T]; R] = core::array::from_fn(|r| &x[r * len..][..len]);
    // Indexed by the vector's offset (every row as long as `y`, a multiple of `w`),
    // which compiles to plain loads; iterators over the rows cost a branch each.
    for (at, ys) in (0..len).step_by(w).zip(y.chunks_exact_mut(w)) {
        let mut acc = l.load(ys);
        for (&v, row) in av.iter().zip(rows) {
            acc = l.mul_add(v, l.load(&row[at..at + w]), acc);
        }
        l.store(acc, ys);
    }
}

/// The logarithm of the log-domain half-steps, element by element: the vector
/// logarithm, or the scalar one at the portable level. The `f32` one runs at the
/// active level (the same function, with FMA where the level has it), the `f64`
/// one is `wide`'s at every x86 level.
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

/// `x_k <- ln x_k` by [`ln_f32`] at `l`'s level, the tail padded to a whole vector.
#[inline(always)]
fn ln_vectors_f32<L: Lanes<f32>>(l: L, x: &mut [f32]) {
    let mut chunks = x.chunks_exact_mut(L::N);
    for c in &mut chunks {
        l.store(ln_f32(l, l.load(c)), c);
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        let mut a = [1.0; MAX_WIDTH];
        a[..tail.len()].copy_from_slice(tail);
        l.store(ln_f32(l, l.load(&a)), &mut a);
        tail.copy_from_slice(&a[..tail.len()]);
    }
}

dispatched! {
    fn ln_f32_pass / ln_f32_pass_at(x: &mut [f32]) -> () = ln_vectors_f32;
}

impl LnPass for f32 {
    fn ln_vectors(x: &mut [f32]) {
        ln_f32_pass(x);
    }
}

impl LnPass for f64 {
    fn ln_vectors(x: &mut [f64]) {
        let mut chunks = x.chunks_exact_mut(4);
        for c in &mut chunks {
            if let Some(a) = c.first_chunk_mut::<4>() {
                *a = ln_f64x4(wide::f64x4::new(*a)).to_array();
            }
        }
        let tail = chunks.into_remainder();
        if !tail.is_empty() {
            let mut a = [1.0; 4];
            a[..tail.len()].copy_from_slice(tail);
            let a = ln_f64x4(wide::f64x4::new(a)).to_array();
            tail.copy_from_slice(&a[..tail.len()]);
        }
    }
}

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
                        assert!(k::lanes_exp_rows_at(
                            level, w, alpha, &x, &beta, &y, &weights, &mut out, &mut sums,
                            &mut ratios,
                        ));
                        // Two rows in one call: `x`, then `out0` with their own
                        // `beta` and `weights`; the first row as above.
                        let x2: Vec<$t> = x.iter().chain(&out0).copied().collect();
                        let beta2: Vec<$t> = beta.iter().chain(&get(8, -2.0, 2.0)[..w]).copied().collect();
                        let weights2: Vec<$t> = weights.iter().chain(&get(9, 0.01, 0.1)[..w]).copied().collect();
                        let (mut out2, mut sums2, mut ratios2) =
                            (std::vec![0.0; 2 * m * w], std::vec![0.0; 2 * w], std::vec![0.0; 2 * w]);
                        assert!(k::lanes_exp_rows_at(
                            level, w, alpha, &x2, &beta2, &y, &weights2, &mut out2, &mut sums2,
                            &mut ratios2,
                        ));
                        let mut acc = out0.clone();
                        assert!(k::lanes_axpy_at(level, &ratios, &out, &mut acc));
                        // Three rows in one call: `out`, `x`, `out` again.
                        let (r2, r3) = (get(6, 0.0, 2.0), get(7, 0.0, 2.0));
                        let a3: Vec<$t> = ratios.iter().chain(&r2[..w]).chain(&r3[..w]).copied().collect();
                        let x3: Vec<$t> = out.iter().chain(&x).chain(&out).copied().collect();
                        let mut acc3 = out0.clone();
                        assert!(k::lanes_axpy_at(level, &a3, &x3, &mut acc3));
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
                            let (first, second) = out2.split_at(m * w);
                            assert_eq!(bits(&row), bits(&lane(first)), "{level:?} {m} lane {p}");
                            assert_eq!(bits(&sums[..]), bits(&sums2[..w]), "{level:?} {m}");
                            assert_eq!(bits(&ratios[..]), bits(&ratios2[..w]), "{level:?} {m}");
                            let mut row2 = std::vec![0.0; m];
                            let sum2 = k::exp_affine_sum_at(
                                level, alpha, &lane(&out0), beta2[w + p], &lane(&y), &mut row2,
                            );
                            assert_eq!(bits(&row2), bits(&lane(second)), "{level:?} {m} row 2 lane {p}");
                            assert_eq!(sum2.to_bits(), sums2[w + p].to_bits(), "{level:?} {m} row 2");
                            assert_eq!((weights2[w + p] / sum2).to_bits(), ratios2[w + p].to_bits());
                            let mut want = lane(&out0);
                            base::axpy_at(level, ratios[p], &row, &mut want);
                            assert_eq!(bits(&want), bits(&lane(&acc)), "{level:?} axpy lane {p}");
                            base::axpy_at(level, r2[p], &lane(&x), &mut want);
                            base::axpy_at(level, r3[p], &row, &mut want);
                            assert_eq!(bits(&want), bits(&lane(&acc3)), "{level:?} axpy rows lane {p}");
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
        for level in isa::supported() {
            let mut all = x.clone();
            super::ln_f32_pass_at(level, &mut all);
            for (k, &v) in x.iter().enumerate() {
                let mut one = [v];
                super::ln_f32_pass_at(level, &mut one);
                assert_eq!(one[0].to_bits(), all[k].to_bits(), "{level:?}");
            }
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

    /// The `f32` logarithm at every level this CPU has: within 1 ulp of the `f64`
    /// one rounded (the bound the sweeps measure for `ln_f32x8` with and without
    /// FMA; an exhaustive run over all 2^32 inputs at AVX2 found 1), and exact on
    /// the special values. The portable level is `ln_f32x8` itself.
    #[test]
    fn ln_f32_at_every_level_is_within_one_ulp() {
        // Bit patterns spread over every exponent, and the special values.
        let mut x: Vec<f32> = (0..1u32 << 16)
            .map(|i| f32::from_bits(i.wrapping_mul(0x9e37_79b9) >> 1))
            .collect();
        x.extend([
            0.0,
            -0.0,
            1.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            -1.0,
            f32::MIN_POSITIVE,
            f32::from_bits(1),
            f32::MAX,
        ]);
        let ord = |v: f32| i64::from(v.to_bits().cast_signed());
        for level in isa::supported() {
            let mut got = x.clone();
            super::ln_f32_pass_at(level, &mut got);
            for (&v, &g) in x.iter().zip(&got) {
                let want = f64::from(v).ln() as f32;
                if want.is_nan() {
                    assert!(g.is_nan(), "{level:?} ln({v:e}) = {g:e}");
                } else if want.is_infinite() || want == 0.0 {
                    assert_eq!(want.to_bits(), g.to_bits(), "{level:?} ln({v:e})");
                } else {
                    let ulps = (ord(want) - ord(g)).abs();
                    assert!(ulps <= 1, "{level:?} ln({v:e}) = {g:e}, want {want:e}");
                }
            }
        }
        let portable: Vec<f32> = x
            .chunks_exact(8)
            .flat_map(|c| crate::ln_f32x8(wide::f32x8::new(c.try_into().unwrap())).to_array())
            .collect();
        let mut got = x.clone();
        super::ln_f32_pass_at(isa::Level::Portable, &mut got);
        let bits = |v: &[f32]| v.iter().map(|e| e.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&portable), bits(&got[..portable.len()]));
    }
}
