//! Sinkhorn-Newton-Sparse (SNS): entropic optimal transport by Newton steps on the
//! Sinkhorn dual with a sparsified Hessian.
//!
//! The problem, potentials and plan are those of
//! [`sinkhorn_log`](crate::sinkhorn::sinkhorn_log). Stage 1 runs Sinkhorn
//! iterations (the matrix-scaling code itself); stage 2 takes Newton steps on the
//! concave dual `D(f, g) = <f, a> + <g, b> - eps sum P`:
//! - the plan is sparsified by keeping its largest `density * n * m` entries,
//!   found without allocation by a two-level histogram of their bit patterns
//!   (`select`), plus the exact diagonal blocks `diag(P 1)`, `diag(P^T 1)`;
//! - the Newton system is assembled in CSR in the workspace (`hessian`) with the
//!   last `g` held fixed, which removes the null space `(1, -1)` of the Hessian
//!   (the gradient is orthogonal to it, so nothing is lost), and solved by
//!   Jacobi-preconditioned CG ([`cg`](crate::cg::cg));
//! - a backtracking line search on `D` (Armijo) accepts the step; where `D` no
//!   longer resolves the change (near convergence its rounding exceeds it) the
//!   step is judged by the marginal error instead;
//! - a step that the line search rejects is replaced by a Sinkhorn iteration, and
//!   the iterate with the smallest marginal error seen is what is returned, so the
//!   result is never worse than the starting point;
//! - the Newton stage is raced against Sinkhorn's rate measured in stage 1
//!   (`race`): once its steps have gained, per pass over the plan, less than half
//!   of what Sinkhorn iterations would have, the solve finishes with Sinkhorn
//!   iterations, so that it is not much slower than Sinkhorn alone where Newton
//!   does not pay.

mod hessian;
mod kernels;
mod newton;
mod objective;
mod opts;
mod race;
mod select;
mod solve;

pub use kernels::SnsKernels;
pub use opts::SnsOpts;
pub use solve::{SnsOutcome, sns, sns_observed, sns_work_size};
