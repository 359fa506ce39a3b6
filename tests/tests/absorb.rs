//! Absorption (`Method::Absorb`) against the log-domain iteration, and epsilon
//! scaling: the same potentials and plan on random and real (sklearn digits, from
//! tests/data/unbalanced-pot.bin) problems down to reg = 1e-4 max|C|, a problem where
//! exp(-C / reg) underflows everywhere, warm starts, and the bad option values.

use kernels_core::Sequential;
use kernels_core::sinkhorn::{Method, SinkhornOpts, sinkhorn_log, sinkhorn_work_size};
use kernels_core::{Dense, Error, Real, Report, Result};
use kernels_simd::Simd;
use kernels_tests::uniform;

/// A balanced problem in f64.
struct Problem {
    n: usize,
    m: usize,
    c: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

fn normalized(v: &[f64], total: f64) -> Vec<f64> {
    let s: f64 = v.iter().sum();
    v.iter().map(|x| total * x / s).collect()
}

/// Cost uniform in `[offset, offset + 1)`, marginals positive summing to one.
fn random(n: usize, m: usize, seed: u64, offset: f64) -> Problem {
    let pos = |k, s| -> Vec<f64> {
        uniform::<f64>(k, s, 1.0)
            .iter()
            .map(|x| 1.0 + 0.9 * x)
            .collect()
    };
    Problem {
        n,
        m,
        c: uniform::<f64>(n * m, seed, 1.0)
            .iter()
            .map(|x| offset + 0.5 * (x + 1.0))
            .collect(),
        a: normalized(&pos(n, seed + 1), 1.0),
        b: normalized(&pos(m, seed + 2), 1.0),
    }
}

/// Two sklearn digits as masses on the 8 x 8 pixel grid, squared distance over its
/// maximum as the cost: the digits problem of tests/data/unbalanced_pot.py (its
/// fourth record), with the second mass scaled to the first's total.
fn digits() -> Problem {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/unbalanced-pot.bin");
    let bytes = std::fs::read(path).expect("tests/data/unbalanced-pot.bin");
    let v: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mut at = 0;
    for _ in 0..3 {
        let (n, m) = (v[at] as usize, v[at + 1] as usize);
        at += 6 + n + m + 2 * n * m;
    }
    let (n, m) = (v[at] as usize, v[at + 1] as usize);
    assert_eq!((n, m), (64, 64), "the digits record");
    let c = v[at + 5..][..n * m].to_vec();
    let a = v[at + 5 + n * m..][..n].to_vec();
    let b = v[at + 5 + n * m + n..][..m].to_vec();
    let total = a.iter().sum();
    Problem {
        n,
        m,
        c,
        b: normalized(&b, total),
        a,
    }
}

fn cast<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&x| T::of(x)).collect()
}

fn wide<T: Real>(v: &[T]) -> Vec<f64> {
    v.iter().map(|x| x.to_f64_lossless()).collect()
}

/// The report, potentials and plan (widened).
type Solved = (Report, Vec<f64>, Vec<f64>, Vec<f64>);

/// `sinkhorn_log` on `p` in `T`, from `warm` potentials or zeros, with a plan.
fn solve<T: Real>(p: &Problem, o: &SinkhornOpts, warm: Option<(&[f64], &[f64])>) -> Result<Solved>
where
    Simd: kernels_core::sinkhorn::SinkhornKernels<T>,
{
    let (c, a, b) = (cast::<T>(&p.c), cast::<T>(&p.a), cast::<T>(&p.b));
    let (mut f, mut g) = match warm {
        Some((f, g)) => (cast::<T>(f), cast::<T>(g)),
        None => (vec![T::zero(); p.n], vec![T::zero(); p.m]),
    };
    let mut plan = vec![T::zero(); p.n * p.m];
    let mut work = vec![0u8; sinkhorn_work_size::<T>(p.n, p.m)?.bytes()];
    let rep = sinkhorn_log::<T, Simd>(
        &Sequential,
        Dense::new(&c, p.n, p.m)?,
        &a,
        &b,
        o,
        &mut f,
        &mut g,
        Some(&mut plan),
        &mut work,
    )?;
    Ok((rep, wide(&f), wide(&g), wide(&plan)))
}

/// `max |x - y| / max |y|`.
fn relative_gap(x: &[f64], y: &[f64]) -> f64 {
    let scale = y.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    x.iter()
        .zip(y)
        .fold(0.0f64, |d, (p, q)| d.max((p - q).abs()))
        / scale
}

fn max_abs(c: &[f64]) -> f64 {
    c.iter().fold(0.0f64, |s, v| s.max(v.abs()))
}

/// Absorption and the log domain from a cold start at `reg = rel max|C|`: both
/// converge to `tol` in the same number of iterations, with potentials and plan
/// within `gap` (relative) and the same cost.
fn agree(p: &Problem, rel: f64, tol: f64, gap: f64) {
    let o = SinkhornOpts::default()
        .reg(rel * max_abs(&p.c))
        .tol(tol)
        .max_iter(1_000_000);
    let (rl, fl, gl, pl) = solve::<f64>(p, &o.method(Method::Log), None).unwrap();
    let (ra, fa, ga, pa) = solve::<f64>(p, &o.method(Method::Absorb), None).unwrap();
    assert!(rl.converged && ra.converged, "{rl:?} {ra:?}");
    assert_eq!(rl.iterations, ra.iterations, "reg {rel} max|C|");
    let gaps = [
        relative_gap(&fa, &fl),
        relative_gap(&ga, &gl),
        relative_gap(&pa, &pl),
        (ra.value - rl.value).abs() / rl.value.abs(),
    ];
    assert!(gaps.iter().all(|&d| d <= gap), "reg {rel} max|C|: {gaps:?}");
    // Auto with a plan is absorption.
    let (_, fo, _, _) = solve::<f64>(p, &o, None).unwrap();
    assert_eq!(fo, fa);
}

#[test]
fn absorption_agrees_with_the_log_domain_on_random_problems() {
    for (k, &rel) in [0.1, 1e-2, 1e-3, 1e-4, 1e-5].iter().enumerate() {
        agree(&random(23, 17, 40 + k as u64, 0.0), rel, 1e-10, 1e-9);
    }
}

#[test]
fn absorption_agrees_with_the_log_domain_on_digits() {
    let p = digits();
    for rel in [0.05, 1e-2, 1e-3, 1e-4] {
        agree(&p, rel, 1e-9, 1e-9);
    }
}

#[test]
fn absorption_converges_where_the_plain_kernel_underflows_everywhere() {
    // exp(-C / reg) <= exp(-1e5): zero in f64 for every entry.
    let p = random(20, 30, 7, 100.0);
    let reg = 1e-3;
    assert!(p.c.iter().all(|&c| (-c / reg).exp() == 0.0));
    let o = SinkhornOpts::default()
        .reg(reg)
        .tol(1e-10)
        .max_iter(100_000);
    let (ra, fa, _, pa) = solve::<f64>(&p, &o.method(Method::Absorb), None).unwrap();
    let (rl, fl, _, pl) = solve::<f64>(&p, &o.method(Method::Log), None).unwrap();
    assert!(ra.converged && rl.converged);
    assert!(pa.iter().all(|x| x.is_finite()));
    assert!(relative_gap(&fa, &fl) <= 1e-9 && relative_gap(&pa, &pl) <= 1e-9);
    // f32 too.
    let (r32, _, _, p32) = solve::<f32>(&p, &o.tol(1e-5), None).unwrap();
    assert!(r32.converged && p32.iter().all(|x| x.is_finite()));
}

#[test]
fn absorption_keeps_warm_starts() {
    let p = random(30, 20, 3, 0.0);
    let o = SinkhornOpts::default()
        .reg(1e-3)
        .tol(1e-10)
        .max_iter(1_000_000)
        .method(Method::Absorb);
    let (r, f, g, plan) = solve::<f64>(&p, &o, None).unwrap();
    assert!(r.converged);
    let (w, f2, _, plan2) = solve::<f64>(&p, &o, Some((&f, &g))).unwrap();
    assert!(w.converged);
    assert_eq!(w.iterations, o.check_every);
    assert!(relative_gap(&f2, &f) <= 1e-9 && relative_gap(&plan2, &plan) <= 1e-9);
}

#[test]
fn epsilon_scaling_reaches_the_same_plan() {
    let p = digits();
    let reg = 1e-3 * max_abs(&p.c);
    for method in [Method::Log, Method::Absorb] {
        let o = SinkhornOpts::default()
            .reg(reg)
            .tol(1e-11)
            .max_iter(1_000_000)
            .method(method);
        let (r0, _, _, plain) = solve::<f64>(&p, &o, None).unwrap();
        let (r1, _, _, scaled) = solve::<f64>(&p, &o.eps_scaling(0.5), None).unwrap();
        let (r2, _, _, started) =
            solve::<f64>(&p, &o.eps_scaling(0.7).reg_start(0.1), None).unwrap();
        assert!(r0.converged && r1.converged && r2.converged);
        assert!(r1.iterations < r0.iterations, "{r1:?} {r0:?}");
        assert!(relative_gap(&scaled, &plain) <= 1e-8);
        assert!(relative_gap(&started, &plain) <= 1e-8);
    }
}

#[test]
fn epsilon_scaling_stays_within_max_iter() {
    let p = random(12, 9, 5, 0.0);
    let o = SinkhornOpts::default()
        .reg(1e-3)
        .tol(1e-300)
        .max_iter(57)
        .check_every(1)
        .eps_scaling(0.9);
    let (r, _, _, plan) = solve::<f64>(&p, &o, None).unwrap();
    assert_eq!(r.iterations, 57);
    assert!(!r.converged && plan.iter().all(|x| x.is_finite()));
}

#[test]
fn bad_method_options_are_refused_untouched() {
    let p = random(4, 3, 9, 0.0);
    let good = SinkhornOpts::default().reg(0.1);
    let bad = [
        good.eps_scaling(-0.5),
        good.eps_scaling(1.0),
        good.eps_scaling(1.5),
        good.eps_scaling(f64::NAN),
        good.eps_scaling(f64::INFINITY),
        good.reg_start(-1.0),
        good.reg_start(f64::NAN),
        good.reg_start(f64::INFINITY),
        good.eps_scaling(0.5).reg_start(f64::NAN),
    ];
    let (c, a, b) = (p.c.clone(), p.a.clone(), p.b.clone());
    let mut work = vec![0u8; sinkhorn_work_size::<f64>(p.n, p.m).unwrap().bytes()];
    for o in bad.iter().chain(&[good.method(Method::Absorb)]) {
        let (mut f, mut g, mut plan) = ([7.0; 4], [7.0; 3], [7.0; 12]);
        // Absorb needs the plan: it is the only one run without.
        let plan_arg = (o.method != Method::Absorb).then_some(&mut plan[..]);
        let got = sinkhorn_log::<f64, Simd>(
            &Sequential,
            Dense::new(&c, p.n, p.m).unwrap(),
            &a,
            &b,
            o,
            &mut f,
            &mut g,
            plan_arg,
            &mut work,
        );
        assert_eq!(got.unwrap_err(), Error::Argument, "{o:?}");
        assert_eq!((f, g, plan), ([7.0; 4], [7.0; 3], [7.0; 12]));
    }
}

#[test]
fn batch_refuses_epsilon_scaling_untouched() {
    use kernels_core::sinkhorn::{batch_work_size, sinkhorn_batch};
    let p = random(4, 3, 11, 0.0);
    let mut work = vec![0u8; batch_work_size::<f64>(2, 4, 3).unwrap().bytes()];
    let (c, a, b) = (
        [p.c.clone(), p.c.clone()].concat(),
        [p.a.clone(), p.a.clone()].concat(),
        [p.b.clone(), p.b.clone()].concat(),
    );
    let (mut f, mut g, mut plan) = ([7.0; 8], [7.0; 6], [7.0; 24]);
    let mut reps = [Report::default(); 2];
    let o = SinkhornOpts::default().reg(0.1).eps_scaling(0.5);
    let got = sinkhorn_batch::<f64, Simd, Report>(
        &Sequential,
        (2, 4, 3),
        &c,
        &a,
        &b,
        &o,
        &mut f,
        &mut g,
        Some(&mut plan),
        &mut work,
        Some(&mut reps),
    );
    assert_eq!(got.unwrap_err(), Error::Argument);
    assert_eq!((f, g, plan), ([7.0; 8], [7.0; 6], [7.0; 24]));
    assert_eq!(reps, [Report::default(); 2]);
}

#[test]
fn absorption_in_f32_reaches_the_f64_plan() {
    for (k, &rel) in [1e-2, 1e-3, 1e-4].iter().enumerate() {
        let p = random(23, 17, 60 + k as u64, 0.0);
        let o = SinkhornOpts::default()
            .reg(rel * max_abs(&p.c))
            .max_iter(1_000_000);
        let (r64, _, _, p64) = solve::<f64>(&p, &o.tol(1e-10).method(Method::Log), None).unwrap();
        let (r32, _, _, p32) = solve::<f32>(&p, &o.tol(1e-5).method(Method::Absorb), None).unwrap();
        assert!(r64.converged && r32.converged, "reg {rel} max|C|: {r32:?}");
        let gap = relative_gap(&p32, &p64);
        assert!(gap <= 1e-3, "reg {rel} max|C|: f32 plan off by {gap:e}");
    }
}
