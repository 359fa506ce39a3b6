//! Entropic optimal transport problems: costs, marginals and a regularisation.

use kernels_core::sinkhorn::SinkhornOpts;
use kernels_core::{Dense, Real};
use proptest::collection::{SizeRange, vec};
use proptest::prelude::*;
use std::ops::Range;

/// An entropic optimal transport problem `min <P, C> + reg sum P (log P - 1)` with
/// `P 1 = a`, `P^T 1 = b`: the input of `sinkhorn_log`, `scale` (with `exp(-C / reg)`),
/// `sns` and `kn_sinkhorn_*`.
#[derive(Clone, Debug, PartialEq)]
pub struct Transport {
    /// Rows (source points).
    pub n: usize,
    /// Columns (target points).
    pub m: usize,
    /// `n * m` row-major costs in [0, 1]: squared distances of points in the unit
    /// square, divided by the largest.
    pub cost: Vec<f64>,
    /// Source marginal, positive, summing to 1.
    pub a: Vec<f64>,
    /// Target marginal, positive, summing to 1.
    pub b: Vec<f64>,
    /// The entropic regularisation.
    pub reg: f64,
}

impl Transport {
    /// `values` (the cost, or anything else `n * m`) viewed as the `n x m` matrix.
    ///
    /// # Panics
    /// If `values` does not have `n * m` entries.
    pub fn matrix<'a, T: Real>(&self, values: &'a [T]) -> Dense<'a, T> {
        Dense::new(values, self.n, self.m).expect("n * m values")
    }

    /// `v` rounded to `T`.
    pub fn cast<T: Real>(v: &[f64]) -> Vec<T> {
        v.iter().map(|&x| T::of(x)).collect()
    }

    /// Default Sinkhorn options with this problem's `reg`.
    pub fn opts(&self) -> SinkhornOpts {
        SinkhornOpts::default().reg(self.reg)
    }
}

/// Transport problems with `n` in `rows`, `m` in `cols` and `reg` in `reg` (costs
/// are at most 1, so `reg` is relative to the largest cost). Points are uniform in the
/// unit square; marginal weights are uniform in [0.1, 1] before normalisation, so no
/// mass is tiny.
///
/// # Panics
/// If a size range allows 0 or `reg` is not positive.
pub fn transport(
    rows: impl Into<SizeRange>,
    cols: impl Into<SizeRange>,
    reg: Range<f64>,
) -> impl Strategy<Value = Transport> {
    let (rows, cols): (SizeRange, SizeRange) = (rows.into(), cols.into());
    assert!(
        rows.start() >= 1 && cols.start() >= 1,
        "transport: sizes >= 1"
    );
    assert!(reg.start > 0.0, "transport: reg must be positive");
    (rows.start()..rows.end_excl(), cols.start()..cols.end_excl())
        .prop_flat_map(move |(n, m)| {
            let points = |k| vec((0.0f64..1.0, 0.0f64..1.0), k);
            let weights = |k| vec(0.1f64..1.0, k);
            (points(n), points(m), weights(n), weights(m), reg.clone())
        })
        .prop_map(|(x, y, wa, wb, reg)| {
            let mut cost: Vec<f64> = x
                .iter()
                .flat_map(|p| {
                    y.iter()
                        .map(move |q| (p.0 - q.0).powi(2) + (p.1 - q.1).powi(2))
                })
                .collect();
            let top = cost.iter().fold(0.0f64, |t, &c| t.max(c));
            if top > 0.0 {
                cost.iter_mut().for_each(|c| *c /= top);
            }
            let normalise = |w: Vec<f64>| {
                let s: f64 = w.iter().sum();
                w.into_iter().map(|v| v / s).collect::<Vec<f64>>()
            };
            Transport {
                n: x.len(),
                m: y.len(),
                cost,
                a: normalise(wa),
                b: normalise(wb),
                reg,
            }
        })
}
