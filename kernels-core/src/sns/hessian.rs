//! The sparsified Newton matrix, assembled in CSR inside the workspace.
//!
//! With the kept plan entries `Q` (a subset of `P`) and the exact marginals
//! `r = P 1`, `s = P^T 1`, the matrix is
//! `[[diag(r), Q], [Q^T, diag(s)]]` (that is `-eps` times the sparsified
//! Hessian of the dual) without its last row and column: the last `g` is held
//! fixed. Rows `i < n` store `(i, r_i)` then `(n + j, Q_ij)`; rows `n + j` store
//! `(i, Q_ij)` then `(n + j, s_j)`: column indices ascend in every row.

use super::select::Keep;
use crate::{Error, Real, Result};

/// The CSR arrays of the Newton matrix; `indices` and `values` have room for
/// [`capacity`] entries.
pub(crate) struct NewtonCsr<'a, T> {
    pub indptr: &'a mut [usize],
    pub indices: &'a mut [u32],
    pub values: &'a mut [T],
}

/// The order of the Newton matrix for an `n x m` plan: `n + m - 1`;
/// [`Error::Dimension`] when it overflows or its column indices would not fit
/// `u32`.
pub(crate) fn order(n: usize, m: usize) -> Result<usize> {
    let order = n.checked_add(m - 1).ok_or(Error::Dimension)?;
    if u32::try_from(order).is_err() {
        return Err(Error::Dimension);
    }
    Ok(order)
}

/// The most entries the matrix can hold with `kept` plan entries: the diagonal and
/// each kept entry twice.
pub(crate) fn capacity(order: usize, kept: usize) -> Result<usize> {
    kept.checked_mul(2)
        .and_then(|k| k.checked_add(order))
        .ok_or(Error::Dimension)
}

/// Assembles the matrix from the plan (`rows.len() x cols.len()`, row-major), its
/// marginals and the rule `keep` that selects the entries of `Q`. `cursor` (m) is
/// scratch. Returns the number of stored entries.
pub(crate) fn assemble<T: Real>(
    plan: &[T],
    rows: &[T],
    cols: &[T],
    keep: Keep,
    cursor: &mut [usize],
    out: &mut NewtonCsr<'_, T>,
) -> Result<usize> {
    let (n, m) = (rows.len(), cols.len());
    let last = m - 1;
    // Pass 1: entries per row of the top block (into indptr) and per column.
    cursor.fill(0);
    let mut rule = keep;
    for (i, row) in plan.chunks_exact(m).enumerate() {
        let mut count = 1;
        for (j, &v) in row.iter().enumerate() {
            if rule.take(v) && j < last {
                count += 1;
                cursor[j] += 1;
            }
        }
        *out.indptr.get_mut(i + 1).ok_or(Error::Internal)? = count;
    }
    // Row pointers; each column row's cursor starts at its first slot.
    out.indptr[0] = 0;
    for i in 0..n {
        out.indptr[i + 1] += out.indptr[i];
    }
    for (j, slot) in cursor.iter_mut().take(last).enumerate() {
        let start = out.indptr[n + j];
        out.indptr[n + j + 1] = start + *slot + 1;
        *slot = start;
    }
    let nnz = out.indptr[n + last];
    if nnz > out.indices.len() || nnz > out.values.len() {
        return Err(Error::Internal);
    }
    // Pass 2: the same rule in the same order, now writing.
    let mut rule = keep;
    for (i, (row, &r)) in plan.chunks_exact(m).zip(rows).enumerate() {
        let mut pos = out.indptr[i];
        out.indices[pos] = i as u32;
        out.values[pos] = r;
        for (j, &v) in row.iter().enumerate() {
            if rule.take(v) && j < last {
                pos += 1;
                out.indices[pos] = (n + j) as u32;
                out.values[pos] = v;
                let at = cursor[j];
                out.indices[at] = i as u32;
                out.values[at] = v;
                cursor[j] += 1;
            }
        }
    }
    for (j, &s) in cols.iter().take(last).enumerate() {
        let at = cursor[j];
        out.indices[at] = (n + j) as u32;
        out.values[at] = s;
    }
    Ok(nnz)
}

#[cfg(test)]
mod tests {
    use super::super::select::{BUCKETS, Keep};
    use super::*;
    use crate::Csr;

    #[test]
    fn assembles_the_full_matrix_when_everything_is_kept() {
        // 2 x 3 plan; keeping all 6 entries gives the exact 4 x 4 matrix.
        let plan = [0.1f64, 0.2, 0.3, 0.4, 0.5, 0.6];
        let rows = [0.6, 1.5];
        let cols = [0.5, 0.7, 0.9];
        let mut hist = [0usize; BUCKETS];
        let keep = Keep::largest(&plan, 6, 0.0, &mut hist);
        let (mut indptr, mut indices, mut values) = ([0usize; 5], [0u32; 16], [0.0f64; 16]);
        let mut cursor = [0usize; 3];
        let mut out = NewtonCsr {
            indptr: &mut indptr,
            indices: &mut indices,
            values: &mut values,
        };
        let nnz = assemble(&plan, &rows, &cols, keep, &mut cursor, &mut out).unwrap();
        assert_eq!(nnz, 4 + 2 * 4);
        let csr = Csr::new(4, 4, &indptr, &indices[..nnz], &values[..nnz]).unwrap();
        let want = [
            [0.6, 0.0, 0.1, 0.2],
            [0.0, 1.5, 0.4, 0.5],
            [0.1, 0.4, 0.5, 0.0],
            [0.2, 0.5, 0.0, 0.7],
        ];
        for (i, row) in want.iter().enumerate() {
            for (j, &w) in row.iter().enumerate() {
                assert_eq!(csr.get(i, j).copied().unwrap_or(0.0), w, "({i}, {j})");
            }
        }
    }
}
