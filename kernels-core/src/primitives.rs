//! The base primitives: the element-wise, reduction and small dense/sparse building
//! blocks every kernel family uses.
//!
//! An algorithm in this crate is written once as `fn kernel<T: Real, P: Kernels<T>>`,
//! where `Kernels` is its family's kernel trait (`sinkhorn::SinkhornKernels`,
//! `cg::CgKernels`, ...), which extends [`Primitives`]. Every method has a default
//! body: the plain scalar reference (one element at a time, left to right, products
//! and sums rounded separately). [`Scalar`](crate::Scalar) takes every default;
//! `kernels-simd` overrides the loops it speeds up. Overrides may sum in a different
//! order, so their results agree with the defaults within the tolerances each
//! implementation documents, not bit for bit.
//!
//! Lengths: the slices passed to one call must have the lengths the documentation
//! names; callers validate dimensions first. Implementations never panic on a
//! mismatch: they process the common prefix only (and debug builds assert).

use crate::{Dense, Real, Strided, StridedMut};

/// Vector, matrix and CSR-row building blocks shared by every kernel family, with the
/// scalar reference as the default body of each.
pub trait Primitives<T: Real> {
    /// A short name for reports, e.g. `"scalar"` or `"simd f32x8"`.
    fn name() -> &'static str {
        "scalar"
    }

    /// `sum_i x_i y_i`.
    fn dot(x: &[T], y: &[T]) -> T {
        debug_assert_eq!(x.len(), y.len());
        x.iter().zip(y).fold(T::zero(), |acc, (&a, &b)| acc + a * b)
    }

    /// `y <- y + a x`.
    fn axpy(a: T, x: &[T], y: &mut [T]) {
        debug_assert_eq!(x.len(), y.len());
        for (yi, &xi) in y.iter_mut().zip(x) {
            *yi = *yi + a * xi;
        }
    }

    /// `x <- a x`.
    fn scale(a: T, x: &mut [T]) {
        for xi in x {
            *xi = *xi * a;
        }
    }

    /// `sum_i x_i` (0 when empty).
    fn sum(x: &[T]) -> T {
        x.iter().fold(T::zero(), |acc, &v| acc + v)
    }

    /// `max_i x_i` (negative infinity when empty). Inputs must not hold NaN.
    fn max(x: &[T]) -> T {
        x.iter()
            .fold(T::neg_infinity(), |m, &v| if v > m { v } else { m })
    }

    /// `log sum_i exp(x_i)`, with the maximum shifted out so that it neither
    /// overflows nor underflows. Negative infinity when empty or when every `x_i` is
    /// negative infinity.
    fn lse(x: &[T]) -> T {
        let m = Self::max(x);
        if !m.is_finite() {
            // All -inf (or empty): -inf. Some +inf: +inf. Shifting would give NaN.
            return m;
        }
        let s = x.iter().fold(T::zero(), |acc, &v| acc + (v - m).exp());
        m + s.ln()
    }

    /// `y <- A x` for a dense row-major `A` (`rows x cols`), `x` of `cols`, `y` of
    /// `rows`.
    fn gemv(a: Dense<'_, T>, x: &[T], y: &mut [T]) {
        debug_assert!(x.len() == a.cols() && y.len() == a.rows());
        for (yi, row) in y.iter_mut().zip(a.row_iter()) {
            *yi = Self::dot(row, x);
        }
    }

    /// `y <- A^T x` for a dense row-major `A` (`rows x cols`), `x` of `rows`, `y` of
    /// `cols`. Streams `A` once, row by row.
    fn gemv_t(a: Dense<'_, T>, x: &[T], y: &mut [T]) {
        debug_assert!(x.len() == a.rows() && y.len() == a.cols());
        y.fill(T::zero());
        for (&xi, row) in x.iter().zip(a.row_iter()) {
            Self::axpy(xi, row, y);
        }
    }

    /// `C <- C + alpha A diag(w) B` for `A` (`m x k`), `w` (`k`, `None` = ones), `B`
    /// (`k x n`) and `C` (`m x n`): the small dense products of chunked attention.
    ///
    /// Any strides are accepted; the fast paths want `B` and `C` with contiguous
    /// rows (`col_stride` 1) and `A` with contiguous rows or columns (so `A` may be a
    /// transpose, e.g. `K^T` for a rank-`k` update of a state). Dimensions that
    /// disagree are cut to their common prefix.
    fn gemm(
        alpha: T,
        a: Strided<'_, T>,
        w: Option<&[T]>,
        b: Strided<'_, T>,
        mut c: StridedMut<'_, T>,
    ) {
        let (m, n, k) = crate::product_dims(&a, w, &b, &c);
        for i in 0..m {
            for p in 0..k {
                let weight = w.map_or(T::one(), |w| w[p]);
                let aip = alpha * *a.at(i, p) * weight;
                for j in 0..n {
                    let cij = c.at_mut(i, j);
                    *cij = *cij + aip * *b.at(p, j);
                }
            }
        }
    }

    /// `sum_k vals[k] x[cols[k]]`: one row of a CSR matrix-vector product. A column
    /// index beyond `x` contributes nothing (callers validate the structure first).
    fn csr_dot(cols: &[u32], vals: &[T], x: &[T]) -> T {
        debug_assert_eq!(cols.len(), vals.len());
        cols.iter()
            .zip(vals)
            .fold(T::zero(), |acc, (&c, &v)| match x.get(c as usize) {
                Some(&xc) => acc + v * xc,
                None => acc,
            })
    }

    /// One CSR row against `x` with two columns split off: returns
    /// `(sum over k with cols[k] not in {diag, recent} of vals[k] x[cols[k]],
    /// the value stored at column diag, the value stored at column recent)`, a value
    /// that is not stored being 0. A column index beyond `x` contributes nothing
    /// (callers validate the structure first). `recent` is the row a sweep updated
    /// last: leaving it out lets the sweep keep that value in a register, off the
    /// chain of dependent rows (`usize::MAX` for none).
    #[inline]
    fn csr_row_split(cols: &[u32], vals: &[T], x: &[T], diag: usize, recent: usize) -> (T, T, T) {
        debug_assert_eq!(cols.len(), vals.len());
        let (mut off, mut d, mut r) = (T::zero(), T::zero(), T::zero());
        for (&c, &v) in cols.iter().zip(vals) {
            let c = c as usize;
            if c == diag {
                d = v;
            } else if c == recent {
                r = v;
            } else if let Some(&xc) = x.get(c) {
                off = off + v * xc;
            }
        }
        (off, d, r)
    }

    /// A hint that `x` is about to be read: implementations may start bringing it
    /// into the cache. No effect on any result; the default does nothing.
    #[inline]
    fn prefetch(x: &[T]) {
        let _ = x;
    }
}
