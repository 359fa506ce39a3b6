//! The documented bounds on `|simd - scalar|`, as functions, so the tests and the
//! tour check exactly what the crate docs promise.

use kernels_core::Real;

/// Unit roundoff of `T` (half the machine epsilon).
fn unit<T: Real>() -> T {
    T::epsilon() / T::of(2.0)
}

/// `dot`, `sum`, `gemv` (per row), `gemv_t` (per column) over `n` terms whose absolute
/// values sum to `sum_abs`: `2 (n + 2) u sum_abs`.
pub fn reduction<T: Real>(n: usize, sum_abs: T) -> T {
    T::of(2.0 * (n as f64 + 2.0)) * unit::<T>() * sum_abs
}

/// `axpy`, per element with `a x_i` and `y_i`: `2u (|a x_i| + |y_i|)`.
pub fn axpy<T: Real>(ax: T, y: T) -> T {
    T::of(2.0) * unit::<T>() * (ax.abs() + y.abs())
}

/// `lse` and `lse_accumulate` over `n` terms: `4 (n + 4) u + 2u |result|`.
///
/// Each term carries the exponential's error (a few ulp) and, in the online form,
/// one rescaling per new maximum; the sum's relative error becomes the result's
/// absolute error through the logarithm.
pub fn lse<T: Real>(n: usize, result: T) -> T {
    let u = unit::<T>();
    T::of(4.0 * (n as f64 + 4.0)) * u + T::of(2.0) * u * result.abs()
}

// sor bounds

/// `csr_row_split`: the off-diagonal sum of `n` terms is a reduction
/// ([`reduction`]); the diagonal value is returned exactly. `rb_row` is identical
/// to the scalar reference (bound 0).
pub fn csr_row_split<T: Real>(n: usize, sum_abs: T) -> T {
    reduction(n, sum_abs)
}
