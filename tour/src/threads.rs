//! Tour section and benchmark: the kernels that run on the shared thread pool, at
//! 1, 2, ... threads up to every core, with the memory bandwidth at each count.
//!
//! Every row checks that the threaded result equals the sequential one bit for bit
//! (the determinism promise), and times the same call at each thread count.

use crate::Mode;
use crate::bench::seconds_per_call;
use crate::cg::Poisson;
use crate::machine::Machine;
use crate::report::Section;
use crate::svg::LineChart;
use kernels_core::cg::{CgOpts, Precond, cg, cg_work_size};
use kernels_core::h2o::{self, H2oCache, H2oOpts, decode_work_size};
use kernels_core::linattn::{self, Decay, Inputs, Shape};
use kernels_core::sinkhorn::{
    SinkhornOpts, scale, scale_work_size, sinkhorn_log, sinkhorn_work_size,
};
use kernels_core::sor::sor_grid2d;
use kernels_core::{Dense, Exec, Result, Sequential};
use kernels_simd::Simd;
use kernels_simd::threads::{self, Threads};
use kernels_tests::uniform;
use std::cell::RefCell;
use std::time::Duration;

/// Iterations per timed call of the iterative solvers: the time per iteration is the
/// difference between calls of this many and of a quarter as many, so the work
/// every call does once (validation, setup passes, the final cost pass, some of it on
/// the calling thread) cancels out.
const ITERATIONS: u32 = 40;

/// The thread counts measured: 1, 2, 4, ... up to every core (and every core itself).
fn counts(cores: usize) -> Vec<usize> {
    let mut c: Vec<usize> = std::iter::successors(Some(1), |&n| Some(n * 2))
        .take_while(|&n| n < cores)
        .collect();
    c.push(cores);
    c
}

pub fn run(mode: Mode, machine: &Machine) -> Section {
    let mut section = Section::start(
        "Threads",
        "The kernels on the shared thread pool (`kn_set_num_threads`, `KN_NUM_THREADS`) at \
         each thread count up to every core, against the same call on the calling thread \
         alone (`sequential`). `same bits` checks the threaded result against the \
         sequential one bit for bit: tiles are fixed by the problem size, so the thread \
         count never changes a result. `speedup` is sequential time / threaded time; for \
         the memory-bound triad it is the bandwidth ratio, the ceiling of every \
         memory-bound kernel. Each time is the fastest of 3 rounds that each time every \
         configuration once (a disturbance of the shared machine costs one round, not a \
         whole ratio).",
        &["kernel", "threads", "time (ms)", "speedup", "same bits"],
    );
    let before = threads::num_threads();
    let cores = machine.threads;
    // Per measurement; each is taken ROUNDS times (see `interleaved`).
    let budget = match mode {
        Mode::Full => Duration::from_millis(500),
        Mode::Quick => Duration::from_millis(10),
    };
    let mut series = Vec::new();

    // Triad: the bandwidth a memory-bound kernel can reach at each count.
    let len = match mode {
        Mode::Full => 1 << 24,
        Mode::Quick => 1 << 20,
    };
    let (b, c) = (vec![1.0f64; len], vec![2.0f64; len]);
    let a = vec![0.0f64; len];
    let mut points = Vec::new();
    let a = RefCell::new(a);
    let (t1, times) = interleaved(&counts(cores), |exec| {
        exec.triad(&mut a.borrow_mut(), &b, &c, budget)
    });
    for (&n, t) in counts(cores).iter().zip(times) {
        let gbs = 3.0 * 8.0 * len as f64 / t / 1e9;
        section.row(vec![
            format!("triad, {} MiB per array ({gbs:.1} GB/s)", (len * 8) >> 20),
            n.to_string(),
            format!("{:.3}", t * 1e3),
            format!("{:.2}x", t1 / t),
            "-".into(),
        ]);
        points.push((n as f64, t1 / t));
    }
    series.push(("triad bandwidth".to_string(), points));

    // Log-domain Sinkhorn: row tiles of the one pass over C per iteration, timed per
    // iteration (see ITERATIONS).
    let n = match mode {
        Mode::Full => 4000,
        Mode::Quick => 300,
    };
    let transport = Transport::new(n).expect("the tour's sizes are valid");
    let label = format!("log-domain sinkhorn, f64, n = {n}");
    let (ok, points, _) = iterative(
        &mut section,
        &label,
        &counts(cores),
        budget,
        |exec, iters| exec.sinkhorn(&transport, iters),
    );
    section.ok &= ok;
    series.push(("log-domain sinkhorn".to_string(), points));
    let label = format!("kernel-mode sinkhorn, f64, n = {n}");
    let (ok, points, kernel_mode) = iterative(
        &mut section,
        &label,
        &counts(cores),
        budget,
        |exec, iters| exec.scale(&transport, iters),
    );
    section.ok &= ok;
    series.push(("kernel-mode sinkhorn".to_string(), points));

    // CG with Jacobi on the 2D Poisson matrix: row tiles of every pass. Timed per
    // iteration as Sinkhorn.
    let grid = match mode {
        Mode::Full => 1000,
        Mode::Quick => 200,
    };
    let poisson = CgProblem::new(grid).expect("the tour's sizes are valid");
    let label = format!("cg (jacobi), 2D Poisson n = {}", grid * grid);
    let (ok, points, _) = iterative(
        &mut section,
        &label,
        &counts(cores),
        budget,
        |exec, iters| exec.cg(&poisson, iters),
    );
    section.ok &= ok;
    series.push(("cg (jacobi)".to_string(), points));

    // Red-black SOR: row tiles of each sweep. Timed per sweep as Sinkhorn.
    let side = match mode {
        Mode::Full => 2048,
        Mode::Quick => 256,
    };
    let grid = Grid::new(side);
    let label = format!("red-black sor, f64, {side} x {side} grid");
    let (ok, points, _) = iterative(
        &mut section,
        &label,
        &counts(cores),
        budget,
        |exec, sweeps| exec.grid(&grid, sweeps),
    );
    section.ok &= ok;
    series.push(("red-black sor".to_string(), points));

    // H2O prefill at full budget (the blocked path): heads run at once.
    let (heads, seq, d) = match mode {
        Mode::Full => (8, 2048, 128),
        Mode::Quick => (4, 256, 32),
    };
    let prompt = Prompt::new(heads, seq, d).expect("the tour's sizes are valid");
    let label = format!("h2o prefill, full budget, {heads} heads, seq {seq}, d {d}");
    let (ok, points, prefill) = scaling(
        &mut section,
        &label,
        &counts(cores),
        budget,
        |exec| exec.prefill(&prompt, seq),
        || prompt.output(),
    );
    section.ok &= ok;
    series.push(("h2o prefill".to_string(), points));
    // With eviction at a 20% budget: the kv heads run at once, each one's blocks of
    // rows in order.
    let label = format!("h2o prefill, 20% budget, {heads} heads, seq {seq}, d {d}");
    let (ok, points, _) = scaling(
        &mut section,
        &label,
        &counts(cores),
        budget,
        |exec| exec.prefill(&prompt, seq / 5),
        || prompt.output(),
    );
    section.ok &= ok;
    series.push(("h2o prefill (evicting)".to_string(), points));

    // Linear attention forward: heads run at once.
    let shape = match mode {
        Mode::Full => Shape {
            n_heads: 8,
            len: 4096,
            dk: 128,
            dv: 128,
        },
        Mode::Quick => Shape {
            n_heads: 4,
            len: 256,
            dk: 32,
            dv: 32,
        },
    };
    let label = format!(
        "linattn forward, {} heads, len {}, d {}",
        shape.n_heads, shape.len, shape.dk
    );
    let forward = Forward::new(shape, cores).expect("the tour's shapes are valid");
    let (ok, points, _) = scaling(
        &mut section,
        &label,
        &counts(cores),
        budget,
        |exec| forward.run(exec),
        || forward.output(),
    );
    section.ok &= ok;
    series.push(("linattn forward".to_string(), points));
    // One head, a long sequence: the chunks run at once (LASP-2 inside the call).
    let shape = Shape {
        n_heads: 1,
        len: shape.len * 4,
        ..shape
    };
    let label = format!(
        "linattn forward, 1 head, len {}, d {}: chunks at once",
        shape.len, shape.dk
    );
    let forward = Forward::new(shape, cores).expect("the tour's shapes are valid");
    let (ok, points, _) = scaling(
        &mut section,
        &label,
        &counts(cores),
        budget,
        |exec| forward.run(exec),
        || forward.output(),
    );
    section.ok &= ok;
    series.push(("linattn forward (1 head)".to_string(), points));

    // H2O decode on a small cache: must not pay for threads.
    let cached = 256;
    let label = format!(
        "h2o decode, 8 heads / 2 kv heads, d 128: {} steps into a cache of {cached}",
        cached + 16
    );
    let small = SmallDecode::new(cached);
    let (ok, points, _) = scaling(
        &mut section,
        &label,
        &counts(cores),
        budget,
        |exec| small.steps(exec),
        || small.output(),
    );
    section.ok &= ok;
    series.push(("h2o decode (small)".to_string(), points));

    // H2O decode with one kv head on a full long cache: its key chunks run at once.
    let long = match mode {
        Mode::Full => 16384,
        Mode::Quick => 4096,
    };
    let cache = LongCache::new(long).expect("the tour's sizes are valid");
    let label = format!(
        "h2o decode, 8 heads / 1 kv head, d 128: {} steps on a full cache of {long}",
        LongCache::STEPS
    );
    let (ok, points, _) = scaling(
        &mut section,
        &label,
        &counts(cores),
        budget,
        |exec| cache.steps(exec),
        || cache.output(),
    );
    section.ok &= ok;
    series.push(("h2o decode (1 kv head, long cache)".to_string(), points));

    threads::set_num_threads(before).ok();
    if mode == Mode::Full {
        let ours = Ours {
            kernel_mode,
            prefill,
        };
        peers(&mut section, &counts(cores), n, (heads, seq, d), &ours);
    }
    let chart = LineChart {
        title: &format!("Speedup against threads ({})", machine.cpu),
        x_label: "threads",
        y_label: "speedup over the calling thread alone",
        log_x: false,
        log_y: false,
        series,
        bands: Vec::new(),
        reference: None,
    };
    section.plots.push((
        "threads-speedup.svg".into(),
        chart.render(),
        "Speedup of each kernel against the thread count; the triad line is the memory \
         bandwidth ratio, the ceiling for memory-bound kernels"
            .into(),
    ));
    section
}

/// Our seconds at each thread count, for the comparison with the peers.
struct Ours {
    /// Kernel-mode Sinkhorn, per iteration.
    kernel_mode: Vec<f64>,
    /// H2O prefill at full budget.
    prefill: Vec<f64>,
}

/// POT's kernel-mode Sinkhorn and numpy's causal attention with as many BLAS threads
/// as ours, on problems of the same shapes (`bench/threads_peers.py`): a row per count.
fn peers(
    section: &mut Section,
    counts: &[usize],
    n: usize,
    (heads, seq, d): (usize, usize, usize),
    ours: &Ours,
) {
    let Some(python) = std::env::var_os("KN_PYTHON") else {
        section.row(vec![
            "peers (POT, numpy)".into(),
            "-".into(),
            "SKIPPED: KN_PYTHON is not set (run ./scripts/bench.sh threads)".into(),
            "-".into(),
            "-".into(),
        ]);
        return;
    };
    for (i, &count) in counts.iter().enumerate() {
        let threads = count.to_string();
        let out = std::process::Command::new(&python)
            .arg("bench/threads_peers.py")
            .args([n, heads, seq, d].map(|x| x.to_string()))
            .env("OMP_NUM_THREADS", &threads)
            .env("OPENBLAS_NUM_THREADS", &threads)
            .env("MKL_NUM_THREADS", &threads)
            .output();
        let text = match &out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
            Ok(o) => {
                let why = String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
                    .to_string();
                section.row(vec![
                    "peers (POT, numpy)".into(),
                    threads,
                    format!("FAILED: {why}"),
                    "-".into(),
                    "-".into(),
                ]);
                section.ok = false;
                continue;
            }
            Err(e) => {
                section.row(vec![
                    "peers (POT, numpy)".into(),
                    threads,
                    format!("FAILED: {e}"),
                    "-".into(),
                    "-".into(),
                ]);
                section.ok = false;
                continue;
            }
        };
        let value = |peer: &str, key: &str| {
            text.lines()
                .find(|l| l.contains(peer))
                .and_then(|l| l.split(&format!("\"{key}\": ")).nth(1))
                .and_then(|v| v.trim_end_matches('}').trim().parse::<f64>().ok())
        };
        for (what, theirs, mine) in [
            (
                format!("POT ot.sinkhorn (kernel mode), n = {n}, per iteration"),
                value("pot_sinkhorn", "sec_per_iter"),
                ours.kernel_mode.get(i),
            ),
            (
                format!("numpy causal attention, {heads} heads, seq {seq}, d {d}"),
                value("numpy_attention", "sec"),
                ours.prefill.get(i),
            ),
        ] {
            let (Some(theirs), Some(&mine)) = (theirs, mine) else {
                section.row(vec![
                    what,
                    threads.clone(),
                    "FAILED: no figure".into(),
                    "-".into(),
                    "-".into(),
                ]);
                section.ok = false;
                continue;
            };
            section.row(vec![
                what,
                threads.clone(),
                format!("{:.3}", theirs * 1e3),
                format!("ours {:.2}x faster", theirs / mine),
                "-".into(),
            ]);
        }
    }
}

pub fn bench(machine: &Machine) -> Section {
    run(Mode::Full, machine)
}

/// `a = b + 3 c` in 64 fixed tiles through `exec`; seconds per call.
fn time_triad(exec: &impl Exec, a: &mut [f64], b: &[f64], c: &[f64], budget: Duration) -> f64 {
    let tile = a.len().div_ceil(64);
    seconds_per_call(budget, || {
        let tiles = a.chunks_mut(tile).zip(b.chunks(tile)).zip(c.chunks(tile));
        let r = exec.for_each(usize::MAX, tiles, |_, ((a, b), c)| {
            for ((ai, &bi), &ci) in a.iter_mut().zip(b).zip(c) {
                *ai = bi + 3.0 * ci;
            }
            Ok(())
        });
        std::hint::black_box(r.is_ok());
    })
}

/// Timings taken this many times over, each the fastest of its rounds.
const ROUNDS: usize = 3;

/// `time(exec)` on the calling thread alone and on the pool at each count, in
/// [`ROUNDS`] rounds that each time every configuration once, keeping each one's
/// fastest: on a shared machine a disturbance then costs one round of one
/// configuration, not a whole ratio. Returns (sequential, per count).
fn interleaved(counts: &[usize], time: impl Fn(&dyn ExecDyn) -> f64) -> (f64, Vec<f64>) {
    let mut t1 = f64::INFINITY;
    let mut times = vec![f64::INFINITY; counts.len()];
    for _ in 0..ROUNDS {
        t1 = t1.min(time(&Sequential));
        for (t, &n) in times.iter_mut().zip(counts) {
            threads::set_num_threads(n).ok();
            *t = t.min(time(&Threads));
        }
    }
    (t1, times)
}

/// Times `run` on the calling thread and on the pool at each count; checks the bits
/// of what `output` reads after it. Only `run` is timed: it works in buffers made
/// beforehand, so the timings hold the kernel, not copies or fresh allocations.
/// Returns whether every count gave the sequential bits, and (threads, speedup).
fn scaling(
    section: &mut Section,
    label: &str,
    counts: &[usize],
    budget: Duration,
    run: impl Fn(&dyn ExecDyn) -> Result<()>,
    output: impl Fn() -> Vec<f32>,
) -> Scaled {
    let time = |exec: &dyn ExecDyn| {
        seconds_per_call(budget, || {
            std::hint::black_box(run(exec).is_ok());
        })
    };
    let f = |exec: &dyn ExecDyn| run(exec).map(|()| output());
    scaling_timed(section, label, counts, f, time)
}

/// [`scaling`] with the timing given: `time(exec)` in seconds.
fn scaling_timed(
    section: &mut Section,
    label: &str,
    counts: &[usize],
    f: impl Fn(&dyn ExecDyn) -> Result<Vec<f32>>,
    time: impl Fn(&dyn ExecDyn) -> f64,
) -> Scaled {
    let want = f(&Sequential).map(bits);
    let (t1, times) = interleaved(counts, &time);
    section.row(vec![
        label.to_string(),
        "sequential".into(),
        format!("{:.3}", t1 * 1e3),
        "1.00x".into(),
        if want.is_ok() { "-" } else { "FAILED" }.into(),
    ]);
    let mut ok = want.is_ok();
    let (mut points, mut seconds) = (Vec::new(), Vec::new());
    for (&n, t) in counts.iter().zip(times) {
        threads::set_num_threads(n).ok();
        let same = f(&Threads).map(bits) == want;
        ok &= same;
        section.row(vec![
            label.to_string(),
            n.to_string(),
            format!("{:.3}", t * 1e3),
            format!("{:.2}x", t1 / t),
            if same { "yes" } else { "NO" }.into(),
        ]);
        points.push((n as f64, t1 / t));
        seconds.push(t);
    }
    (ok, points, seconds)
}

/// [`scaling_timed`] for an iterative solver, `run(exec, iterations)`: checked after
/// [`ITERATIONS`] iterations, timed per iteration as calls of [`ITERATIONS`] less
/// calls of a quarter as many, so the work every call does once cancels out.
fn iterative(
    section: &mut Section,
    label: &str,
    counts: &[usize],
    budget: Duration,
    run: impl Fn(&dyn ExecDyn, u32) -> Result<Vec<f32>>,
) -> Scaled {
    let label = format!(
        "{label} (per iteration: calls of {ITERATIONS} less calls of {})",
        ITERATIONS / 4
    );
    let per_iteration = |exec: &dyn ExecDyn| {
        let t = |iters| {
            seconds_per_call(budget, || {
                std::hint::black_box(run(exec, iters).is_ok());
            })
        };
        (t(ITERATIONS) - t(ITERATIONS / 4)) / f64::from(ITERATIONS - ITERATIONS / 4)
    };
    scaling_timed(
        section,
        &label,
        counts,
        |exec| run(exec, ITERATIONS),
        per_iteration,
    )
}

/// Whether every count gave the sequential bits, (threads, speedup) per count, and the
/// seconds per count.
type Scaled = (bool, Vec<(f64, f64)>, Vec<f64>);

fn bits(v: Vec<f32>) -> Vec<u32> {
    v.into_iter().map(f32::to_bits).collect()
}

/// The two executors behind one type, so one closure times both.
trait ExecDyn {
    fn triad(&self, a: &mut [f64], b: &[f64], c: &[f64], budget: Duration) -> f64;
    fn linattn(&self, inp: &Inputs<'_, f32>, out: &mut [f32], work: &mut [u8]) -> Result<()>;
    fn sinkhorn(&self, p: &Transport, iters: u32) -> Result<Vec<f32>>;
    fn scale(&self, p: &Transport, iters: u32) -> Result<Vec<f32>>;
    fn prefill(&self, p: &Prompt, budget: usize) -> Result<()>;
    fn cg(&self, p: &CgProblem, iters: u32) -> Result<Vec<f32>>;
    fn grid(&self, p: &Grid, sweeps: u32) -> Result<Vec<f32>>;
    fn decode(
        &self,
        cache: &mut H2oCache<'_>,
        q: &[f32],
        kv: &[f32],
        out: &mut [f32],
        work: &mut [u8],
    ) -> Result<()>;
}

impl<E: Exec> ExecDyn for E {
    fn triad(&self, a: &mut [f64], b: &[f64], c: &[f64], budget: Duration) -> f64 {
        time_triad(self, a, b, c, budget)
    }

    fn sinkhorn(&self, p: &Transport, iters: u32) -> Result<Vec<f32>> {
        let (mut f, mut g) = (vec![0.0; p.n], vec![0.0; p.n]);
        let c = Dense::new(&p.c, p.n, p.n)?;
        let mut work = p.work.borrow_mut();
        let opts = fixed_iterations(iters);
        sinkhorn_log::<f64, Simd>(self, c, &p.a, &p.a, &opts, &mut f, &mut g, None, &mut work)?;
        Ok(words([f, g].concat()))
    }

    fn cg(&self, p: &CgProblem, iters: u32) -> Result<Vec<f32>> {
        let opts = CgOpts::default()
            .tol(1e-300)
            .max_iter(iters)
            .precond(Precond::Jacobi);
        let mut x = p.x.borrow_mut();
        x.fill(0.0);
        let mut work = p.work.borrow_mut();
        cg::<f64, Simd>(self, &p.a.view(), &p.b, &mut x, &opts, &mut work)?;
        Ok(words(x.clone()))
    }

    fn grid(&self, p: &Grid, sweeps: u32) -> Result<Vec<f32>> {
        let mut x = p.x.borrow_mut();
        x.fill(0.0);
        sor_grid2d::<f64, Simd>(self, p.side, p.side, 0.0, &p.b, &mut x, 1.9, sweeps)?;
        Ok(words(x.clone()))
    }

    fn prefill(&self, p: &Prompt, budget: usize) -> Result<()> {
        let (n, seq, d) = (p.heads, p.seq, p.d);
        let opts = H2oOpts::default()
            .sink(0)
            .heavy(budget / 2)
            .recent(budget - budget / 2);
        let mut out = p.out.borrow_mut();
        let mut work = p.work.borrow_mut();
        let (q, k, v) = (&p.q[..], &p.k[..], &p.v[..]);
        h2o::prefill::<Simd>(
            self, n, n, seq, d, q, k, v, &opts, &mut out, None, None, &mut work,
        )
    }

    fn scale(&self, p: &Transport, iters: u32) -> Result<Vec<f32>> {
        let (mut u, mut v) = (vec![0.0; p.n], vec![1.0; p.n]);
        let k = Dense::new(&p.k, p.n, p.n)?;
        let mut work = p.work.borrow_mut();
        let opts = fixed_iterations(iters);
        scale::<f64, Simd>(self, k, &p.a, &p.a, &opts, &mut u, &mut v, &mut work)?;
        Ok(words([u, v].concat()))
    }

    fn linattn(&self, inp: &Inputs<'_, f32>, out: &mut [f32], work: &mut [u8]) -> Result<()> {
        linattn::forward::<f32, Simd>(self, inp, 64, out, None, work)
    }

    fn decode(
        &self,
        cache: &mut H2oCache<'_>,
        q: &[f32],
        kv: &[f32],
        out: &mut [f32],
        work: &mut [u8],
    ) -> Result<()> {
        h2o::decode::<Simd>(self, cache, q.len() / 128, q, kv, kv, 0.0, out, work)
    }
}

/// Options that run exactly `iters` iterations (reg = 0.01).
fn fixed_iterations(iters: u32) -> SinkhornOpts {
    SinkhornOpts::default()
        .reg(0.01)
        .tol(1e-300)
        .max_iter(iters)
        .check_every(iters)
}

/// Each f64 as two f32 words, so that the bit check sees every bit.
fn words(x: Vec<f64>) -> Vec<f32> {
    x.into_iter()
        .flat_map(|x| {
            let b = x.to_bits();
            [f32::from_bits(b as u32), f32::from_bits((b >> 32) as u32)]
        })
        .collect()
}

/// A transport problem (f64, n x n, uniform marginals, costs in [0, 1), the kernel
/// `exp(-C / 0.1)`) with a workspace for either solver.
struct Transport {
    n: usize,
    c: Vec<f64>,
    k: Vec<f64>,
    a: Vec<f64>,
    work: RefCell<Vec<u8>>,
}

impl Transport {
    fn new(n: usize) -> Result<Transport> {
        let c: Vec<f64> = uniform(n * n, 5, 1.0);
        let work = sinkhorn_work_size::<f64>(n, n)?.max(scale_work_size::<f64>(n, n)?);
        Ok(Transport {
            n,
            k: c.iter().map(|&x| (-x / 0.1).exp()).collect(),
            c,
            a: vec![1.0 / n as f64; n],
            work: RefCell::new(vec![0u8; work.bytes()]),
        })
    }
}

/// The 2D Poisson matrix, a right-hand side of ones, and CG's iterate and workspace.
struct CgProblem {
    a: Poisson,
    b: Vec<f64>,
    x: RefCell<Vec<f64>>,
    work: RefCell<Vec<u8>>,
}

impl CgProblem {
    fn new(grid: usize) -> Result<CgProblem> {
        let n = grid * grid;
        Ok(CgProblem {
            a: Poisson::new(grid),
            b: vec![1.0; n],
            x: RefCell::new(vec![0.0; n]),
            work: RefCell::new(vec![0u8; cg_work_size::<f64>(n)?.bytes()]),
        })
    }
}

/// Red-black SOR on a `side x side` grid: a right-hand side of ones and the iterate.
struct Grid {
    side: usize,
    b: Vec<f64>,
    x: RefCell<Vec<f64>>,
}

impl Grid {
    fn new(side: usize) -> Grid {
        Grid {
            side,
            b: vec![1.0; side * side],
            x: RefCell::new(vec![0.0; side * side]),
        }
    }
}

/// A prompt for H2O prefill at full budget (one kv head per head), with a workspace
/// for every head at once.
struct Prompt {
    heads: usize,
    seq: usize,
    d: usize,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    out: RefCell<Vec<f32>>,
    work: RefCell<Vec<u8>>,
}

impl Prompt {
    fn new(heads: usize, seq: usize, d: usize) -> Result<Prompt> {
        let n = heads * seq * d;
        // One slot per head, so that every head (or kv head) can run at once.
        let work = h2o::prefill_work_size(heads, heads, seq, d)?.times(heads)?;
        Ok(Prompt {
            heads,
            seq,
            d,
            q: uniform(n, 31, 1.0),
            k: uniform(n, 32, 1.0),
            v: uniform(n, 33, 1.0),
            out: RefCell::new(vec![0f32; n]),
            work: RefCell::new(vec![0u8; work.bytes()]),
        })
    }

    /// The output of the last prefill.
    fn output(&self) -> Vec<f32> {
        self.out.borrow().clone()
    }
}

/// A forward problem with its inputs, outputs and a workspace for `threads` threads
/// (heads, or the chunks of a head, at once), made once so that the timings measure
/// the kernel alone.
struct Forward {
    shape: Shape,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    decay: Vec<f32>,
    out: RefCell<Vec<f32>>,
    work: RefCell<Vec<u8>>,
}

impl Forward {
    fn new(shape: Shape, threads: usize) -> Result<Forward> {
        let n = shape.n_heads * shape.len;
        let work = linattn::forward_threads_work_size::<f32>(shape, 64, threads, false)?;
        Ok(Forward {
            shape,
            q: uniform(n * shape.dk, 1, 1.0),
            k: uniform(n * shape.dk, 2, 1.0),
            v: uniform(n * shape.dv, 3, 1.0),
            decay: (0..shape.n_heads).map(|h| 1.0 - 0.01 * h as f32).collect(),
            out: RefCell::new(vec![0f32; n * shape.dv]),
            work: RefCell::new(vec![0u8; work.bytes()]),
        })
    }

    /// One forward pass, into `out`.
    fn run(&self, exec: &dyn ExecDyn) -> Result<()> {
        let inp = Inputs {
            shape: self.shape,
            q: &self.q,
            k: &self.k,
            v: &self.v,
            decay: Decay::Heads(&self.decay),
            scale: 0.0,
            state_in: None,
        };
        let mut out = self.out.borrow_mut();
        exec.linattn(&inp, &mut out, &mut self.work.borrow_mut())
    }

    /// The output of the last pass.
    fn output(&self) -> Vec<f32> {
        self.out.borrow().clone()
    }
}

/// The queries and new keys/values of `steps` decode steps (`n_heads` query heads,
/// `n_kv` kv heads, `d`), drawn once so that the timed steps only decode.
fn step_inputs(
    steps: u64,
    n_heads: usize,
    n_kv: usize,
    d: usize,
    seed: u64,
) -> Vec<(Vec<f32>, Vec<f32>)> {
    (0..steps)
        .map(|t| {
            (
                uniform::<f32>(n_heads * d, seed + 100_000 + t, 1.0),
                uniform::<f32>(n_kv * d, seed + t, 1.0),
            )
        })
        .collect()
}

/// `cached + 16` decode steps (8 query heads on 2 kv heads, d = 128) into a cache of
/// `cached` tokens that fills and then evicts the oldest; every output is kept.
struct SmallDecode {
    cached: usize,
    inputs: Vec<(Vec<f32>, Vec<f32>)>,
    seen: RefCell<Vec<f32>>,
}

impl SmallDecode {
    const HEADS: usize = 8;
    const KV: usize = 2;
    const D: usize = 128;

    fn new(cached: usize) -> SmallDecode {
        let steps = cached as u64 + 16;
        SmallDecode {
            cached,
            inputs: step_inputs(steps, Self::HEADS, Self::KV, Self::D, 7),
            seen: RefCell::new(Vec::new()),
        }
    }

    /// The steps, from an empty cache (a small one: made afresh each run).
    fn steps(&self, exec: &dyn ExecDyn) -> Result<()> {
        let (n_heads, n_kv, d, cached) = (Self::HEADS, Self::KV, Self::D, self.cached);
        let (mut k, mut v) = (vec![0f32; n_kv * cached * d], vec![0f32; n_kv * cached * d]);
        let (mut score, mut pos) = (vec![0f32; n_kv * cached], vec![0u64; n_kv * cached]);
        let mut cache = H2oCache::new(n_kv, d, 0, 0, cached, &mut k, &mut v, &mut score, &mut pos)?;
        let mut work = vec![0u8; decode_work_size(n_kv, d, cached, n_heads)?.bytes()];
        let mut seen = self.seen.borrow_mut();
        seen.clear();
        let mut out = vec![0f32; n_heads * d];
        for (q, kv) in &self.inputs {
            exec.decode(&mut cache, q, kv, &mut out, &mut work)?;
            seen.extend_from_slice(&out);
        }
        Ok(())
    }

    /// Every output of the last run.
    fn output(&self) -> Vec<f32> {
        self.seen.borrow().clone()
    }
}

/// A full cache of one kv head (8 query heads, d = 128) with `len` tokens, restored
/// for every run of [`LongCache::STEPS`] decode steps so each run starts alike.
struct LongCache {
    len: usize,
    k: Vec<f32>,
    v: Vec<f32>,
    inputs: Vec<(Vec<f32>, Vec<f32>)>,
    /// The cache's arrays, the workspace and the outputs, made once.
    state: RefCell<LongState>,
}

struct LongState {
    k: Vec<f32>,
    v: Vec<f32>,
    score: Vec<f32>,
    pos: Vec<u64>,
    work: Vec<u8>,
    seen: Vec<f32>,
}

impl LongCache {
    const STEPS: u64 = 32;
    const D: usize = 128;
    const HEADS: usize = 8;

    fn new(len: usize) -> Result<LongCache> {
        let (k, v) = (
            uniform(len * Self::D, 41, 1.0),
            uniform(len * Self::D, 42, 1.0),
        );
        let work = decode_work_size(1, Self::D, len, Self::HEADS)?.bytes();
        Ok(LongCache {
            len,
            state: RefCell::new(LongState {
                k: k.clone(),
                v: v.clone(),
                score: vec![0f32; len],
                pos: vec![0; len],
                work: vec![0u8; work],
                seen: Vec::new(),
            }),
            k,
            v,
            inputs: step_inputs(Self::STEPS, Self::HEADS, 1, Self::D, 500),
        })
    }

    /// The steps from the full cache; their outputs and the final scores are kept.
    fn steps(&self, exec: &dyn ExecDyn) -> Result<()> {
        let (len, d) = (self.len, Self::D);
        let state = &mut *self.state.borrow_mut();
        state.k.copy_from_slice(&self.k);
        state.v.copy_from_slice(&self.v);
        state.score.fill(0.0);
        for (i, p) in state.pos.iter_mut().enumerate() {
            *p = i as u64;
        }
        let (sink, recent) = (4, 256);
        let mut cache = H2oCache::from_parts(
            1,
            d,
            sink,
            len - sink - recent,
            recent,
            len,
            len as u64,
            &mut state.k,
            &mut state.v,
            &mut state.score,
            &mut state.pos,
        )?;
        let mut out = vec![0f32; Self::HEADS * d];
        state.seen.clear();
        for (q, kv) in &self.inputs {
            exec.decode(&mut cache, q, kv, &mut out, &mut state.work)?;
            state.seen.extend_from_slice(&out);
        }
        state.seen.extend(cache.scores(0));
        Ok(())
    }

    /// The outputs and the final scores of the last run.
    fn output(&self) -> Vec<f32> {
        self.state.borrow().seen.clone()
    }
}
