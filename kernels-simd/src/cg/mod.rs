//! cg

mod kernels;
pub(crate) mod passes;
