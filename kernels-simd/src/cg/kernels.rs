//! `CgKernels` for `Simd`: the fused vector passes of CG.

use kernels_core::cg::CgKernels;
use wide::{f32x8, f64x4};

use crate::Simd;
use crate::lanes::prefetch_ahead;
use crate::primitives::ACC;

macro_rules! cg_kernels {
    ($t:ty, $v:ident, $lanes:literal) => {
        impl CgKernels<$t> for Simd {
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
                    + <kernels_core::Scalar as CgKernels<$t>>::cg_update(alpha, pr, qr, xr, rr)
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
                total.reduce_add() + <kernels_core::Scalar as CgKernels<$t>>::mul_dot(dt, rt, zt)
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
                <kernels_core::Scalar as CgKernels<$t>>::xpby(zr, beta, pr);
            }
        }
    };
}

cg_kernels!(f32, f32x8, 8);
cg_kernels!(f64, f64x4, 4);
