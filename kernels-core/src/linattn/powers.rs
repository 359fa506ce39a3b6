//! Powers of the decay, accurate for any exponent.

use crate::Real;
use num_traits::Float;

/// `factor * g^n`, evaluated as `factor * exp(n ln g)` in `f64` and rounded once;
/// results below the smallest normal value of `T` are flushed to zero.
///
/// `g` is a validated decay in `(0, 1]`; `g = 1` gives `factor` exactly.
pub(super) fn scaled_power<T: Real>(factor: T, g: T, n: usize) -> T {
    let g64 = g.to_f64_lossless();
    if g64 == 1.0 {
        return factor;
    }
    let p = T::of(factor.to_f64_lossless() * Float::exp(n as f64 * Float::ln(g64)));
    if p.abs() < T::min_positive_value() {
        T::zero()
    } else {
        p
    }
}

/// `g^n` for a decay `g` in `(0, 1]` (see `scaled_power` for the evaluation).
pub fn power<T: Real>(g: T, n: usize) -> T {
    scaled_power(T::one(), g, n)
}

/// `out[n] = factor * g^n` for every index of `out`.
pub(super) fn fill_powers<T: Real>(g: T, factor: T, out: &mut [T]) {
    for (n, x) in out.iter_mut().enumerate() {
        *x = scaled_power(factor, g, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn powers_are_exact_where_they_can_be_and_flush_underflow() {
        assert_eq!(power(1.0f32, 1_000_000), 1.0);
        assert_eq!(power(0.5f32, 0), 1.0);
        assert_eq!(power(0.5f32, 10), 1.0 / 1024.0);
        assert_eq!(power(0.5f64, 1074), 0.0); // subnormal in f64: flushed
        assert_eq!(power(0.5f32, 126), f32::MIN_POSITIVE);
        assert_eq!(power(0.5f32, 127), 0.0);
        // Repeated products would drift: 0.999^10000 to full f32 precision.
        let want = (10_000.0 * 0.999f32.to_f64_lossless().ln()).exp();
        assert!((f64::from(power(0.999f32, 10_000)) - want).abs() <= 1e-7 * want);
        let mut t = [0.0f32; 4];
        fill_powers(0.5, 3.0, &mut t);
        assert_eq!(t, [3.0, 1.5, 0.75, 0.375]);
    }
}
