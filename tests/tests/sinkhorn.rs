//! Sinkhorn-Knopp scaling and log-domain entropic OT: the closed form of
//! ALGORITHMS.md, marginals on random problems against a naive reference, warm
//! starts, f32 against f64, SIMD against scalar, small eps where kernel mode
//! underflows, and every class of bad input (status and untouched outputs).

use kernels_core::Sequential;
use kernels_core::sinkhorn::{PASS_ROWS, SinkhornKernels};
use kernels_core::sinkhorn::{
    SinkhornOpts, log_steps, scale, scale_observed, scale_work_size, sinkhorn_log,
    sinkhorn_log_observed, sinkhorn_work_size,
};
use kernels_core::{Dense, Error, History, Primitives, Real, Report, Result, Scalar};
use kernels_simd::Simd;
use kernels_testing::{oracle, transport};
use kernels_tests::uniform;
use proptest::prelude::*;

/// A random OT problem: cost uniform in [0, 1), marginals positive summing to one.
struct Problem {
    n: usize,
    m: usize,
    c: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

fn normalized(v: Vec<f64>) -> Vec<f64> {
    let w: Vec<f64> = v.iter().map(|x| 1.0 + 0.9 * x).collect();
    let s: f64 = w.iter().sum();
    w.iter().map(|x| x / s).collect()
}

fn problem(n: usize, m: usize, seed: u64) -> Problem {
    let c = uniform::<f64>(n * m, seed, 1.0)
        .iter()
        .map(|x| 0.5 * (x + 1.0))
        .collect();
    Problem {
        n,
        m,
        c,
        a: normalized(uniform(n, seed + 1, 1.0)),
        b: normalized(uniform(m, seed + 2, 1.0)),
    }
}

fn cast<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::of(x)).collect()
}

fn to_f64<T: Real>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64_lossless()).collect()
}

fn opts(reg: f64, tol: f64, max_iter: u32, check_every: u32) -> SinkhornOpts {
    SinkhornOpts::default()
        .reg(reg)
        .tol(tol)
        .max_iter(max_iter)
        .check_every(check_every)
}

/// A report with the potentials and the plan, widened to f64.
type Solved = (Report, Vec<f64>, Vec<f64>, Vec<f64>);

/// Runs the log-domain solver on `p` in `T` with primitives `P`; returns the
/// report, the potentials and the plan (all widened to f64).
fn solve<T: Real, P: SinkhornKernels<T>>(
    p: &Problem,
    o: &SinkhornOpts,
    warm: Option<(&[f64], &[f64])>,
) -> Result<Solved> {
    let c = cast::<T>(&p.c);
    let (a, b) = (cast::<T>(&p.a), cast::<T>(&p.b));
    let (mut f, mut g) = match warm {
        Some((f, g)) => (cast::<T>(f), cast::<T>(g)),
        None => (vec![T::zero(); p.n], vec![T::zero(); p.m]),
    };
    let mut plan = vec![T::zero(); p.n * p.m];
    let mut work = vec![0u8; sinkhorn_work_size::<T>(p.n, p.m)?.bytes()];
    let cm = Dense::new(&c, p.n, p.m)?;
    let rep = sinkhorn_log::<T, P>(
        &Sequential,
        cm,
        &a,
        &b,
        o,
        &mut f,
        &mut g,
        Some(&mut plan),
        &mut work,
    )?;
    Ok((rep, to_f64(&f), to_f64(&g), to_f64(&plan)))
}

/// The plan from potentials, computed the obvious way in f64.
fn naive_plan(p: &Problem, f: &[f64], g: &[f64], eps: f64) -> Vec<f64> {
    let mut plan = vec![0.0; p.n * p.m];
    for i in 0..p.n {
        for j in 0..p.m {
            plan[i * p.m + j] = ((f[i] + g[j] - p.c[i * p.m + j]) / eps).exp();
        }
    }
    plan
}

/// `||P 1 - a||_1 + ||P^T 1 - b||_1`, naively.
fn naive_error(p: &Problem, plan: &[f64]) -> f64 {
    let mut err = 0.0;
    for i in 0..p.n {
        let r: f64 = plan[i * p.m..(i + 1) * p.m].iter().sum();
        err += (r - p.a[i]).abs();
    }
    for j in 0..p.m {
        let c: f64 = (0..p.n).map(|i| plan[i * p.m + j]).sum();
        err += (c - p.b[j]).abs();
    }
    err
}

/// A plain log-domain Sinkhorn in f64, one loop per formula, max-shifted.
#[allow(clippy::needless_range_loop)] // indices as in the formulas
fn naive_sinkhorn(p: &Problem, eps: f64, iters: usize) -> (Vec<f64>, Vec<f64>) {
    let lse = |v: &[f64]| {
        let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
    };
    let (mut f, mut g) = (vec![0.0; p.n], vec![0.0; p.m]);
    for _ in 0..iters {
        for i in 0..p.n {
            let v: Vec<f64> = (0..p.m).map(|j| (g[j] - p.c[i * p.m + j]) / eps).collect();
            f[i] = eps * (p.a[i].ln() - lse(&v));
        }
        for j in 0..p.m {
            let v: Vec<f64> = (0..p.n).map(|i| (f[i] - p.c[i * p.m + j]) / eps).collect();
            g[j] = eps * (p.b[j].ln() - lse(&v));
        }
    }
    (f, g)
}

fn max_diff(x: &[f64], y: &[f64]) -> f64 {
    x.iter()
        .zip(y)
        .fold(0.0, |d, (a, b)| f64::max(d, (a - b).abs()))
}

// ---------------------------------------------------------------- closed form ----

const PLAN_2X2: [f64; 4] = [0.36552929, 0.13447071, 0.13447071, 0.36552929];

fn two_by_two() -> Problem {
    Problem {
        n: 2,
        m: 2,
        c: vec![0.0, 1.0, 1.0, 0.0],
        a: vec![0.5, 0.5],
        b: vec![0.5, 0.5],
    }
}

fn closed_form_log<T: Real, P: SinkhornKernels<T>>(tol: f64, plan_tol: f64) {
    let (rep, _, _, plan) = solve::<T, P>(&two_by_two(), &opts(1.0, tol, 1000, 1), None).unwrap();
    assert!(rep.converged, "{} {}: {rep:?}", T::NAME, P::name());
    assert!(max_diff(&plan, &PLAN_2X2) < plan_tol, "{plan:?}");
    // <P, C> = the two off-diagonal entries.
    assert!((rep.value - 2.0 * 0.13447071).abs() < plan_tol);
}

#[test]
fn two_by_two_closed_form_log_domain() {
    closed_form_log::<f64, Scalar>(1e-13, 1e-8);
    closed_form_log::<f64, Simd>(1e-13, 1e-8);
    closed_form_log::<f32, Scalar>(1e-6, 1e-6);
    closed_form_log::<f32, Simd>(1e-6, 1e-6);
}

fn closed_form_scale<T: Real, P: SinkhornKernels<T>>(tol: f64, plan_tol: f64) {
    let e = (-1.0f64).exp();
    let k = cast::<T>(&[1.0, e, e, 1.0]);
    let half = cast::<T>(&[0.5, 0.5]);
    let (mut u, mut v) = (vec![T::zero(); 2], vec![T::zero(); 2]);
    let mut work = vec![0u8; scale_work_size::<T>(2, 2).unwrap().bytes()];
    let km = Dense::new(&k, 2, 2).unwrap();
    let rep = scale::<T, P>(
        &Sequential,
        km,
        &half,
        &half,
        &opts(0.0, tol, 1000, 1),
        &mut u,
        &mut v,
        &mut work,
    )
    .unwrap();
    assert!(rep.converged && rep.value == 0.0, "{rep:?}");
    for i in 0..2 {
        for j in 0..2 {
            let pij = (u[i] * k[i * 2 + j] * v[j]).to_f64_lossless();
            assert!(
                (pij - PLAN_2X2[i * 2 + j]).abs() < plan_tol,
                "{i} {j} {pij}"
            );
        }
    }
}

#[test]
fn two_by_two_closed_form_kernel_mode() {
    closed_form_scale::<f64, Scalar>(1e-13, 1e-8);
    closed_form_scale::<f64, Simd>(1e-13, 1e-8);
    closed_form_scale::<f32, Scalar>(1e-6, 1e-6);
    closed_form_scale::<f32, Simd>(1e-6, 1e-6);
}

// ---------------------------------------------------------------- properties ----

/// The solver's plan against the naive formulas: marginals within `tol`, the
/// reported error and cost equal to the naive ones.
fn marginals_hold<T: Real, P: SinkhornKernels<T>>(
    p: &Problem,
    eps: f64,
    tol: f64,
    slack: f64,
) -> std::result::Result<(), TestCaseError> {
    let o = opts(eps, tol, 20_000, 5);
    let (rep, f, g, plan) = solve::<T, P>(p, &o, None).unwrap();
    prop_assert!(rep.converged, "{} {rep:?}", T::NAME);
    prop_assert!(rep.iterations.is_multiple_of(5) && rep.iterations >= 5);
    // The plan written is the plan of the potentials returned.
    let want = naive_plan(p, &f, &g, eps);
    let scale = want.iter().fold(0.0f64, |m, v| m.max(*v));
    prop_assert!(max_diff(&plan, &want) <= slack * scale.max(1e-300) * 100.0);
    let err = naive_error(p, &want);
    prop_assert!(err <= tol + slack, "naive error {err} > tol {tol}");
    prop_assert!((err - rep.error).abs() <= slack, "{err} vs {}", rep.error);
    let cost: f64 = want.iter().zip(&p.c).map(|(x, c)| x * c).sum();
    prop_assert!(
        (cost - rep.value).abs() <= slack * 10.0,
        "{cost} vs {}",
        rep.value
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn marginals_within_tol(
        n in 1usize..28,
        m in 1usize..28,
        eps in 0.03f64..1.0,
        seed in any::<u32>(),
    ) {
        let p = problem(n, m, u64::from(seed));
        marginals_hold::<f64, Simd>(&p, eps, 1e-10, 1e-12)?;
        marginals_hold::<f64, Scalar>(&p, eps, 1e-10, 1e-12)?;
        marginals_hold::<f32, Simd>(&p, eps, 2e-4, 2e-5)?;
    }

    /// The solver agrees with the naive reference iteration by iteration (same
    /// number of iterations, no early stop).
    #[test]
    fn matches_naive_reference(
        n in 1usize..20,
        m in 1usize..20,
        eps in 0.05f64..1.0,
        iters in 1u32..40,
        seed in any::<u32>(),
    ) {
        let p = problem(n, m, u64::from(seed));
        let o = opts(eps, 1e-300, iters, 1000);
        let (rep, f, g, _) = solve::<f64, Simd>(&p, &o, None).unwrap();
        prop_assert_eq!(rep.iterations, iters);
        let (fr, gr) = naive_sinkhorn(&p, eps, iters as usize);
        // Potentials are O(1) here; the solvers differ only in summation order.
        prop_assert!(max_diff(&f, &fr) < 1e-12 && max_diff(&g, &gr) < 1e-12);
    }

    /// A converged pair passed back in stops at the first check.
    #[test]
    fn warm_start_takes_one_check_period(
        n in 1usize..24,
        m in 1usize..24,
        eps in 0.05f64..1.0,
        every in 1u32..12,
        seed in any::<u32>(),
    ) {
        let p = problem(n, m, u64::from(seed));
        let o = opts(eps, 1e-11, 50_000, every);
        let (cold, f, g, _) = solve::<f64, Simd>(&p, &o, None).unwrap();
        prop_assert!(cold.converged);
        let (warm, _, _, _) = solve::<f64, Simd>(&p, &o, Some((&f, &g))).unwrap();
        prop_assert!(warm.converged && warm.iterations <= every, "{warm:?}");
    }

    /// f32 plans agree with f64 plans to 1e-4 (absolute; entries are at most 1) on
    /// problems with eps >= 0.05 max C, both run to their own precision.
    #[test]
    fn f32_agrees_with_f64(
        n in 1usize..24,
        m in 1usize..24,
        eps in 0.05f64..1.0,
        seed in any::<u32>(),
    ) {
        let p = problem(n, m, u64::from(seed));
        let (_, _, _, p64) = solve::<f64, Simd>(&p, &opts(eps, 1e-12, 50_000, 1), None).unwrap();
        let (_, _, _, p32) = solve::<f32, Simd>(&p, &opts(eps, 1e-5, 50_000, 1), None).unwrap();
        prop_assert!(max_diff(&p32, &p64) < 1e-4, "{}", max_diff(&p32, &p64));
    }

    /// SIMD and scalar solvers give the same plan (f64) after the same iterations.
    #[test]
    fn simd_solver_agrees_with_scalar(
        n in 1usize..40,
        m in 1usize..40,
        eps in 0.02f64..1.0,
        seed in any::<u32>(),
    ) {
        let p = problem(n, m, u64::from(seed));
        let o = opts(eps, 1e-300, 30, 1000);
        let (_, fs, gs, ps) = solve::<f64, Scalar>(&p, &o, None).unwrap();
        let (_, fv, gv, pv) = solve::<f64, Simd>(&p, &o, None).unwrap();
        prop_assert!(max_diff(&fs, &fv) < 1e-12 && max_diff(&gs, &gv) < 1e-12);
        prop_assert!(max_diff(&ps, &pv) < 1e-11);
    }

    /// Kernel mode with K = exp(-C / eps) gives the log-domain plan.
    #[test]
    fn kernel_mode_matches_log_domain(
        n in 1usize..24,
        m in 1usize..24,
        eps in 0.05f64..1.0,
        seed in any::<u32>(),
    ) {
        let p = problem(n, m, u64::from(seed));
        let (_, _, _, plan) = solve::<f64, Simd>(&p, &opts(eps, 1e-12, 50_000, 1), None).unwrap();
        let k: Vec<f64> = p.c.iter().map(|c| (-c / eps).exp()).collect();
        let (mut u, mut v) = (vec![0.0; n], vec![0.0; m]);
        let mut work = vec![0u8; scale_work_size::<f64>(n, m).unwrap().bytes()];
        let km = Dense::new(&k, n, m).unwrap();
        let rep = scale::<f64, Simd>(&Sequential, km, &p.a, &p.b, &opts(0.0, 1e-12, 50_000, 3), &mut u, &mut v, &mut work).unwrap();
        prop_assert!(rep.converged && rep.iterations.is_multiple_of(3));
        let mut err = 0.0;
        for i in 0..n {
            for j in 0..m {
                err = f64::max(err, (u[i] * k[i * m + j] * v[j] - plan[i * m + j]).abs());
            }
        }
        prop_assert!(err < 1e-10, "{err}");
    }
}

// ------------------------------------------------------ SIMD vs scalar, primitives ----

fn lse_affine_agrees<T: Real>(
    x: &[f64],
    y: &[f64],
    alpha: f64,
    beta: f64,
) -> std::result::Result<(), TestCaseError>
where
    Simd: SinkhornKernels<T>,
{
    let (x, y, alpha, beta) = (cast::<T>(x), cast::<T>(y), T::of(alpha), T::of(beta));
    let s = <Scalar as SinkhornKernels<T>>::lse_affine(alpha, &x, &y);
    let v = <Simd as SinkhornKernels<T>>::lse_affine(alpha, &x, &y);
    if x.is_empty() {
        prop_assert!(s == T::neg_infinity() && v == T::neg_infinity());
    } else {
        let arg = x
            .iter()
            .zip(&y)
            .fold(T::zero(), |m, (a, b)| m.max((alpha * *a).abs() + b.abs()));
        let bound = kernels_simd::bounds::lse_affine(x.len(), s, arg);
        prop_assert!((s - v).abs() <= bound, "{} lse_affine {s} vs {v}", T::NAME);
    }
    let (mut os, mut ov) = (vec![T::zero(); x.len()], vec![T::zero(); x.len()]);
    <Scalar as SinkhornKernels<T>>::exp_affine(alpha, &x, beta, &y, &mut os);
    <Simd as SinkhornKernels<T>>::exp_affine(alpha, &x, beta, &y, &mut ov);
    for j in 0..x.len() {
        let arg = (alpha * x[j]).abs() + y[j].abs() + beta.abs();
        let bound = kernels_simd::bounds::exp_affine(os[j], arg);
        prop_assert!(
            os[j] == ov[j] || (os[j] - ov[j]).abs() <= bound,
            "exp_affine at {j}: {} vs {}",
            os[j],
            ov[j]
        );
    }
    let arg = x.iter().zip(&y).fold(T::zero(), |m, (a, b)| {
        m.max((alpha * *a).abs() + b.abs() + beta.abs())
    });
    let ss = <Scalar as SinkhornKernels<T>>::sum_exp_affine(alpha, &x, beta, &y);
    let sv = <Simd as SinkhornKernels<T>>::sum_exp_affine(alpha, &x, beta, &y);
    let bound = kernels_simd::bounds::sum_exp_affine(x.len(), ss, arg);
    prop_assert!(
        ss == sv || (ss - sv).abs() <= bound,
        "sum_exp_affine {ss} vs {sv}"
    );
    let start: Vec<T> = (0..x.len()).map(|j| T::of(j as f64 * 0.5)).collect();
    let (mut accs, mut accv) = (start.clone(), start.clone());
    <Scalar as SinkhornKernels<T>>::exp_affine_accumulate(alpha, &x, beta, &y, &mut accs);
    <Simd as SinkhornKernels<T>>::exp_affine_accumulate(alpha, &x, beta, &y, &mut accv);
    for j in 0..x.len() {
        let term = accs[j] - start[j];
        let a = (alpha * x[j]).abs() + y[j].abs() + beta.abs();
        let bound =
            kernels_simd::bounds::exp_affine(term, a) + T::of(2.0) * T::epsilon() * accs[j].abs();
        prop_assert!(
            accs[j] == accv[j] || (accs[j] - accv[j]).abs() <= bound,
            "exp_affine_accumulate at {j}"
        );
    }
    let (mut es, mut ev) = (vec![T::zero(); x.len()], vec![T::zero(); x.len()]);
    let rs = <Scalar as SinkhornKernels<T>>::exp_affine_sum(alpha, &x, beta, &y, &mut es);
    let rv = <Simd as SinkhornKernels<T>>::exp_affine_sum(alpha, &x, beta, &y, &mut ev);
    // The scalar sum and terms are those of sum_exp_affine and exp_affine.
    prop_assert!(rs == ss && es == os, "exp_affine_sum scalar");
    let bound = kernels_simd::bounds::sum_exp_affine(x.len(), rs, arg);
    prop_assert!(
        rs == rv || (rs - rv).abs() <= bound,
        "exp_affine_sum {rs} vs {rv}"
    );
    for j in 0..x.len() {
        let a = (alpha * x[j]).abs() + y[j].abs() + beta.abs();
        let bound = kernels_simd::bounds::exp_affine(es[j], a);
        prop_assert!(
            es[j] == ev[j] || (es[j] - ev[j]).abs() <= bound,
            "exp_affine_sum at {j}: {} vs {}",
            es[j],
            ev[j]
        );
    }
    Ok(())
}

/// `dots_axpys` against its definition on the same kernels: each result bit for bit
/// the lone `dot` of its row, and `y` bit for bit the `axpy` calls one after the
/// other (kernel mode's results then do not depend on how its rows are grouped).
fn dots_axpys_is_dots_then_axpys<T: Real>(
    rows: &[f64],
    vy: &[(f64, f64)],
    a: [f64; PASS_ROWS],
) -> std::result::Result<(), TestCaseError>
where
    Simd: SinkhornKernels<T>,
{
    let n = vy.len();
    let row = |r: usize| -> Vec<T> { rows[r * n..][..n].iter().map(|&e| T::of(e)).collect() };
    let x: Vec<Vec<T>> = (0..PASS_ROWS).map(row).collect();
    let w: Vec<Vec<T>> = (PASS_ROWS..2 * PASS_ROWS).map(row).collect();
    let v: Vec<T> = vy.iter().map(|p| T::of(p.0)).collect();
    let y: Vec<T> = vy.iter().map(|p| T::of(p.1)).collect();
    let a = a.map(T::of);
    let (mut fused, mut apart) = (y.clone(), y);
    let dots = <Simd as SinkhornKernels<T>>::dots_axpys(
        core::array::from_fn(|r| &x[r][..]),
        &v,
        a,
        core::array::from_fn(|r| &w[r][..]),
        &mut fused,
    );
    for (r, d) in dots.iter().enumerate() {
        let lone = <Simd as Primitives<T>>::dot(&x[r], &v);
        prop_assert!(
            d.to_f64_lossless().to_bits() == lone.to_f64_lossless().to_bits(),
            "{} row {r}: {d} vs {lone}",
            T::NAME
        );
    }
    for (&ar, wr) in a.iter().zip(&w) {
        <Simd as Primitives<T>>::axpy(ar, wr, &mut apart);
    }
    for (j, (f, p)) in fused.iter().zip(&apart).enumerate() {
        prop_assert!(
            f.to_f64_lossless().to_bits() == p.to_f64_lossless().to_bits(),
            "{} y at {j}: {f} vs {p}",
            T::NAME
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn affine_primitives_agree(
        xy in prop_oneof![
            prop::sample::select(vec![0usize, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33]),
            0usize..300,
        ].prop_flat_map(|n| (
            prop::collection::vec(-10.0f64..10.0, n),
            prop::collection::vec(-30.0f64..30.0, n),
        )),
        alpha in -20.0f64..20.0,
        beta in -20.0f64..20.0,
    ) {
        lse_affine_agrees::<f32>(&xy.0, &xy.1, alpha, beta)?;
        lse_affine_agrees::<f64>(&xy.0, &xy.1, alpha, beta)?;
    }

    #[test]
    fn dots_axpys_is_dots_then_axpys_bit_for_bit(
        vecs in prop_oneof![
            prop::sample::select(vec![0usize, 1, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 64, 65]),
            0usize..300,
        ].prop_flat_map(|n| (
            prop::collection::vec(-10.0f64..10.0, 2 * PASS_ROWS * n),
            prop::collection::vec((-10.0f64..10.0, -10.0f64..10.0), n),
        )),
        a in prop::array::uniform4(-5.0f64..5.0),
    ) {
        dots_axpys_is_dots_then_axpys::<f32>(&vecs.0, &vecs.1, a)?;
        dots_axpys_is_dots_then_axpys::<f64>(&vecs.0, &vecs.1, a)?;
    }
}

#[test]
fn lse_affine_handles_infinities() {
    fn both(x: &[f64], y: &[f64]) -> (f64, f64) {
        (
            <Scalar as SinkhornKernels<f64>>::lse_affine(1.0, x, y),
            <Simd as SinkhornKernels<f64>>::lse_affine(1.0, x, y),
        )
    }
    let x = [0.0; 9];
    let mut y = [0.0; 9];
    y[1] = f64::INFINITY;
    assert_eq!(both(&x, &y), (f64::INFINITY, f64::INFINITY));
    y[1] = f64::NEG_INFINITY;
    let (s, v) = both(&x, &y);
    assert!((s - 8f64.ln()).abs() < 1e-15 && (v - 8f64.ln()).abs() < 1e-15);
    let y = [f64::NEG_INFINITY; 9];
    assert_eq!(both(&x, &y), (f64::NEG_INFINITY, f64::NEG_INFINITY));
    assert_eq!(both(&[], &[]), (f64::NEG_INFINITY, f64::NEG_INFINITY));
}

// ------------------------------------------------------------------ small eps ----

/// eps = 1e-4 max|C| in f64: every entry of exp(-C / eps) underflows to zero (C is
/// at least 0.5, eps about 1.5e-4), so kernel mode cannot even start, while the log
/// domain converges without a NaN.
///
/// The cost is row and column offsets (as |x|^2 and |y|^2 are in a squared
/// distance) plus a part a few eps in size, so the iteration converges in a few
/// dozen steps; the offsets alone make C / eps reach 1e4. (On a generic random
/// cost, Sinkhorn itself needs millions of iterations at this eps: a matter of its
/// convergence rate, not of stability.)
#[test]
fn small_eps_converges_in_log_domain_where_kernel_mode_underflows() {
    let (n, m) = (12, 10);
    let base = problem(n, m, 42);
    let (r, s) = (uniform::<f64>(n, 7, 1.0), uniform::<f64>(m, 8, 1.0));
    let mut c = vec![0.0; n * m];
    for i in 0..n {
        for j in 0..m {
            let d = 1.5e-4 * (base.c[i * m + j] + 1.0);
            c[i * m + j] = 0.75 + 0.25 * r[i] + 0.25 * (s[j] + 1.0) + d;
        }
    }
    let c_max = c.iter().copied().fold(0.0, f64::max);
    let eps = 1e-4 * c_max;
    let p = Problem { c, ..base };

    let k: Vec<f64> = p.c.iter().map(|x| (-x / eps).exp()).collect();
    assert!(k.iter().all(|&x| x == 0.0), "the kernel underflows");
    let (mut u, mut v) = (vec![0.0; n], vec![0.0; m]);
    let mut work = vec![0u8; scale_work_size::<f64>(n, m).unwrap().bytes()];
    let km = Dense::new(&k, n, m).unwrap();
    let o = opts(eps, 1e-9, 100_000, 10);
    let err =
        scale::<f64, Simd>(&Sequential, km, &p.a, &p.b, &o, &mut u, &mut v, &mut work).unwrap_err();
    assert_eq!(err, Error::Numerical);
    assert!(u.iter().chain(&v).all(|&x| x == 0.0), "untouched");

    for (name, res) in [
        ("simd", solve::<f64, Simd>(&p, &o, None)),
        ("scalar", solve::<f64, Scalar>(&p, &o, None)),
    ] {
        let (rep, f, g, plan) = res.unwrap();
        assert!(rep.converged, "{name}: {rep:?}");
        assert!(f.iter().chain(&g).chain(&plan).all(|x| x.is_finite()));
        assert!(naive_error(&p, &plan) <= 1e-9 + 1e-13, "{name}");
        assert!(
            rep.value >= 0.75 && rep.value <= c_max,
            "{name}: {}",
            rep.value
        );
    }
}

// ------------------------------------------------------------- building blocks ----

/// The public half-steps reproduce the marginals of the naive plan.
#[test]
fn log_steps_give_the_plan_marginals() {
    let p = problem(7, 5, 3);
    let eps = 0.3;
    let f: Vec<f64> = uniform(7, 10, 0.5);
    let g: Vec<f64> = uniform(5, 11, 0.5);
    let c = Dense::new(&p.c, 7, 5).unwrap();
    let (mut gs, mut l) = (vec![0.0; 5], vec![0.0; 7]);
    log_steps::row_lse::<f64, Simd>(c, &g, eps, &mut gs, &mut l);
    let (mut mx, mut sm) = (vec![0.0; 5], vec![0.0; 5]);
    log_steps::col_lse::<f64, Simd>(c, &f, eps, &mut mx, &mut sm);
    let (mut rows, mut cols) = (vec![0.0; 7], vec![0.0; 5]);
    log_steps::marginals_from_lse(eps, &f, &l, &mut rows);
    log_steps::marginals_from_lse(eps, &g, &mx, &mut cols);
    let plan = naive_plan(&p, &f, &g, eps);
    for i in 0..7 {
        let r: f64 = plan[i * 5..(i + 1) * 5].iter().sum();
        assert!((r - rows[i]).abs() < 1e-13 * r);
    }
    for j in 0..5 {
        let s: f64 = (0..7).map(|i| plan[i * 5 + j]).sum();
        assert!((s - cols[j]).abs() < 1e-13 * s);
    }
    // The shifted forms agree with the stable ones; with a far-off shift (f huge,
    // g hugely negative) they fall back to them.
    for (fs, gs_) in [(f.clone(), g.clone()), (vec![300.0; 7], vec![-300.0; 5])] {
        let (mut l2, mut mx2, mut sm2) = (vec![0.0; 7], vec![0.0; 5], vec![0.0; 5]);
        log_steps::row_lse_shifted::<f64, Simd>(c, &fs, &g, eps, &mut gs, &mut l2);
        log_steps::col_lse_shifted::<f64, Simd>(c, &f, &gs_, eps, &mut gs, &mut mx2, &mut sm2);
        assert!(max_diff(&l, &l2) < 1e-13 && max_diff(&mx, &mx2) < 1e-13);
    }
    let mut row = vec![0.0; 5];
    let cost = log_steps::transport_cost::<f64, Simd>(c, &f, &g, eps, &mut gs, None, &mut row);
    let want: f64 = plan.iter().zip(&p.c).map(|(x, c)| x * c).sum();
    assert!((cost - want).abs() < 1e-13 * want);
}

// ------------------------------------------------------------------ bad input ----

/// Calls the log solver on possibly bad arguments; asserts the status and that f,
/// g and plan still hold their sentinels.
#[allow(clippy::too_many_arguments)]
fn log_rejects(
    want: Error,
    c: &[f64],
    (n, m): (usize, usize),
    a: &[f64],
    b: &[f64],
    o: SinkhornOpts,
    fg: (Vec<f64>, Vec<f64>),
    work_bytes: Option<usize>,
) {
    let (mut f, mut g) = fg;
    let (f0, g0) = (f.clone(), g.clone());
    let mut plan = vec![7.0; c.len()];
    let bytes =
        work_bytes.unwrap_or_else(|| sinkhorn_work_size::<f64>(n, m).map_or(0, |w| w.bytes()));
    let mut work = vec![0u8; bytes];
    let got = Dense::new(c, n, m).and_then(|cm| {
        sinkhorn_log::<f64, Simd>(
            &Sequential,
            cm,
            a,
            b,
            &o,
            &mut f,
            &mut g,
            Some(&mut plan),
            &mut work,
        )
    });
    assert_eq!(got.unwrap_err(), want);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        (bits(&f), bits(&g)),
        (bits(&f0), bits(&g0)),
        "potentials untouched"
    );
    assert!(plan.iter().all(|&x| x == 7.0), "plan untouched");
}

/// The same for kernel mode (u, v untouched).
fn scale_rejects(
    want: Error,
    k: &[f64],
    (n, m): (usize, usize),
    a: &[f64],
    b: &[f64],
    o: SinkhornOpts,
    work_bytes: Option<usize>,
) {
    let (mut u, mut v) = (vec![0.25; n], vec![0.5; m]);
    let bytes = work_bytes.unwrap_or_else(|| scale_work_size::<f64>(n, m).map_or(0, |w| w.bytes()));
    let mut work = vec![0u8; bytes];
    let got = Dense::new(k, n, m)
        .and_then(|km| scale::<f64, Simd>(&Sequential, km, a, b, &o, &mut u, &mut v, &mut work));
    assert_eq!(got.unwrap_err(), want);
    assert!(u.iter().all(|&x| x == 0.25) && v.iter().all(|&x| x == 0.5));
}

fn base() -> (Vec<f64>, Vec<f64>, Vec<f64>, SinkhornOpts) {
    (
        vec![0.0, 1.0, 2.0, 1.0, 0.0, 1.0],
        vec![0.5, 0.5],
        vec![0.25, 0.25, 0.5],
        opts(0.5, 1e-9, 100, 1),
    )
}

fn fg() -> (Vec<f64>, Vec<f64>) {
    (vec![0.125; 2], vec![-0.25; 3])
}

#[test]
fn non_finite_input_is_rejected_untouched() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let (c, a, b, o) = base();
        let mut c2 = c.clone();
        c2[4] = bad;
        log_rejects(Error::NonFinite, &c2, (2, 3), &a, &b, o, fg(), None);
        scale_rejects(Error::NonFinite, &c2, (2, 3), &a, &b, o, None);
        let mut a2 = a.clone();
        a2[1] = bad;
        log_rejects(Error::NonFinite, &c, (2, 3), &a2, &b, o, fg(), None);
        scale_rejects(Error::NonFinite, &c, (2, 3), &a2, &b, o, None);
        let mut b2 = b.clone();
        b2[0] = bad;
        log_rejects(Error::NonFinite, &c, (2, 3), &a, &b2, o, fg(), None);
        scale_rejects(Error::NonFinite, &c, (2, 3), &a, &b2, o, None);
        let (mut f, g) = fg();
        f[0] = bad;
        log_rejects(Error::NonFinite, &c, (2, 3), &a, &b, o, (f, g), None);
    }
}

#[test]
fn unequal_or_nonpositive_marginals_are_rejected_untouched() {
    let (c, a, _, o) = base();
    for b in [
        vec![0.25, 0.25, 0.4],
        vec![0.5, 0.5, 0.0],
        vec![0.75, 0.5, -0.25],
    ] {
        log_rejects(Error::Argument, &c, (2, 3), &a, &b, o, fg(), None);
        scale_rejects(Error::Argument, &c, (2, 3), &a, &b, o, None);
    }
}

#[test]
fn bad_options_are_rejected_untouched() {
    let (c, a, b, o) = base();
    for reg in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        log_rejects(Error::Argument, &c, (2, 3), &a, &b, o.reg(reg), fg(), None);
    }
    for tol in [0.0, -1e-9, f64::NAN] {
        let bad = o.tol(tol);
        log_rejects(Error::Argument, &c, (2, 3), &a, &b, bad, fg(), None);
        scale_rejects(Error::Argument, &c, (2, 3), &a, &b, bad, None);
    }
    let bad = o.max_iter(0);
    log_rejects(Error::Argument, &c, (2, 3), &a, &b, bad, fg(), None);
    scale_rejects(Error::Argument, &c, (2, 3), &a, &b, bad, None);
    // kn_scale ignores reg.
    let mut work = vec![0u8; scale_work_size::<f64>(2, 3).unwrap().bytes()];
    let (mut u, mut v) = (vec![0.0; 2], vec![0.0; 3]);
    let cm = Dense::new(&c, 2, 3).unwrap();
    assert!(
        scale::<f64, Simd>(
            &Sequential,
            cm,
            &a,
            &b,
            &o.reg(-1.0),
            &mut u,
            &mut v,
            &mut work
        )
        .is_ok()
    );
}

#[test]
fn zero_row_or_column_of_k_is_numerical_untouched() {
    let (_, a, b, o) = base();
    let zero_row = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    scale_rejects(Error::Numerical, &zero_row, (2, 3), &a, &b, o, None);
    let zero_col = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0];
    scale_rejects(Error::Numerical, &zero_col, (2, 3), &a, &b, o, None);
    let negative = [1.0, -0.5, 1.0, 1.0, 1.0, 1.0];
    scale_rejects(Error::Argument, &negative, (2, 3), &a, &b, o, None);
}

#[test]
fn cost_over_reg_overflowing_is_numerical_untouched() {
    let (mut c, a, b, o) = base();
    c[1] = 1e300;
    log_rejects(
        Error::Numerical,
        &c,
        (2, 3),
        &a,
        &b,
        o.reg(1e-10),
        fg(),
        None,
    );
}

#[test]
fn small_workspace_is_rejected_untouched() {
    let (c, a, b, o) = base();
    let need = sinkhorn_work_size::<f64>(2, 3).unwrap().bytes();
    log_rejects(
        Error::Workspace,
        &c,
        (2, 3),
        &a,
        &b,
        o,
        fg(),
        Some(need - 1),
    );
    let need = scale_work_size::<f64>(2, 3).unwrap().bytes();
    scale_rejects(Error::Workspace, &c, (2, 3), &a, &b, o, Some(need - 1));
}

#[test]
fn bad_dimensions_are_rejected_untouched() {
    let (c, a, b, o) = base();
    // Lengths disagreeing with n, m.
    log_rejects(Error::Dimension, &c, (3, 2), &a, &b, o, fg(), Some(4096));
    scale_rejects(Error::Dimension, &c, (3, 2), &a, &b, o, Some(4096));
    log_rejects(Error::Dimension, &c, (2, 3), &a[..1], &b, o, fg(), None);
    // Empty problems.
    log_rejects(
        Error::Dimension,
        &[],
        (0, 3),
        &[],
        &b,
        o,
        (vec![], vec![0.0; 3]),
        Some(4096),
    );
    scale_rejects(Error::Dimension, &[], (2, 0), &a, &[], o, Some(4096));
    // n * m overflowing.
    assert_eq!(
        sinkhorn_work_size::<f64>(usize::MAX, 2).unwrap_err(),
        Error::Dimension
    );
    assert_eq!(
        scale_work_size::<f32>(usize::MAX / 2, 3).unwrap_err(),
        Error::Dimension
    );
    assert_eq!(Dense::new(&c, usize::MAX, 2).unwrap_err(), Error::Dimension);
}

#[test]
fn not_converging_writes_the_outputs() {
    let p = problem(6, 5, 9);
    let (rep, f, _, plan) = solve::<f64, Simd>(&p, &opts(0.01, 1e-14, 3, 10), None).unwrap();
    assert!(!rep.converged && rep.iterations == 3 && rep.error > 1e-14);
    assert!(f.iter().any(|&x| x != 0.0));
    assert!((naive_error(&p, &plan) - rep.error).abs() < 1e-12);
}

/// docs/bad-input.md rows through the C ABI: kn_scale_work_bytes with a NULL out
/// pointer, and the f32 entry points' argument errors (the f64 ones are in
/// tests/c/test_sinkhorn.c) leaving every output bit-identical.
#[test]
fn f32_entry_points_and_scale_query_refuse_bad_input_untouched() {
    use std::ptr::null_mut;
    let (k, a, b) = ([1f32, 0.5, 0.5, 1.0], [0.5f32, 0.5], [0.5f32, 0.5]);
    let o = kernels::kn_sinkhorn_opts {
        reg: 0.5,
        tol: 1e-6,
        max_iter: 100,
        check_every: 1,
        ..Default::default()
    };
    let mut bytes = 0usize;
    // SAFETY: every pointer is NULL or a live buffer of the size (2 x 2) implies.
    unsafe {
        assert_eq!(kernels::kn_scale_work_bytes(2, 2, null_mut()), -1);
        assert_eq!(kernels::kn_sinkhorn_work_bytes(2, 2, &mut bytes), 0);
        let mut work = vec![0u8; bytes];
        let (w, wb) = (work.as_mut_ptr().cast(), bytes);
        let (mut u, mut v, mut plan) = ([3f32; 2], [3f32; 2], [3f32; 4]);
        let bad_k = [1f32, f32::NAN, 0.5, 1.0];
        let zero_tol = kernels::kn_sinkhorn_opts { tol: 0.0, ..o };
        let calls: [(i32, i32); 8] = [
            (
                kernels::kn_scale_f32(
                    2,
                    2,
                    k.as_ptr(),
                    a.as_ptr(),
                    null_mut::<f32>(),
                    &o,
                    u.as_mut_ptr(),
                    v.as_mut_ptr(),
                    w,
                    wb,
                    null_mut(),
                ),
                -1,
            ),
            (
                kernels::kn_scale_f32(
                    0,
                    2,
                    k.as_ptr(),
                    a.as_ptr(),
                    b.as_ptr(),
                    &o,
                    u.as_mut_ptr(),
                    v.as_mut_ptr(),
                    w,
                    wb,
                    null_mut(),
                ),
                -2,
            ),
            (
                kernels::kn_scale_f32(
                    2,
                    2,
                    k.as_ptr(),
                    a.as_ptr(),
                    b.as_ptr(),
                    &o,
                    u.as_mut_ptr(),
                    v.as_mut_ptr(),
                    w,
                    0,
                    null_mut(),
                ),
                -3,
            ),
            (
                kernels::kn_scale_f32(
                    2,
                    2,
                    k.as_ptr(),
                    a.as_ptr(),
                    b.as_ptr(),
                    &zero_tol,
                    u.as_mut_ptr(),
                    v.as_mut_ptr(),
                    w,
                    wb,
                    null_mut(),
                ),
                -4,
            ),
            (
                kernels::kn_scale_f32(
                    2,
                    2,
                    bad_k.as_ptr(),
                    a.as_ptr(),
                    b.as_ptr(),
                    &o,
                    u.as_mut_ptr(),
                    v.as_mut_ptr(),
                    w,
                    wb,
                    null_mut(),
                ),
                -5,
            ),
            (
                kernels::kn_sinkhorn_f32(
                    2,
                    2,
                    k.as_ptr(),
                    a.as_ptr(),
                    b.as_ptr(),
                    null_mut::<kernels::kn_sinkhorn_opts>(),
                    u.as_mut_ptr(),
                    v.as_mut_ptr(),
                    plan.as_mut_ptr(),
                    w,
                    wb,
                    null_mut(),
                ),
                -1,
            ),
            (
                kernels::kn_sinkhorn_f32(
                    2,
                    2,
                    k.as_ptr(),
                    a.as_ptr(),
                    b.as_ptr(),
                    &o,
                    u.as_mut_ptr(),
                    v.as_mut_ptr(),
                    plan.as_mut_ptr(),
                    w,
                    0,
                    null_mut(),
                ),
                -3,
            ),
            (
                kernels::kn_sinkhorn_f32(
                    2,
                    2,
                    bad_k.as_ptr(),
                    a.as_ptr(),
                    b.as_ptr(),
                    &o,
                    u.as_mut_ptr(),
                    v.as_mut_ptr(),
                    plan.as_mut_ptr(),
                    w,
                    wb,
                    null_mut(),
                ),
                -5,
            ),
        ];
        for (i, (got, want)) in calls.into_iter().enumerate() {
            assert_eq!(got, want, "call {i}");
        }
        assert_eq!((u, v, plan), ([3f32; 2], [3f32; 2], [3f32; 4]));
    }
}

/// The observed solvers report every check, the last one being the report returned;
/// a `History` keeps the latest in fixed memory.
#[test]
fn observers_see_every_check() {
    let p = problem(13, 9, 71);
    let o = SinkhornOpts::default()
        .reg(0.05)
        .tol(1e-30)
        .max_iter(47)
        .check_every(5);
    let c = Dense::new(&p.c, p.n, p.m).unwrap();
    let (mut f, mut g) = (vec![0.0; p.n], vec![0.0; p.m]);
    let mut work = vec![0u8; sinkhorn_work_size::<f64>(p.n, p.m).unwrap().bytes()];
    let mut all = Vec::new();
    let mut last3 = History::<3>::new();
    let rep = sinkhorn_log_observed::<f64, Simd>(
        &Sequential,
        c,
        &p.a,
        &p.b,
        &o,
        &mut f,
        &mut g,
        None,
        &mut work,
        &mut |r| {
            all.push(*r);
            last3.record(r);
        },
    )
    .unwrap();
    // Checks after 5, 10, ..., 45 iterations and the forced one at 47.
    let its: Vec<u32> = all.iter().map(|r| r.iterations).collect();
    assert_eq!(its, [5, 10, 15, 20, 25, 30, 35, 40, 45, 47]);
    assert!(all.windows(2).all(|w| w[1].error <= w[0].error));
    let last = all.last().unwrap();
    assert_eq!((last.iterations, last.error), (rep.iterations, rep.error));
    assert_eq!(last3.len(), 3);
    assert_eq!(last3.dropped(), 7);
    assert_eq!(
        last3.iter().map(|r| r.iterations).collect::<Vec<_>>(),
        [40, 45, 47]
    );
    // The observed solve is the plain one.
    let (mut f2, mut g2) = (vec![0.0; p.n], vec![0.0; p.m]);
    let plain = sinkhorn_log::<f64, Simd>(
        &Sequential,
        c,
        &p.a,
        &p.b,
        &o,
        &mut f2,
        &mut g2,
        None,
        &mut work,
    )
    .unwrap();
    assert_eq!((plain, &f2, &g2), (rep, &f, &g));
    // Kernel mode too.
    let k: Vec<f64> = p.c.iter().map(|x| (-x / 0.2).exp()).collect();
    let (mut u, mut v) = (vec![0.0; p.n], vec![0.0; p.m]);
    let mut work = vec![0u8; scale_work_size::<f64>(p.n, p.m).unwrap().bytes()];
    let mut checks = 0;
    let km = Dense::new(&k, p.n, p.m).unwrap();
    scale_observed::<f64, Simd>(
        &Sequential,
        km,
        &p.a,
        &p.b,
        &o,
        &mut u,
        &mut v,
        &mut work,
        &mut |_| checks += 1,
    )
    .unwrap();
    assert_eq!(checks, 10);
}

/// A workspace query refuses a problem whose `n x m` matrix cannot exist (its element
/// or byte count overflows), although its own workspace would be small, in Rust and
/// through the C queries.
#[test]
fn queries_refuse_matrices_that_cannot_exist() {
    let (n, m) = (1usize << 33, 1usize << 33);
    assert_eq!(
        sinkhorn_work_size::<f64>(n, m).unwrap_err(),
        Error::Dimension
    );
    assert_eq!(scale_work_size::<f32>(n, m).unwrap_err(), Error::Dimension);
    assert_eq!(
        kernels_core::sns::sns_work_size::<f64>(n, m, 0.0).unwrap_err(),
        Error::Dimension
    );
    // 2^31 x 2^31 values fit a usize, their bytes do not.
    assert_eq!(
        sinkhorn_work_size::<f64>(1 << 31, 1 << 31).unwrap_err(),
        Error::Dimension
    );
    let mut bytes = 7usize;
    // SAFETY: `bytes` is a valid, writable usize.
    let status = unsafe { kernels::kn_sinkhorn_work_bytes(n, m, &mut bytes) };
    assert_eq!((status, bytes), (kernels::KN_ERR_DIMENSION, 7));
    // SAFETY: as above.
    let status = unsafe { kernels::kn_scale_work_bytes(n, m, &mut bytes) };
    assert_eq!((status, bytes), (kernels::KN_ERR_DIMENSION, 7));
    // SAFETY: as above.
    let status = unsafe { kernels::kn_sns_work_bytes(n, m, 0.0, &mut bytes) };
    assert_eq!((status, bytes), (kernels::KN_ERR_DIMENSION, 7));
    // Sizes that can exist are still answered.
    assert!(sinkhorn_work_size::<f64>(1 << 16, 1 << 16).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// SIMD log-domain Sinkhorn against the scalar reference (kernels-testing's oracle)
    /// on its transport problems: the same plan to well within the marginal tolerance.
    #[test]
    fn simd_sinkhorn_matches_the_scalar_oracle(p in transport(1..24, 1..24, 0.05..1.0)) {
        let opts = p.opts().tol(1e-11).max_iter(100_000);
        let want = oracle::sinkhorn::<f64>(&p, &opts)
            .map_err(|e| TestCaseError::fail(format!("oracle: {e:?}")))?;
        let (mut f, mut g, mut plan) = (vec![0.0; p.n], vec![0.0; p.m], vec![0.0; p.n * p.m]);
        let mut work = vec![0u8; sinkhorn_work_size::<f64>(p.n, p.m).unwrap().bytes()];
        let rep = sinkhorn_log::<f64, Simd>(&Sequential, p.matrix(&p.cost), &p.a, &p.b, &opts, &mut f, &mut g,
            Some(&mut plan), &mut work)
            .map_err(|e| TestCaseError::fail(format!("simd: {e:?}")))?;
        prop_assert!(rep.converged && want.report.converged, "{rep:?} {:?}", want.report);
        let l1: f64 = plan.iter().zip(&want.plan).map(|(x, y)| (x - y).abs()).sum();
        prop_assert!(l1 <= 1e-8, "plans differ by {l1} in L1 ({rep:?})");
    }
}
