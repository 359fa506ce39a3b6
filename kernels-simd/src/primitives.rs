//! `Primitives<f32>` and `Primitives<f64>` on `wide` vectors.
//!
//! One macro writes both: the two implementations differ only in the vector type, the
//! lane count and the exponential.

use kernels_core::sor::rb_len;
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
const ACC: usize = 4;

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

macro_rules! simd_primitives {
    (
        $t:ty, $v:ident, $lanes:literal, $exp:ident, $name:literal, $hot:ident,
        $rb:ident, $rb_split:expr
    ) => {
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

            fn lse_accumulate(alpha: $t, x: &[$t], beta: $t, max: &mut [$t], sum: &mut [$t]) {
                debug_assert!(x.len() == max.len() && x.len() == sum.len());
                let n = x.len().min(max.len()).min(sum.len());
                let (av, bv) = ($v::splat(alpha), $v::splat(beta));
                let (xc, xr) = x[..n].as_chunks::<$lanes>();
                let (mc, mr) = max[..n].as_chunks_mut::<$lanes>();
                let (sc, sr) = sum[..n].as_chunks_mut::<$lanes>();
                for ((xs, ms), ss) in xc.iter().zip(mc.iter_mut()).zip(sc.iter_mut()) {
                    let v = av.mul_add($v::new(*xs), bv);
                    let (m, s) = ($v::new(*ms), $v::new(*ss));
                    // One exponential per element: exp(-|v - m|) is the factor that
                    // rescales the old sum when v is the new maximum, and the new
                    // term otherwise. v = m = -inf gives NaN: that term is zero.
                    let d = v - m;
                    let e = d.is_nan().select($v::ZERO, $exp(-d.abs()));
                    let new_max = v.simd_gt(m);
                    *ss = new_max.select(s.mul_add(e, $v::ONE), s + e).to_array();
                    *ms = m.max(v).to_array();
                }
                // The remainder uses the scalar reference rule.
                <kernels_core::Scalar as Primitives<$t>>::lse_accumulate(alpha, xr, beta, mr, sr);
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

            // h2o primitives

            fn exp_shift(shift: $t, x: &mut [$t]) -> $t {
                crate::dispatch::$hot::exp_shift(shift, x)
            }

            // sinkhorn primitives

            fn lse_affine(alpha: $t, x: &[$t], y: &[$t]) -> $t {
                crate::dispatch::$hot::lse_affine(alpha, x, y)
            }

            fn exp_affine(alpha: $t, x: &[$t], beta: $t, y: &[$t], out: &mut [$t]) {
                crate::dispatch::$hot::exp_affine_sum(alpha, x, beta, y, out);
            }

            fn sum_exp_affine(alpha: $t, x: &[$t], beta: $t, y: &[$t]) -> $t {
                crate::dispatch::$hot::sum_exp_affine(alpha, x, beta, y)
            }

            fn exp_affine_accumulate(alpha: $t, x: &[$t], beta: $t, y: &[$t], sum: &mut [$t]) {
                crate::dispatch::$hot::exp_affine_accumulate(alpha, x, beta, y, sum);
            }

            // linattn primitives

            fn gemm(
                alpha: $t,
                a: Strided<'_, $t>,
                w: Option<&[$t]>,
                b: Strided<'_, $t>,
                c: StridedMut<'_, $t>,
            ) {
                crate::dispatch::$hot::gemm(alpha, a, w, b, c);
            }

            // sor primitives

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
                    return <kernels_core::Scalar as Primitives<$t>>::rb_row(
                        parity, keep, gain, b, up, down, row,
                    );
                };
                if n < L + 2 {
                    return <kernels_core::Scalar as Primitives<$t>>::rb_row(
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
                    crate::red_black::$rb::split(parity, keep, gain, b, up, down, row, n);
                } else {
                    crate::red_black::$rb::masked(parity, keep, gain, b, up, down, row, n);
                }
            }

            // sinkhorn primitives (one-pass iterations)

            fn exp_affine_sum(alpha: $t, x: &[$t], beta: $t, y: &[$t], out: &mut [$t]) -> $t {
                crate::dispatch::$hot::exp_affine_sum(alpha, x, beta, y, out)
            }

            fn dot_axpy(x: &[$t], v: &[$t], a: $t, w: &[$t], y: &mut [$t]) -> $t {
                debug_assert!(x.len() == v.len() && x.len() == w.len() && x.len() == y.len());
                let n = x.len().min(v.len()).min(w.len()).min(y.len());
                let av = $v::splat(a);
                let (xb, xt) = x[..n].as_chunks::<{ ACC * $lanes }>();
                let (vb, vt) = v[..n].as_chunks::<{ ACC * $lanes }>();
                let (wb, wt) = w[..n].as_chunks::<{ ACC * $lanes }>();
                let (yb, yt) = y[..n].as_chunks_mut::<{ ACC * $lanes }>();
                let mut acc = [$v::ZERO; ACC];
                for (((xs, vs), ws), ys) in xb.iter().zip(vb).zip(wb).zip(yb) {
                    let (xs, vs) = (xs.as_chunks::<$lanes>().0, vs.as_chunks::<$lanes>().0);
                    let (ws, ys) = (ws.as_chunks::<$lanes>().0, ys.as_chunks_mut::<$lanes>().0);
                    for k in 0..ACC {
                        acc[k] = $v::new(xs[k]).mul_add($v::new(vs[k]), acc[k]);
                        ys[k] = av.mul_add($v::new(ws[k]), $v::new(ys[k])).to_array();
                    }
                }
                <Simd as Primitives<$t>>::axpy(a, wt, yt);
                let total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
                total.reduce_add() + <Simd as Primitives<$t>>::dot(xt, vt)
            }

            // cg primitives

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

            fn cg_update(alpha: $t, p: &[$t], q: &[$t], x: &mut [$t], r: &mut [$t]) -> $t {
                debug_assert!(p.len() == q.len() && p.len() == x.len() && p.len() == r.len());
                let n = p.len().min(q.len()).min(x.len()).min(r.len());
                let (av, nav) = ($v::splat(alpha), $v::splat(-alpha));
                let (pb, pt) = p[..n].as_chunks::<{ ACC * $lanes }>();
                let (qb, qt) = q[..n].as_chunks::<{ ACC * $lanes }>();
                let streams = [p.as_ptr(), q.as_ptr(), x.as_ptr(), r.as_ptr()];
                let (xb, xt) = x[..n].as_chunks_mut::<{ ACC * $lanes }>();
                let (rb, rt) = r[..n].as_chunks_mut::<{ ACC * $lanes }>();
                let mut acc = [$v::ZERO; ACC];
                for (blk, (((ps, qs), xs), rs)) in pb.iter().zip(qb).zip(xb).zip(rb).enumerate() {
                    prefetch_ahead(&streams, blk * ACC * $lanes);
                    let (ps, qs) = (ps.as_chunks::<$lanes>().0, qs.as_chunks::<$lanes>().0);
                    let (xs, rs) = (xs.as_chunks_mut::<$lanes>().0, rs.as_chunks_mut::<$lanes>().0);
                    for k in 0..ACC {
                        xs[k] = av.mul_add($v::new(ps[k]), $v::new(xs[k])).to_array();
                        let rk = nav.mul_add($v::new(qs[k]), $v::new(rs[k]));
                        rs[k] = rk.to_array();
                        acc[k] = rk.mul_add(rk, acc[k]);
                    }
                }
                let total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
                let (pc, pr) = pt.as_chunks::<$lanes>();
                let (qc, qr) = qt.as_chunks::<$lanes>();
                let (xc, xr) = xt.as_chunks_mut::<$lanes>();
                let (rc, rr) = rt.as_chunks_mut::<$lanes>();
                let mut tail = $v::ZERO;
                for (((ps, qs), xs), rs) in pc.iter().zip(qc).zip(xc).zip(rc) {
                    *xs = av.mul_add($v::new(*ps), $v::new(*xs)).to_array();
                    let rk = nav.mul_add($v::new(*qs), $v::new(*rs));
                    *rs = rk.to_array();
                    tail = rk.mul_add(rk, tail);
                }
                (total + tail).reduce_add()
                    + <kernels_core::Scalar as Primitives<$t>>::cg_update(alpha, pr, qr, xr, rr)
            }

            fn mul_dot(d: &[$t], r: &[$t], z: &mut [$t]) -> $t {
                debug_assert!(d.len() == r.len() && d.len() == z.len());
                let n = d.len().min(r.len()).min(z.len());
                let (db, dt) = d[..n].as_chunks::<{ ACC * $lanes }>();
                let (rb, rt) = r[..n].as_chunks::<{ ACC * $lanes }>();
                let (zb, zt) = z[..n].as_chunks_mut::<{ ACC * $lanes }>();
                let mut acc = [$v::ZERO; ACC];
                let streams = [d.as_ptr(), r.as_ptr()];
                for (blk, ((ds, rs), zs)) in db.iter().zip(rb).zip(zb).enumerate() {
                    prefetch_ahead(&streams, blk * ACC * $lanes);
                    let (ds, rs) = (ds.as_chunks::<$lanes>().0, rs.as_chunks::<$lanes>().0);
                    let zs = zs.as_chunks_mut::<$lanes>().0;
                    for k in 0..ACC {
                        let rk = $v::new(rs[k]);
                        let zk = $v::new(ds[k]) * rk;
                        zs[k] = zk.to_array();
                        acc[k] = rk.mul_add(zk, acc[k]);
                    }
                }
                let total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
                total.reduce_add() + <kernels_core::Scalar as Primitives<$t>>::mul_dot(dt, rt, zt)
            }

            fn prefetch(x: &[$t]) {
                // One hint per 64-byte cache line.
                for i in (0..x.len()).step_by(64 / core::mem::size_of::<$t>()) {
                    prefetch_at(x.as_ptr(), i);
                }
            }

            fn xpby(z: &[$t], beta: $t, p: &mut [$t]) {
                debug_assert_eq!(z.len(), p.len());
                let bv = $v::splat(beta);
                let (zc, zr) = z.as_chunks::<$lanes>();
                let streams = [z.as_ptr(), p.as_ptr()];
                let (pc, pr) = p.as_chunks_mut::<$lanes>();
                for (k, (ps, zs)) in pc.iter_mut().zip(zc).enumerate() {
                    prefetch_ahead(&streams, k * $lanes);
                    *ps = bv.mul_add($v::new(*ps), $v::new(*zs)).to_array();
                }
                <kernels_core::Scalar as Primitives<$t>>::xpby(zr, beta, pr);
            }
        }
    };
}

// rb_row: the masked form for f32 (four lanes to a register even on SSE2) and for
// f64 with AVX; the split form for f64 where a register holds two (see red_black).
simd_primitives!(f32, f32x8, 8, exp_f32x8, "simd f32x8", f32s, f32s, false);
simd_primitives!(
    f64,
    f64x4,
    4,
    exp_f64x4,
    "simd f64x4",
    f64s,
    f64s,
    !cfg!(target_feature = "avx")
);
