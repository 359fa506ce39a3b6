//! The C form of [`kernels_core::Report`].

use crate::guard::Done;
use kernels_core::{Report, Result};

/// What an iterative kernel reports. The pointer a kernel takes may be NULL.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct kn_report {
    /// Outer iterations done; saturates at UINT32_MAX (never wraps).
    pub iterations: u32,
    /// Inner iterations summed over the outer ones (e.g. CG steps); 0 if none.
    /// Saturates at UINT32_MAX (never wraps): that value means at least as many.
    pub inner_iterations: u32,
    /// The stopping measure at exit (see each kernel).
    pub error: f64,
    /// A kernel-specific scalar, e.g. the transport cost <P, C>.
    pub value: f64,
    /// 1 if error <= tol, else 0.
    pub converged: i32,
}

impl From<Report> for kn_report {
    fn from(r: Report) -> Self {
        kn_report {
            iterations: r.iterations,
            inner_iterations: r.inner_iterations,
            error: r.error,
            value: r.value,
            converged: i32::from(r.converged),
        }
    }
}

/// Writes the report if asked and turns it into the status (`KN_OK` or
/// `KN_NOT_CONVERGED`).
pub(crate) fn finish(report: Report, rep: Option<&mut kn_report>) -> Result<Done> {
    if let Some(r) = rep {
        *r = report.into();
    }
    Ok(Done::converged(report.converged))
}
