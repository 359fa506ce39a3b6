//! `SinkhornKernels` for `Simd`: the exponential loops are dispatched at run time
//! (`dispatch`), the fused row pass of kernel mode runs on `wide`.

use kernels_core::Primitives;
use kernels_core::sinkhorn::SinkhornKernels;
use wide::{f32x8, f64x4};

use crate::Simd;
use crate::math::{exp_f32x8, exp_f64x4};
use crate::primitives::ACC;

macro_rules! sinkhorn_kernels {
    ($t:ty, $v:ident, $lanes:literal, $exp:ident, $hot:ident) => {
        impl SinkhornKernels<$t> for Simd {
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
                <kernels_core::Scalar as SinkhornKernels<$t>>::lse_accumulate(
                    alpha, xr, beta, mr, sr,
                );
            }

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
        }
    };
}

sinkhorn_kernels!(f32, f32x8, 8, exp_f32x8, f32s);
sinkhorn_kernels!(f64, f64x4, 4, exp_f64x4, f64s);
