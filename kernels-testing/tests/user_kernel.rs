//! The crate documentation's example as a `proptest!` test: a user-written kernel (the
//! sparse row dot product with two accumulators, as a SIMD port would have), run as the
//! inner loop of the library's CG, agrees with the scalar reference on generated SPD
//! matrices; and a user-written Sinkhorn (kernel mode, plain loops) agrees with the
//! reference plan on generated transport problems.

use kernels_core::cg::{self, CgKernels, CgOpts};
use kernels_core::sinkhorn::SinkhornOpts;
use kernels_core::sor::SorKernels;
use kernels_core::{Primitives, Real, Sequential};
use kernels_testing::{Transport, oracle, spd_csr, transport};
use proptest::prelude::*;

/// The kernel under test: one CSR row times `x` (the inner loop of every sparse
/// matrix-vector product) with two partial sums, as a SIMD port would; every other
/// loop is the trait's default (the scalar reference).
struct TwoLanes;
impl<T: Real> Primitives<T> for TwoLanes {
    fn csr_dot(cols: &[u32], vals: &[T], x: &[T]) -> T {
        let mut acc = [T::of(0.0); 2];
        let (cc, vc) = (cols.chunks_exact(2), vals.chunks_exact(2));
        let rest = cc.remainder().iter().zip(vc.remainder());
        let tail = rest.fold(T::of(0.0), |s, (c, v)| s + *v * x[*c as usize]);
        for (c, v) in cc.zip(vc) {
            acc[0] = acc[0] + v[0] * x[c[0] as usize];
            acc[1] = acc[1] + v[1] * x[c[1] as usize];
        }
        acc[0] + acc[1] + tail
    }
}
impl<T: Real> SorKernels<T> for TwoLanes {}
impl<T: Real> CgKernels<T> for TwoLanes {}

/// A Sinkhorn-Knopp of one's own: scale `K = exp(-C / reg)` until the marginals match.
fn my_sinkhorn(p: &Transport, iterations: usize) -> Vec<f64> {
    let k: Vec<f64> = p.cost.iter().map(|c| (-c / p.reg).exp()).collect();
    let (mut u, mut v) = (vec![1.0; p.n], vec![1.0; p.m]);
    for _ in 0..iterations {
        for i in 0..p.n {
            let kv: f64 = (0..p.m).map(|j| k[i * p.m + j] * v[j]).sum();
            u[i] = p.a[i] / kv;
        }
        for j in 0..p.m {
            let ku: f64 = (0..p.n).map(|i| k[i * p.m + j] * u[i]).sum();
            v[j] = p.b[j] / ku;
        }
    }
    (0..p.n * p.m)
        .map(|ij| u[ij / p.m] * k[ij] * v[ij % p.m])
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn two_lane_csr_dot_in_cg_matches_the_reference(a in spd_csr(1..30, 1e3), seed in any::<u64>()) {
        let b: Vec<f64> = (0..a.n).map(|i| ((seed >> (i % 64)) & 7) as f64 - 3.5).collect();
        let opts = CgOpts::default().tol(1e-10).max_iter(10 * a.n as u32 + 50);
        let (want, _) = oracle::cg(&a, &b, &opts).unwrap();

        let values = a.values_as::<f64>();
        let mut x = vec![0.0; a.n];
        let mut work = vec![0u8; cg::cg_work_size::<f64>(a.n).unwrap().bytes()];
        let rep = cg::cg::<f64, TwoLanes>(&Sequential, &a.view(&values), &b, &mut x, &opts, &mut work).unwrap();

        prop_assert!(rep.converged && a.residual(&b, &x) <= 1e-9, "{:?}", rep);
        let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (got, want) in x.iter().zip(&want) {
            prop_assert!((got - want).abs() <= 1e-8 * a.cond_bound * scale, "{} vs {}", got, want);
        }
    }

    #[test]
    fn my_sinkhorn_matches_the_reference_plan(p in transport(1..12, 1..12, 0.1..1.0)) {
        let opts = SinkhornOpts::default().reg(p.reg).tol(1e-12).max_iter(100_000);
        let want = oracle::sinkhorn::<f64>(&p, &opts).unwrap();
        prop_assert!(want.report.converged, "{:?}", want.report);
        let got = my_sinkhorn(&p, 5_000);
        let l1: f64 = got.iter().zip(&want.plan).map(|(g, w)| (g - w).abs()).sum();
        prop_assert!(l1 <= 1e-8, "plans differ by {} in L1", l1);
    }
}
