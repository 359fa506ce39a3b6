//! Preconditioned conjugate gradients on CSR matrices.
//!
//! [`cg`] solves `A x = b` for a symmetric positive definite `A` stored in full
//! (both triangles) as CSR, with no preconditioner, Jacobi (`diag(A)^-1`) or SSOR (a
//! forward then a backward SOR sweep, the same sweep code as the SOR family). Each
//! iteration is one pass of `A` (the product fused with `p^T A p`) and three
//! streaming passes over vectors, each fused with the inner product that follows
//! it. A curvature `p^T A p <= 0` proves `A` is not positive definite and stops
//! the solve with [`Error::Numerical`](crate::Error).

mod kernels;
mod opts;
mod solve;

pub use kernels::CgKernels;
pub use opts::{CgOpts, Precond};
pub use solve::{cg, cg_work_size};
