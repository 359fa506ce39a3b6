//! Batched Sinkhorn (`kn_sinkhorn_batch_*`): every problem bit-identical to its own
//! `kn_sinkhorn_*` call (potentials, plan, report), on one thread and on several,
//! problems converging at different iterations, small problems run side by side
//! (one per vector lane) next to ones that leave that path, and the bad-input rows
//! of docs/bad-input.md (nothing written).

use kernels::{
    KN_ERR_ARGUMENT, KN_ERR_DIMENSION, KN_ERR_NON_FINITE, KN_ERR_NULL, KN_ERR_WORKSPACE,
    KN_NOT_CONVERGED, KN_OK, KN_SINKHORN_LOG, kn_report, kn_sinkhorn_opts, kn_status,
};
use kernels_core::Real;
use kernels_tests::uniform;
use std::ptr::{null, null_mut};

/// The element types with their entry points.
trait Elem: Real {
    #[allow(clippy::too_many_arguments)]
    unsafe fn single(
        n: usize,
        m: usize,
        c: *const Self,
        a: *const Self,
        b: *const Self,
        o: *const kn_sinkhorn_opts,
        f: *mut Self,
        g: *mut Self,
        plan: *mut Self,
        work: &mut [u8],
        rep: *mut kn_report,
    ) -> kn_status;

    #[allow(clippy::too_many_arguments)]
    unsafe fn batch(
        batch: usize,
        n: usize,
        m: usize,
        c: *const Self,
        a: *const Self,
        b: *const Self,
        o: *const kn_sinkhorn_opts,
        f: *mut Self,
        g: *mut Self,
        plan: *mut Self,
        work: &mut [u8],
        reps: *mut kn_report,
    ) -> kn_status;
}

macro_rules! elem {
    ($t:ty, $single:ident, $batch:ident) => {
        impl Elem for $t {
            unsafe fn single(
                n: usize,
                m: usize,
                c: *const Self,
                a: *const Self,
                b: *const Self,
                o: *const kn_sinkhorn_opts,
                f: *mut Self,
                g: *mut Self,
                plan: *mut Self,
                work: &mut [u8],
                rep: *mut kn_report,
            ) -> kn_status {
                let (w, wb) = (work.as_mut_ptr().cast(), work.len());
                // SAFETY: forwarded; the caller passes live buffers.
                unsafe { kernels::$single(n, m, c, a, b, o, f, g, plan, w, wb, rep) }
            }

            unsafe fn batch(
                batch: usize,
                n: usize,
                m: usize,
                c: *const Self,
                a: *const Self,
                b: *const Self,
                o: *const kn_sinkhorn_opts,
                f: *mut Self,
                g: *mut Self,
                plan: *mut Self,
                work: &mut [u8],
                reps: *mut kn_report,
            ) -> kn_status {
                let (w, wb) = (work.as_mut_ptr().cast(), work.len());
                // SAFETY: forwarded; the caller passes live buffers.
                unsafe { kernels::$batch(batch, n, m, c, a, b, o, f, g, plan, w, wb, reps) }
            }
        }
    };
}
elem!(f32, kn_sinkhorn_f32, kn_sinkhorn_batch_f32);
elem!(f64, kn_sinkhorn_f64, kn_sinkhorn_batch_f64);

/// `batch` random problems of `n x m` (costs in [0, 1) scaled per problem, so the
/// problems need different iteration counts), with warm starts on every third.
struct Batch<T> {
    batch: usize,
    n: usize,
    m: usize,
    c: Vec<T>,
    a: Vec<T>,
    b: Vec<T>,
    f: Vec<T>,
    g: Vec<T>,
}

fn weights<T: Real>(len: usize, seed: u64) -> Vec<T> {
    let w: Vec<f64> = uniform::<f64>(len, seed, 1.0)
        .iter()
        .map(|x| 1.5 + x)
        .collect();
    let s: f64 = w.iter().sum();
    w.iter().map(|x| T::of(x / s)).collect()
}

fn problems<T: Real>(batch: usize, n: usize, m: usize, seed: u64) -> Batch<T> {
    let mut p = Batch {
        batch,
        n,
        m,
        c: Vec::new(),
        a: Vec::new(),
        b: Vec::new(),
        f: Vec::new(),
        g: Vec::new(),
    };
    for k in 0..batch as u64 {
        let scale = 0.5 + (k % 7) as f64 * 0.25;
        let c = uniform::<f64>(n * m, seed + 10 * k, 1.0);
        p.c.extend(c.iter().map(|x| T::of(scale * 0.5 * (x + 1.0))));
        p.a.extend(weights::<T>(n, seed + 10 * k + 1));
        p.b.extend(weights::<T>(m, seed + 10 * k + 2));
        let warm = k % 3 == 2;
        p.f.extend((0..n).map(|i| T::of(if warm { 0.01 * i as f64 } else { 0.0 })));
        p.g.extend((0..m).map(|_| T::zero()));
    }
    p
}

fn bits<T: Real>(v: &[T]) -> Vec<u64> {
    v.iter().map(|x| x.to_f64_lossless().to_bits()).collect()
}

fn rep_bits(r: &kn_report) -> (u32, u64, u64, i32) {
    (
        r.iterations,
        r.error.to_bits(),
        r.value.to_bits(),
        r.converged,
    )
}

fn opts(reg: f64, tol: f64, max_iter: u32) -> kn_sinkhorn_opts {
    kn_sinkhorn_opts {
        reg,
        tol,
        max_iter,
        check_every: 3,
        ..Default::default()
    }
}

/// The batch call against one `kn_sinkhorn_*` call per problem, with `o`'s method
/// and with the log-domain method: the same status rule and the same bits
/// everywhere. (With a plan buffer the default method is absorption, which runs
/// problem by problem; the log-domain method runs small problems side by side.)
fn same_as_separate_calls<T: Elem>(p: &Batch<T>, o: &kn_sinkhorn_opts) -> kn_status {
    let status = same_as_separate_calls_with(p, o);
    let log = kn_sinkhorn_opts {
        method: KN_SINKHORN_LOG,
        ..*o
    };
    assert_eq!(same_as_separate_calls_with(p, &log), status);
    status
}

/// [`same_as_separate_calls`] with `o` alone.
fn same_as_separate_calls_with<T: Elem>(p: &Batch<T>, o: &kn_sinkhorn_opts) -> kn_status {
    let (batch, n, m) = (p.batch, p.n, p.m);
    let nm = n * m;
    let mut bytes = 0usize;
    // SAFETY: `bytes` is a live usize.
    let status = unsafe { kernels::kn_sinkhorn_batch_work_bytes(batch, n, m, &mut bytes) };
    assert_eq!(status, KN_OK);
    let mut work = vec![0u8; bytes];
    let (mut f, mut g) = (p.f.clone(), p.g.clone());
    let mut plan = vec![T::zero(); batch * nm];
    let mut reps = vec![kn_report::default(); batch];
    // SAFETY: every buffer has the length batch, n and m imply.
    let status = unsafe {
        T::batch(
            batch,
            n,
            m,
            p.c.as_ptr(),
            p.a.as_ptr(),
            p.b.as_ptr(),
            o,
            f.as_mut_ptr(),
            g.as_mut_ptr(),
            plan.as_mut_ptr(),
            &mut work,
            reps.as_mut_ptr(),
        )
    };
    // SAFETY: as above.
    let status_one = unsafe { kernels::kn_sinkhorn_work_bytes(n, m, &mut bytes) };
    assert_eq!(status_one, KN_OK);
    let mut one = vec![0u8; bytes];
    let mut all = true;
    for k in 0..batch {
        let (mut fk, mut gk) = (
            p.f[k * n..(k + 1) * n].to_vec(),
            p.g[k * m..(k + 1) * m].to_vec(),
        );
        let mut pk = vec![T::zero(); nm];
        let mut rk = kn_report::default();
        // SAFETY: as above, for one problem.
        let s = unsafe {
            T::single(
                n,
                m,
                p.c[k * nm..].as_ptr(),
                p.a[k * n..].as_ptr(),
                p.b[k * m..].as_ptr(),
                o,
                fk.as_mut_ptr(),
                gk.as_mut_ptr(),
                pk.as_mut_ptr(),
                &mut one,
                &mut rk,
            )
        };
        assert!(s == KN_OK || s == KN_NOT_CONVERGED, "problem {k}: {s}");
        all &= s == KN_OK;
        assert_eq!(bits(&fk), bits(&f[k * n..(k + 1) * n]), "f of problem {k}");
        assert_eq!(bits(&gk), bits(&g[k * m..(k + 1) * m]), "g of problem {k}");
        assert_eq!(bits(&pk), bits(&plan[k * nm..(k + 1) * nm]), "plan {k}");
        assert_eq!(rep_bits(&rk), rep_bits(&reps[k]), "report of problem {k}");
    }
    assert_eq!(status, if all { KN_OK } else { KN_NOT_CONVERGED });
    status
}

#[test]
fn every_problem_is_its_separate_call_bit_for_bit() {
    // One problem (its row tiles on the executor), one row tile, several runs of
    // problems, tails, and problems of several row tiles. Side by side, row
    // counts that leave 3 and 1 rows after the last group of four column-sum rows.
    for (batch, n, m) in [
        (1, 32, 32),
        (1, 150, 70),
        (5, 7, 5),
        (70, 32, 32),
        (40, 7, 16),
        (40, 5, 8),
        (130, 3, 9),
        (3, 150, 70),
    ] {
        let p64 = problems::<f64>(batch, n, m, 7);
        let s = same_as_separate_calls(&p64, &opts(0.05, 1e-9, 2000));
        assert_eq!(s, KN_OK, "f64 {batch} x {n} x {m}");
        let p32 = problems::<f32>(batch, n, m, 8);
        same_as_separate_calls(&p32, &opts(0.05, 1e-5, 2000));
    }
    // Problems run side by side (one per vector lane) next to ones that leave that
    // path: costs scaled up so that, at this reg, some problems' first row sums
    // are not usable (their separate calls take the max-shifted slow path), one
    // problem's so far that every plan entry underflows from the cold start.
    for (scale_every, huge) in [(3usize, None), (5, Some(17usize))] {
        let mut p = problems::<f32>(48, 16, 32, 12);
        for (k, c) in p.c.chunks_exact_mut(16 * 32).enumerate() {
            let s = if Some(k) == huge {
                3.0e4
            } else if k % scale_every == 1 {
                40.0
            } else {
                1.0
            };
            c.iter_mut().for_each(|x| *x *= s);
        }
        same_as_separate_calls(&p, &opts(0.05, 1e-5, 300));
    }
    // A cap some problems reach before converging: KN_NOT_CONVERGED, each report its
    // own.
    let p = problems::<f64>(40, 16, 16, 9);
    assert_eq!(
        same_as_separate_calls(&p, &opts(0.02, 1e-9, 60)),
        KN_NOT_CONVERGED
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let p = problems::<f32>(100, 32, 32, 11);
    let o = opts(0.05, 1e-5, 2000);
    let run = |threads: usize| {
        assert_eq!(kernels::kn_set_num_threads(threads), KN_OK);
        let mut bytes = 0usize;
        // SAFETY: `bytes` is a live usize.
        unsafe { kernels::kn_sinkhorn_batch_work_bytes(100, 32, 32, &mut bytes) };
        let mut work = vec![0u8; bytes];
        let (mut f, mut g) = (p.f.clone(), p.g.clone());
        // SAFETY: every buffer has the length batch, n and m imply.
        let s = unsafe {
            f32::batch(
                100,
                32,
                32,
                p.c.as_ptr(),
                p.a.as_ptr(),
                p.b.as_ptr(),
                &o,
                f.as_mut_ptr(),
                g.as_mut_ptr(),
                null_mut(),
                &mut work,
                null_mut(),
            )
        };
        (s, bits(&f), bits(&g))
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(kernels::kn_set_num_threads(0), KN_OK);
    assert_eq!(one.0, KN_OK);
    assert_eq!(one, two);
}

/// docs/bad-input.md's rows for `kn_sinkhorn_batch_*`: each refusal leaves f, g,
/// plan and the reports bit-identical. A fault in one problem refuses the batch.
#[test]
fn bad_input_is_refused_untouched() {
    let p = problems::<f64>(4, 3, 2, 5);
    let (batch, n, m) = (4usize, 3usize, 2usize);
    let mut bytes = 0usize;
    // SAFETY: `bytes` is a live usize or NULL.
    unsafe {
        assert_eq!(
            kernels::kn_sinkhorn_batch_work_bytes(batch, n, m, null_mut()),
            KN_ERR_NULL
        );
        for (b, n, m) in [
            (0, n, m),
            (batch, 0, m),
            (usize::MAX, 2, 2),
            (1 << 40, 1 << 20, 2),
        ] {
            assert_eq!(
                kernels::kn_sinkhorn_batch_work_bytes(b, n, m, &mut bytes),
                KN_ERR_DIMENSION,
                "{b} x {n} x {m}"
            );
        }
        assert_eq!(
            kernels::kn_sinkhorn_batch_work_bytes(batch, n, m, &mut bytes),
            KN_OK
        );
    }
    let ok = opts(0.1, 1e-9, 100);
    let mut nan_c = p.c.clone();
    nan_c[3 * n * m + 1] = f64::NAN;
    let mut uneven_a = p.a.clone();
    uneven_a[2 * n] *= 2.0;
    // Name, batch, C, a, options, work bytes, expected status.
    type Case<'a> = (
        &'a str,
        usize,
        &'a [f64],
        &'a [f64],
        kn_sinkhorn_opts,
        usize,
        i32,
    );
    let cases: Vec<Case<'_>> = vec![
        ("batch zero", 0, &p.c, &p.a, ok, bytes, KN_ERR_DIMENSION),
        (
            "short workspace",
            batch,
            &p.c,
            &p.a,
            ok,
            bytes - 1,
            KN_ERR_WORKSPACE,
        ),
        (
            "reg zero",
            batch,
            &p.c,
            &p.a,
            opts(0.0, 1e-9, 100),
            bytes,
            KN_ERR_ARGUMENT,
        ),
        (
            "unequal sums in problem 2",
            batch,
            &p.c,
            &uneven_a,
            ok,
            bytes,
            KN_ERR_ARGUMENT,
        ),
        (
            "NaN in problem 3",
            batch,
            &nan_c,
            &p.a,
            ok,
            bytes,
            KN_ERR_NON_FINITE,
        ),
    ];
    for (name, b, c, a, o, work_bytes, want) in cases {
        let mut work = vec![0u8; bytes];
        let (mut f, mut g) = (vec![3.0f64; batch * n], vec![3.0f64; batch * m]);
        let mut plan = vec![3.0f64; batch * n * m];
        let mut reps = vec![
            kn_report {
                iterations: 7,
                ..Default::default()
            };
            batch
        ];
        // SAFETY: every buffer has the length (4, 3, 2) implies.
        let status = unsafe {
            f64::batch(
                b,
                n,
                m,
                c.as_ptr(),
                a.as_ptr(),
                p.b.as_ptr(),
                &o,
                f.as_mut_ptr(),
                g.as_mut_ptr(),
                plan.as_mut_ptr(),
                &mut work[..work_bytes],
                reps.as_mut_ptr(),
            )
        };
        assert_eq!(status, want, "{name}");
        assert!(
            f.iter().chain(&g).chain(&plan).all(|&x| x == 3.0),
            "{name}: written"
        );
        assert!(
            reps.iter().all(|r| r.iterations == 7),
            "{name}: report written"
        );
    }
    // NULL options; the valid call with NULL plan and reports.
    let mut work = vec![0u8; bytes];
    let (mut f, mut g) = (vec![0.0f64; batch * n], vec![0.0f64; batch * m]);
    for (o, want) in [(null(), KN_ERR_NULL), (&raw const ok, KN_OK)] {
        // SAFETY: as above.
        let status = unsafe {
            f64::batch(
                batch,
                n,
                m,
                p.c.as_ptr(),
                p.a.as_ptr(),
                p.b.as_ptr(),
                o,
                f.as_mut_ptr(),
                g.as_mut_ptr(),
                null_mut(),
                &mut work,
                null_mut(),
            )
        };
        assert_eq!(status, want);
    }
}
