//! `SorKernels` for `Simd`: one colour of a red-black grid row (`red_black`),
//! dispatched at run time.

use kernels_core::sor::SorKernels;

use crate::Simd;

macro_rules! sor_kernels {
    ($t:ty, $k:ident) => {
        impl SorKernels<$t> for Simd {
            fn rb_row(
                parity: usize,
                keep: $t,
                gain: $t,
                b: &[$t],
                up: Option<&[$t]>,
                down: Option<&[$t]>,
                row: &mut [$t],
            ) {
                crate::dispatch::$k::rb_row(parity, keep, gain, b, up, down, row);
            }
        }
    };
}

sor_kernels!(f32, f32s);
sor_kernels!(f64, f64s);
