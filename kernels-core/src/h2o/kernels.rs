//! The inner loops of H2O attention beyond the base primitives: the scaled
//! exponentials of an online softmax, and the products with keys and values stored as
//! `f16` or `bf16`.

use crate::storage::{axpy_stored, dot_stored};
use crate::{Primitives, Real, Scalar, Storage, bf16, f16};

/// Rows per call of the multi-row loops ([`H2oKernels::dots`],
/// [`H2oKernels::axpys`], ...): decode reads its keys and values this many at a
/// time, so that the query or the output row is loaded once for all of them.
pub const KV_ROWS: usize = 4;

/// The H2O family's loops, with the scalar reference as the default bodies. H2O runs
/// in `f32` (`P: H2oKernels<f32>`); the trait is generic like the others.
///
/// The `*_f16` and `*_bf16` loops read a row of stored keys or values and convert each
/// element to `f32` as it is loaded (exactly), so that a decode step over a half cache
/// reads half the bytes; everything else is `f32`. An implementation should add in the
/// order its `f32` `dot` and `axpy` do, so that a half cache gives the `f32` kernel's
/// result on the upcast data.
pub trait H2oKernels<T: Real>: Primitives<T> {
    /// `x_i <- exp(x_i - shift)`, returning `sum_i` of the new `x_i` (0 when empty).
    ///
    /// The scaled exponentials of an online softmax: with `shift` the running maximum
    /// every term lies in `(0, 1]`, and `x_i = -inf` gives 0. Callers pass no NaN.
    fn exp_shift(shift: T, x: &mut [T]) -> T {
        x.iter_mut().fold(T::zero(), |acc, xi| {
            *xi = (*xi - shift).exp();
            acc + *xi
        })
    }

    /// `sum_i q_i k_i` with `k` stored as `f16` (over the common length).
    fn dot_f16(q: &[f32], k: &[f16]) -> f32 {
        dot_stored(q, k)
    }

    /// `sum_i q_i k_i` with `k` stored as `bf16` (over the common length).
    fn dot_bf16(q: &[f32], k: &[bf16]) -> f32 {
        dot_stored(q, k)
    }

    /// `y <- y + a v` with `v` stored as `f16` (over the common length).
    fn axpy_f16(a: f32, v: &[f16], y: &mut [f32]) {
        axpy_stored(a, v, y);
    }

    /// `y <- y + a v` with `v` stored as `bf16` (over the common length).
    fn axpy_bf16(a: f32, v: &[bf16], y: &mut [f32]) {
        axpy_stored(a, v, y);
    }

    /// `[q . k_r]` for [`KV_ROWS`] key rows at once, each exactly as [`Primitives::dot`]
    /// computes it alone (an implementation loads `q` once for all of them).
    ///
    /// [`Primitives::dot`]: crate::Primitives::dot
    fn dots(q: &[T], k: [&[T]; KV_ROWS]) -> [T; KV_ROWS] {
        k.map(|k| Self::dot(q, k))
    }

    /// [`H2oKernels::dots`] with the keys stored as `f16`, each as `dot_f16`.
    fn dots_f16(q: &[f32], k: [&[f16]; KV_ROWS]) -> [f32; KV_ROWS] {
        k.map(|k| Self::dot_f16(q, k))
    }

    /// [`H2oKernels::dots`] with the keys stored as `bf16`, each as `dot_bf16`.
    fn dots_bf16(q: &[f32], k: [&[bf16]; KV_ROWS]) -> [f32; KV_ROWS] {
        k.map(|k| Self::dot_bf16(q, k))
    }

    /// `y <- y + a_0 v_0 + ... + a_{KV_ROWS-1} v_{KV_ROWS-1}`, added in that order: exactly
    /// [`KV_ROWS`] calls of [`Primitives::axpy`] one after the other (an implementation
    /// reads and writes `y` once).
    ///
    /// [`Primitives::axpy`]: crate::Primitives::axpy
    fn axpys(a: [T; KV_ROWS], v: [&[T]; KV_ROWS], y: &mut [T]) {
        for (a, v) in a.into_iter().zip(v) {
            Self::axpy(a, v, y);
        }
    }

    /// [`H2oKernels::axpys`] with the values stored as `f16`, as `axpy_f16` calls.
    fn axpys_f16(a: [f32; KV_ROWS], v: [&[f16]; KV_ROWS], y: &mut [f32]) {
        for (a, v) in a.into_iter().zip(v) {
            Self::axpy_f16(a, v, y);
        }
    }

    /// [`H2oKernels::axpys`] with the values stored as `bf16`, as `axpy_bf16` calls.
    fn axpys_bf16(a: [f32; KV_ROWS], v: [&[bf16]; KV_ROWS], y: &mut [f32]) {
        for (a, v) in a.into_iter().zip(v) {
            Self::axpy_bf16(a, v, y);
        }
    }
}

impl<T: Real> H2oKernels<T> for Scalar {}

/// The element type of H2O's stored keys and values (`f32`, [`f16`](struct@f16), [`bf16`]): picks
/// the loop of [`H2oKernels`] that reads it, so the attention code is written once
/// over the element type.
pub trait KvElement: Storage {
    /// `sum_i q_i k_i` (`P::dot` for `f32`, else `P::dot_f16` or `P::dot_bf16`).
    fn dot<P: H2oKernels<f32>>(q: &[f32], k: &[Self]) -> f32;

    /// `y <- y + a v` (`P::axpy` for `f32`, else `P::axpy_f16` or `P::axpy_bf16`).
    fn axpy<P: H2oKernels<f32>>(a: f32, v: &[Self], y: &mut [f32]);

    /// [`KV_ROWS`] dots at once (`P::dots`, `P::dots_f16` or `P::dots_bf16`), each
    /// equal to [`KvElement::dot`].
    fn dots<P: H2oKernels<f32>>(q: &[f32], k: [&[Self]; KV_ROWS]) -> [f32; KV_ROWS];

    /// [`KV_ROWS`] axpys at once, in order (`P::axpys`, ...), equal to as many
    /// [`KvElement::axpy`] calls.
    fn axpys<P: H2oKernels<f32>>(a: [f32; KV_ROWS], v: [&[Self]; KV_ROWS], y: &mut [f32]);
}

impl KvElement for f32 {
    #[inline]
    fn dot<P: H2oKernels<f32>>(q: &[f32], k: &[f32]) -> f32 {
        P::dot(q, k)
    }

    #[inline]
    fn axpy<P: H2oKernels<f32>>(a: f32, v: &[f32], y: &mut [f32]) {
        P::axpy(a, v, y);
    }

    #[inline]
    fn dots<P: H2oKernels<f32>>(q: &[f32], k: [&[f32]; KV_ROWS]) -> [f32; KV_ROWS] {
        P::dots(q, k)
    }

    #[inline]
    fn axpys<P: H2oKernels<f32>>(a: [f32; KV_ROWS], v: [&[f32]; KV_ROWS], y: &mut [f32]) {
        P::axpys(a, v, y);
    }
}

impl KvElement for f16 {
    #[inline]
    fn dot<P: H2oKernels<f32>>(q: &[f32], k: &[f16]) -> f32 {
        P::dot_f16(q, k)
    }

    #[inline]
    fn axpy<P: H2oKernels<f32>>(a: f32, v: &[f16], y: &mut [f32]) {
        P::axpy_f16(a, v, y);
    }

    #[inline]
    fn dots<P: H2oKernels<f32>>(q: &[f32], k: [&[f16]; KV_ROWS]) -> [f32; KV_ROWS] {
        P::dots_f16(q, k)
    }

    #[inline]
    fn axpys<P: H2oKernels<f32>>(a: [f32; KV_ROWS], v: [&[f16]; KV_ROWS], y: &mut [f32]) {
        P::axpys_f16(a, v, y);
    }
}

impl KvElement for bf16 {
    #[inline]
    fn dot<P: H2oKernels<f32>>(q: &[f32], k: &[bf16]) -> f32 {
        P::dot_bf16(q, k)
    }

    #[inline]
    fn axpy<P: H2oKernels<f32>>(a: f32, v: &[bf16], y: &mut [f32]) {
        P::axpy_bf16(a, v, y);
    }

    #[inline]
    fn dots<P: H2oKernels<f32>>(q: &[f32], k: [&[bf16]; KV_ROWS]) -> [f32; KV_ROWS] {
        P::dots_bf16(q, k)
    }

    #[inline]
    fn axpys<P: H2oKernels<f32>>(a: [f32; KV_ROWS], v: [&[bf16]; KV_ROWS], y: &mut [f32]) {
        P::axpys_bf16(a, v, y);
    }
}
