//! The base `Primitives<f32>` and `Primitives<f64>` for [`Simd`]: the vector loops
//! (in `base`) run at the level chosen at run time (`dispatch`); the CSR rows are the
//! scalar reference with prefetching. Each family's own loops are in the folder named
//! for it.

use kernels_core::{Dense, Primitives, Strided, StridedMut};

use crate::lanes::prefetch_at;

/// Vectorised primitives (see the crate docs for the agreement bounds).
#[derive(Clone, Copy, Debug, Default)]
pub struct Simd;

/// How many rows ahead the CSR row primitives prefetch.
const CSR_AHEAD_ROWS: usize = 64;

/// Asks for the CSR arrays and the leading edge of `x` about [`CSR_AHEAD_ROWS`] rows
/// past this one (taking the rows ahead to be as long as this one, as in a stencil
/// matrix). A sweep or product over a large matrix is a chain of short rows with
/// only a few in flight, and the hardware prefetchers fall behind its streams.
/// `./scripts/bench.sh sor` times the scalar primitives (no hints) beside these on
/// the 5-point matrix of order 1M: a forward sweep took 10325 vs 10327 µs before the
/// hints and 10538 vs 6534 µs with them (portable build). The distance is not
/// critical: 32 to 256 rows timed alike in a one-off sweep (not kept in the repo).
#[inline(always)]
fn prefetch_csr_ahead<T>(cols: &[u32], vals: &[T], x: &[T]) {
    let ahead = CSR_AHEAD_ROWS * cols.len();
    prefetch_at(vals.as_ptr(), ahead);
    prefetch_at(cols.as_ptr(), ahead);
    if let Some(&last) = cols.last() {
        prefetch_at(x.as_ptr(), last as usize + CSR_AHEAD_ROWS);
    }
}

macro_rules! base_primitives {
    ($t:ty, $name:literal, $k:ident) => {
        impl Primitives<$t> for Simd {
            fn name() -> &'static str {
                $name
            }

            fn dot(x: &[$t], y: &[$t]) -> $t {
                crate::dispatch::$k::dot(x, y)
            }

            fn axpy(a: $t, x: &[$t], y: &mut [$t]) {
                crate::dispatch::$k::axpy(a, x, y);
            }

            fn scale(a: $t, x: &mut [$t]) {
                crate::dispatch::$k::scale(a, x);
            }

            fn sum(x: &[$t]) -> $t {
                crate::dispatch::$k::sum(x)
            }

            fn max(x: &[$t]) -> $t {
                crate::dispatch::$k::max(x)
            }

            fn lse(x: &[$t]) -> $t {
                crate::dispatch::$k::lse(x)
            }

            fn gemv(a: Dense<'_, $t>, x: &[$t], y: &mut [$t]) {
                crate::dispatch::$k::gemv(a, x, y);
            }

            fn gemv_t(a: Dense<'_, $t>, x: &[$t], y: &mut [$t]) {
                crate::dispatch::$k::gemv_t(a, x, y);
            }

            fn gemm(
                alpha: $t,
                a: Strided<'_, $t>,
                w: Option<&[$t]>,
                b: Strided<'_, $t>,
                c: StridedMut<'_, $t>,
            ) {
                crate::dispatch::$k::gemm(alpha, a, w, b, c);
            }

            #[inline]
            fn csr_row_split(
                cols: &[u32],
                vals: &[$t],
                x: &[$t],
                diag: usize,
                recent: usize,
            ) -> ($t, $t, $t) {
                // Rows of stencil matrices hold a handful of entries and the sweep is a
                // chain of dependent rows: lanes and extra accumulators were measured
                // slower than the plain loop, so this is the scalar reference, with
                // the rows ahead prefetched.
                prefetch_csr_ahead(cols, vals, x);
                <kernels_core::Scalar as Primitives<$t>>::csr_row_split(cols, vals, x, diag, recent)
            }

            #[inline]
            fn csr_dot(cols: &[u32], vals: &[$t], x: &[$t]) -> $t {
                // Stencil rows hold about five entries scattered over x, too few for
                // lanes to pay for a gather and a lane reduction. On the 5-point
                // matrix of order 1M, two accumulators, a four-way tree, two rows per
                // step, a branch-free select and unchecked loads all timed the same
                // as this plain loop or slower (the row's loads dominate), so this is
                // the scalar reference, with the rows ahead prefetched.
                prefetch_csr_ahead(cols, vals, x);
                <kernels_core::Scalar as Primitives<$t>>::csr_dot(cols, vals, x)
            }

            fn prefetch(x: &[$t]) {
                // One hint per 64-byte cache line.
                for i in (0..x.len()).step_by(64 / core::mem::size_of::<$t>()) {
                    prefetch_at(x.as_ptr(), i);
                }
            }
        }
    };
}

base_primitives!(f32, "simd f32x8", f32s);
base_primitives!(f64, "simd f64x4", f64s);
