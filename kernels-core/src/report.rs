//! What an iterative kernel says about its run.

/// The outcome of an iterative kernel.
///
/// Kernels fill the fields they have a meaning for and document each one; the rest
/// stay zero.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Report {
    /// Outer iterations done.
    pub iterations: u32,
    /// Inner iterations summed over the outer ones (e.g. CG steps); 0 if none.
    pub inner_iterations: u32,
    /// The stopping measure at exit (each kernel says which).
    pub error: f64,
    /// A kernel-specific scalar, e.g. the transport cost.
    pub value: f64,
    /// Whether `error <= tol` at exit.
    pub converged: bool,
}
