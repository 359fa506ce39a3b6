//! `H2oKernels` for `Simd`: the online-softmax exponentials (`exp_loops`), dispatched
//! at run time by the table here.

use kernels_core::h2o::H2oKernels;

use crate::Simd;

macro_rules! h2o_kernels {
    ($t:ty, $hot:ident) => {
        pub(crate) mod $hot {
            use crate::exp_loops;

            dispatched! {
                pub(crate) fn exp_shift / exp_shift_at(shift: $t, x: &mut [$t]) -> $t =
                    exp_loops::exp_shift;
            }
        }

        impl H2oKernels<$t> for Simd {
            fn exp_shift(shift: $t, x: &mut [$t]) -> $t {
                $hot::exp_shift(shift, x)
            }
        }
    };
}

h2o_kernels!(f32, f32s);
h2o_kernels!(f64, f64s);
