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
use crate::math::{ExpConsts, exp};

/// `exp(alpha x + y + beta)` for one vector: the product and the `y` fused, as in
/// the scalar rule's `alpha * x + y + beta` order.
#[inline(always)]
fn term<T: ExpConsts, L: Lanes<T>>(l: L, av: L::V, bv: L::V, x: &[T], y: &[T]) -> L::V {
    exp(l, l.add(l.mul_add(av, l.load(x), l.load(y)), bv))
}

/// `x_j <- exp(x_j - shift)`; returns the sum.
#[inline(always)]
pub(crate) fn exp_shift<T: ExpConsts, L: Lanes<T>>(l: L, shift: T, x: &mut [T]) -> T {
    let (_, body) = split::<T, L>(&[x.len()]);
    let sv = l.splat(shift);
    let (xb, xr) = x.split_at_mut(body);
    let mut acc = [l.zero(); 2];
    for (k, xs) in xb.chunks_exact_mut(L::N).enumerate() {
        let e = exp(l, l.sub(l.load(xs), sv));
        l.store(e, xs);
        acc[k & 1] = l.add(acc[k & 1], e);
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
    let vectors = x[..body]
        .chunks_exact(L::N)
        .zip(y[..body].chunks_exact(L::N));
    for (k, (xs, ys)) in vectors.enumerate() {
        prefetch_ahead(&[x.as_ptr()], k * L::N);
        acc[k & 1] = l.add(acc[k & 1], term(l, av, bv, xs, ys));
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
    let mut acc = [l.zero(); 2];
    let vectors = x[..body]
        .chunks_exact(L::N)
        .zip(y[..body].chunks_exact(L::N));
    for (k, (os, (xs, ys))) in ob.chunks_exact_mut(L::N).zip(vectors).enumerate() {
        prefetch_ahead(&[x.as_ptr()], k * L::N);
        let e = term(l, av, bv, xs, ys);
        l.store(if ACCUMULATE { l.add(l.load(os), e) } else { e }, os);
        acc[k & 1] = l.add(acc[k & 1], e);
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
