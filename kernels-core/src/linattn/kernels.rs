//! The inner loops of chunked linear attention. Today every loop it needs is a base
//! primitive (`gemm`, `scale`, `axpy`); this trait is where a loop of its own (a
//! per-token gate, a narrower storage type) goes.

use crate::{Primitives, Real, Scalar};

/// The linear-attention family's loops (none beyond the base primitives yet).
pub trait LinattnKernels<T: Real>: Primitives<T> {}

impl<T: Real> LinattnKernels<T> for Scalar {}
