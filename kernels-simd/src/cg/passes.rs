//! The fused vector passes of CG, written once against [`Lanes`]. Each streams its
//! operands once, prefetching them [`AHEAD_BYTES`](crate::lanes::AHEAD_BYTES) ahead.

use kernels_core::cg::CgKernels;
use kernels_core::{Real, Scalar};

use crate::base::{ACC, block_ends, combine};
use crate::lanes::{Element, Lanes, prefetch_ahead, split};

/// `x += alpha p`, `r -= alpha q`, returning `sum_i r_i^2` (`CgKernels::cg_update`).
#[inline(always)]
pub(crate) fn cg_update<T: Element + Real, L: Lanes<T>>(
    l: L,
    alpha: T,
    p: &[T],
    q: &[T],
    x: &mut [T],
    r: &mut [T],
) -> T {
    let (n, _) = split::<T, L>(&[p.len(), q.len(), x.len(), r.len()]);
    let (blocks, vectors) = block_ends::<T, L>(n);
    let (av, nav) = (l.splat(alpha), l.splat(-alpha));
    let streams = [p.as_ptr(), q.as_ptr(), x.as_ptr(), r.as_ptr()];
    // One vector of the update; returns the new r.
    let update = |ps: &[T], qs: &[T], xs: &mut [T], rs: &mut [T]| {
        l.store(l.mul_add(av, l.load(ps), l.load(xs)), xs);
        let rk = l.mul_add(nav, l.load(qs), l.load(rs));
        l.store(rk, rs);
        rk
    };
    let mut acc = [l.zero(); ACC];
    let rows = p[..blocks]
        .chunks_exact(ACC * L::N)
        .zip(q[..blocks].chunks_exact(ACC * L::N))
        .zip(x[..blocks].chunks_exact_mut(ACC * L::N))
        .zip(r[..blocks].chunks_exact_mut(ACC * L::N));
    for (blk, (((ps, qs), xs), rs)) in rows.enumerate() {
        prefetch_ahead(&streams, blk * ACC * L::N);
        let vs = ps
            .chunks_exact(L::N)
            .zip(qs.chunks_exact(L::N))
            .zip(xs.chunks_exact_mut(L::N))
            .zip(rs.chunks_exact_mut(L::N));
        for (acc_k, (((pk, qk), xk), rk)) in acc.iter_mut().zip(vs) {
            let rk = update(pk, qk, xk, rk);
            *acc_k = l.mul_add(rk, rk, *acc_k);
        }
    }
    let mut tail = l.zero();
    let vs = p[blocks..vectors]
        .chunks_exact(L::N)
        .zip(q[blocks..vectors].chunks_exact(L::N))
        .zip(x[blocks..vectors].chunks_exact_mut(L::N))
        .zip(r[blocks..vectors].chunks_exact_mut(L::N));
    for (((pk, qk), xk), rk) in vs {
        let rk = update(pk, qk, xk, rk);
        tail = l.mul_add(rk, rk, tail);
    }
    l.reduce_add(l.add(combine(l, acc), tail))
        + <Scalar as CgKernels<T>>::cg_update(
            alpha,
            &p[vectors..n],
            &q[vectors..n],
            &mut x[vectors..n],
            &mut r[vectors..n],
        )
}

/// `z = d r` (per element), returning `sum_i r_i z_i` (`CgKernels::mul_dot`).
#[inline(always)]
pub(crate) fn mul_dot<T: Element + Real, L: Lanes<T>>(l: L, d: &[T], r: &[T], z: &mut [T]) -> T {
    let (n, _) = split::<T, L>(&[d.len(), r.len(), z.len()]);
    let (blocks, _) = block_ends::<T, L>(n);
    let streams = [d.as_ptr(), r.as_ptr()];
    let mut acc = [l.zero(); ACC];
    let rows = d[..blocks]
        .chunks_exact(ACC * L::N)
        .zip(r[..blocks].chunks_exact(ACC * L::N))
        .zip(z[..blocks].chunks_exact_mut(ACC * L::N));
    for (blk, ((ds, rs), zs)) in rows.enumerate() {
        prefetch_ahead(&streams, blk * ACC * L::N);
        let vs = ds
            .chunks_exact(L::N)
            .zip(rs.chunks_exact(L::N))
            .zip(zs.chunks_exact_mut(L::N));
        for (acc_k, ((dk, rk), zk)) in acc.iter_mut().zip(vs) {
            let rv = l.load(rk);
            let zv = l.mul(l.load(dk), rv);
            l.store(zv, zk);
            *acc_k = l.mul_add(rv, zv, *acc_k);
        }
    }
    l.reduce_add(combine(l, acc))
        + <Scalar as CgKernels<T>>::mul_dot(&d[blocks..n], &r[blocks..n], &mut z[blocks..n])
}

/// `p = z + beta p` (`CgKernels::xpby`).
#[inline(always)]
pub(crate) fn xpby<T: Element + Real, L: Lanes<T>>(l: L, z: &[T], beta: T, p: &mut [T]) {
    let (n, body) = split::<T, L>(&[z.len(), p.len()]);
    let bv = l.splat(beta);
    let streams = [z.as_ptr(), p.as_ptr()];
    let vs = p[..body]
        .chunks_exact_mut(L::N)
        .zip(z[..body].chunks_exact(L::N));
    for (k, (ps, zs)) in vs.enumerate() {
        prefetch_ahead(&streams, k * L::N);
        l.store(l.mul_add(bv, l.load(ps), l.load(zs)), ps);
    }
    <Scalar as CgKernels<T>>::xpby(&z[body..n], beta, &mut p[body..n]);
}
