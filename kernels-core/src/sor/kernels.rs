//! The inner loop of red-black SOR on a grid (the CSR sweep runs on the base
//! primitive `csr_row_split`).

use crate::stencil::{rb_len, rb_point};
use crate::{Primitives, Real, Scalar};

/// The SOR family's loops, with the scalar reference as the default bodies.
pub trait SorKernels<T: Real>: Primitives<T> {
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
    ) {
        let n = rb_len(b, up, down, row);
        let at = |s: Option<&[T]>, j: usize| s.and_then(|s| s.get(j)).copied().unwrap_or(T::zero());
        let mut j = parity;
        while j < n {
            let l = if j > 0 { row[j - 1] } else { T::zero() };
            let r = if j + 1 < n { row[j + 1] } else { T::zero() };
            row[j] = rb_point(keep, gain, row[j], l, r, at(up, j), at(down, j), b[j]);
            j += 2;
        }
    }
}

impl<T: Real> SorKernels<T> for Scalar {}
