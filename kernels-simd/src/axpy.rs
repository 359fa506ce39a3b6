//! `y += a x`, written once against [`Lanes`].

use crate::lanes::{Element, Lanes, split};
use num_traits::Float;

/// `y += a x`.
#[inline(always)]
pub(crate) fn axpy<T: Element + Float, L: Lanes<T>>(l: L, a: T, x: &[T], y: &mut [T]) {
    let (n, body) = split::<T, L>(&[x.len(), y.len()]);
    let av = l.splat(a);
    let (yb, yr) = y[..n].split_at_mut(body);
    for (ys, xs) in yb.chunks_exact_mut(L::N).zip(x[..body].chunks_exact(L::N)) {
        l.store(l.mul_add(av, l.load(xs), l.load(ys)), ys);
    }
    for (yi, &xi) in yr.iter_mut().zip(&x[body..n]) {
        *yi = *yi + a * xi;
    }
}
