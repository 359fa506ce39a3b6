//! Symmetric positive definite CSR matrices with a chosen size and conditioning.

use kernels_core::{Real, SquareCsr};
use proptest::collection::{SizeRange, vec};
use proptest::prelude::*;

/// A symmetric positive definite matrix in CSR form, with an upper bound on its
/// (2-norm) condition number. Rows have sorted column indices and every diagonal entry,
/// as [`SquareCsr::new`] and the C `kn_cg_csr_*` functions require. Values are `f64`;
/// [`values_as`](SpdCsr::values_as) rounds them for an `f32` kernel.
#[derive(Clone, Debug, PartialEq)]
pub struct SpdCsr {
    /// Rows (and columns).
    pub n: usize,
    /// Row starts, `n + 1` entries.
    pub indptr: Vec<usize>,
    /// Column of each stored entry.
    pub indices: Vec<u32>,
    /// Value of each stored entry.
    pub values: Vec<f64>,
    /// `cond(A) <= cond_bound`, from Gershgorin's discs.
    pub cond_bound: f64,
}

impl SpdCsr {
    /// The values rounded to `T`.
    pub fn values_as<T: Real>(&self) -> Vec<T> {
        self.values.iter().map(|&v| T::of(v)).collect()
    }

    /// The kernels' view of this matrix with `values` (from [`values_as`](Self::values_as)).
    ///
    /// # Panics
    /// If `values` is not this matrix's length (the structure itself is valid by
    /// construction).
    pub fn view<'a, T: Real>(&'a self, values: &'a [T]) -> SquareCsr<'a, T> {
        SquareCsr::new(self.n, &self.indptr, &self.indices, values)
            .expect("SpdCsr values of the matrix's length")
    }

    /// `A x` in `f64`.
    pub fn mul(&self, x: &[f64]) -> Vec<f64> {
        (0..self.n)
            .map(|i| {
                (self.indptr[i]..self.indptr[i + 1])
                    .map(|k| self.values[k] * x[self.indices[k] as usize])
                    .sum()
            })
            .collect()
    }

    /// The relative residual `||b - A x|| / ||b||` in `f64` (`||b - A x||` when `b = 0`).
    pub fn residual<T: Real>(&self, b: &[T], x: &[T]) -> f64 {
        let x: Vec<f64> = x.iter().map(|v| v.to_f64_lossless()).collect();
        let ax = self.mul(&x);
        let r = b
            .iter()
            .zip(&ax)
            .map(|(b, a)| (b.to_f64_lossless() - a).powi(2))
            .sum::<f64>()
            .sqrt();
        let nb = b
            .iter()
            .map(|v| v.to_f64_lossless().powi(2))
            .sum::<f64>()
            .sqrt();
        if nb > 0.0 { r / nb } else { r }
    }
}

/// SPD CSR matrices with `n` in `size` and a condition number at most `max_cond`
/// (> 1): a random sparse symmetric pattern with values in [-1, 1], made diagonally
/// dominant by a margin chosen so that Gershgorin's bound on the condition number is a
/// random value in (1, `max_cond`]. The bound is in [`SpdCsr::cond_bound`].
///
/// # Panics
/// If `max_cond` is not above 1 or `size` allows 0.
pub fn spd_csr(size: impl Into<SizeRange>, max_cond: f64) -> impl Strategy<Value = SpdCsr> {
    assert!(max_cond > 1.0, "spd_csr: max_cond must exceed 1");
    let size: SizeRange = size.into();
    assert!(size.start() >= 1, "spd_csr: matrices need n >= 1");
    (size.start()..size.end_excl())
        .prop_flat_map(move |n| {
            let edges = vec((0..n, 0..n, -1.0f64..=1.0), 0..=2 * n);
            let diag = vec(0.0f64..=1.0, n);
            (Just(n), edges, diag, 0.0f64..=1.0)
        })
        .prop_map(move |(n, edges, diag, t)| build(n, &edges, &diag, 1.0 + t * (max_cond - 1.0)))
}

/// The matrix with the symmetric off-diagonal `edges` and a diagonal that puts
/// Gershgorin's condition bound at `cond` (`diag` in [0, 1] spreads the diagonal of a
/// matrix without off-diagonal entries).
fn build(n: usize, edges: &[(usize, usize, f64)], diag: &[f64], cond: f64) -> SpdCsr {
    let mut dense = vec![0.0f64; n * n];
    for &(i, j, w) in edges {
        if i != j {
            dense[i * n + j] += w;
            dense[j * n + i] += w;
        }
    }
    let radius: Vec<f64> = (0..n)
        .map(|i| (0..n).map(|j| dense[i * n + j].abs()).sum())
        .collect();
    let widest = radius.iter().fold(0.0f64, |m, &r| m.max(r));
    for i in 0..n {
        dense[i * n + i] = if widest > 0.0 {
            // Every disc lies in [margin, 2 widest + margin]: the bound is `cond`.
            radius[i] + 2.0 * widest / (cond - 1.0)
        } else {
            1.0 + diag[i] * (cond - 1.0)
        };
    }
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    let mut m = SpdCsr {
        n,
        indptr: vec![0],
        indices: Vec::new(),
        values: Vec::new(),
        cond_bound: 0.0,
    };
    for i in 0..n {
        for j in 0..n {
            let v = dense[i * n + j];
            if i == j || v != 0.0 {
                m.indices.push(j as u32);
                m.values.push(v);
            }
        }
        m.indptr.push(m.indices.len());
        lo = lo.min(dense[i * n + i] - radius[i]);
        hi = hi.max(dense[i * n + i] + radius[i]);
    }
    m.cond_bound = hi / lo;
    m
}
