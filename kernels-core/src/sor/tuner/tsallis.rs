//! Tsallis-INF (the 1/2-Tsallis entropy regulariser) over the arms.
//!
//! Weights are `p_i = 4 / (eta (L_i - x))^2` with the normaliser `x < min_i L_i`
//! chosen so that they sum to 1. `f(x) = sum_i p_i(x) - 1` is convex and increasing
//! on `x < min L`. Newton started at `x0 = min L - 2 / eta` (where the best arm alone
//! has weight 1, so `f(x0) >= 0`) moves left and never passes the root, so it
//! converges monotonically for any losses. (Public code starts at `x = -1`, which
//! overshoots past `min L` and diverges once `eta min L >> 2`.)

use num_traits::Float;

/// Newton steps at most; convergence is quadratic, a handful suffice.
const NEWTON_STEPS: usize = 100;

/// The Tsallis-INF distribution for cumulative losses `loss` and learning rate
/// `eta`, written to `p` (same length). The result is renormalised, so it sums to 1
/// up to rounding whatever the Newton tolerance.
pub(super) fn probabilities(loss: &[f64], eta: f64, p: &mut [f64]) {
    // The weights depend only on the gaps L_i - min L, so x is kept relative to min L:
    // with huge losses `min L - 2 / eta` would round back to min L and give 0 / 0.
    let min = loss.iter().copied().fold(f64::INFINITY, f64::min);
    let mut x = -2.0 / eta;
    for _ in 0..NEWTON_STEPS {
        let (mut f, mut df) = (-1.0, 0.0);
        for &l in loss {
            let inv = 1.0 / (eta * ((l - min) - x));
            f += 4.0 * inv * inv;
            df += 8.0 * eta * inv * inv * inv;
        }
        let step = f / df;
        if step.is_nan() || step <= 0.0 || step <= 1e-15 * (x.abs() + 1.0 / eta) {
            break;
        }
        x -= step;
    }
    for (pi, &l) in p.iter_mut().zip(loss) {
        let inv = 1.0 / (eta * ((l - min) - x));
        *pi = 4.0 * inv * inv;
    }
    let total: f64 = p.iter().sum();
    p.iter_mut().for_each(|pi| *pi /= total);
}

/// The learning rate of round `t` (1-based): `2 / sqrt(t)`.
pub(super) fn eta(t: u64) -> f64 {
    2.0 / Float::sqrt(t as f64)
}
