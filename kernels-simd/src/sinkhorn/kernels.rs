//! `SinkhornKernels` for `Simd`: every loop dispatched at run time (`dispatch`), the
//! exponential loops from `exp_loops`, the other row passes from `passes`.

use kernels_core::sinkhorn::SinkhornKernels;

use crate::Simd;

macro_rules! sinkhorn_kernels {
    ($t:ty, $k:ident) => {
        impl SinkhornKernels<$t> for Simd {
            fn lse_accumulate(alpha: $t, x: &[$t], beta: $t, max: &mut [$t], sum: &mut [$t]) {
                crate::dispatch::$k::lse_accumulate(alpha, x, beta, max, sum);
            }

            fn lse_affine(alpha: $t, x: &[$t], y: &[$t]) -> $t {
                crate::dispatch::$k::lse_affine(alpha, x, y)
            }

            fn exp_affine(alpha: $t, x: &[$t], beta: $t, y: &[$t], out: &mut [$t]) {
                crate::dispatch::$k::exp_affine_sum(alpha, x, beta, y, out);
            }

            fn sum_exp_affine(alpha: $t, x: &[$t], beta: $t, y: &[$t]) -> $t {
                crate::dispatch::$k::sum_exp_affine(alpha, x, beta, y)
            }

            fn exp_affine_accumulate(alpha: $t, x: &[$t], beta: $t, y: &[$t], sum: &mut [$t]) {
                crate::dispatch::$k::exp_affine_accumulate(alpha, x, beta, y, sum);
            }

            fn exp_affine_sum(alpha: $t, x: &[$t], beta: $t, y: &[$t], out: &mut [$t]) -> $t {
                crate::dispatch::$k::exp_affine_sum(alpha, x, beta, y, out)
            }

            fn dot_axpy(x: &[$t], v: &[$t], a: $t, w: &[$t], y: &mut [$t]) -> $t {
                crate::dispatch::$k::dot_axpy(x, v, a, w, y)
            }
        }
    };
}

sinkhorn_kernels!(f32, f32s);
sinkhorn_kernels!(f64, f64s);
