//! Point-cloud Sinkhorn: the cost computed on the fly agrees with the dense solver on
//! the explicit matrix (f64, n = m = 2000, d = 2 and 3, to 1e-10 relative), SIMD
//! cost rows against the scalar reference, results independent of the executor, the
//! workspace query (n = m = 100,000, d = 3 under 16 MiB), and the bad-input rows of
//! docs/bad-input.md through the C entry points.

use kernels::{kn_report, kn_sinkhorn_opts, kn_sinkhorn_points_f64, kn_sinkhorn_points_work_bytes};
use kernels_core::sinkhorn::{
    SinkhornKernels, SinkhornOpts, points_work_size, sinkhorn_log, sinkhorn_points,
    sinkhorn_work_size,
};
use kernels_core::{Dense, Real, Report, Scalar, Sequential};
use kernels_simd::Simd;
use kernels_simd::threads::Threads;
use kernels_tests::{cast, uniform};
use std::ptr::null_mut;

/// Two clouds in `[0, 1)^d` (the second shifted by 0.2), uniform weights.
struct Clouds {
    n: usize,
    m: usize,
    d: usize,
    x: Vec<f64>,
    y: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

fn clouds(n: usize, m: usize, d: usize, seed: u64) -> Clouds {
    let unit = |k: usize, s: u64, shift: f64| -> Vec<f64> {
        uniform::<f64>(k * d, s, 0.5)
            .iter()
            .map(|v| v + 0.5 + shift)
            .collect()
    };
    Clouds {
        n,
        m,
        d,
        x: unit(n, seed, 0.0),
        y: unit(m, seed + 1, 0.2),
        a: vec![1.0 / n as f64; n],
        b: vec![1.0 / m as f64; m],
    }
}

/// `C_ij = sum_k (x_ik - y_jk)^2`, written out plainly.
fn explicit_cost(p: &Clouds) -> Vec<f64> {
    let mut c = Vec::with_capacity(p.n * p.m);
    for xi in p.x.chunks_exact(p.d) {
        for yj in p.y.chunks_exact(p.d) {
            c.push(xi.iter().zip(yj).map(|(u, v)| (u - v) * (u - v)).sum());
        }
    }
    c
}

fn points<T: Real, P: SinkhornKernels<T>>(
    p: &Clouds,
    opts: &SinkhornOpts,
    exec: &impl kernels_core::Exec,
) -> (Report, Vec<T>, Vec<T>) {
    let (x, y, a, b) = (
        cast::<T>(&p.x),
        cast::<T>(&p.y),
        cast::<T>(&p.a),
        cast::<T>(&p.b),
    );
    let (mut f, mut g) = (vec![T::zero(); p.n], vec![T::zero(); p.m]);
    let mut work = vec![0u8; points_work_size::<T>(p.n, p.m, p.d).unwrap().bytes()];
    let rep = sinkhorn_points::<T, P>(
        exec,
        (p.n, p.m, p.d),
        &x,
        &y,
        &a,
        &b,
        opts,
        &mut f,
        &mut g,
        &mut work,
    )
    .unwrap();
    (rep, f, g)
}

/// `max |x - y| / max |y|`.
fn relative_gap(x: &[f64], y: &[f64]) -> f64 {
    let scale = y.iter().fold(0.0f64, |s, v| s.max(v.abs()));
    x.iter()
        .zip(y)
        .fold(0.0f64, |d, (p, q)| d.max((p - q).abs()))
        / scale
}

#[test]
fn agrees_with_the_dense_solver_on_the_explicit_cost() {
    // The sizes: n = m = 2000 in f64, d = 2 and 3; 60 iterations (reg 0.01 is
    // about 1/30 of the mean cost), so that the same iterates are compared.
    for d in [2usize, 3] {
        let p = clouds(2000, 2000, d, 40 + d as u64);
        let opts = SinkhornOpts::default()
            .reg(0.01)
            .tol(1e-300)
            .max_iter(60)
            .check_every(20);
        let (rp, fp, gp) = points::<f64, Simd>(&p, &opts, &Sequential);
        let c = explicit_cost(&p);
        let (mut f, mut g) = (vec![0.0; p.n], vec![0.0; p.m]);
        let mut work = vec![0u8; sinkhorn_work_size::<f64>(p.n, p.m).unwrap().bytes()];
        let rd = sinkhorn_log::<f64, Simd>(
            &Sequential,
            Dense::new(&c, p.n, p.m).unwrap(),
            &p.a,
            &p.b,
            &opts,
            &mut f,
            &mut g,
            None,
            &mut work,
        )
        .unwrap();
        assert_eq!(rp.iterations, rd.iterations);
        let (gap_f, gap_g) = (relative_gap(&fp, &f), relative_gap(&gp, &g));
        let gap_value = (rp.value - rd.value).abs() / rd.value;
        let gap_error = (rp.error - rd.error).abs() / rd.error;
        eprintln!(
            "d {d}: f {gap_f:.1e}, g {gap_g:.1e}, value {gap_value:.1e}, error {gap_error:.1e}"
        );
        assert!(
            gap_f <= 1e-10 && gap_g <= 1e-10,
            "d {d}: {gap_f:e} {gap_g:e}"
        );
        assert!(gap_value <= 1e-10, "d {d}: value {gap_value:e}");
        assert!(gap_error <= 1e-6, "d {d}: error {gap_error:e}");
    }
}

#[test]
fn converges_in_f32_and_f64_with_the_scalar_and_simd_kernels() {
    let p = clouds(150, 170, 3, 7);
    let opts = SinkhornOpts::default().reg(0.02).tol(1e-9).max_iter(5000);
    let (r64, f64s, _) = points::<f64, Simd>(&p, &opts, &Sequential);
    assert!(r64.converged, "{r64:?}");
    let (rs, fs, _) = points::<f64, Scalar>(&p, &opts, &Sequential);
    assert!(rs.converged, "{rs:?}");
    assert!(relative_gap(&fs, &f64s) <= 1e-9);
    let (r32, f32s, _) = points::<f32, Simd>(&p, &opts.tol(1e-4), &Sequential);
    assert!(r32.converged, "{r32:?}");
    let wide: Vec<f64> = f32s.iter().map(|&v| f64::from(v)).collect();
    assert!(relative_gap(&wide, &f64s) <= 1e-3);
    assert!((f64::from(r32.value as f32) - r64.value).abs() <= 1e-3 * r64.value);
}

#[test]
fn results_do_not_depend_on_the_executor() {
    // 700 rows: 11 row tiles, on 3 threads of the pool (every call on the pool, as
    // small as it is; other tests of this binary give the same results either way).
    let p = clouds(700, 650, 3, 3);
    let opts = SinkhornOpts::default().reg(0.02).tol(1e-300).max_iter(20);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let (r1, f1, g1) = points::<f32, Simd>(&p, &opts, &Sequential);
    kernels_simd::threads::set_min_parallel_ops(0);
    assert_eq!(kernels::kn_set_num_threads(3), 0);
    let (r2, f2, g2) = points::<f32, Simd>(&p, &opts, &Threads);
    assert_eq!(kernels::kn_set_num_threads(0), 0);
    kernels_simd::threads::set_min_parallel_ops(kernels_simd::threads::MIN_PARALLEL_OPS);
    assert_eq!(r1.value.to_bits(), r2.value.to_bits());
    assert_eq!((bits(&f1), bits(&g1)), (bits(&f2), bits(&g2)));
}

#[test]
fn cost_rows_agree_with_the_scalar_reference() {
    for (d, m) in [
        (1usize, 1usize),
        (2, 7),
        (3, 33),
        (3, 4099),
        (5, 17),
        (64, 40),
    ] {
        let x = uniform::<f64>(d, 1, 3.0);
        let yt = uniform::<f64>(d * m, 2, 3.0);
        let (mut s, mut v) = (vec![-1.0; m], vec![-1.0; m]);
        <Scalar as SinkhornKernels<f64>>::sq_dist_row(&x, &yt, &mut s);
        <Simd as SinkhornKernels<f64>>::sq_dist_row(&x, &yt, &mut v);
        for (j, (p, q)) in s.iter().zip(&v).enumerate() {
            // Sums of d nonnegative terms: relative d u apart at most.
            assert!(*q >= 0.0);
            assert!(
                (p - q).abs() <= 2.0 * d as f64 * f64::EPSILON * p,
                "d {d} j {j}"
            );
        }
    }
}

#[test]
fn a_hundred_thousand_points_each_fit_in_16_mib() {
    let mut bytes = 0usize;
    // SAFETY: `bytes` is a live usize.
    let status = unsafe { kn_sinkhorn_points_work_bytes(100_000, 100_000, 3, &mut bytes) };
    assert_eq!(status, 0);
    eprintln!("n = m = 100000, d = 3: {bytes} bytes");
    assert!(bytes < 16 << 20, "{bytes}");
}

/// docs/bad-input.md's rows for `kn_sinkhorn_points_*`: each refusal leaves f, g and
/// the report bit-identical.
#[test]
fn bad_input_is_refused_untouched() {
    let (n, m, d) = (2usize, 3usize, 2usize);
    let x = [0.0f64, 0.0, 1.0, 0.0];
    let y = [0.0f64, 1.0, 1.0, 1.0, 0.5, 0.5];
    let (a, b) = ([0.5f64, 0.5], [0.25f64, 0.25, 0.5]);
    let ok = kn_sinkhorn_opts {
        reg: 0.1,
        tol: 1e-9,
        ..Default::default()
    };
    let mut bytes = 0usize;
    // SAFETY: `bytes` is a live usize.
    unsafe {
        assert_eq!(kn_sinkhorn_points_work_bytes(n, m, d, null_mut()), -1);
        assert_eq!(kn_sinkhorn_points_work_bytes(n, m, 0, &mut bytes), -2);
        assert_eq!(kn_sinkhorn_points_work_bytes(0, m, d, &mut bytes), -2);
        assert_eq!(
            kn_sinkhorn_points_work_bytes(usize::MAX / 2, usize::MAX / 2, 3, &mut bytes),
            -2
        );
        assert_eq!(
            kn_sinkhorn_points_work_bytes(usize::MAX / 4, 1, 8, &mut bytes),
            -2
        );
        assert_eq!(kn_sinkhorn_points_work_bytes(n, m, d, &mut bytes), 0);
    }
    let with = |f: fn(&mut kn_sinkhorn_opts)| {
        let mut o = ok;
        f(&mut o);
        o
    };
    let nan_x = [0.0f64, f64::NAN, 1.0, 0.0];
    let inf_y = [0.0f64, 1.0, f64::INFINITY, 1.0, 0.5, 0.5];
    let huge_x = [0.0f64, 0.0, 1e300, 0.0];
    let zero_a = [0.0f64, 1.0];
    let uneven_b = [0.25f64, 0.25, 0.6];
    // Name, (n, d), x, y, a, b, options, work bytes, expected status.
    type Case<'a> = (
        &'a str,
        (usize, usize),
        &'a [f64],
        &'a [f64],
        &'a [f64],
        &'a [f64],
        kn_sinkhorn_opts,
        usize,
        i32,
    );
    let cases: Vec<Case<'_>> = vec![
        ("n zero", (0, d), &x, &y, &a, &b, ok, bytes, -2),
        ("d zero", (n, 0), &x, &y, &a, &b, ok, bytes, -2),
        (
            "(n + m) d overflowing",
            (usize::MAX / 4, 8),
            &x,
            &y,
            &a,
            &b,
            ok,
            bytes,
            -2,
        ),
        ("short workspace", (n, d), &x, &y, &a, &b, ok, bytes - 1, -3),
        (
            "reg zero",
            (n, d),
            &x,
            &y,
            &a,
            &b,
            with(|o| o.reg = 0.0),
            bytes,
            -4,
        ),
        (
            "reg NaN",
            (n, d),
            &x,
            &y,
            &a,
            &b,
            with(|o| o.reg = f64::NAN),
            bytes,
            -4,
        ),
        (
            "tol zero",
            (n, d),
            &x,
            &y,
            &a,
            &b,
            with(|o| o.tol = 0.0),
            bytes,
            -4,
        ),
        (
            "max_iter zero",
            (n, d),
            &x,
            &y,
            &a,
            &b,
            with(|o| o.max_iter = 0),
            bytes,
            -4,
        ),
        (
            "size zero",
            (n, d),
            &x,
            &y,
            &a,
            &b,
            with(|o| o.size = 0),
            bytes,
            -4,
        ),
        ("a not positive", (n, d), &x, &y, &zero_a, &b, ok, bytes, -4),
        ("unequal sums", (n, d), &x, &y, &a, &uneven_b, ok, bytes, -4),
        ("NaN in x", (n, d), &nan_x, &y, &a, &b, ok, bytes, -5),
        ("inf in y", (n, d), &x, &inf_y, &a, &b, ok, bytes, -5),
        (
            "C / reg overflowing",
            (n, d),
            &huge_x,
            &y,
            &a,
            &b,
            with(|o| o.reg = 1e-10),
            bytes,
            -6,
        ),
    ];
    for (name, (rows, dim), x, y, a, b, opts, work_bytes, want) in cases {
        let mut work = vec![0u8; bytes];
        let (mut f, mut g) = ([3.0f64; 2], [3.0f64; 3]);
        let mut rep = kn_report {
            iterations: 7,
            ..Default::default()
        };
        // SAFETY: every pointer is a live buffer of at least the size (2, 3, 2) implies;
        // the overflowing case is refused before any pointer is read.
        let status = unsafe {
            kn_sinkhorn_points_f64(
                rows,
                m,
                dim,
                x.as_ptr(),
                y.as_ptr(),
                a.as_ptr(),
                b.as_ptr(),
                &opts,
                f.as_mut_ptr(),
                g.as_mut_ptr(),
                work.as_mut_ptr().cast(),
                work_bytes,
                &mut rep,
            )
        };
        assert_eq!(status, want, "{name}");
        assert_eq!((f, g), ([3.0; 2], [3.0; 3]), "{name}: written");
        assert_eq!(rep.iterations, 7, "{name}: report written");
    }
    // NULL points, an output overlapping an input, and the valid call accepted (a
    // warm start of threes).
    let mut work = vec![0u8; bytes];
    let (mut f, mut g) = ([3.0f64; 2], [3.0f64; 3]);
    let mut y_out = y;
    for (x_ptr, y_ptr, g_ptr, want) in [
        (std::ptr::null(), y.as_ptr(), g.as_mut_ptr(), -1),
        (x.as_ptr(), std::ptr::null(), g.as_mut_ptr(), -1),
        (x.as_ptr(), y_out.as_ptr(), y_out.as_mut_ptr(), -4),
        (x.as_ptr(), y.as_ptr(), g.as_mut_ptr(), 0),
    ] {
        // SAFETY: as above.
        let status = unsafe {
            kn_sinkhorn_points_f64(
                n,
                m,
                d,
                x_ptr,
                y_ptr,
                a.as_ptr(),
                b.as_ptr(),
                &ok,
                f.as_mut_ptr(),
                g_ptr,
                work.as_mut_ptr().cast(),
                bytes,
                null_mut(),
            )
        };
        assert_eq!(status, want);
        if want != 0 {
            assert_eq!(f, [3.0; 2]);
        }
    }
    assert_eq!(y_out, y, "the overlapping call wrote into y");
    assert!(g.iter().all(|v| v.is_finite()) && g != [3.0; 3]);
}
