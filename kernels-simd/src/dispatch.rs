//! Run-time selection among the per-level builds of the hot kernels.
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
        #[inline]
        $vis fn $name($($arg: $ty),*) -> $ret {
            $name_at($crate::isa::active(), $($arg),*)
        }

        #[allow(dead_code, reason = "used where a test or benchmark picks the level")]
        #[inline]
        $vis fn $name_at(level: $crate::isa::Level, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                use $crate::lanes::x86::{Avx2, Avx512};
                #[target_feature(enable = "avx512f,avx2,fma")]
                fn avx512($($arg: $ty),*) -> $ret {
                    $kernel(Avx512::new(), $($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
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

/// The dispatched kernels for one element type.
macro_rules! hot_kernels {
    ($module:ident, $t:ty) => {
        pub(crate) mod $module {
            use crate::{axpy, exp_loops, gemm};
            use kernels_core::{Strided, StridedMut};

            dispatched! {
                pub(crate) fn axpy / axpy_at(a: $t, x: &[$t], y: &mut [$t]) -> () = axpy::axpy;
                pub(crate) fn exp_shift / exp_shift_at(shift: $t, x: &mut [$t]) -> $t =
                    exp_loops::exp_shift;
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
                pub(crate) fn gemm / gemm_at(
                    alpha: $t,
                    a: Strided<'_, $t>,
                    w: Option<&[$t]>,
                    b: Strided<'_, $t>,
                    c: StridedMut<'_, $t>,
                ) -> () = gemm::gemm;
            }
        }
    };
}

hot_kernels!(f32s, f32);
hot_kernels!(f64s, f64);
