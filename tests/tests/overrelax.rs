//! Over-relaxation of the log-domain solver (`SinkhornOpts::overrelax`): it reaches
//! the plain iteration's plan in far fewer iterations at small `reg`, in both methods
//! and with epsilon scaling; `omega = 1` is the plain iteration bit for bit; a
//! divergent fixed `omega` falls back and still converges; bad values are refused
//! before anything is written.

use kernels_core::sinkhorn::{
    Method, OVERRELAX_AUTO, SinkhornOpts, batch_work_size, sinkhorn_batch, sinkhorn_log,
    sinkhorn_work_size,
};
use kernels_core::{Dense, Error, Report, Result, Sequential};
use kernels_simd::Simd;
use kernels_tests::ot_data::{OtProblem, grid_densities};

/// The report, the potentials and the plan.
type Solved = (Report, Vec<f64>, Vec<f64>, Vec<f64>);

fn solve(p: &OtProblem, o: &SinkhornOpts) -> Result<Solved> {
    let (mut f, mut g) = (vec![0.0; p.n], vec![0.0; p.m]);
    let mut plan = vec![0.0; p.n * p.m];
    let mut work = vec![0u8; sinkhorn_work_size::<f64>(p.n, p.m)?.bytes()];
    let rep = sinkhorn_log::<f64, Simd>(
        &Sequential,
        Dense::new(&p.c, p.n, p.m)?,
        &p.a,
        &p.b,
        o,
        &mut f,
        &mut g,
        Some(&mut plan),
        &mut work,
    )?;
    Ok((rep, f, g, plan))
}

/// `max |x - y| / max |y|`.
fn relative_gap(x: &[f64], y: &[f64]) -> f64 {
    let scale = y.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    let gap = x
        .iter()
        .zip(y)
        .fold(0.0f64, |d, (p, q)| d.max((p - q).abs()));
    gap / scale
}

fn opts(reg: f64, method: Method) -> SinkhornOpts {
    SinkhornOpts::default()
        .reg(reg)
        .tol(1e-10)
        .max_iter(100_000)
        .method(method)
}

#[test]
fn auto_reaches_the_plain_plan_in_a_fraction_of_the_iterations() {
    let p = grid_densities(16);
    for method in [Method::Log, Method::Absorb] {
        let o = opts(1e-3, method);
        let (r0, _, _, plain) = solve(&p, &o).unwrap();
        let (r1, _, _, relaxed) = solve(&p, &o.overrelax(OVERRELAX_AUTO)).unwrap();
        assert!(r0.converged && r1.converged, "{r0:?} {r1:?}");
        assert!(
            3 * r1.iterations < r0.iterations,
            "{method:?}: {} against {} iterations",
            r1.iterations,
            r0.iterations
        );
        assert!(relative_gap(&relaxed, &plain) <= 1e-8, "{method:?}");
        assert!((r1.value - r0.value).abs() <= 1e-9 * r0.value.abs());
    }
}

#[test]
fn a_fixed_omega_and_epsilon_scaling_reach_the_same_plan() {
    let p = grid_densities(12);
    for method in [Method::Log, Method::Absorb] {
        let o = opts(2e-3, method);
        let (r0, _, _, plain) = solve(&p, &o).unwrap();
        assert!(r0.converged, "{r0:?}");
        for relaxed in [
            o.overrelax(1.5),
            o.overrelax(0.8),
            o.overrelax(OVERRELAX_AUTO).eps_scaling(0.5),
        ] {
            let (r, _, _, plan) = solve(&p, &relaxed).unwrap();
            assert!(r.converged, "{relaxed:?}: {r:?}");
            assert!(relative_gap(&plan, &plain) <= 1e-8, "{relaxed:?}");
        }
        let (r, _, _, _) = solve(&p, &o.overrelax(1.5)).unwrap();
        assert!(r.iterations < r0.iterations, "{r:?} {r0:?}");
    }
}

#[test]
fn omega_one_is_the_plain_iteration_bit_for_bit() {
    let p = grid_densities(8);
    for method in [Method::Log, Method::Absorb] {
        let o = opts(1e-2, method);
        let (r0, f0, g0, p0) = solve(&p, &o).unwrap();
        let (r1, f1, g1, p1) = solve(&p, &o.overrelax(1.0)).unwrap();
        assert_eq!(r0, r1);
        assert_eq!((f0, g0, p0), (f1, g1, p1));
    }
}

#[test]
fn a_divergent_omega_falls_back_to_the_plain_iteration() {
    // omega = 1.99 from a cold start overshoots without end on this problem; the
    // guard returns to the plain iteration, which converges.
    let p = grid_densities(12);
    let o = opts(1e-2, Method::Log);
    let (r0, _, _, plain) = solve(&p, &o).unwrap();
    let (r, _, _, plan) = solve(&p, &o.overrelax(1.99)).unwrap();
    assert!(r0.converged && r.converged, "{r0:?} {r:?}");
    assert!(relative_gap(&plan, &plain) <= 1e-8);
}

#[test]
fn bad_omegas_are_refused_untouched() {
    let p = grid_densities(2);
    let (c, a, b) = (p.c.clone(), p.a.clone(), p.b.clone());
    let mut work = vec![0u8; sinkhorn_work_size::<f64>(4, 4).unwrap().bytes()];
    let good = SinkhornOpts::default().reg(0.1);
    for w in [
        -0.5,
        -2.0,
        2.0,
        2.5,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        let o = good.overrelax(w);
        let (mut f, mut g, mut plan) = ([7.0; 4], [7.0; 4], [7.0; 16]);
        let got = sinkhorn_log::<f64, Simd>(
            &Sequential,
            Dense::new(&c, 4, 4).unwrap(),
            &a,
            &b,
            &o,
            &mut f,
            &mut g,
            Some(&mut plan),
            &mut work,
        );
        assert_eq!(got.unwrap_err(), Error::Argument, "{w}");
        assert_eq!((f, g, plan), ([7.0; 4], [7.0; 4], [7.0; 16]));
    }
    // Batches do not over-relax.
    let mut work = vec![0u8; batch_work_size::<f64>(1, 4, 4).unwrap().bytes()];
    let (mut f, mut g) = ([7.0; 4], [7.0; 4]);
    let got = sinkhorn_batch::<f64, Simd, Report>(
        &Sequential,
        (1, 4, 4),
        &c,
        &a,
        &b,
        &good.overrelax(OVERRELAX_AUTO),
        &mut f,
        &mut g,
        None,
        &mut work,
        None,
    );
    assert_eq!(got.unwrap_err(), Error::Argument);
    assert_eq!((f, g), ([7.0; 4], [7.0; 4]));
}

#[test]
fn point_clouds_over_relax_to_the_dense_potentials() {
    use kernels_core::sinkhorn::{points_work_size, sinkhorn_points};
    // The grid's points themselves, scaled so that their squared distances are the
    // dense cost (squared distances over their maximum, 2).
    let k = 12;
    let p = grid_densities(k);
    let scale = (k - 1) as f64 * 2.0f64.sqrt();
    let pts: Vec<f64> = (0..k * k)
        .flat_map(|i| [(i / k) as f64 / scale, (i % k) as f64 / scale])
        .collect();
    let o = opts(2e-3, Method::Log).overrelax(OVERRELAX_AUTO);
    let (rd, fd, gd, _) = solve(&p, &o.overrelax(0.0)).unwrap();
    let (mut f, mut g) = (vec![0.0; p.n], vec![0.0; p.m]);
    let mut work = vec![0u8; points_work_size::<f64>(p.n, p.m, 2).unwrap().bytes()];
    let rp = sinkhorn_points::<f64, Simd>(
        &Sequential,
        (p.n, p.m, 2),
        &pts,
        &pts,
        &p.a,
        &p.b,
        &o,
        &mut f,
        &mut g,
        &mut work,
    )
    .unwrap();
    assert!(rd.converged && rp.converged, "{rd:?} {rp:?}");
    assert!(3 * rp.iterations < rd.iterations, "{rp:?} {rd:?}");
    // Potentials are defined up to a constant shift between f and g.
    let shift = f[0] - fd[0];
    let fs: Vec<f64> = f.iter().map(|v| v - shift).collect();
    let gs: Vec<f64> = g.iter().map(|v| v + shift).collect();
    assert!(relative_gap(&fs, &fd) <= 1e-6 && relative_gap(&gs, &gd) <= 1e-6);
}
