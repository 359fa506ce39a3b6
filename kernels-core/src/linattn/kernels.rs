//! The inner loops of chunked linear attention beyond the base primitives (`gemm`,
//! `scale`, `axpy`): the weights of a gated chunk's causal mask.

use crate::{Primitives, Real, Scalar};

/// The linear-attention family's loops, with the scalar reference as the default
/// bodies.
pub trait LinattnKernels<T: Real>: Primitives<T> {
    /// `x_j <- x_j * (factor * exp(e_j))`: one row of a gated chunk's causal mask
    /// `scale exp(G_i - G_j)` applied to its scores. Callers pass exponents `e_j <= 0`
    /// (no NaN), so every weight lies in `[0, factor]`.
    fn scale_exp(factor: T, e: &[T], x: &mut [T]) {
        debug_assert_eq!(e.len(), x.len());
        for (xi, &ei) in x.iter_mut().zip(e) {
            *xi = *xi * (factor * ei.exp());
        }
    }
}

impl<T: Real> LinattnKernels<T> for Scalar {}
