//! Matrix scaling: Sinkhorn-Knopp and log-domain entropic optimal transport.
//!
//! Two solvers share one iteration loop ([`driver`], which the CUDA backend runs too):
//! - [`scale`] (kernel mode): positive `u`, `v` with `diag(u) K diag(v)` having row
//!   sums `a` and column sums `b`. Two matrix-vector products per iteration, fused
//!   into one pass over `K` (each row's `u_i` is known as soon as its `(K v)_i` is,
//!   and that row goes straight into the next `K^T u`): memory bound, and it
//!   underflows once `K = exp(-C/eps)` does.
//! - [`sinkhorn_log`] (log domain): dual potentials `f`, `g` of
//!   `min <P, C> + eps sum P (log P - 1)` with `P 1 = a`, `P^T 1 = b`, where
//!   `P_ij = exp((f_i + g_j - C_ij) / eps)`. Every sum over `exp` is a shifted
//!   log-sum-exp: the shift is the current potential (then the terms are plan
//!   entries, at most 1 once the other marginal is matched: one pass, one
//!   exponential per entry), and where that sum is not safely representable, the
//!   maximum (two passes, or an online maximum). It stays finite for any `eps` for
//!   which `C / eps` is representable. An iteration streams `C` once and takes one
//!   exponential per entry: each plan row computed for the f-update is rescaled by
//!   `a_i / r_i` into the column sums of the g-update.
//!
//! - [`sinkhorn_unbalanced`]: the marginals as KL penalties (POT's
//!   `sinkhorn_unbalanced`, `reg_type='kl'`), the log-domain solver with each
//!   update's log-sum-exp scaled by `reg_m / (reg_m + eps)`.
//!
//! - [`sinkhorn_batch`]: many problems of one size in one call, each bit-identical
//!   to its own [`sinkhorn_log`] call.
//!
//! - [`sinkhorn_points`]: two point clouds with the squared Euclidean cost computed
//!   on the fly ([`cost::Points`]), never stored: the log-domain solver on a cost
//!   given by rows ([`CostRows`]) instead of a matrix.
//!
//! The log-domain half-steps, marginals and plan are public in [`log_steps`] so that
//! other solvers (Sinkhorn-Newton-Sparse) reuse them.
//!
//! The error check is fused into the iteration: each half-step already computes the
//! sums that give one marginal at the current iterate, and the other marginal was
//! matched by the previous half-step, so a check costs `O(n + m)` extra work, not a
//! pass over the matrix.

mod absorb;
mod batch;
pub mod check;
pub mod cost;
pub mod driver;
mod kernels;
mod lanes;
pub mod log_steps;
mod opts;
mod overrelax;
mod points;
mod scale;
mod solve_log;
pub mod tiles;
mod unbalanced;

pub use batch::{BATCH_SLOTS, batch_work_size, sinkhorn_batch};
pub use cost::{CostRows, Points};
pub use kernels::{LANES_AXPY_ROWS, PASS_ROWS, SinkhornKernels};
pub use opts::{Method, OVERRELAX_AUTO, SinkhornOpts};
pub use points::{points_work_size, sinkhorn_points};
pub use scale::{scale, scale_observed, scale_work_size};
pub use solve_log::{sinkhorn_log, sinkhorn_log_observed, sinkhorn_work_size};
pub use unbalanced::{UnbalancedOpts, sinkhorn_unbalanced, unbalanced_work_size};
