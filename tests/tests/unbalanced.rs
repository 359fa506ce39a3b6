//! Unbalanced log-domain Sinkhorn: plans against POT 0.9.7's
//! `sinkhorn_unbalanced(..., reg_type='kl')` on random and digits problems
//! (tests/data/unbalanced-pot.bin, written by tests/data/unbalanced_pot.py), infinite
//! penalties against the balanced solver bit for bit, SIMD against scalar, and the
//! bad-input rows of docs/bad-input.md through the C entry points.

use kernels::{kn_report, kn_sinkhorn_unbalanced_f64, kn_unbalanced_opts};
use kernels_core::sinkhorn::{
    Method, SinkhornOpts, UnbalancedOpts, sinkhorn_log, sinkhorn_unbalanced, sinkhorn_work_size,
    unbalanced_work_size,
};
use kernels_core::{Dense, Real, Report, Scalar, Sequential};
use kernels_simd::Simd;
use kernels_tests::uniform;
use std::ptr::null_mut;

/// One problem of the POT reference file.
struct Reference {
    n: usize,
    m: usize,
    reg: f64,
    reg_m: [f64; 2],
    c: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
    plan: Vec<f64>,
    cost: f64,
}

fn references() -> Vec<Reference> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/unbalanced-pot.bin");
    let bytes = std::fs::read(path).expect("tests/data/unbalanced-pot.bin");
    let values: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mut at = 0usize;
    let mut take = |k: usize| {
        at += k;
        values[at - k..at].to_vec()
    };
    let mut out = Vec::new();
    while out
        .iter()
        .map(|r: &Reference| 6 + r.n + r.m + 2 * r.n * r.m)
        .sum::<usize>()
        < values.len()
    {
        let head = take(5);
        let (n, m) = (head[0] as usize, head[1] as usize);
        out.push(Reference {
            n,
            m,
            reg: head[2],
            reg_m: [head[3], head[4]],
            c: take(n * m),
            a: take(n),
            b: take(m),
            plan: take(n * m),
            cost: take(1)[0],
        });
    }
    out
}

fn cast<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::of(x)).collect()
}

/// `max |x - y| / max |y|`.
fn relative_gap(x: &[f64], y: &[f64]) -> f64 {
    let scale = y.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    x.iter()
        .zip(y)
        .fold(0.0f64, |d, (p, q)| d.max((p - q).abs()))
        / scale
}

/// Solves a reference problem in `T` with the kernels `P`; returns the plan widened.
fn solve<T: Real, P: kernels_core::sinkhorn::SinkhornKernels<T>>(
    r: &Reference,
    tol: f64,
) -> (Report, Vec<f64>) {
    let (c, a, b) = (cast::<T>(&r.c), cast::<T>(&r.a), cast::<T>(&r.b));
    let (mut f, mut g, mut plan) = (
        vec![T::zero(); r.n],
        vec![T::zero(); r.m],
        vec![T::zero(); r.n * r.m],
    );
    let mut work = vec![0u8; unbalanced_work_size::<T>(r.n, r.m).unwrap().bytes()];
    let opts = UnbalancedOpts::default()
        .reg(r.reg)
        .reg_m1(r.reg_m[0])
        .reg_m2(r.reg_m[1])
        .tol(tol)
        .max_iter(100_000)
        .check_every(5);
    let rep = sinkhorn_unbalanced::<T, P>(
        &Sequential,
        Dense::new(&c, r.n, r.m).unwrap(),
        &a,
        &b,
        &opts,
        &mut f,
        &mut g,
        Some(&mut plan),
        &mut work,
    )
    .unwrap();
    (rep, plan.iter().map(|x| x.to_f64_lossless()).collect())
}

#[test]
fn plans_agree_with_pot() {
    let refs = references();
    assert_eq!(refs.len(), 5);
    for (k, r) in refs.iter().enumerate() {
        for (name, (rep, plan)) in [
            ("simd", solve::<f64, Simd>(r, 1e-14)),
            ("scalar", solve::<f64, Scalar>(r, 1e-14)),
        ] {
            assert!(rep.converged, "problem {k} {name}: {rep:?}");
            let gap = relative_gap(&plan, &r.plan);
            assert!(gap <= 1e-8, "problem {k} {name}: plan vs POT {gap:e}");
            let cost_gap = (rep.value - r.cost).abs() / r.cost;
            assert!(
                cost_gap <= 1e-8,
                "problem {k} {name}: cost vs POT {cost_gap:e}"
            );
        }
        // f32 to its own precision (the change stalls at a few ulp of f / reg).
        let (rep, plan) = solve::<f32, Simd>(r, 1e-4);
        assert!(rep.converged, "problem {k} f32: {rep:?}");
        let gap = relative_gap(&plan, &r.plan);
        assert!(gap <= 1e-4, "problem {k} f32: plan vs POT {gap:e}");
    }
}

#[test]
fn mass_is_created_and_destroyed_as_the_penalties_allow() {
    // Problem 0: a sums to 1, b to 1.3, both penalties 1: the plan's mass lies
    // strictly between; with a hard column marginal (problem 1) the columns sum to b.
    let refs = references();
    let (_, plan) = solve::<f64, Simd>(&refs[0], 1e-14);
    let mass: f64 = plan.iter().sum();
    assert!(mass > 1.0 && mass < 1.3, "mass {mass}");
    let r = &refs[1];
    let (_, plan) = solve::<f64, Simd>(r, 1e-14);
    assert_eq!(r.reg_m[1], f64::INFINITY);
    for j in 0..r.m {
        let col: f64 = (0..r.n).map(|i| plan[i * r.m + j]).sum();
        assert!(
            (col - r.b[j]).abs() <= 1e-12,
            "column {j}: {col} vs {}",
            r.b[j]
        );
    }
}

/// With both penalties infinite, the unbalanced solver is the balanced one: after
/// the same number of iterations, the same bits.
fn infinite_penalties_are_balanced<T: Real>()
where
    Simd: kernels_core::sinkhorn::SinkhornKernels<T>,
{
    for (n, m, seed) in [(7, 5, 1), (70, 90, 2), (130, 33, 3)] {
        let c: Vec<T> = cast(&uniform::<f64>(n * m, seed, 1.0));
        let norm = |v: Vec<f64>| {
            let w: Vec<f64> = v.iter().map(|x| 1.5 + x).collect();
            let s: f64 = w.iter().sum();
            cast::<T>(&w.iter().map(|x| x / s).collect::<Vec<_>>())
        };
        let (a, b) = (
            norm(uniform(n, seed + 10, 1.0)),
            norm(uniform(m, seed + 20, 1.0)),
        );
        let c = Dense::new(&c, n, m).unwrap();
        let mut work = vec![0u8; sinkhorn_work_size::<T>(n, m).unwrap().bytes()];
        let run = |unbalanced: bool, work: &mut [u8]| {
            let (mut f, mut g, mut plan) = (
                vec![T::zero(); n],
                vec![T::zero(); m],
                vec![T::zero(); n * m],
            );
            let rep = if unbalanced {
                let o = UnbalancedOpts::default()
                    .reg(0.03)
                    .reg_m(f64::INFINITY)
                    .tol(1e-300)
                    .max_iter(37);
                sinkhorn_unbalanced::<T, Simd>(
                    &Sequential,
                    c,
                    &a,
                    &b,
                    &o,
                    &mut f,
                    &mut g,
                    Some(&mut plan),
                    work,
                )
            } else {
                // The log-domain iteration (absorption agrees only to rounding).
                let o = SinkhornOpts::default()
                    .reg(0.03)
                    .tol(1e-300)
                    .max_iter(37)
                    .method(Method::Log);
                sinkhorn_log::<T, Simd>(
                    &Sequential,
                    c,
                    &a,
                    &b,
                    &o,
                    &mut f,
                    &mut g,
                    Some(&mut plan),
                    work,
                )
            }
            .unwrap();
            (rep, f, g, plan)
        };
        let (ru, fu, gu, pu) = run(true, &mut work);
        let (rb, fb, gb, pb) = run(false, &mut work);
        assert_eq!(ru.iterations, rb.iterations);
        assert_eq!(ru.value.to_bits(), rb.value.to_bits(), "n {n} m {m}");
        let bits = |v: &[T]| {
            v.iter()
                .map(|x| x.to_f64_lossless().to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&fu), bits(&fb), "f, n {n} m {m}");
        assert_eq!(bits(&gu), bits(&gb), "g, n {n} m {m}");
        assert_eq!(bits(&pu), bits(&pb), "plan, n {n} m {m}");
    }
}

#[test]
fn infinite_penalties_are_the_balanced_solver_bit_for_bit() {
    infinite_penalties_are_balanced::<f64>();
    infinite_penalties_are_balanced::<f32>();
}

/// docs/bad-input.md's rows for `kn_sinkhorn_unbalanced_*`: each refusal leaves
/// f, g, plan and the report bit-identical.
#[test]
fn bad_input_is_refused_untouched() {
    let (n, m) = (2usize, 3usize);
    let c = [0.0f64, 1.0, 2.0, 1.0, 0.0, 1.0];
    let (a, b) = ([0.5f64, 0.5], [0.2f64, 0.3, 0.9]);
    let ok = kn_unbalanced_opts {
        reg: 0.1,
        tol: 1e-9,
        ..Default::default()
    };
    let mut bytes = 0usize;
    // SAFETY: `bytes` is a live usize.
    unsafe {
        assert_eq!(
            kernels::kn_sinkhorn_unbalanced_work_bytes(n, m, null_mut()),
            -1
        );
        assert_eq!(
            kernels::kn_sinkhorn_unbalanced_work_bytes(0, m, &mut bytes),
            -2
        );
        assert_eq!(
            kernels::kn_sinkhorn_unbalanced_work_bytes(usize::MAX, 2, &mut bytes),
            -2
        );
        assert_eq!(
            kernels::kn_sinkhorn_unbalanced_work_bytes(n, m, &mut bytes),
            0
        );
    }
    let with = |f: fn(&mut kn_unbalanced_opts)| {
        let mut o = ok;
        f(&mut o);
        o
    };
    let nan_c = [0.0f64, f64::NAN, 2.0, 1.0, 0.0, 1.0];
    let huge_c = [0.0f64, 1e300, 2.0, 1.0, 0.0, 1.0];
    let zero_a = [0.0f64, 1.0];
    // Name, rows, C, a, options, work bytes, expected status.
    type Case<'a> = (
        &'a str,
        usize,
        &'a [f64],
        &'a [f64],
        kn_unbalanced_opts,
        usize,
        i32,
    );
    let cases: Vec<Case<'_>> = vec![
        ("n zero", 0, &c, &a, ok, bytes, -2),
        ("short workspace", n, &c, &a, ok, bytes - 1, -3),
        (
            "reg_m1 negative",
            n,
            &c,
            &a,
            with(|o| o.reg_m1 = -1.0),
            bytes,
            -4,
        ),
        (
            "reg_m2 NaN",
            n,
            &c,
            &a,
            with(|o| o.reg_m2 = f64::NAN),
            bytes,
            -4,
        ),
        ("reg zero", n, &c, &a, with(|o| o.reg = 0.0), bytes, -4),
        ("tol zero", n, &c, &a, with(|o| o.tol = 0.0), bytes, -4),
        (
            "max_iter zero",
            n,
            &c,
            &a,
            with(|o| o.max_iter = 0),
            bytes,
            -4,
        ),
        ("size zero", n, &c, &a, with(|o| o.size = 0), bytes, -4),
        ("a not positive", n, &c, &zero_a, ok, bytes, -4),
        (
            "unequal sums, both hard",
            n,
            &c,
            &a,
            with(|o| {
                o.reg_m1 = f64::INFINITY;
                o.reg_m2 = f64::INFINITY;
            }),
            bytes,
            -4,
        ),
        ("NaN in C", n, &nan_c, &a, ok, bytes, -5),
        (
            "C / reg overflowing",
            n,
            &huge_c,
            &a,
            with(|o| o.reg = 1e-10),
            bytes,
            -6,
        ),
    ];
    for (name, rows, cost, a, opts, work_bytes, want) in cases {
        let mut work = vec![0u8; bytes];
        let (mut f, mut g, mut plan) = ([3.0f64; 2], [3.0f64; 3], [3.0f64; 6]);
        let mut rep = kn_report {
            iterations: 7,
            ..Default::default()
        };
        // SAFETY: every pointer is a live buffer of the size (2 x 3) implies.
        let status = unsafe {
            kn_sinkhorn_unbalanced_f64(
                rows,
                m,
                cost.as_ptr(),
                a.as_ptr(),
                b.as_ptr(),
                &opts,
                f.as_mut_ptr(),
                g.as_mut_ptr(),
                plan.as_mut_ptr(),
                work.as_mut_ptr().cast(),
                work_bytes,
                &mut rep,
            )
        };
        assert_eq!(status, want, "{name}");
        assert_eq!(
            (f, g, plan),
            ([3.0; 2], [3.0; 3], [3.0; 6]),
            "{name}: written"
        );
        assert_eq!(rep.iterations, 7, "{name}: report written");
    }
    // NULL opts, and the same valid call is accepted (unequal sums with finite
    // penalties, a warm start of threes).
    let mut work = vec![0u8; bytes];
    let (mut f, mut g, mut plan) = ([3.0f64; 2], [3.0f64; 3], [3.0f64; 6]);
    for (opts, want) in [(std::ptr::null(), -1), (&raw const ok, 0)] {
        // SAFETY: as above.
        let status = unsafe {
            kn_sinkhorn_unbalanced_f64(
                n,
                m,
                c.as_ptr(),
                a.as_ptr(),
                b.as_ptr(),
                opts,
                f.as_mut_ptr(),
                g.as_mut_ptr(),
                plan.as_mut_ptr(),
                work.as_mut_ptr().cast(),
                bytes,
                null_mut(),
            )
        };
        assert_eq!(status, want);
    }
    assert!(plan.iter().all(|&p| p > 0.0 && p < 1.0));
}
