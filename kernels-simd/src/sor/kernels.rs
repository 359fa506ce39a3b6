//! `SorKernels` for `Simd`: one colour of a red-black grid row (`red_black`),
//! dispatched at run time by the table here.

use kernels_core::sor::SorKernels;

use crate::Simd;
use crate::isa::Level;

macro_rules! sor_kernels {
    ($t:ty, $k:ident, $portable_below_avx512:expr) => {
        pub(crate) mod $k {
            use super::super::red_black;

            dispatched! {
                #[allow(dead_code, reason = "the impl below picks the level itself")]
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
                let level = match crate::isa::active() {
                    Level::Avx2 if $portable_below_avx512 => Level::Portable,
                    level => level,
                };
                $k::rb_row_at(level, parity, keep, gain, b, up, down, row);
            }
        }
    };
}

// f64 rows at the AVX2 level take the portable kernel: there the masked form uses two
// of a register's four lanes, and in a one-off grid sweep (256 x 1000, f64, not kept
// in the repo) it took 777-803 µs against 668-719 µs for the portable split form on
// two-lane SSE2 registers (the previous kernel), on an AVX-512 Xeon capped with
// KN_SIMD=avx2; on CPUs that split 256-bit operations in two (Zen 1) the masked form
// can only lose more.
sor_kernels!(f32, f32s, false);
sor_kernels!(f64, f64s, true);
