//! Matrix scaling and entropic optimal transport on the SIMD kernels.

mod kernels;
pub(crate) mod passes;
