//! Run-time selection among the per-level builds of the vector kernels.
//!
//! `dispatched!` turns a kernel written once against [`Lanes`](crate::lanes::Lanes)
//! into a function that runs it at [`isa::active`](crate::isa::active): inside a
//! `#[target_feature]` function per level, so that every vector operation inlines to
//! that level's instructions. The one `unsafe` call per level is justified by the
//! level check that guards it.

/// `dispatched! { pub(crate) fn name / name_at(args) -> R = kernel; ... }` defines
/// `name(args)`, at the active level, and `name_at(level, args)`, at `level` or the
/// highest level this CPU has below it (for tests and benchmarks); `kernel(token,
/// args)` is the generic kernel.
macro_rules! dispatched {
    ($(
        $(#[$doc:meta])*
        $vis:vis fn $name:ident / $name_at:ident ($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty = $kernel:path;
    )*) => {$(
        $(#[$doc])*
        #[allow(clippy::too_many_arguments, reason = "the kernel's arguments")]
        #[inline]
        $vis fn $name($($arg: $ty),*) -> $ret {
            $name_at($crate::isa::active(), $($arg),*)
        }

        $(#[$doc])*
        #[allow(dead_code, reason = "used where a test or benchmark picks the level")]
        #[allow(clippy::too_many_arguments, reason = "the kernel's arguments and the level")]
        #[inline]
        $vis fn $name_at(level: $crate::isa::Level, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                use $crate::lanes::x86::{Avx2, Avx512};
                #[target_feature(enable = "avx512f,avx2,fma")]
                #[allow(clippy::too_many_arguments, reason = "the kernel's arguments")]
                fn avx512($($arg: $ty),*) -> $ret {
                    $kernel(Avx512::new(), $($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments, reason = "the kernel's arguments")]
                fn avx2($($arg: $ty),*) -> $ret {
                    $kernel(Avx2::new(), $($arg),*)
                }
                match level.min($crate::isa::detected()) {
                    // SAFETY: the level is capped at what `isa::detected` found this
                    // CPU and operating system to support.
                    $crate::isa::Level::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above.
                    $crate::isa::Level::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::isa::Level::Portable => {}
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            let _ = level;
            $kernel($crate::lanes::Portable, $($arg),*)
        }
    )*};
}

/// The dispatched kernels for one element type: every vector loop of the crate.
macro_rules! simd_kernels {
    ($module:ident, $t:ty) => {
        pub(crate) mod $module {
            use crate::cg::passes as cg;
            use crate::sinkhorn::passes as sinkhorn;
            use crate::sor::red_black;
            use crate::{base, exp_loops, gemm};
            use kernels_core::{Dense, Strided, StridedMut};

            dispatched! {
                // The base primitives.
                pub(crate) fn dot / dot_at(x: &[$t], y: &[$t]) -> $t = base::dot;
                pub(crate) fn axpy / axpy_at(a: $t, x: &[$t], y: &mut [$t]) -> () = base::axpy;
                pub(crate) fn scale / scale_at(a: $t, x: &mut [$t]) -> () = base::scale;
                pub(crate) fn sum / sum_at(x: &[$t]) -> $t = base::sum;
                pub(crate) fn max / max_at(x: &[$t]) -> $t = base::max;
                pub(crate) fn lse / lse_at(x: &[$t]) -> $t = base::lse;
                pub(crate) fn gemv / gemv_at(a: Dense<'_, $t>, x: &[$t], y: &mut [$t]) -> () =
                    base::gemv;
                pub(crate) fn gemv_t / gemv_t_at(a: Dense<'_, $t>, x: &[$t], y: &mut [$t]) -> () =
                    base::gemv_t;
                pub(crate) fn gemm / gemm_at(
                    alpha: $t,
                    a: Strided<'_, $t>,
                    w: Option<&[$t]>,
                    b: Strided<'_, $t>,
                    c: StridedMut<'_, $t>,
                ) -> () = gemm::gemm;
                // H2O.
                pub(crate) fn exp_shift / exp_shift_at(shift: $t, x: &mut [$t]) -> $t =
                    exp_loops::exp_shift;
                // Sinkhorn.
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
                pub(crate) fn dot_axpy / dot_axpy_at(
                    x: &[$t], v: &[$t], a: $t, w: &[$t], y: &mut [$t],
                ) -> $t = sinkhorn::dot_axpy;
                // CG.
                pub(crate) fn cg_update / cg_update_at(
                    alpha: $t, p: &[$t], q: &[$t], x: &mut [$t], r: &mut [$t],
                ) -> $t = cg::cg_update;
                pub(crate) fn mul_dot / mul_dot_at(d: &[$t], r: &[$t], z: &mut [$t]) -> $t =
                    cg::mul_dot;
                pub(crate) fn xpby / xpby_at(z: &[$t], beta: $t, p: &mut [$t]) -> () = cg::xpby;
                // SOR.
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
    };
}

simd_kernels!(f32s, f32);
simd_kernels!(f64s, f64);
