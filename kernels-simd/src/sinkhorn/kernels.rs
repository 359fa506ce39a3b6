//! `SinkhornKernels` for `Simd`: the table that dispatches this family's loops at run
//! time (the exponential loops from `exp_loops`, the other row passes from `passes`),
//! and the trait implementation on it.

use kernels_core::sinkhorn::{PASS_ROWS, SinkhornKernels};

use crate::Simd;

macro_rules! sinkhorn_kernels {
    ($t:ty, $k:ident) => {
        pub(crate) mod $k {
            use super::super::lanes;
            use super::super::passes as sinkhorn;
            use crate::exp_loops;
            use kernels_core::sinkhorn::PASS_ROWS;

            dispatched! {
                pub(crate) fn lse_affine / lse_affine_at(alpha: $t, x: &[$t], y: &[$t]) -> $t =
                    exp_loops::lse_affine;
                pub(crate) fn sum_exp_affine / sum_exp_affine_at(
                    alpha: $t, x: &[$t], beta: $t, y: &[$t],
                ) -> $t = exp_loops::sum_exp_affine;
                pub(crate) fn exp_affine_accumulate / exp_affine_accumulate_at(
                    alpha: $t, x: &[$t], beta: $t, y: &[$t], sum: &mut [$t],
                ) -> $t = exp_loops::write_exp_affine::<$t, _, true>;
                pub(crate) fn exp_affine_sum / exp_affine_sum_at(
                    alpha: $t, x: &[$t], beta: $t, y: &[$t], out: &mut [$t],
                ) -> $t = exp_loops::write_exp_affine::<$t, _, false>;
                pub(crate) fn lse_accumulate / lse_accumulate_at(
                    alpha: $t, x: &[$t], beta: $t, max: &mut [$t], sum: &mut [$t],
                ) -> () = sinkhorn::lse_accumulate;
                pub(crate) fn dots_axpys / dots_axpys_at(
                    x: [&[$t]; PASS_ROWS], v: &[$t], a: [$t; PASS_ROWS], w: [&[$t]; PASS_ROWS],
                    y: &mut [$t],
                ) -> [$t; PASS_ROWS] = sinkhorn::dots_axpys;
                pub(crate) fn sq_dist_row / sq_dist_row_at(
                    x: &[$t], yt: &[$t], out: &mut [$t],
                ) -> () = sinkhorn::sq_dist_row;
                pub(crate) fn batch_width / batch_width_at() -> usize =
                    lanes::batch_width::<$t, _>;
                pub(crate) fn lanes_exp_rows / lanes_exp_rows_at(
                    lanes: usize, alpha: $t, x: &[$t], beta: &[$t], y: &[$t], weights: &[$t],
                    out: &mut [$t], sums: &mut [$t], ratios: &mut [$t],
                ) -> bool = lanes::lanes_exp_rows;
                pub(crate) fn lanes_axpy / lanes_axpy_at(
                    a: &[$t], x: &[$t], y: &mut [$t],
                ) -> bool = lanes::lanes_axpy;
            }
        }

        impl SinkhornKernels<$t> for Simd {
            fn lse_accumulate(alpha: $t, x: &[$t], beta: $t, max: &mut [$t], sum: &mut [$t]) {
                $k::lse_accumulate(alpha, x, beta, max, sum);
            }

            fn lse_affine(alpha: $t, x: &[$t], y: &[$t]) -> $t {
                $k::lse_affine(alpha, x, y)
            }

            fn exp_affine(alpha: $t, x: &[$t], beta: $t, y: &[$t], out: &mut [$t]) {
                $k::exp_affine_sum(alpha, x, beta, y, out);
            }

            fn sum_exp_affine(alpha: $t, x: &[$t], beta: $t, y: &[$t]) -> $t {
                $k::sum_exp_affine(alpha, x, beta, y)
            }

            fn exp_affine_accumulate(alpha: $t, x: &[$t], beta: $t, y: &[$t], sum: &mut [$t]) {
                $k::exp_affine_accumulate(alpha, x, beta, y, sum);
            }

            fn exp_affine_sum(alpha: $t, x: &[$t], beta: $t, y: &[$t], out: &mut [$t]) -> $t {
                $k::exp_affine_sum(alpha, x, beta, y, out)
            }

            fn dots_axpys(
                x: [&[$t]; PASS_ROWS],
                v: &[$t],
                a: [$t; PASS_ROWS],
                w: [&[$t]; PASS_ROWS],
                y: &mut [$t],
            ) -> [$t; PASS_ROWS] {
                $k::dots_axpys(x, v, a, w, y)
            }

            fn sq_dist_row(x: &[$t], yt: &[$t], out: &mut [$t]) {
                $k::sq_dist_row(x, yt, out);
            }

            fn ln_in_place(x: &mut [$t]) {
                <$t as super::lanes::LnPass>::ln_pass(x);
            }

            fn batch_lanes(m: usize) -> usize {
                let w = $k::batch_width();
                if m.is_multiple_of(w) { w } else { 1 }
            }

            fn lanes_exp_rows(
                lanes: usize,
                alpha: $t,
                x: &[$t],
                beta: &[$t],
                y: &[$t],
                weights: &[$t],
                out: &mut [$t],
                sums: &mut [$t],
                ratios: &mut [$t],
            ) -> bool {
                $k::lanes_exp_rows(lanes, alpha, x, beta, y, weights, out, sums, ratios)
            }

            fn lanes_axpy(a: &[$t], x: &[$t], y: &mut [$t]) -> bool {
                $k::lanes_axpy(a, x, y)
            }
        }
    };
}

sinkhorn_kernels!(f32, f32s);
sinkhorn_kernels!(f64, f64s);
