//! `LinattnKernels` for `Simd`: the gated mask's exponentials (`exp_loops`),
//! dispatched at run time by the table here; the products are the dispatched `gemm`.

use kernels_core::linattn::LinattnKernels;

use crate::Simd;

macro_rules! linattn_kernels {
    ($t:ty, $hot:ident) => {
        pub(crate) mod $hot {
            use crate::exp_loops;

            dispatched! {
                pub(crate) fn scale_exp / scale_exp_at(factor: $t, e: &[$t], x: &mut [$t]) -> () =
                    exp_loops::scale_exp;
            }
        }

        impl LinattnKernels<$t> for Simd {
            fn scale_exp(factor: $t, e: &[$t], x: &mut [$t]) {
                $hot::scale_exp(factor, e, x)
            }
        }
    };
}

linattn_kernels!(f32, f32s);
linattn_kernels!(f64, f64s);
