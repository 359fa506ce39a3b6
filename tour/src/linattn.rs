//! Tour section and benchmark: chunked linear attention and the LASP-2 state scan.

use crate::Mode;
use crate::bench::seconds_per_call;
use crate::machine::Machine;
use crate::report::{Section, target_status};
use crate::svg::LineChart;
use kernels_core::Sequential;
use kernels_core::linattn::LinattnKernels;
use kernels_core::linattn::{self, ChunkDecays, Decay, Inputs, Scan, Seqs, Shape};
use kernels_core::{Dense, Primitives, Scalar, Strided, StridedMut, bf16};
use kernels_simd::Simd;
use kernels_tests::uniform;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// One built-in problem, f32.
struct Data {
    shape: Shape,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    decay: Vec<f32>,
    /// Log gates per head and token: each head's `ln decay` scaled by a factor in
    /// `[0, 2)` per token (data-dependent forgetting around the head's rate), and
    /// now and then a gate of -8 (a near reset).
    gates: Vec<f32>,
}

impl Data {
    fn new(shape: Shape, seed: u64) -> Data {
        let Shape {
            n_heads,
            len,
            dk,
            dv,
        } = shape;
        // A spread of memories: no decay, slow, medium and fast forgetting.
        let decay = [1.0, 0.999, 0.99, 0.9, 0.5]
            .iter()
            .cycle()
            .take(n_heads)
            .copied()
            .collect::<Vec<f32>>();
        let factors = uniform::<f32>(n_heads * len, seed + 3, 1.0);
        let gates = factors
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if i % 509 == 100 {
                    -8.0
                } else {
                    decay[i / len].ln() * (1.0 + f)
                }
            })
            .collect();
        Data {
            shape,
            q: uniform(n_heads * len * dk, seed, 1.0),
            k: uniform(n_heads * len * dk, seed + 1, 1.0),
            v: uniform(n_heads * len * dv, seed + 2, 1.0),
            decay,
            gates,
        }
    }

    /// The inputs with the gates in place of the constant decays.
    fn gated(&self) -> Inputs<'_, f32> {
        Inputs {
            decay: Decay::Gates(&self.gates),
            ..self.inputs()
        }
    }

    fn inputs(&self) -> Inputs<'_, f32> {
        Inputs {
            shape: self.shape,
            q: &self.q,
            k: &self.k,
            v: &self.v,
            decay: Decay::Heads(&self.decay),
            scale: 0.0,
            state_in: None,
        }
    }
}

/// The chunked forward with its own workspace: (out, final state).
fn forward<P: LinattnKernels<f32>>(inp: &Inputs<'_, f32>, chunk: usize) -> (Vec<f32>, Vec<f32>) {
    let shape = inp.shape;
    let bytes = work_bytes(shape, chunk);
    let mut work = vec![0u8; bytes];
    let mut out = vec![0.0; shape.n_heads * shape.len * shape.dv];
    let mut state = vec![0.0; shape.n_heads * shape.dk * shape.dv];
    let ok = linattn::forward::<f32, P>(
        &Sequential,
        inp,
        chunk,
        &mut out,
        Some(&mut state),
        &mut work,
    );
    if ok.is_err() {
        out.fill(f32::NAN);
    }
    (out, state)
}

/// Workspace for the forward pass with or without gates (the gated one is larger).
fn work_bytes(shape: Shape, chunk: usize) -> usize {
    linattn::gated_work_size::<f32>(shape, chunk).map_or(0, |w| w.bytes())
}

/// Preallocated outputs and workspace, so that timings measure the kernel alone.
struct Buffers {
    work: Vec<u8>,
    out: Vec<f32>,
    state: Vec<f32>,
}

impl Buffers {
    fn new(shape: Shape, chunk: usize) -> Buffers {
        let bytes = work_bytes(shape, chunk);
        Buffers {
            work: vec![0u8; bytes],
            out: vec![0.0; shape.n_heads * shape.len * shape.dv],
            state: vec![0.0; shape.n_heads * shape.dk * shape.dv],
        }
    }

    fn forward<P: LinattnKernels<f32>>(&mut self, inp: &Inputs<'_, f32>, chunk: usize) {
        let r = linattn::forward::<f32, P>(
            &Sequential,
            inp,
            chunk,
            &mut self.out,
            Some(&mut self.state),
            &mut self.work,
        );
        std::hint::black_box((r.is_ok(), &self.out));
    }

    fn recurrence<P: LinattnKernels<f32>>(&mut self, inp: &Inputs<'_, f32>) {
        let r = linattn::recurrence::<f32, P>(&Sequential, inp, &mut self.out, &mut self.state);
        std::hint::black_box((r.is_ok(), &self.out));
    }
}

/// The token-by-token recurrence: (out, final state).
fn recurrence<P: LinattnKernels<f32>>(inp: &Inputs<'_, f32>) -> (Vec<f32>, Vec<f32>) {
    let shape = inp.shape;
    let mut out = vec![0.0; shape.n_heads * shape.len * shape.dv];
    let mut state = vec![0.0; shape.n_heads * shape.dk * shape.dv];
    if linattn::recurrence::<f32, P>(&Sequential, inp, &mut out, &mut state).is_err() {
        out.fill(f32::NAN);
    }
    (out, state)
}

/// The FLOPs the chunked form must do (the causal half of each score block only):
/// per head and chunk of `l` tokens, `4 l dk dv` (inter-chunk product and state
/// update) and `l (l + 1) (dk + dv)` (masked scores and their product with V). The
/// recurrence does `4 len dk dv`, the same to within the score term.
fn flops(shape: Shape, chunk: usize) -> f64 {
    let (dk, dv) = (shape.dk as f64, shape.dv as f64);
    let mut total = 0.0;
    let mut t0 = 0;
    while t0 < shape.len {
        let l = chunk.min(shape.len - t0) as f64;
        total += 4.0 * l * dk * dv + l * (l + 1.0) * (dk + dv);
        t0 += chunk;
    }
    total * shape.n_heads as f64
}

/// `max |a - b| / max |b|`: the error relative to the output's scale.
fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, &x| m.max(f64::from(x).abs()));
    let diff = a.iter().zip(b).fold(0.0f64, |m, (&x, &y)| {
        let d = (f64::from(x) - f64::from(y)).abs();
        if d.is_nan() { f64::INFINITY } else { m.max(d) }
    });
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    diff / scale.max(f64::MIN_POSITIVE)
}

const TOL: f64 = 1e-4;

fn verdict(ok: bool) -> String {
    if ok { "ok".into() } else { "FAIL".into() }
}

/// Splits the sequence into `parts` slices, computes each slice's state, scans them
/// and finishes every slice from its prefix, as MPI ranks would: (out, final state).
fn split_run(d: &Data, parts: usize) -> (Vec<f32>, Vec<f32>) {
    let Shape {
        n_heads: h,
        len: n,
        dk,
        dv,
    } = d.shape;
    let bounds: Vec<usize> = (0..=parts).map(|r| r * n / parts).collect();
    let lens: Vec<usize> = bounds.windows(2).map(|w| w[1] - w[0]).collect();
    let slice = |x: &[f32], w: usize, t0: usize, l: usize| -> Vec<f32> {
        (0..h)
            .flat_map(|hh| x[(hh * n + t0) * w..(hh * n + t0 + l) * w].to_vec())
            .collect()
    };
    let sl = h * dk * dv;
    let decay = Decay::Heads(&d.decay);
    let mut states = vec![0.0f32; parts * sl];
    for (r, (&t0, &l)) in bounds.iter().zip(&lens).enumerate() {
        let shape = Shape { len: l, ..d.shape };
        let (k, v) = (slice(&d.k, dk, t0, l), slice(&d.v, dv, t0, l));
        let st = &mut states[r * sl..(r + 1) * sl];
        if linattn::chunk_state::<f32, Simd>(&Sequential, shape, &k, &v, decay, st, None).is_err() {
            st.fill(f32::NAN);
        }
    }
    let mut prefix = vec![0.0f32; states.len()];
    let scan = Scan {
        n_heads: h,
        dk,
        dv,
        chunks: ChunkDecays::Lengths {
            chunk_lens: &lens,
            decay: Some(&d.decay),
        },
        states: &states,
    };
    if linattn::state_scan::<f32, Simd>(&scan, &mut prefix).is_err() {
        prefix.fill(f32::NAN);
    }
    let mut out = vec![0.0f32; h * n * dv];
    let mut last = Vec::new();
    for (r, (&t0, &l)) in bounds.iter().zip(&lens).enumerate() {
        let (q, k, v) = (
            slice(&d.q, dk, t0, l),
            slice(&d.k, dk, t0, l),
            slice(&d.v, dv, t0, l),
        );
        let inp = Inputs {
            shape: Shape { len: l, ..d.shape },
            q: &q,
            k: &k,
            v: &v,
            decay,
            scale: 0.0,
            state_in: Some(&prefix[r * sl..(r + 1) * sl]),
        };
        let (o, s) = forward::<Simd>(&inp, 0);
        for hh in 0..h {
            out[(hh * n + t0) * dv..(hh * n + t0 + l) * dv]
                .copy_from_slice(&o[hh * l * dv..(hh + 1) * l * dv]);
        }
        last = s;
    }
    (out, last)
}

/// Causal softmax attention, one query row at a time (scores by `gemv`, weighted sum
/// of values by `gemv_t`): the plain quadratic reference the plot compares with. It is
/// this section's own simple implementation, not a tuned flash-attention kernel.
fn softmax_attention(q: &[f32], k: &[f32], v: &[f32], len: usize, d: usize, out: &mut [f32]) {
    let scale = 1.0 / (d as f32).sqrt();
    let mut scores = vec![0.0f32; len];
    for t in 0..len {
        let (Ok(keys), Ok(values)) = (
            Dense::new(&k[..(t + 1) * d], t + 1, d),
            Dense::new(&v[..(t + 1) * d], t + 1, d),
        ) else {
            return;
        };
        let s = &mut scores[..=t];
        <Simd as Primitives<f32>>::gemv(keys, &q[t * d..(t + 1) * d], s);
        let m = <Simd as Primitives<f32>>::max(s) * scale;
        for x in s.iter_mut() {
            *x = (*x * scale - m).exp();
        }
        let total = <Simd as Primitives<f32>>::sum(s);
        let o = &mut out[t * d..(t + 1) * d];
        <Simd as Primitives<f32>>::gemv_t(values, s, o);
        <Simd as Primitives<f32>>::scale(1.0 / total, o);
    }
}

/// Runs the tour section.
pub fn run(mode: Mode, _machine: &Machine) -> Section {
    let mut section = Section::start(
        "Linear attention and the LASP-2 state scan",
        "Causal linear attention with a per-head decay (1, 0.999, 0.99, 0.9 across the \
         heads), computed in chunks of 64 tokens: masked `Q K^T` times `V` inside a \
         chunk, `Q` times the carried state across chunks. Outputs and final states \
         are checked against the token-by-token recurrence run with the scalar \
         primitives (error = max abs difference / max abs value, limit 1e-4). The \
         split row cuts the sequence into 4 uneven slices, computes each slice's \
         state, scans them (LASP-2) and finishes each slice from its prefix, as MPI \
         ranks do, and compares with the unsplit run. The gated rows give every token \
         its own log gate (around each head's rate, now and then -8); the varlen row \
         packs 3 sequences into one call and compares with separate calls bit for \
         bit. GFLOP/s counts the causal work of the chunked form.",
        &["what", "size", "ms", "GFLOP/s", "error", "check"],
    );
    let (len, budget) = match mode {
        Mode::Full => (2048, Duration::from_millis(400)),
        Mode::Quick => (256, Duration::from_millis(30)),
    };
    let shape = Shape {
        n_heads: 4,
        len,
        dk: 64,
        dv: 64,
    };
    let size = format!("{} heads x {} tokens, dk = dv = 64", shape.n_heads, len);
    let d = Data::new(shape, 11);
    let inp = d.inputs();
    let (want, want_state) = recurrence::<Scalar>(&inp);
    let gflops = flops(shape, 64) / 1e9;
    let row = |section: &mut Section, what: &str, secs: Option<f64>, err: f64| {
        let ok = err <= TOL;
        section.ok &= ok;
        section.row(vec![
            what.into(),
            size.clone(),
            secs.map_or("-".into(), |s| format!("{:.2}", s * 1e3)),
            secs.map_or("-".into(), |s| format!("{:.1}", gflops / s)),
            format!("{err:.1e}"),
            verdict(ok),
        ]);
    };
    let (o, s) = forward::<Simd>(&inp, 0);
    let mut buf = Buffers::new(shape, 0);
    let t = seconds_per_call(budget, || buf.forward::<Simd>(&inp, 0));
    row(
        &mut section,
        "chunked (simd) vs recurrence: outputs",
        Some(t),
        rel_err(&o, &want),
    );
    row(
        &mut section,
        "chunked (simd) vs recurrence: final state",
        None,
        rel_err(&s, &want_state),
    );
    let (o, _) = forward::<Scalar>(&inp, 0);
    let t = seconds_per_call(budget, || buf.forward::<Scalar>(&inp, 0));
    row(
        &mut section,
        "chunked (scalar) vs recurrence: outputs",
        Some(t),
        rel_err(&o, &want),
    );
    let (o, _) = recurrence::<Simd>(&inp);
    let t = seconds_per_call(budget, || buf.recurrence::<Simd>(&inp));
    row(
        &mut section,
        "recurrence (simd) vs recurrence (scalar)",
        Some(t),
        rel_err(&o, &want),
    );
    let gated = d.gated();
    let (want_gated, want_gated_state) = recurrence::<Scalar>(&gated);
    let (o, s) = forward::<Simd>(&gated, 0);
    let t = seconds_per_call(budget, || buf.forward::<Simd>(&gated, 0));
    row(
        &mut section,
        "gated chunked (simd) vs gated recurrence: outputs",
        Some(t),
        rel_err(&o, &want_gated),
    );
    row(
        &mut section,
        "gated chunked (simd) vs gated recurrence: final state",
        None,
        rel_err(&s, &want_gated_state),
    );
    let bits = varlen_vs_separate(&d);
    section.ok &= bits;
    section.row(vec![
        "varlen: 3 packed sequences (gated) vs 3 separate calls".into(),
        size.clone(),
        "-".into(),
        "-".into(),
        if bits { "bit for bit" } else { "bits differ" }.into(),
        verdict(bits),
    ]);
    let (o, s) = split_run(&d, 4);
    row(
        &mut section,
        "4 slices: states, scan, finish vs recurrence: outputs",
        None,
        rel_err(&o, &want),
    );
    row(
        &mut section,
        "4 slices: final state vs recurrence",
        None,
        rel_err(&s, &want_state),
    );

    let lengths: &[usize] = match mode {
        Mode::Full => &[32, 64, 128, 256, 512, 1024, 2048, 4096],
        Mode::Quick => &[32, 128, 512],
    };
    let (linear, softmax) = scaling(lengths, budget);
    for (&(n, tl), &(_, ts)) in linear.iter().zip(&softmax) {
        section.row(vec![
            format!(
                "one head, d = 64: linear {:.3} ms, softmax {:.3} ms",
                tl * 1e3,
                ts * 1e3
            ),
            format!("{n} tokens"),
            "-".into(),
            "-".into(),
            format!("softmax / linear = {:.2}x", ts / tl),
            "-".into(),
        ]);
    }
    let chart = LineChart {
        title: "Time against sequence length, one head, d = 64",
        x_label: "tokens",
        y_label: "seconds",
        log_x: true,
        log_y: true,
        series: vec![
            ("linear attention (chunked, simd)".into(), linear),
            ("softmax attention (plain reference)".into(), softmax),
        ],
        bands: Vec::new(),
        reference: None,
    };
    section.plots.push((
        "linattn-scaling.svg".into(),
        chart.render(),
        "Linear attention grows linearly with the sequence, causal softmax attention \
         quadratically (softmax: this section's own row-at-a-time reference)"
            .into(),
    ));
    section
}

/// The gated forward on the data cut into 3 uneven sequences packed into one varlen
/// call, against a separate call on each: whether every output and final state has
/// the same bits.
fn varlen_vs_separate(d: &Data) -> bool {
    let Shape {
        n_heads: h,
        len: n,
        dk,
        dv,
    } = d.shape;
    let cu = [0, n / 5, n / 5 + n / 2, n];
    let sl = h * dk * dv;
    let mut work = vec![0u8; work_bytes(d.shape, 0)];
    let mut out = vec![0.0f32; h * n * dv];
    let mut states = vec![0.0f32; 3 * sl];
    let seqs = Seqs { cu_seqlens: &cu };
    let packed = linattn::forward_varlen::<f32, Simd>(
        &Sequential,
        &d.gated(),
        seqs,
        0,
        &mut out,
        Some(&mut states),
        &mut work,
    );
    if packed.is_err() {
        return false;
    }
    let piece = |x: &[f32], w: usize, s: usize| -> Vec<f32> {
        (0..h)
            .flat_map(|hh| x[(hh * n + cu[s]) * w..(hh * n + cu[s + 1]) * w].to_vec())
            .collect()
    };
    let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    (0..3).all(|s| {
        let (q, k, v, g) = (
            piece(&d.q, dk, s),
            piece(&d.k, dk, s),
            piece(&d.v, dv, s),
            piece(&d.gates, 1, s),
        );
        let alone = Inputs {
            shape: Shape {
                len: cu[s + 1] - cu[s],
                ..d.shape
            },
            q: &q,
            k: &k,
            v: &v,
            decay: Decay::Gates(&g),
            scale: 0.0,
            state_in: None,
        };
        let (o, st) = forward::<Simd>(&alone, 0);
        bits(&piece(&out, dv, s)) == bits(&o) && bits(&states[s * sl..(s + 1) * sl]) == bits(&st)
    })
}

/// Seconds per call of linear and of softmax attention at each length.
type Series = Vec<(f64, f64)>;
fn scaling(lengths: &[usize], budget: Duration) -> (Series, Series) {
    let (mut linear, mut softmax) = (Vec::new(), Vec::new());
    for &n in lengths {
        let shape = Shape {
            n_heads: 1,
            len: n,
            dk: 64,
            dv: 64,
        };
        let d = Data::new(shape, 3);
        let inp = Inputs {
            decay: Decay::None,
            ..d.inputs()
        };
        let mut buf = Buffers::new(shape, 0);
        let tl = seconds_per_call(budget, || buf.forward::<Simd>(&inp, 0));
        let mut out = vec![0.0f32; n * 64];
        let ts = seconds_per_call(budget, || {
            softmax_attention(&d.q, &d.k, &d.v, n, 64, &mut out);
            std::hint::black_box(&out);
        });
        linear.push((n as f64, tl));
        softmax.push((n as f64, ts));
    }
    (linear, softmax)
}

/// The benchmark of the issue: len 4096, 8 heads, dk = dv = 128, chunk 64, against
/// numpy's sgemm rate, the plain recurrence and numpy's chunked computation.
pub fn bench(_machine: &Machine) -> Section {
    let mut section = Section::start(
        "Linear attention benchmark",
        "Forward pass at len 4096, 8 heads, dk = dv = 128, chunk 64, single thread, \
         against numpy's single-thread sgemm rate (2048^3, one BLAS thread, measured in \
         this run), the plain token-by-token recurrence (same SIMD primitives) and \
         numpy doing the same chunked computation (bench/linattn_numpy.py). GFLOP/s \
         counts the causal work of the chunked form for every method.",
        &["what", "ms", "GFLOP/s", "note"],
    );
    let (shape, chunk) = (
        Shape {
            n_heads: 8,
            len: 4096,
            dk: 128,
            dv: 128,
        },
        64,
    );
    let d = Data::new(shape, 21);
    let inp = d.inputs();
    let work = flops(shape, chunk);
    let budget = Duration::from_secs(2);
    let (ours_out, _) = forward::<Simd>(&inp, chunk);
    let mut buf = Buffers::new(shape, chunk);
    let t_ours = seconds_per_call(budget, || buf.forward::<Simd>(&inp, chunk));

    let (rec_out, _) = recurrence::<Simd>(&inp);
    let t_rec = seconds_per_call(budget, || buf.recurrence::<Simd>(&inp));
    let agree = rel_err(&ours_out, &rec_out);
    section.ok &= agree <= TOL;
    let gated = d.gated();
    let (gated_out, _) = forward::<Simd>(&gated, chunk);
    let t_gated = seconds_per_call(budget, || buf.forward::<Simd>(&gated, chunk));
    let (gated_rec, _) = recurrence::<Simd>(&gated);
    let t_gated_rec = seconds_per_call(budget, || buf.recurrence::<Simd>(&gated));
    let gated_agree = rel_err(&gated_out, &gated_rec);
    section.ok &= gated_agree <= TOL;
    let t_scalar = seconds_per_call(Duration::from_millis(500), || {
        buf.forward::<Scalar>(&inp, chunk)
    });
    let gf = |t: f64| work / t / 1e9;
    section.row(vec![
        format!(
            "chunked forward (simd, gemm at {})",
            kernels_simd::isa::active().name()
        ),
        format!("{:.1}", t_ours * 1e3),
        format!("{:.1}", gf(t_ours)),
        format!(
            "vs recurrence: error {agree:.1e} ({})",
            verdict(agree <= TOL)
        ),
    ]);
    section.row(vec![
        "gated chunked forward (simd): a log gate per head and token".into(),
        format!("{:.1}", t_gated * 1e3),
        format!("{:.1}", gf(t_gated)),
        format!(
            "vs gated recurrence: error {gated_agree:.1e} ({}); {:.2}x the constant decay's time",
            verdict(gated_agree <= TOL),
            t_gated / t_ours
        ),
    ]);
    // Issue 19: bf16 tokens (states f32), converted a chunk at a time.
    let t_bf16 = bf16_forward_seconds(&d, chunk, budget);
    section.row(vec![
        "chunked forward on bf16 q, k, v, out (simd)".into(),
        format!("{:.1}", t_bf16 * 1e3),
        format!("{:.1}", gf(t_bf16)),
        format!("{:.2}x the f32 forward's time", t_bf16 / t_ours),
    ]);
    section.row(vec![
        "gated plain recurrence (simd)".into(),
        format!("{:.1}", t_gated_rec * 1e3),
        format!("{:.1}", gf(t_gated_rec)),
        format!("gated chunked is {:.1}x faster", t_gated_rec / t_gated),
    ]);
    section.row(vec![
        "chunked forward (scalar primitives)".into(),
        format!("{:.1}", t_scalar * 1e3),
        format!("{:.1}", gf(t_scalar)),
        format!("simd is {:.1}x faster", t_scalar / t_ours),
    ]);
    section.row(vec![
        "plain recurrence (simd)".into(),
        format!("{:.1}", t_rec * 1e3),
        format!("{:.1}", gf(t_rec)),
        format!("chunked is {:.1}x faster", t_rec / t_ours),
    ]);
    for (m, k, n) in [(64, 128, 128), (128, 64, 128), (16, 128, 64), (16, 64, 128)] {
        let t = gemm_seconds(m, k, n);
        section.row(vec![
            format!("gemm primitive {m}x{k} times {k}x{n} (a shape of one chunk)"),
            format!("{:.4}", t * 1e3),
            format!("{:.1}", 2.0 * (m * k * n) as f64 / t / 1e9),
            "the register-tiled product alone, data in L1/L2".into(),
        ]);
    }
    let peer = numpy_peer(&d, chunk);
    match &peer {
        Ok(p) => {
            let err = rel_err(&ours_out, &p.out);
            section.ok &= err <= TOL;
            section.row(vec![
                format!("numpy sgemm 2048^3, one thread ({})", p.version),
                "-".into(),
                format!("{:.1}", p.sgemm / 1e9),
                "the yardstick".into(),
            ]);
            section.row(vec![
                "numpy, same chunked computation".into(),
                format!("{:.1}", p.chunked * 1e3),
                format!("{:.1}", gf(p.chunked)),
                format!(
                    "vs ours: error {err:.1e} ({}); ours is {:.2}x faster",
                    verdict(err <= TOL),
                    p.chunked / t_ours
                ),
            ]);
            let gerr = rel_err(&gated_out, &p.gated_out);
            section.ok &= gerr <= TOL;
            section.row(vec![
                "numpy, gated chunked computation (cumulative log gates)".into(),
                format!("{:.1}", p.gated * 1e3),
                format!("{:.1}", gf(p.gated)),
                format!(
                    "vs ours: error {gerr:.1e} ({}); ours is {:.2}x faster",
                    verdict(gerr <= TOL),
                    p.gated / t_gated
                ),
            ]);
        }
        Err(why) => {
            println!("SKIPPED: numpy peers ({why})");
            section.row(vec![
                "numpy peers".into(),
                "-".into(),
                "-".into(),
                format!("SKIPPED: {why}"),
            ]);
        }
    }
    match &peer {
        Ok(p) => {
            let frac = gf(t_ours) * 1e9 / p.sgemm;
            section.row(vec![
                "target: >= 40% of numpy's single-thread sgemm rate".into(),
                "-".into(),
                "-".into(),
                format!(
                    "{} ({:.0}% of {:.1} GFLOP/s)",
                    target_status(frac >= 0.4),
                    frac * 100.0,
                    p.sgemm / 1e9
                ),
            ]);
            let gfrac = gf(t_gated) * 1e9 / p.sgemm;
            section.row(vec![
                "target: gated forward >= 40% of numpy's single-thread sgemm rate".into(),
                "-".into(),
                "-".into(),
                format!(
                    "{} ({:.0}% of {:.1} GFLOP/s)",
                    target_status(gfrac >= 0.4),
                    gfrac * 100.0,
                    p.sgemm / 1e9
                ),
            ]);
            section.row(vec![
                "target: faster than numpy's chunked computation".into(),
                "-".into(),
                "-".into(),
                format!(
                    "{} ({:.2}x)",
                    target_status(t_ours < p.chunked),
                    p.chunked / t_ours
                ),
            ]);
        }
        Err(_) => section.row(vec![
            "targets against numpy".into(),
            "-".into(),
            "-".into(),
            "SKIPPED: no numpy peer in this run".into(),
        ]),
    }
    section.row(vec![
        "target: faster than the plain recurrence".into(),
        "-".into(),
        "-".into(),
        format!("{} ({:.1}x)", target_status(t_ours < t_rec), t_rec / t_ours),
    ]);
    section
}

/// Seconds per call of the forward pass on the data rounded to bf16.
fn bf16_forward_seconds(d: &Data, chunk: usize, budget: Duration) -> f64 {
    let round = |x: &[f32]| x.iter().map(|&v| bf16::from_f32(v)).collect::<Vec<_>>();
    let (q, k, v) = (round(&d.q), round(&d.k), round(&d.v));
    let inp = Inputs {
        shape: d.shape,
        q: &q,
        k: &k,
        v: &v,
        decay: Decay::Heads(&d.decay),
        scale: 0.0,
        state_in: None,
    };
    let bytes = linattn::stored_work_size::<f32, bf16>(d.shape, chunk, false);
    let mut work = vec![0u8; bytes.map_or(0, |w| w.bytes())];
    let mut out = vec![bf16::ZERO; q.len() / d.shape.dk * d.shape.dv];
    seconds_per_call(budget, || {
        let r = linattn::forward_stored::<f32, bf16, Simd>(
            &Sequential,
            &inp,
            chunk,
            &mut out,
            None,
            &mut work,
        );
        std::hint::black_box((r.is_ok(), &out));
    })
}

/// What the numpy script measured.
struct Peer {
    version: String,
    sgemm: f64,
    chunked: f64,
    out: Vec<f32>,
    gated: f64,
    gated_out: Vec<f32>,
}

fn write_f32(path: &Path, x: &[f32]) -> std::io::Result<()> {
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes)
}

/// Runs bench/linattn_numpy.py with the interpreter in KN_PYTHON on the same data.
fn numpy_peer(d: &Data, chunk: usize) -> Result<Peer, String> {
    let python = std::env::var("KN_PYTHON")
        .map_err(|_| "KN_PYTHON is not set (run ./scripts/bench.sh)".to_string())?;
    let dir = Path::new("target/bench-data/linattn");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for (name, x) in [("q", &d.q), ("k", &d.k), ("v", &d.v), ("g", &d.gates)] {
        write_f32(&dir.join(format!("{name}.f32")), x).map_err(|e| e.to_string())?;
    }
    let s = d.shape;
    let scale = 1.0 / (s.dk as f32).sqrt();
    let decay: Vec<String> = d.decay.iter().map(|g| format!("{g:e}")).collect();
    let output = Command::new(&python)
        .arg("bench/linattn_numpy.py")
        .arg(dir)
        .args([s.n_heads, s.len, s.dk, s.dv, chunk].map(|x| x.to_string()))
        .arg(format!("{scale:e}"))
        .arg(decay.join(","))
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("OMP_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .output()
        .map_err(|e| format!("could not run {python}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "numpy script failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let value = |key: &str| -> Result<f64, String> {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(str::trim))
            .and_then(|v| v.parse().ok())
            .ok_or(format!("no {key} in the numpy output"))
    };
    let read = |name: &str| -> Result<Vec<f32>, String> {
        let bytes = std::fs::read(dir.join(name)).map_err(|e| e.to_string())?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    };
    Ok(Peer {
        version: text.lines().next().unwrap_or("numpy").to_string(),
        sgemm: value("sgemm_flops ")?,
        chunked: value("chunked_seconds ")?,
        out: read("out_numpy.f32")?,
        gated: value("gated_seconds ")?,
        gated_out: read("out_gated_numpy.f32")?,
    })
}

/// Seconds per `C += A B` of the SIMD gemm primitive at one shape.
fn gemm_seconds(m: usize, k: usize, n: usize) -> f64 {
    let a = uniform::<f32>(m * k, 1, 1.0);
    let b = uniform::<f32>(k * n, 2, 1.0);
    let mut c = vec![0.0f32; m * n];
    let (Ok(av), Ok(bv)) = (Strided::rows(&a, m, k, k), Strided::rows(&b, k, n, n)) else {
        return f64::NAN;
    };
    seconds_per_call(Duration::from_millis(300), || {
        if let Ok(cv) = StridedMut::rows(&mut c, m, n, n) {
            <Simd as Primitives<f32>>::gemm(1e-3, av, None, bv, cv);
        }
    })
}
