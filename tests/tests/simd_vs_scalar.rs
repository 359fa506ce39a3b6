//! Every SIMD primitive agrees with the scalar reference within the bound that
//! kernels-simd documents, on lengths that exercise every tail: empty, one, a lane
//! short of and past a vector, a block of accumulators plus or minus one, and long.

use kernels_core::sinkhorn::SinkhornKernels;
use kernels_core::{Dense, Primitives, Real, Scalar};
use kernels_simd::{Simd, bounds};
use kernels_tests::{cast, uniform};
use proptest::prelude::*;

/// Lengths around the f32x8 / f64x4 lane counts and the 4-accumulator blocks.
fn length() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop::sample::select(vec![
            0usize, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65
        ]),
        0usize..600,
        Just(4099usize),
    ]
}

/// Values over a wide dynamic range, with exact zeros and sign changes.
fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            4 => -1.0f64..1.0,
            1 => -1e3f64..1e3,
            1 => Just(0.0),
        ],
        n,
    )
}

fn vectors() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
    length().prop_flat_map(|n| (values(n), values(n)))
}

fn abs_sum<T: Real>(it: impl Iterator<Item = T>) -> T {
    it.fold(T::zero(), |s, v| s + v.abs())
}

fn check_all<T: Real>(x: &[f64], y: &[f64], a: f64) -> Result<(), TestCaseError>
where
    Simd: SinkhornKernels<T>,
{
    let (x, y, a) = (cast::<T>(x), cast::<T>(y), T::of(a));
    let n = x.len();
    type S = Scalar;
    type V = Simd;

    let (ds, dv) = (
        <S as Primitives<T>>::dot(&x, &y),
        <V as Primitives<T>>::dot(&x, &y),
    );
    let bound = bounds::reduction(n, abs_sum(x.iter().zip(&y).map(|(p, q)| *p * *q)));
    prop_assert!((ds - dv).abs() <= bound, "dot {ds} vs {dv}, bound {bound}");

    let (ss, sv) = (<S as Primitives<T>>::sum(&x), <V as Primitives<T>>::sum(&x));
    prop_assert!((ss - sv).abs() <= bounds::reduction(n, abs_sum(x.iter().copied())));

    prop_assert_eq!(<S as Primitives<T>>::max(&x), <V as Primitives<T>>::max(&x));

    let (mut ys, mut yv) = (y.clone(), y.clone());
    <S as Primitives<T>>::axpy(a, &x, &mut ys);
    <V as Primitives<T>>::axpy(a, &x, &mut yv);
    for i in 0..n {
        prop_assert!(
            (ys[i] - yv[i]).abs() <= bounds::axpy(a * x[i], y[i]),
            "axpy at {i}"
        );
    }

    let (mut xs, mut xv) = (x.clone(), x.clone());
    <S as Primitives<T>>::scale(a, &mut xs);
    <V as Primitives<T>>::scale(a, &mut xv);
    prop_assert_eq!(xs, xv);

    let (ls, lv) = (<S as Primitives<T>>::lse(&x), <V as Primitives<T>>::lse(&x));
    if n == 0 {
        prop_assert!(ls == T::neg_infinity() && lv == T::neg_infinity());
    } else {
        prop_assert!((ls - lv).abs() <= bounds::lse(n, ls), "lse {ls} vs {lv}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn vector_primitives_agree((x, y) in vectors(), a in -2.0f64..2.0) {
        check_all::<f32>(&x, &y, a)?;
        check_all::<f64>(&x, &y, a)?;
    }

    #[test]
    fn column_lse_agrees(
        rows in 1usize..12,
        cols in length(),
        seed in any::<u64>(),
        alpha in -3.0f64..3.0,
        beta in -50.0f64..50.0,
    ) {
        column_lse::<f32>(rows, cols, seed, alpha, beta)?;
        column_lse::<f64>(rows, cols, seed, alpha, beta)?;
    }

    #[test]
    fn gemv_agrees(rows in 0usize..40, cols in length(), seed in any::<u64>()) {
        gemv::<f32>(rows, cols, seed)?;
        gemv::<f64>(rows, cols, seed)?;
    }
}

fn column_lse<T: Real>(
    rows: usize,
    cols: usize,
    seed: u64,
    alpha: f64,
    beta: f64,
) -> Result<(), TestCaseError>
where
    Simd: SinkhornKernels<T>,
{
    let m = uniform::<T>(rows * cols, seed, 30.0);
    let (alpha, beta) = (T::of(alpha), T::of(beta));
    let fresh = || (vec![T::neg_infinity(); cols], vec![T::zero(); cols]);
    let ((mut ms, mut ss), (mut mv, mut sv)) = (fresh(), fresh());
    for r in 0..rows {
        let row = &m[r * cols..(r + 1) * cols];
        <Scalar as SinkhornKernels<T>>::lse_accumulate(alpha, row, beta, &mut ms, &mut ss);
        <Simd as SinkhornKernels<T>>::lse_accumulate(alpha, row, beta, &mut mv, &mut sv);
    }
    for j in 0..cols {
        // The plain two-pass log-sum-exp of the column is the reference for both.
        let col: Vec<T> = (0..rows).map(|r| alpha * m[r * cols + j] + beta).collect();
        let want = <Scalar as Primitives<T>>::lse(&col);
        let bound = bounds::lse(rows, want);
        for (name, got) in [("scalar", ms[j] + ss[j].ln()), ("simd", mv[j] + sv[j].ln())] {
            prop_assert!(
                (got - want).abs() <= bound,
                "{} column {}: {} vs {}",
                name,
                j,
                got,
                want
            );
        }
    }
    Ok(())
}

fn gemv<T: Real>(rows: usize, cols: usize, seed: u64) -> Result<(), TestCaseError>
where
    Simd: SinkhornKernels<T>,
{
    let data = uniform::<T>(rows * cols, seed, 1.0);
    let a = Dense::new(&data, rows, cols).unwrap();
    let x = uniform::<T>(cols, seed ^ 1, 1.0);
    let (mut ys, mut yv) = (vec![T::zero(); rows], vec![T::one(); rows]);
    <Scalar as Primitives<T>>::gemv(a, &x, &mut ys);
    <Simd as Primitives<T>>::gemv(a, &x, &mut yv);
    for i in 0..rows {
        let bound = bounds::reduction(cols, abs_sum(a.row(i).iter().zip(&x).map(|(p, q)| *p * *q)));
        prop_assert!((ys[i] - yv[i]).abs() <= bound, "gemv row {i}");
        // gemv works on several rows at once; each row's dot is still the lone dot's.
        let alone = <Simd as Primitives<T>>::dot(a.row(i), &x);
        // (f32 to f64 is exact, so equal f64 bits are equal bits.)
        let bits = |v: T| v.to_f64().map(f64::to_bits);
        prop_assert!(bits(yv[i]) == bits(alone), "gemv row {i} is not dot's bits");
    }
    let z = uniform::<T>(rows, seed ^ 2, 1.0);
    let (mut ws, mut wv) = (vec![T::zero(); cols], vec![T::one(); cols]);
    <Scalar as Primitives<T>>::gemv_t(a, &z, &mut ws);
    <Simd as Primitives<T>>::gemv_t(a, &z, &mut wv);
    for j in 0..cols {
        let bound = bounds::reduction(rows, abs_sum((0..rows).map(|i| a.row(i)[j] * z[i])));
        prop_assert!((ws[j] - wv[j]).abs() <= bound, "gemv_t column {j}");
    }
    // gemv_t works on two rows at once; it still has the bits of one axpy per row.
    let mut alone = vec![T::zero(); cols];
    for (i, &zi) in z.iter().enumerate() {
        <Simd as Primitives<T>>::axpy(zi, a.row(i), &mut alone);
    }
    let bits = |v: T| v.to_f64().map(f64::to_bits);
    prop_assert!(
        wv.iter().zip(&alone).all(|(&p, &q)| bits(p) == bits(q)),
        "gemv_t is not one axpy per row"
    );
    Ok(())
}

#[test]
fn lse_special_values_agree() {
    for x in [
        vec![f64::NEG_INFINITY; 9],
        vec![0.0, f64::INFINITY, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
        vec![-1e300; 9],
        vec![700.0; 17],
    ] {
        let s = <Scalar as Primitives<f64>>::lse(&x);
        let v = <Simd as Primitives<f64>>::lse(&x);
        assert!(
            s == v || (s - v).abs() <= bounds::lse(x.len(), s),
            "{s} vs {v}"
        );
    }
}

/// `KN_SIMD`, when set, is the level the dispatched kernels run at (the test command
/// runs the agreement tests once per level this machine has).
#[test]
fn kn_simd_sets_the_level() {
    use kernels_simd::isa::{self, Level};
    let active = isa::active();
    eprintln!(
        "dispatched kernels at {} (detected {})",
        active.name(),
        isa::detected().name()
    );
    if let Ok(name) = std::env::var("KN_SIMD") {
        let cap = Level::parse(&name).expect("KN_SIMD names a level");
        assert_eq!(active, cap.min(isa::detected()));
    }
}
