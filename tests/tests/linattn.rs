//! Linear attention: the chunked forward against the token-by-token recurrence and the
//! quadratic masked form (both in f64), chunk splitting with the LASP-2 scan, the
//! closed form of a constant sequence, SIMD against scalar, and every class of bad
//! input (status and untouched outputs).

use kernels_core::Sequential;
use kernels_core::linattn::LinattnKernels;
use kernels_core::linattn::{self, ChunkDecays, Inputs, Scan, Shape};
use kernels_core::{Error, Primitives, Scalar, Strided, StridedMut};
use kernels_simd::{Simd, bounds};
use kernels_tests::{cast, uniform};
use proptest::prelude::*;

/// A problem in f64, the reference precision; the kernels run on its f32 rounding.
#[derive(Clone, Debug)]
struct Problem {
    shape: Shape,
    q: Vec<f64>,
    k: Vec<f64>,
    v: Vec<f64>,
    decay: Option<Vec<f64>>,
    scale: f64,
    state_in: Option<Vec<f64>>,
}

impl Problem {
    fn new(shape: Shape, seed: u64, decay: Option<Vec<f64>>, with_state: bool) -> Problem {
        let Shape {
            n_heads: h,
            len: n,
            dk,
            dv,
        } = shape;
        // Round to f32 first so that the reference sees exactly the kernel's inputs.
        let r = |len, s| {
            uniform::<f32>(len, s, 1.0)
                .into_iter()
                .map(f64::from)
                .collect()
        };
        Problem {
            shape,
            q: r(h * n * dk, seed),
            k: r(h * n * dk, seed + 1),
            v: r(h * n * dv, seed + 2),
            decay: decay.map(|d| d.iter().map(|&g| f64::from(g as f32)).collect()),
            scale: 0.0,
            state_in: with_state.then(|| r(h * dk * dv, seed + 3)),
        }
    }

    fn scale(&self) -> f64 {
        if self.scale == 0.0 {
            f64::from(1.0f32 / (self.shape.dk as f32).sqrt())
        } else {
            self.scale
        }
    }

    /// The recurrence in f64 on the given values: (out, final state).
    fn reference_with(
        &self,
        q: &[f64],
        k: &[f64],
        v: &[f64],
        s0: Option<&[f64]>,
    ) -> (Vec<f64>, Vec<f64>) {
        let Shape {
            n_heads: h,
            len: n,
            dk,
            dv,
        } = self.shape;
        let mut out = vec![0.0; h * n * dv];
        let mut state = s0.map_or(vec![0.0; h * dk * dv], <[f64]>::to_vec);
        for hh in 0..h {
            let g = self.decay.as_ref().map_or(1.0, |d| d[hh]);
            let s = &mut state[hh * dk * dv..(hh + 1) * dk * dv];
            for t in 0..n {
                let (qt, kt) = (&q[(hh * n + t) * dk..][..dk], &k[(hh * n + t) * dk..][..dk]);
                let vt = &v[(hh * n + t) * dv..][..dv];
                for a in 0..dk {
                    for b in 0..dv {
                        s[a * dv + b] = g * s[a * dv + b] + kt[a] * vt[b];
                    }
                }
                for b in 0..dv {
                    out[(hh * n + t) * dv + b] =
                        self.scale() * (0..dk).map(|a| qt[a] * s[a * dv + b]).sum::<f64>();
                }
            }
        }
        (out, state)
    }

    fn reference(&self) -> (Vec<f64>, Vec<f64>) {
        self.reference_with(&self.q, &self.k, &self.v, self.state_in.as_deref())
    }

    /// The same recurrence on absolute values: the scale of the rounding errors.
    fn magnitude(&self) -> (Vec<f64>, Vec<f64>) {
        let abs = |x: &[f64]| x.iter().map(|v| v.abs()).collect::<Vec<_>>();
        let s0 = self.state_in.as_deref().map(abs);
        let (o, s) =
            self.reference_with(&abs(&self.q), &abs(&self.k), &abs(&self.v), s0.as_deref());
        (o.iter().map(|x| x.abs()).collect(), s)
    }

    /// O = scale [ g^(t+1) q_t S_0 + ((Q K^T) .* D) V ] with D_tj = g^(t-j), j <= t.
    fn quadratic(&self) -> Vec<f64> {
        let Shape {
            n_heads: h,
            len: n,
            dk,
            dv,
        } = self.shape;
        let mut out = vec![0.0; h * n * dv];
        for hh in 0..h {
            let g = self.decay.as_ref().map_or(1.0, |d| d[hh]);
            for t in 0..n {
                let qt = &self.q[(hh * n + t) * dk..][..dk];
                for b in 0..dv {
                    let mut acc = 0.0;
                    if let Some(s0) = &self.state_in {
                        let inter: f64 = (0..dk).map(|a| qt[a] * s0[(hh * dk + a) * dv + b]).sum();
                        acc += g.powi(t as i32 + 1) * inter;
                    }
                    for j in 0..=t {
                        let kj = &self.k[(hh * n + j) * dk..][..dk];
                        let score: f64 = (0..dk).map(|a| qt[a] * kj[a]).sum();
                        acc += score * g.powi((t - j) as i32) * self.v[(hh * n + j) * dv + b];
                    }
                    out[(hh * n + t) * dv + b] = self.scale() * acc;
                }
            }
        }
        out
    }

    fn f32s(&self) -> F32Problem {
        F32Problem {
            shape: self.shape,
            q: cast(&self.q),
            k: cast(&self.k),
            v: cast(&self.v),
            decay: self.decay.as_deref().map(cast),
            scale: self.scale as f32,
            state_in: self.state_in.as_deref().map(cast),
        }
    }
}

struct F32Problem {
    shape: Shape,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    decay: Option<Vec<f32>>,
    scale: f32,
    state_in: Option<Vec<f32>>,
}

impl F32Problem {
    fn inputs(&self) -> Inputs<'_, f32> {
        Inputs {
            shape: self.shape,
            q: &self.q,
            k: &self.k,
            v: &self.v,
            decay: self.decay.as_deref().into(),
            scale: self.scale,
            state_in: self.state_in.as_deref(),
        }
    }

    fn forward<P: LinattnKernels<f32>>(&self, chunk: usize) -> Result<(Vec<f32>, Vec<f32>), Error> {
        let bytes = linattn::forward_work_size::<f32>(self.shape, chunk)?.bytes();
        let mut work = vec![0u8; bytes];
        let mut out = vec![0.0; self.shape.v_len()?];
        let mut state = vec![0.0; self.shape.state_len()?];
        linattn::forward::<f32, P>(
            &Sequential,
            &self.inputs(),
            chunk,
            &mut out,
            Some(&mut state),
            &mut work,
        )?;
        Ok((out, state))
    }
}

/// Largest error relative to the error scale: `|got - want| / (tol * mag + tiny)`.
fn worst(got: &[f32], want: &[f64], mag: &[f64], tol: f64) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .zip(mag)
        .map(|((&g, &w), &m)| (f64::from(g) - w).abs() / (tol * m + 1e-30))
        .fold(0.0, f64::max)
}

/// The f32 error budget per unit of magnitude for sequences of `len` tokens.
fn tol(shape: Shape) -> f64 {
    f64::from(f32::EPSILON) * 4.0 * (shape.len + shape.dk + shape.dv + 16) as f64
}

fn shapes() -> impl Strategy<Value = Shape> {
    (1usize..3, 1usize..70, 1usize..20, 1usize..20).prop_map(|(n_heads, len, dk, dv)| Shape {
        n_heads,
        len,
        dk,
        dv,
    })
}

fn decays(n_heads: usize) -> impl Strategy<Value = Option<Vec<f64>>> {
    prop_oneof![
        Just(None),
        prop::collection::vec(
            prop_oneof![Just(1.0f64), 0.8f64..1.0, 0.05f64..0.8],
            n_heads
        )
        .prop_map(Some),
    ]
}

fn problems() -> impl Strategy<Value = (Problem, usize)> {
    shapes()
        .prop_flat_map(|s| {
            (
                Just(s),
                decays(s.n_heads),
                any::<bool>(),
                any::<u64>(),
                prop_oneof![Just(0usize), Just(1), 1usize..80, Just(1000)],
                prop_oneof![Just(0.0f64), -2.0f64..2.0],
            )
        })
        .prop_map(|(s, d, with_state, seed, chunk, scale)| {
            let mut p = Problem::new(s, seed % 1000, d, with_state);
            p.scale = f64::from(scale as f32);
            (p, chunk)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunked_equals_recurrence_and_quadratic_form((p, chunk) in problems()) {
        let (want, want_state) = p.reference();
        let quad = p.quadratic();
        let (mag, mag_state) = p.magnitude();
        let t = tol(p.shape);
        // The two references agree with each other to f64 rounding.
        for ((a, b), m) in want.iter().zip(&quad).zip(&mag) {
            prop_assert!((a - b).abs() <= 1e-12 * (m + 1.0));
        }
        let f = p.f32s();
        for (name, (out, state)) in [
            ("simd", f.forward::<Simd>(chunk).unwrap()),
            ("scalar", f.forward::<Scalar>(chunk).unwrap()),
        ] {
            let e = worst(&out, &want, &mag, t);
            prop_assert!(e <= 1.0, "{name} out: error {e} of tolerance (chunk {chunk})");
            let e = worst(&state, &want_state, &mag_state, t);
            prop_assert!(e <= 1.0, "{name} state: error {e} of tolerance");
        }
        // The plain recurrence of the library too.
        let mut out = vec![0.0; want.len()];
        let mut state = vec![0.0; want_state.len()];
        linattn::recurrence::<f32, Simd>(&Sequential, &f.inputs(), &mut out, &mut state).unwrap();
        prop_assert!(worst(&out, &want, &mag, t) <= 1.0);
        prop_assert!(worst(&state, &want_state, &mag_state, t) <= 1.0);
    }

    #[test]
    fn split_scan_and_finish_reproduces_the_whole((p, chunk) in problems(), cuts in prop::collection::vec(1usize..30, 1..6)) {
        let Shape { n_heads: h, len: n, dk, dv } = p.shape;
        // Random positive chunk lengths summing to n.
        let mut lens = Vec::new();
        let mut left = n;
        for c in cuts {
            if left == 0 { break; }
            let l = c.min(left);
            lens.push(l);
            left -= l;
        }
        if left > 0 { lens.push(left); }
        let f = p.f32s();
        let (whole, whole_state) = f.forward::<Simd>(chunk).unwrap();
        // Per piece: its slice of every head, contiguous, as a rank would hold it.
        let piece = |x: &[f32], d: usize, t0: usize, l: usize| -> Vec<f32> {
            (0..h).flat_map(|hh| x[(hh * n + t0) * d..(hh * n + t0 + l) * d].to_vec()).collect()
        };
        let sl = h * dk * dv;
        let mut states = vec![0.0f32; lens.len() * sl];
        let mut t0 = 0;
        for (c, &l) in lens.iter().enumerate() {
            let shape = Shape { n_heads: h, len: l, dk, dv };
            linattn::chunk_state::<f32, Simd>(&Sequential,
                shape, &piece(&f.k, dk, t0, l), &piece(&f.v, dv, t0, l),
                f.decay.as_deref().into(), &mut states[c * sl..(c + 1) * sl], None).unwrap();
            t0 += l;
        }
        let mut prefix = vec![f32::NAN; states.len()];
        let chunks = ChunkDecays::Lengths { chunk_lens: &lens, decay: f.decay.as_deref() };
        let scan = Scan { n_heads: h, dk, dv, chunks, states: &states };
        linattn::state_scan::<f32, Simd>(&scan, &mut prefix).unwrap();
        let (mag, mag_state) = p.magnitude();
        let t = 2.0 * tol(p.shape);
        let (want, _) = p.reference();
        let mut t0 = 0;
        let mut last_state = Vec::new();
        for (c, &l) in lens.iter().enumerate() {
            // The prefix states start from zero; the problem's own S_0 reaches chunk c
            // decayed by g^t0, which the caller adds (here: folded into state_in).
            let mut s0 = prefix[c * sl..(c + 1) * sl].to_vec();
            if let Some(si) = &f.state_in {
                for hh in 0..h {
                    let g = f.decay.as_ref().map_or(1.0, |d| d[hh]);
                    let gt = linattn::power(g, t0);
                    for x in 0..dk * dv {
                        s0[hh * dk * dv + x] += gt * si[hh * dk * dv + x];
                    }
                }
            }
            let sub = F32Problem {
                shape: Shape { n_heads: h, len: l, dk, dv },
                q: piece(&f.q, dk, t0, l),
                k: piece(&f.k, dk, t0, l),
                v: piece(&f.v, dv, t0, l),
                decay: f.decay.clone(),
                scale: f.scale,
                state_in: Some(s0),
            };
            let (out, state) = sub.forward::<Simd>(chunk).unwrap();
            let want_piece: Vec<f64> = (0..h).flat_map(|hh| want[(hh * n + t0) * dv..(hh * n + t0 + l) * dv].to_vec()).collect();
            let mag_piece: Vec<f64> = (0..h).flat_map(|hh| mag[(hh * n + t0) * dv..(hh * n + t0 + l) * dv].to_vec()).collect();
            let whole_piece: Vec<f32> = piece(&whole, dv, t0, l);
            prop_assert!(worst(&out, &want_piece, &mag_piece, t) <= 1.0, "piece {c}");
            let whole64: Vec<f64> = whole_piece.iter().map(|&x| f64::from(x)).collect();
            prop_assert!(worst(&out, &whole64, &mag_piece, 2.0 * t) <= 1.0, "piece {c} vs unsplit");
            last_state = state;
            t0 += l;
        }
        let ws64: Vec<f64> = whole_state.iter().map(|&x| f64::from(x)).collect();
        prop_assert!(worst(&last_state, &ws64, &mag_state, 2.0 * t) <= 1.0, "final state");
    }

    #[test]
    fn simd_gemm_matches_scalar(
        m in 1usize..20, n in 1usize..70, k in 1usize..40,
        transposed in any::<bool>(), weighted in any::<bool>(), pad in 0usize..5,
        alpha in -2.0f64..2.0, seed in 0u64..1000,
    ) {
        check_gemm::<f32>(m, n, k, transposed, weighted, pad, alpha, seed)?;
        check_gemm::<f64>(m, n, k, transposed, weighted, pad, alpha, seed)?;
    }
}

#[allow(clippy::too_many_arguments)]
fn check_gemm<T: kernels_core::Real>(
    m: usize,
    n: usize,
    k: usize,
    transposed: bool,
    weighted: bool,
    pad: usize,
    alpha: f64,
    seed: u64,
) -> Result<(), TestCaseError>
where
    Simd: LinattnKernels<T>,
{
    // A is m x k with padded rows (or stored transposed), B is k x n, C is m x n.
    let a_data = uniform::<T>((m.max(k)) * (m.max(k) + pad), seed, 1.0);
    let a = if transposed {
        Strided::new(&a_data, m, k, 1, m + pad).unwrap()
    } else {
        Strided::rows(&a_data, m, k, k + pad).unwrap()
    };
    let b_data = uniform::<T>(k * (n + pad), seed + 1, 1.0);
    let b = Strided::rows(&b_data, k, n, n + pad).unwrap();
    let w_data = uniform::<T>(k, seed + 2, 1.0);
    let w = weighted.then_some(&w_data[..]);
    let c0 = uniform::<T>(m * (n + pad), seed + 3, 1.0);
    let alpha = T::of(alpha);
    let (mut cs, mut cv) = (c0.clone(), c0.clone());
    <Scalar as Primitives<T>>::gemm(
        alpha,
        a,
        w,
        b,
        StridedMut::rows(&mut cs, m, n, n + pad).unwrap(),
    );
    <Simd as Primitives<T>>::gemm(
        alpha,
        a,
        w,
        b,
        StridedMut::rows(&mut cv, m, n, n + pad).unwrap(),
    );
    for i in 0..m {
        for j in 0..n + pad {
            let idx = i * (n + pad) + j;
            if j >= n {
                prop_assert_eq!(cs[idx], c0[idx]);
                prop_assert_eq!(cv[idx], c0[idx]);
                continue;
            }
            let sum_abs = (0..k).fold(T::zero(), |s, p| {
                let wp = w.map_or(T::one(), |w| w[p]);
                s + (alpha * *a.at(i, p) * wp * *b.at(p, j)).abs()
            });
            let bound = bounds::gemm(k, c0[idx], sum_abs);
            prop_assert!(
                (cs[idx] - cv[idx]).abs() <= bound,
                "({i}, {j}): {} vs {}",
                cs[idx],
                cv[idx]
            );
        }
    }
    Ok(())
}

#[test]
fn constant_sequence_has_the_geometric_closed_form() {
    // dk = dv = 1, q = k = v = 1: o_t = scale sum_{j<=t} g^(t-j) = scale (1 - g^(t+1)) / (1 - g).
    for &g in &[1.0f32, 0.9, 0.5, 0.01] {
        let n = 300;
        let shape = Shape {
            n_heads: 1,
            len: n,
            dk: 1,
            dv: 1,
        };
        let ones = vec![1.0f32; n];
        let f = F32Problem {
            shape,
            q: ones.clone(),
            k: ones.clone(),
            v: ones,
            decay: Some(vec![g]),
            scale: 0.5,
            state_in: None,
        };
        let (out, state) = f.forward::<Simd>(0).unwrap();
        let g64 = f64::from(g);
        for (t, &o) in out.iter().enumerate() {
            let want = if g == 1.0 {
                0.5 * (t + 1) as f64
            } else {
                0.5 * (1.0 - g64.powi(t as i32 + 1)) / (1.0 - g64)
            };
            assert!(
                (f64::from(o) - want).abs() <= 1e-5 * want.max(1.0),
                "g {g} t {t}: {o} vs {want}"
            );
        }
        assert!(
            (f64::from(state[0]) - 2.0 * f64::from(out[n - 1])).abs() <= 1e-5 * f64::from(state[0])
        );
    }
}

#[test]
fn long_sequence_stays_accurate() {
    // 2048 tokens, decay close to 1: errors must not grow with the chunk count.
    let p = Problem::new(
        Shape {
            n_heads: 2,
            len: 2048,
            dk: 16,
            dv: 8,
        },
        5,
        Some(vec![1.0, 0.999]),
        true,
    );
    let (want, want_state) = p.reference();
    let (mag, mag_state) = p.magnitude();
    let (out, state) = p.f32s().forward::<Simd>(64).unwrap();
    let t = f64::from(f32::EPSILON) * 8.0 * (64 + 16 + 8 + 16) as f64;
    assert!(worst(&out, &want, &mag, t) <= 1.0);
    assert!(worst(&state, &want_state, &mag_state, t) <= 1.0);
}

/// Runs forward with one input spoiled, checks the status and that out/state_out are
/// untouched.
fn expect_forward_error(spoil: impl FnOnce(&mut F32Problem, &mut usize), want: Error) {
    let mut f = Problem::new(
        Shape {
            n_heads: 2,
            len: 10,
            dk: 3,
            dv: 4,
        },
        1,
        Some(vec![0.9, 1.0]),
        true,
    )
    .f32s();
    let mut chunk = 4;
    let bytes = linattn::forward_work_size::<f32>(f.shape, chunk)
        .unwrap()
        .bytes();
    spoil(&mut f, &mut chunk);
    let mut work = vec![0u8; bytes];
    let mut out = vec![7.0f32; 80];
    let mut state = vec![7.0f32; 24];
    let got = linattn::forward::<f32, Simd>(
        &Sequential,
        &f.inputs(),
        chunk,
        &mut out,
        Some(&mut state),
        &mut work,
    );
    assert_eq!(got, Err(want));
    assert!(
        out.iter().chain(&state).all(|&x| x == 7.0),
        "an output was written"
    );
}

#[test]
fn forward_refuses_each_bad_input_without_writing() {
    expect_forward_error(|f, _| f.decay = Some(vec![0.0, 1.0]), Error::Argument);
    expect_forward_error(|f, _| f.decay = Some(vec![-0.5, 1.0]), Error::Argument);
    expect_forward_error(|f, _| f.decay = Some(vec![1.5, 1.0]), Error::Argument);
    expect_forward_error(|f, _| f.decay = Some(vec![f32::NAN, 1.0]), Error::NonFinite);
    expect_forward_error(|f, _| f.decay = Some(vec![0.5]), Error::Dimension);
    expect_forward_error(|f, _| f.scale = f32::INFINITY, Error::NonFinite);
    expect_forward_error(|f, _| f.q[3] = f32::NAN, Error::NonFinite);
    expect_forward_error(|f, _| f.v[0] = f32::NEG_INFINITY, Error::NonFinite);
    expect_forward_error(
        |f, _| f.state_in.as_mut().unwrap()[5] = f32::NAN,
        Error::NonFinite,
    );
    expect_forward_error(|f, _| f.shape.dk = 0, Error::Dimension);
    expect_forward_error(|f, _| f.shape.len = 0, Error::Dimension);
    expect_forward_error(|f, _| f.k.pop().map(drop).unwrap_or(()), Error::Dimension);
    // A longer chunk needs more workspace than was sized for chunk 4.
    expect_forward_error(|_, c| *c = 10, Error::Workspace);
}

#[test]
fn chunk_state_and_scan_refuse_bad_input_without_writing() {
    let shape = Shape {
        n_heads: 1,
        len: 5,
        dk: 2,
        dv: 2,
    };
    let (k, v) = (uniform::<f32>(10, 1, 1.0), uniform::<f32>(10, 2, 1.0));
    let mut state = vec![7.0f32; 4];
    for (decay, want) in [
        (vec![0.0f32], Error::Argument),
        (vec![1.0001], Error::Argument),
        (vec![f32::NAN], Error::NonFinite),
    ] {
        let decay = Some(&decay[..]).into();
        let got =
            linattn::chunk_state::<f32, Simd>(&Sequential, shape, &k, &v, decay, &mut state, None);
        assert_eq!(got, Err(want));
    }
    let zero = Shape { dv: 0, ..shape };
    assert_eq!(
        linattn::chunk_state::<f32, Simd>(&Sequential, zero, &k, &[], None.into(), &mut [], None),
        Err(Error::Dimension)
    );
    assert!(state.iter().all(|&x| x == 7.0));

    let states = uniform::<f32>(8, 3, 1.0);
    let mut prefix = vec![7.0f32; 8];
    let scan = |lens: &[usize], decay: Option<&[f32]>, prefix: &mut [f32]| {
        let s = Scan {
            n_heads: 1,
            dk: 2,
            dv: 2,
            chunks: ChunkDecays::Lengths {
                chunk_lens: lens,
                decay,
            },
            states: &states,
        };
        linattn::state_scan::<f32, Simd>(&s, prefix)
    };
    assert_eq!(scan(&[3, 0], None, &mut prefix), Err(Error::Dimension));
    assert_eq!(
        scan(&[usize::MAX, 2], None, &mut prefix),
        Err(Error::Dimension)
    );
    assert_eq!(scan(&[3], None, &mut prefix), Err(Error::Dimension));
    assert_eq!(
        scan(&[3, 4], Some(&[2.0]), &mut prefix),
        Err(Error::Argument)
    );
    assert_eq!(
        scan(&[3, 4], Some(&[f32::NAN]), &mut prefix),
        Err(Error::NonFinite)
    );
    assert!(prefix.iter().all(|&x| x == 7.0));
    // And the good case: prefix[0] = 0, prefix[1] = states[0].
    scan(&[3, 4], Some(&[0.5]), &mut prefix).unwrap();
    assert_eq!(&prefix[..4], &[0.0; 4]);
    assert_eq!(&prefix[4..], &states[..4]);
}

#[test]
fn scan_applies_the_decay_of_the_chunks_in_between() {
    // Three chunks of 2, 3, 4 tokens, decay 0.5: prefix[2] = 0.5^3 s0 + s1.
    let states = [1.0f32, 2.0, 4.0];
    let mut prefix = [0.0f32; 3];
    let s = Scan {
        n_heads: 1,
        dk: 1,
        dv: 1,
        chunks: ChunkDecays::Lengths {
            chunk_lens: &[2, 3, 4],
            decay: Some(&[0.5]),
        },
        states: &states,
    };
    linattn::state_scan::<f32, Simd>(&s, &mut prefix).unwrap();
    assert_eq!(prefix, [0.0, 1.0, 0.125 + 2.0]);
}

#[test]
fn overflow_is_a_numerical_error_with_the_values_written() {
    // k v = 1e40 overflows f32: the status says so and out holds what was computed.
    let shape = Shape {
        n_heads: 1,
        len: 3,
        dk: 2,
        dv: 2,
    };
    let big = vec![1e20f32; 6];
    let f = F32Problem {
        shape,
        q: big.clone(),
        k: big.clone(),
        v: big,
        decay: None,
        scale: 1.0,
        state_in: None,
    };
    assert_eq!(f.forward::<Simd>(0).unwrap_err(), Error::Numerical);
    let mut out = vec![0.0f32; 6];
    let mut state = vec![0.0f32; 4];
    let r = linattn::recurrence::<f32, Scalar>(&Sequential, &f.inputs(), &mut out, &mut state);
    assert_eq!(r, Err(Error::Numerical));
    assert!(out.iter().any(|x| !x.is_finite()));
    let mut st = vec![0.0f32; 4];
    let none = None.into();
    let r = linattn::chunk_state::<f32, Simd>(&Sequential, shape, &f.k, &f.v, none, &mut st, None);
    assert_eq!(r, Err(Error::Numerical));
}
