//! Causal linear attention with a decay per head or a gate per head and token, its
//! chunk states, and the LASP-2 prefix scan that lets a sequence be split across
//! chunks or machines.
//!
//! Layouts (row-major): `q`, `k` are `[n_heads][len][dk]`; `v`, `out` are
//! `[n_heads][len][dv]`; states are `[n_heads][dk][dv]`; gates are `[n_heads][len]`.
//! With a decay `a_t` (see [`Decay`]: 1, a constant `g` in `(0, 1]` per head, or
//! `exp(g_t)` for a log gate `g_t <= 0` per head and token) the recurrence is
//!
//! ```text
//! S_t = a_t S_{t-1} + k_t^T v_t,    o_t = scale * q_t S_t     (inclusive of token t)
//! ```
//!
//! [`forward`] evaluates it chunk by chunk (chunk length `L`, positions `i`, `j` in the
//! chunk, `G_i` the cumulative log decay of the chunk's tokens up to `i` inclusive):
//! `O = scale [ exp(G_i) (Q S_prev) + ((Q K^T) .* D) V ]` with the causal mask
//! `D_ij = exp(G_i - G_j)` for `i >= j` and 0 above the diagonal, and
//! `S_new = exp(G_(L-1)) S_prev + K^T diag(exp(G_(L-1) - G_j)) V`. The work is small
//! dense products (`Primitives::gemm`), so it runs near the machine's matrix-product
//! rate, where the token-by-token [`recurrence`] is a sequence of memory-bound rank-1
//! updates. [`forward_varlen`] runs packed sequences of different lengths in one call.
//!
//! [`chunk_state`] is a chunk's contribution `S_len` from `S_0 = 0`; [`state_scan`] turns
//! the states of consecutive chunks into the exclusive prefix `S_0` each chunk must
//! start from. Running [`forward`] on every chunk from its prefix reproduces the unsplit
//! output: the LASP-2 scheme, where the chunks are MPI ranks and the states travel in
//! one AllGather.
//!
//! Weights are evaluated in `f64` and rounded once: a constant decay's powers `g^n` as
//! `exp(n ln g)` (their relative error does not grow with `n` as repeated products'
//! would), a gated chunk's as `exp` of differences of `f64` prefix sums of its gates
//! (never the exponential of a large positive number, and no cancellation when the
//! prefix sums are large). Weights below the smallest normal number of the element
//! type are flushed to zero (their terms are below any meaningful tolerance, and
//! subnormal arithmetic is slow).

mod decay;
mod forward;
mod kernels;
mod powers;
mod recurrence;
mod state;
mod varlen;

pub use decay::Decay;
pub use forward::{
    chunk_len, forward, forward_threads_work_size, forward_work_size, gated_work_size,
};
pub use kernels::LinattnKernels;
pub use powers::power;
pub use recurrence::recurrence;
pub use state::{ChunkDecays, Scan, chunk_state, state_scan};
pub use varlen::{Seqs, forward_varlen};

use crate::{
    Error, Exec, Real, Result, STREAM_OPS, Strided, StridedMut, check_finite, checked_product,
};

/// The chunk length used when the caller passes 0.
pub const DEFAULT_CHUNK: usize = 64;

/// Sizes of one linear-attention problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Heads (each with its own decay).
    pub n_heads: usize,
    /// Tokens.
    pub len: usize,
    /// Query/key width.
    pub dk: usize,
    /// Value width.
    pub dv: usize,
}

impl Shape {
    /// [`Error::Dimension`] if a size is zero or an array length overflows.
    pub fn check(&self) -> Result<()> {
        if self.n_heads == 0 || self.len == 0 || self.dk == 0 || self.dv == 0 {
            return Err(Error::Dimension);
        }
        self.qk_len()?;
        self.v_len()?;
        self.state_len()?;
        Ok(())
    }

    /// Values in `q` or `k`: `n_heads * len * dk`.
    pub fn qk_len(&self) -> Result<usize> {
        checked_product(&[self.n_heads, self.len, self.dk])
    }

    /// Values in `v` or `out`: `n_heads * len * dv`.
    pub fn v_len(&self) -> Result<usize> {
        checked_product(&[self.n_heads, self.len, self.dv])
    }

    /// Values in a state: `n_heads * dk * dv`.
    pub fn state_len(&self) -> Result<usize> {
        checked_product(&[self.n_heads, self.dk, self.dv])
    }
}

/// The inputs of [`forward`] and [`recurrence`].
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a, T> {
    /// Sizes.
    pub shape: Shape,
    /// Queries, `[n_heads][len][dk]`.
    pub q: &'a [T],
    /// Keys, `[n_heads][len][dk]`.
    pub k: &'a [T],
    /// Values, `[n_heads][len][dv]`.
    pub v: &'a [T],
    /// The decay between tokens: none, a constant per head, or a gate per head and
    /// token.
    pub decay: Decay<'a, T>,
    /// Output scale; 0 means `1 / sqrt(dk)`.
    pub scale: T,
    /// The state `S_0` before the first token, `[n_heads][dk][dv]`; `None` = zero.
    pub state_in: Option<&'a [T]>,
}

impl<T: Real> Inputs<'_, T> {
    /// Every check of the inputs, in the order the status codes are documented:
    /// lengths (`Dimension`), decay range (`NonFinite` for NaN/inf, `Argument` for a
    /// constant outside `(0, 1]` or a positive gate), scale, then finiteness of every
    /// array (`NonFinite`).
    /// Returns the effective scale.
    fn validate<P: LinattnKernels<T>>(
        &self,
        exec: &impl Exec,
        out_len: usize,
        state_out: Option<usize>,
    ) -> Result<T> {
        let s = self.shape;
        s.check()?;
        let (qk, vl, sl) = (s.qk_len()?, s.v_len()?, s.state_len()?);
        let lengths_ok = self.q.len() == qk
            && self.k.len() == qk
            && self.v.len() == vl
            && out_len == vl
            && self.state_in.is_none_or(|x| x.len() == sl)
            && state_out.is_none_or(|n| n == sl);
        if !lengths_ok {
            return Err(Error::Dimension);
        }
        self.decay.check(s.n_heads, s.len)?;
        let scale = effective_scale(self.scale, s.dk)?;
        inputs_finite::<T, P>(exec, self.q)?;
        inputs_finite::<T, P>(exec, self.k)?;
        inputs_finite::<T, P>(exec, self.v)?;
        if let Some(x) = self.state_in {
            all_finite::<T, P>(x)?;
        }
        Ok(scale)
    }
}

/// `scale`, or `1 / sqrt(dk)` for 0; [`Error::NonFinite`] for NaN or infinity.
///
/// Public so that other backends (kernels-cuda) apply the same rule.
pub fn effective_scale<T: Real>(scale: T, dk: usize) -> Result<T> {
    if !scale.is_finite() {
        return Err(Error::NonFinite);
    }
    Ok(if scale == T::zero() {
        T::one() / T::of(dk as f64).sqrt()
    } else {
        scale
    })
}

/// [`Error::NonFinite`] if any value is NaN or infinite, at the speed of a SIMD sum.
///
/// A sum is finite only if every term is (an infinity or NaN term makes any sum
/// infinite or NaN), so one fast reduction per block settles it; only a block whose
/// sum is not finite (possibly finite values overflowing) gets the exact scan. The
/// inputs must be checked in full before the first write, so this pass is on every
/// call's critical path.
fn all_finite<T: Real, P: LinattnKernels<T>>(x: &[T]) -> Result<()> {
    for block in x.chunks(4096) {
        if !P::sum(block).is_finite() {
            check_finite(block)?;
        }
    }
    Ok(())
}

/// [`all_finite`] in tiles through `exec`: a large input's check is a pass over memory
/// that would otherwise stay on one thread ahead of the threaded work. The error is
/// the same whichever tile finds the value.
fn inputs_finite<T: Real, P: LinattnKernels<T>>(exec: &impl Exec, x: &[T]) -> Result<()> {
    const TILE: usize = 1 << 16;
    exec.for_each(STREAM_OPS * x.len(), x.chunks(TILE), |_, tile| {
        all_finite::<T, P>(tile)
    })
}

/// [`Error::Numerical`] if a computed value overflowed.
fn check_output<T: Real, P: LinattnKernels<T>>(x: &[T]) -> Result<()> {
    all_finite::<T, P>(x).map_err(|_| Error::Numerical)
}

/// A row-major view of validated internal sizes: failing would be a bug here.
fn view<T>(data: &[T], rows: usize, cols: usize, row_stride: usize) -> Result<Strided<'_, T>> {
    Strided::rows(data, rows, cols, row_stride).map_err(|_| Error::Internal)
}

/// As [`view`], mutable.
fn view_mut<T>(
    data: &mut [T],
    rows: usize,
    cols: usize,
    row_stride: usize,
) -> Result<StridedMut<'_, T>> {
    StridedMut::rows(data, rows, cols, row_stride).map_err(|_| Error::Internal)
}

/// Head `h`'s block of `per_head` values.
fn head<T>(x: &[T], h: usize, per_head: usize) -> &[T] {
    &x[h * per_head..(h + 1) * per_head]
}

/// As [`head`], mutable.
fn head_mut<T>(x: &mut [T], h: usize, per_head: usize) -> &mut [T] {
    &mut x[h * per_head..(h + 1) * per_head]
}
