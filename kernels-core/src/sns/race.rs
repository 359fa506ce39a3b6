//! Never slower than Sinkhorn: the Newton stage raced against Sinkhorn's own pace.
//!
//! Newton steps pay off where Sinkhorn converges slowly (small `eps`, a plan close to
//! a permutation); where it converges fast, or where the kept entries leave out mass
//! and Newton converges only linearly, a Newton step (a sparse solve and line-search
//! evaluations) can gain less than the Sinkhorn iterations of the same cost. Stage 1
//! measures Sinkhorn's rate; stage 2 counts its own work in passes over the plan (the
//! unit of a Sinkhorn half-step) and the marginal error it gained, and gives up for
//! Sinkhorn iterations once it falls behind.

use crate::Report;

/// Passes over the plan of one Sinkhorn iteration: two log-domain half-steps, one
/// exponential per entry each.
pub(super) const SINKHORN_PASSES: f64 = 2.0;

/// Stage 1's last iterations that give its rate.
const WINDOW: usize = 8;

/// A step is behind when it reduced the error by less (as a log) than this fraction
/// of what Sinkhorn's rate would have in the same passes.
const KEEP_UP: f64 = 0.5;

/// Consecutive steps behind that end the Newton stage: one slow step (a line search
/// that needed several points) is not a trend.
const BEHIND_STEPS: u32 = 2;

/// Sinkhorn's rate, from the errors of stage 1's last iterations.
#[derive(Default)]
pub(super) struct Rate {
    /// (iteration, error) of the latest [`WINDOW`] checks, oldest overwritten first.
    recent: [(u32, f64); WINDOW],
    seen: usize,
}

impl Rate {
    /// Records a check of stage 1 (every iteration is checked).
    pub(super) fn observe(&mut self, report: &Report) {
        self.recent[self.seen % WINDOW] = (report.iterations, report.error);
        self.seen += 1;
    }

    /// The log of the error factor per pass over the plan (at most 0), or 0 when
    /// stage 1 gave fewer than two checks or made no progress (Sinkhorn is then not
    /// a competitor: the race never stops Newton).
    pub(super) fn per_pass(&self) -> f64 {
        let count = self.seen.min(WINDOW);
        if count < 2 {
            return 0.0;
        }
        let last = self.recent[(self.seen - 1) % WINDOW];
        let first = self.recent[(self.seen - count) % WINDOW];
        let iterations = f64::from(last.0.saturating_sub(first.0));
        let gain = libm::log(last.1 / first.1);
        if iterations > 0.0 && gain < 0.0 {
            gain / (iterations * SINKHORN_PASSES)
        } else {
            0.0
        }
    }
}

/// Sinkhorn iterations that measure its rate where the Newton stage stands, before
/// it is given the rest of the solve.
pub(super) const PROBE: u32 = 4;

/// The Newton stage's steps against Sinkhorn's rate.
pub(super) struct Race {
    per_pass: f64,
    /// The marginal error after the latest step.
    last: f64,
    /// The latest Newton step's gain per pass (0 for one that raised the error).
    newton: f64,
    /// Consecutive steps behind.
    behind: u32,
    /// Whether Sinkhorn's rate was probed since the latest Newton step.
    probed: bool,
}

impl Race {
    /// A stage starting at marginal error `start`, against `rate`.
    pub(super) fn new(rate: &Rate, start: f64) -> Self {
        Race {
            per_pass: rate.per_pass(),
            last: start,
            newton: 0.0,
            behind: 0,
            probed: false,
        }
    }

    /// Counts a step that cost `passes` passes over the plan and left the marginal
    /// error at `error`. A step that raised the error is not judged: in the damped
    /// phase Newton gains on the dual objective first, and its error falls later.
    pub(super) fn step(&mut self, passes: f64, error: f64) {
        let gain = libm::log(error / self.last);
        self.last = error;
        self.probed = false;
        if gain < 0.0 {
            self.newton = gain / passes;
            self.behind = if self.lags() { self.behind + 1 } else { 0 };
        } else {
            self.newton = 0.0;
        }
    }

    /// Whether the latest Newton step gained less per pass than Sinkhorn's rate
    /// allows.
    fn lags(&self) -> bool {
        self.newton > KEEP_UP * self.per_pass
    }

    /// How many Sinkhorn iterations to run next when [`Race::sinkhorn_finishes`]:
    /// [`PROBE`] to measure its rate here (stage 1's is that of the first
    /// iterations, often faster than later ones), then the rest (`left`) if it is
    /// still ahead.
    pub(super) fn sinkhorn_iterations(&self, left: u32) -> u32 {
        if self.probed { left } else { PROBE.min(left) }
    }

    /// Takes the rate of the probing iterations, which left the error at `error`:
    /// the latest Newton step is judged again against it.
    pub(super) fn probe(&mut self, rate: &Rate, error: f64) {
        self.per_pass = rate.per_pass();
        self.last = error;
        self.probed = true;
        if !self.lags() {
            self.behind = 0;
        }
    }

    /// Whether Sinkhorn should finish the solve from marginal error `error` (target
    /// `tol`) with at most `left` more iterations: the Newton steps have fallen behind,
    /// or Sinkhorn's rate reaches `tol` in fewer passes than a Newton step costs
    /// (`step`: the latest step's passes, or an estimate before the first); and its
    /// rate reaches `tol` within half of `left` (a Newton step gains more per step
    /// than a Sinkhorn iteration, and Sinkhorn's rate often slows down later: a
    /// solve the cap lets converge with Newton steps is not handed to iterations the
    /// cap would stop).
    pub(super) fn sinkhorn_finishes(&self, error: f64, tol: f64, step: f64, left: u32) -> bool {
        if self.per_pass >= 0.0 {
            return false;
        }
        let remaining = libm::log(tol / error) / self.per_pass;
        let fits = remaining <= SINKHORN_PASSES * f64::from(left) / 2.0;
        fits && (self.behind >= BEHIND_STEPS || remaining < step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(errors: &[f64]) -> Rate {
        let mut rate = Rate::default();
        for (k, &error) in errors.iter().enumerate() {
            let mut r = Report::default();
            r.add_iterations(k as u32 + 1);
            r.error = error;
            rate.observe(&r);
        }
        rate
    }

    #[test]
    fn the_rate_is_read_from_the_last_window() {
        // Ten iterations, each halving the error after a slow start: the window holds
        // the last eight, seven halvings over 14 passes.
        let errors: [f64; 10] = core::array::from_fn(|k| 0.5f64.powi(k.max(2) as i32));
        let per_pass = rate(&errors).per_pass();
        assert!(
            (per_pass - libm::log(0.5) / 2.0).abs() < 1e-12,
            "{per_pass}"
        );
        assert_eq!(rate(&[1.0]).per_pass(), 0.0);
        assert_eq!(rate(&[1.0, 1.0, 2.0]).per_pass(), 0.0);
    }

    #[test]
    fn sinkhorn_finishes_when_newton_falls_behind_or_costs_more() {
        // Sinkhorn halves the error per iteration (2 passes).
        let sinkhorn = rate(&[1.0, 0.5, 0.25]);
        // Newton: 4 passes per step, a factor 0.9 per step: behind from the first, and
        // finished after two such steps.
        let mut slow = Race::new(&sinkhorn, 1.0);
        let finish: [bool; 3] = core::array::from_fn(|k| {
            let error = 0.9f64.powi(k as i32 + 1);
            slow.step(4.0, error);
            slow.sinkhorn_finishes(error, 1e-30, 4.0, 1000)
        });
        assert_eq!(finish, [false, true, true]);
        // A step that raised the error is not judged.
        let mut damped = Race::new(&sinkhorn, 1.0);
        damped.step(4.0, 0.95);
        damped.step(4.0, 3.0);
        damped.step(4.0, 1e-3);
        assert!(!damped.sinkhorn_finishes(1e-3, 1e-30, 4.0, 1000));
        // Newton squaring a small error: never behind.
        let mut fast = Race::new(&sinkhorn, 1e-2);
        let mut error = 1e-2;
        for _ in 0..4 {
            error = error * error * 10.0;
            fast.step(4.0, error);
            assert!(!fast.sinkhorn_finishes(error, 1e-300, 4.0, 1000));
        }
        // Sinkhorn needs about 10 iterations (0.5^10 ~ 1e-3), 19.9 passes, from 1e-3
        // to 1e-6: cheaper than a step of 21 passes, dearer than one of 5 ...
        let fresh = Race::new(&sinkhorn, 1e-3);
        assert!(fresh.sinkhorn_finishes(1e-3, 1e-6, 21.0, 1000));
        assert!(!fresh.sinkhorn_finishes(1e-3, 1e-6, 5.0, 1000));
        // ... but not handed over with fewer than twice its iterations left.
        assert!(fresh.sinkhorn_finishes(1e-3, 1e-6, 21.0, 20));
        assert!(!fresh.sinkhorn_finishes(1e-3, 1e-6, 21.0, 19));
        // No Sinkhorn progress in stage 1: Newton is never stopped.
        let mut free = Race::new(&rate(&[1.0, 1.0]), 1.0);
        free.step(10.0, 0.99);
        free.step(10.0, 0.98);
        assert!(!free.sinkhorn_finishes(0.98, 1e-30, 1e9, 1000));
    }
}
