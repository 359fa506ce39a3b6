//! Argument checks both solvers share, in the order every kernel reports them:
//! sizes, workspace, options, finiteness, then value ranges. Public so that other
//! backends (CUDA) validate exactly as the host solvers do.

use crate::{Dense, Error, Real, Result, WorkspaceSize, check_finite, checked_product};

/// [`Error::Dimension`] unless the matrix is nonempty and every vector has the
/// length its side of the matrix implies.
pub fn dims<T>(mat: Dense<'_, T>, rows: &[&[T]], cols: &[&[T]]) -> Result<()> {
    let (n, m) = (mat.rows(), mat.cols());
    let ok =
        n > 0 && m > 0 && rows.iter().all(|r| r.len() == n) && cols.iter().all(|c| c.len() == m);
    if ok { Ok(()) } else { Err(Error::Dimension) }
}

/// [`Error::Dimension`] unless an `n x m` matrix of `T` can exist: both sizes nonzero
/// and its byte count representable. The workspace queries check it although their
/// own workspace is only `O(n + m)`, so that no query answers for a problem whose
/// matrix cannot be passed.
pub fn matrix_size<T: Real>(n: usize, m: usize) -> Result<()> {
    if n == 0 || m == 0 {
        return Err(Error::Dimension);
    }
    WorkspaceSize::new().array::<T>(checked_product(&[n, m])?)?;
    Ok(())
}

/// [`Error::NonFinite`] if any of the arrays holds NaN or infinity.
pub fn finite<T: Real>(arrays: &[&[T]]) -> Result<()> {
    arrays.iter().try_for_each(|x| check_finite(x))
}

/// [`Error::Argument`] unless `a` and `b` are positive with equal sums (relative
/// `1e-6` in `f32`, `1e-12` in `f64`). Values must be finite (checked before).
pub fn marginals<T: Real>(a: &[T], b: &[T]) -> Result<()> {
    positive(a, b)?;
    let (sa, sb) = (accurate_sum(a), accurate_sum(b));
    let rel = if T::epsilon().to_f64_lossless() > 1e-10 {
        1e-6
    } else {
        1e-12
    };
    if (sa - sb).abs() <= rel * sa.max(sb) {
        Ok(())
    } else {
        Err(Error::Argument)
    }
}

/// [`Error::Argument`] unless every entry of `a` and `b` is positive (the
/// marginals of unbalanced transport, whose sums may differ).
pub fn positive<T: Real>(a: &[T], b: &[T]) -> Result<()> {
    let positive = |x: &[T]| x.iter().all(|&v| v > T::zero());
    if positive(a) && positive(b) {
        Ok(())
    } else {
        Err(Error::Argument)
    }
}

/// `reg` as `T`, or [`Error::Numerical`] when `max|C| / reg` or `1 / reg` is not
/// representable in `T` (see [`regularisation_of`]). `C` is finite.
pub(crate) fn regularisation<T: Real>(c: Dense<'_, T>, reg: f64) -> Result<T> {
    let c_max = c.data().iter().fold(T::zero(), |mx, v| mx.max(v.abs()));
    regularisation_of(c_max, reg)
}

/// `reg` as `T`, or [`Error::Numerical`] when `c_max / reg` (`c_max`: `max|C|` or a
/// bound of it) or `1 / reg` is not representable in `T` (the log-domain iteration
/// divides by it). `reg` is positive and finite (checked with the options before);
/// `c_max` is not NaN.
pub(crate) fn regularisation_of<T: Real>(c_max: T, reg: f64) -> Result<T> {
    let eps = T::of(reg);
    if eps > T::zero() && (c_max / eps).is_finite() && eps.recip().is_finite() {
        Ok(eps)
    } else {
        Err(Error::Numerical)
    }
}

/// Neumaier-compensated sum in `f64`: the equal-sums test must not fail on a long
/// vector because of its own rounding.
fn accurate_sum<T: Real>(x: &[T]) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for v in x {
        let v = v.to_f64_lossless();
        let t = s + v;
        c += if s.abs() >= v.abs() {
            (s - t) + v
        } else {
            (v - t) + s
        };
        s = t;
    }
    s + c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_must_agree() {
        assert!(marginals(&[0.5f64, 0.5], &[0.25, 0.75]).is_ok());
        assert_eq!(
            marginals(&[0.5f64, 0.5], &[0.25, 0.7]).unwrap_err(),
            Error::Argument
        );
        assert_eq!(
            marginals(&[0.5f64, 0.0], &[0.25, 0.25]).unwrap_err(),
            Error::Argument
        );
        // f32 tolerates its own rounding.
        assert!(marginals(&[0.1f32; 10], &[0.5f32, 0.5]).is_ok());
    }

    #[test]
    fn compensated_sum_is_exact_on_cancellation() {
        assert_eq!(accurate_sum(&[1e16f64, 1.0, -1e16]), 1.0);
    }
}
