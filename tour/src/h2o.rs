//! Tour section and benchmark: H2O attention (prefill with heavy-hitter masking and
//! decode steps on a fixed-budget cache).

use crate::Mode;
use crate::bench::seconds_per_call;
use crate::machine::Machine;
use crate::report::{Section, target_status};
use crate::svg::LineChart;
use kernels_core::Scalar;
use kernels_core::Sequential;
use kernels_core::bf16;
use kernels_core::h2o::H2oKernels;
use kernels_core::h2o::{self, H2oCache, H2oOpts, KvElement};
use kernels_simd::Simd;
use kernels_tests::uniform;
use std::time::Duration;

/// A prompt: `[heads][seq][d]` queries, keys and values (one kv head per head).
struct Prompt {
    heads: usize,
    seq: usize,
    d: usize,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
}

impl Prompt {
    /// Random data with planted heavy hitters: every 37th token's key and every query
    /// share a direction, so those tokens draw a large share of attention.
    fn planted(heads: usize, seq: usize, d: usize, seed: u64) -> Prompt {
        let mut q = uniform::<f32>(heads * seq * d, seed, 1.0);
        let mut k = uniform::<f32>(heads * seq * d, seed + 1, 1.0);
        let v = uniform::<f32>(heads * seq * d, seed + 2, 1.0);
        let u: Vec<f32> = uniform::<f32>(d, seed + 3, 1.0)
            .iter()
            .map(|x| if *x < 0.0 { -0.7 } else { 0.7 })
            .collect();
        for (i, row) in q.chunks_exact_mut(d).enumerate() {
            let hot = (i % seq) % 37 == 3;
            for (x, &ui) in row.iter_mut().zip(&u) {
                *x += ui;
            }
            let krow = &mut k[i * d..(i + 1) * d];
            if hot {
                for (x, &ui) in krow.iter_mut().zip(&u) {
                    *x += 2.0 * ui;
                }
            }
        }
        Prompt {
            heads,
            seq,
            d,
            q,
            k,
            v,
        }
    }

    fn prefill<P: H2oKernels<f32>>(&self, opts: &H2oOpts, work: &mut [u8]) -> Vec<f32> {
        let mut out = vec![0.0; self.q.len()];
        h2o::prefill::<P>(
            &Sequential,
            self.heads,
            self.heads,
            self.seq,
            self.d,
            &self.q,
            &self.k,
            &self.v,
            opts,
            &mut out,
            None,
            None,
            work,
        )
        .expect("tour data is valid");
        out
    }

    /// The prompt rounded to `S` (the tokens a half-precision model holds).
    fn stored<S: KvElement>(&self) -> [Vec<S>; 3] {
        [&self.q, &self.k, &self.v].map(|x| x.iter().map(|&v| S::from_f32(v)).collect())
    }

    /// Prefill on tokens stored as `S` (`tokens` from [`stored`](Self::stored)).
    fn prefill_stored<S: KvElement>(
        &self,
        tokens: &[Vec<S>; 3],
        opts: &H2oOpts,
        out: &mut [S],
        work: &mut [u8],
    ) {
        let [q, k, v] = tokens;
        let (h, seq, d) = (self.heads, self.seq, self.d);
        h2o::prefill_stored::<Simd, S>(
            &Sequential,
            h,
            h,
            seq,
            d,
            q,
            k,
            v,
            opts,
            out,
            None,
            None,
            work,
        )
        .expect("tour data is valid");
    }

    fn work(&self) -> Vec<u8> {
        let bytes = h2o::prefill_work_size(self.heads, self.heads, self.seq, self.d)
            .expect("tour sizes are valid")
            .bytes();
        vec![0u8; bytes]
    }
}

/// Rounds of the benchmark's interleaved timings (each keeps its fastest).
const ROUNDS: usize = 3;

/// Budget split of the tour and benchmark: 4 sinks, the rest half heavy, half recent.
fn split(budget: usize) -> H2oOpts {
    let sink = 4.min(budget / 4);
    let heavy = (budget - sink) / 2;
    H2oOpts::default()
        .sink(sink)
        .heavy(heavy)
        .recent(budget - sink - heavy)
        .scale(0.0)
}

fn rel_error(a: &[f32], reference: &[f32]) -> f64 {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (&x, &r) in a.iter().zip(reference) {
        num += f64::from(x - r).powi(2);
        den += f64::from(r).powi(2);
    }
    (num / den.max(f64::MIN_POSITIVE)).sqrt()
}

/// The random-eviction baseline (not a library kernel): each row attends to a cache
/// of `budget` tokens that evicts a uniformly random older token when full.
fn random_eviction(p: &Prompt, budget: usize, seed: u64) -> Vec<f32> {
    let (seq, d) = (p.seq, p.d);
    let scale = 1.0 / (d as f64).sqrt();
    let mut out = vec![0.0f32; p.q.len()];
    let mut s = seed;
    for h in 0..p.heads {
        let mut kept: Vec<usize> = Vec::with_capacity(budget);
        for t in 0..seq {
            if kept.len() == budget {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                kept.swap_remove(((s >> 33) as usize) % budget);
            }
            kept.push(t);
            let q = &p.q[(h * seq + t) * d..][..d];
            let logits: Vec<f64> = kept
                .iter()
                .map(|&j| {
                    let k = &p.k[(h * seq + j) * d..][..d];
                    scale * q.iter().zip(k).map(|(a, b)| f64::from(a * b)).sum::<f64>()
                })
                .collect();
            let m = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
            let total: f64 = e.iter().sum();
            let o = &mut out[(h * seq + t) * d..][..d];
            for (&j, &w) in kept.iter().zip(&e) {
                for (oi, &vi) in o.iter_mut().zip(&p.v[(h * seq + j) * d..][..d]) {
                    *oi += (w / total * f64::from(vi)) as f32;
                }
            }
        }
    }
    out
}

/// Runs the section: checks, the quality figure, and timings at tour sizes.
pub fn run(mode: Mode, machine: &Machine) -> Section {
    let mut section = Section::start(
        "H2O attention",
        "Causal attention where each kv head keeps `sink + heavy + recent` tokens and \
         evicts the lowest accumulated attention score (heavy hitters, H2O). Checks: \
         full-budget prefill with the SIMD primitives against the scalar reference; \
         prefill against decode steps token by token (bit for bit). Then the output \
         error relative to full attention against the budget on data with planted heavy \
         hitters, for H2O, a recent-window-only cache and random eviction, and timings \
         (single thread).",
        &["what", "size", "result", "check"],
    );
    let (heads, seq, d, budget) = match mode {
        Mode::Full => (4, 1024, 64, Duration::from_millis(400)),
        Mode::Quick => (2, 192, 32, Duration::from_millis(30)),
    };
    let p = Prompt::planted(heads, seq, d, 42);
    let mut work = p.work();
    let full = H2oOpts::default().sink(0).heavy(0).recent(seq).scale(0.0);
    let reference = p.prefill::<Scalar>(&full, &mut work);
    let fast = p.prefill::<Simd>(&full, &mut work);
    let err = rel_error(&fast, &reference);
    let ok = err < 1e-5;
    section.ok &= ok;
    let size = format!("{heads} heads, seq {seq}, d {d}");
    section.row(vec![
        "prefill, full budget: SIMD vs scalar".into(),
        size.clone(),
        format!("relative error {err:.1e}"),
        if ok {
            "ok (< 1e-5)".into()
        } else {
            "FAIL".into()
        },
    ]);

    let fifth = split(seq / 5);
    let pre = p.prefill::<Simd>(&fifth, &mut work);
    // Prefill runs blocks of rows through matrix products, decode one row with dot
    // products: the same rule, outputs equal to rounding (a different kept set would
    // show as a large difference).
    let steps = decode_prompt(&p, &fifth);
    let err = rel_error(&pre, &steps);
    let ok = err < 1e-5;
    section.ok &= ok;
    section.row(vec![
        "prefill vs decode steps, 20% budget".into(),
        size.clone(),
        format!("relative difference {err:.1e}"),
        if ok {
            "ok (< 1e-5)".into()
        } else {
            "FAIL".into()
        },
    ]);

    // Quality against the budget.
    let percents = [5.0, 10.0, 20.0, 30.0, 50.0, 75.0, 100.0];
    let mut series = [
        ("H2O (4 sinks, heavy = recent)".to_string(), Vec::new()),
        ("recent window only".to_string(), Vec::new()),
        ("random eviction".to_string(), Vec::new()),
    ];
    for &pc in &percents {
        let b = ((seq as f64 * pc / 100.0).round() as usize).max(2);
        let h2o_err = rel_error(&p.prefill::<Simd>(&split(b), &mut work), &fast);
        let window = H2oOpts::default().sink(0).heavy(0).recent(b).scale(0.0);
        let window_err = rel_error(&p.prefill::<Simd>(&window, &mut work), &fast);
        let random_err = rel_error(&random_eviction(&p, b, 7), &fast);
        for (s, e) in series.iter_mut().zip([h2o_err, window_err, random_err]) {
            s.1.push(e);
        }
        section.row(vec![
            format!("error vs full attention, budget {pc}%"),
            size.clone(),
            format!("H2O {h2o_err:.3}, recent-only {window_err:.3}, random {random_err:.3}"),
            String::new(),
        ]);
    }
    // H2O must beat both baselines at 20% on planted data, the point of the method.
    let at20 = 2;
    let ok = series[0].1[at20] < series[1].1[at20] && series[0].1[at20] < series[2].1[at20];
    section.ok &= ok;
    section.row(vec![
        "H2O beats recent-only and random at 20%".into(),
        size.clone(),
        format!(
            "{:.3} vs {:.3} and {:.3}",
            series[0].1[at20], series[1].1[at20], series[2].1[at20]
        ),
        if ok { "ok".into() } else { "FAIL".into() },
    ]);
    let chart = LineChart {
        title: &format!("Output error relative to full attention ({size}, planted heavy hitters)"),
        x_label: "budget (% of the prompt)",
        y_label: "relative error ||o - o_full|| / ||o_full||",
        log_x: false,
        log_y: false,
        series: series
            .iter()
            .map(|(name, errors)| {
                let points = percents.iter().copied().zip(errors.iter().copied());
                (name.clone(), points.collect())
            })
            .collect(),
        bands: Vec::new(),
        reference: None,
    };
    section.plots.push((
        "h2o-quality.svg".into(),
        chart.render(),
        "H2O output error against the budget, with recent-only and random eviction".into(),
    ));

    // Timings at tour size.
    for (label, opts) in [("full budget", full), ("20% budget", fifth)] {
        let ts = seconds_per_call(budget, || {
            std::hint::black_box(p.prefill::<Scalar>(&opts, &mut work));
        });
        let tv = seconds_per_call(budget, || {
            std::hint::black_box(p.prefill::<Simd>(&opts, &mut work));
        });
        section.row(vec![
            format!("prefill, {label}: scalar / SIMD"),
            size.clone(),
            format!("{:.2} ms / {:.2} ms ({:.1}x)", ts * 1e3, tv * 1e3, ts / tv),
            String::new(),
        ]);
    }
    let ctx = match mode {
        Mode::Full => 4096,
        Mode::Quick => 512,
    };
    let (t, gbs) = time_decode::<f32>(heads, d, ctx, ctx, budget);
    section.row(vec![
        "decode step, full cache".into(),
        format!("{heads} heads, {ctx} tokens, d {d}"),
        format!(
            "{:.1} µs, {gbs:.1} GB/s on K+V ({:.0}% of stream {:.1} GB/s)",
            t * 1e6,
            100.0 * gbs / machine.stream_gbs(),
            machine.stream_gbs()
        ),
        String::new(),
    ]);
    section
}

/// Prefill's outputs computed by decode steps over the prompt instead.
fn decode_prompt(p: &Prompt, opts: &H2oOpts) -> Vec<f32> {
    let (n, seq, d) = (p.heads, p.seq, p.d);
    let b = opts.sink + opts.heavy + opts.recent;
    let (mut k, mut v) = (vec![0.0; n * b * d], vec![0.0; n * b * d]);
    let (mut sc, mut pos) = (vec![0.0; n * b], vec![0; n * b]);
    let mut cache = H2oCache::new(
        n,
        d,
        opts.sink,
        opts.heavy,
        opts.recent,
        &mut k,
        &mut v,
        &mut sc,
        &mut pos,
    )
    .expect("tour sizes are valid");
    let bytes = h2o::decode_work_size(n, d, b, n).expect("valid").bytes();
    let mut work = vec![0u8; bytes];
    let mut out = vec![0.0; p.q.len()];
    let mut step = vec![0.0; n * d];
    for t in 0..seq {
        let gather = |x: &[f32]| -> Vec<f32> {
            (0..n)
                .flat_map(|h| x[(h * seq + t) * d..][..d].to_vec())
                .collect()
        };
        let (q, kn, vn) = (gather(&p.q), gather(&p.k), gather(&p.v));
        h2o::decode::<Simd>(
            &Sequential,
            &mut cache,
            n,
            &q,
            &kn,
            &vn,
            0.0,
            &mut step,
            &mut work,
        )
        .expect("valid");
        for h in 0..n {
            out[(h * seq + t) * d..][..d].copy_from_slice(&step[h * d..][..d]);
        }
    }
    out
}

/// Seconds per decode step on a cache of `budget` slots already holding `budget`
/// tokens of a `ctx`-token context, keys and values stored as `S`, and the GB/s on the
/// K and V bytes it reads.
fn time_decode<S: KvElement>(
    heads: usize,
    d: usize,
    ctx: usize,
    budget: usize,
    time: Duration,
) -> (f64, f64) {
    let stored = |x: Vec<f32>| -> Vec<S> { x.into_iter().map(S::from_f32).collect() };
    let mut k = stored(uniform::<f32>(heads * budget * d, 1, 1.0));
    let mut v = stored(uniform::<f32>(heads * budget * d, 2, 1.0));
    let mut sc = vec![0.5f32; heads * budget];
    let mut pos: Vec<u64> = (0..heads * budget)
        .map(|i| (ctx - budget + i % budget) as u64)
        .collect();
    let opts = split(budget);
    let mut cache = H2oCache::from_parts(
        heads,
        d,
        opts.sink,
        opts.heavy,
        opts.recent,
        budget,
        ctx as u64,
        &mut k,
        &mut v,
        &mut sc,
        &mut pos,
    )
    .expect("tour cache is valid");
    let q = stored(uniform::<f32>(heads * d, 3, 1.0));
    let kn = stored(uniform::<f32>(heads * d, 4, 1.0));
    let mut out = vec![S::default(); heads * d];
    let mut work = vec![
        0u8;
        h2o::decode_stored_work_size::<S>(heads, d, budget, heads)
            .expect("valid")
            .bytes()
    ];
    let t = seconds_per_call(time, || {
        h2o::decode_stored::<Simd, S>(
            &Sequential,
            &mut cache,
            heads,
            &q,
            &kn,
            &kn,
            0.0,
            &mut out,
            &mut work,
        )
        .expect("valid");
    });
    let bytes = (2 * heads * budget * d * size_of::<S>()) as f64;
    (t, bytes / t / 1e9)
}

/// The benchmark of issue 5: prefill at seq 2048, 8 heads, d 128 against numpy causal
/// attention (one BLAS thread), and decode at 20% of a 16k context against a full one.
pub fn bench(machine: &Machine) -> Section {
    let mut section = Section::start(
        "H2O attention benchmark",
        "Single thread. Prefill: 8 heads (8 kv heads), seq 2048, d 128, planted data; \
         ours (SIMD primitives) against plain causal softmax attention in numpy (BLAS, \
         one thread) on the same data, numpy's time the median of 3 runs. Decode: one \
         step, 8 heads, d 128, a cache holding 20% of a 16k-token context against one \
         holding all of it, and the 20% cache stored as bf16 against f32; bandwidth \
         counts the K and V bytes each step reads. Each of our timings is the fastest \
         of 3 rounds in which the timings a ratio compares alternate.",
        &["what", "result", "target", "met"],
    );
    let (heads, seq, d) = (8, 2048, 128);
    let p = Prompt::planted(heads, seq, d, 5);
    let mut work = p.work();
    let full = H2oOpts::default().sink(0).heavy(0).recent(seq).scale(0.0);
    let time = Duration::from_secs(1);
    let ours_full = p.prefill::<Simd>(&full, &mut work);
    // Issue 19: bf16 prompts at full budget, no slower than f32 ones.
    let tokens = p.stored::<bf16>();
    let mut out_bf16 = vec![bf16::ZERO; p.q.len()];
    let mut work_bf16 = vec![
        0u8;
        h2o::prefill_stored_work_size::<bf16>(heads, heads, seq, d)
            .expect("valid")
            .bytes()
    ];
    // The timings compared in the ratios below are taken in interleaved rounds, each
    // keeping its fastest: on a shared machine a disturbance then costs one round of
    // one side, not the ratio.
    let (mut t_full, mut t_fifth, mut t_full_bf16) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
    for _ in 0..ROUNDS {
        t_full = t_full.min(seconds_per_call(time, || {
            std::hint::black_box(p.prefill::<Simd>(&full, &mut work));
        }));
        t_fifth = t_fifth.min(seconds_per_call(time, || {
            std::hint::black_box(p.prefill::<Simd>(&split(seq / 5), &mut work));
        }));
        t_full_bf16 = t_full_bf16.min(seconds_per_call(time, || {
            p.prefill_stored(&tokens, &full, &mut out_bf16, &mut work_bf16);
            std::hint::black_box(&out_bf16);
        }));
    }
    // Issue 19: eviction through the blocked path costs at most 1.2x no eviction.
    let ratio = t_fifth / t_full;
    section.row(vec![
        "prefill, 20% budget vs full budget".into(),
        format!(
            "{:.0} ms vs {:.0} ms = {ratio:.2}x the time",
            t_fifth * 1e3,
            t_full * 1e3
        ),
        "<= 1.2x".into(),
        target_status(ratio <= 1.2),
    ]);
    let ratio = t_full_bf16 / t_full;
    section.row(vec![
        "prefill, full budget: bf16 prompt vs f32 prompt".into(),
        format!(
            "{:.0} ms vs {:.0} ms = {ratio:.2}x the time",
            t_full_bf16 * 1e3,
            t_full * 1e3
        ),
        "<= 1x (no slower)".into(),
        target_status(ratio <= 1.0),
    ]);
    let peer = numpy_attention(&p);
    match &peer {
        Ok((t_np, out_np)) => {
            let err = rel_error(&ours_full, out_np);
            let ok = err < 1e-4;
            section.ok &= ok;
            section.row(vec![
                "prefill, full budget: ours vs numpy output".into(),
                format!("relative difference {err:.1e}"),
                "< 1e-4".into(),
                if ok { "yes".into() } else { "NO".into() },
            ]);
            let speedup = t_np / t_full;
            section.row(vec![
                "prefill, full budget: ours / numpy".into(),
                format!(
                    "{:.0} ms / {:.0} ms = {speedup:.2}x faster",
                    t_full * 1e3,
                    t_np * 1e3
                ),
                ">= 2x faster".into(),
                target_status(speedup >= 2.0),
            ]);
            section.row(vec![
                "prefill, 20% budget: ours / numpy (full)".into(),
                format!(
                    "{:.0} ms / {:.0} ms = {:.2}x",
                    t_fifth * 1e3,
                    t_np * 1e3,
                    t_np / t_fifth
                ),
                "(reported)".into(),
                String::new(),
            ]);
        }
        Err(why) => {
            println!("SKIPPED numpy peer: {why}");
            section.row(vec![
                "prefill vs numpy".into(),
                format!(
                    "SKIPPED: {why}; ours {:.0} ms full, {:.0} ms 20%",
                    t_full * 1e3,
                    t_fifth * 1e3
                ),
                ">= 2x faster".into(),
                "not measured".into(),
            ]);
        }
    }
    let ctx = 16 * 1024;
    let step = Duration::from_millis(700);
    let fastest = |a: (f64, f64), b: (f64, f64)| if b.0 < a.0 { b } else { a };
    let none = (f64::INFINITY, 0.0);
    let ((t20, gbs20), (t100, gbs100), (t20_bf16, gbs20_bf16)) =
        (0..ROUNDS).fold((none, none, none), |(a, b, c), _| {
            (
                fastest(a, time_decode::<f32>(heads, d, ctx, ctx / 5, step)),
                fastest(b, time_decode::<f32>(heads, d, ctx, ctx, step)),
                fastest(c, time_decode::<bf16>(heads, d, ctx, ctx / 5, step)),
            )
        });
    let speedup = t100 / t20;
    section.row(vec![
        "decode step, 20% cache vs full 16k cache".into(),
        format!(
            "{:.0} µs vs {:.0} µs = {speedup:.2}x faster",
            t20 * 1e6,
            t100 * 1e6
        ),
        ">= 4x faster".into(),
        target_status(speedup >= 4.0),
    ]);
    // Issue 19: a bf16 cache reads half the bytes of an f32 one.
    let half_speedup = t20 / t20_bf16;
    section.row(vec![
        "decode step, 20% of 16k: bf16 cache vs f32 cache".into(),
        format!(
            "{:.0} µs vs {:.0} µs = {half_speedup:.2}x faster",
            t20_bf16 * 1e6,
            t20 * 1e6
        ),
        ">= 1.7x faster".into(),
        target_status(half_speedup >= 1.7),
    ]);
    let stream = machine.stream_gbs();
    // A 20% cache (27 MB) may sit in a large last-level cache: then its figure exceeds
    // stream and says nothing about memory; the full cache (134 MB) is the honest one.
    // Issue 5's target for the f32 cache; issue 19's for the bf16 one.
    for (label, gbs, target) in [
        ("20% cache (may be cache-resident)", gbs20, 0.6),
        ("full cache", gbs100, 0.6),
        (
            "20% bf16 cache (13 MB; may be cache-resident)",
            gbs20_bf16,
            0.8,
        ),
    ] {
        let share = gbs / stream;
        section.row(vec![
            format!("decode step bandwidth, {label}"),
            format!(
                "{gbs:.1} GB/s = {:.0}% of stream ({stream:.1} GB/s)",
                share * 100.0
            ),
            format!(">= {:.0}% of stream", target * 100.0),
            target_status(share >= target),
        ]);
    }
    section
}

/// Runs the numpy peer on the prompt; returns its median seconds and its output.
fn numpy_attention(p: &Prompt) -> Result<(f64, Vec<f32>), String> {
    let python = std::env::var("KN_PYTHON")
        .map_err(|_| "KN_PYTHON not set (run scripts/bench.sh)".to_string())?;
    let dir = std::path::Path::new("target/bench-data/h2o");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for (name, x) in [("q", &p.q), ("k", &p.k), ("v", &p.v)] {
        let bytes: Vec<u8> = x.iter().flat_map(|f| f.to_le_bytes()).collect();
        std::fs::write(dir.join(format!("{name}.f32")), bytes).map_err(|e| e.to_string())?;
    }
    let out = std::process::Command::new(python)
        .arg("bench/h2o_peer.py")
        .arg(dir)
        .args([p.heads, p.seq, p.d, 3].map(|n| n.to_string()))
        .env("OMP_NUM_THREADS", "1")
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let secs: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("{e}"))?;
    let raw = std::fs::read(dir.join("out.f32")).map_err(|e| e.to_string())?;
    let values = raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok((secs, values))
}
