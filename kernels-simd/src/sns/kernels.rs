//! `SnsKernels` for `Simd`: SNS runs on the Sinkhorn and CG kernels.

use kernels_core::sns::SnsKernels;

use crate::Simd;

impl SnsKernels<f32> for Simd {}
impl SnsKernels<f64> for Simd {}
