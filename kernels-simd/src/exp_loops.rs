//! The exponential loops of Sinkhorn (`exp(alpha x + y + beta)` in its forms) and of
//! attention (`exp(x - shift)`), written once against [`Lanes`].
//!
//! Each walks whole vectors with two accumulators (even and odd vectors), computes
//! [`IN_FLIGHT`] vectors' exponentials per step, and hands the tail, shorter than a
//! vector, to the scalar `exp`.
//!
//! The loops that stream `x` (a row of the cost matrix) ask for it
//! [`AHEAD_BYTES`](crate::lanes::AHEAD_BYTES) ahead. The exponential keeps the core
//! busy for about 20 cycles per vector, so the out-of-order window reaches only a few
//! cache lines ahead and the hardware prefetchers fall behind: log-mode Sinkhorn on
//! 4000 x 4000 f64 costs took 46.6 ms per iteration without the hints and 21.0 ms
//! with them (`./scripts/bench.sh sinkhorn`, portable build, AVX-512 machine).

use crate::lanes::{Lanes, prefetch_ahead, split};
use crate::math::{ExpConsts, exp, exp_k};

/// Exponentials computed together by the loops below, their steps interleaved
/// ([`exp_k`]): one exponential is a chain of about 15 dependent operations, and on
/// x86 a loop of lone ones leaves the out-of-order window too few independent
/// operations (rows of 4000 took 1.3x the time in f64, 1.1x in f32, AVX2 Zen 3).
/// Elsewhere (the firmware's scalar lanes) two would only carry the code twice.
/// Vector `v` of a row still goes to accumulator `v mod 2`, so the sums keep their
/// bits whatever this is.
#[cfg(target_arch = "x86_64")]
const IN_FLIGHT: usize = 2;
#[cfg(not(target_arch = "x86_64"))]
const IN_FLIGHT: usize = 1;

/// `alpha x + y + beta` for the `K` vectors of `x` and `y` (each `K N` long): the
/// product and the `y` fused, as in the scalar rule's `alpha * x + y + beta` order.
/// The batches' side-by-side rows take their arguments from here too, so that each
/// lane rounds as its own call's loop does.
#[inline(always)]
pub(crate) fn affine_args<T: ExpConsts, L: Lanes<T>, const K: usize>(
    l: L,
    av: L::V,
    bv: L::V,
    x: &[T],
    y: &[T],
) -> [L::V; K] {
    let mut arg = [l.zero(); K];
    for (h, v) in arg.iter_mut().enumerate() {
        let j = h * L::N..(h + 1) * L::N;
        *v = l.add(l.mul_add(av, l.load(&x[j.clone()]), l.load(&y[j])), bv);
    }
    arg
}

/// `exp(alpha x + y + beta)` for the `K` vectors of `x` and `y` ([`affine_args`]).
#[inline(always)]
fn terms<T: ExpConsts, L: Lanes<T>, const K: usize>(
    l: L,
    av: L::V,
    bv: L::V,
    x: &[T],
    y: &[T],
) -> [L::V; K] {
    exp_k(l, affine_args(l, av, bv, x, y))
}

/// [`terms`] of one vector.
#[inline(always)]
fn term<T: ExpConsts, L: Lanes<T>>(l: L, av: L::V, bv: L::V, x: &[T], y: &[T]) -> L::V {
    let [e] = terms(l, av, bv, x, y);
    e
}

/// Where the steps of [`IN_FLIGHT`] whole vectors end in a body of `body`
/// elements; the vectors after it go one at a time.
#[inline(always)]
fn in_flight_end<T: ExpConsts, L: Lanes<T>>(_: L, body: usize) -> usize {
    body / (IN_FLIGHT * L::N) * (IN_FLIGHT * L::N)
}

/// `x_j <- exp(x_j - shift)`; returns the sum.
#[inline(always)]
pub(crate) fn exp_shift<T: ExpConsts, L: Lanes<T>>(l: L, shift: T, x: &mut [T]) -> T {
    let (_, body) = split::<T, L>(&[x.len()]);
    let sv = l.splat(shift);
    let (xb, xr) = x.split_at_mut(body);
    let mut acc = [l.zero(); 2];
    let (steps, rest) = xb.split_at_mut(in_flight_end(l, body));
    for (p, xs) in steps.chunks_exact_mut(IN_FLIGHT * L::N).enumerate() {
        let mut arg = [l.zero(); IN_FLIGHT];
        for (h, v) in arg.iter_mut().enumerate() {
            *v = l.sub(l.load(&xs[h * L::N..]), sv);
        }
        for (h, e) in exp_k(l, arg).into_iter().enumerate() {
            l.store(e, &mut xs[h * L::N..]);
            let a = (p * IN_FLIGHT + h) & 1;
            acc[a] = l.add(acc[a], e);
        }
    }
    // Fewer than `IN_FLIGHT` vectors are left; the first has an even index.
    for (h, xs) in rest.chunks_exact_mut(L::N).enumerate() {
        let e = exp(l, l.sub(l.load(xs), sv));
        l.store(e, xs);
        acc[h & 1] = l.add(acc[h & 1], e);
    }
    xr.iter_mut()
        .fold(l.reduce_add(l.add(acc[0], acc[1])), |s, xi| {
            *xi = (*xi - shift).exp();
            s + *xi
        })
}

/// `x_j <- x_j * (factor * exp(e_j))`, the scalar rule's order: a row of a gated
/// linear-attention chunk's causal mask applied to its scores.
#[inline(always)]
pub(crate) fn scale_exp<T: ExpConsts, L: Lanes<T>>(l: L, factor: T, e: &[T], x: &mut [T]) {
    let (n, body) = split::<T, L>(&[e.len(), x.len()]);
    let fv = l.splat(factor);
    let (xb, xr) = x[..n].split_at_mut(body);
    for (xs, es) in xb.chunks_exact_mut(L::N).zip(e[..body].chunks_exact(L::N)) {
        let w = l.mul(fv, exp(l, l.load(es)));
        l.store(l.mul(l.load(xs), w), xs);
    }
    for (xi, &ei) in xr.iter_mut().zip(&e[body..n]) {
        *xi = *xi * (factor * ei.exp());
    }
}

/// `LSE_j(alpha x_j + y_j)`, max-shifted.
#[inline(always)]
pub(crate) fn lse_affine<T: ExpConsts, L: Lanes<T>>(l: L, alpha: T, x: &[T], y: &[T]) -> T {
    let (n, body) = split::<T, L>(&[x.len(), y.len()]);
    let av = l.splat(alpha);
    let vectors = || {
        x[..body]
            .chunks_exact(L::N)
            .zip(y[..body].chunks_exact(L::N))
    };
    let tail = || {
        x[body..n]
            .iter()
            .zip(&y[body..n])
            .map(|(&a, &b)| alpha * a + b)
    };
    // Two maxima in flight hide the latency of the dependent max chain.
    let mut mx = [l.splat(T::neg_infinity()); 2];
    for (k, (xs, ys)) in vectors().enumerate() {
        prefetch_ahead(&[x.as_ptr()], k * L::N);
        mx[k & 1] = l.max(mx[k & 1], l.mul_add(av, l.load(xs), l.load(ys)));
    }
    let m = tail().fold(
        l.reduce_max(l.max(mx[0], mx[1])),
        |m, v| if v > m { v } else { m },
    );
    if !m.is_finite() {
        // All -inf (or empty): -inf. Some +inf: +inf. Shifting would give NaN.
        return m;
    }
    let mv = l.splat(-m);
    let mut acc = [l.zero(); 2];
    for (k, (xs, ys)) in vectors().enumerate() {
        acc[k & 1] = l.add(acc[k & 1], term(l, av, mv, xs, ys));
    }
    let s = tail().fold(l.reduce_add(l.add(acc[0], acc[1])), |s, v| {
        s + (v - m).exp()
    });
    m + s.ln()
}

/// `sum_j exp(alpha x_j + y_j + beta)`.
#[inline(always)]
pub(crate) fn sum_exp_affine<T: ExpConsts, L: Lanes<T>>(
    l: L,
    alpha: T,
    x: &[T],
    beta: T,
    y: &[T],
) -> T {
    let (n, body) = split::<T, L>(&[x.len(), y.len()]);
    let (av, bv) = (l.splat(alpha), l.splat(beta));
    let mut acc = [l.zero(); 2];
    let end = in_flight_end(l, body);
    let steps = x[..end]
        .chunks_exact(IN_FLIGHT * L::N)
        .zip(y[..end].chunks_exact(IN_FLIGHT * L::N));
    for (p, (xs, ys)) in steps.enumerate() {
        for h in 0..IN_FLIGHT {
            prefetch_ahead(&[x.as_ptr()], (p * IN_FLIGHT + h) * L::N);
        }
        for (h, e) in terms::<T, L, IN_FLIGHT>(l, av, bv, xs, ys)
            .into_iter()
            .enumerate()
        {
            let a = (p * IN_FLIGHT + h) & 1;
            acc[a] = l.add(acc[a], e);
        }
    }
    let rest = x[end..body]
        .chunks_exact(L::N)
        .zip(y[end..body].chunks_exact(L::N));
    for (h, (xs, ys)) in rest.enumerate() {
        acc[h & 1] = l.add(acc[h & 1], term(l, av, bv, xs, ys));
    }
    x[body..n]
        .iter()
        .zip(&y[body..n])
        .fold(l.reduce_add(l.add(acc[0], acc[1])), |s, (&a, &b)| {
            s + (alpha * a + b + beta).exp()
        })
}

/// `out_j = e_j`, or `out_j += e_j` when `ACCUMULATE`, with `e_j = exp(alpha x_j +
/// y_j + beta)`; returns `sum_j e_j`. `exp_affine`, `exp_affine_sum` and
/// `exp_affine_accumulate` (the callers that drop the sum pay one vector add per
/// vector, against an exponential).
#[inline(always)]
pub(crate) fn write_exp_affine<T: ExpConsts, L: Lanes<T>, const ACCUMULATE: bool>(
    l: L,
    alpha: T,
    x: &[T],
    beta: T,
    y: &[T],
    out: &mut [T],
) -> T {
    let (n, body) = split::<T, L>(&[x.len(), y.len(), out.len()]);
    let (av, bv) = (l.splat(alpha), l.splat(beta));
    let (ob, or) = out[..n].split_at_mut(body);
    let put = |e: L::V, os: &mut [T]| {
        l.store(if ACCUMULATE { l.add(l.load(os), e) } else { e }, os);
    };
    let mut acc = [l.zero(); 2];
    let end = in_flight_end(l, body);
    let (steps, rest) = ob.split_at_mut(end);
    let vectors = x[..end]
        .chunks_exact(IN_FLIGHT * L::N)
        .zip(y[..end].chunks_exact(IN_FLIGHT * L::N));
    for (p, (os, (xs, ys))) in steps
        .chunks_exact_mut(IN_FLIGHT * L::N)
        .zip(vectors)
        .enumerate()
    {
        for h in 0..IN_FLIGHT {
            prefetch_ahead(&[x.as_ptr()], (p * IN_FLIGHT + h) * L::N);
        }
        for (h, e) in terms::<T, L, IN_FLIGHT>(l, av, bv, xs, ys)
            .into_iter()
            .enumerate()
        {
            put(e, &mut os[h * L::N..]);
            let a = (p * IN_FLIGHT + h) & 1;
            acc[a] = l.add(acc[a], e);
        }
    }
    let vectors = x[end..body]
        .chunks_exact(L::N)
        .zip(y[end..body].chunks_exact(L::N));
    for (h, (os, (xs, ys))) in rest.chunks_exact_mut(L::N).zip(vectors).enumerate() {
        let e = term(l, av, bv, xs, ys);
        put(e, os);
        acc[h & 1] = l.add(acc[h & 1], e);
    }
    or.iter_mut().zip(&x[body..n]).zip(&y[body..n]).fold(
        l.reduce_add(l.add(acc[0], acc[1])),
        |s, ((o, &xj), &yj)| {
            let e = (alpha * xj + yj + beta).exp();
            *o = if ACCUMULATE { *o + e } else { e };
            s + e
        },
    )
}
