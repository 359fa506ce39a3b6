//! Matrix scaling, log-domain Sinkhorn, unbalanced, batched and point-cloud Sinkhorn
//! through their C entry points (`kn_scale_*`, `kn_sinkhorn_*`,
//! `kn_sinkhorn_unbalanced_*`, `kn_sinkhorn_batch_*`, `kn_sinkhorn_points_*` and their
//! workspace queries) with hostile arguments.

use super::hostile::{
    Bytes, Expect, Mix, Sign, bits, canary, fits, non_finite, product, ptr, ptr_mut, untouched,
};
use core::ffi::c_void;
use kernels::{
    KN_ERR_ARGUMENT, KN_ERR_DIMENSION, KN_ERR_NUMERICAL, KN_ERR_WORKSPACE, KN_NOT_CONVERGED, KN_OK,
    KN_SINKHORN_ABSORB, KN_SINKHORN_AUTO, KN_SINKHORN_LOG, KN_SINKHORN_OVERRELAX_AUTO, kn_report,
    kn_sinkhorn_opts, kn_status, kn_unbalanced_opts,
};
use kernels_core::Real;

/// One call of a scaling entry point or its workspace query, chosen by the first byte.
///
/// Asserts no panic, a status that agrees with API.md's rules, nothing written on an
/// argument error, and after a valid call: finite outputs (positive scalings), a
/// report consistent with the status.
pub fn sinkhorn(data: &[u8]) {
    let mut b = Bytes::new(data);
    match b.byte() % 6 {
        0 => solve::<f32>(&mut b, Mode::Scale),
        1 => solve::<f64>(&mut b, Mode::Scale),
        2 => solve::<f32>(&mut b, Mode::Log),
        3 => solve::<f64>(&mut b, Mode::Log),
        4 => query(&mut b, Mode::Scale),
        _ => query(&mut b, Mode::Log),
    }
}

/// One call of `kn_sinkhorn_unbalanced_*` or its workspace query, chosen by the first
/// byte, with the checks of [`sinkhorn`] and the unbalanced rules: a penalty negative
/// or NaN is an argument error, and the marginals' sums must agree only when both
/// penalties are infinite.
pub fn unbalanced(data: &[u8]) {
    let mut b = Bytes::new(data);
    match b.byte() % 3 {
        0 => solve::<f32>(&mut b, Mode::Unbalanced),
        1 => solve::<f64>(&mut b, Mode::Unbalanced),
        _ => query(&mut b, Mode::Unbalanced),
    }
}

/// Which entry point a call goes to.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// `kn_scale_*`.
    Scale,
    /// `kn_sinkhorn_*`.
    Log,
    /// `kn_sinkhorn_unbalanced_*`.
    Unbalanced,
}

/// The element types, with their C entry points.
trait Elem: Real {
    /// Relative tolerance of the equal-sums rule.
    const SUM_REL: f64;

    /// The entry point of `mode` (`uopts` are the options of the unbalanced one,
    /// `opts` of the others).
    #[allow(clippy::too_many_arguments)]
    unsafe fn call(
        mode: Mode,
        n: usize,
        m: usize,
        mat: *const Self,
        a: *const Self,
        b: *const Self,
        opts: *const kn_sinkhorn_opts,
        uopts: *const kn_unbalanced_opts,
        x: *mut Self,
        y: *mut Self,
        plan: *mut Self,
        work: *mut c_void,
        work_bytes: usize,
        rep: *mut kn_report,
    ) -> kn_status;
}

macro_rules! elem {
    ($t:ty, $rel:expr, $scale:ident, $log:ident, $unbalanced:ident) => {
        impl Elem for $t {
            const SUM_REL: f64 = $rel;

            unsafe fn call(
                mode: Mode,
                n: usize,
                m: usize,
                mat: *const Self,
                a: *const Self,
                b: *const Self,
                opts: *const kn_sinkhorn_opts,
                uopts: *const kn_unbalanced_opts,
                x: *mut Self,
                y: *mut Self,
                plan: *mut Self,
                work: *mut c_void,
                work_bytes: usize,
                rep: *mut kn_report,
            ) -> kn_status {
                // SAFETY: forwarded: the caller passes real buffers of the claimed
                // lengths or NULL.
                unsafe {
                    match mode {
                        Mode::Log => {
                            kernels::$log(n, m, mat, a, b, opts, x, y, plan, work, work_bytes, rep)
                        }
                        Mode::Unbalanced => kernels::$unbalanced(
                            n, m, mat, a, b, uopts, x, y, plan, work, work_bytes, rep,
                        ),
                        Mode::Scale => {
                            kernels::$scale(n, m, mat, a, b, opts, x, y, work, work_bytes, rep)
                        }
                    }
                }
            }
        }
    };
}
elem!(
    f32,
    1e-6,
    kn_scale_f32,
    kn_sinkhorn_f32,
    kn_sinkhorn_unbalanced_f32
);
elem!(
    f64,
    1e-12,
    kn_scale_f64,
    kn_sinkhorn_f64,
    kn_sinkhorn_unbalanced_f64
);

/// The workspace query of `mode`'s entry point.
fn work_bytes(mode: Mode, n: usize, m: usize, bytes: *mut usize) -> kn_status {
    // SAFETY: `bytes` is NULL or points to a live usize.
    unsafe {
        match mode {
            Mode::Log => kernels::kn_sinkhorn_work_bytes(n, m, bytes),
            Mode::Unbalanced => kernels::kn_sinkhorn_unbalanced_work_bytes(n, m, bytes),
            Mode::Scale => kernels::kn_scale_work_bytes(n, m, bytes),
        }
    }
}

/// The query's rules: NULL `bytes`; zero sizes, or arrays of `n` and `m` doubles
/// whose byte length overflows.
fn query(b: &mut Bytes<'_>, mode: Mode) {
    let (n, m) = (b.size(12), b.size(12));
    let null = b.chance(40);
    let mut bytes = 0xA5A5_A5A5usize;
    let p = if null {
        core::ptr::null_mut()
    } else {
        &raw mut bytes
    };
    let status = work_bytes(mode, n, m, p);
    let mut e = Expect::new(&[KN_OK]);
    e.null(null, "bytes");
    e.fault(
        n == 0 || m == 0 || !fits::<f64>(Some(n)) || !fits::<f64>(Some(m)),
        KN_ERR_DIMENSION,
        "sizes",
    );
    if e.judge(status, "work_bytes") {
        assert_eq!(bytes, 0xA5A5_A5A5, "bytes written on failure");
    } else {
        assert!(bytes >= (n + m) * size_of::<f64>(), "too small a workspace");
    }
}

/// Relative difference of two sums (computed plainly in f64).
fn relative_gap(sa: f64, sb: f64) -> f64 {
    (sa - sb).abs() / sa.max(sb)
}

/// One call of `mode`'s entry point.
fn solve<T: Elem>(b: &mut Bytes<'_>, mode: Mode) {
    let log = mode != Mode::Scale;
    let (n, m) = (b.size(10), b.size(10));
    let nm = product(&[n, m]);
    let opts = kn_sinkhorn_opts {
        reg: b.option(),
        tol: b.option(),
        max_iter: match b.byte() {
            0..=15 => 0,
            x => u32::from(x % 30) + 1,
        },
        check_every: match b.byte() {
            0..=7 => u32::MAX,
            x => u32::from(x % 5),
        },
        // Unknown methods now and then, and every known one.
        method: match b.byte() % 8 {
            0 => -1,
            1 => 3,
            2 => KN_SINKHORN_LOG,
            3 => KN_SINKHORN_ABSORB,
            _ => KN_SINKHORN_AUTO,
        },
        eps_scaling: match b.byte() % 4 {
            0 => b.option(),
            1 => 0.5,
            _ => 0.0,
        },
        reg_start: match b.byte() % 4 {
            0 => b.option(),
            _ => 0.0,
        },
        // Out of range now and then, automatic, a fixed omega, or none.
        overrelax: match b.byte() % 8 {
            0 => b.option(),
            1 => KN_SINKHORN_OVERRELAX_AUTO,
            2 => 1.5,
            _ => 0.0,
        },
        ..Default::default()
    };
    // Penalties: out of range, infinite (a hard marginal), or ordinary.
    let mut penalty = || match b.byte() % 4 {
        0 => b.option(),
        1 => f64::INFINITY,
        _ => 0.1 + f64::from(b.byte()) / 32.0,
    };
    let (reg_m1, reg_m2) = if mode == Mode::Unbalanced {
        (penalty(), penalty())
    } else {
        (f64::INFINITY, f64::INFINITY)
    };
    let uopts = kn_unbalanced_opts {
        reg: opts.reg,
        reg_m1,
        reg_m2,
        tol: opts.tol,
        max_iter: opts.max_iter,
        check_every: opts.check_every,
        ..Default::default()
    };
    let mix = b.mix();
    let mat: Vec<T> = b.values(nm, mix, if log { Sign::Any } else { Sign::NonNegative });
    let a: Vec<T> = b.values(Some(n), mix, Sign::Positive);
    let mut bm: Vec<T> = b.values(Some(m), mix, Sign::Positive);
    if b.chance(200) {
        // Equal sums, up to rounding: the common case of real use.
        let (sa, sb) = (sum(&a), sum(&bm));
        for x in &mut bm {
            *x = T::of(x.to_f64_lossless() * sa / sb);
        }
    }
    // Cold start (zeros) or a warm start.
    let start = |b: &mut Bytes<'_>, len: usize| -> Vec<T> {
        if b.chance(128) {
            let mut zeros: Vec<T> = canary(Some(len));
            zeros.fill(T::zero());
            zeros
        } else {
            b.values(Some(len), mix, Sign::Positive)
        }
    };
    let mut x = start(b, n);
    let mut y = start(b, m);
    let mut plan: Vec<T> = canary(nm);
    let with_plan = log && b.chance(160);
    let with_rep = b.chance(200);
    let alias = b.chance(12);
    let nulls = b.nulls(6);
    let null = |i: u32| nulls & (1 << i) != 0;

    let mut need = 0usize;
    let need = (work_bytes(mode, n, m, &raw mut need) == KN_OK).then_some(need);
    let mut work = b.work(need);
    let mut rep = canary_report();
    let rep_before = report_bits(&rep);
    let (x_before, y_before, plan_before) = (bits(&x), bits(&y), bits(&plan));

    // An output overlapping an input: the first scaling on top of `a`.
    let mut a_buf = a.clone();
    let a_ptr = if null(1) {
        core::ptr::null_mut()
    } else {
        a_buf.as_mut_ptr()
    };
    let x_ptr = if alias {
        a_buf.as_mut_ptr()
    } else {
        ptr_mut(&mut x, null(4))
    };
    let required = [
        ptr(&mat, null(0)).is_null(),
        a_ptr.is_null(),
        ptr(&bm, null(2)).is_null(),
        null(3),
        x_ptr.is_null(),
        null(5),
    ];
    // SAFETY: every pointer is NULL or a live buffer of the length n and m imply (a
    // one-element stand-in only where that length cannot exist); `opts` and `rep`
    // point to live structs.
    let status = unsafe {
        T::call(
            mode,
            n,
            m,
            ptr(&mat, null(0)),
            a_ptr.cast_const(),
            ptr(&bm, null(2)),
            if null(3) {
                core::ptr::null()
            } else {
                &raw const opts
            },
            if null(3) {
                core::ptr::null()
            } else {
                &raw const uopts
            },
            x_ptr,
            ptr_mut(&mut y, null(5)),
            if with_plan {
                plan.as_mut_ptr()
            } else {
                core::ptr::null_mut()
            },
            work.ptr(),
            work.bytes(),
            if with_rep {
                &raw mut rep
            } else {
                core::ptr::null_mut()
            },
        )
    };

    // The rules of API.md and the header, stated independently.
    let mut e = Expect::new(&[KN_OK, KN_NOT_CONVERGED, KN_ERR_NUMERICAL]);
    e.null(required.iter().any(|&r| r), "a required pointer");
    e.null(work.null_fault(), "work");
    let dims_ok = n > 0 && m > 0 && fits::<T>(nm) && fits::<T>(Some(n)) && fits::<T>(Some(m));
    e.fault(!dims_ok, KN_ERR_DIMENSION, "sizes");
    // The query serves both types (the larger size); a type that needs less may
    // accept less than the query.
    let own_need = match mode {
        Mode::Log => kernels_core::sinkhorn::sinkhorn_work_size::<T>(n, m),
        Mode::Unbalanced => kernels_core::sinkhorn::unbalanced_work_size::<T>(n, m),
        Mode::Scale => kernels_core::sinkhorn::scale_work_size::<T>(n, m),
    }
    .map(|s| s.bytes());
    let short = |nb: usize| dims_ok && work.bytes() < nb;
    e.fault(
        own_need.is_ok_and(short),
        KN_ERR_WORKSPACE,
        "short workspace",
    );
    e.either(need.is_some_and(short), KN_ERR_WORKSPACE);
    let reg_ok = opts.reg > 0.0 && opts.reg.is_finite();
    // Written so that NaN is out of range.
    let tol_ok = opts.tol > 0.0;
    e.fault(
        !tol_ok || opts.max_iter == 0 || (log && !reg_ok),
        KN_ERR_ARGUMENT,
        "options",
    );
    // The balanced solvers' options (the unbalanced ones have their own struct).
    if mode != Mode::Unbalanced {
        let method_ok = (KN_SINKHORN_AUTO..=KN_SINKHORN_ABSORB).contains(&opts.method);
        e.fault(!method_ok, KN_ERR_ARGUMENT, "unknown method");
        // Written so that NaN is out of range.
        let q = opts.eps_scaling;
        let scaling_ok = q == 0.0 || (q > 0.0 && q < 1.0);
        let start_ok = opts.reg_start >= 0.0 && opts.reg_start.is_finite();
        e.fault(
            log && (!scaling_ok || !start_ok),
            KN_ERR_ARGUMENT,
            "epsilon scaling options",
        );
        let w = opts.overrelax;
        let relax_ok = w == 0.0 || w == KN_SINKHORN_OVERRELAX_AUTO || (w > 0.0 && w < 2.0);
        e.fault(log && !relax_ok, KN_ERR_ARGUMENT, "over-relaxation");
        e.fault(
            log && opts.method == KN_SINKHORN_ABSORB && !with_plan,
            KN_ERR_ARGUMENT,
            "absorption without a plan",
        );
    }
    // Written so that NaN is out of range.
    let penalty_ok = |r: f64| r >= 0.0;
    e.fault(
        !penalty_ok(reg_m1) || !penalty_ok(reg_m2),
        KN_ERR_ARGUMENT,
        "penalty negative or NaN",
    );
    let balanced = reg_m1 == f64::INFINITY && reg_m2 == f64::INFINITY;
    e.fault(alias, KN_ERR_ARGUMENT, "output overlaps an input");
    if dims_ok {
        let x_seen = if alias { &a } else { &x };
        for (arr, name) in [
            (&mat, "matrix"),
            (&a, "a"),
            (&bm, "b"),
            (x_seen, "x"),
            (&y, "y"),
        ] {
            e.finite(arr, name);
        }
        let negative = |v: &[T]| v.iter().any(|&t| t < T::zero());
        e.fault(
            !log && (negative(&mat) || negative(x_seen) || negative(&y)),
            KN_ERR_ARGUMENT,
            "a negative entry",
        );
        let positive = |v: &[T]| v.iter().all(|&t| t > T::zero());
        e.fault(
            !positive(&a) || !positive(&bm),
            KN_ERR_ARGUMENT,
            "marginal not positive",
        );
        let (sa, sb) = (sum(&a), sum(&bm));
        if !balanced {
            // Unbalanced: the sums may differ.
        } else if sa.is_finite() && sb.is_finite() {
            let gap = relative_gap(sa, sb);
            e.fault(gap > 2.0 * T::SUM_REL, KN_ERR_ARGUMENT, "unequal sums");
            e.either(gap > 0.5 * T::SUM_REL, KN_ERR_ARGUMENT);
        } else {
            e.either(true, KN_ERR_ARGUMENT);
        }
    }
    // KN_ERR_NUMERICAL with nothing written, decided before iterating.
    let refused = e.is_valid()
        && if log {
            let eps = T::of(opts.reg);
            let c_max = mat.iter().fold(T::zero(), |mx, v| mx.max(v.abs()));
            !(eps > T::zero() && (c_max / eps).is_finite() && eps.recip().is_finite())
        } else {
            zero_line(&mat, n, m)
        };
    let name = match mode {
        Mode::Log => "sinkhorn",
        Mode::Unbalanced => "sinkhorn_unbalanced",
        Mode::Scale => "scale",
    };
    let argument_error = e.judge(status, name);
    if refused && !argument_error {
        assert_eq!(
            status, KN_ERR_NUMERICAL,
            "a problem refused before iterating"
        );
    }
    if argument_error || refused {
        untouched("x", &x_before, &bits(&x));
        untouched("a (overlapped by x)", &bits(&a), &bits(&a_buf));
        untouched("y", &y_before, &bits(&y));
        untouched("plan", &plan_before, &bits(&plan));
        untouched("report", &rep_before, &report_bits(&rep));
        return;
    }
    // Written: the last finite iterate at least.
    assert!(
        !non_finite(&x) && !non_finite(&y),
        "non-finite outputs after status {status}: {x:?} {y:?}"
    );
    if !log && status >= 0 {
        let positive = |v: &[T]| v.iter().all(|&t| t > T::zero());
        assert!(
            positive(&x) && positive(&y),
            "scalings not positive after status {status}: n {n} m {m} K {mat:?} a {a:?} \
             b {bm:?} u {x:?} v {y:?} opts {opts:?}"
        );
    }
    // Absorption (the balanced solver with a plan, unless the log domain is asked
    // for) keeps its kernel in the plan buffer while it iterates.
    let absorbs = mode == Mode::Log && with_plan && opts.method != KN_SINKHORN_LOG;
    if status == KN_ERR_NUMERICAL {
        untouched("report", &rep_before, &report_bits(&rep));
        if !absorbs {
            untouched("plan", &plan_before, &bits(&plan));
        }
    } else if with_rep {
        assert_eq!(
            rep.converged,
            i32::from(status == KN_OK),
            "report vs status"
        );
        assert_eq!(rep.error <= opts.tol, status == KN_OK, "error vs tol");
        assert!(rep.iterations >= 1 && rep.iterations <= opts.max_iter);
    }
}

/// Whether some row or column of the `n x m` matrix is all zero.
fn zero_line<T: Real>(mat: &[T], n: usize, m: usize) -> bool {
    let row = (0..n).any(|i| (0..m).all(|j| mat[i * m + j] == T::zero()));
    let col = (0..m).any(|j| (0..n).all(|i| mat[i * m + j] == T::zero()));
    row || col
}

fn sum<T: Real>(x: &[T]) -> f64 {
    x.iter().map(|v| v.to_f64_lossless()).sum()
}

/// A report full of the canary pattern.
fn canary_report() -> kn_report {
    kn_report {
        iterations: 0xA5A5_A5A5,
        inner_iterations: 0xA5A5_A5A5,
        error: f64::from_bits(0xA5A5_A5A5_A5A5_A5A5),
        value: f64::from_bits(0xA5A5_A5A5_A5A5_A5A5),
        converged: 0x5A5A_5A5A,
    }
}

fn report_bits(r: &kn_report) -> Vec<u8> {
    bits(&[
        u64::from(r.iterations),
        u64::from(r.inner_iterations),
        r.error.to_bits(),
        r.value.to_bits(),
        r.converged as u64,
    ])
}

/// The batch entry points, with their single-problem counterparts.
trait BatchElem: Elem {
    /// `kn_sinkhorn_batch_*`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn batch(
        batch: usize,
        n: usize,
        m: usize,
        c: *const Self,
        a: *const Self,
        b: *const Self,
        opts: *const kn_sinkhorn_opts,
        f: *mut Self,
        g: *mut Self,
        plan: *mut Self,
        work: *mut c_void,
        work_bytes: usize,
        reps: *mut kn_report,
    ) -> kn_status;
}

/// `BatchElem` for `$t` through `$f`.
macro_rules! batch_elem {
    ($t:ty, $f:ident) => {
        impl BatchElem for $t {
            unsafe fn batch(
                batch: usize,
                n: usize,
                m: usize,
                c: *const Self,
                a: *const Self,
                b: *const Self,
                opts: *const kn_sinkhorn_opts,
                f: *mut Self,
                g: *mut Self,
                plan: *mut Self,
                work: *mut c_void,
                work_bytes: usize,
                reps: *mut kn_report,
            ) -> kn_status {
                // SAFETY: forwarded.
                unsafe {
                    kernels::$f(
                        batch, n, m, c, a, b, opts, f, g, plan, work, work_bytes, reps,
                    )
                }
            }
        }
    };
}

batch_elem!(f32, kn_sinkhorn_batch_f32);
batch_elem!(f64, kn_sinkhorn_batch_f64);

/// One call of `kn_sinkhorn_batch_*` or its workspace query, chosen by the first
/// byte. Asserts the status rules (a fault in any problem refuses the whole batch,
/// nothing written), and after an accepted call that every problem is bit for bit
/// what its own `kn_sinkhorn_*` call gives (potentials, plan, report, status).
pub fn batch(data: &[u8]) {
    let mut b = Bytes::new(data);
    match b.byte() % 3 {
        0 => solve_batch::<f32>(&mut b),
        1 => solve_batch::<f64>(&mut b),
        _ => {
            let (k, n, m) = (b.size(12), b.size(12), b.size(12));
            let mut bytes = 0xA5A5_A5A5usize;
            let null = b.chance(40);
            let p = if null {
                core::ptr::null_mut()
            } else {
                &raw mut bytes
            };
            // SAFETY: `p` is NULL or a live usize.
            let status = unsafe { kernels::kn_sinkhorn_batch_work_bytes(k, n, m, p) };
            let mut e = Expect::new(&[KN_OK]);
            e.null(null, "bytes");
            let fits_all = fits::<f64>(product(&[k, n, m]));
            e.fault(
                k == 0 || n == 0 || m == 0 || !fits_all,
                KN_ERR_DIMENSION,
                "sizes",
            );
            if e.judge(status, "batch work_bytes") {
                assert_eq!(bytes, 0xA5A5_A5A5, "bytes written on failure");
            }
        }
    }
}

fn solve_batch<T: BatchElem>(b: &mut Bytes<'_>) {
    let (k, n, m) = (b.size(5), b.size(6), b.size(6));
    let (kn, km, knm) = (product(&[k, n]), product(&[k, m]), product(&[k, n, m]));
    let opts = kn_sinkhorn_opts {
        reg: b.option(),
        tol: b.option(),
        max_iter: u32::from(b.byte() % 40),
        check_every: u32::from(b.byte() % 5),
        ..Default::default()
    };
    let mix = b.mix();
    let mat: Vec<T> = b.values(knm, mix, Sign::Any);
    let a: Vec<T> = b.values(kn, mix, Sign::Positive);
    let mut bm: Vec<T> = b.values(km, mix, Sign::Positive);
    if b.chance(220) && n > 0 && m > 0 {
        // Each problem's sums equal, up to rounding.
        for (ap, bp) in a.chunks(n).zip(bm.chunks_mut(m)) {
            let (sa, sb) = (sum(ap), sum(bp));
            for x in bp {
                *x = T::of(x.to_f64_lossless() * sa / sb);
            }
        }
    }
    let mut f: Vec<T> = b.values(kn, Mix::Tame, Sign::Any);
    let mut g: Vec<T> = canary(km);
    g.fill(T::zero());
    let mut plan: Vec<T> = canary(knm);
    // Reports only where `k` is small enough to allocate (a huge `k` is refused
    // before any pointer is used).
    let mut reps = vec![canary_report(); k.min(5)];
    let with_plan = b.chance(160);
    let with_reps = b.chance(160) && k <= 5;
    let nulls = b.nulls(6);
    let null = |i: u32| nulls & (1 << i) != 0;
    let mut need = 0usize;
    // SAFETY: `need` is a live usize.
    let need = (unsafe { kernels::kn_sinkhorn_batch_work_bytes(k, n, m, &raw mut need) } == KN_OK)
        .then_some(need);
    let mut work = b.work(need);
    let f_start = f.clone();
    let before = (bits(&f), bits(&g), bits(&plan));
    let reps_before: Vec<Vec<u8>> = reps.iter().map(report_bits).collect();
    // SAFETY: every pointer is NULL or a live buffer of the length k, n and m imply
    // (a one-element stand-in only where that length cannot exist).
    let status = unsafe {
        T::batch(
            k,
            n,
            m,
            ptr(&mat, null(0)),
            ptr(&a, null(1)),
            ptr(&bm, null(2)),
            if null(3) {
                core::ptr::null()
            } else {
                &raw const opts
            },
            ptr_mut(&mut f, null(4)),
            ptr_mut(&mut g, null(5)),
            if with_plan {
                plan.as_mut_ptr()
            } else {
                core::ptr::null_mut()
            },
            work.ptr(),
            work.bytes(),
            if with_reps {
                reps.as_mut_ptr()
            } else {
                core::ptr::null_mut()
            },
        )
    };
    let mut e = Expect::new(&[KN_OK, KN_NOT_CONVERGED, KN_ERR_NUMERICAL]);
    e.null((0..6).any(null), "a required pointer");
    e.null(work.null_fault(), "work");
    let dims_ok = k > 0 && n > 0 && m > 0 && fits::<T>(knm);
    e.fault(!dims_ok, KN_ERR_DIMENSION, "sizes");
    let own = kernels_core::sinkhorn::batch_work_size::<T>(k, n, m).map(|s| s.bytes());
    let short = |nb: usize| dims_ok && work.bytes() < nb;
    e.fault(own.is_ok_and(short), KN_ERR_WORKSPACE, "short workspace");
    e.either(need.is_some_and(short), KN_ERR_WORKSPACE);
    let reg_ok = opts.reg > 0.0 && opts.reg.is_finite();
    // Written so that NaN is out of range.
    let tol_ok = opts.tol > 0.0;
    e.fault(
        !tol_ok || opts.max_iter == 0 || !reg_ok,
        KN_ERR_ARGUMENT,
        "options",
    );
    if dims_ok {
        for (arr, name) in [(&mat, "C"), (&a, "a"), (&bm, "b"), (&f, "f")] {
            e.finite(arr, name);
        }
        for (ap, bp) in a.chunks(n).zip(bm.chunks(m)) {
            let positive = |v: &[T]| v.iter().all(|&t| t > T::zero());
            e.fault(
                !positive(ap) || !positive(bp),
                KN_ERR_ARGUMENT,
                "not positive",
            );
            let gap = relative_gap(sum(ap), sum(bp));
            e.fault(gap > 2.0 * T::SUM_REL, KN_ERR_ARGUMENT, "unequal sums");
            // NaN sums (infinite values) may be refused either way.
            e.either(gap.is_nan() || gap > 0.5 * T::SUM_REL, KN_ERR_ARGUMENT);
        }
    }
    // A problem whose max|C| / reg overflows is refused (KN_ERR_NUMERICAL, nothing
    // written) when it is checked: before or after another problem's fault.
    let refused = dims_ok && reg_ok && {
        let eps = T::of(opts.reg);
        let c_max = mat.iter().fold(T::zero(), |mx, v| mx.max(v.abs()));
        !((c_max / eps).is_finite() && eps.recip().is_finite())
    };
    e.either(refused, KN_ERR_NUMERICAL);
    let valid = e.is_valid();
    let argument_error = e.judge(status, "sinkhorn_batch");
    if refused && valid && !argument_error {
        assert_eq!(
            status, KN_ERR_NUMERICAL,
            "a problem refused before iterating"
        );
    }
    if argument_error || refused {
        untouched("f", &before.0, &bits(&f));
        untouched("g", &before.1, &bits(&g));
        untouched("plan", &before.2, &bits(&plan));
        for (r, rb) in reps.iter().zip(&reps_before) {
            untouched("report", rb, &report_bits(r));
        }
        return;
    }
    // Each problem against its own call.
    let nm = n * m;
    let mut one = vec![
        0u8;
        kernels_core::sinkhorn::sinkhorn_work_size::<T>(n, m)
            .unwrap()
            .bytes()
    ];
    let mut want_status = KN_OK;
    for p in 0..k {
        let mut fp = f_start[p * n..(p + 1) * n].to_vec();
        let mut gp = vec![T::zero(); m];
        let mut pp = vec![T::zero(); nm];
        let mut rp = kn_report::default();
        // SAFETY: live buffers of one problem's lengths.
        let s = unsafe {
            T::call(
                Mode::Log,
                n,
                m,
                mat[p * nm..].as_ptr(),
                a[p * n..].as_ptr(),
                bm[p * m..].as_ptr(),
                &raw const opts,
                core::ptr::null(),
                fp.as_mut_ptr(),
                gp.as_mut_ptr(),
                // The call on its slices: with a plan only when the batch has one
                // (a plan selects absorption).
                if with_plan {
                    pp.as_mut_ptr()
                } else {
                    core::ptr::null_mut()
                },
                one.as_mut_ptr().cast(),
                one.len(),
                &raw mut rp,
            )
        };
        assert!(s == KN_OK || s == KN_NOT_CONVERGED || s == KN_ERR_NUMERICAL);
        if want_status != KN_ERR_NUMERICAL && s != KN_OK {
            want_status = s;
        }
        assert_eq!(bits(&fp), bits(&f[p * n..(p + 1) * n]), "f of problem {p}");
        assert_eq!(bits(&gp), bits(&g[p * m..(p + 1) * m]), "g of problem {p}");
        if with_plan && s != KN_ERR_NUMERICAL {
            assert_eq!(bits(&pp), bits(&plan[p * nm..(p + 1) * nm]), "plan {p}");
        }
        if with_reps && s != KN_ERR_NUMERICAL {
            assert_eq!(report_bits(&rp), report_bits(&reps[p]), "report {p}");
        }
    }
    assert_eq!(status, want_status, "batch status vs the separate calls'");
}

/// The point-cloud entry points.
trait PointsElem: Elem {
    /// `kn_sinkhorn_points_*`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn points(
        dims: (usize, usize, usize),
        x: *const Self,
        y: *const Self,
        a: *const Self,
        b: *const Self,
        opts: *const kn_sinkhorn_opts,
        f: *mut Self,
        g: *mut Self,
        work: *mut c_void,
        work_bytes: usize,
        rep: *mut kn_report,
    ) -> kn_status;
}

/// `PointsElem` for `$t` through `$f`.
macro_rules! points_elem {
    ($t:ty, $f:ident) => {
        impl PointsElem for $t {
            unsafe fn points(
                (n, m, d): (usize, usize, usize),
                x: *const Self,
                y: *const Self,
                a: *const Self,
                b: *const Self,
                opts: *const kn_sinkhorn_opts,
                f: *mut Self,
                g: *mut Self,
                work: *mut c_void,
                work_bytes: usize,
                rep: *mut kn_report,
            ) -> kn_status {
                // SAFETY: forwarded.
                unsafe { kernels::$f(n, m, d, x, y, a, b, opts, f, g, work, work_bytes, rep) }
            }
        }
    };
}

points_elem!(f32, kn_sinkhorn_points_f32);
points_elem!(f64, kn_sinkhorn_points_f64);

/// One call of `kn_sinkhorn_points_*` or its workspace query, chosen by the first
/// byte. Asserts the status rules (nothing written on a refusal), and after an
/// accepted call that the potentials, status and report are bit for bit those of
/// `kn_sinkhorn_*` on the explicit cost matrix built with the same cost rows.
pub fn points(data: &[u8]) {
    let mut b = Bytes::new(data);
    match b.byte() % 3 {
        0 => solve_points::<f32>(&mut b),
        1 => solve_points::<f64>(&mut b),
        _ => {
            let (n, m, d) = (b.size(12), b.size(12), b.size(4));
            let mut bytes = 0xA5A5_A5A5usize;
            let null = b.chance(40);
            let p = if null {
                core::ptr::null_mut()
            } else {
                &raw mut bytes
            };
            // SAFETY: `p` is NULL or a live usize.
            let status = unsafe { kernels::kn_sinkhorn_points_work_bytes(n, m, d, p) };
            let mut e = Expect::new(&[KN_OK]);
            e.null(null, "bytes");
            let points = n.checked_add(m).and_then(|nm| product(&[nm, d]));
            e.fault(
                n == 0 || m == 0 || d == 0 || !fits::<f64>(points),
                KN_ERR_DIMENSION,
                "sizes",
            );
            // Sizes whose points fit but whose workspace overflows.
            e.either(fits::<f64>(points), KN_ERR_DIMENSION);
            if e.judge(status, "points work_bytes") {
                assert_eq!(bytes, 0xA5A5_A5A5, "bytes written on failure");
            }
        }
    }
}

fn solve_points<T: PointsElem>(b: &mut Bytes<'_>)
where
    kernels_simd::Simd: kernels_core::sinkhorn::SinkhornKernels<T>,
{
    let (n, m, d) = (b.size(6), b.size(6), b.size(3));
    let (nd, md) = (product(&[n, d]), product(&[m, d]));
    let opts = kn_sinkhorn_opts {
        reg: b.option(),
        tol: b.option(),
        max_iter: u32::from(b.byte() % 40),
        check_every: u32::from(b.byte() % 5),
        // Valid over-relaxations only (the bad values are the dense model's).
        overrelax: match b.byte() % 4 {
            0 => KN_SINKHORN_OVERRELAX_AUTO,
            1 => 1.5,
            _ => 0.0,
        },
        ..Default::default()
    };
    let mix = b.mix();
    let x: Vec<T> = b.values(nd, mix, Sign::Any);
    let y: Vec<T> = b.values(md, mix, Sign::Any);
    let a: Vec<T> = b.values(Some(n), mix, Sign::Positive);
    let mut bm: Vec<T> = b.values(Some(m), mix, Sign::Positive);
    if b.chance(220) {
        let (sa, sb) = (sum(&a), sum(&bm));
        for v in &mut bm {
            *v = T::of(v.to_f64_lossless() * sa / sb);
        }
    }
    let mut f: Vec<T> = b.values(Some(n), Mix::Tame, Sign::Any);
    let mut g: Vec<T> = canary(Some(m));
    g.fill(T::zero());
    let mut rep = canary_report();
    let with_rep = b.chance(160);
    let nulls = b.nulls(7);
    let null = |i: u32| nulls & (1 << i) != 0;
    let mut need = 0usize;
    // SAFETY: `need` is a live usize.
    let need = (unsafe { kernels::kn_sinkhorn_points_work_bytes(n, m, d, &raw mut need) } == KN_OK)
        .then_some(need);
    let mut work = b.work(need);
    let f_start = f.clone();
    let before = (bits(&f), bits(&g), report_bits(&rep));
    // SAFETY: every pointer is NULL or a live buffer of the length n, m and d imply
    // (a one-element stand-in only where that length cannot exist).
    let status = unsafe {
        T::points(
            (n, m, d),
            ptr(&x, null(0)),
            ptr(&y, null(1)),
            ptr(&a, null(2)),
            ptr(&bm, null(3)),
            if null(4) {
                core::ptr::null()
            } else {
                &raw const opts
            },
            ptr_mut(&mut f, null(5)),
            ptr_mut(&mut g, null(6)),
            work.ptr(),
            work.bytes(),
            if with_rep {
                &raw mut rep
            } else {
                core::ptr::null_mut()
            },
        )
    };
    let mut e = Expect::new(&[KN_OK, KN_NOT_CONVERGED, KN_ERR_NUMERICAL]);
    e.null((0..7).any(null), "a required pointer");
    e.null(work.null_fault(), "work");
    let dims_ok = n > 0 && m > 0 && d > 0 && fits::<T>(nd) && fits::<T>(md);
    e.fault(!dims_ok, KN_ERR_DIMENSION, "sizes");
    let own = kernels_core::sinkhorn::points_work_size::<T>(n, m, d).map(|s| s.bytes());
    let short = |nb: usize| dims_ok && work.bytes() < nb;
    e.fault(own.is_ok_and(short), KN_ERR_WORKSPACE, "short workspace");
    e.either(need.is_some_and(short), KN_ERR_WORKSPACE);
    let reg_ok = opts.reg > 0.0 && opts.reg.is_finite();
    // Written so that NaN is out of range.
    let tol_ok = opts.tol > 0.0;
    e.fault(
        !tol_ok || opts.max_iter == 0 || !reg_ok,
        KN_ERR_ARGUMENT,
        "options",
    );
    if dims_ok {
        for (arr, name) in [(&x, "x"), (&y, "y"), (&a, "a"), (&bm, "b"), (&f, "f")] {
            e.finite(arr, name);
        }
        let positive = |v: &[T]| v.iter().all(|&t| t > T::zero());
        e.fault(
            !positive(&a) || !positive(&bm),
            KN_ERR_ARGUMENT,
            "not positive",
        );
        let gap = relative_gap(sum(&a), sum(&bm));
        e.fault(gap > 2.0 * T::SUM_REL, KN_ERR_ARGUMENT, "unequal sums");
        e.either(gap.is_nan() || gap > 0.5 * T::SUM_REL, KN_ERR_ARGUMENT);
    }
    let argument_error = e.judge(status, "sinkhorn_points");
    if argument_error {
        untouched("f", &before.0, &bits(&f));
        untouched("g", &before.1, &bits(&g));
        untouched("report", &before.2, &report_bits(&rep));
        return;
    }
    if status == KN_ERR_NUMERICAL {
        // Refused by the cost bound (nothing written), or overflowed while iterating
        // (the last finite potentials written): the report is not written either way.
        untouched("report", &before.2, &report_bits(&rep));
        return;
    }
    // Accepted: the dense solver on the same cost rows gives the same bits.
    let mut yt = vec![T::zero(); m * d];
    kernels_core::sinkhorn::Points::transpose(&y, d, &mut yt);
    let mut mat = vec![T::zero(); n * m];
    for (xi, row) in x.chunks_exact(d).zip(mat.chunks_exact_mut(m)) {
        <kernels_simd::Simd as kernels_core::sinkhorn::SinkhornKernels<T>>::sq_dist_row(
            xi, &yt, row,
        );
    }
    let mut one = vec![
        0u8;
        kernels_core::sinkhorn::sinkhorn_work_size::<T>(n, m)
            .unwrap()
            .bytes()
    ];
    let (mut fd, mut gd) = (f_start, vec![T::zero(); m]);
    let mut rd = kn_report::default();
    // SAFETY: live buffers of the lengths n and m imply.
    let s = unsafe {
        T::call(
            Mode::Log,
            n,
            m,
            mat.as_ptr(),
            a.as_ptr(),
            bm.as_ptr(),
            &raw const opts,
            core::ptr::null(),
            fd.as_mut_ptr(),
            gd.as_mut_ptr(),
            core::ptr::null_mut(),
            one.as_mut_ptr().cast(),
            one.len(),
            &raw mut rd,
        )
    };
    assert_eq!(s, status, "status vs the dense call's");
    assert_eq!(bits(&fd), bits(&f), "f vs the dense call's");
    assert_eq!(bits(&gd), bits(&g), "g vs the dense call's");
    if with_rep {
        assert_eq!(
            report_bits(&rd),
            report_bits(&rep),
            "report vs the dense call's"
        );
    }
}
