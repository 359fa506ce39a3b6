//! `SorKernels` for `Simd`: one colour of a red-black grid row (see `red_black`).

use kernels_core::sor::SorKernels;
use kernels_core::stencil::rb_len;

use crate::Simd;

macro_rules! sor_kernels {
    ($t:ty, $lanes:literal, $rb:ident, $rb_split:expr) => {
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
                const L: usize = $lanes;
                let n = rb_len(b, up, down, row);
                // The first and last rows of a grid (a missing neighbour) and rows too
                // short for one vector are rare: the scalar reference does them, so the
                // vector loop below has no per-vector test for a missing row.
                let (Some(up), Some(down)) = (up, down) else {
                    return <kernels_core::Scalar as SorKernels<$t>>::rb_row(
                        parity, keep, gain, b, up, down, row,
                    );
                };
                if n < L + 2 {
                    return <kernels_core::Scalar as SorKernels<$t>>::rb_row(
                        parity,
                        keep,
                        gain,
                        b,
                        Some(up),
                        Some(down),
                        row,
                    );
                }
                if $rb_split {
                    super::red_black::$rb::split(parity, keep, gain, b, up, down, row, n);
                } else {
                    super::red_black::$rb::masked(parity, keep, gain, b, up, down, row, n);
                }
            }
        }
    };
}

// The masked form for f32 (four lanes to a register even on SSE2) and for f64 with
// AVX; the split form for f64 where a register holds two (see red_black).
sor_kernels!(f32, 8, f32s, false);
sor_kernels!(f64, 4, f64s, !cfg!(target_feature = "avx"));
