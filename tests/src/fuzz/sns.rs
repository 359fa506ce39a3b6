//! Sinkhorn-Newton-Sparse through its C entry points (`kn_sns_*` and
//! `kn_sns_work_bytes`) with hostile arguments.

use super::hostile::{
    Bytes, Expect, Sign, bits, canary, fits, non_finite, product, ptr, ptr_mut, untouched,
};
use core::ffi::c_void;
use kernels::{
    KN_ERR_ARGUMENT, KN_ERR_DIMENSION, KN_ERR_NUMERICAL, KN_ERR_WORKSPACE, KN_NOT_CONVERGED, KN_OK,
    kn_report, kn_sns_opts, kn_status,
};
use kernels_core::Real;
use kernels_core::sns::sns_work_size;

/// One call of `kn_sns_f32`, `kn_sns_f64` or `kn_sns_work_bytes`, chosen by the first
/// byte.
///
/// Asserts no panic, a status that agrees with the header's rules, nothing written
/// on an argument error (f, g, plan, report, and the input an output overlaps), and
/// after a valid call: inputs untouched, finite potentials, a plan that is the plan
/// of the returned potentials, a report consistent with the status and the plan, and
/// a result never worse than the starting potentials.
pub fn sns(data: &[u8]) {
    let mut b = Bytes::new(data);
    match b.byte() % 3 {
        0 => solve::<f32>(&mut b),
        1 => solve::<f64>(&mut b),
        _ => query(&mut b),
    }
}

/// The element types, with their C entry points.
trait Elem: Real {
    /// Relative tolerance of the equal-sums rule.
    const SUM_REL: f64;

    /// `kn_sns_f32` or `kn_sns_f64`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn call(
        n: usize,
        m: usize,
        c: *const Self,
        a: *const Self,
        b: *const Self,
        opts: *const kn_sns_opts,
        f: *mut Self,
        g: *mut Self,
        plan: *mut Self,
        work: *mut c_void,
        work_bytes: usize,
        rep: *mut kn_report,
    ) -> kn_status;
}

macro_rules! elem {
    ($t:ty, $rel:expr, $sns:ident) => {
        impl Elem for $t {
            const SUM_REL: f64 = $rel;

            unsafe fn call(
                n: usize,
                m: usize,
                c: *const Self,
                a: *const Self,
                b: *const Self,
                opts: *const kn_sns_opts,
                f: *mut Self,
                g: *mut Self,
                plan: *mut Self,
                work: *mut c_void,
                work_bytes: usize,
                rep: *mut kn_report,
            ) -> kn_status {
                // SAFETY: forwarded: the caller passes real buffers of the claimed
                // lengths or NULL.
                unsafe { kernels::$sns(n, m, c, a, b, opts, f, g, plan, work, work_bytes, rep) }
            }
        }
    };
}
elem!(f32, 1e-6, kn_sns_f32);
elem!(f64, 1e-12, kn_sns_f64);

/// `kn_sns_work_bytes`.
fn work_bytes(n: usize, m: usize, density: f64, bytes: *mut usize) -> kn_status {
    // SAFETY: `bytes` is NULL or points to a live usize.
    unsafe { kernels::kn_sns_work_bytes(n, m, density, bytes) }
}

/// A density: the default (0, or -0), 1, a fraction in (0, 1), or any option value
/// (0, negative, NaN, infinities, denormals, above 1).
fn density(b: &mut Bytes<'_>) -> f64 {
    match b.byte() % 8 {
        0 => 0.0,
        1 => -0.0,
        2 => 1.0,
        3 => 1.0 + f64::EPSILON,
        4 | 5 => b.option(),
        _ => (f64::from(b.byte()) + 1.0) / 256.0,
    }
}

/// Whether `density` is valid: 0 (the default) or in (0, 1]; NaN is not.
fn density_ok(density: f64) -> bool {
    density == 0.0 || (density > 0.0 && density <= 1.0)
}

/// The query's rules: NULL `bytes`; zero sizes, or arrays of `n` and `m` doubles
/// whose byte length overflows; a density outside [0, 1]. The size is the larger of
/// the two types' needs.
fn query(b: &mut Bytes<'_>) {
    let (n, m) = (b.size(12), b.size(12));
    let density = density(b);
    let null = b.chance(40);
    let mut bytes = 0xA5A5_A5A5usize;
    let p = if null {
        core::ptr::null_mut()
    } else {
        &raw mut bytes
    };
    let status = work_bytes(n, m, density, p);
    let mut e = Expect::new(&[KN_OK]);
    e.null(null, "bytes");
    e.fault(
        n == 0 || m == 0 || !fits::<f64>(Some(n)) || !fits::<f64>(Some(m)),
        KN_ERR_DIMENSION,
        "sizes",
    );
    e.fault(!density_ok(density), KN_ERR_ARGUMENT, "density");
    if e.judge(status, "sns_work_bytes") {
        assert_eq!(bytes, 0xA5A5_A5A5, "bytes written on failure");
        return;
    }
    let own = |s: kernels_core::Result<kernels_core::WorkspaceSize>| {
        s.map(|s| s.bytes())
            .expect("the query succeeded but a type's size failed")
    };
    let larger =
        own(sns_work_size::<f32>(n, m, density)).max(own(sns_work_size::<f64>(n, m, density)));
    assert_eq!(bytes, larger, "not the larger of the two types' sizes");
}

/// Which output is laid over another argument.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Alias {
    None,
    /// `f` on top of `a`.
    FOnA,
    /// `g` on top of `b`.
    GOnB,
    /// `plan` on top of `C`.
    PlanOnC,
    /// `f` on the first `n` entries of `plan` (two outputs).
    FInPlan,
}

/// Relative difference of two sums (computed plainly in f64).
fn relative_gap(sa: f64, sb: f64) -> f64 {
    (sa - sb).abs() / sa.max(sb)
}

/// One call of `kn_sns_f32` or `kn_sns_f64`.
fn solve<T: Elem>(b: &mut Bytes<'_>) {
    let (n, m) = (b.size(10), b.size(10));
    let nm = product(&[n, m]);
    // Small caps keep one input well under a millisecond.
    let opts = kn_sns_opts {
        reg: b.option(),
        tol: b.option(),
        sinkhorn_iters: match b.byte() {
            0..=63 => 0,
            x => u32::from(x % 9),
        },
        max_newton: match b.byte() {
            0..=31 => 0,
            x => u32::from(x % 6) + 1,
        },
        density: density(b),
        cg_max_iter: match b.byte() {
            0..=63 => 0,
            x => u32::from(x % 12) + 1,
        },
        cg_tol: match b.byte() % 8 {
            0 | 1 => 0.0,
            2 => 1.0,
            3 => 1.0 - f64::EPSILON / 2.0,
            4 => b.option(),
            x => 10f64.powi(-2 * i32::from(x)),
        },
        ..Default::default()
    };
    let mix = b.mix();
    let mat: Vec<T> = b.values(nm, mix, Sign::Any);
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
            b.values(Some(len), mix, Sign::Any)
        }
    };
    let mut f = start(b, n);
    let mut g = start(b, m);
    let mut plan: Vec<T> = canary(nm);
    let with_rep = b.chance(200);
    let alias = match b.byte() {
        0..=7 => Alias::FOnA,
        8..=15 => Alias::GOnB,
        16..=23 => Alias::PlanOnC,
        // Only where plan really holds n values.
        24..=31 if plan.len() >= n => Alias::FInPlan,
        _ => Alias::None,
    };
    let nulls = b.nulls(7);
    let null = |i: u32| nulls & (1 << i) != 0;

    let mut need = 0usize;
    let need = (work_bytes(n, m, opts.density, &raw mut need) == KN_OK).then_some(need);
    let mut work = b.work(need);
    let mut rep = canary_report();
    let rep_before = report_bits(&rep);
    let (f_before, g_before, plan_before) = (bits(&f), bits(&g), bits(&plan));
    let (f_start, g_start) = (f.clone(), g.clone());

    // The inputs an output may be laid over are passed from copies.
    let (mut c_buf, mut a_buf, mut b_buf) = (mat.clone(), a.clone(), bm.clone());
    let c_ptr = ptr(&c_buf, null(0)).cast_mut();
    let a_ptr = ptr(&a_buf, null(1)).cast_mut();
    let b_ptr = ptr(&b_buf, null(2)).cast_mut();
    let f_ptr = match alias {
        Alias::FOnA => a_buf.as_mut_ptr(),
        Alias::FInPlan => plan.as_mut_ptr(),
        _ => ptr_mut(&mut f, null(4)),
    };
    let g_ptr = if alias == Alias::GOnB {
        b_buf.as_mut_ptr()
    } else {
        ptr_mut(&mut g, null(5))
    };
    let plan_ptr = if alias == Alias::PlanOnC {
        c_buf.as_mut_ptr()
    } else if null(6) {
        core::ptr::null_mut()
    } else {
        plan.as_mut_ptr()
    };
    let required = [
        c_ptr.is_null(),
        a_ptr.is_null(),
        b_ptr.is_null(),
        null(3),
        f_ptr.is_null(),
        g_ptr.is_null(),
        plan_ptr.is_null(),
    ];
    // SAFETY: every pointer is NULL or a live buffer of the length n and m imply (a
    // one-element stand-in only where that length cannot exist); `opts` and `rep`
    // point to live structs.
    let status = unsafe {
        T::call(
            n,
            m,
            c_ptr.cast_const(),
            a_ptr.cast_const(),
            b_ptr.cast_const(),
            if null(3) {
                core::ptr::null()
            } else {
                &raw const opts
            },
            f_ptr,
            g_ptr,
            plan_ptr,
            work.ptr(),
            work.bytes(),
            if with_rep {
                &raw mut rep
            } else {
                core::ptr::null_mut()
            },
        )
    };

    // The rules of the header, stated independently.
    let mut e = Expect::new(&[KN_OK, KN_NOT_CONVERGED, KN_ERR_NUMERICAL]);
    e.null(required.iter().any(|&r| r), "a required pointer");
    e.null(work.null_fault(), "work");
    let dims_ok = n > 0 && m > 0 && fits::<T>(nm) && fits::<T>(Some(n)) && fits::<T>(Some(m));
    e.fault(!dims_ok, KN_ERR_DIMENSION, "sizes");
    // The query serves both types (the larger size); a type that needs less may
    // accept less than the query.
    let own_need = sns_work_size::<T>(n, m, opts.density).map(|s| s.bytes());
    let short = |nb: usize| dims_ok && work.bytes() < nb;
    e.fault(
        own_need.is_ok_and(short),
        KN_ERR_WORKSPACE,
        "short workspace",
    );
    e.either(need.is_some_and(short), KN_ERR_WORKSPACE);
    // Written so that NaN is out of range.
    let reg_ok = opts.reg > 0.0 && opts.reg.is_finite();
    let tol_ok = opts.tol > 0.0;
    let cg_tol_ok = opts.cg_tol == 0.0 || (opts.cg_tol > 0.0 && opts.cg_tol < 1.0);
    let some_work = opts.sinkhorn_iters > 0 || opts.max_newton > 0;
    e.fault(
        !(reg_ok && tol_ok && density_ok(opts.density) && cg_tol_ok && some_work),
        KN_ERR_ARGUMENT,
        "options",
    );
    e.fault(alias != Alias::None, KN_ERR_ARGUMENT, "overlapping outputs");
    if dims_ok {
        // What the function reads as f and g.
        let f_seen: &[T] = match alias {
            Alias::FOnA => &a,
            Alias::FInPlan => &plan[..n],
            _ => &f,
        };
        let g_seen = if alias == Alias::GOnB { &bm } else { &g };
        for (arr, name) in [
            (&mat[..], "C"),
            (&a, "a"),
            (&bm, "b"),
            (f_seen, "f"),
            (g_seen, "g"),
        ] {
            e.finite(arr, name);
        }
        let positive = |v: &[T]| v.iter().all(|&t| t > T::zero());
        e.fault(
            !positive(&a) || !positive(&bm),
            KN_ERR_ARGUMENT,
            "marginal not positive",
        );
        let (sa, sb) = (sum(&a), sum(&bm));
        if sa.is_finite() && sb.is_finite() {
            let gap = relative_gap(sa, sb);
            e.fault(gap > 2.0 * T::SUM_REL, KN_ERR_ARGUMENT, "unequal sums");
            e.either(gap > 0.5 * T::SUM_REL, KN_ERR_ARGUMENT);
        } else {
            e.either(true, KN_ERR_ARGUMENT);
        }
    }
    // KN_ERR_NUMERICAL with nothing written, decided before iterating.
    let refused = e.is_valid() && {
        let eps = T::of(opts.reg);
        let c_max = mat.iter().fold(T::zero(), |mx, v| mx.max(v.abs()));
        !(eps > T::zero() && (c_max / eps).is_finite() && eps.recip().is_finite())
    };
    let argument_error = e.judge(status, "sns");
    if refused && !argument_error {
        assert_eq!(
            status, KN_ERR_NUMERICAL,
            "a problem refused before iterating"
        );
    }
    untouched("C", &bits(&mat), &bits(&c_buf));
    untouched("a", &bits(&a), &bits(&a_buf));
    untouched("b", &bits(&bm), &bits(&b_buf));
    if argument_error || refused {
        untouched("f", &f_before, &bits(&f));
        untouched("g", &g_before, &bits(&g));
        untouched("plan", &plan_before, &bits(&plan));
        untouched("report", &rep_before, &report_bits(&rep));
        return;
    }
    // Written: the best finite iterate at least.
    assert!(
        !non_finite(&f) && !non_finite(&g),
        "non-finite potentials after status {status}: {f:?} {g:?}"
    );
    if status == KN_ERR_NUMERICAL {
        untouched("report", &rep_before, &report_bits(&rep));
        return;
    }
    let problem = Naive {
        c: &mat,
        a: &a,
        b: &bm,
        reg: opts.reg,
        m,
    };
    // The plan is that of the returned potentials.
    let returned = problem.plan(&f, &g);
    for (k, (&p, &(lo, hi))) in plan.iter().zip(&returned.range).enumerate() {
        let p = p.to_f64_lossless();
        // An unbounded range allows anything (inf and NaN included).
        assert!(
            hi == f64::INFINITY || lo <= p && p <= hi,
            "plan[{k}] = {p}, the plan of the returned f, g lies in [{lo}, {hi}]: \
             f {f:?} g {g:?} C {mat:?} opts {opts:?}"
        );
    }
    if !with_rep {
        return;
    }
    assert_eq!(
        rep.converged,
        i32::from(status == KN_OK),
        "report vs status"
    );
    assert_eq!(rep.error <= opts.tol, status == KN_OK, "error vs tol");
    assert!(
        rep.iterations <= opts.sinkhorn_iters + opts.max_newton,
        "iterations {} over the caps {opts:?}",
        rep.iterations
    );
    let cg_cap = match opts.cg_max_iter {
        0 => n + m,
        k => k as usize,
    };
    assert!(
        rep.inner_iterations as usize <= opts.max_newton as usize * cg_cap,
        "CG iterations {} over the caps {opts:?}",
        rep.inner_iterations
    );
    // The reported error is the marginal error of the plan written.
    let plan64: Vec<f64> = plan.iter().map(|p| p.to_f64_lossless()).collect();
    let of_plan = problem.error(&plan64);
    let total = plan64.iter().sum::<f64>() + sum(&a) + sum(&bm);
    // Far enough below T's largest value that no sum overflows in T.
    let in_range = |total: f64| total <= T::max_value().to_f64_lossless() / 16.0;
    if in_range(total) {
        let slack = summation_slack::<T>(n, m, total);
        assert!(
            (rep.error - of_plan).abs() <= slack,
            "reported error {} vs {of_plan} of the plan written (slack {slack})",
            rep.error
        );
    }
    // Never worse than the start: the function evaluates the start in T, which
    // differs from the f64 value here by at most `start.slack`.
    let start = problem.plan(&f_start, &g_start);
    let start_error = problem.error(&start.plan);
    let bound = start_error + start.slack;
    if bound.is_finite() && in_range(start.upper_total + sum(&a) + sum(&bm)) {
        assert!(
            rep.error <= bound,
            "returned error {} worse than the start's {start_error} (+ rounding {}): \
             n {n} m {m} C {mat:?} a {a:?} b {bm:?} f0 {f_start:?} g0 {g_start:?} \
             opts {opts:?}",
            rep.error,
            start.slack
        );
    }
}

/// The problem in plain f64.
struct Naive<'a, T> {
    c: &'a [T],
    a: &'a [T],
    b: &'a [T],
    reg: f64,
    m: usize,
}

/// The plan at some (f, g) in f64, with the range each entry computed in `T` by the
/// library may take.
struct NaivePlan {
    plan: Vec<f64>,
    /// Per entry, an interval holding both the f64 value here and the value in T.
    range: Vec<(f64, f64)>,
    /// The sum of the intervals' upper ends.
    upper_total: f64,
    /// How far the library's marginal error at this point, computed in T, may lie
    /// from [`Naive::error`] of `plan`.
    slack: f64,
}

impl<T: Real> Naive<'_, T> {
    /// `P_ij = exp((f_i + g_j - C_ij) / reg)` in f64, and the rounding bounds.
    ///
    /// In T the exponent `(f_i + g_j - C_ij) / eps` is formed from `f_i / eps`,
    /// `g_j / eps` and `C_ij / eps` (with `eps = reg` rounded to T and `1 / eps`
    /// rounded), a handful of roundings each at most `u |operand| / eps`, so its
    /// absolute error is below `d = 8 eps_T ((|f_i| + |g_j| + |C_ij|) / reg + 1)`,
    /// which becomes a relative error of `e^d - 1` in the entry; the exponential
    /// itself is within 2 ulp (`4 eps_T` relative) above the normal range and
    /// within a few subnormals below it. The f64 computation here has the same form
    /// with f64's epsilon, covered by the same bound.
    fn plan(&self, f: &[T], g: &[T]) -> NaivePlan {
        let eps_t = T::epsilon().to_f64_lossless();
        let tiny = 2.0 * T::min_positive_value().to_f64_lossless();
        let u = 4.0 * eps_t;
        let max = T::max_value().to_f64_lossless();
        let mut out = NaivePlan {
            plan: Vec::with_capacity(self.c.len()),
            range: Vec::with_capacity(self.c.len()),
            upper_total: 0.0,
            slack: 0.0,
        };
        let mut dev = 0.0;
        for (k, &c) in self.c.iter().enumerate() {
            let (fi, gj, c) = (
                f[k / self.m].to_f64_lossless(),
                g[k % self.m].to_f64_lossless(),
                c.to_f64_lossless(),
            );
            let x = (fi + gj - c) / self.reg;
            let d = 8.0 * eps_t * ((fi.abs() + gj.abs() + c.abs()) / self.reg + 1.0);
            let hi = (x + d).exp() * (1.0 + u) + tiny;
            let (lo, hi) = if d.is_finite() && hi < max {
                (((x - d).exp() * (1.0 - u) - tiny).max(0.0), hi)
            } else {
                // Possibly beyond T's range, where it becomes inf (or NaN where
                // the exponent's parts overflow with opposite signs).
                (0.0, f64::INFINITY)
            };
            out.plan.push(x.exp());
            out.range.push((lo, hi));
            out.upper_total += hi;
            dev += hi - lo;
        }
        // Each entry's error counts in its row and its column.
        let (sa, sb) = (sum(self.a), sum(self.b));
        out.slack =
            2.0 * dev + summation_slack::<T>(self.a.len(), self.m, out.upper_total + sa + sb);
        out
    }

    /// `||P 1 - a||_1 + ||P^T 1 - b||_1` in f64.
    fn error(&self, plan: &[f64]) -> f64 {
        let rows = plan
            .chunks(self.m)
            .zip(self.a)
            .map(|(row, &ai)| (row.iter().sum::<f64>() - ai.to_f64_lossless()).abs());
        let cols = self.b.iter().enumerate().map(|(j, &bj)| {
            let col: f64 = plan.iter().skip(j).step_by(self.m).sum();
            (col - bj.to_f64_lossless()).abs()
        });
        rows.sum::<f64>() + cols.sum::<f64>()
    }
}

/// The rounding of the marginal error's sums in T (row and column sums, the
/// differences, the f64 total) over values whose magnitudes total `total`:
/// `2 (n + m + 4) eps_T total`.
fn summation_slack<T: Real>(n: usize, m: usize, total: f64) -> f64 {
    2.0 * (n + m + 4) as f64 * T::epsilon().to_f64_lossless() * total
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
