//! Run-time selection among the per-level builds of the vector kernels: the
//! `dispatched!` macro, and the table of the base primitives (each family folder
//! dispatches its own loops with the same macro).
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

/// The dispatched base primitives for one element type (each family folder has its
/// own table, next to the loops it dispatches).
macro_rules! base_kernels {
    ($module:ident, $t:ty) => {
        pub(crate) mod $module {
            use crate::{base, gemm};
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
            }
        }
    };
}

base_kernels!(f32s, f32);
base_kernels!(f64s, f64);
