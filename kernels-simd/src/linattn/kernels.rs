//! `LinattnKernels` for `Simd`: every loop linear attention runs is a base primitive
//! (the dispatched `gemm` above all).

use kernels_core::linattn::LinattnKernels;

use crate::Simd;

impl LinattnKernels<f32> for Simd {}
impl LinattnKernels<f64> for Simd {}
