//! Tour section: unbalanced entropic optimal transport, where mass may be created and
//! destroyed.

use crate::Mode;
use crate::machine::Machine;
use crate::peer;
use crate::report::Section;
use crate::svg::LineChart;
use kernels_core::sinkhorn::{
    Method, SinkhornOpts, UnbalancedOpts, sinkhorn_log, sinkhorn_unbalanced, sinkhorn_work_size,
    unbalanced_work_size,
};
use kernels_core::{Dense, Report, Result, Scalar, Sequential};
use kernels_simd::Simd;
use std::time::Instant;

/// A bump of `mass` centred at `at` with width `w` on the grid `x`.
fn bump(x: &[f64], at: f64, w: f64, mass: f64) -> Vec<f64> {
    let shape: Vec<f64> = x.iter().map(|&t| (-((t - at) / w).powi(2)).exp()).collect();
    let total: f64 = shape.iter().sum();
    shape.iter().map(|s| mass * s / total).collect()
}

/// A 1-D problem on `n` grid points of [0, 1]: the source `a` (mass 1) is a bump at
/// 0.3 and a small one at 0.9 far from everything in `b`; the target `b` (mass 1.6) is
/// a bump at 0.4. Cost: squared distance; a tiny floor keeps every weight positive.
struct Line {
    x: Vec<f64>,
    c: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
}

impl Line {
    fn new(n: usize) -> Line {
        let x: Vec<f64> = (0..n).map(|i| i as f64 / (n - 1) as f64).collect();
        let floor = 1e-6 / n as f64;
        let a: Vec<f64> = bump(&x, 0.3, 0.06, 0.8)
            .iter()
            .zip(bump(&x, 0.9, 0.03, 0.2))
            .map(|(p, q)| p + q + floor)
            .collect();
        let b: Vec<f64> = bump(&x, 0.4, 0.08, 1.6).iter().map(|p| p + floor).collect();
        let c = x
            .iter()
            .flat_map(|&s| x.iter().map(move |&t| (s - t).powi(2)))
            .collect();
        Line { x, c, a, b }
    }
}

/// Row and column sums of a row-major `n x n` plan.
fn marginals(plan: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = plan.chunks_exact(n).map(|r| r.iter().sum()).collect();
    let cols = (0..n)
        .map(|j| (0..n).map(|i| plan[i * n + j]).sum())
        .collect();
    (rows, cols)
}

fn solve<P: kernels_core::sinkhorn::SinkhornKernels<f64>>(
    p: &Line,
    opts: &UnbalancedOpts,
) -> Result<(Report, Vec<f64>, f64)> {
    let n = p.x.len();
    let (mut f, mut g, mut plan) = (vec![0.0; n], vec![0.0; n], vec![0.0; n * n]);
    let mut work = vec![0u8; unbalanced_work_size::<f64>(n, n)?.bytes()];
    let t = Instant::now();
    let rep = sinkhorn_unbalanced::<f64, P>(
        &Sequential,
        Dense::new(&p.c, n, n)?,
        &p.a,
        &p.b,
        opts,
        &mut f,
        &mut g,
        Some(&mut plan),
        &mut work,
    )?;
    Ok((rep, plan, t.elapsed().as_secs_f64()))
}

/// Runs the section.
pub fn run(mode: Mode, _machine: &Machine) -> Section {
    let n = match mode {
        Mode::Full => 400,
        Mode::Quick => 120,
    };
    let (reg, reg_m, tol) = (1e-3, 0.05, 1e-10);
    let p = Line::new(n);
    let mut section = Section::start(
        "Unbalanced optimal transport",
        &format!(
            "`kn_sinkhorn_unbalanced_f64` on a 1-D problem ({n} grid points of [0, 1], \
             squared distance): the source (mass 1) is a bump at 0.3 with a small bump at \
             0.9 far from the target; the target (mass 1.6) is a bump at 0.4. reg = {reg}, \
             KL penalty reg_m = {reg_m} on both marginals, stopping when the potentials \
             move by at most {tol:e} reg. `created` is the mass the plan sends beyond what \
             the source holds (summed over source points), `destroyed` the source's mass \
             that does not leave. \
             `check`: the scalar reference agrees with the SIMD path, and with reg_m = \
             INFINITY on both sides the solver returns `kn_sinkhorn_f64`'s plan bit for \
             bit (on source and target rescaled to mass 1). The last row runs POT's \
             `sinkhorn_unbalanced` (kernel mode, hence reg = 1e-2 there) on the same \
             problem: its plan to stopThr 1e-15 against ours, and the time per iteration \
             of both over 200 fixed iterations (best of 3, one BLAS thread)."
        ),
        &[
            "solver",
            "reg_m",
            "iterations",
            "plan mass",
            "destroyed",
            "created",
            "ms",
            "check",
        ],
    );
    let opts = UnbalancedOpts::default()
        .reg(reg)
        .reg_m(reg_m)
        .tol(tol)
        .max_iter(100_000);
    let (simd, scalar) = (solve::<Simd>(&p, &opts), solve::<Scalar>(&p, &opts));
    let (Ok((rep, plan, secs)), Ok((_, plan_s, _))) = (simd, scalar) else {
        section.ok = false;
        section.row(vec!["unbalanced solve failed".into()]);
        return section;
    };
    let (rows, cols) = marginals(&plan, n);
    let mass: f64 = plan.iter().sum();
    let destroyed: f64 = p.a.iter().zip(&rows).map(|(a, r)| (a - r).max(0.0)).sum();
    let created: f64 = p.a.iter().zip(&rows).map(|(a, r)| (r - a).max(0.0)).sum();
    let gap = plan
        .iter()
        .zip(&plan_s)
        .fold(0.0f64, |d, (x, y)| d.max((x - y).abs()));
    let ok = rep.converged && gap <= 1e-9 * mass && mass > 1.0 && mass < 1.6;
    section.ok &= ok;
    section.row(vec![
        "unbalanced, simd".into(),
        format!("{reg_m}"),
        rep.iterations.to_string(),
        format!("{mass:.4}"),
        format!("{destroyed:.4}"),
        format!("{created:.4}"),
        format!("{:.2}", secs * 1e3),
        format!(
            "{} (max |P scalar - P simd| {gap:.1e})",
            if ok { "ok" } else { "FAIL" }
        ),
    ]);

    // Infinite penalties: the balanced problem, against kn_sinkhorn's solver.
    let unit = |v: &[f64]| {
        let s: f64 = v.iter().sum();
        v.iter().map(|x| x / s).collect::<Vec<f64>>()
    };
    let balanced = Line {
        x: p.x.clone(),
        c: p.c.clone(),
        a: unit(&p.a),
        b: unit(&p.b),
    };
    let hard = UnbalancedOpts::default()
        .reg(0.01)
        .reg_m(f64::INFINITY)
        .tol(1e-300)
        .max_iter(200);
    // The log-domain iteration: the unbalanced solver's (absorption, the default with
    // a plan, agrees to rounding, not bits).
    let base = SinkhornOpts::default()
        .reg(0.01)
        .tol(1e-300)
        .max_iter(200)
        .method(Method::Log);
    let mut plan_b = vec![0.0; n * n];
    let same = solve::<Simd>(&balanced, &hard).and_then(|(rep_u, plan_u, secs)| {
        let (mut f, mut g) = (vec![0.0; n], vec![0.0; n]);
        let mut work = vec![0u8; sinkhorn_work_size::<f64>(n, n)?.bytes()];
        sinkhorn_log::<f64, Simd>(
            &Sequential,
            Dense::new(&balanced.c, n, n)?,
            &balanced.a,
            &balanced.b,
            &base,
            &mut f,
            &mut g,
            Some(&mut plan_b),
            &mut work,
        )?;
        let identical = plan_u
            .iter()
            .zip(&plan_b)
            .all(|(x, y)| x.to_bits() == y.to_bits());
        Ok((rep_u, identical, secs, plan_u.iter().sum::<f64>()))
    });
    match same {
        Ok((rep_u, identical, secs, mass_u)) => {
            section.ok &= identical;
            section.row(vec![
                "unbalanced, simd (200 it)".into(),
                "inf".into(),
                rep_u.iterations.to_string(),
                format!("{mass_u:.4}"),
                "-".into(),
                "-".into(),
                format!("{:.2}", secs * 1e3),
                format!(
                    "{} (plan {} kn_sinkhorn_f64's)",
                    if identical { "ok" } else { "FAIL" },
                    if identical {
                        "bit-identical to"
                    } else {
                        "differs from"
                    }
                ),
            ]);
        }
        Err(e) => {
            section.ok = false;
            section.row(vec![format!("balanced comparison failed: {e:?}")]);
        }
    }

    // The peer runs in the full tour only (the quick one is the test command's).
    if mode == Mode::Full {
        pot_rows(&mut section, &p);
    }

    let series = |name: &str, v: &[f64]| {
        (
            name.to_string(),
            p.x.iter()
                .zip(v)
                .map(|(&x, &y)| (x, y * n as f64))
                .collect(),
        )
    };
    let chart = LineChart {
        title: &format!(
            "Unbalanced transport (reg = {reg}, reg_m = {reg_m}): mass created and destroyed"
        ),
        x_label: "position",
        y_label: "density (mass x grid points)",
        log_x: false,
        log_y: false,
        series: vec![
            series("source a", &p.a),
            series("mass leaving, P 1", &rows),
            series("target b", &p.b),
            series("mass arriving, P^T 1", &cols),
        ],
        bands: Vec::new(),
        reference: None,
    };
    section.plots.push((
        "unbalanced-marginals.svg".into(),
        chart.render(),
        "Where `P 1` stays below `a` (the bump at 0.9, too far to move at this penalty) \
         mass is destroyed; where it rises above `a` (the bump at 0.3, pulled by the \
         heavier target) mass is created; `P^T 1` stops short of `b` where the KL \
         penalty is cheaper than more mass"
            .into(),
    ));
    section
}

/// POT's `sinkhorn_unbalanced` on the same problem at reg = 1e-2 (its kernel mode
/// needs `exp(-C / reg)` representable): the plan to 1e-15 against ours, and the
/// time per iteration of both (a fixed iteration count).
fn pot_rows(section: &mut Section, p: &Line) {
    let (reg, reg_m, iters) = (1e-2, 0.05, 200u32);
    let n = p.x.len();
    let outcome = (|| -> std::result::Result<(f64, f64, String), String> {
        let dir = peer::scratch_dir("unbalanced")?;
        let le = |v: &[f64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let written = peer::write(&dir, "unb_C.bin", le(&p.c).into_iter())
            .and_then(|_| peer::write(&dir, "unb_a.bin", le(&p.a).into_iter()))
            .and_then(|_| peer::write(&dir, "unb_b.bin", le(&p.b).into_iter()));
        let args = [
            dir.display().to_string(),
            n.to_string(),
            reg.to_string(),
            reg_m.to_string(),
            iters.to_string(),
        ];
        let hint = "./scripts/bench.sh unbalanced";
        let out = written.and_then(|_| peer::run("bench/unbalanced_pot.py", &args, hint));
        let plan_bytes = std::fs::read(dir.join("unb_plan.bin")).unwrap_or_default();
        std::fs::remove_dir_all(&dir).ok();
        let pot_secs: f64 = peer::field(&out?, "sec_per_iter")
            .and_then(|v| v.parse().ok())
            .ok_or("SKIPPED: no timing from POT")?;
        let pot_plan: Vec<f64> = plan_bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            .collect();
        let tight = UnbalancedOpts::default()
            .reg(reg)
            .reg_m(reg_m)
            .tol(1e-14)
            .max_iter(1_000_000);
        let (_, plan, _) = solve::<Simd>(p, &tight).map_err(|e| format!("ours failed: {e:?}"))?;
        let scale = pot_plan.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let gap = plan
            .iter()
            .zip(&pot_plan)
            .fold(0.0f64, |d, (x, y)| d.max((x - y).abs()))
            / scale;
        let fixed = UnbalancedOpts::default()
            .reg(reg)
            .reg_m(reg_m)
            .tol(1e-300)
            .max_iter(iters);
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let (_, _, secs) = solve::<Simd>(p, &fixed).map_err(|e| format!("{e:?}"))?;
            best = best.min(secs);
        }
        let ours = best / f64::from(iters);
        Ok((gap, pot_secs / ours, format!("{:.3}", ours * 1e3)))
    })();
    match outcome {
        Ok((gap, speedup, ms)) => {
            let ok = gap <= 1e-8;
            section.ok &= ok;
            section.row(vec![
                format!("unbalanced, simd, reg {reg}: {ms} ms/iter"),
                format!("{reg_m}"),
                format!("{iters} (timed)"),
                "-".into(),
                "-".into(),
                "-".into(),
                format!("POT / ours = {speedup:.1}x per iteration"),
                format!(
                    "{} (plan vs POT sinkhorn_unbalanced, both to 1e-15: {gap:.1e} relative)",
                    if ok { "ok" } else { "FAIL" }
                ),
            ]);
        }
        Err(note) => section.row(vec![note]),
    }
}
