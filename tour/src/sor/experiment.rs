//! The SOR experiment of "Learning to Relax": a sequence of shifted Poisson
//! systems, omega chosen per system by fixed rules, by an oracle, and by the two
//! tuners.

use super::sample::Rng;
use kernels_core::SquareCsr;
use kernels_core::sor::{OmegaTuner, sor_solve};
use kernels_simd::Simd;

/// Arms: omega = 1.00, 1.05, ..., 1.95.
pub const ARMS: usize = 20;
const OMEGA_MIN: f64 = 1.0;
const OMEGA_MAX: f64 = 1.95;
/// Grid side (n = 100 unknowns).
const SIDE: usize = 10;
/// Contexts: c = -0.15 + 0.6 Beta(a, b) lies in [C_MIN, C_MAX].
pub const C_MIN: f64 = -0.15;
/// Upper end of the context range.
pub const C_MAX: f64 = 0.45;

/// The omega of arm `k`.
pub fn arm_omega(k: usize) -> f64 {
    OMEGA_MIN + (OMEGA_MAX - OMEGA_MIN) * k as f64 / (ARMS - 1) as f64
}

/// Sweeps to 1e-8 for every instance and every arm, with the contexts.
pub struct Table {
    /// The shift c of each instance.
    pub contexts: Vec<f64>,
    /// Sweeps of each arm on each instance.
    pub sweeps: Vec<[u32; ARMS]>,
}

/// The 5-point Laplacian on the 10x10 grid (diagonal 4), lexicographic CSR, with
/// the positions of the diagonal entries.
fn laplacian() -> (Vec<usize>, Vec<u32>, Vec<f64>, Vec<usize>) {
    let (indptr, indices, values) = super::grid_csr(SIDE, 0.0);
    let diag = (0..SIDE * SIDE)
        .map(|i| {
            (indptr[i]..indptr[i + 1])
                .find(|&k| indices[k] as usize == i)
                .unwrap_or(0)
        })
        .collect();
    (indptr, indices, values, diag)
}

/// Solves `instances` systems `(L + c I) x = b` with every arm (x0 = 0, relative
/// residual 1e-8), c = -0.15 + 0.6 Beta(a, b), b standard normal.
pub fn table(instances: usize, a: f64, b: f64, seed: u64) -> Table {
    let (indptr, indices, mut values, diag) = laplacian();
    let n = SIDE * SIDE;
    let mut rng = Rng::new(seed);
    let mut t = Table {
        contexts: Vec::with_capacity(instances),
        sweeps: Vec::with_capacity(instances),
    };
    let mut x = vec![0.0; n];
    for _ in 0..instances {
        let c = C_MIN + (C_MAX - C_MIN) * rng.beta(a, b);
        // ||b|| <= sqrt(n) truncation of the paper: the relative residual, and so
        // the sweep count, does not depend on the scale of b, so none is needed.
        let rhs: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        for &d in &diag {
            values[d] = 4.0 + c;
        }
        let m = SquareCsr::new(n, &indptr, &indices, &values).expect("a valid matrix");
        let mut row = [0u32; ARMS];
        for (k, s) in row.iter_mut().enumerate() {
            x.fill(0.0);
            let r = sor_solve::<f64, Simd>(&m, &rhs, &mut x, arm_omega(k), 1e-8, 100_000)
                .expect("SPD systems converge");
            *s = r.iterations;
        }
        t.contexts.push(c);
        t.sweeps.push(row);
    }
    t
}

/// A rule for choosing omega and the sweeps it cost on each instance.
pub struct Method {
    /// Name in the table.
    pub name: String,
    /// Sweeps per instance.
    pub sweeps: Vec<f64>,
}

/// Every method of the experiment on one table.
pub fn methods(t: &Table, seed: u64) -> Vec<Method> {
    let fixed = |k: usize| t.sweeps.iter().map(|r| f64::from(r[k])).collect::<Vec<_>>();
    let total = |k: usize| t.sweeps.iter().map(|r| u64::from(r[k])).sum::<u64>();
    let best = (0..ARMS).min_by_key(|&k| total(k)).unwrap_or(0);
    let mut out = vec![Method {
        name: "Gauss-Seidel (omega 1.0)".into(),
        sweeps: fixed(0),
    }];
    for k in [4, 8, 12, 16] {
        out.push(Method {
            name: format!("fixed omega {:.1}", arm_omega(k)),
            sweeps: fixed(k),
        });
    }
    out.push(Method {
        name: format!("best fixed (omega {:.2})", arm_omega(best)),
        sweeps: fixed(best),
    });
    out.push(Method {
        name: "instance-optimal (best arm per system)".into(),
        sweeps: t
            .sweeps
            .iter()
            .map(|r| f64::from(*r.iter().min().unwrap_or(&0)))
            .collect(),
    });
    out.extend(tuners(t, seed));
    out
}

/// Tsallis-INF and the contextual tuner, seeded with `seed`, over the table.
pub fn tuners(t: &Table, seed: u64) -> [Method; 2] {
    let tsallis = OmegaTuner::new(ARMS as u32, OMEGA_MIN, OMEGA_MAX, seed).expect("valid");
    let contextual =
        OmegaTuner::new_contextual(ARMS as u32, OMEGA_MIN, OMEGA_MAX, C_MIN, C_MAX, seed)
            .expect("valid");
    [
        play("Tsallis-INF", tsallis, t),
        play("contextual (ChebCB)", contextual, t),
    ]
}

/// Runs a tuner over the instances; its cost on an instance is the table's sweep
/// count for the omega it drew (the same solve, done once).
fn play(name: &str, mut tuner: OmegaTuner, t: &Table) -> Method {
    let step = (OMEGA_MAX - OMEGA_MIN) / (ARMS - 1) as f64;
    let sweeps = t
        .contexts
        .iter()
        .zip(&t.sweeps)
        .map(|(&c, row)| {
            let omega = tuner.next(c).expect("valid state");
            let k = (((omega - OMEGA_MIN) / step).round() as usize).min(ARMS - 1);
            let cost = f64::from(row[k]);
            // The paper's loss is (iters - 1) / scale, scale the running mean of
            // iters - 1: one sweep is the least any omega can cost, so it is left
            // out of what the tuner compares (the tuner divides by the mean itself).
            tuner.feedback((cost - 1.0).max(0.0)).expect("valid cost");
            cost
        })
        .collect();
    Method {
        name: name.into(),
        sweeps,
    }
}

/// Mean of `v`, and mean of its last `tail` values.
pub fn means(v: &[f64], tail: usize) -> (f64, f64) {
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len().max(1) as f64;
    (mean(v), mean(&v[v.len().saturating_sub(tail)..]))
}
