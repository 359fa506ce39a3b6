//! Shared helpers for the cross-crate tests and the tour: deterministic test data, and
//! the checks the fuzz targets run ([`fuzz`]).
//!
//! The data comes from a fixed linear congruential generator, so every test and every
//! tour run sees the same numbers without a random-number dependency.

pub mod fuzz;

use kernels_core::Real;

pub mod ot_data;
pub mod paging_data;

/// `n` values uniform in `[-scale, scale)`, the same for the same seed.
pub fn uniform<T: Real>(n: usize, seed: u64, scale: f64) -> Vec<T> {
    let mut s = seed ^ 0x9e37_79b9_7f4a_7c15;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let unit = (s >> 11) as f64 / (1u64 << 53) as f64;
            T::of((unit * 2.0 - 1.0) * scale)
        })
        .collect()
}

/// Rounds `f64` values to `T`.
pub fn cast<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::of(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_deterministic_and_in_range() {
        let a = uniform::<f64>(1000, 7, 2.0);
        assert_eq!(a, uniform::<f64>(1000, 7, 2.0));
        assert_ne!(a, uniform::<f64>(1000, 8, 2.0));
        assert!(a.iter().all(|v| (-2.0..2.0).contains(v)));
        let mean = a.iter().sum::<f64>() / 1000.0;
        assert!(mean.abs() < 0.2, "mean {mean}");
    }
}
