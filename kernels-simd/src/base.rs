//! The base primitives' vector loops (`dot`, `axpy`, `scale`, `sum`, `max`, `lse`,
//! `gemv`, `gemv_t`), written once against [`Lanes`].
//!
//! The reductions keep [`ACC`] accumulators in flight over blocks of `ACC` vectors,
//! add the vectors left after the last block to the first accumulators, combine the
//! four as `(a0 + a1) + (a2 + a3)`, reduce the lanes and add the scalar tail.

use crate::lanes::{Element, Lanes, Load, prefetch_ahead, split};
use crate::math::{ExpConsts, exp};
use kernels_core::Dense;
use num_traits::Float;

/// Independent accumulators in the reductions: enough to cover the add latency.
pub(crate) const ACC: usize = 4;

/// Blocks of [`ACC`] vectors per trip of an unrolled reduction loop.
const UNROLL: usize = 4;

/// For a common length `n`: where the blocks of [`ACC`] vectors end, and where the
/// whole vectors end.
#[inline(always)]
pub(crate) fn block_ends<T: Element, L: Lanes<T>>(n: usize) -> (usize, usize) {
    (n - n % (ACC * L::N), n - n % L::N)
}

/// The [`ACC`] accumulators combined into one vector.
#[inline(always)]
pub(crate) fn combine<T: Element, L: Lanes<T>>(l: L, acc: [L::V; ACC]) -> L::V {
    l.add(l.add(acc[0], acc[1]), l.add(acc[2], acc[3]))
}

/// `sum_i x_i y_i`.
#[inline(always)]
pub(crate) fn dot<T: Element + Float, L: Lanes<T>>(l: L, x: &[T], y: &[T]) -> T {
    let [d] = dots(l, [x], y);
    d
}

/// `sum_i r_i y_i` for each of the `R` vectors `r` in `rows`, with `y` loaded once for
/// all of them. Each dot is computed exactly as a lone [`dot`] computes it (the same
/// operations in the same order), so the result does not depend on `R`. The rows may
/// be stored narrower than `T` (`f16`, `bf16` rows against an `f32` `y`): each element
/// is converted as it is loaded, and the arithmetic is [`dot`]'s on the converted rows.
#[inline(always)]
pub(crate) fn dots<T: Element + Float, L: Lanes<T>, X: Load<T, L>, const R: usize>(
    l: L,
    rows: [&[X]; R],
    y: &[T],
) -> [T; R] {
    let n = y.len();
    debug_assert!(rows.iter().all(|r| r.len() == n), "operand lengths differ");
    let rows = rows.map(|r| &r[..n]);
    let (blocks, vectors) = block_ends::<T, L>(n);
    let mut acc = [[l.zero(); ACC]; R];
    // The blocks in groups of UNROLL, then one by one: the same operations in the same
    // order, with the loop unrolled by hand (operands that are not 64-byte aligned load
    // slower rolled at AVX-512; LLVM unrolls this way only when tuned for the CPU).
    let grouped = blocks - blocks % (UNROLL * ACC * L::N);
    for group in (0..grouped).step_by(UNROLL * ACC * L::N) {
        for b in 0..UNROLL {
            dots_block(l, &mut acc, &rows, y, group + b * ACC * L::N);
        }
    }
    for at in (grouped..blocks).step_by(ACC * L::N) {
        dots_block(l, &mut acc, &rows, y, at);
    }
    for (k, i) in (blocks..vectors).step_by(L::N).enumerate() {
        let yk = l.load(&y[i..i + L::N]);
        for (a, r) in acc.iter_mut().zip(&rows) {
            a[k] = l.mul_add(X::load(l, &r[i..i + L::N]), yk, a[k]);
        }
    }
    let mut out = [T::zero(); R];
    for ((o, a), r) in out.iter_mut().zip(acc).zip(&rows) {
        *o = r[vectors..]
            .iter()
            .zip(&y[vectors..])
            .fold(l.reduce_add(combine(l, a)), |s, (&a, &b)| s + a.get() * b);
    }
    out
}

/// One block of [`dots`]: `ACC` vectors of every row at element `at`. A function, not
/// a closure: a closure is not inlined for certain, and one left out of line loses the
/// caller's instruction set (its intrinsics become calls; the half loads made LLVM
/// decline to inline it, and half-precision decode ran 7x slower than `f32`).
#[inline(always)]
fn dots_block<T: Element + Float, L: Lanes<T>, X: Load<T, L>, const R: usize>(
    l: L,
    acc: &mut [[L::V; ACC]; R],
    rows: &[&[X]; R],
    y: &[T],
    at: usize,
) {
    for k in 0..ACC {
        let i = at + k * L::N;
        let yk = l.load(&y[i..i + L::N]);
        for (a, r) in acc.iter_mut().zip(rows) {
            a[k] = l.mul_add(X::load(l, &r[i..i + L::N]), yk, a[k]);
        }
    }
}

/// `y += a x`, `x` possibly stored narrower than `T` (converted as it is loaded).
#[inline(always)]
pub(crate) fn axpy<T: Element + Float, L: Lanes<T>, X: Load<T, L>>(
    l: L,
    a: T,
    x: &[X],
    y: &mut [T],
) {
    let (n, body) = split::<T, L>(&[x.len(), y.len()]);
    let av = l.splat(a);
    let (yb, yr) = y[..n].split_at_mut(body);
    for (ys, xs) in yb.chunks_exact_mut(L::N).zip(x[..body].chunks_exact(L::N)) {
        l.store(l.mul_add(av, X::load(l, xs), l.load(ys)), ys);
    }
    for (yi, &xi) in yr.iter_mut().zip(&x[body..n]) {
        *yi = *yi + a * xi.get();
    }
}

/// `y += a_0 x_0 + ... + a_{R-1} x_{R-1}`, element by element in that order: exactly
/// `R` calls of [`axpy`] one after the other (the same operations in the same order),
/// with `y` loaded and stored once per vector instead of `R` times.
#[inline(always)]
pub(crate) fn axpys<T: Element + Float, L: Lanes<T>, X: Load<T, L>, const R: usize>(
    l: L,
    a: [T; R],
    x: [&[X]; R],
    y: &mut [T],
) {
    debug_assert!(
        x.iter().all(|x| x.len() == y.len()),
        "operand lengths differ"
    );
    let n = x.iter().fold(y.len(), |n, x| n.min(x.len()));
    let (n, body) = split::<T, L>(&[n]);
    let av = a.map(|a| l.splat(a));
    let (yb, yr) = y[..n].split_at_mut(body);
    for (i, ys) in (0..body).step_by(L::N).zip(yb.chunks_exact_mut(L::N)) {
        let mut acc = l.load(ys);
        for (ar, xr) in av.iter().zip(&x) {
            acc = l.mul_add(*ar, X::load(l, &xr[i..i + L::N]), acc);
        }
        l.store(acc, ys);
    }
    for (i, yi) in (body..n).zip(yr) {
        for (&ar, xr) in a.iter().zip(&x) {
            *yi = *yi + ar * xr[i].get();
        }
    }
}

/// `x *= a`.
#[inline(always)]
pub(crate) fn scale<T: Element + Float, L: Lanes<T>>(l: L, a: T, x: &mut [T]) {
    let (_, body) = split::<T, L>(&[x.len()]);
    let av = l.splat(a);
    let (xb, xr) = x.split_at_mut(body);
    for xs in xb.chunks_exact_mut(L::N) {
        l.store(l.mul(l.load(xs), av), xs);
    }
    for xi in xr {
        *xi = *xi * a;
    }
}

/// `sum_i x_i`.
#[inline(always)]
pub(crate) fn sum<T: Element + Float, L: Lanes<T>>(l: L, x: &[T]) -> T {
    let (blocks, vectors) = block_ends::<T, L>(x.len());
    let mut acc = [l.zero(); ACC];
    for (blk, xs) in x[..blocks].chunks_exact(ACC * L::N).enumerate() {
        prefetch_ahead(&[x.as_ptr()], blk * ACC * L::N);
        for (a, xk) in acc.iter_mut().zip(xs.chunks_exact(L::N)) {
            *a = l.add(*a, l.load(xk));
        }
    }
    for (a, xk) in acc.iter_mut().zip(x[blocks..vectors].chunks_exact(L::N)) {
        *a = l.add(*a, l.load(xk));
    }
    x[vectors..]
        .iter()
        .fold(l.reduce_add(combine(l, acc)), |s, &v| s + v)
}

/// `max_i x_i` (inputs hold no NaN, documented on the trait: `Lanes::max` is one
/// instruction and may return either operand for NaN).
#[inline(always)]
pub(crate) fn max<T: Element + Float, L: Lanes<T>>(l: L, x: &[T]) -> T {
    let (blocks, vectors) = block_ends::<T, L>(x.len());
    let mut acc = [l.splat(T::neg_infinity()); ACC];
    for xs in x[..blocks].chunks_exact(ACC * L::N) {
        for (a, xk) in acc.iter_mut().zip(xs.chunks_exact(L::N)) {
            *a = l.max(*a, l.load(xk));
        }
    }
    for (a, xk) in acc.iter_mut().zip(x[blocks..vectors].chunks_exact(L::N)) {
        *a = l.max(*a, l.load(xk));
    }
    let m = l.max(l.max(acc[0], acc[1]), l.max(acc[2], acc[3]));
    x[vectors..]
        .iter()
        .fold(l.reduce_max(m), |m, &v| if v > m { v } else { m })
}

/// `log sum_i exp(x_i)`, max-shifted.
#[inline(always)]
pub(crate) fn lse<T: ExpConsts, L: Lanes<T>>(l: L, x: &[T]) -> T {
    let m = max(l, x);
    if !m.is_finite() {
        // All -inf (or empty): -inf. Some +inf: +inf. Shifting would give NaN.
        return m;
    }
    let (_, body) = split::<T, L>(&[x.len()]);
    let mv = l.splat(m);
    let mut acc = l.zero();
    for xs in x[..body].chunks_exact(L::N) {
        acc = l.add(acc, exp(l, l.sub(l.load(xs), mv)));
    }
    let s = x[body..]
        .iter()
        .fold(l.reduce_add(acc), |s, &v| s + (v - m).exp());
    m + s.ln()
}

/// `y = A x`: a [`dot`] per row.
#[inline(always)]
pub(crate) fn gemv<T: Element + Float, L: Lanes<T>>(l: L, a: Dense<'_, T>, x: &[T], y: &mut [T]) {
    debug_assert!(x.len() == a.cols() && y.len() == a.rows());
    // Rows in pairs where the accumulators of two fit the registers (not where `wide`
    // spreads a vector over two registers): x is loaded once per pair, and two rows'
    // reductions overlap. The same bits either way (see `dots`).
    if L::REGISTER_LANES == L::N {
        let mut rows = a.row_iter();
        let mut ys = y.chunks_exact_mut(2);
        for pair in ys.by_ref() {
            let (r0, r1) = (rows.next(), rows.next());
            if let (Some(r0), Some(r1)) = (r0, r1) {
                let [d0, d1] = dots(l, [r0, r1], x);
                pair[0] = d0;
                pair[1] = d1;
            }
        }
        if let (Some(yi), Some(row)) = (ys.into_remainder().first_mut(), rows.next()) {
            *yi = dot(l, row, x);
        }
        return;
    }
    for (yi, row) in y.iter_mut().zip(a.row_iter()) {
        *yi = dot(l, row, x);
    }
}

/// `y = A^T x`: an [`axpy`] per row.
#[inline(always)]
pub(crate) fn gemv_t<T: Element + Float, L: Lanes<T>>(l: L, a: Dense<'_, T>, x: &[T], y: &mut [T]) {
    debug_assert!(x.len() == a.rows() && y.len() == a.cols());
    y.fill(T::zero());
    // Rows in pairs where a vector is one register: each element of y still receives
    // row i's term, then row i + 1's (the same operations in the same order as one
    // axpy per row), but y is loaded and stored once per pair.
    if L::REGISTER_LANES == L::N {
        let mut rows = a.row_iter();
        let mut xs = x.chunks_exact(2);
        for pair in xs.by_ref() {
            if let (Some(r0), Some(r1)) = (rows.next(), rows.next()) {
                axpy2(l, (pair[0], r0), (pair[1], r1), y);
            }
        }
        if let (Some(&xi), Some(row)) = (xs.remainder().first(), rows.next()) {
            axpy(l, xi, row, y);
        }
        return;
    }
    for (&xi, row) in x.iter().zip(a.row_iter()) {
        axpy(l, xi, row, y);
    }
}

/// `y += a0 x0` then `y += a1 x1`, element by element in one pass.
#[inline(always)]
fn axpy2<T: Element + Float, L: Lanes<T>>(
    l: L,
    (a0, x0): (T, &[T]),
    (a1, x1): (T, &[T]),
    y: &mut [T],
) {
    let (n, body) = split::<T, L>(&[x0.len(), x1.len(), y.len()]);
    let (av0, av1) = (l.splat(a0), l.splat(a1));
    let (yb, yr) = y[..n].split_at_mut(body);
    let vs = x0[..body]
        .chunks_exact(L::N)
        .zip(x1[..body].chunks_exact(L::N));
    for (ys, (v0, v1)) in yb.chunks_exact_mut(L::N).zip(vs) {
        let once = l.mul_add(av0, l.load(v0), l.load(ys));
        l.store(l.mul_add(av1, l.load(v1), once), ys);
    }
    for ((yi, &u), &v) in yr.iter_mut().zip(&x0[body..n]).zip(&x1[body..n]) {
        *yi = (*yi + a0 * u) + a1 * v;
    }
}
