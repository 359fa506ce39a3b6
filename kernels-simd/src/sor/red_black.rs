//! The vector loops of `rb_row` (one colour of one row of a red-black sweep), written
//! once against [`Lanes`].
//!
//! The points of one colour are every other entry of a row, so a vector of the row
//! holds both colours. Two ways to vectorise, chosen per token by
//! [`Lanes::REGISTER_LANES`]:
//!
//! - [`masked`]: whole vectors of the row are updated and the other colour's lanes
//!   kept with a mask. Half the arithmetic is thrown away, but every load is
//!   contiguous and no shuffle is needed. With at least four lanes to a hardware
//!   register this wins: two or more useful lanes per instruction.
//! - [`split`]: chunks of `2 N` entries are split into this colour's `N` lanes and
//!   the other colour's `N` lanes (the left neighbours are the other colour shifted
//!   by one lane), so every lane does useful work, at the price of the shuffles that
//!   split and merge. Used where a hardware register holds two lanes (f64 on SSE2 or
//!   NEON, `wide`'s `f64x4` being two `f64x2` there), as the masked form has only one
//!   useful lane per instruction there and was measured slower than the scalar loop.
//!
//! Both compute each point with [`rb_point`]'s operations in its order (separate
//! multiplies and adds, no FMA), so results are identical to the scalar loop at every
//! level.

use kernels_core::sor::SorKernels;
use kernels_core::stencil::{rb_len, rb_point};
use kernels_core::{Real, Scalar};

use crate::lanes::{Element, Lanes};

/// The most lanes of any token (AVX-512 f32): the size of the staging arrays.
const MAX_LANES: usize = 16;

/// One colour of one row (`SorKernels::rb_row`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn rb_row<T: Element + Real, L: Lanes<T>>(
    l: L,
    parity: usize,
    keep: T,
    gain: T,
    b: &[T],
    up: Option<&[T]>,
    down: Option<&[T]>,
    row: &mut [T],
) {
    let n = rb_len(b, up, down, row);
    // The first and last rows of a grid (a missing neighbour) and rows too short for
    // one vector are rare: the scalar reference does them, so the vector loops have
    // no per-vector test for a missing row.
    match (up, down) {
        (Some(up), Some(down)) if n >= L::N + 2 => {
            if L::REGISTER_LANES < 4 {
                split(l, parity, keep, gain, b, up, down, row, n);
            } else {
                masked(l, parity, keep, gain, b, up, down, row, n);
            }
        }
        _ => <Scalar as SorKernels<T>>::rb_row(parity, keep, gain, b, up, down, row),
    }
}

/// `rb_row` on a row with both neighbours in the form named (for the tests, which
/// check both forms at every level); rows too short for a vector go to the scalar
/// reference.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn rb_form<T: Element + Real, L: Lanes<T>>(
    l: L,
    split_form: bool,
    parity: usize,
    keep: T,
    gain: T,
    b: &[T],
    up: &[T],
    down: &[T],
    row: &mut [T],
) {
    let n = rb_len(b, Some(up), Some(down), row);
    if n < L::N + 2 {
        <Scalar as SorKernels<T>>::rb_row(parity, keep, gain, b, Some(up), Some(down), row);
    } else if split_form {
        split(l, parity, keep, gain, b, up, down, row, n);
    } else {
        masked(l, parity, keep, gain, b, up, down, row, n);
    }
}

/// One point at column `j` of a row of length `n` (edges of the row and the columns
/// the vectors leave over).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn point<T: Real>(
    keep: T,
    gain: T,
    b: &[T],
    up: &[T],
    down: &[T],
    row: &mut [T],
    n: usize,
    j: usize,
) {
    let l = if j > 0 { row[j - 1] } else { T::zero() };
    let r = if j + 1 < n { row[j + 1] } else { T::zero() };
    row[j] = rb_point(keep, gain, row[j], l, r, up[j], down[j], b[j]);
}

/// `keep x + gain (((l + r) + (u + d)) + b)`, as [`rb_point`] orders it.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn update<T: Element, L: Lanes<T>>(
    l: L,
    keep: L::V,
    gain: L::V,
    x: L::V,
    left: L::V,
    right: L::V,
    u: L::V,
    d: L::V,
    b: L::V,
) -> L::V {
    let s = l.add(l.add(l.add(left, right), l.add(u, d)), b);
    l.add(l.mul(keep, x), l.mul(gain, s))
}

/// Whole vectors, the other colour's lanes kept by a mask. `n` is the common length,
/// at least `N + 2`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn masked<T: Element + Real, L: Lanes<T>>(
    l: L,
    parity: usize,
    keep: T,
    gain: T,
    b: &[T],
    up: &[T],
    down: &[T],
    row: &mut [T],
    n: usize,
) {
    // j = 0 has no left neighbour and the last vector must have a right one: m
    // vectors cover j in [1, 1 + m N) with 1 + m N <= n - 1.
    let m = (n - 2) / L::N;
    if parity == 0 {
        point(keep, gain, b, up, down, row, n, 0);
    }
    // Lane k of a vector starting at odd j0 is column j0 + k: it belongs to this
    // colour when k % 2 != parity.
    let ours: [T; MAX_LANES] =
        core::array::from_fn(|k| if k % 2 == parity { T::zero() } else { T::one() });
    let mask = l.gt(l.load(&ours), l.zero());
    let (keep_v, gain_v) = (l.splat(keep), l.splat(gain));
    // Cut to exactly the vectors' span, so the chunk iterators carry the loop bound.
    let span = 1..1 + m * L::N;
    let vectors = b[span.clone()]
        .chunks_exact(L::N)
        .zip(up[span.clone()].chunks_exact(L::N))
        .zip(down[span].chunks_exact(L::N));
    // Columns j0 - 1 ..= j0 + N as the left, centre and right vectors.
    let window = |row: &[T], j0: usize| match row.get(j0 - 1..j0 + 1 + L::N) {
        Some(w) => (l.load(w), l.load(&w[1..]), l.load(&w[2..])),
        None => (l.zero(), l.zero(), l.zero()),
    };
    // The neighbours of the next vector are loaded before this vector is stored:
    // loading a range that overlaps a store still in flight stalls store-to-load
    // forwarding (measured 3x slower). The early load sees the pre-store value only in
    // lanes the mask discards.
    let (mut left, mut x, mut right) = window(row, 1);
    let mut j0 = 1;
    for ((bs, us), ds) in vectors {
        let new = update(
            l,
            keep_v,
            gain_v,
            x,
            left,
            right,
            l.load(us),
            l.load(ds),
            l.load(bs),
        );
        let out = l.select(mask, new, x);
        let next = j0 + L::N;
        if next + L::N < n {
            (left, x, right) = window(row, next);
        }
        if let Some(dst) = row.get_mut(j0..j0 + L::N) {
            l.store(out, dst);
        }
        j0 = next;
    }
    let mut j = if (j0 & 1) == parity { j0 } else { j0 + 1 };
    while j < n {
        point(keep, gain, b, up, down, row, n, j);
        j += 2;
    }
}

/// The vector of `f(0), ..., f(N - 1)`.
#[inline(always)]
fn gather<T: Element + Real, L: Lanes<T>>(l: L, f: impl Fn(usize) -> T) -> L::V {
    let mut lanes = [T::zero(); MAX_LANES];
    for (k, v) in lanes.iter_mut().take(L::N).enumerate() {
        *v = f(k);
    }
    l.load(&lanes)
}

/// Chunks split into the two colours: every lane useful. `n` is the common length,
/// at least 2.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn split<T: Element + Real, L: Lanes<T>>(
    l: L,
    parity: usize,
    keep: T,
    gain: T,
    b: &[T],
    up: &[T],
    down: &[T],
    row: &mut [T],
    n: usize,
) {
    let w_len = 2 * L::N;
    // Chunks of 2 N columns start at this colour's first column with a left
    // neighbour; each ends with an other-colour column, so every point in a chunk has
    // its right neighbour inside it and the left one is the previous chunk's last
    // column (carried, never written).
    let first = if parity == 0 {
        point(keep, gain, b, up, down, row, n, 0);
        2
    } else {
        1
    };
    let m = n.saturating_sub(first) / w_len;
    let span = first..first + m * w_len;
    let mut left = row[first - 1];
    let (keep_v, gain_v) = (l.splat(keep), l.splat(gain));
    let even = |w: &[T]| gather(l, |k| w[2 * k]);
    let chunks = row[span.clone()]
        .chunks_exact_mut(w_len)
        .zip(b[span.clone()].chunks_exact(w_len))
        .zip(up[span.clone()].chunks_exact(w_len))
        .zip(down[span].chunks_exact(w_len));
    for (((w, bs), us), ds) in chunks {
        let x = even(w);
        let right = gather(l, |k| w[2 * k + 1]);
        let lv = gather(l, |k| if k == 0 { left } else { w[2 * k - 1] });
        let new = update(
            l,
            keep_v,
            gain_v,
            x,
            lv,
            right,
            even(us),
            even(ds),
            even(bs),
        );
        let mut out = [T::zero(); MAX_LANES];
        l.store(new, &mut out);
        left = w[w_len - 1];
        for (wk, &ok) in w.iter_mut().step_by(2).zip(&out) {
            *wk = ok;
        }
    }
    let mut j = first + m * w_len;
    while j < n {
        point(keep, gain, b, up, down, row, n, j);
        j += 2;
    }
}

// `rb_row` runs one form per level for f64 (the split form where a register holds
// two lanes, the masked one otherwise): both forms at every level this CPU has are
// checked here against the scalar reference.
#[cfg(test)]
mod tests {
    extern crate std;
    use crate::isa::Level;
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
                    for level in Level::ALL {
                        for split in [false, true] {
                            let mut got = row.clone();
                            super::super::kernels::$module::rb_form_at(
                                level, split, parity, keep, gain, b, up, down, &mut got,
                            );
                            prop_assert_eq!(&got, &want);
                        }
                    }
                }
            }
        };
    }

    same_as_scalar!(f32_forms_match_scalar, f32, f32s);
    same_as_scalar!(f64_forms_match_scalar, f64, f64s);
}
