//! `CgKernels` for `Simd`: the fused vector passes of CG (`passes`), dispatched at run
//! time.

use kernels_core::cg::CgKernels;

use crate::Simd;

macro_rules! cg_kernels {
    ($t:ty, $k:ident) => {
        impl CgKernels<$t> for Simd {
            fn cg_update(alpha: $t, p: &[$t], q: &[$t], x: &mut [$t], r: &mut [$t]) -> $t {
                crate::dispatch::$k::cg_update(alpha, p, q, x, r)
            }

            fn mul_dot(d: &[$t], r: &[$t], z: &mut [$t]) -> $t {
                crate::dispatch::$k::mul_dot(d, r, z)
            }

            fn xpby(z: &[$t], beta: $t, p: &mut [$t]) {
                crate::dispatch::$k::xpby(z, beta, p);
            }
        }
    };
}

cg_kernels!(f32, f32s);
cg_kernels!(f64, f64s);
