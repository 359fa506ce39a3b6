//! Tour section and benchmark: preconditioned CG on the 2D Poisson matrix.

use crate::Mode;
use crate::machine::Machine;
use crate::report::Section;
use kernels_core::Sequential;
use kernels_core::SquareCsr;
use kernels_core::cg::CgKernels;
use kernels_core::cg::{self, CgOpts, Precond};
use kernels_core::{Real, Scalar};
use kernels_simd::Simd;
use kernels_tests::uniform;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const TITLE: &str = "Preconditioned conjugate gradients (CSR)";
const HEADER: [&str; 4] = ["what", "measured", "reference / target", "status"];

const INTRO: &str = "The 2D Poisson matrix `4 I - neighbours` on an N x N grid (5-point \
stencil, CSR with u32 indices), b uniform in [-1, 1], x0 = 0. Checks: each \
preconditioner reaches the tolerance (the residual recomputed independently), SSOR-PCG \
(omega = 2 / (1 + sin(pi h))) takes fewer iterations than Jacobi-PCG, and SIMD agrees \
with the scalar reference. Speed: time per iteration = (t(K2) - t(K1)) / (K2 - K1) for \
runs of exactly K1 and K2 iterations, each t the fastest of several runs, so the setup \
and the final residual cancel; t is the thread's CPU time where Linux reports it (time \
descheduled on a shared machine is not counted; the scipy peer uses the same clock), \
wall time otherwise. The byte count per \
iteration is what our passes must move in f64: the product 12 bytes per nonzero (value \
and column) plus 24 per row (row pointer, p read, A p written), the update of x and r \
48 per row, then the new direction: none 24 (p from r), Jacobi 48 (z = r / d, then p), \
SSOR two sweeps of 12 per nonzero + 32 per row, plus 40. The floor is that count at \
the stream bandwidth measured above; the working set of n = 1M (about 100 MB) may fit \
a large last-level cache, where the floor is not a bound. The benchmark \
(`./scripts/bench.sh cg`) runs N = 1000 (n = 1M) against scipy.sparse.linalg.cg on the \
same CSR matrix, single thread, with the same timing method.";

fn row(s: &mut Section, what: &str, measured: String, reference: &str, ok: Option<bool>) {
    let status = match ok {
        Some(true) => "ok",
        Some(false) => "FAIL",
        None => "-",
    };
    s.row(vec![what.into(), measured, reference.into(), status.into()]);
    if ok == Some(false) {
        s.ok = false;
    }
}

/// The 2D Poisson matrix on an n x n grid, lexicographic CSR.
pub(crate) struct Poisson {
    n: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<f64>,
}

impl Poisson {
    pub(crate) fn new(grid: usize) -> Poisson {
        let n = grid * grid;
        let mut m = Poisson {
            n,
            indptr: Vec::with_capacity(n + 1),
            indices: Vec::with_capacity(5 * n),
            values: Vec::with_capacity(5 * n),
        };
        m.indptr.push(0);
        for i in 0..grid {
            for j in 0..grid {
                let p = i * grid + j;
                let entries = [
                    (i > 0, p.wrapping_sub(grid)),
                    (j > 0, p.wrapping_sub(1)),
                    (true, p),
                    (j + 1 < grid, p + 1),
                    (i + 1 < grid, p + grid),
                ];
                for (present, c) in entries {
                    if present {
                        m.indices.push(c as u32);
                        m.values.push(if c == p { 4.0 } else { -1.0 });
                    }
                }
                m.indptr.push(m.indices.len());
            }
        }
        m
    }

    pub(crate) fn view(&self) -> SquareCsr<'_, f64> {
        SquareCsr::new(self.n, &self.indptr, &self.indices, &self.values).expect("valid Poisson")
    }

    /// `||b - A x|| / ||b||`, independently of the library.
    fn residual(&self, b: &[f64], x: &[f64]) -> f64 {
        let (mut rr, mut bb) = (0.0, 0.0);
        for (i, &bi) in b.iter().enumerate() {
            let ax: f64 = (self.indptr[i]..self.indptr[i + 1])
                .map(|k| self.values[k] * x[self.indices[k] as usize])
                .sum();
            rr += (bi - ax) * (bi - ax);
            bb += bi * bi;
        }
        (rr / bb).sqrt()
    }

    /// Bytes one of our iterations moves in f64 with this preconditioner.
    fn bytes_per_iteration(&self, precond: Precond) -> f64 {
        let (nnz, n) = (self.values.len() as f64, self.n as f64);
        let product = 12.0 * nnz + 24.0 * n;
        let update = 48.0 * n;
        let rest = match precond {
            Precond::None => 24.0 * n,
            Precond::Jacobi => 48.0 * n,
            Precond::Ssor { .. } => 2.0 * (12.0 * nnz + 32.0 * n) + 40.0 * n,
        };
        product + update + rest
    }
}

fn ssor_omega(grid: usize) -> f64 {
    2.0 / (1.0 + (std::f64::consts::PI / (grid as f64 + 1.0)).sin())
}

fn name(p: Precond) -> &'static str {
    match p {
        Precond::None => "none",
        Precond::Jacobi => "Jacobi",
        Precond::Ssor { .. } => "SSOR",
    }
}

/// Runs CG from x = 0; the result and x.
fn solve<P: CgKernels<f64>>(
    m: &Poisson,
    b: &[f64],
    precond: Precond,
    tol: f64,
    max_iter: u32,
    work: &mut [u8],
) -> (kernels_core::Result<kernels_core::Report>, Vec<f64>) {
    let mut x = vec![0.0; m.n];
    let opts = CgOpts::default()
        .tol(tol)
        .max_iter(max_iter)
        .precond(precond);
    let got = cg::cg::<f64, P>(&Sequential, &m.view(), b, &mut x, &opts, work);
    (got, x)
}

fn work_for<T: Real>(n: usize) -> Vec<u8> {
    vec![0u8; cg::cg_work_size::<T>(n).map_or(0, |s| s.bytes())]
}

/// The tour section.
pub fn run(mode: Mode, machine: &Machine) -> Section {
    let mut s = Section::start(TITLE, INTRO, &HEADER);
    let (grid, speed_grid, repeats) = match mode {
        Mode::Full => (64, 1000, 3),
        Mode::Quick => (32, 256, 3),
    };
    checks(&mut s, grid);
    speed(&mut s, machine, speed_grid, repeats, false);
    s
}

/// The benchmark: n = 1M against scipy.
pub fn bench(machine: &Machine) -> Section {
    let mut s = Section::start(TITLE, INTRO, &HEADER);
    checks(&mut s, 64);
    speed(&mut s, machine, 1000, 3, true);
    s
}

fn checks(s: &mut Section, grid: usize) {
    let m = Poisson::new(grid);
    let b = uniform::<f64>(m.n, 1, 1.0);
    let tol = 1e-10;
    let mut work = work_for::<f64>(m.n);
    let omega = ssor_omega(grid);
    let mut iters = Vec::new();
    for p in [Precond::None, Precond::Jacobi, Precond::Ssor { omega }] {
        let (got, x) = solve::<Simd>(&m, &b, p, tol, 10_000, &mut work);
        let (sgot, sx) = solve::<Scalar>(&m, &b, p, tol, 10_000, &mut work);
        let (Ok(rep), Ok(srep)) = (got, sgot) else {
            row(
                s,
                &format!("{} PCG, Poisson {grid}x{grid}", name(p)),
                "error".into(),
                "converges",
                Some(false),
            );
            continue;
        };
        let res = m.residual(&b, &x);
        let diff = x
            .iter()
            .zip(&sx)
            .fold(0.0f64, |d, (a, c)| d.max((a - c).abs()));
        let scale = sx.iter().fold(0.0f64, |d, a| d.max(a.abs()));
        row(
            s,
            &format!(
                "{} PCG, Poisson {grid}x{grid}, tol {tol:.0e}: iterations (SIMD / scalar), residual, max |x_simd - x_scalar| / max |x|",
                name(p)
            ),
            format!(
                "{} / {}, {res:.1e}, {:.1e}",
                rep.iterations,
                srep.iterations,
                diff / scale
            ),
            "converged, residual <= tol, agree to 1e-8",
            Some(
                rep.converged
                    && res <= tol * 1.001
                    && rep.iterations.abs_diff(srep.iterations) <= 2
                    && diff <= 1e-8 * scale,
            ),
        );
        iters.push(rep.iterations);
    }
    if let [none, jacobi, ssor] = iters[..] {
        row(
            s,
            &format!("iterations none / Jacobi / SSOR(omega {omega:.3})"),
            format!("{none} / {jacobi} / {ssor}"),
            "SSOR < Jacobi",
            Some(ssor < jacobi),
        );
    }
}

/// Seconds on the CPU of the calling thread (`/proc/thread-self/schedstat`, in
/// nanoseconds), where Linux provides it.
fn thread_cpu_seconds() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = text.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// The clock of the timings: the thread's CPU time where available, so that time
/// spent descheduled on a shared machine is not counted (the scipy peer reads the
/// same clock, `time.thread_time`); wall time otherwise.
fn clock_name() -> &'static str {
    if thread_cpu_seconds().is_some() {
        "cpu"
    } else {
        "wall"
    }
}

/// Now, on the clock of [`clock_name`].
fn now(start: Instant) -> f64 {
    thread_cpu_seconds().unwrap_or_else(|| start.elapsed().as_secs_f64())
}

/// Seconds per iteration of CG with `precond`: `(t(k2) - t(k1)) / (k2 - k1)`, each
/// `t` the fastest of `repeats` runs, the two sizes interleaved. On a shared machine
/// other work only adds time, so the minimum is the steadiest estimate (the scipy
/// peer is timed the same way).
fn per_iteration<P: CgKernels<f64>>(
    m: &Poisson,
    b: &[f64],
    precond: Precond,
    (k1, k2): (u32, u32),
    repeats: usize,
) -> f64 {
    let mut work = work_for::<f64>(m.n);
    let mut best = [f64::INFINITY; 2];
    let epoch = Instant::now();
    for _ in 0..repeats {
        for (t, k) in best.iter_mut().zip([k1, k2]) {
            let start = now(epoch);
            let (got, x) = solve::<P>(m, b, precond, 1e-300, k, &mut work);
            *t = t.min(now(epoch) - start);
            std::hint::black_box((got.ok(), x));
        }
    }
    (best[1] - best[0]) / f64::from(k2 - k1)
}

fn speed(s: &mut Section, machine: &Machine, grid: usize, repeats: usize, peers: bool) {
    let m = Poisson::new(grid);
    let b = uniform::<f64>(m.n, 2, 1.0);
    let stream = machine.stream_gbs();
    let ks = if grid >= 1000 { (5, 25) } else { (5, 45) };
    let precs = [
        Precond::None,
        Precond::Jacobi,
        Precond::Ssor {
            omega: ssor_omega(grid),
        },
    ];
    let mut ours = Vec::new();
    for p in precs {
        let t = per_iteration::<Simd>(&m, &b, p, ks, repeats);
        let bytes = m.bytes_per_iteration(p);
        let floor = bytes / (stream * 1e9);
        row(
            s,
            &format!(
                "{} PCG, Poisson {grid}x{grid} (n = {}), f64: time per iteration ({} clock)",
                name(p),
                m.n,
                clock_name()
            ),
            format!(
                "{:.2} ms, {:.0} bytes/row = {:.1} GB/s, {:.0}% of stream {stream:.1} GB/s (floor {:.2} ms)",
                t * 1e3,
                bytes / m.n as f64,
                bytes / t / 1e9,
                100.0 * floor / t,
                floor * 1e3
            ),
            "-",
            None,
        );
        ours.push(t);
    }
    if peers {
        scipy(s, &m, &b, ks, repeats, ours);
    }
}

/// Writes little-endian values to a file.
fn write_le<const W: usize>(path: &Path, it: impl Iterator<Item = [u8; W]>) -> std::io::Result<()> {
    std::fs::write(path, it.flatten().collect::<Vec<u8>>())
}

/// Rounds of the comparison with scipy: ours and scipy's timings alternate, so a
/// change in the machine's load between them shows as spread, not as a ratio.
const ROUNDS: usize = 3;

/// Writes the matrix and b for the scipy peer.
fn write_data(dir: &Path, m: &Poisson, b: &[f64]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_le(
        &dir.join("indptr.u64"),
        m.indptr.iter().map(|&p| (p as u64).to_le_bytes()),
    )?;
    write_le(
        &dir.join("indices.u32"),
        m.indices.iter().map(|c| c.to_le_bytes()),
    )?;
    write_le(
        &dir.join("values.f64"),
        m.values.iter().map(|v| v.to_le_bytes()),
    )?;
    write_le(&dir.join("b.f64"), b.iter().map(|v| v.to_le_bytes()))
}

/// One run of bench/cg_scipy.py: seconds per iteration for none, Jacobi as
/// diags(1/d), Jacobi as a LinearOperator; `None` (with the reason printed) if it
/// did not run.
fn run_scipy(python: &std::ffi::OsStr, ks: (u32, u32), repeats: usize) -> Option<[f64; 3]> {
    let out = Command::new(python)
        .args([
            "bench/cg_scipy.py",
            "target/bench-data/cg",
            &ks.0.to_string(),
            &ks.1.to_string(),
            &repeats.to_string(),
            clock_name(),
        ])
        .output();
    let o = match out {
        Ok(o) => o,
        Err(e) => {
            eprintln!("scipy peer did not run: {e}");
            return None;
        }
    };
    if !o.status.success() {
        eprintln!("scipy peer failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    let text = String::from_utf8_lossy(&o.stdout);
    let get = |name: &str| {
        text.lines().find_map(|l| {
            let (p, t) = l
                .strip_prefix("precond=")?
                .split_once(" seconds_per_iteration=")?;
            if p == name {
                t.trim().parse::<f64>().ok()
            } else {
                None
            }
        })
    };
    Some([get("none")?, get("jacobi_diags")?, get("jacobi_operator")?])
}

/// Median and range of a few values.
fn median_range(v: &[f64]) -> (f64, f64, f64) {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let lo = v.first().copied().unwrap_or(f64::NAN);
    let hi = v.last().copied().unwrap_or(f64::NAN);
    (v.get(v.len() / 2).copied().unwrap_or(f64::NAN), lo, hi)
}

/// scipy.sparse.linalg.cg on the same matrix, run by the benchmark venv's Python:
/// agreement of the iterates, then [`ROUNDS`] rounds of ours and scipy's timings
/// (the first round of ours is `first`: none, Jacobi, SSOR).
fn scipy(s: &mut Section, m: &Poisson, b: &[f64], ks: (u32, u32), repeats: usize, first: Vec<f64>) {
    let goal = ">= 2x faster per iteration";
    let skip = |s: &mut Section, why: &str| {
        println!("SKIPPED scipy peer: {why}");
        row(
            s,
            "CG vs scipy.sparse.linalg.cg",
            format!("SKIPPED: {why}"),
            goal,
            None,
        );
    };
    let Some(python) = std::env::var_os("KN_PYTHON") else {
        skip(s, "KN_PYTHON is not set (run ./scripts/bench.sh)");
        return;
    };
    let dir = Path::new("target/bench-data/cg");
    if let Err(e) = write_data(dir, m, b) {
        skip(s, &format!("could not write {}: {e}", dir.display()));
        s.ok = false;
        return;
    }
    let mut rounds: Vec<([f64; 2], [f64; 3])> = Vec::new();
    for round in 0..ROUNDS {
        let ours = if round == 0 {
            [first[0], first[1]]
        } else {
            [Precond::None, Precond::Jacobi].map(|p| per_iteration::<Simd>(m, b, p, ks, repeats))
        };
        let Some(theirs) = run_scipy(&python, ks, repeats) else {
            skip(s, "the script did not run (see stderr above)");
            s.ok = false;
            return;
        };
        rounds.push((ours, theirs));
    }
    // Agreement: the iterate after K2 iterations, ours against scipy's.
    let mut work = work_for::<f64>(m.n);
    for (p, file) in [
        (Precond::None, "scipy_none_x.f64"),
        (Precond::Jacobi, "scipy_jacobi_operator_x.f64"),
        (Precond::Jacobi, "scipy_jacobi_diags_x.f64"),
    ] {
        let (_, x) = solve::<Simd>(m, b, p, 1e-300, ks.1, &mut work);
        let theirs: Vec<f64> = std::fs::read(dir.join(file))
            .unwrap_or_default()
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect();
        let scale = x.iter().fold(0.0f64, |d, v| d.max(v.abs()));
        let diff = if theirs.len() == x.len() {
            x.iter()
                .zip(&theirs)
                .fold(0.0f64, |d, (a, c)| d.max((a - c).abs()))
        } else {
            f64::INFINITY
        };
        row(
            s,
            &format!(
                "{} PCG, x after {} iterations: ours vs scipy ({file}), max |diff| / max |x|",
                name(p),
                ks.1
            ),
            format!("{:.1e}", diff / scale),
            "<= 1e-10 (same iterates)",
            Some(diff <= 1e-10 * scale),
        );
    }
    for (k, what) in ["unpreconditioned", "Jacobi"].into_iter().enumerate() {
        // scipy's Jacobi: the faster of its two forms in each round.
        let theirs_of = |t: &[f64; 3]| if k == 0 { t[0] } else { t[1].min(t[2]) };
        let ratios: Vec<f64> = rounds.iter().map(|(o, t)| theirs_of(t) / o[k]).collect();
        let (ratio, lo, hi) = median_range(&ratios);
        let (ours, _, _) = median_range(&rounds.iter().map(|(o, _)| o[k]).collect::<Vec<_>>());
        let (theirs, _, _) =
            median_range(&rounds.iter().map(|(_, t)| theirs_of(t)).collect::<Vec<_>>());
        let detail = if k == 1 {
            let (d, _, _) = median_range(&rounds.iter().map(|(_, t)| t[1]).collect::<Vec<_>>());
            let (o, _, _) = median_range(&rounds.iter().map(|(_, t)| t[2]).collect::<Vec<_>>());
            format!(
                "; scipy M = diags(1/d) {:.2} ms, M = LinearOperator {:.2} ms",
                d * 1e3,
                o * 1e3
            )
        } else {
            String::new()
        };
        s.target(
            &format!(
                "CG {what} vs scipy.sparse.linalg.cg, Poisson n = {}, f64, per iteration ({} clock, {ROUNDS} alternating rounds)",
                m.n,
                clock_name()
            ),
            format!(
                "median ours {:.2} ms, scipy {:.2} ms{detail}: ratio median {ratio:.2}x (rounds {lo:.2}x - {hi:.2}x)",
                ours * 1e3,
                theirs * 1e3,
            ),
            goal,
            ratio >= 2.0,
        );
    }
}
