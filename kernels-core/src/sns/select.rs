//! Keeping the largest entries of the plan, without allocation.
//!
//! The entries are nonnegative, so the bit patterns of their `f64` values order
//! them. A histogram of the top 11 bits (the exponent) finds the bucket holding the
//! `k`-th largest entry; a second histogram of the next 11 bits inside that bucket
//! narrows it to a relative width of `2^-11`. Everything above the final bucket is
//! kept, and of the final bucket the first entries met in scan order, so that
//! exactly `k` are kept: the top `k` up to ties within `2^-11`.

use crate::Real;

/// Buckets of one histogram level (11 bits).
pub(crate) const BUCKETS: usize = 2048;

/// The 22-bit key of a nonnegative value: its `f64` exponent and 11 mantissa bits.
fn key<T: Real>(v: T) -> u64 {
    v.to_f64_lossless().to_bits() >> 41
}

/// The rule that keeps exactly `k` values of a fixed sequence. Apply
/// [`take`](Keep::take) to every value in the same order on each pass (a copy per
/// pass): it keeps a value above the threshold key always, and one at the
/// threshold key while the quota lasts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keep {
    threshold: u64,
    quota: usize,
}

impl Keep {
    /// The rule keeping the `k` largest of `values` (all of them if `k` exceeds
    /// their number), or fewer where the smallest of those hold together at most
    /// `negligible` (a mass, in the values' units): they are left out too.
    /// `hist` is scratch of [`BUCKETS`] counts.
    pub(crate) fn largest<T: Real>(
        values: &[T],
        k: usize,
        negligible: f64,
        hist: &mut [usize],
    ) -> Keep {
        hist.fill(0);
        for &v in values {
            if let Some(h) = hist.get_mut((key(v) >> 11) as usize) {
                *h += 1;
            }
        }
        // Bucket b (a biased exponent) holds values below 2^(b - 1022): from the
        // smallest bucket up, leave out whole buckets while that bound on their mass
        // stays within `negligible`.
        let (mut mass, mut left_out) = (0.0f64, 0usize);
        for (b, &count) in hist.iter().enumerate() {
            mass += count as f64 * libm::exp2(b as f64 - 1022.0);
            if mass > negligible {
                break;
            }
            left_out += count;
        }
        let k = k.min(values.len() - left_out.min(values.len()));
        let (high, above_high) = boundary(hist, k);
        hist.fill(0);
        for &v in values {
            let kv = key(v);
            if kv >> 11 == high as u64
                && let Some(h) = hist.get_mut((kv & 0x7ff) as usize)
            {
                *h += 1;
            }
        }
        let (low, above_low) = boundary(hist, k - above_high);
        Keep {
            threshold: (high as u64) << 11 | low as u64,
            quota: k - above_high - above_low,
        }
    }

    /// Whether to keep the next value of the sequence.
    #[inline]
    pub(crate) fn take<T: Real>(&mut self, v: T) -> bool {
        let kv = key(v);
        if kv > self.threshold {
            true
        } else if kv == self.threshold && self.quota > 0 {
            self.quota -= 1;
            true
        } else {
            false
        }
    }
}

/// The highest bucket `b` with at least `k` values in buckets `>= b`, and the count
/// strictly above it (`(0, total)` when there are fewer than `k` in all).
fn boundary(hist: &[usize], k: usize) -> (usize, usize) {
    let mut above = 0;
    for (b, &count) in hist.iter().enumerate().rev() {
        if above + count >= k {
            return (b, above);
        }
        above += count;
    }
    (0, above)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_exactly_the_largest() {
        let mut hist = [0usize; BUCKETS];
        // Distinct values spread over many exponents, with ties.
        let values: [f64; 40] = core::array::from_fn(|i| match i % 4 {
            0 => 0.0,
            1 => 1e-200 * i as f64,
            2 => 0.5,
            _ => libm::exp(-(i as f64)),
        });
        for k in [1, 5, 10, 17, 30, 40] {
            let mut keep = Keep::largest(&values, k, 0.0, &mut hist);
            let kept: [bool; 40] = core::array::from_fn(|i| keep.take(values[i]));
            assert_eq!(kept.iter().filter(|&&t| t).count(), k);
            let min_kept = (0..40)
                .filter(|&i| kept[i])
                .map(|i| values[i])
                .fold(f64::MAX, f64::min);
            let max_dropped = (0..40)
                .filter(|&i| !kept[i])
                .map(|i| values[i])
                .fold(0.0, f64::max);
            assert!(min_kept >= max_dropped, "k = {k}");
        }
    }
}
