//! Tour section: the primitives every kernel is built from, scalar against SIMD.

use crate::Mode;
use crate::bench::seconds_per_call;
use crate::machine::Machine;
use crate::report::Section;
use crate::svg::BarChart;
use kernels_core::sinkhorn::SinkhornKernels;
use kernels_core::{Dense, Primitives, Real, Scalar};
use kernels_simd::{Simd, bounds};
use kernels_tests::uniform;
use std::time::Duration;

/// One measured primitive call: what it is, how it did, and whether it checked out.
struct Measured {
    label: String,
    gbs: f64,
    speedup: f64,
}

/// Runs the section.
pub fn run(mode: Mode, machine: &Machine) -> Section {
    let mut section = Section::start(
        "Primitives",
        "The building blocks of every kernel, scalar reference against the SIMD \
         implementation, on a vector that fits in L1 and on one that must stream from \
         memory (gemv/gemv_t: a 64x64 matrix and a large one). `check` compares the SIMD \
         result with the scalar one within the bound kernels-simd documents. GB/s counts \
         the bytes each call must move (e.g. axpy reads x and y and writes y). The rows \
         marked [level] run the kernels chosen at run time at each instruction set \
         level this CPU has (the other rows run at the active level).",
        &[
            "primitive",
            "type",
            "n",
            "scalar µs",
            "simd µs",
            "speedup",
            "simd GB/s",
            "check",
        ],
    );
    let (small, large, budget) = match mode {
        Mode::Full => (4096, 1 << 23, Duration::from_millis(250)),
        Mode::Quick => (4096, 1 << 16, Duration::from_millis(20)),
    };
    let mut memory_bound = Vec::new();
    for n in [small, large] {
        let f32s = measure_type::<f32>(&mut section, n, budget, "");
        let f64s = measure_type::<f64>(&mut section, n, budget, "");
        if n == large {
            memory_bound.push(f32s);
            memory_bound.push(f64s);
        }
    }

    levels(&mut section, small, budget);
    alignment::<f32>(&mut section, small, budget);
    alignment::<f64>(&mut section, small, budget);

    let categories: Vec<String> = memory_bound[0].iter().map(|m| m.label.clone()).collect();
    let speedup = BarChart {
        title: &format!("SIMD speedup over scalar, n = {large} (from memory)"),
        y_label: "speedup (x)",
        categories: categories.clone(),
        series: vec![
            (
                "f32".into(),
                memory_bound[0].iter().map(|m| m.speedup).collect(),
            ),
            (
                "f64".into(),
                memory_bound[1].iter().map(|m| m.speedup).collect(),
            ),
        ],
        reference: Some((1.0, "scalar".into())),
    };
    let bandwidth = BarChart {
        title: &format!("SIMD bandwidth, n = {large}, against the measured stream bandwidth"),
        y_label: "GB/s",
        categories,
        series: vec![
            (
                "f32".into(),
                memory_bound[0].iter().map(|m| m.gbs).collect(),
            ),
            (
                "f64".into(),
                memory_bound[1].iter().map(|m| m.gbs).collect(),
            ),
        ],
        reference: Some((machine.stream_gbs(), "stream (copy/triad best)".into())),
    };
    section.plots.push((
        "primitives-speedup.svg".into(),
        speedup.render(),
        "SIMD speedup of each primitive".into(),
    ));
    section.plots.push((
        "primitives-bandwidth.svg".into(),
        bandwidth.render(),
        "Achieved bandwidth of each primitive".into(),
    ));
    section
}

fn close_all<T: Real>(a: &[T], b: &[T], bound: impl Fn(usize) -> T) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .enumerate()
            .all(|(i, (x, y))| (*x - *y).abs() <= bound(i))
}

/// Times the scalar and the SIMD form of one primitive, records the row.
struct Timer<'a> {
    section: &'a mut Section,
    out: Vec<Measured>,
    budget: Duration,
    ty: &'static str,
    /// Appended to each label (the level, in the per-level rows).
    suffix: String,
}

impl Timer<'_> {
    /// `bytes` is what one call must move; `ok` the result of the agreement check.
    fn pair(
        &mut self,
        label: &str,
        elems: usize,
        bytes: f64,
        ok: bool,
        scalar: impl FnMut(),
        simd: impl FnMut(),
    ) {
        let ts = seconds_per_call(self.budget, scalar);
        let tv = seconds_per_call(self.budget, simd);
        let gbs = bytes / tv / 1e9;
        let label = format!("{label}{}", self.suffix);
        self.section.ok &= ok;
        self.section.row(vec![
            label.clone(),
            self.ty.to_string(),
            elems.to_string(),
            format!("{:.2}", ts * 1e6),
            format!("{:.2}", tv * 1e6),
            format!("{:.2}x", ts / tv),
            format!("{gbs:.1}"),
            if ok { "ok".into() } else { "FAIL".into() },
        ]);
        self.out.push(Measured {
            label,
            gbs,
            speedup: ts / tv,
        });
    }
}

fn measure_type<T: Real>(
    section: &mut Section,
    n: usize,
    budget: Duration,
    suffix: &str,
) -> Vec<Measured>
where
    Simd: SinkhornKernels<T>,
{
    type S = Scalar;
    type V = Simd;
    let size = std::mem::size_of::<T>() as f64;
    let bytes = |k: f64| k * n as f64 * size;
    let x = uniform::<T>(n, 1, 1.0);
    let y = uniform::<T>(n, 2, 1.0);
    let abs_sum = |v: &mut dyn Iterator<Item = T>| v.fold(T::zero(), |s, a| s + a.abs());
    let a = T::of(0.75);
    let mut t = Timer {
        section,
        out: Vec::new(),
        budget,
        ty: T::NAME,
        suffix: suffix.to_string(),
    };
    let bb = std::hint::black_box::<T>;

    let ok = (<S as Primitives<T>>::dot(&x, &y) - <V as Primitives<T>>::dot(&x, &y)).abs()
        <= bounds::reduction(n, abs_sum(&mut x.iter().zip(&y).map(|(a, b)| *a * *b)));
    t.pair(
        "dot",
        n,
        bytes(2.0),
        ok,
        || {
            bb(<S as Primitives<T>>::dot(&x, &y));
        },
        || {
            bb(<V as Primitives<T>>::dot(&x, &y));
        },
    );

    let (mut ys, mut yv) = (y.clone(), y.clone());
    <S as Primitives<T>>::axpy(a, &x, &mut ys);
    <V as Primitives<T>>::axpy(a, &x, &mut yv);
    let ok = close_all(&ys, &yv, |i| bounds::axpy(a * x[i], y[i]));
    // Timed with a tiny multiplier so repeated calls keep the values finite.
    let tiny = T::of(1e-9);
    t.pair(
        "axpy",
        n,
        bytes(3.0),
        ok,
        || <S as Primitives<T>>::axpy(tiny, &x, &mut ys),
        || <V as Primitives<T>>::axpy(tiny, &x, &mut yv),
    );

    let (mut xs, mut xv) = (x.clone(), x.clone());
    <S as Primitives<T>>::scale(a, &mut xs);
    <V as Primitives<T>>::scale(a, &mut xv);
    let ok = xs == xv;
    // Timed scaling by one, so repeated calls neither underflow nor overflow; the
    // factor goes through black_box, or the compiler drops the multiplication.
    t.pair(
        "scale",
        n,
        bytes(2.0),
        ok,
        || <S as Primitives<T>>::scale(bb(T::one()), &mut xs),
        || <V as Primitives<T>>::scale(bb(T::one()), &mut xv),
    );

    let ok = (<S as Primitives<T>>::sum(&x) - <V as Primitives<T>>::sum(&x)).abs()
        <= bounds::reduction(n, abs_sum(&mut x.iter().copied()));
    t.pair(
        "sum",
        n,
        bytes(1.0),
        ok,
        || {
            bb(<S as Primitives<T>>::sum(&x));
        },
        || {
            bb(<V as Primitives<T>>::sum(&x));
        },
    );

    let ok = <S as Primitives<T>>::max(&x) == <V as Primitives<T>>::max(&x);
    t.pair(
        "max",
        n,
        bytes(1.0),
        ok,
        || {
            bb(<S as Primitives<T>>::max(&x));
        },
        || {
            bb(<V as Primitives<T>>::max(&x));
        },
    );

    let reference = <S as Primitives<T>>::lse(&x);
    let ok = (reference - <V as Primitives<T>>::lse(&x)).abs() <= bounds::lse(n, reference);
    t.pair(
        "lse",
        n,
        bytes(2.0),
        ok,
        || {
            bb(<S as Primitives<T>>::lse(&x));
        },
        || {
            bb(<V as Primitives<T>>::lse(&x));
        },
    );

    // lse_accumulate reads x and reads and writes the running max and sum.
    let beta = T::of(0.25);
    let (mut ms, mut ss) = (vec![T::neg_infinity(); n], vec![T::zero(); n]);
    let (mut mv, mut sv) = (ms.clone(), ss.clone());
    for row in [&x, &y] {
        <S as SinkhornKernels<T>>::lse_accumulate(a, row, beta, &mut ms, &mut ss);
        <V as SinkhornKernels<T>>::lse_accumulate(a, row, beta, &mut mv, &mut sv);
    }
    let ok = (0..n).all(|j| {
        let (rs, rv) = (ms[j] + ss[j].ln(), mv[j] + sv[j].ln());
        (rs - rv).abs() <= bounds::lse(2, rs)
    });
    t.pair(
        "lse_accumulate",
        n,
        bytes(5.0),
        ok,
        || <S as SinkhornKernels<T>>::lse_accumulate(a, &x, beta, &mut ms, &mut ss),
        || <V as SinkhornKernels<T>>::lse_accumulate(a, &x, beta, &mut mv, &mut sv),
    );

    // gemv and gemv_t on a rows x cols matrix holding the n values of x.
    let cols = if n <= 4096 { 64 } else { 4096 };
    let rows = n / cols;
    let m = Dense::new(&x[..rows * cols], rows, cols).expect("tour sizes are consistent");
    let (xc, xr) = (&y[..cols], &y[..rows]);
    let (mut gs, mut gv) = (vec![T::zero(); rows], vec![T::zero(); rows]);
    <S as Primitives<T>>::gemv(m, xc, &mut gs);
    <V as Primitives<T>>::gemv(m, xc, &mut gv);
    let ok = close_all(&gs, &gv, |i| {
        bounds::reduction(
            cols,
            abs_sum(&mut m.row(i).iter().zip(xc).map(|(a, b)| *a * *b)),
        )
    });
    t.pair(
        "gemv",
        n,
        bytes(1.0),
        ok,
        || <S as Primitives<T>>::gemv(m, xc, &mut gs),
        || <V as Primitives<T>>::gemv(m, xc, &mut gv),
    );

    let (mut hs, mut hv) = (vec![T::zero(); cols], vec![T::zero(); cols]);
    <S as Primitives<T>>::gemv_t(m, xr, &mut hs);
    <V as Primitives<T>>::gemv_t(m, xr, &mut hv);
    let ok = close_all(&hs, &hv, |j| {
        bounds::reduction(rows, abs_sum(&mut (0..rows).map(|i| m.row(i)[j] * xr[i])))
    });
    t.pair(
        "gemv_t",
        n,
        bytes(1.0),
        ok,
        || <S as Primitives<T>>::gemv_t(m, xr, &mut hs),
        || <V as Primitives<T>>::gemv_t(m, xr, &mut hv),
    );
    t.out
}

/// `dot` at the active level on operands that start on a 64-byte boundary and on
/// operands 16 bytes past one (what a 16-byte-aligned allocator returns): with 64-byte
/// vectors every load of the second crosses a cache line, which is the main source of
/// run-to-run and build-to-build spread in the rows above.
fn alignment<T: Real>(section: &mut Section, n: usize, budget: Duration)
where
    Simd: SinkhornKernels<T>,
{
    let size = std::mem::size_of::<T>();
    let buf = uniform::<T>(2 * n + 64, 3, 1.0);
    // Elements to skip to reach a 64-byte boundary.
    let base = (64 - buf.as_ptr() as usize % 64) % 64 / size;
    let mut t = Timer {
        section,
        out: Vec::new(),
        budget,
        ty: T::NAME,
        suffix: String::new(),
    };
    for (label, skip) in [
        ("dot [64-byte aligned]", 0),
        ("dot [64-byte + 16]", 16 / size),
    ] {
        let at = base + skip;
        let (x, y) = (&buf[at..at + n], &buf[at + n + 32..at + 2 * n + 32]);
        let want = <Scalar as Primitives<T>>::dot(x, y);
        let got = <Simd as Primitives<T>>::dot(x, y);
        let sum_abs = x
            .iter()
            .zip(y)
            .fold(T::zero(), |s, (a, b)| s + (*a * *b).abs());
        let bound = bounds::reduction(n, sum_abs);
        t.pair(
            label,
            n,
            (2 * n * size) as f64,
            (got - want).abs() <= bound,
            || {
                std::hint::black_box(<Scalar as Primitives<T>>::dot(x, y));
            },
            || {
                std::hint::black_box(<Simd as Primitives<T>>::dot(x, y));
            },
        );
    }
}

/// The kernels chosen at run time (every SIMD loop: the base primitives above, the
/// Sinkhorn exponential loop, gemm) at each instruction set level this CPU has, up to
/// the cap in force: what each level is worth, and that each agrees with the scalar
/// reference.
fn levels(section: &mut Section, n: usize, budget: Duration) {
    use kernels_simd::isa;
    let cap = isa::cap();
    for level in isa::supported().filter(|&l| l <= cap) {
        isa::set_cap(level);
        let suffix = format!(" [{}]", level.name());
        measure_type::<f32>(section, n, budget, &suffix);
        measure_type::<f64>(section, n, budget, &suffix);
        at_level::<f32>(section, level, n, budget);
        at_level::<f64>(section, level, n, budget);
    }
    isa::set_cap(cap);
}

fn at_level<T: Real>(
    section: &mut Section,
    level: kernels_simd::isa::Level,
    n: usize,
    budget: Duration,
) where
    Simd: SinkhornKernels<T>,
{
    type S = Scalar;
    type V = Simd;
    let size = std::mem::size_of::<T>() as f64;
    let x = uniform::<T>(n, 3, 4.0);
    let y = uniform::<T>(n, 4, 4.0);
    let (alpha, beta) = (T::of(-1.5), T::of(0.25));
    let mut t = Timer {
        section,
        out: Vec::new(),
        budget,
        ty: T::NAME,
        suffix: String::new(),
    };
    let name = level.name();

    let (mut os, mut ov) = (vec![T::zero(); n], vec![T::zero(); n]);
    let ss = <S as SinkhornKernels<T>>::exp_affine_sum(alpha, &x, beta, &y, &mut os);
    let sv = <V as SinkhornKernels<T>>::exp_affine_sum(alpha, &x, beta, &y, &mut ov);
    let arg = |i: usize| (alpha * x[i]).abs() + y[i].abs() + beta.abs();
    let arg_max = (0..n)
        .map(arg)
        .fold(T::zero(), |m, a| if a > m { a } else { m });
    let ok = close_all(&os, &ov, |i| bounds::exp_affine(os[i], arg(i)))
        && (ss - sv).abs() <= bounds::sum_exp_affine(n, ss, arg_max);
    t.pair(
        &format!("exp_affine_sum [{name}]"),
        n,
        3.0 * n as f64 * size,
        ok,
        || {
            std::hint::black_box(<S as SinkhornKernels<T>>::exp_affine_sum(
                alpha, &x, beta, &y, &mut os,
            ));
        },
        || {
            std::hint::black_box(<V as SinkhornKernels<T>>::exp_affine_sum(
                alpha, &x, beta, &y, &mut ov,
            ));
        },
    );

    // A product of the shapes chunked linear attention multiplies: 64x128 by 128x128.
    let (m, k, cols) = (64, 128, 128);
    let a = uniform::<T>(m * k, 5, 1.0);
    let b = uniform::<T>(k * cols, 6, 1.0);
    let (mut cs, mut cv) = (vec![T::zero(); m * cols], vec![T::zero(); m * cols]);
    let product = |c: &mut [T], simd: bool| {
        let (Ok(av), Ok(bv), Ok(cm)) = (
            kernels_core::Strided::new(&a, m, k, k, 1),
            kernels_core::Strided::new(&b, k, cols, cols, 1),
            kernels_core::StridedMut::new(c, m, cols, cols, 1),
        ) else {
            return;
        };
        if simd {
            <V as Primitives<T>>::gemm(T::one(), av, None, bv, cm);
        } else {
            <S as Primitives<T>>::gemm(T::one(), av, None, bv, cm);
        }
    };
    product(&mut cs, false);
    product(&mut cv, true);
    let ok = close_all(&cs, &cv, |idx| {
        let (i, j) = (idx / cols, idx % cols);
        let sum_abs = (0..k).fold(T::zero(), |s, p| s + (a[i * k + p] * b[p * cols + j]).abs());
        bounds::gemm(k, T::zero(), sum_abs)
    });
    t.pair(
        &format!("gemm 64x128x128 [{name}]"),
        m * cols,
        ((m * k + k * cols + 2 * m * cols) as f64) * size,
        ok,
        || product(&mut cs, false),
        || product(&mut cv, true),
    );
}
