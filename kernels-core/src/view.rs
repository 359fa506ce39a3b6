//! Read-only views of caller matrices, validated once at the boundary.

use crate::{Error, Real, Result};

/// The product of sizes, or [`Error::Dimension`] when it overflows `usize`.
pub fn checked_product(dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or(Error::Dimension)
}

/// [`Error::NonFinite`] if any value is NaN or infinite.
pub fn check_finite<T: Real>(x: &[T]) -> Result<()> {
    if x.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::NonFinite)
    }
}

/// A dense row-major matrix view: `rows * cols` values, row `i` at `i * cols`.
#[derive(Clone, Copy, Debug)]
pub struct Dense<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
}

impl<'a, T> Dense<'a, T> {
    /// Views `data` as `rows x cols`. Fails with [`Error::Dimension`] if the product
    /// overflows or differs from `data.len()`. Zero sizes are allowed here; kernels
    /// that need a nonempty matrix say so themselves.
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Result<Self> {
        if checked_product(&[rows, cols])? != data.len() {
            return Err(Error::Dimension);
        }
        Ok(Dense { data, rows, cols })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// All values, row-major.
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// Row `i` (`cols` values). Panics if `i >= rows`, like slice indexing.
    pub fn row(&self, i: usize) -> &'a [T] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The rows in order.
    pub fn row_iter(&self) -> impl ExactSizeIterator<Item = &'a [T]> + 'a {
        // chunks_exact panics on a zero chunk size; a matrix with no columns has rows
        // of length zero, produced here without it.
        let cols = self.cols;
        let data = self.data;
        (0..self.rows).map(move |i| &data[i * cols..(i + 1) * cols])
    }
}

/// A compressed sparse row matrix view.
///
/// Valid means: `indptr` has `n_rows + 1` entries, starts at 0 and never decreases;
/// `indices` and `values` have `indptr[n_rows]` entries; within each row the column
/// indices are strictly increasing and below `n_cols`.
#[derive(Clone, Copy, Debug)]
pub struct Csr<'a, T> {
    n_rows: usize,
    n_cols: usize,
    indptr: &'a [usize],
    indices: &'a [u32],
    values: &'a [T],
}

impl<'a, T> Csr<'a, T> {
    /// Validates and views a CSR matrix.
    ///
    /// Wrong lengths are [`Error::Dimension`]; a malformed structure (indptr not
    /// starting at 0 or decreasing, unsorted, repeated or out-of-range column indices)
    /// is [`Error::Argument`]. Values are not inspected: see [`check_finite`].
    pub fn new(
        n_rows: usize,
        n_cols: usize,
        indptr: &'a [usize],
        indices: &'a [u32],
        values: &'a [T],
    ) -> Result<Self> {
        if Some(indptr.len()) != n_rows.checked_add(1) {
            return Err(Error::Dimension);
        }
        if indptr[0] != 0 {
            return Err(Error::Argument);
        }
        if indptr.windows(2).any(|w| w[1] < w[0]) {
            return Err(Error::Argument);
        }
        let nnz = indptr[n_rows];
        if indices.len() != nnz || values.len() != nnz {
            return Err(Error::Dimension);
        }
        for w in indptr.windows(2) {
            let cols = &indices[w[0]..w[1]];
            let sorted = cols.windows(2).all(|c| c[0] < c[1]);
            let in_range = cols.last().is_none_or(|&c| (c as usize) < n_cols);
            if !sorted || !in_range {
                return Err(Error::Argument);
            }
        }
        Ok(Csr {
            n_rows,
            n_cols,
            indptr,
            indices,
            values,
        })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.values.len()
    }

    /// Row pointers (`n_rows + 1`).
    pub fn indptr(&self) -> &'a [usize] {
        self.indptr
    }

    /// Column indices of all rows, concatenated.
    pub fn indices(&self) -> &'a [u32] {
        self.indices
    }

    /// Values of all rows, concatenated.
    pub fn values(&self) -> &'a [T] {
        self.values
    }

    /// Column indices and values of row `i`. Panics if `i >= n_rows`.
    pub fn row(&self, i: usize) -> (&'a [u32], &'a [T]) {
        let (start, end) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[start..end], &self.values[start..end])
    }

    /// The stored entry at (`i`, `j`), found by binary search in row `i`.
    pub fn get(&self, i: usize, j: usize) -> Option<&'a T> {
        let (cols, vals) = self.row(i);
        let j = u32::try_from(j).ok()?;
        cols.binary_search(&j).ok().map(|k| &vals[k])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_checks_the_product() {
        let data = [1.0f64; 6];
        assert!(Dense::new(&data, 2, 3).is_ok());
        assert_eq!(Dense::new(&data, 4, 2).unwrap_err(), Error::Dimension);
        assert_eq!(
            Dense::new(&data, usize::MAX, 3).unwrap_err(),
            Error::Dimension
        );
        let empty: [f64; 0] = [];
        let m = Dense::new(&empty, 3, 0).unwrap();
        assert_eq!(m.row_iter().count(), 3);
    }

    #[test]
    fn csr_accepts_a_valid_matrix() {
        // [[4, 1, 0], [1, 4, 1], [0, 1, 4]]
        let indptr = [0, 2, 5, 7];
        let indices = [0, 1, 0, 1, 2, 1, 2];
        let values = [4.0, 1.0, 1.0, 4.0, 1.0, 1.0, 4.0];
        let a = Csr::new(3, 3, &indptr, &indices, &values).unwrap();
        assert_eq!(a.nnz(), 7);
        assert_eq!(a.get(1, 2), Some(&1.0));
        assert_eq!(a.get(0, 2), None);
        assert_eq!(a.row(2), (&indices[5..7], &values[5..7]));
    }

    #[test]
    fn csr_rejects_each_malformation() {
        let v = [1.0f32; 4];
        // indptr of the wrong length
        assert_eq!(
            Csr::new(2, 2, &[0, 4], &[0, 1, 0, 1], &v).unwrap_err(),
            Error::Dimension
        );
        // indptr not starting at zero
        assert_eq!(
            Csr::new(2, 2, &[1, 2, 4], &[0, 1, 0, 1], &v).unwrap_err(),
            Error::Argument
        );
        // decreasing indptr
        assert_eq!(
            Csr::new(2, 2, &[0, 3, 2], &[0, 1, 0, 1], &v).unwrap_err(),
            Error::Argument
        );
        // nnz disagreeing with indices/values
        assert_eq!(
            Csr::new(2, 2, &[0, 2, 3], &[0, 1, 0, 1], &v).unwrap_err(),
            Error::Dimension
        );
        // unsorted and repeated column indices
        assert_eq!(
            Csr::new(2, 2, &[0, 2, 4], &[1, 0, 0, 1], &v).unwrap_err(),
            Error::Argument
        );
        assert_eq!(
            Csr::new(2, 2, &[0, 2, 4], &[0, 0, 0, 1], &v).unwrap_err(),
            Error::Argument
        );
        // column index out of range
        assert_eq!(
            Csr::new(2, 2, &[0, 2, 4], &[0, 1, 0, 2], &v).unwrap_err(),
            Error::Argument
        );
        // n_rows + 1 overflowing
        assert_eq!(
            Csr::new(usize::MAX, 2, &[0], &[], &v[..0]).unwrap_err(),
            Error::Dimension
        );
    }

    #[test]
    fn finite_check() {
        assert!(check_finite(&[1.0f64, -2.0, 0.0]).is_ok());
        assert_eq!(
            check_finite(&[1.0, f64::NAN]).unwrap_err(),
            Error::NonFinite
        );
        assert_eq!(
            check_finite(&[f32::NEG_INFINITY]).unwrap_err(),
            Error::NonFinite
        );
    }
}

/// A validated square CSR matrix: `n > 0`, well formed, every diagonal entry stored
/// and nonzero, every value finite. What SOR sweeps, CG multiplies and SNS builds its
/// Newton systems in; validated once by [`SquareCsr::new`], so the kernels that take
/// it do not check it again.
#[derive(Clone, Copy, Debug)]
pub struct SquareCsr<'a, T> {
    csr: Csr<'a, T>,
}

impl<'a, T: Real> SquareCsr<'a, T> {
    /// Validates an `n x n` CSR matrix.
    ///
    /// Errors: `n == 0` or lengths that disagree, [`Error::Dimension`]; a malformed
    /// structure or a zero or missing diagonal entry, [`Error::Argument`]; a NaN or
    /// infinite value, [`Error::NonFinite`].
    pub fn new(n: usize, indptr: &'a [usize], indices: &'a [u32], values: &'a [T]) -> Result<Self> {
        if n == 0 {
            return Err(Error::Dimension);
        }
        let csr = Csr::new(n, n, indptr, indices, values)?;
        for i in 0..n {
            match csr.get(i, i) {
                Some(d) if *d != T::zero() => {}
                _ => return Err(Error::Argument),
            }
        }
        check_finite(values)?;
        Ok(SquareCsr { csr })
    }

    /// Views arrays that passed [`SquareCsr::new`] earlier and have not changed since,
    /// without checking them again: for a caller that validated once and sweeps many
    /// times (the C library's CSR handle). Nothing is checked beyond the lengths that
    /// slicing needs; if the promise is broken the kernels compute garbage or panic,
    /// never worse (this crate has no `unsafe`).
    pub fn from_validated_parts(
        n: usize,
        indptr: &'a [usize],
        indices: &'a [u32],
        values: &'a [T],
    ) -> Self {
        SquareCsr {
            csr: Csr {
                n_rows: n,
                n_cols: n,
                indptr,
                indices,
                values,
            },
        }
    }

    /// The order `n`.
    pub fn n(&self) -> usize {
        self.csr.n_rows()
    }

    /// The underlying CSR view.
    pub fn csr(&self) -> Csr<'a, T> {
        self.csr
    }
}
