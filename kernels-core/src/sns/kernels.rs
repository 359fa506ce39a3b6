//! Sinkhorn-Newton-Sparse runs Sinkhorn iterations and CG solves: its kernels are
//! those two families' loops.

use crate::cg::CgKernels;
use crate::sinkhorn::SinkhornKernels;
use crate::{Real, Scalar};

/// The loops SNS needs: Sinkhorn's and CG's (none of its own yet).
pub trait SnsKernels<T: Real>: SinkhornKernels<T> + CgKernels<T> {}

impl<T: Real> SnsKernels<T> for Scalar {}
