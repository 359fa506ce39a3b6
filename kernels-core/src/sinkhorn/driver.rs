//! The iteration loop both solvers share.
//!
//! An iteration is two half-steps; each matches one marginal exactly (up to
//! rounding). The first half-step of iteration `k + 1` computes, on its way, the
//! marginal it is about to match at the current iterate, and the second marginal
//! at that iterate came out of the previous half-step, so the L1 error of the
//! current pair is known before the first update is applied. The loop stops there,
//! returning exactly the pair whose error it reports.

use super::SinkhornOpts;
use crate::{Real, Report, Result};

/// One Sinkhorn scheme as two half-steps over the caller's iterate.
pub(crate) trait HalfSteps<T: Real> {
    /// Computes the first update from the current pair into scratch, without
    /// applying it. When `measure`, returns the L1 error of the marginal this update
    /// matches, at the current pair (else zero). [`Error::Numerical`](crate::Error)
    /// when the update is not finite.
    fn first(&mut self, measure: bool) -> Result<T>;

    /// Applies the update computed by [`first`](HalfSteps::first).
    fn apply_first(&mut self);

    /// Computes and applies the second update; returns the L1 error of the marginal
    /// it matched, at the new pair (rounding level).
    fn second(&mut self) -> Result<T>;
}

/// Runs the half-steps until the L1 error is at most `tol` at a check, or until
/// `max_iter` iterations. The first check comes after `check_every` iterations; a
/// converged warm start therefore costs one check period.
pub(crate) fn iterate<T: Real>(
    steps: &mut impl HalfSteps<T>,
    opts: &SinkhornOpts,
) -> Result<Report> {
    let period = opts.period();
    let mut second_error: Option<T> = None;
    let mut it = 0u32;
    loop {
        let check = second_error.is_some() && (it >= opts.max_iter || it.is_multiple_of(period));
        let first_error = steps.first(check)?;
        if let (true, Some(e2)) = (check, second_error) {
            let error = (first_error + e2).to_f64_lossless();
            let converged = error <= opts.tol;
            if converged || it >= opts.max_iter {
                return Ok(Report {
                    iterations: it,
                    inner_iterations: 0,
                    error,
                    value: 0.0,
                    converged,
                });
            }
        }
        steps.apply_first();
        second_error = Some(steps.second()?);
        it += 1;
    }
}
