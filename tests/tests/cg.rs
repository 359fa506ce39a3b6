//! CG: solutions against a dense Cholesky reference on random SPD CSR matrices,
//! SSOR-PCG against Jacobi-PCG on the 2D Poisson matrix, indefiniteness, the SIMD CG
//! primitives against the scalar ones, and the C entry points on bad input (status
//! and untouched outputs).

use core::ffi::c_void;
use kernels::{
    KN_ERR_ARGUMENT, KN_ERR_DIMENSION, KN_ERR_NON_FINITE, KN_ERR_NULL, KN_ERR_NUMERICAL,
    KN_ERR_WORKSPACE, KN_NOT_CONVERGED, KN_OK, KN_PRECOND_JACOBI, KN_PRECOND_NONE, KN_PRECOND_SSOR,
    kn_cg_csr_f32, kn_cg_csr_f64, kn_cg_opts, kn_cg_work_bytes, kn_report, kn_status,
};
use kernels_core::Sequential;
use kernels_core::SquareCsr;
use kernels_core::cg::CgKernels;
use kernels_core::cg::{self, CgOpts, Precond};
use kernels_core::{Error, Primitives, Real, Scalar};
use kernels_simd::{Simd, bounds};
use kernels_testing::{oracle, spd_csr};
use kernels_tests::{cast, uniform};
use proptest::prelude::*;

/// A CSR matrix built in the test.
#[derive(Clone, Debug)]
struct Mat {
    n: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f64>,
}

impl Mat {
    /// From a dense row-major matrix, keeping the nonzeros and every diagonal entry.
    fn from_dense(n: usize, d: &[f64]) -> Mat {
        let mut m = Mat {
            n,
            indptr: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
        };
        for i in 0..n {
            for j in 0..n {
                if i == j || d[i * n + j] != 0.0 {
                    m.indices.push(j as u32);
                    m.values.push(d[i * n + j]);
                }
            }
            m.indptr.push(m.indices.len());
        }
        m
    }

    fn dense(&self) -> Vec<f64> {
        let mut d = vec![0.0; self.n * self.n];
        for i in 0..self.n {
            for k in self.indptr[i]..self.indptr[i + 1] {
                d[i * self.n + self.indices[k] as usize] = self.values[k];
            }
        }
        d
    }

    /// An upper bound on the condition number from Gershgorin discs, with `floor` a
    /// known lower bound on the smallest eigenvalue (the larger one is used).
    fn cond_bound(&self, floor: f64) -> f64 {
        let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
        for i in 0..self.n {
            let (mut d, mut off) = (0.0, 0.0);
            for k in self.indptr[i]..self.indptr[i + 1] {
                if self.indices[k] as usize == i {
                    d = self.values[k];
                } else {
                    off += self.values[k].abs();
                }
            }
            lo = lo.min(d - off);
            hi = hi.max(d + off);
        }
        hi / lo.max(floor)
    }

    /// `||b - A x|| / ||b||` in f64.
    fn residual<T: Real>(&self, b: &[f64], x: &[T]) -> f64 {
        let mut ss = 0.0;
        for (i, &bi) in b.iter().enumerate() {
            let mut r = bi;
            for k in self.indptr[i]..self.indptr[i + 1] {
                r -= self.values[k] * x[self.indices[k] as usize].to_f64_lossless();
            }
            ss += r * r;
        }
        ss.sqrt() / norm(b)
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// A random symmetric diagonally dominant matrix: symmetric sparse off-diagonals,
/// diagonal `(1 + c) * row sum + 0.5`, so the eigenvalues lie in
/// `[c R + 0.5, (2 + c) R + 0.5]`.
fn dominant(n: usize, seed: u64, density: f64, c: f64) -> Mat {
    let u = uniform::<f64>(2 * n * n, seed, 1.0);
    let mut d = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..i {
            if (u[i * n + j] + 1.0) / 2.0 < density {
                let v = u[n * n + i * n + j];
                d[i * n + j] = v;
                d[j * n + i] = v;
            }
        }
    }
    for i in 0..n {
        let r: f64 = (0..n).filter(|&j| j != i).map(|j| d[i * n + j].abs()).sum();
        d[i * n + i] = (1.0 + c) * r + 0.5;
    }
    Mat::from_dense(n, &d)
}

/// `B^T B + shift I` for a random sparse `B` (smallest eigenvalue at least `shift`).
fn gram(n: usize, seed: u64, density: f64, shift: f64) -> Mat {
    let u = uniform::<f64>(2 * n * n, seed, 1.0);
    let bm: Vec<f64> = (0..n * n)
        .map(|k| {
            if (u[k] + 1.0) / 2.0 < density {
                u[n * n + k]
            } else {
                0.0
            }
        })
        .collect();
    let mut d = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            d[i * n + j] = (0..n).map(|k| bm[k * n + i] * bm[k * n + j]).sum();
        }
        d[i * n + i] += shift;
    }
    Mat::from_dense(n, &d)
}

/// Solves `A x = b` by a dense Cholesky factorisation (the reference).
fn cholesky_solve(n: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let s: f64 = (0..j).map(|k| l[j * n + k] * l[j * n + k]).sum();
        let d = (a[j * n + j] - s).sqrt();
        assert!(d > 0.0, "reference: not positive definite");
        l[j * n + j] = d;
        for i in j + 1..n {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            l[i * n + j] = (a[i * n + j] - s) / d;
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let s: f64 = (0..i).map(|k| l[i * n + k] * y[k]).sum();
        y[i] = (b[i] - s) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let s: f64 = (i + 1..n).map(|k| l[k * n + i] * x[k]).sum();
        x[i] = (y[i] - s) / l[i * n + i];
    }
    x
}

/// `4 I - neighbours` on an nx x nx grid (the 2D Poisson matrix), lexicographic.
fn poisson(nx: usize) -> Mat {
    let mut m = Mat {
        n: nx * nx,
        indptr: vec![0],
        indices: Vec::new(),
        values: Vec::new(),
    };
    for i in 0..nx {
        for j in 0..nx {
            let p = i * nx + j;
            let entries = [
                (i > 0, p.wrapping_sub(nx), -1.0),
                (j > 0, p.wrapping_sub(1), -1.0),
                (true, p, 4.0),
                (j + 1 < nx, p + 1, -1.0),
                (i + 1 < nx, p + nx, -1.0),
            ];
            for (present, c, v) in entries {
                if present {
                    m.indices.push(c as u32);
                    m.values.push(v);
                }
            }
            m.indptr.push(m.indices.len());
        }
    }
    m
}

fn work_for<T: Real>(n: usize) -> Vec<u8> {
    vec![0u8; cg::cg_work_size::<T>(n).unwrap().bytes()]
}

fn solve<T: Real, P: CgKernels<T>>(
    m: &Mat,
    b: &[f64],
    precond: Precond,
    tol: f64,
    max_iter: u32,
) -> (kernels_core::Result<kernels_core::Report>, Vec<T>) {
    let values = cast::<T>(&m.values);
    let a = SquareCsr::new(m.n, &m.indptr, &m.indices, &values).unwrap();
    let mut x = vec![T::zero(); m.n];
    let opts = CgOpts::default()
        .tol(tol)
        .max_iter(max_iter)
        .precond(precond);
    let got = cg::cg::<T, P>(
        &Sequential,
        &a,
        &cast::<T>(b),
        &mut x,
        &opts,
        &mut work_for::<T>(m.n),
    );
    (got, x)
}

fn spd() -> impl Strategy<Value = (Mat, f64)> {
    (
        1usize..40,
        any::<u64>(),
        0.02f64..0.5,
        0.05f64..1.0,
        any::<bool>(),
    )
        .prop_map(|(n, seed, density, c, which)| {
            if which {
                let m = dominant(n, seed, density, c);
                let k = m.cond_bound(0.5);
                (m, k)
            } else {
                let m = gram(n, seed, density, c);
                let k = m.cond_bound(c);
                (m, k)
            }
        })
}

fn precond() -> impl Strategy<Value = Precond> {
    prop_oneof![
        Just(Precond::None),
        Just(Precond::Jacobi),
        (0.2f64..1.8).prop_map(|omega| Precond::Ssor { omega }),
    ]
}

/// CG on `m` agrees with Cholesky: the returned `x` has the relative residual the
/// report claims (up to the rounding of `A` and of the residual in `T`), and
/// `||x - x*|| / ||x*|| <= cond * residual`.
fn against_cholesky<T: Real, P: CgKernels<T>>(
    m: &Mat,
    cond: f64,
    seed: u64,
    precond: Precond,
    tol: f64,
) -> Result<(), TestCaseError> {
    let b = uniform::<f64>(m.n, seed, 1.0);
    let want = cholesky_solve(m.n, &m.dense(), &b);
    let (got, x) = solve::<T, P>(m, &b, precond, tol, 10 * m.n as u32 + 50);
    let rep = got.map_err(|e| TestCaseError::fail(format!("{e:?} (cond <= {cond})")))?;
    prop_assert!(rep.converged && rep.error <= tol, "{rep:?}");
    let slack = 8.0 * cond * T::epsilon().to_f64_lossless();
    let res = m.residual(&b, &x);
    prop_assert!(res <= tol + slack, "residual {res} vs tol {tol} ({rep:?})");
    let err = x
        .iter()
        .zip(&want)
        .map(|(g, w)| (g.to_f64_lossless() - w).powi(2))
        .sum::<f64>()
        .sqrt();
    let bound = cond * (1.01 * res + 1e-14) * norm(&want);
    prop_assert!(err <= bound, "||x - x*|| {err} > {bound} (cond <= {cond})");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn f64_solutions_match_cholesky((m, cond) in spd(), seed in any::<u64>(), p in precond()) {
        against_cholesky::<f64, Simd>(&m, cond, seed, p, 1e-10)?;
        against_cholesky::<f64, Scalar>(&m, cond, seed, p, 1e-10)?;
    }

    #[test]
    fn f32_solutions_match_cholesky((m, cond) in spd(), seed in any::<u64>(), p in precond()) {
        // An f32 residual is exact to about cond * 6e-8 relative: ask well above it.
        let tol = (50.0 * cond * f64::from(f32::EPSILON)).max(1e-4);
        against_cholesky::<f32, Simd>(&m, cond, seed, p, tol)?;
    }
}

#[test]
fn ssor_takes_fewer_iterations_than_jacobi_on_poisson() {
    let m = poisson(32);
    let b = uniform::<f64>(m.n, 3, 1.0);
    let iters = |p| {
        let (got, x) = solve::<f64, Simd>(&m, &b, p, 1e-8, 2000);
        let rep = got.unwrap();
        assert!(
            rep.converged && m.residual(&b, &x) <= 1e-8,
            "{p:?}: {rep:?}"
        );
        rep.iterations
    };
    let none = iters(Precond::None);
    let jacobi = iters(Precond::Jacobi);
    // omega near the SOR optimum 2 / (1 + sin(pi h)), h = 1/33.
    let ssor = iters(Precond::Ssor { omega: 1.8 });
    // A constant diagonal: Jacobi is plain CG up to rounding.
    assert!(jacobi.abs_diff(none) <= 2, "none {none}, jacobi {jacobi}");
    // CG needs O(N) iterations here, SSOR-PCG O(sqrt N).
    assert!(
        2 * ssor <= jacobi,
        "ssor {ssor} vs jacobi {jacobi} (expected at most half)"
    );
    assert!((60..=120).contains(&jacobi), "jacobi {jacobi}");
}

#[test]
fn an_indefinite_matrix_is_numerical_with_the_last_iterate() {
    // Poisson shifted by -3: eigenvalues 1 - 2cos(.) - 2cos(.) range over about
    // [-3, 5]: indefinite, with every diagonal entry positive.
    let mut m = poisson(8);
    for i in 0..m.n {
        for k in m.indptr[i]..m.indptr[i + 1] {
            if m.indices[k] as usize == i {
                m.values[k] = 1.0;
            }
        }
    }
    let b = uniform::<f64>(m.n, 4, 1.0);
    for p in [Precond::None, Precond::Jacobi, Precond::Ssor { omega: 1.2 }] {
        let (got, x) = solve::<f64, Simd>(&m, &b, p, 1e-10, 500);
        assert_eq!(got.unwrap_err(), Error::Numerical, "{p:?}");
        assert!(x.iter().all(|v| v.is_finite()), "{p:?}: x not finite");
    }
    // Through C: KN_ERR_NUMERICAL, x written (the last iterate), rep untouched.
    let mut c = Call::new(&m, &b);
    assert_eq!(c.run_f64(), KN_ERR_NUMERICAL);
    assert!(c.x.iter().any(|&v| v != 0.0));
    assert_eq!(c.rep, sentinel());
}

#[test]
fn a_negative_diagonal_is_numerical_before_any_write() {
    let mut m = poisson(4);
    m.values[0] = -4.0;
    let b = vec![1.0; m.n];
    let mut c = Call::new(&m, &b);
    c.x = (0..m.n).map(|i| i as f64).collect();
    let keep = c.x.clone();
    assert_eq!(c.run_f64(), KN_ERR_NUMERICAL);
    assert_eq!(c.x, keep);
    assert_eq!(c.rep, sentinel());
}

#[test]
fn not_converged_reports_and_keeps_the_iterate() {
    let m = poisson(16);
    let b = uniform::<f64>(m.n, 5, 1.0);
    let mut c = Call::new(&m, &b);
    c.opts.max_iter = 5;
    c.opts.tol = 1e-12;
    assert_eq!(c.run_f64(), KN_NOT_CONVERGED);
    assert_eq!(c.rep.iterations, 5);
    assert_eq!(c.rep.converged, 0);
    assert!(c.rep.error > 1e-12 && c.rep.error < 1.0);
    assert!((m.residual(&b, &c.x) - c.rep.error).abs() <= 1e-12);
    // Zero right-hand side from zero: converged at once, absolute residual 0.
    let zero = vec![0.0; m.n];
    let mut c = Call::new(&m, &zero);
    assert_eq!(c.run_f64(), KN_OK);
    assert_eq!(
        (c.rep.iterations, c.rep.error, c.rep.converged),
        (0, 0.0, 1)
    );
    // f32 through C, each preconditioner.
    for (p, omega) in [
        (KN_PRECOND_NONE, 0.0),
        (KN_PRECOND_JACOBI, f64::NAN),
        (KN_PRECOND_SSOR, 1.5),
    ] {
        let mut c = Call::new(&m, &b);
        c.opts = kn_cg_opts {
            tol: 1e-5,
            max_iter: 500,
            precond: p,
            omega,
            ..Default::default()
        };
        assert_eq!(c.run_f32(), KN_OK, "precond {p}");
        assert!(c.rep.error <= 1e-5 && m.residual(&b, &c.xf) <= 1.1e-5);
    }
}

// ---------------------------------------------------------------------------------
// The C entry points on bad input.

fn sentinel() -> kn_report {
    kn_report {
        iterations: 77,
        inner_iterations: 78,
        error: -1.5,
        value: 2.5,
        converged: 9,
    }
}

/// The arguments of one `kn_cg_csr_*` call, each replaceable by a test.
struct Call {
    n: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f64>,
    b: Vec<f64>,
    x: Vec<f64>,
    xf: Vec<f32>,
    opts: kn_cg_opts,
    work: Vec<u8>,
    rep: kn_report,
}

impl Call {
    fn new(m: &Mat, b: &[f64]) -> Call {
        let mut bytes = 0;
        // SAFETY: bytes is a valid size_t.
        assert_eq!(unsafe { kn_cg_work_bytes(m.n, &mut bytes) }, KN_OK);
        Call {
            n: m.n,
            indptr: m.indptr.clone(),
            indices: m.indices.clone(),
            values: m.values.clone(),
            b: b.to_vec(),
            x: vec![0.0; m.n],
            xf: vec![0.0; m.n],
            opts: kn_cg_opts {
                tol: 1e-10,
                max_iter: 1000,
                precond: KN_PRECOND_JACOBI,
                omega: 1.0,
                ..Default::default()
            },
            work: vec![0; bytes],
            rep: sentinel(),
        }
    }

    fn run_f64(&mut self) -> kn_status {
        // SAFETY: every array is as long as n and indptr[n] say, or the test made it
        // inconsistent on purpose with lengths the library reads within.
        unsafe {
            kn_cg_csr_f64(
                self.n,
                self.indptr.as_ptr(),
                self.indices.as_ptr(),
                self.values.as_ptr(),
                self.b.as_ptr(),
                self.x.as_mut_ptr(),
                &self.opts,
                self.work.as_mut_ptr().cast::<c_void>(),
                self.work.len(),
                &mut self.rep,
            )
        }
    }

    fn run_f32(&mut self) -> kn_status {
        let (v, b): (Vec<f32>, Vec<f32>) = (cast(&self.values), cast(&self.b));
        // SAFETY: as in run_f64.
        unsafe {
            kn_cg_csr_f32(
                self.n,
                self.indptr.as_ptr(),
                self.indices.as_ptr(),
                v.as_ptr(),
                b.as_ptr(),
                self.xf.as_mut_ptr(),
                &self.opts,
                self.work.as_mut_ptr().cast::<c_void>(),
                self.work.len(),
                &mut self.rep,
            )
        }
    }
}

/// Runs a call made bad by `spoil` in f64 and f32: the status, and x and rep as they
/// were.
fn refused(m: &Mat, want: kn_status, what: &str, spoil: impl Fn(&mut Call)) {
    let b = uniform::<f64>(m.n, 9, 1.0);
    let mut c = Call::new(m, &b);
    spoil(&mut c);
    let x0: Vec<f64> = (0..c.x.len()).map(|i| 0.25 * i as f64).collect();
    let xf0: Vec<f32> = cast(&x0);
    c.x = x0.clone();
    c.xf = xf0.clone();
    assert_eq!(c.run_f64(), want, "{what} (f64)");
    assert_eq!(c.x, x0, "{what}: x written (f64)");
    assert_eq!(c.rep, sentinel(), "{what}: rep written (f64)");
    assert_eq!(c.run_f32(), want, "{what} (f32)");
    assert_eq!(c.xf, xf0, "{what}: x written (f32)");
    assert_eq!(c.rep, sentinel(), "{what}: rep written (f32)");
}

#[test]
fn malformed_csr_is_refused_before_any_write() {
    let m = poisson(4);
    // Row 1 holds columns 0, 1, 2, 5.
    refused(&m, KN_ERR_ARGUMENT, "unsorted columns", |c| {
        c.indices.swap(3, 4);
    });
    refused(&m, KN_ERR_ARGUMENT, "repeated column", |c| {
        c.indices[4] = c.indices[3];
    });
    refused(&m, KN_ERR_ARGUMENT, "column out of range", |c| {
        let last = c.indices.len() - 1;
        c.indices[last] = 16;
    });
    refused(&m, KN_ERR_ARGUMENT, "decreasing indptr", |c| {
        c.indptr[2] = c.indptr[1] - 1;
    });
    refused(&m, KN_ERR_ARGUMENT, "indptr not starting at 0", |c| {
        c.indptr[0] = 1;
    });
    refused(&m, KN_ERR_ARGUMENT, "missing diagonal", |c| {
        // Row 0 holds columns 0, 1, 4: drop the diagonal by moving it to 2.
        c.indices[0] = 2;
        c.indices.swap(0, 1);
    });
    refused(&m, KN_ERR_ARGUMENT, "zero diagonal", |c| c.values[0] = 0.0);
    refused(&m, KN_ERR_NON_FINITE, "NaN in values", |c| {
        c.values[3] = f64::NAN
    });
    refused(&m, KN_ERR_DIMENSION, "n = 0", |c| c.n = 0);
    // Wrong lengths reach the core view only through Rust (C lengths come from n and
    // indptr[n]): a short indices or values array, or b and x of the wrong order.
    let (ip, ix, v) = (&m.indptr, &m.indices, &m.values);
    let short = ix.len() - 1;
    assert_eq!(
        SquareCsr::new(m.n, ip, &ix[..short], v).unwrap_err(),
        Error::Dimension
    );
    assert_eq!(
        SquareCsr::new(m.n, ip, ix, &v[..short]).unwrap_err(),
        Error::Dimension
    );
    assert_eq!(
        SquareCsr::new(m.n - 1, ip, ix, v).unwrap_err(),
        Error::Dimension
    );
    let a = SquareCsr::new(m.n, ip, ix, v).unwrap();
    let opts = CgOpts::default()
        .tol(1e-8)
        .max_iter(10)
        .precond(Precond::Jacobi);
    let mut work = work_for::<f64>(m.n);
    let mut x = vec![3.0; m.n];
    for (bl, xl) in [(m.n - 1, m.n), (m.n, m.n + 1)] {
        let b = vec![1.0; bl];
        let mut xs = vec![3.0; xl];
        assert_eq!(
            cg::cg::<f64, Simd>(&Sequential, &a, &b, &mut xs, &opts, &mut work).unwrap_err(),
            Error::Dimension
        );
        assert!(xs.iter().all(|&v| v == 3.0));
    }
    assert_eq!(
        cg::cg::<f64, Simd>(&Sequential, &a, &[1.0; 16], &mut x, &opts, &mut work[..10])
            .unwrap_err(),
        Error::Workspace
    );
    assert!(x.iter().all(|&v| v == 3.0));
}

#[test]
fn bad_arguments_are_refused_before_any_write() {
    let m = poisson(4);
    refused(&m, KN_ERR_NON_FINITE, "NaN in b", |c| c.b[5] = f64::NAN);
    refused(&m, KN_ERR_NON_FINITE, "infinity in b", |c| {
        c.b[0] = f64::INFINITY
    });
    // The size query answers for f64 (the larger); each type needs its own size.
    let b = vec![1.0; m.n];
    for f32_size in [false, true] {
        let mut c = Call::new(&m, &b);
        let bytes = if f32_size {
            cg::cg_work_size::<f32>(m.n).unwrap().bytes()
        } else {
            c.work.len()
        };
        c.work.truncate(bytes - 1);
        let st = if f32_size { c.run_f32() } else { c.run_f64() };
        assert_eq!(st, KN_ERR_WORKSPACE);
        assert!(c.x.iter().all(|&v| v == 0.0));
        assert!(c.xf.iter().all(|&v| v == 0.0) && c.rep == sentinel());
    }
    for (tol, max_iter, precond, omega) in [
        (0.0, 10, KN_PRECOND_NONE, 1.0),
        (-1e-8, 10, KN_PRECOND_NONE, 1.0),
        (f64::NAN, 10, KN_PRECOND_JACOBI, 1.0),
        (f64::INFINITY, 10, KN_PRECOND_JACOBI, 1.0),
        (1e-8, 0, KN_PRECOND_JACOBI, 1.0),
        (1e-8, 10, 3, 1.0),
        (1e-8, 10, -1, 1.0),
        (1e-8, 10, KN_PRECOND_SSOR, 0.0),
        (1e-8, 10, KN_PRECOND_SSOR, 2.0),
        (1e-8, 10, KN_PRECOND_SSOR, f64::NAN),
    ] {
        let what = format!("opts tol {tol} max_iter {max_iter} precond {precond} omega {omega}");
        refused(&m, KN_ERR_ARGUMENT, &what, |c| {
            c.opts = kn_cg_opts {
                tol,
                max_iter,
                precond,
                omega,
                ..Default::default()
            }
        });
    }

    // NULL arrays, opts and the size query's output.
    let b = vec![1.0; m.n];
    let mut c = Call::new(&m, &b);
    let x0 = c.x.clone();
    let mut rep = sentinel();
    let w = c.work.as_mut_ptr().cast::<c_void>();
    let wl = c.work.len();
    // SAFETY: each call passes one NULL and otherwise valid arrays.
    let statuses = unsafe {
        [
            kn_cg_csr_f64(
                m.n,
                core::ptr::null(),
                c.indices.as_ptr(),
                c.values.as_ptr(),
                c.b.as_ptr(),
                c.x.as_mut_ptr(),
                &c.opts,
                w,
                wl,
                &mut rep,
            ),
            kn_cg_csr_f64(
                m.n,
                c.indptr.as_ptr(),
                core::ptr::null(),
                c.values.as_ptr(),
                c.b.as_ptr(),
                c.x.as_mut_ptr(),
                &c.opts,
                w,
                wl,
                &mut rep,
            ),
            kn_cg_csr_f64(
                m.n,
                c.indptr.as_ptr(),
                c.indices.as_ptr(),
                core::ptr::null(),
                c.b.as_ptr(),
                c.x.as_mut_ptr(),
                &c.opts,
                w,
                wl,
                &mut rep,
            ),
            kn_cg_csr_f64(
                m.n,
                c.indptr.as_ptr(),
                c.indices.as_ptr(),
                c.values.as_ptr(),
                core::ptr::null(),
                c.x.as_mut_ptr(),
                &c.opts,
                w,
                wl,
                &mut rep,
            ),
            kn_cg_csr_f64(
                m.n,
                c.indptr.as_ptr(),
                c.indices.as_ptr(),
                c.values.as_ptr(),
                c.b.as_ptr(),
                core::ptr::null_mut(),
                &c.opts,
                w,
                wl,
                &mut rep,
            ),
            kn_cg_csr_f64(
                m.n,
                c.indptr.as_ptr(),
                c.indices.as_ptr(),
                c.values.as_ptr(),
                c.b.as_ptr(),
                c.x.as_mut_ptr(),
                core::ptr::null(),
                w,
                wl,
                &mut rep,
            ),
            kn_cg_csr_f64(
                m.n,
                c.indptr.as_ptr(),
                c.indices.as_ptr(),
                c.values.as_ptr(),
                c.b.as_ptr(),
                c.x.as_mut_ptr(),
                &c.opts,
                core::ptr::null_mut(),
                wl,
                &mut rep,
            ),
            kn_cg_work_bytes(m.n, core::ptr::null_mut()),
        ]
    };
    assert_eq!(statuses, [KN_ERR_NULL; 8]);
    assert_eq!(c.x, x0);
    assert_eq!(rep, sentinel());
    let mut bytes = 5usize;
    // SAFETY: bytes is a valid size_t.
    assert_eq!(unsafe { kn_cg_work_bytes(0, &mut bytes) }, KN_ERR_DIMENSION);
    // SAFETY: as above.
    let st = unsafe { kn_cg_work_bytes(usize::MAX / 4, &mut bytes) };
    assert_eq!(st, KN_ERR_DIMENSION);
    assert_eq!(bytes, 5);

    // x overlapping b, and the report inside the workspace.
    let mut both = vec![1.0; 2 * m.n];
    let p = both.as_mut_ptr();
    // SAFETY: x and b both lie inside `both`; the library must refuse the overlap.
    let st = unsafe {
        kn_cg_csr_f64(
            m.n,
            c.indptr.as_ptr(),
            c.indices.as_ptr(),
            c.values.as_ptr(),
            p,
            p.add(1),
            &c.opts,
            w,
            wl,
            core::ptr::null_mut(),
        )
    };
    assert_eq!(st, KN_ERR_ARGUMENT);
    assert!(both.iter().all(|&v| v == 1.0));
    let mut big = vec![0u64; wl / 8 + 8];
    let wb = big.as_mut_ptr();
    // SAFETY: rep lies inside the workspace on purpose.
    let st = unsafe {
        kn_cg_csr_f64(
            m.n,
            c.indptr.as_ptr(),
            c.indices.as_ptr(),
            c.values.as_ptr(),
            c.b.as_ptr(),
            c.x.as_mut_ptr(),
            &c.opts,
            wb.cast(),
            big.len() * 8,
            wb.cast(),
        )
    };
    assert_eq!(st, KN_ERR_ARGUMENT);
    assert_eq!(c.x, x0);
}

// ---------------------------------------------------------------------------------
// SIMD against scalar.

fn length() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop::sample::select(vec![
            0usize, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 65
        ]),
        0usize..600,
        Just(4099usize),
    ]
}

fn values(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![4 => -1.0f64..1.0, 1 => -1e3f64..1e3, 1 => Just(0.0)],
        n,
    )
}

fn abs_sum<T: Real>(it: impl Iterator<Item = T>) -> T {
    it.fold(T::zero(), |s, v| s + v.abs())
}

fn primitives_agree<T: Real>(v: &[Vec<f64>; 4], a: f64, cols: &[u32]) -> Result<(), TestCaseError>
where
    Simd: CgKernels<T>,
{
    type S = Scalar;
    type V = Simd;
    let [p, q, x, r] = [0, 1, 2, 3].map(|k| cast::<T>(&v[k]));
    let (a, n) = (T::of(a), p.len());

    let (mut xs, mut rs, mut xv, mut rv) = (x.clone(), r.clone(), x.clone(), r.clone());
    let ss = <S as CgKernels<T>>::cg_update(a, &p, &q, &mut xs, &mut rs);
    let sv = <V as CgKernels<T>>::cg_update(a, &p, &q, &mut xv, &mut rv);
    let mut spread = T::zero();
    for i in 0..n {
        prop_assert!(
            (xs[i] - xv[i]).abs() <= bounds::axpy(a * p[i], x[i]),
            "x at {i}"
        );
        let e = bounds::axpy(a * q[i], r[i]);
        prop_assert!((rs[i] - rv[i]).abs() <= e, "r at {i}");
        spread = spread + e * (T::of(2.0) * rs[i].abs() + e);
    }
    let rr = abs_sum(rs.iter().map(|&v| v * v));
    let bound = bounds::cg_update_sum(n, rr, spread);
    prop_assert!(
        (ss - sv).abs() <= bound,
        "cg_update sum {ss} vs {sv}, bound {bound}"
    );

    // mul_dot with a positive diagonal (as Jacobi's inverse diagonal is).
    let d: Vec<T> = p.iter().map(|v| v.abs() + T::of(0.5)).collect();
    let (mut zs, mut zv) = (vec![T::zero(); n], vec![T::zero(); n]);
    let ds = <S as CgKernels<T>>::mul_dot(&d, &r, &mut zs);
    let dv = <V as CgKernels<T>>::mul_dot(&d, &r, &mut zv);
    prop_assert_eq!(&zs, &zv);
    let bound = bounds::reduction(n, abs_sum(r.iter().zip(&zs).map(|(a, b)| *a * *b)));
    prop_assert!(
        (ds - dv).abs() <= bound,
        "mul_dot {ds} vs {dv}, bound {bound}"
    );

    let (mut ps, mut pv) = (p.clone(), p.clone());
    <S as CgKernels<T>>::xpby(&q, a, &mut ps);
    <V as CgKernels<T>>::xpby(&q, a, &mut pv);
    for i in 0..n {
        prop_assert!(
            (ps[i] - pv[i]).abs() <= bounds::axpy(a * p[i], q[i]),
            "xpby at {i}"
        );
    }

    // csr_dot: a row gathering x at `cols` (indices beyond x contribute nothing).
    let vals: Vec<T> = (0..cols.len())
        .map(|k| q.get(k).copied().unwrap_or(T::one()))
        .collect();
    let cs = <S as Primitives<T>>::csr_dot(cols, &vals, &x);
    let cv = <V as Primitives<T>>::csr_dot(cols, &vals, &x);
    let terms = cols
        .iter()
        .zip(&vals)
        .filter_map(|(&c, &v)| x.get(c as usize).map(|&xc| v * xc));
    let bound = bounds::csr_dot(cols.len(), abs_sum(terms));
    prop_assert!(
        (cs - cv).abs() <= bound,
        "csr_dot {cs} vs {cv}, bound {bound}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn simd_cg_primitives_agree_with_scalar(
        v in length().prop_flat_map(|n| [values(n), values(n), values(n), values(n)]),
        a in -2.0f64..2.0,
        cols in prop::collection::vec(0u32..700, 0..12),
    ) {
        primitives_agree::<f64>(&v, a, &cols)?;
        primitives_agree::<f32>(&v, a, &cols)?;
    }
}

/// A tolerance below what rounding can certify: the recomputed residual may be exactly
/// zero while the measured error (summed in another order) is still above `tol`. That
/// is the end of the solve, reported, not a breakdown (`Error::Numerical`).
#[test]
fn an_exact_residual_ends_the_solve_with_a_report() {
    // 5 x 5 tridiagonal (-1, 4, -1), b = 1..5, x = 0.
    let n = 5usize;
    let (mut indptr, mut indices, mut values) = (vec![0usize], vec![], vec![]);
    for i in 0..n {
        for j in i.saturating_sub(1)..(i + 2).min(n) {
            indices.push(j as u32);
            values.push(if i == j { 4.0 } else { -1.0 });
        }
        indptr.push(indices.len());
    }
    let a = SquareCsr::new(n, &indptr, &indices, &values).unwrap();
    let b = [1.0, 2.0, 3.0, 4.0, 5.0];
    for precond in [Precond::None, Precond::Jacobi, Precond::Ssor { omega: 1.2 }] {
        for tol in [1e-16, 1e-17, 1e-300] {
            let opts = CgOpts::default().tol(tol).max_iter(50).precond(precond);
            let mut x = [0.0; 5];
            let mut work = work_for::<f64>(n);
            let rep = cg::cg::<f64, Simd>(&Sequential, &a, &b, &mut x, &opts, &mut work)
                .unwrap_or_else(|e| panic!("{precond:?}, tol {tol}: {e:?}"));
            assert!(rep.error < 1e-14, "{precond:?}, tol {tol}: {rep:?}");
            assert_eq!(rep.converged, rep.error <= tol);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// SIMD CG against the scalar reference (kernels-testing's oracle) on its SPD
    /// matrices: both reach the tolerance, and differ by no more than their residuals
    /// allow (`||x - y|| <= cond (res x + res y) ||x*||`).
    #[test]
    fn simd_cg_matches_the_scalar_oracle(
        a in spd_csr(1..60, 1e4),
        seed in any::<u64>(),
        p in precond(),
    ) {
        let b = uniform::<f64>(a.n, seed, 1.0);
        let opts = CgOpts::default().tol(1e-10).max_iter(10 * a.n as u32 + 50).precond(p);
        let (want, want_rep) = oracle::cg(&a, &b, &opts)
            .map_err(|e| TestCaseError::fail(format!("oracle: {e:?}")))?;
        let values = a.values_as::<f64>();
        let mut x = vec![0.0; a.n];
        let rep = cg::cg::<f64, Simd>(&Sequential, &a.view(&values), &b, &mut x, &opts, &mut work_for::<f64>(a.n))
            .map_err(|e| TestCaseError::fail(format!("simd: {e:?}")))?;
        prop_assert!(rep.converged && want_rep.converged, "{rep:?} {want_rep:?}");
        let (rx, rw) = (a.residual(&b, &x), a.residual(&b, &want));
        let diff = norm(&x.iter().zip(&want).map(|(x, w)| x - w).collect::<Vec<_>>());
        let bound = a.cond_bound * (rx + rw + 1e-14) * 1.01 * norm(&want) + 1e-300;
        prop_assert!(diff <= bound, "||x - x_ref|| {diff} > {bound} (cond <= {})", a.cond_bound);
    }
}
