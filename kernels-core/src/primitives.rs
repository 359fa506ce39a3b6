//! The hot inner loops, as a trait the algorithms are generic over.
//!
//! An algorithm in this crate is written once as `fn kernel<T: Real, P: Primitives<T>>`.
//! [`Scalar`](crate::Scalar) is the plain reference implementation; `kernels-simd`
//! provides the vectorised one. Implementations may sum in a different order, so
//! results agree with the scalar ones within the tolerances each implementation
//! documents, not bit for bit.
//!
//! Lengths: the slices passed to one call must have the lengths the documentation
//! names; callers validate dimensions first. Implementations never panic on a
//! mismatch: they process the common prefix only (and debug builds assert).

use crate::{Dense, Real, Strided, StridedMut};

/// Vector and matrix building blocks shared by every kernel family.
pub trait Primitives<T: Real> {
    /// A short name for reports, e.g. `"scalar"` or `"simd f32x8"`.
    fn name() -> &'static str;

    /// `sum_i x_i y_i`.
    fn dot(x: &[T], y: &[T]) -> T;

    /// `y <- y + a x`.
    fn axpy(a: T, x: &[T], y: &mut [T]);

    /// `x <- a x`.
    fn scale(a: T, x: &mut [T]);

    /// `sum_i x_i` (0 when empty).
    fn sum(x: &[T]) -> T;

    /// `max_i x_i` (negative infinity when empty). Inputs must not hold NaN.
    fn max(x: &[T]) -> T;

    /// `log sum_i exp(x_i)`, with the maximum shifted out so that it neither
    /// overflows nor underflows. Negative infinity when empty or when every `x_i` is
    /// negative infinity.
    fn lse(x: &[T]) -> T;

    /// One row of an online column log-sum-exp.
    ///
    /// With `v_j = alpha * x_j + beta`, updates the running pairs so that after
    /// streaming all rows of a matrix, `max_j + ln(sum_j)` is the log-sum-exp of
    /// column `j`. Start from `max = -inf`, `sum = 0`. Each call reads `x` once and
    /// costs one exponential per element (`sum_j` stays in `[1, rows]` once a finite
    /// value has been seen). `v_j = -inf` contributes nothing.
    fn lse_accumulate(alpha: T, x: &[T], beta: T, max: &mut [T], sum: &mut [T]);

    /// `y <- A x` for a dense row-major `A` (`rows x cols`), `x` of `cols`, `y` of
    /// `rows`.
    fn gemv(a: Dense<'_, T>, x: &[T], y: &mut [T]);

    /// `y <- A^T x` for a dense row-major `A` (`rows x cols`), `x` of `rows`, `y` of
    /// `cols`. Streams `A` once, row by row.
    fn gemv_t(a: Dense<'_, T>, x: &[T], y: &mut [T]);

    // h2o primitives

    /// `x_i <- exp(x_i - shift)`, returning `sum_i` of the new `x_i` (0 when empty).
    ///
    /// The scaled exponentials of an online softmax: with `shift` the running maximum
    /// every term lies in `(0, 1]`, and `x_i = -inf` gives 0. Callers pass no NaN.
    fn exp_shift(shift: T, x: &mut [T]) -> T;
    // sinkhorn primitives

    /// `log sum_j exp(alpha x_j + y_j)` with the maximum shifted out (two passes over
    /// `x` and `y`: the maximum, then the sum). Negative infinity when empty or every
    /// term is negative infinity; positive infinity if a term is. `x` and `y` have
    /// the same length.
    fn lse_affine(alpha: T, x: &[T], y: &[T]) -> T;

    /// `out_j = exp(alpha x_j + y_j + beta)`; `x`, `y` and `out` have the same length.
    fn exp_affine(alpha: T, x: &[T], beta: T, y: &[T], out: &mut [T]);

    /// `sum_j exp(alpha x_j + y_j + beta)`, without a shift (callers choose `beta`
    /// so that the terms neither overflow nor all underflow). `x`, `y` have the
    /// same length.
    fn sum_exp_affine(alpha: T, x: &[T], beta: T, y: &[T]) -> T;

    /// `sum_j <- sum_j + exp(alpha x_j + y_j + beta)`: one row of column sums of
    /// exponentials, without a shift. `x`, `y`, `sum` have the same length.
    fn exp_affine_accumulate(alpha: T, x: &[T], beta: T, y: &[T], sum: &mut [T]);

    // linattn primitives

    /// `C <- C + alpha A diag(w) B` for `A` (`m x k`), `w` (`k`, `None` = ones), `B`
    /// (`k x n`) and `C` (`m x n`): the small dense products of chunked attention.
    ///
    /// Any strides are accepted; the fast paths want `B` and `C` with contiguous
    /// rows (`col_stride` 1) and `A` with contiguous rows or columns (so `A` may be a
    /// transpose, e.g. `K^T` for a rank-`k` update of a state). Dimensions that
    /// disagree are cut to their common prefix.
    fn gemm(alpha: T, a: Strided<'_, T>, w: Option<&[T]>, b: Strided<'_, T>, c: StridedMut<'_, T>);

    // sor primitives

    /// One CSR row against `x` with two columns split off: returns
    /// `(sum over k with cols[k] not in {diag, recent} of vals[k] x[cols[k]],
    /// the value stored at column diag, the value stored at column recent)`, a value
    /// that is not stored being 0. A column index beyond `x` contributes nothing
    /// (callers validate the structure first). `recent` is the row a sweep updated
    /// last: leaving it out lets the sweep keep that value in a register, off the
    /// chain of dependent rows (`usize::MAX` for none).
    fn csr_row_split(cols: &[u32], vals: &[T], x: &[T], diag: usize, recent: usize) -> (T, T, T);

    /// One colour of one row of a red-black SOR sweep on the 5-point stencil: for
    /// every `j` with `j % 2 == parity`,
    /// `row[j] <- keep row[j] + gain (((l + r) + (u + d)) + b[j])` with
    /// `l = row[j-1]`, `r = row[j+1]`, `u = up[j]`, `d = down[j]`, and 0 for a
    /// neighbour outside the row or a missing (`None`) neighbour row (the Dirichlet
    /// boundary). Entries of the other parity are read, never written, so the result
    /// does not depend on the order of the updates. Every implementation performs the
    /// same operations in the same order (no fused multiply-add): results are
    /// identical, not merely close.
    fn rb_row(
        parity: usize,
        keep: T,
        gain: T,
        b: &[T],
        up: Option<&[T]>,
        down: Option<&[T]>,
        row: &mut [T],
    );

    // sinkhorn primitives (one-pass iterations)

    /// `out_j = exp(alpha x_j + y_j + beta)`, returning `sum_j out_j`, without a
    /// shift: [`exp_affine`](Primitives::exp_affine) and
    /// [`sum_exp_affine`](Primitives::sum_exp_affine) in one pass, for a caller
    /// that reuses the terms once it knows their sum. `x`, `y`, `out` have the same
    /// length.
    fn exp_affine_sum(alpha: T, x: &[T], beta: T, y: &[T], out: &mut [T]) -> T;

    /// Returns `sum_j x_j v_j` and, in the same loop, `y <- y + a w`: one row of
    /// `K v` fused with the previous row's contribution to `K^T u`, so that a
    /// Sinkhorn-Knopp iteration streams `K` from memory once (`w`, read just before,
    /// is still in cache). `x`, `v`, `w`, `y` have the same length.
    fn dot_axpy(x: &[T], v: &[T], a: T, w: &[T], y: &mut [T]) -> T;

    // cg primitives

    /// `sum_k vals[k] x[cols[k]]`: one row of a CSR matrix-vector product. A column
    /// index beyond `x` contributes nothing (callers validate the structure first).
    fn csr_dot(cols: &[u32], vals: &[T], x: &[T]) -> T;

    /// The CG update `x <- x + alpha p`, `r <- r - alpha q` in one pass, returning
    /// `sum_i r_i^2` of the new `r`. All four slices have the same length.
    fn cg_update(alpha: T, p: &[T], q: &[T], x: &mut [T], r: &mut [T]) -> T;

    /// `z_i <- d_i r_i`, returning `sum_i r_i z_i` (a diagonal preconditioner and the
    /// inner product CG needs next, in one pass). All three have the same length.
    fn mul_dot(d: &[T], r: &[T], z: &mut [T]) -> T;

    /// `p <- z + beta p` (CG's new search direction). Same lengths.
    fn xpby(z: &[T], beta: T, p: &mut [T]);

    /// A hint that `x` is about to be read: implementations may start bringing it
    /// into the cache. No effect on any result; the default does nothing.
    #[inline]
    fn prefetch(x: &[T]) {
        let _ = x;
    }
}
