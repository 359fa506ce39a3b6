//! The Sinkhorn row passes that are not exponential loops (those are in
//! `exp_loops`): the online column log-sum-exp, kernel mode's `dots_axpys` and
//! the point-cloud cost row, written once against [`Lanes`].

use kernels_core::sinkhorn::{PASS_ROWS, SinkhornKernels};
use kernels_core::{Real, Scalar};

use crate::base;
use crate::lanes::{Lanes, split};
use crate::math::{ExpConsts, exp};

/// One row of the online column log-sum-exp (`SinkhornKernels::lse_accumulate`).
#[inline(always)]
pub(crate) fn lse_accumulate<T: ExpConsts + Real, L: Lanes<T>>(
    l: L,
    alpha: T,
    x: &[T],
    beta: T,
    max: &mut [T],
    sum: &mut [T],
) {
    let (n, body) = split::<T, L>(&[x.len(), max.len(), sum.len()]);
    let (av, bv, one) = (l.splat(alpha), l.splat(beta), l.splat(T::one()));
    let rows = x[..body]
        .chunks_exact(L::N)
        .zip(max[..body].chunks_exact_mut(L::N))
        .zip(sum[..body].chunks_exact_mut(L::N));
    for ((xs, ms), ss) in rows {
        // Rounded twice, as the scalar rule does: fused (at the AVX2 and AVX-512
        // levels) the maximum would move by up to u |alpha x_j|, outside the `lse`
        // bound for large terms (seen in the agreement tests: f32, |v| about 80).
        let v = l.add(l.mul(av, l.load(xs)), bv);
        let (m, s) = (l.load(ms), l.load(ss));
        // One exponential per element: exp(-|v - m|) is the factor that rescales the
        // old sum when v is the new maximum, and the new term otherwise. v = m = -inf
        // gives NaN: that term is zero.
        let d = l.sub(v, m);
        let e = l.select(l.is_nan(d), l.zero(), exp(l, l.neg(l.abs(d))));
        let new_max = l.gt(v, m);
        l.store(l.select(new_max, l.mul_add(s, e, one), l.add(s, e)), ss);
        l.store(l.max_or_first(m, v), ms);
    }
    // The remainder uses the scalar reference rule.
    <Scalar as SinkhornKernels<T>>::lse_accumulate(
        alpha,
        &x[body..n],
        beta,
        &mut max[body..n],
        &mut sum[body..n],
    );
}

/// Rows of `K v` with earlier rows' `K^T u` (`SinkhornKernels::dots_axpys`): the
/// multi-row loops, `y` and then `v` loaded once for all the rows. (One loop over
/// both timed the same: the pass is bound by the stream of `K` from memory.)
#[inline(always)]
pub(crate) fn dots_axpys<T: ExpConsts, L: Lanes<T>>(
    l: L,
    x: [&[T]; PASS_ROWS],
    v: &[T],
    a: [T; PASS_ROWS],
    w: [&[T]; PASS_ROWS],
    y: &mut [T],
) -> [T; PASS_ROWS] {
    base::axpys(l, a, w, y);
    base::dots(l, x, v)
}

/// One row of squared distances (`SinkhornKernels::sq_dist_row`): `L::N` columns at a
/// time, each accumulating its `d` squared differences in a register (one store per
/// entry). The point clouds' usual `d` (1, 2, 3) have their coordinate loops unrolled
/// with the coordinate rows zipped, so that the loop carries no index arithmetic or
/// bounds checks (measured: with the general loop, `d = 3` cost rows took 0.7x of a
/// whole dense iteration's time at n = m = 4000, f64).
#[inline(always)]
pub(crate) fn sq_dist_row<T: ExpConsts + Real, L: Lanes<T>>(
    l: L,
    x: &[T],
    yt: &[T],
    out: &mut [T],
) {
    let m = out.len();
    debug_assert_eq!(yt.len(), x.len() * m);
    let body = m - m % L::N;
    let sq = |acc: L::V, xk: L::V, yk: &[T]| {
        let t = l.sub(xk, l.load(yk));
        l.mul_add(t, t, acc)
    };
    let outs = out[..body].chunks_exact_mut(L::N);
    let coord = |k: usize| yt[k * m..k * m + body].chunks_exact(L::N);
    match *x {
        [x0] => {
            let x0 = l.splat(x0);
            for (o, y0) in outs.zip(coord(0)) {
                l.store(sq(l.zero(), x0, y0), o);
            }
        }
        [x0, x1] => {
            let (x0, x1) = (l.splat(x0), l.splat(x1));
            for ((o, y0), y1) in outs.zip(coord(0)).zip(coord(1)) {
                l.store(sq(sq(l.zero(), x0, y0), x1, y1), o);
            }
        }
        [x0, x1, x2] => {
            let (x0, x1, x2) = (l.splat(x0), l.splat(x1), l.splat(x2));
            for (((o, y0), y1), y2) in outs.zip(coord(0)).zip(coord(1)).zip(coord(2)) {
                l.store(sq(sq(sq(l.zero(), x0, y0), x1, y1), x2, y2), o);
            }
        }
        _ => {
            for (j, o) in outs.enumerate() {
                let at = j * L::N;
                let mut acc = l.zero();
                for (k, &xk) in x.iter().enumerate() {
                    acc = sq(acc, l.splat(xk), &yt[k * m + at..][..L::N]);
                }
                l.store(acc, o);
            }
        }
    }
    for (j, o) in out.iter_mut().enumerate().skip(body) {
        *o = x.iter().enumerate().fold(T::zero(), |acc, (k, &xk)| {
            let t = xk - yt[k * m + j];
            acc + t * t
        });
    }
}
