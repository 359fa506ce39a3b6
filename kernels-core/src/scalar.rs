//! The plain scalar implementation: every kernel trait's default bodies, the
//! reference every faster implementation is tested against and the fallback on any
//! target.

use crate::{Primitives, Real};

/// Scalar primitives: one element at a time, summing left to right.
///
/// Products and sums are separate roundings (no `mul_add`): without a hardware FMA
/// `mul_add` becomes a slow software call, and this is the loop a C programmer would
/// write, which makes it the honest baseline for speedups.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scalar;

impl<T: Real> Primitives<T> for Scalar {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dense;

    type S = Scalar;

    #[test]
    fn small_closed_forms() {
        let x = [1.0f64, 2.0, 3.0];
        let y = [4.0f64, -5.0, 6.0];
        assert_eq!(<S as Primitives<f64>>::dot(&x, &y), 12.0);
        assert_eq!(<S as Primitives<f64>>::sum(&x), 6.0);
        assert_eq!(<S as Primitives<f64>>::max(&y), 6.0);
        assert_eq!(<S as Primitives<f64>>::max(&[]), f64::NEG_INFINITY);
        let mut z = y;
        <S as Primitives<f64>>::axpy(2.0, &x, &mut z);
        assert_eq!(z, [6.0, -1.0, 12.0]);
        <S as Primitives<f64>>::scale(0.5, &mut z);
        assert_eq!(z, [3.0, -0.5, 6.0]);
    }

    #[test]
    fn lse_is_stable_and_handles_infinities() {
        let lse = <S as Primitives<f64>>::lse;
        assert!((lse(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert!((lse(&[-1000.0, -1000.0]) - (-1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(lse(&[]), f64::NEG_INFINITY);
        assert_eq!(lse(&[f64::NEG_INFINITY; 3]), f64::NEG_INFINITY);
        assert_eq!(lse(&[0.0, f64::INFINITY]), f64::INFINITY);
        assert!((lse(&[0.0, f64::NEG_INFINITY]) - 0.0).abs() < 1e-15);
    }

    #[test]
    fn gemv_and_transpose() {
        let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let a = Dense::new(&a, 2, 3).unwrap();
        let mut y = [0.0f32; 2];
        <S as Primitives<f32>>::gemv(a, &[1.0, 0.0, -1.0], &mut y);
        assert_eq!(y, [-2.0, -2.0]);
        let mut z = [9.0f32; 3];
        <S as Primitives<f32>>::gemv_t(a, &[1.0, -1.0], &mut z);
        assert_eq!(z, [-3.0, -3.0, -3.0]);
    }
}
