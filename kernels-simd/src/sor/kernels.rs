//! `SorKernels` for `Simd`: one colour of a red-black grid row (`red_black`),
//! dispatched at run time by the table here.

use kernels_core::sor::SorKernels;

use crate::Simd;

macro_rules! sor_kernels {
    ($t:ty, $k:ident) => {
        pub(crate) mod $k {
            use super::super::red_black;

            dispatched! {
                pub(crate) fn rb_row / rb_row_at(
                    parity: usize,
                    keep: $t,
                    gain: $t,
                    b: &[$t],
                    up: Option<&[$t]>,
                    down: Option<&[$t]>,
                    row: &mut [$t],
                ) -> () = red_black::rb_row;
                #[cfg(test)]
                #[allow(dead_code, reason = "the tests pick the level")]
                pub(crate) fn rb_form / rb_form_at(
                    split: bool,
                    parity: usize,
                    keep: $t,
                    gain: $t,
                    b: &[$t],
                    up: &[$t],
                    down: &[$t],
                    row: &mut [$t],
                ) -> () = red_black::rb_form;
            }
        }

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
                $k::rb_row(parity, keep, gain, b, up, down, row);
            }
        }
    };
}

sor_kernels!(f32, f32s);
sor_kernels!(f64, f64s);
