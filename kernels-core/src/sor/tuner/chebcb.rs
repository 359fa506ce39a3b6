//! ChebCB: a contextual bandit over the arms with one scalar context.
//!
//! Each arm keeps a ridge regression of its cost on Chebyshev features
//! `T_0(z) .. T_5(z)` of the context `z` mapped to `[-1, 1]`: a packed 6x6 Gram
//! matrix `RIDGE I + sum phi phi^T` and the vector `sum phi y`. A round predicts every
//! arm's cost, then samples by inverse-gap weighting (SquareCB): the arm with the
//! lowest prediction gets the remaining mass, every other arm
//! `1 / (K + gamma gap / scale)` with `gamma = GAMMA sqrt(K t)` and `scale` the mean
//! cost so far, so the rule does not depend on the cost's unit.
//!
//! Why this and not Tsallis-INF per context bin: iteration counts vary smoothly with
//! a shift-like context, and a regression shares every observation across all
//! contexts, where bins learn each bin from scratch and make the bin count a
//! tuning knob. Unseen arms predict 0 (the ridge prior), below any real cost, so
//! early rounds try every arm. The price is 27 words of state per arm and a 6x6
//! Cholesky solve per arm per round, negligible next to one linear solve.

use super::layout::{FEATURES, GRAM, PER_ARM, packed};
use num_traits::Float;

/// Ridge added to each Gram diagonal.
pub(super) const RIDGE: f64 = 1.0;
/// Exploration constant of the inverse-gap weighting.
pub(super) const GAMMA: f64 = 1.0;

/// Chebyshev polynomials `T_0 .. T_5` at `z`.
pub(super) fn features(z: f64) -> [f64; FEATURES] {
    let mut phi = [0.0; FEATURES];
    phi[0] = 1.0;
    phi[1] = z;
    for k in 2..FEATURES {
        phi[k] = 2.0 * z * phi[k - 1] - phi[k - 2];
    }
    phi
}

/// A fresh arm model: `RIDGE I` and zeros.
pub(super) fn init(model: &mut [u64]) {
    model.fill(0.0f64.to_bits());
    for i in 0..FEATURES {
        model[packed(i, i)] = RIDGE.to_bits();
    }
}

/// Adds the observation `(phi, y)` to one arm's statistics.
pub(super) fn update(model: &mut [u64], phi: &[f64; FEATURES], y: f64) {
    let add = |w: &mut u64, v: f64| *w = (f64::from_bits(*w) + v).to_bits();
    for i in 0..FEATURES {
        for j in i..FEATURES {
            add(&mut model[packed(i, j)], phi[i] * phi[j]);
        }
        add(&mut model[GRAM + i], phi[i] * y);
    }
}

/// The arm's predicted cost at `phi`: `phi . G^-1 r` by Cholesky. `None` if the
/// Gram matrix is not positive definite (only a corrupted state can do that).
pub(super) fn predict(model: &[u64], phi: &[f64; FEATURES]) -> Option<f64> {
    if model.len() < PER_ARM {
        return None;
    }
    let g = |i: usize, j: usize| f64::from_bits(model[packed(i.min(j), i.max(j))]);
    // Lower Cholesky factor, row by row.
    let mut l = [[0.0f64; FEATURES]; FEATURES];
    for i in 0..FEATURES {
        for j in 0..=i {
            let s = g(i, j) - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i][i] = Float::sqrt(s);
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    // Solve L u = r, then L^T theta = u.
    let mut u = [0.0f64; FEATURES];
    for i in 0..FEATURES {
        let r = f64::from_bits(model[GRAM + i]);
        u[i] = (r - (0..i).map(|k| l[i][k] * u[k]).sum::<f64>()) / l[i][i];
    }
    let mut theta = [0.0f64; FEATURES];
    for i in (0..FEATURES).rev() {
        let s = (i + 1..FEATURES).map(|k| l[k][i] * theta[k]).sum::<f64>();
        theta[i] = (u[i] - s) / l[i][i];
    }
    let y: f64 = theta.iter().zip(phi).map(|(t, p)| t * p).sum();
    y.is_finite().then_some(y)
}

/// Inverse-gap weights from predictions `pred` (all finite), written to `p`.
pub(super) fn igw(pred: &[f64], t: u64, scale: f64, p: &mut [f64]) {
    let k = pred.len() as f64;
    let gamma = GAMMA * Float::sqrt(k * t as f64);
    let (best, &min) =
        pred.iter().enumerate().fold(
            (0, &f64::INFINITY),
            |acc, (i, v)| if *v < *acc.1 { (i, v) } else { acc },
        );
    let mut rest = 0.0;
    for (i, (pi, &y)) in p.iter_mut().zip(pred).enumerate() {
        if i != best {
            *pi = 1.0 / (k + gamma * (y - min) / scale);
            rest += *pi;
        }
    }
    if let Some(pb) = p.get_mut(best) {
        *pb = 1.0 - rest;
    }
}
