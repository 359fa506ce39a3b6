//! The inner loop of H2O attention beyond the base primitives: the scaled
//! exponentials of an online softmax.

use crate::{Primitives, Real, Scalar};

/// The H2O family's loops, with the scalar reference as the default bodies. H2O runs
/// in `f32` (`P: H2oKernels<f32>`); the trait is generic like the others.
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
}

impl<T: Real> H2oKernels<T> for Scalar {}
