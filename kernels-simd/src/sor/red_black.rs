//! The vector loops of `rb_row` (one colour of one row of a red-black sweep).
//!
//! The points of one colour are every other entry of a row, so a vector of the row
//! holds both colours. Two ways to vectorise, chosen per type at compile time:
//!
//! - [`masked`]: whole vectors of the row are updated and the other colour's lanes
//!   kept with a mask. Half the arithmetic is thrown away, but every load is
//!   contiguous and no shuffle is needed. With at least four lanes to a hardware
//!   register this wins: two or more useful lanes per instruction.
//! - [`split`]: chunks of `2 L` entries are split into this colour's `L` lanes and
//!   the other colour's `L` lanes (the left neighbours are the other colour shifted
//!   by one lane), so every lane does useful work, at the price of the shuffles that
//!   split and merge. Used where a hardware register holds two lanes (f64 without
//!   AVX: `f64x4` is then two `f64x2`), as the masked form has only one useful
//!   lane per instruction there and was measured slower than the scalar loop.
//!
//! Both take rows with both neighbour rows present and at least `L + 2` entries
//! (the caller sends the rest to the scalar reference), and compute each point with
//! [`rb_point`](kernels_core::stencil::rb_point)'s operations in its order, so results
//! are identical to the scalar loop.

macro_rules! red_black {
    ($module:ident, $t:ty, $v:ident, $lanes:literal, $split_v:ident, $split_lanes:literal) => {
        pub(crate) mod $module {
            use kernels_core::stencil::rb_point;
            use wide::{$split_v, $v};

            /// One point at column `j` of a row of length `n` (edges of the row and
            /// the columns the vectors leave over).
            #[allow(clippy::too_many_arguments)]
            #[inline(always)]
            fn point(
                keep: $t,
                gain: $t,
                b: &[$t],
                up: &[$t],
                down: &[$t],
                row: &mut [$t],
                n: usize,
                j: usize,
            ) {
                let l = if j > 0 { row[j - 1] } else { 0.0 };
                let r = if j + 1 < n { row[j + 1] } else { 0.0 };
                row[j] = rb_point(keep, gain, row[j], l, r, up[j], down[j], b[j]);
            }

            /// Whole vectors, the other colour's lanes kept by a mask. `n` is the
            /// common length, at least `L + 2`.
            #[allow(clippy::too_many_arguments)]
            #[inline(always)]
            pub(crate) fn masked(
                parity: usize,
                keep: $t,
                gain: $t,
                b: &[$t],
                up: &[$t],
                down: &[$t],
                row: &mut [$t],
                n: usize,
            ) {
                const L: usize = $lanes;
                // j = 0 has no left neighbour and the last vector must have a right
                // one: m vectors cover j in [1, 1 + m L) with 1 + m L <= n - 1.
                let m = (n - 2) / L;
                if parity == 0 {
                    point(keep, gain, b, up, down, row, n, 0);
                }
                // Lane k of a vector starting at odd j0 is column j0 + k: it belongs
                // to this colour when k % 2 != parity.
                let lane_parity = $v::new(core::array::from_fn(|k| (k % 2) as $t));
                let mask = lane_parity.simd_ne($v::splat(parity as $t));
                let (keep_v, gain_v) = ($v::splat(keep), $v::splat(gain));
                // Cut to exactly the vectors' span, so the chunk iterators carry the
                // loop bound and need no bounds checks.
                let span = 1..1 + m * L;
                let (bc, _) = b[span.clone()].as_chunks::<L>();
                let (uc, _) = up[span.clone()].as_chunks::<L>();
                let (dc, _) = down[span].as_chunks::<L>();
                // Columns j0 - 1 ..= j0 + L as the left, centre and right vectors.
                let window = |row: &[$t], j0: usize| -> ($v, $v, $v) {
                    match row
                        .get(j0 - 1..)
                        .and_then(|w| w.first_chunk::<{ $lanes + 2 }>())
                    {
                        Some(w) => (
                            $v::new(core::array::from_fn(|k| w[k])),
                            $v::new(core::array::from_fn(|k| w[k + 1])),
                            $v::new(core::array::from_fn(|k| w[k + 2])),
                        ),
                        None => ($v::ZERO, $v::ZERO, $v::ZERO),
                    }
                };
                // The neighbours of the next vector are loaded before this vector is
                // stored: loading a range that overlaps a store still in flight
                // stalls store-to-load forwarding (measured 3x slower). The early
                // load sees the pre-store value only in lanes the mask discards.
                let (mut l, mut x, mut r) = window(row, 1);
                let mut j0 = 1;
                for ((bs, us), ds) in bc.iter().zip(uc).zip(dc) {
                    let s = ((l + r) + ($v::new(*us) + $v::new(*ds))) + $v::new(*bs);
                    let out = mask.select(keep_v * x + gain_v * s, x);
                    let next = j0 + L;
                    if next + L < n {
                        (l, x, r) = window(row, next);
                    }
                    if let Some(dst) = row.get_mut(j0..).and_then(|d| d.first_chunk_mut::<L>()) {
                        *dst = out.to_array();
                    }
                    j0 = next;
                }
                let mut j = if (j0 & 1) == parity { j0 } else { j0 + 1 };
                while j < n {
                    point(keep, gain, b, up, down, row, n, j);
                    j += 2;
                }
            }

            /// Chunks split into the two colours: every lane useful. `n` is the
            /// common length, at least 2.
            #[allow(clippy::too_many_arguments)]
            #[inline(always)]
            pub(crate) fn split(
                parity: usize,
                keep: $t,
                gain: $t,
                b: &[$t],
                up: &[$t],
                down: &[$t],
                row: &mut [$t],
                n: usize,
            ) {
                const W: usize = 2 * $split_lanes;
                // Chunks of W columns start at this colour's first column with a left
                // neighbour; each ends with an other-colour column, so every point in
                // a chunk has its right neighbour inside it and the left one is the
                // previous chunk's last column (carried, never written).
                let first = if parity == 0 {
                    point(keep, gain, b, up, down, row, n, 0);
                    2
                } else {
                    1
                };
                let m = n.saturating_sub(first) / W;
                let span = first..first + m * W;
                let (bc, _) = b[span.clone()].as_chunks::<W>();
                let (uc, _) = up[span.clone()].as_chunks::<W>();
                let (dc, _) = down[span.clone()].as_chunks::<W>();
                let mut left = row[first - 1];
                let (rc, _) = row[span].as_chunks_mut::<W>();
                let (keep_v, gain_v) = ($split_v::splat(keep), $split_v::splat(gain));
                let even = |w: &[$t; W]| $split_v::new(core::array::from_fn(|k| w[2 * k]));
                for (((w, bs), us), ds) in rc.iter_mut().zip(bc).zip(uc).zip(dc) {
                    let x = even(w);
                    let r = $split_v::new(core::array::from_fn(|k| w[2 * k + 1]));
                    let l = $split_v::new(core::array::from_fn(|k| {
                        if k == 0 { left } else { w[2 * k - 1] }
                    }));
                    let s = ((l + r) + (even(us) + even(ds))) + even(bs);
                    let out = (keep_v * x + gain_v * s).to_array();
                    left = w[W - 1];
                    for (wk, ok) in w.iter_mut().step_by(2).zip(out) {
                        *wk = ok;
                    }
                }
                let mut j = first + m * W;
                while j < n {
                    point(keep, gain, b, up, down, row, n, j);
                    j += 2;
                }
            }
        }
    };
}

red_black!(f32s, f32, f32x8, 8, f32x4, 4);
red_black!(f64s, f64, f64x4, 4, f64x2, 2);

// Each build compiles only one form into `rb_row` for f64 (the split form without
// AVX, the masked one with it): both forms of both types are checked here, whatever
// the build, against the scalar reference.
#[cfg(test)]
mod tests {
    extern crate std;
    use kernels_core::Scalar;
    use kernels_core::sor::SorKernels;
    use proptest::prelude::*;
    use std::vec::Vec;

    macro_rules! same_as_scalar {
        ($name:ident, $t:ty, $module:ident) => {
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(300))]
                #[test]
                fn $name(
                    n in 6usize..80, parity in 0usize..2,
                    v in proptest::collection::vec(-2.0..2.0 as $t, 320),
                ) {
                    let (b, up, down) = (&v[..n], &v[80..80 + n], &v[160..160 + n]);
                    let row: Vec<$t> = v[240..240 + n].to_vec();
                    let (keep, gain) = (-0.3, 0.26);
                    let mut want = row.clone();
                    <Scalar as SorKernels<$t>>::rb_row(
                        parity, keep, gain, b, Some(up), Some(down), &mut want,
                    );
                    if n >= 10 {
                        let mut got = row.clone();
                        super::$module::masked(parity, keep, gain, b, up, down, &mut got, n);
                        prop_assert_eq!(&got, &want);
                    }
                    let mut got = row;
                    super::$module::split(parity, keep, gain, b, up, down, &mut got, n);
                    prop_assert_eq!(&got, &want);
                }
            }
        };
    }

    same_as_scalar!(f32_forms_match_scalar, f32, f32s);
    same_as_scalar!(f64_forms_match_scalar, f64, f64s);
}
