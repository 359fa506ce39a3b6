//! What an iterative kernel says about its run, and a fixed-size record of it.

/// The outcome of an iterative kernel.
///
/// Kernels fill the fields they have a meaning for and document each one; the rest
/// stay zero. The two counters saturate at `u32::MAX` instead of wrapping (a sum of
/// inner iterations can exceed it: SNS allows `max_newton * cg_max_iter` CG steps), so
/// a count of `u32::MAX` means "at least that many".
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Report {
    /// Outer iterations done (saturating at `u32::MAX`).
    pub iterations: u32,
    /// Inner iterations summed over the outer ones (e.g. CG steps), saturating at
    /// `u32::MAX`; 0 if none.
    pub inner_iterations: u32,
    /// The stopping measure at exit (each kernel says which).
    pub error: f64,
    /// A kernel-specific scalar, e.g. the transport cost.
    pub value: f64,
    /// Whether `error <= tol` at exit.
    pub converged: bool,
}

impl Report {
    /// Counts `n` more outer iterations, saturating at `u32::MAX`.
    ///
    /// ```
    /// use kernels_core::Report;
    ///
    /// let mut r = Report { iterations: u32::MAX - 1, ..Report::default() };
    /// r.add_iterations(5);
    /// assert_eq!(r.iterations, u32::MAX);
    /// ```
    pub fn add_iterations(&mut self, n: u32) {
        self.iterations = self.iterations.saturating_add(n);
    }

    /// Counts `n` more inner iterations, saturating at `u32::MAX`.
    pub fn add_inner_iterations(&mut self, n: u32) {
        self.inner_iterations = self.inner_iterations.saturating_add(n);
    }
}

/// The latest `N` reports of an iterative solve, in fixed memory: the observer of the
/// `*_observed` solvers (`sinkhorn::sinkhorn_log_observed`, `sns::sns_observed`, ...)
/// for a caller without an allocator, or one that wants only the tail of a long
/// solve. Older reports are dropped first and counted.
///
/// ```
/// use kernels_core::{History, Report};
///
/// let mut h = History::<2>::new();
/// for it in [10, 20, 30] {
///     h.record(&Report { iterations: it, ..Report::default() });
/// }
/// let kept: Vec<u32> = h.iter().map(|r| r.iterations).collect();
/// assert_eq!((kept, h.dropped()), (vec![20, 30], 1));
/// ```
#[derive(Clone, Debug, Default)]
pub struct History<const N: usize> {
    reports: heapless::Deque<Report, N>,
    dropped: u64,
}

impl<const N: usize> History<N> {
    /// An empty history.
    pub const fn new() -> Self {
        History {
            reports: heapless::Deque::new(),
            dropped: 0,
        }
    }

    /// Appends a report, dropping the oldest one when `N` are held.
    pub fn record(&mut self, report: &Report) {
        if self.reports.is_full() {
            self.reports.pop_front();
            self.dropped += 1;
        }
        if self.reports.push_back(*report).is_err() {
            // Only when N = 0: nothing is kept.
            self.dropped += 1;
        }
    }

    /// The reports held, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Report> {
        self.reports.iter()
    }

    /// The newest report, if any.
    pub fn last(&self) -> Option<&Report> {
        self.reports.back()
    }

    /// How many reports are held.
    pub fn len(&self) -> usize {
        self.reports.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }

    /// How many reports were dropped to make room (or, for `N = 0`, not kept).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_saturate_instead_of_wrapping() {
        // SNS sums CG iterations over Newton steps: 100 steps of cg_max_iter = 3e9
        // would wrap a plain u32 sum (and panic in a debug build).
        let mut r = Report::default();
        for _ in 0..100 {
            r.add_inner_iterations(3_000_000_000);
        }
        assert_eq!(r.inner_iterations, u32::MAX);
        r.add_iterations(u32::MAX);
        r.add_iterations(2);
        assert_eq!(r.iterations, u32::MAX);
        let mut r = Report::default();
        r.add_iterations(7);
        r.add_inner_iterations(9);
        r.add_inner_iterations(1);
        assert_eq!((r.iterations, r.inner_iterations), (7, 10));
    }
}
