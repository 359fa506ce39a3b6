//! The base `Primitives<f32>` and `Primitives<f64>` on `wide` vectors (each family's
//! own loops are in the folder named for it).
//!
//! One macro writes both: the two implementations differ only in the vector type, the
//! lane count and the exponential.

use kernels_core::{Dense, Primitives, Strided, StridedMut};
// Called by path: in no_std only the trait has exp/ln, while a host build that links
// std also sees the inherent methods, and a plain `use` would then be unused.
use num_traits::Float;
use wide::{f32x8, f64x4};

use crate::lanes::{prefetch_ahead, prefetch_at};
use crate::math::{exp_f32x8, exp_f64x4};

/// Vectorised primitives (see the crate docs for the agreement bounds).
#[derive(Clone, Copy, Debug, Default)]
pub struct Simd;

/// Independent accumulators in the reductions: enough to cover the add latency.
pub(crate) const ACC: usize = 4;

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
    ($t:ty, $v:ident, $lanes:literal, $exp:ident, $name:literal, $hot:ident) => {
        impl Primitives<$t> for Simd {
            fn name() -> &'static str {
                $name
            }

            fn dot(x: &[$t], y: &[$t]) -> $t {
                debug_assert_eq!(x.len(), y.len());
                let n = x.len().min(y.len());
                let (xb, xt) = x[..n].as_chunks::<{ ACC * $lanes }>();
                let (yb, yt) = y[..n].as_chunks::<{ ACC * $lanes }>();
                let mut acc = [$v::ZERO; ACC];
                for (xs, ys) in xb.iter().zip(yb) {
                    let (xs, ys) = (xs.as_chunks::<$lanes>().0, ys.as_chunks::<$lanes>().0);
                    for k in 0..ACC {
                        acc[k] = $v::new(xs[k]).mul_add($v::new(ys[k]), acc[k]);
                    }
                }
                let (xc, xr) = xt.as_chunks::<$lanes>();
                let (yc, yr) = yt.as_chunks::<$lanes>();
                for (k, (xs, ys)) in xc.iter().zip(yc).enumerate() {
                    acc[k] = $v::new(*xs).mul_add($v::new(*ys), acc[k]);
                }
                let total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
                xr.iter()
                    .zip(yr)
                    .fold(total.reduce_add(), |s, (&a, &b)| s + a * b)
            }

            fn axpy(a: $t, x: &[$t], y: &mut [$t]) {
                crate::dispatch::$hot::axpy(a, x, y);
            }

            fn scale(a: $t, x: &mut [$t]) {
                let av = $v::splat(a);
                let (xc, xr) = x.as_chunks_mut::<$lanes>();
                for xs in xc {
                    *xs = ($v::new(*xs) * av).to_array();
                }
                for xi in xr {
                    *xi *= a;
                }
            }

            fn sum(x: &[$t]) -> $t {
                let (xb, xt) = x.as_chunks::<{ ACC * $lanes }>();
                let mut acc = [$v::ZERO; ACC];
                for (blk, xs) in xb.iter().enumerate() {
                    prefetch_ahead(&[x.as_ptr()], blk * ACC * $lanes);
                    let xs = xs.as_chunks::<$lanes>().0;
                    for k in 0..ACC {
                        acc[k] += $v::new(xs[k]);
                    }
                }
                let (xc, xr) = xt.as_chunks::<$lanes>();
                for (k, xs) in xc.iter().enumerate() {
                    acc[k] += $v::new(*xs);
                }
                let total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
                xr.iter().fold(total.reduce_add(), |s, &v| s + v)
            }

            fn max(x: &[$t]) -> $t {
                let (xb, xt) = x.as_chunks::<{ ACC * $lanes }>();
                // fast_max is one instruction; it may return either operand for NaN,
                // and inputs hold no NaN (documented on the trait).
                let mut acc = [$v::splat(<$t>::NEG_INFINITY); ACC];
                for xs in xb {
                    let xs = xs.as_chunks::<$lanes>().0;
                    for k in 0..ACC {
                        acc[k] = acc[k].fast_max($v::new(xs[k]));
                    }
                }
                let (xc, xr) = xt.as_chunks::<$lanes>();
                for (k, xs) in xc.iter().enumerate() {
                    acc[k] = acc[k].fast_max($v::new(*xs));
                }
                let m = acc[0].fast_max(acc[1]).fast_max(acc[2].fast_max(acc[3]));
                m.to_array()
                    .iter()
                    .chain(xr)
                    .fold(<$t>::NEG_INFINITY, |m, &v| if v > m { v } else { m })
            }

            fn lse(x: &[$t]) -> $t {
                let m = <Simd as Primitives<$t>>::max(x);
                if !m.is_finite() {
                    // All -inf (or empty): -inf. Some +inf: +inf. Shifting would give NaN.
                    return m;
                }
                let mv = $v::splat(m);
                let (xc, xr) = x.as_chunks::<$lanes>();
                let mut acc = $v::ZERO;
                for xs in xc {
                    acc += $exp($v::new(*xs) - mv);
                }
                let s = xr
                    .iter()
                    .fold(acc.reduce_add(), |s, &v| s + Float::exp(v - m));
                m + Float::ln(s)
            }

            fn gemv(a: Dense<'_, $t>, x: &[$t], y: &mut [$t]) {
                debug_assert!(x.len() == a.cols() && y.len() == a.rows());
                for (yi, row) in y.iter_mut().zip(a.row_iter()) {
                    *yi = <Simd as Primitives<$t>>::dot(row, x);
                }
            }

            fn gemv_t(a: Dense<'_, $t>, x: &[$t], y: &mut [$t]) {
                debug_assert!(x.len() == a.rows() && y.len() == a.cols());
                y.fill(0.0);
                for (&xi, row) in x.iter().zip(a.row_iter()) {
                    <Simd as Primitives<$t>>::axpy(xi, row, y);
                }
            }

            fn gemm(
                alpha: $t,
                a: Strided<'_, $t>,
                w: Option<&[$t]>,
                b: Strided<'_, $t>,
                c: StridedMut<'_, $t>,
            ) {
                crate::dispatch::$hot::gemm(alpha, a, w, b, c);
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

base_primitives!(f32, f32x8, 8, exp_f32x8, "simd f32x8", f32s);
base_primitives!(f64, f64x4, 4, exp_f64x4, "simd f64x4", f64s);
