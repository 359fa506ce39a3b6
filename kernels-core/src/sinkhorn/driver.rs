//! The iteration loop every Sinkhorn solver shares: the host solvers here and the
//! device solvers of `kernels-cuda`.
//!
//! An iteration is two half-steps; each matches one marginal exactly (up to
//! rounding). The first half-step of iteration `k + 1` computes, on its way, the
//! marginal it is about to match at the current iterate, and the second marginal
//! at that iterate came out of the previous half-step, so the L1 error of the
//! current pair is known before the first update is applied. The loop stops there,
//! returning exactly the pair whose error it reports.
//!
//! A backend implements [`HalfSteps`] and calls [`iterate`]; a variant of the
//! scheme (another update, another stopping measure) is a new `HalfSteps`, not a
//! new loop.

use super::SinkhornOpts;
use super::overrelax::Overrelax;
use crate::{Real, Report, Result};

/// One Sinkhorn scheme as two half-steps over the caller's iterate, on any backend.
pub trait HalfSteps {
    /// Computes the first update from the current pair, without applying it. When
    /// `check`, it also gathers what [`error`](HalfSteps::error) needs: the L1 error
    /// of the marginal this update matches, at the current pair. A host backend
    /// returns [`Error::Numerical`](crate::Error) here when the update is not finite.
    fn first(&mut self, check: bool) -> Result<()>;

    /// The L1 marginal error of the current pair: called only after
    /// `first(true)`. A backend that defers its finiteness check to the checks (a
    /// device that reads back only the error) returns
    /// [`Error::Numerical`](crate::Error) here.
    fn error(&mut self) -> Result<f64>;

    /// Applies the update computed by [`first`](HalfSteps::first).
    fn apply_first(&mut self) -> Result<()>;

    /// Computes and applies the second update (and the error of the marginal it
    /// matched, at the new pair, where the backend measures it there).
    fn second(&mut self) -> Result<()>;

    /// [`second`](HalfSteps::second), told whether the next iteration checks the
    /// error (`measure`), so that a backend may skip measuring it otherwise. The
    /// default ignores the hint.
    fn second_measured(&mut self, measure: bool) -> Result<()> {
        let _ = measure;
        self.second()
    }

    /// Blends every later update as `x <- x + omega (x_update - x)` (1: the plain
    /// iteration). The default, for backends without over-relaxation (their option
    /// checks refuse it first), is [`Error::Unsupported`](crate::Error).
    fn relax(&mut self, omega: f64) -> Result<()> {
        let _ = omega;
        Err(crate::Error::Unsupported)
    }
}

/// Runs the half-steps until the L1 error is at most `tol` at a check, or until
/// `max_iter` iterations, calling `observe` with the report of every check (the last
/// one is the report returned, before the solver fills in `value`). The first check
/// comes after `check_every` iterations and one is forced at `max_iter`; a converged
/// warm start therefore costs one check period. The pair the last check measured is
/// the one left in place.
///
/// With `opts.overrelax` nonzero the half-steps are told the `omega` to blend their
/// updates with: the fixed one, or under
/// [`OVERRELAX_AUTO`](super::OVERRELAX_AUTO) `2 / (1 + sqrt(1 - theta))` with
/// `theta` the rate per iteration between the first check at iteration 10 or later
/// and the next one 10 or more iterations on (Lehmann et al. 2022). Either returns
/// to 1 for the rest of the solve when a check's error is not below the error of
/// the reference check 20 or more iterations before (the reference moves to each
/// check that passes).
pub fn iterate(
    steps: &mut impl HalfSteps,
    opts: &SinkhornOpts,
    observe: &mut dyn FnMut(&Report),
) -> Result<Report> {
    let period = opts.period();
    let mut relax = Overrelax::new(opts.overrelax);
    if relax.omega() != 1.0 {
        steps.relax(relax.omega())?;
    }
    let mut it = 0u32;
    loop {
        let check = it > 0 && (it >= opts.max_iter || it.is_multiple_of(period));
        steps.first(check)?;
        if check {
            let error = steps.error()?;
            let converged = error <= opts.tol;
            let report = Report {
                iterations: it,
                inner_iterations: 0,
                error,
                value: 0.0,
                converged,
            };
            observe(&report);
            if converged || it >= opts.max_iter {
                return Ok(report);
            }
            if let Some(omega) = relax.observe(it, error) {
                steps.relax(omega)?;
            }
        }
        steps.apply_first()?;
        let next = it + 1;
        steps.second_measured(next >= opts.max_iter || next.is_multiple_of(period))?;
        it = next;
    }
}

/// Host half-steps that measure each marginal's L1 error where they compute it:
/// [`first`](HostSteps::first) at the current pair (when asked),
/// [`second`](HostSteps::second) at the new pair. [`Measured`] turns them into
/// [`HalfSteps`].
pub(crate) trait HostSteps<T: Real> {
    /// As [`HalfSteps::first`]; returns the error when `measure` (else zero).
    fn first(&mut self, measure: bool) -> Result<T>;

    /// As [`HalfSteps::apply_first`].
    fn apply_first(&mut self);

    /// As [`HalfSteps::second`]; returns the error of the marginal it matched when
    /// `measure` (the next iteration checks it; else it may return zero).
    fn second(&mut self, measure: bool) -> Result<T>;

    /// As [`HalfSteps::relax`].
    fn relax(&mut self, omega: T) -> Result<()> {
        let _ = omega;
        Err(crate::Error::Unsupported)
    }
}

/// [`HostSteps`] with the two errors of the latest half-steps kept for
/// [`HalfSteps::error`].
pub(crate) struct Measured<S, T> {
    pub(crate) steps: S,
    first_error: T,
    second_error: T,
}

impl<S, T: Real> Measured<S, T> {
    pub(crate) fn new(steps: S) -> Self {
        Measured {
            steps,
            first_error: T::zero(),
            second_error: T::zero(),
        }
    }
}

impl<S: HostSteps<T>, T: Real> HalfSteps for Measured<S, T> {
    fn first(&mut self, check: bool) -> Result<()> {
        self.first_error = self.steps.first(check)?;
        Ok(())
    }

    fn error(&mut self) -> Result<f64> {
        // Summed in T, then widened: the order the report has always used.
        Ok((self.first_error + self.second_error).to_f64_lossless())
    }

    fn apply_first(&mut self) -> Result<()> {
        self.steps.apply_first();
        Ok(())
    }

    fn second(&mut self) -> Result<()> {
        self.second_measured(true)
    }

    fn second_measured(&mut self, measure: bool) -> Result<()> {
        self.second_error = self.steps.second(measure)?;
        Ok(())
    }

    fn relax(&mut self, omega: f64) -> Result<()> {
        self.steps.relax(T::of(omega))
    }
}
