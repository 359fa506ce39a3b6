//! The operation order of one red-black grid point, shared by every implementation
//! of [`SorKernels::rb_row`](crate::sor::SorKernels::rb_row), so that they
//! agree exactly.

use crate::Real;

/// The common length of the slices of `rb_row` (a missing neighbour row does not
/// limit it).
pub fn rb_len<T>(b: &[T], up: Option<&[T]>, down: Option<&[T]>, row: &[T]) -> usize {
    debug_assert!(b.len() == row.len());
    debug_assert!(up.is_none_or(|u| u.len() == row.len()));
    debug_assert!(down.is_none_or(|d| d.len() == row.len()));
    let lim = |s: Option<&[T]>| s.map_or(usize::MAX, <[T]>::len);
    row.len().min(b.len()).min(lim(up)).min(lim(down))
}

/// One point: `keep x + gain (((l + r) + (u + d)) + b)`, in exactly this order.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn rb_point<T: Real>(keep: T, gain: T, x: T, l: T, r: T, u: T, d: T, b: T) -> T {
    keep * x + gain * (((l + r) + (u + d)) + b)
}
