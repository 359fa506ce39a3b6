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

// h2o primitives

/// `exp_shift`, per element with the scalar result `e`: `8u |e|` plus the smallest
/// normal number (the SIMD exponential is within 2 ulp, libm's within 1, and results
/// that underflow are compared in absolute terms).
pub fn exp_shift_element<T: Real>(e: T) -> T {
    T::of(8.0) * unit::<T>() * e.abs() + T::min_positive_value()
}

/// `exp_shift`, the returned sum of `n` terms totalling `sum`: the reduction bound
/// plus the elements' own error.
pub fn exp_shift_sum<T: Real>(n: usize, sum: T) -> T {
    reduction(n, sum)
        + T::of(8.0) * unit::<T>() * sum.abs()
        + T::of(n as f64) * T::min_positive_value()
}

// sinkhorn primitives

/// `lse_affine` over `n` terms whose arguments are at most `arg_abs` in absolute
/// value (`arg_abs = max_j |alpha x_j| + |y_j|`): the [`lse`] bound plus
/// `4u arg_abs`, because the arguments themselves round (fused or not) by up to
/// `2u arg_abs` on each side.
pub fn lse_affine<T: Real>(n: usize, result: T, arg_abs: T) -> T {
    lse(n, result) + T::of(4.0) * unit::<T>() * arg_abs
}

/// `exp_affine`, per element with the result `value` and `arg_abs = |alpha x_j| +
/// |y_j| + |beta|`: `value (8u + 6u arg_abs)` plus four of the smallest subnormal.
/// The vector exponential is within 2 ulp (f32) or 3 ulp (f64) and libm within 1,
/// counted in representable values (so absolute in the subnormal range); each
/// argument rounds up to twice, and an absolute argument error `d` is a relative
/// result error of about `d`.
pub fn exp_affine<T: Real>(value: T, arg_abs: T) -> T {
    let u = unit::<T>();
    let tiny = T::min_positive_value() * T::epsilon();
    value.abs() * (T::of(8.0) * u + T::of(6.0) * u * arg_abs) + T::of(4.0) * tiny
}

/// `sum_exp_affine` over `n` terms with the result `value` and `arg_abs = max_j
/// |alpha x_j| + |y_j| + |beta|`: the [`exp_affine`] bound on each term plus the
/// summation, `value (2(n + 2)u + 8u + 6u arg_abs) + 4n` smallest subnormals.
pub fn sum_exp_affine<T: Real>(n: usize, value: T, arg_abs: T) -> T {
    let tiny = T::min_positive_value() * T::epsilon();
    reduction(n, value) + exp_affine(value, arg_abs) + T::of(4.0 * n as f64) * tiny
}

// linattn bounds

/// `gemm`, per element of `C` with inner dimension `k`, the old value `c` and
/// `sum_abs = sum_p |alpha a_ip w_p b_pj|`: `2 (k + 4) u (|c| + sum_abs)`.
///
/// Both orders are sums of `k + 1` rounded terms (the weight and `alpha` are applied
/// at different places, a few extra roundings per term).
pub fn gemm<T: Real>(k: usize, c: T, sum_abs: T) -> T {
    T::of(2.0 * (k as f64 + 4.0)) * unit::<T>() * (c.abs() + sum_abs)
}

/// `scale_exp`, per element with the scalar result `x`: `10u |x|` plus the smallest
/// normal number (the exponential's error as in [`exp_shift_element`] and the two
/// products' roundings).
pub fn scale_exp_element<T: Real>(x: T) -> T {
    T::of(10.0) * unit::<T>() * x.abs() + T::min_positive_value()
}

// sor bounds

/// `csr_row_split`: the off-diagonal sum of `n` terms is a reduction
/// ([`reduction`]); the diagonal value is returned exactly. `rb_row` is identical
/// to the scalar reference (bound 0).
pub fn csr_row_split<T: Real>(n: usize, sum_abs: T) -> T {
    reduction(n, sum_abs)
}

// cg bounds

/// `csr_dot` over a row of `n` entries with `sum_abs = sum_k |a_k x_k|`: a
/// [`reduction`] (0 today: the SIMD form is the scalar loop).
pub fn csr_dot<T: Real>(n: usize, sum_abs: T) -> T {
    reduction(n, sum_abs)
}

/// The sum of squares `cg_update` returns, over `n` elements: the [`reduction`]
/// bound on `rr = sum_i r_i^2` plus `spread = sum_i e_i (2 |r_i| + e_i)`, where `e_i`
/// is the [`axpy`] bound of element `i` of the new `r` (with `a x_i = alpha q_i` and
/// the old `r_i`): the two backends square slightly different residuals, and
/// `|s^2 - v^2| <= e (2 |s| + e)` when `|s - v| <= e`. The updated `x` and `r` are
/// within the [`axpy`] bound per element.
pub fn cg_update_sum<T: Real>(n: usize, rr: T, spread: T) -> T {
    reduction(n, rr) + spread
}
