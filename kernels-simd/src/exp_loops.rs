//! The exponential loops of Sinkhorn (`exp(alpha x + y + beta)` in its forms) and of
//! attention (`exp(x - shift)`), written once against [`Lanes`].
//!
//! Each walks whole vectors with two accumulators in flight (the exponential is long
//! enough that two independent chains keep the units busy) and hands the tail,
//! shorter than a vector, to the scalar `exp`.
//!
//! The loops that stream `x` (a row of the cost matrix) ask for it
//! [`AHEAD_BYTES`](crate::lanes::AHEAD_BYTES) ahead. The exponential keeps the core
//! busy for about 20 cycles per vector, so the out-of-order window reaches only a few
//! cache lines ahead and the hardware prefetchers fall behind: log-mode Sinkhorn on
//! 4000 x 4000 f64 costs took 46.6 ms per iteration without the hints and 21.0 ms
//! with them (`./scripts/bench.sh sinkhorn`, portable build, AVX-512 machine).

use crate::lanes::{Lanes, prefetch_ahead, split};
use crate::math::{ExpConsts, exp, exp_k};

/// `exp(alpha x + y + beta)` for one vector: the product and the `y` fused, as in
/// the scalar rule's `alpha * x + y + beta` order.
#[inline(always)]
fn term<T: ExpConsts, L: Lanes<T>>(l: L, av: L::V, bv: L::V, x: &[T], y: &[T]) -> L::V {
    exp(l, l.add(l.mul_add(av, l.load(x), l.load(y)), bv))
}

/// [`term`] for the two vectors of `x` and `y` (each `2 N` long), their
/// exponentials interleaved ([`exp_k`]).
#[inline(always)]
fn terms<T: ExpConsts, L: Lanes<T>>(l: L, av: L::V, bv: L::V, x: &[T], y: &[T]) -> [L::V; 2] {
    let (x0, x1) = x.split_at(L::N);
    let (y0, y1) = y.split_at(L::N);
    let arg = |x: &[T], y: &[T]| l.add(l.mul_add(av, l.load(x), l.load(y)), bv);
    exp_k(l, [arg(x0, y0), arg(x1, y1)])
}

/// The prefetches of pair `p` (vectors `2p` and `2p + 1`) of a loop streaming `x`.
#[inline(always)]
fn prefetch_pair<T: ExpConsts, L: Lanes<T>>(_: L, x: &[T], p: usize) {
    prefetch_ahead(&[x.as_ptr()], 2 * p * L::N);
    prefetch_ahead(&[x.as_ptr()], (2 * p + 1) * L::N);
}

/// `x_j <- exp(x_j - shift)`; returns the sum.
#[inline(always)]
pub(crate) fn exp_shift<T: ExpConsts, L: Lanes<T>>(l: L, shift: T, x: &mut [T]) -> T {
    let (_, body) = split::<T, L>(&[x.len()]);
    let sv = l.splat(shift);
    let (xb, xr) = x.split_at_mut(body);
    // Vectors `2p` and `2p + 1` go to accumulators 0 and 1, as one at a time would.
    let mut acc = [l.zero(); 2];
    let mut pairs = xb.chunks_exact_mut(2 * L::N);
    for xs in &mut pairs {
        let (x0, x1) = xs.split_at_mut(L::N);
        let e = exp_k(l, [l.sub(l.load(x0), sv), l.sub(l.load(x1), sv)]);
        l.store(e[0], x0);
        l.store(e[1], x1);
        acc = [l.add(acc[0], e[0]), l.add(acc[1], e[1])];
    }
    let last = pairs.into_remainder();
    if !last.is_empty() {
        let e = exp(l, l.sub(l.load(last), sv));
        l.store(e, last);
        acc[0] = l.add(acc[0], e);
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
    let mut pairs = x[..body]
        .chunks_exact(2 * L::N)
        .zip(y[..body].chunks_exact(2 * L::N));
    for (p, (xs, ys)) in (&mut pairs).enumerate() {
        prefetch_pair(l, x, p);
        let e = terms(l, av, bv, xs, ys);
        acc = [l.add(acc[0], e[0]), l.add(acc[1], e[1])];
    }
    let done = body / (2 * L::N) * (2 * L::N);
    if done < body {
        acc[0] = l.add(acc[0], term(l, av, bv, &x[done..body], &y[done..body]));
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
    let mut pairs = ob.chunks_exact_mut(2 * L::N);
    let vectors = x[..body]
        .chunks_exact(2 * L::N)
        .zip(y[..body].chunks_exact(2 * L::N));
    for (p, (os, (xs, ys))) in (&mut pairs).zip(vectors).enumerate() {
        prefetch_pair(l, x, p);
        let e = terms(l, av, bv, xs, ys);
        let (o0, o1) = os.split_at_mut(L::N);
        put(e[0], o0);
        put(e[1], o1);
        acc = [l.add(acc[0], e[0]), l.add(acc[1], e[1])];
    }
    let last = pairs.into_remainder();
    if !last.is_empty() {
        let done = body - last.len();
        let e = term(l, av, bv, &x[done..body], &y[done..body]);
        put(e, last);
        acc[0] = l.add(acc[0], e);
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
