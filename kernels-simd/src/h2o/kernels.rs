//! `H2oKernels` for `Simd`: the online-softmax exponentials, dispatched at run time.

use kernels_core::h2o::H2oKernels;

use crate::Simd;

macro_rules! h2o_kernels {
    ($t:ty, $hot:ident) => {
        impl H2oKernels<$t> for Simd {
            fn exp_shift(shift: $t, x: &mut [$t]) -> $t {
                crate::dispatch::$hot::exp_shift(shift, x)
            }
        }
    };
}

h2o_kernels!(f32, f32s);
h2o_kernels!(f64, f64s);
