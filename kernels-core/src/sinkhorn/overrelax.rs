//! When and how much the log-domain solver over-relaxes: the `omega` of the
//! half-steps' blend `f <- f + omega (f_sinkhorn - f)`, from the options and the
//! errors the checks measure.
//!
//! Near the solution plain Sinkhorn converges linearly at a rate `theta` per
//! iteration that approaches 1 as `reg` shrinks (hundreds of iterations at `reg =
//! 1e-3 max|C|`). Over-relaxed with `omega = 2 / (1 + sqrt(1 - theta))` it converges
//! at about `omega - 1` instead (Lehmann, von Renesse, Sambale and Uschmajew, "A note
//! on overrelaxation in the Sinkhorn algorithm", Optim. Lett. 2022, eq. 5; OTT's
//! `Momentum` uses the same formula). [`OVERRELAX_AUTO`] measures `theta` on the
//! plain iteration between two checks at least [`WINDOW`] iterations apart, the
//! first at iteration [`WINDOW`] or later, then sets `omega`.
//!
//! Over-relaxation converges near the solution for `omega` in `(0, 2)` but carries
//! no global guarantee, and the error is not monotone under it (it overshoots for a
//! few iterations after `omega` is set). So the guard compares errors
//! [`GUARD`] iterations apart: if a check's error is not below the reference check's,
//! the solver goes back to the plain iteration (which converges from any finite
//! iterate) for the rest of the solve.

use super::opts::OVERRELAX_AUTO;
use crate::Real;

/// A potential's update over-relaxed by `omega`: `old + omega (update - old)`, and
/// exactly `update` when `omega` is 1.
#[inline(always)]
pub(crate) fn blend_potential<T: Real>(old: T, update: T, omega: T) -> T {
    if omega == T::one() {
        update
    } else {
        old + omega * (update - old)
    }
}

/// A scaling's update over-relaxed by `omega`, the same blend of its logarithm:
/// `old (update / old)^omega`, and exactly `update` when `omega` is 1.
#[inline(always)]
pub(crate) fn blend_scaling<T: Real>(old: T, update: T, omega: T) -> T {
    if omega == T::one() {
        update
    } else {
        old * ((update / old).ln() * omega).exp()
    }
}

/// Iterations of plain Sinkhorn before the first rate measurement, and the least
/// span between the two checks that measure it.
const WINDOW: u32 = 10;

/// The least span, in iterations, over which an over-relaxed solve must lower its
/// error.
const GUARD: u32 = 20;

/// The largest rate the estimate uses: `omega <= 2 / 1.1`, as in OTT.
const MAX_RATE: f64 = 0.99;

/// The state of the policy over one solve.
pub(crate) struct Overrelax {
    /// The `omega` in force.
    omega: f64,
    /// Still to estimate `omega` (automatic mode, not yet set).
    estimate: bool,
    /// The check the rate (while estimating) or the guard (while relaxing) measures
    /// from: (iteration, error).
    mark: Option<(u32, f64)>,
}

impl Overrelax {
    /// The policy for `SinkhornOpts::overrelax` (already checked).
    pub(crate) fn new(overrelax: f64) -> Self {
        let auto = overrelax == OVERRELAX_AUTO;
        Overrelax {
            omega: if auto || overrelax == 0.0 {
                1.0
            } else {
                overrelax
            },
            estimate: auto,
            mark: None,
        }
    }

    /// The `omega` in force.
    pub(crate) fn omega(&self) -> f64 {
        self.omega
    }

    /// Takes the error of the check at iteration `it`; returns the new `omega` when
    /// it changes.
    pub(crate) fn observe(&mut self, it: u32, error: f64) -> Option<f64> {
        if self.estimate {
            return match self.mark {
                None if it >= WINDOW => {
                    self.mark = Some((it, error));
                    None
                }
                Some((at, before)) if it >= at + WINDOW => {
                    // exp(ln / span) rather than pow, which the library links nowhere
                    // else (2 KB of firmware flash).
                    let rate = libm::exp(libm::log(error / before) / f64::from(it - at));
                    // No rate below 1 yet (still far from the solution): measure
                    // again from here.
                    self.mark = Some((it, error));
                    if !(rate > 0.0 && rate < 1.0) {
                        return None;
                    }
                    self.estimate = false;
                    self.omega = 2.0 / (1.0 + libm::sqrt(1.0 - rate.min(MAX_RATE)));
                    Some(self.omega)
                }
                _ => None,
            };
        }
        if self.omega == 1.0 {
            return None;
        }
        match self.mark {
            Some((at, before)) if it >= at + GUARD => {
                // Written so that NaN falls back too.
                if error < before {
                    self.mark = Some((it, error));
                    None
                } else {
                    self.omega = 1.0;
                    Some(1.0)
                }
            }
            Some(_) => None,
            None => {
                self.mark = Some((it, error));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_never_changes() {
        for w in [0.0, 1.0] {
            let mut o = Overrelax::new(w);
            assert_eq!(o.omega(), 1.0);
            for it in 1..100 {
                assert_eq!(o.observe(it, 1.0 / f64::from(it)), None);
            }
        }
    }

    #[test]
    fn auto_sets_omega_from_the_rate_then_guards_it() {
        let mut o = Overrelax::new(OVERRELAX_AUTO);
        assert_eq!(o.omega(), 1.0);
        // Checks every 10 iterations of an error shrinking by 0.96 per iteration.
        let error = |it: u32| libm::pow(0.96, f64::from(it));
        assert_eq!(o.observe(10, error(10)), None);
        let w = o.observe(20, error(20)).unwrap();
        assert!((w - 2.0 / 1.2).abs() < 1e-12, "{w}");
        assert_eq!(o.omega(), w);
        // Progress over every guard span keeps it; a span without progress ends it.
        assert_eq!(o.observe(30, 5.0), None); // an overshoot inside the span
        assert_eq!(o.observe(40, 0.1), None);
        assert_eq!(o.observe(50, 5.0), None);
        assert_eq!(o.observe(60, 1e-2), None);
        assert_eq!(o.observe(70, 2e-4), None);
        assert_eq!(o.observe(80, 2e-2), Some(1.0));
        assert_eq!(o.omega(), 1.0);
        assert_eq!(o.observe(90, 1.0), None);
    }

    #[test]
    fn auto_waits_for_a_rate_below_one_and_caps_it() {
        let mut o = Overrelax::new(OVERRELAX_AUTO);
        assert_eq!(o.observe(10, 1.0), None);
        assert_eq!(o.observe(20, 2.0), None);
        assert_eq!(o.observe(25, 1.0), None);
        let w = o.observe(30, 2.0 - 1e-12).unwrap();
        assert!((w - 2.0 / 1.1).abs() < 1e-12, "{w}");
    }

    #[test]
    fn a_fixed_omega_falls_back_on_nan() {
        let mut o = Overrelax::new(1.5);
        assert_eq!(o.omega(), 1.5);
        assert_eq!(o.observe(10, 1.0), None);
        assert_eq!(o.observe(30, f64::NAN), Some(1.0));
    }
}
