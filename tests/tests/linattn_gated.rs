//! Gated linear attention (a log gate per head and token) and packed variable-length
//! batches: the chunked forward against the f64 recurrence for gates down to -30 and
//! chunks of 1, 7, 64 and 1000 tokens; the constant decay as its special case; a
//! sequence split into chunks through the gated LASP-2 scan; varlen against separate
//! calls bit for bit; and bad input through the C entry points (status, nothing
//! written).

use kernels::{
    KN_ERR_ARGUMENT, KN_ERR_DIMENSION, KN_ERR_NON_FINITE, KN_OK, kn_linattn_forward_f32,
    kn_linattn_forward_varlen_f32, kn_linattn_gated_chunk_state_f32, kn_linattn_gated_forward_f32,
    kn_linattn_gated_forward_varlen_f32, kn_linattn_gated_state_scan_f32,
    kn_linattn_gated_work_bytes, kn_linattn_work_bytes,
};
use kernels_core::linattn::{self, ChunkDecays, Decay, Inputs, LinattnKernels, Scan, Seqs, Shape};
use kernels_core::{Error, Scalar, Sequential};
use kernels_simd::{Simd, bounds};
use kernels_tests::uniform;
use proptest::prelude::*;
use std::ffi::c_void;
use std::ptr;

/// A problem in f32 with gates: `[-3, 0]` mostly, some exactly 0, some -30.
struct Problem {
    shape: Shape,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    gates: Vec<f32>,
    state_in: Option<Vec<f32>>,
}

impl Problem {
    fn new(shape: Shape, seed: u64, with_state: bool) -> Problem {
        let Shape {
            n_heads: h,
            len: n,
            dk,
            dv,
        } = shape;
        let mut gates: Vec<f32> = uniform::<f32>(h * n, seed + 4, 1.0)
            .iter()
            .map(|x| -1.5 * (x + 1.0))
            .collect();
        for (i, g) in gates.iter_mut().enumerate() {
            match i % 97 {
                3 => *g = -30.0,
                5 | 6 => *g = 0.0,
                7 => *g = -1e-7,
                _ => {}
            }
        }
        Problem {
            shape,
            q: uniform(h * n * dk, seed, 1.0),
            k: uniform(h * n * dk, seed + 1, 1.0),
            v: uniform(h * n * dv, seed + 2, 1.0),
            gates,
            state_in: with_state.then(|| uniform(h * dk * dv, seed + 3, 1.0)),
        }
    }

    fn inputs(&self) -> Inputs<'_, f32> {
        Inputs {
            shape: self.shape,
            q: &self.q,
            k: &self.k,
            v: &self.v,
            decay: Decay::Gates(&self.gates),
            scale: 0.0,
            state_in: self.state_in.as_deref(),
        }
    }

    /// The recurrence in f64 on the f32 values, and the same on absolute values (the
    /// scale of the rounding errors): (out, |out|, final state, |final state|).
    fn reference(&self) -> [Vec<f64>; 4] {
        let w = |x: &[f32]| x.iter().map(|&v| f64::from(v)).collect::<Vec<_>>();
        let a = |x: &[f32]| x.iter().map(|&v| f64::from(v).abs()).collect::<Vec<_>>();
        let s0 = self.state_in.as_deref();
        let (o, s) = self.recurrence(&w(&self.q), &w(&self.k), &w(&self.v), s0.map(w));
        let (om, sm) = self.recurrence(&a(&self.q), &a(&self.k), &a(&self.v), s0.map(a));
        [o, om, s, sm]
    }

    fn recurrence(
        &self,
        q: &[f64],
        k: &[f64],
        v: &[f64],
        s0: Option<Vec<f64>>,
    ) -> (Vec<f64>, Vec<f64>) {
        let Shape {
            n_heads: h,
            len: n,
            dk,
            dv,
        } = self.shape;
        let scale = f64::from(1.0 / (dk as f32).sqrt());
        let mut out = vec![0.0; h * n * dv];
        let mut state = s0.unwrap_or_else(|| vec![0.0; h * dk * dv]);
        for hh in 0..h {
            let s = &mut state[hh * dk * dv..(hh + 1) * dk * dv];
            for t in 0..n {
                let a = f64::from(self.gates[hh * n + t]).exp();
                let (qt, kt) = (&q[(hh * n + t) * dk..][..dk], &k[(hh * n + t) * dk..][..dk]);
                let vt = &v[(hh * n + t) * dv..][..dv];
                for i in 0..dk {
                    for j in 0..dv {
                        s[i * dv + j] = a * s[i * dv + j] + kt[i] * vt[j];
                    }
                }
                for j in 0..dv {
                    let o: f64 = (0..dk).map(|i| qt[i] * s[i * dv + j]).sum();
                    out[(hh * n + t) * dv + j] = scale * o;
                }
            }
        }
        (out, state)
    }
}

/// The chunked forward with the minimum workspace: (out, final state).
fn forward<P: LinattnKernels<f32>>(inp: &Inputs<'_, f32>, chunk: usize) -> (Vec<f32>, Vec<f32>) {
    let shape = inp.shape;
    let size = if inp.decay.is_gated() {
        linattn::gated_work_size::<f32>(shape, chunk)
    } else {
        linattn::forward_work_size::<f32>(shape, chunk)
    };
    let mut work = vec![0u8; size.unwrap().bytes()];
    let mut out = vec![f32::NAN; shape.v_len().unwrap()];
    let mut state = vec![f32::NAN; shape.state_len().unwrap()];
    linattn::forward::<f32, P>(
        &Sequential,
        inp,
        chunk,
        &mut out,
        Some(&mut state),
        &mut work,
    )
    .unwrap();
    (out, state)
}

/// Every value within `rel` of the reference, relative to the magnitude of the terms
/// that sum to it.
fn assert_close(got: &[f32], want: &[f64], magnitude: &[f64], rel: f64, what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, ((&g, &w), &m)) in got.iter().zip(want).zip(magnitude).enumerate() {
        let err = (f64::from(g) - w).abs();
        assert!(
            err <= rel * m.max(f64::MIN_POSITIVE),
            "{what}: value {i}: {g} against {w} (magnitude {m}, error {:.2e})",
            err / m
        );
    }
}

#[test]
fn gated_forward_equals_the_f64_recurrence() {
    let shape = Shape {
        n_heads: 2,
        len: 1100,
        dk: 16,
        dv: 12,
    };
    for with_state in [false, true] {
        let p = Problem::new(shape, 10, with_state);
        let [want, mag, want_state, mag_state] = p.reference();
        for chunk in [1, 7, 64, 1000] {
            for (name, (out, state)) in [
                ("simd", forward::<Simd>(&p.inputs(), chunk)),
                ("scalar", forward::<Scalar>(&p.inputs(), chunk)),
            ] {
                let what = format!("{name}, chunk {chunk}, state {with_state}");
                assert_close(&out, &want, &mag, 1e-5, &what);
                assert_close(&state, &want_state, &mag_state, 1e-5, &what);
            }
        }
    }
}

#[test]
fn a_constant_decay_is_the_gate_of_its_log() {
    let shape = Shape {
        n_heads: 3,
        len: 200,
        dk: 8,
        dv: 8,
    };
    let p = Problem::new(shape, 20, true);
    let decay = [0.9f32, 1.0, 0.5];
    let gates: Vec<f32> = decay
        .iter()
        .flat_map(|&d| std::iter::repeat_n(d.ln(), shape.len))
        .collect();
    let constant = Inputs {
        decay: Decay::Heads(&decay),
        ..p.inputs()
    };
    let gated = Inputs {
        decay: Decay::Gates(&gates),
        ..p.inputs()
    };
    let (a, sa) = forward::<Simd>(&constant, 64);
    let (b, sb) = forward::<Simd>(&gated, 64);
    for (x, y) in a.iter().zip(&b).chain(sa.iter().zip(&sb)) {
        assert!((x - y).abs() <= 1e-5 * (1.0 + x.abs()), "{x} against {y}");
    }
}

/// A sequence cut into chunks of 100, 1, 333 and 166 tokens: each chunk's state and
/// log decay, the gated scan, and each chunk's forward from its prefix give the
/// one-pass output and final state.
#[test]
fn split_through_the_gated_scan_equals_one_pass() {
    let (h, n, dk, dv) = (2, 600, 12, 10);
    let shape = Shape {
        n_heads: h,
        len: n,
        dk,
        dv,
    };
    let p = Problem::new(shape, 30, false);
    let (whole, whole_state) = forward::<Simd>(&p.inputs(), 64);
    let lens = [100usize, 1, 333, 166];
    // A chunk's slice of every head, contiguous, as a rank would hold it.
    let piece = |x: &[f32], d: usize, t0: usize, l: usize| -> Vec<f32> {
        (0..h)
            .flat_map(|hh| x[(hh * n + t0) * d..(hh * n + t0 + l) * d].to_vec())
            .collect()
    };
    let sl = h * dk * dv;
    let mut states = vec![0.0f32; lens.len() * sl];
    let mut logs = vec![0.0f32; lens.len() * h];
    let mut t0 = 0;
    for (c, &l) in lens.iter().enumerate() {
        let part = Shape { len: l, ..shape };
        let g = piece(&p.gates, 1, t0, l);
        linattn::chunk_state::<f32, Simd>(
            &Sequential,
            part,
            &piece(&p.k, dk, t0, l),
            &piece(&p.v, dv, t0, l),
            Decay::Gates(&g),
            &mut states[c * sl..(c + 1) * sl],
            Some(&mut logs[c * h..(c + 1) * h]),
        )
        .unwrap();
        let sum: f64 = g[..l].iter().map(|&x| f64::from(x)).sum();
        assert_eq!(logs[c * h], sum as f32);
        t0 += l;
    }
    let mut prefix = vec![f32::NAN; states.len()];
    let scan = Scan {
        n_heads: h,
        dk,
        dv,
        chunks: ChunkDecays::Logs(&logs),
        states: &states,
    };
    linattn::state_scan::<f32, Simd>(&scan, &mut prefix).unwrap();
    assert!(prefix[..sl].iter().all(|&x| x == 0.0));
    let mut t0 = 0;
    for (c, &l) in lens.iter().enumerate() {
        let (q, k, v, g) = (
            piece(&p.q, dk, t0, l),
            piece(&p.k, dk, t0, l),
            piece(&p.v, dv, t0, l),
            piece(&p.gates, 1, t0, l),
        );
        let inp = Inputs {
            shape: Shape { len: l, ..shape },
            q: &q,
            k: &k,
            v: &v,
            decay: Decay::Gates(&g),
            scale: 0.0,
            state_in: Some(&prefix[c * sl..(c + 1) * sl]),
        };
        let (out, state) = forward::<Simd>(&inp, 64);
        let want = piece(&whole, dv, t0, l);
        for (x, y) in out.iter().zip(&want) {
            assert!(
                (x - y).abs() <= 2e-5 * (1.0 + y.abs()),
                "chunk {c}: {x} against {y}"
            );
        }
        if c + 1 == lens.len() {
            for (x, y) in state.iter().zip(&whole_state) {
                assert!(
                    (x - y).abs() <= 2e-5 * (1.0 + y.abs()),
                    "state: {x} against {y}"
                );
            }
        }
        t0 += l;
    }
}

/// Sequences of 0, 1, 70, 0, 129 and 300 tokens packed into one batch give, with
/// and without gates and initial states, the bits of separate calls.
#[test]
fn varlen_equals_separate_calls_bit_for_bit() {
    let lens = [0usize, 1, 70, 0, 129, 300];
    let cu: Vec<usize> = std::iter::once(0)
        .chain(lens.iter().scan(0, |t, &l| {
            *t += l;
            Some(*t)
        }))
        .collect();
    let (h, n, dk, dv) = (3, cu[lens.len()], 9, 7);
    let shape = Shape {
        n_heads: h,
        len: n,
        dk,
        dv,
    };
    let p = Problem::new(shape, 40, false);
    let sl = h * dk * dv;
    let states_in = uniform::<f32>(lens.len() * sl, 44, 1.0);
    let decay = [0.95f32, 1.0, 0.8];
    for gated in [false, true] {
        for with_state in [false, true] {
            let inp = Inputs {
                decay: if gated {
                    Decay::Gates(&p.gates)
                } else {
                    Decay::Heads(&decay)
                },
                state_in: with_state.then_some(&states_in[..]),
                ..p.inputs()
            };
            let chunk = 64;
            let size = if gated {
                linattn::gated_work_size::<f32>(shape, chunk)
            } else {
                linattn::forward_work_size::<f32>(shape, chunk)
            };
            let mut work = vec![0u8; size.unwrap().bytes()];
            let mut out = vec![f32::NAN; shape.v_len().unwrap()];
            let mut states = vec![f32::NAN; lens.len() * sl];
            let seqs = Seqs { cu_seqlens: &cu };
            linattn::forward_varlen::<f32, Simd>(
                &Sequential,
                &inp,
                seqs,
                chunk,
                &mut out,
                Some(&mut states),
                &mut work,
            )
            .unwrap();
            let piece = |x: &[f32], d: usize, s: usize| -> Vec<f32> {
                (0..h)
                    .flat_map(|hh| x[(hh * n + cu[s]) * d..(hh * n + cu[s + 1]) * d].to_vec())
                    .collect()
            };
            for (s, &l) in lens.iter().enumerate() {
                let state_in = with_state.then(|| &states_in[s * sl..(s + 1) * sl]);
                let got_state = &states[s * sl..(s + 1) * sl];
                if l == 0 {
                    let want = state_in.map_or(vec![0.0; sl], <[f32]>::to_vec);
                    assert_eq!(got_state, &want[..]);
                    continue;
                }
                let (q, k, v, g) = (
                    piece(&p.q, dk, s),
                    piece(&p.k, dk, s),
                    piece(&p.v, dv, s),
                    piece(&p.gates, 1, s),
                );
                let alone = Inputs {
                    shape: Shape { len: l, ..shape },
                    q: &q,
                    k: &k,
                    v: &v,
                    decay: if gated {
                        Decay::Gates(&g)
                    } else {
                        Decay::Heads(&decay)
                    },
                    scale: 0.0,
                    state_in,
                };
                let (want, want_state) = forward::<Simd>(&alone, chunk);
                let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&piece(&out, dv, s)), bits(&want), "sequence {s}");
                assert_eq!(bits(got_state), bits(&want_state), "state {s}");
            }
        }
    }
}

#[test]
fn core_rejects_bad_gates_and_offsets_before_writing() {
    let shape = Shape {
        n_heads: 1,
        len: 4,
        dk: 2,
        dv: 2,
    };
    let p = Problem::new(shape, 50, false);
    let mut work = vec![0u8; linattn::gated_work_size::<f32>(shape, 0).unwrap().bytes()];
    let mut out = vec![7.0f32; 8];
    for (gates, want) in [
        (vec![-1.0f32, 0.5, -1.0, -1.0], Error::Argument),
        (vec![-1.0, f32::NAN, -1.0, -1.0], Error::NonFinite),
        (vec![-1.0, f32::NEG_INFINITY, -1.0, -1.0], Error::NonFinite),
        (vec![-1.0; 3], Error::Dimension),
    ] {
        let inp = Inputs {
            decay: Decay::Gates(&gates),
            ..p.inputs()
        };
        let r = linattn::forward::<f32, Simd>(&Sequential, &inp, 0, &mut out, None, &mut work);
        assert_eq!(r, Err(want));
    }
    for cu in [&[1usize, 4][..], &[0, 3, 2, 4], &[0, 3], &[0, 5], &[0], &[]] {
        let r = linattn::forward_varlen::<f32, Simd>(
            &Sequential,
            &p.inputs(),
            Seqs { cu_seqlens: cu },
            0,
            &mut out,
            None,
            &mut work,
        );
        assert_eq!(r, Err(Error::Argument), "{cu:?}");
    }
    assert!(out.iter().all(|&x| x == 7.0));
}

/// The C entry points: good calls agree with the Rust ones, and every class of bad
/// argument gets its status with nothing written.
#[test]
fn c_entry_points_check_before_writing() {
    let (h, n, dk, dv) = (2usize, 10usize, 3usize, 2usize);
    let shape = Shape {
        n_heads: h,
        len: n,
        dk,
        dv,
    };
    let p = Problem::new(shape, 60, false);
    let mut bytes = 0usize;
    // SAFETY: `bytes` is valid for one write.
    let r = unsafe { kn_linattn_gated_work_bytes(h, n, dk, dv, 4, &mut bytes) };
    assert_eq!(r, KN_OK);
    let mut const_bytes = 0usize;
    // SAFETY: as above.
    unsafe { kn_linattn_work_bytes(h, n, dk, dv, 4, &mut const_bytes) };
    assert!(bytes > const_bytes);
    let mut work = vec![0u8; bytes];
    let mut out = vec![7.0f32; h * n * dv];
    let call = |g: &[f32], out: &mut [f32], work: &mut [u8]| {
        // SAFETY: every array has its documented length.
        unsafe {
            kn_linattn_gated_forward_f32(
                h,
                n,
                dk,
                dv,
                p.q.as_ptr(),
                p.k.as_ptr(),
                p.v.as_ptr(),
                g.as_ptr(),
                0.0,
                ptr::null(),
                out.as_mut_ptr(),
                ptr::null_mut(),
                4,
                work.as_mut_ptr().cast::<c_void>(),
                work.len(),
            )
        }
    };
    let mut bad = p.gates.clone();
    bad[13] = 1e-3;
    assert_eq!(call(&bad, &mut out, &mut work), KN_ERR_ARGUMENT);
    bad[13] = f32::from_bits(0x7fc0_0001);
    assert_eq!(call(&bad, &mut out, &mut work), KN_ERR_NON_FINITE);
    assert!(out.iter().all(|&x| x == 7.0));
    assert_eq!(call(&p.gates, &mut out, &mut work), KN_OK);
    let (want, _) = forward::<Simd>(&p.inputs(), 4);
    assert_eq!(out, want);

    // Varlen: malformed offsets, then the good call equals the one-sequence call.
    let varlen = |cu: &[usize], gated: bool, out: &mut [f32], work: &mut [u8]| {
        let f = if gated {
            kn_linattn_gated_forward_varlen_f32
        } else {
            kn_linattn_forward_varlen_f32
        };
        let g = if gated { p.gates.as_ptr() } else { ptr::null() };
        // SAFETY: every array has its documented length for `n` tokens.
        unsafe {
            f(
                cu.len() - 1,
                cu.as_ptr(),
                h,
                n,
                dk,
                dv,
                p.q.as_ptr(),
                p.k.as_ptr(),
                p.v.as_ptr(),
                g,
                0.0,
                ptr::null(),
                out.as_mut_ptr(),
                ptr::null_mut(),
                4,
                work.as_mut_ptr().cast::<c_void>(),
                work.len(),
            )
        }
    };
    let mut out2 = vec![7.0f32; h * n * dv];
    assert_eq!(
        varlen(&[1, 4, 10], true, &mut out2, &mut work),
        KN_ERR_ARGUMENT
    );
    assert_eq!(
        varlen(&[0, 6, 4, 10], true, &mut out2, &mut work),
        KN_ERR_ARGUMENT
    );
    assert_eq!(
        varlen(&[0, 6, 11], true, &mut out2, &mut work),
        KN_ERR_ARGUMENT
    );
    assert_eq!(
        varlen(&[0, 6, 9], false, &mut out2, &mut work),
        KN_ERR_ARGUMENT
    );
    assert_eq!(varlen(&[0], false, &mut out2, &mut work), KN_ERR_DIMENSION);
    assert!(out2.iter().all(|&x| x == 7.0));
    assert_eq!(varlen(&[0, 10], true, &mut out2, &mut work), KN_OK);
    assert_eq!(out2, out);
    // Without gates, one sequence is `kn_linattn_forward_f32`.
    let mut out3 = vec![0.0f32; h * n * dv];
    // SAFETY: every array has its documented length; no decay.
    let r = unsafe {
        kn_linattn_forward_f32(
            h,
            n,
            dk,
            dv,
            p.q.as_ptr(),
            p.k.as_ptr(),
            p.v.as_ptr(),
            ptr::null(),
            0.0,
            ptr::null(),
            out3.as_mut_ptr(),
            ptr::null_mut(),
            4,
            work.as_mut_ptr().cast::<c_void>(),
            work.len(),
        )
    };
    assert_eq!(r, KN_OK);
    assert_eq!(varlen(&[0, 10], false, &mut out2, &mut work), KN_OK);
    assert_eq!(out2, out3);

    // Chunk state and scan.
    let mut state = vec![7.0f32; h * dk * dv];
    let mut logs = vec![7.0f32; h];
    // SAFETY: every array has its documented length.
    let cs = |g: &[f32], state: &mut [f32], logs: &mut [f32]| unsafe {
        kn_linattn_gated_chunk_state_f32(
            h,
            n,
            dk,
            dv,
            p.k.as_ptr(),
            p.v.as_ptr(),
            g.as_ptr(),
            state.as_mut_ptr(),
            logs.as_mut_ptr(),
        )
    };
    let mut bad = p.gates.clone();
    bad[0] = 2.0;
    assert_eq!(cs(&bad, &mut state, &mut logs), KN_ERR_ARGUMENT);
    assert!(state.iter().chain(&logs).all(|&x| x == 7.0));
    assert_eq!(cs(&p.gates, &mut state, &mut logs), KN_OK);
    let mut prefix = vec![7.0f32; 2 * h * dk * dv];
    let states = [state.clone(), state.clone()].concat();
    let mut two_logs = [logs.clone(), logs.clone()].concat();
    // SAFETY: every array has its documented length.
    let scan = |logs: &[f32], prefix: &mut [f32]| unsafe {
        kn_linattn_gated_state_scan_f32(
            2,
            h,
            dk,
            dv,
            logs.as_ptr(),
            states.as_ptr(),
            prefix.as_mut_ptr(),
        )
    };
    two_logs[1] = 0.25;
    assert_eq!(scan(&two_logs, &mut prefix), KN_ERR_ARGUMENT);
    assert!(prefix.iter().all(|&x| x == 7.0));
    two_logs[1] = logs[1];
    assert_eq!(scan(&two_logs, &mut prefix), KN_OK);
    assert!(prefix[..h * dk * dv].iter().all(|&x| x == 0.0));
    assert_eq!(prefix[h * dk * dv..], state[..]);
}

proptest! {
    /// The gated mask's loop: SIMD against scalar within the documented bound.
    #[test]
    fn scale_exp_simd_vs_scalar(
        ex in prop::collection::vec((-100.0f32..0.0, -10.0f32..10.0), 0..300),
        factor in 0.01f32..4.0,
    ) {
        let (e, x): (Vec<f32>, Vec<f32>) = ex.into_iter().unzip();
        let (mut s, mut v) = (x.clone(), x);
        <Scalar as LinattnKernels<f32>>::scale_exp(factor, &e, &mut s);
        <Simd as LinattnKernels<f32>>::scale_exp(factor, &e, &mut v);
        for (a, b) in s.iter().zip(&v) {
            prop_assert!((a - b).abs() <= bounds::scale_exp_element(*a), "{} vs {}", a, b);
        }
    }
}

/// Half-precision tokens (f16, bf16), with a constant decay and with gates: the bits
/// of the f32 forward on the upcast tokens, each output rounded to the half type;
/// NaN/Inf bit patterns refused before any write; an output beyond the half range an
/// overflow.
#[test]
fn half_tokens_are_the_f32_forward_on_upcast_values_rounded() {
    use kernels::{
        KN_ERR_NUMERICAL, kn_linattn_bf16_work_bytes, kn_linattn_f16_work_bytes,
        kn_linattn_forward_bf16, kn_linattn_forward_f16, kn_linattn_gated_bf16_work_bytes,
        kn_linattn_gated_f16_work_bytes, kn_linattn_gated_forward_bf16,
        kn_linattn_gated_forward_f16,
    };
    use kernels_core::{bf16, f16};
    let (h, n, dk, dv, chunk) = (2usize, 150usize, 16usize, 12usize, 64usize);
    let shape = Shape {
        n_heads: h,
        len: n,
        dk,
        dv,
    };
    let mut p = Problem::new(shape, 70, true);
    // Gates from -0.05 to 0: memories long enough that the outputs grow with the
    // queries (the overflow check below).
    for g in &mut p.gates {
        *g = (*g / 100.0).max(-0.05);
    }
    let decay = [0.97f32, 1.0];
    // C signature shared by the four half forwards.
    type Forward = unsafe extern "C" fn(
        usize,
        usize,
        usize,
        usize,
        *const u16,
        *const u16,
        *const u16,
        *const f32,
        f32,
        *const f32,
        *mut u16,
        *mut f32,
        usize,
        *mut c_void,
        usize,
    ) -> i32;
    type Query = unsafe extern "C" fn(usize, usize, usize, usize, usize, *mut usize) -> i32;
    /// Name, gated, the forward, its query, rounding to the half type, widening.
    type Case = (
        &'static str,
        bool,
        Forward,
        Query,
        fn(f32) -> u16,
        fn(u16) -> f32,
    );
    let cases: [Case; 4] = [
        (
            "f16",
            false,
            kn_linattn_forward_f16,
            kn_linattn_f16_work_bytes,
            |x| f16::from_f32(x).to_bits(),
            |b| f16::from_bits(b).to_f32(),
        ),
        (
            "bf16",
            false,
            kn_linattn_forward_bf16,
            kn_linattn_bf16_work_bytes,
            |x| bf16::from_f32(x).to_bits(),
            |b| bf16::from_bits(b).to_f32(),
        ),
        (
            "gated f16",
            true,
            kn_linattn_gated_forward_f16,
            kn_linattn_gated_f16_work_bytes,
            |x| f16::from_f32(x).to_bits(),
            |b| f16::from_bits(b).to_f32(),
        ),
        (
            "gated bf16",
            true,
            kn_linattn_gated_forward_bf16,
            kn_linattn_gated_bf16_work_bytes,
            |x| bf16::from_f32(x).to_bits(),
            |b| bf16::from_bits(b).to_f32(),
        ),
    ];
    for (name, gated, forward_half, query, round, widen) in cases {
        let half = |x: &[f32]| x.iter().map(|&v| round(v)).collect::<Vec<u16>>();
        let (q, k, v) = (half(&p.q), half(&p.k), half(&p.v));
        let up = |x: &[u16]| x.iter().map(|&b| widen(b)).collect::<Vec<f32>>();
        let (uq, uk, uv) = (up(&q), up(&k), up(&v));
        let decay_arg = if gated { &p.gates[..] } else { &decay[..] };
        let upcast = Inputs {
            q: &uq,
            k: &uk,
            v: &uv,
            decay: if gated {
                Decay::Gates(&p.gates)
            } else {
                Decay::Heads(&decay)
            },
            ..p.inputs()
        };
        let (want, want_state) = forward::<Simd>(&upcast, chunk);
        let mut bytes = 0usize;
        // SAFETY: `bytes` is valid for one write.
        assert_eq!(unsafe { query(h, n, dk, dv, chunk, &mut bytes) }, KN_OK);
        let mut work = vec![0u8; bytes];
        let s0 = p.state_in.as_deref().unwrap();
        let run = |q: &[u16], out: &mut [u16], state: &mut [f32], work: &mut [u8]| {
            // SAFETY: every array has its documented length.
            unsafe {
                forward_half(
                    h,
                    n,
                    dk,
                    dv,
                    q.as_ptr(),
                    k.as_ptr(),
                    v.as_ptr(),
                    decay_arg.as_ptr(),
                    0.0,
                    s0.as_ptr(),
                    out.as_mut_ptr(),
                    state.as_mut_ptr(),
                    chunk,
                    work.as_mut_ptr().cast::<c_void>(),
                    work.len(),
                )
            }
        };
        let mut out = vec![0u16; h * n * dv];
        let mut state = vec![0.0f32; h * dk * dv];
        assert_eq!(run(&q, &mut out, &mut state, &mut work), KN_OK, "{name}");
        assert_eq!(out, half(&want), "{name}: outputs");
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&state), bits(&want_state), "{name}: final state");
        // A NaN and an infinity bit pattern: refused, nothing written.
        for bad in [round(f32::NAN), round(f32::INFINITY)] {
            let mut bq = q.clone();
            bq[77] = bad;
            let mut o = vec![0xAAAAu16; h * n * dv];
            let mut st = vec![7.0f32; h * dk * dv];
            assert_eq!(
                run(&bq, &mut o, &mut st, &mut work),
                KN_ERR_NON_FINITE,
                "{name}"
            );
            assert!(o.iter().all(|&x| x == 0xAAAA) && st.iter().all(|&x| x == 7.0));
        }
        // Outputs beyond the half range (f16: 65504): stored as infinities, reported.
        // Queries of 3e4 times the data's: outputs far beyond 65504 (bf16's range is
        // f32's, so there they stay finite).
        let big = half(&p.q.iter().map(|x| x * 3e4).collect::<Vec<_>>());
        let status = run(&big, &mut out, &mut state, &mut work);
        if name.contains("bf16") {
            assert_eq!(status, KN_OK, "{name}: bf16 has f32's range");
        } else {
            assert_eq!(status, KN_ERR_NUMERICAL, "{name}: overflow");
        }
    }
}
