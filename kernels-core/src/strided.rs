//! Strided matrix views for the small matrix products of the attention kernels.
//!
//! A [`Strided`] view addresses element `(i, j)` at `i * row_stride + j * col_stride`,
//! so one type covers a row-major block of a larger matrix (a chunk of a sequence, the
//! lower-left part of a score block) and a transpose without a copy (`K^T` of a
//! row-major `K` is `K` with the two strides swapped). The constructor checks that
//! every addressed element lies inside the slice, so products over a valid view never
//! index out of bounds.

use crate::{Error, Result, checked_product};

/// The offset one past the last element a view addresses (0 when it is empty).
fn extent(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> Result<usize> {
    if rows == 0 || cols == 0 {
        return Ok(0);
    }
    let last_row = checked_product(&[rows - 1, row_stride])?;
    let last_col = checked_product(&[cols - 1, col_stride])?;
    last_row
        .checked_add(last_col)
        .and_then(|e| e.checked_add(1))
        .ok_or(Error::Dimension)
}

/// A read-only strided view of a `rows x cols` matrix.
#[derive(Clone, Copy, Debug)]
pub struct Strided<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, T> Strided<'a, T> {
    /// Views `data` with the given strides. [`Error::Dimension`] if an addressed
    /// element would lie past the end of `data` (or its offset overflows).
    pub fn new(
        data: &'a [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<Self> {
        if extent(rows, cols, row_stride, col_stride)? > data.len() {
            return Err(Error::Dimension);
        }
        Ok(Strided {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        })
    }

    /// A row-major `rows x cols` view whose rows start `row_stride` apart.
    pub fn rows(data: &'a [T], rows: usize, cols: usize, row_stride: usize) -> Result<Self> {
        Self::new(data, rows, cols, row_stride, 1)
    }

    /// The transpose, without a copy.
    pub fn t(self) -> Self {
        Strided {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.cols
    }

    /// Distance between the starts of consecutive rows.
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }

    /// Distance between consecutive elements of a row.
    pub fn col_stride(&self) -> usize {
        self.col_stride
    }

    /// The underlying slice (element `(i, j)` at `i * row_stride + j * col_stride`).
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// Element `(i, j)`. Panics if out of range, like slice indexing.
    #[inline(always)]
    pub fn at(&self, i: usize, j: usize) -> &'a T {
        &self.data[i * self.row_stride + j * self.col_stride]
    }

    /// Row `i` as a contiguous slice when the columns are contiguous (`col_stride`
    /// 1 or a single column); `None` otherwise or when `i >= rows`.
    pub fn row(&self, i: usize) -> Option<&'a [T]> {
        if i >= self.rows || !(self.col_stride == 1 || self.cols <= 1) {
            return None;
        }
        let start = i * self.row_stride;
        self.data.get(start..start + self.cols)
    }
}

/// A mutable strided view of a `rows x cols` matrix.
#[derive(Debug)]
pub struct StridedMut<'a, T> {
    data: &'a mut [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, T> StridedMut<'a, T> {
    /// Views `data` with the given strides; as [`Strided::new`]. Distinct elements
    /// must not share an offset: strides under which two elements would overlap (rows
    /// closer together than a row is long, and columns closer than a column) are
    /// [`Error::Argument`].
    pub fn new(
        data: &'a mut [T],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<Self> {
        if extent(rows, cols, row_stride, col_stride)? > data.len() {
            return Err(Error::Dimension);
        }
        // Disjoint when the elements of each row and of each column are distinct and
        // one stride steps over the whole extent of the other dimension (row-major
        // and column-major layouts, with any padding).
        let empty = rows == 0 || cols == 0;
        let distinct = (cols <= 1 || col_stride > 0) && (rows <= 1 || row_stride > 0);
        let rows_apart = rows <= 1 || row_stride > (cols - 1).saturating_mul(col_stride);
        let cols_apart = cols <= 1 || col_stride > (rows - 1).saturating_mul(row_stride);
        if !(empty || distinct && (rows_apart || cols_apart)) {
            return Err(Error::Argument);
        }
        Ok(StridedMut {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        })
    }

    /// A row-major `rows x cols` view whose rows start `row_stride` apart.
    pub fn rows(data: &'a mut [T], rows: usize, cols: usize, row_stride: usize) -> Result<Self> {
        Self::new(data, rows, cols, row_stride, 1)
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.cols
    }

    /// Distance between the starts of consecutive rows.
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }

    /// Distance between consecutive elements of a row.
    pub fn col_stride(&self) -> usize {
        self.col_stride
    }

    /// A read-only view of the same elements.
    pub fn as_ref(&self) -> Strided<'_, T> {
        Strided {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            row_stride: self.row_stride,
            col_stride: self.col_stride,
        }
    }

    /// Element `(i, j)`. Panics if out of range, like slice indexing.
    #[inline(always)]
    pub fn at_mut(&mut self, i: usize, j: usize) -> &mut T {
        &mut self.data[i * self.row_stride + j * self.col_stride]
    }

    /// Row `i` as a contiguous mutable slice when the columns are contiguous;
    /// `None` otherwise or when `i >= rows`.
    pub fn row_mut(&mut self, i: usize) -> Option<&mut [T]> {
        if i >= self.rows || !(self.col_stride == 1 || self.cols <= 1) {
            return None;
        }
        let start = i * self.row_stride;
        self.data.get_mut(start..start + self.cols)
    }

    /// The underlying slice.
    pub fn data_mut(&mut self) -> &mut [T] {
        self.data
    }
}

/// The sizes `(m, n, k)` of the product `C += alpha A diag(w) B` (`A` is `m x k`, `B`
/// is `k x n`, `w` has `k` entries), cut to what every operand holds so that a
/// mismatch (a caller bug, asserted in debug builds) never indexes out of bounds.
pub fn product_dims<T>(
    a: &Strided<'_, T>,
    w: Option<&[T]>,
    b: &Strided<'_, T>,
    c: &StridedMut<'_, T>,
) -> (usize, usize, usize) {
    debug_assert!(a.n_rows() == c.n_rows() && b.n_cols() == c.n_cols());
    debug_assert!(a.n_cols() == b.n_rows() && w.is_none_or(|w| w.len() == a.n_cols()));
    let m = a.n_rows().min(c.n_rows());
    let n = b.n_cols().min(c.n_cols());
    let k = a
        .n_cols()
        .min(b.n_rows())
        .min(w.map_or(usize::MAX, <[T]>::len));
    (m, n, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extents_are_checked() {
        let d = [0.0f32; 12];
        assert!(Strided::rows(&d, 3, 4, 4).is_ok());
        assert!(Strided::rows(&d, 2, 4, 8).is_ok()); // 8 + 3 + 1 = 12
        assert_eq!(Strided::rows(&d, 3, 4, 5).unwrap_err(), Error::Dimension);
        assert_eq!(
            Strided::new(&d, 2, 2, usize::MAX, 1).unwrap_err(),
            Error::Dimension
        );
        assert!(Strided::rows(&d, 0, 100, 100).is_ok());
        let t = Strided::rows(&d, 3, 4, 4).unwrap().t();
        assert_eq!((t.n_rows(), t.n_cols()), (4, 3));
        assert!(t.row(0).is_none());
        let mut m = [0.0f32; 8];
        assert_eq!(
            StridedMut::new(&mut m, 2, 2, 0, 1).unwrap_err(),
            Error::Argument
        );
        // Rows overlapping (stride 2 for rows of 3) are refused; row- and
        // column-major layouts and a single row are fine.
        assert_eq!(
            StridedMut::new(&mut m, 2, 3, 2, 1).unwrap_err(),
            Error::Argument
        );
        assert!(StridedMut::new(&mut m, 2, 3, 3, 1).is_ok());
        assert!(StridedMut::new(&mut m, 3, 2, 1, 3).is_ok());
        assert!(StridedMut::new(&mut m, 1, 8, 100, 1).is_ok());
        assert_eq!(StridedMut::rows(&mut m, 3, 2, 2).unwrap().row_mut(3), None);
    }

    #[test]
    fn transpose_addresses_the_same_elements() {
        let d: [f64; 6] = core::array::from_fn(|i| i as f64);
        let a = Strided::rows(&d, 2, 3, 3).unwrap();
        let t = a.t();
        for i in 0..2 {
            for j in 0..3 {
                assert_eq!(a.at(i, j), t.at(j, i));
            }
        }
        assert_eq!(a.row(1).unwrap(), &[3.0, 4.0, 5.0]);
    }
}
