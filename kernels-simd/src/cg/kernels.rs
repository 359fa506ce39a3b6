//! `CgKernels` for `Simd`: the fused vector passes of CG (`passes`), dispatched at run
//! time by the table here.

use kernels_core::cg::CgKernels;

use crate::Simd;

macro_rules! cg_kernels {
    ($t:ty, $k:ident) => {
        pub(crate) mod $k {
            use super::super::passes as cg;

            dispatched! {
                pub(crate) fn cg_update / cg_update_at(
                    alpha: $t, p: &[$t], q: &[$t], x: &mut [$t], r: &mut [$t],
                ) -> $t = cg::cg_update;
                pub(crate) fn mul_dot / mul_dot_at(d: &[$t], r: &[$t], z: &mut [$t]) -> $t =
                    cg::mul_dot;
                pub(crate) fn xpby / xpby_at(z: &[$t], beta: $t, p: &mut [$t]) -> () = cg::xpby;
            }
        }

        impl CgKernels<$t> for Simd {
            fn cg_update(alpha: $t, p: &[$t], q: &[$t], x: &mut [$t], r: &mut [$t]) -> $t {
                $k::cg_update(alpha, p, q, x, r)
            }

            fn mul_dot(d: &[$t], r: &[$t], z: &mut [$t]) -> $t {
                $k::mul_dot(d, r, z)
            }

            fn xpby(z: &[$t], beta: $t, p: &mut [$t]) {
                $k::xpby(z, beta, p);
            }
        }
    };
}

cg_kernels!(f32, f32s);
cg_kernels!(f64, f64s);
