//! Attention with heavy-hitter (H2O) masking: prefill over a prompt and decode steps on
//! a fixed-budget KV cache.
//!
//! # The eviction rule
//!
//! Every kv head owns a cache of `B = sink + heavy + recent` slots. Tokens arrive one
//! position at a time (`t = 0, 1, ...`):
//!
//! 1. If the cache holds fewer than `B` tokens, token `t` takes the next free slot.
//!    Otherwise one slot is evicted first: among the slots whose token is neither a
//!    sink (position `< sink`) nor among the `recent` newest positions counting `t`
//!    itself (`t - position < recent`), the one with the smallest accumulated score;
//!    on equal scores the oldest position goes. Token `t` takes its slot.
//! 2. The new token's score starts at 0.
//! 3. Row `t` of every query head of the group attends to exactly the cached tokens
//!    (softmax over `scale * q . k`), and each cached token's score grows by its
//!    softmax probability summed over the group's query heads.
//!
//! Prefill applies the same rule over the prompt, and with `B >= seq` no token is ever
//! evicted and both equal full causal softmax attention. Prefill computes blocks of
//! rows through matrix products and decode one row with dot products, so they agree
//! to rounding, not bit for bit: outputs and scores to a few `f32` ulps per term, and
//! the kept set exactly wherever no eviction is decided between scores closer than
//! that rounding (a near tie). Each path gives the same bits on any executor.
//!
//! The rule needs `B >= 1` and `heavy + recent >= 1` (else the newest token could find
//! no evictable slot once the sinks fill the cache).
//!
//! # How a decode row is computed
//!
//! No `seq x seq` matrix exists: a row streams its cached keys in tiles of
//! [`TILE`] with a running maximum and sum per query head (online softmax), the
//! weighted values accumulating in the output row. The probabilities for the scores are
//! recovered afterwards from the same running statistics: the row keeps its scaled
//! exponentials `e_j = exp(l_j - m_T)` (one row, at most the budget long) and each
//! tile's shift `m_T`, so `p_j = e_j exp(m_T - m) / s` with the final maximum `m` and
//! sum `s`, without recomputing a logit or reading K again.
//!
//! A row over more than [`KEY_CHUNK`] slots runs chunk by chunk: each key chunk has
//! its own running maximum and sum and its own weighted sum of V, and the chunks are
//! combined in order (scaled by `exp(m_c - m)`) before the division, one kv head's
//! chunks at once on the threads. Up to `KEY_CHUNK` slots there is one chunk and
//! nothing to combine.
//!
//! # How prefill is computed
//!
//! When no eviction can happen and the caller did not ask for scores, prefill needs no
//! probability after its row and runs as blocked causal flash attention: blocks of
//! rows against tiles of keys through `Primitives::gemm`, with the same per-row online
//! softmax (see `causal.rs`). Otherwise it runs blocks of [`TILE`] rows of one kv
//! head: the logits of the block against the cache at its first row and its own
//! tokens by `gemm`, then row by row the eviction, softmax and scores, then the
//! weighted values by `gemm` (see `evicting.rs`).
//!
//! # Half-precision storage
//!
//! The cache may store its keys and values as `f16` or `bf16` ([`H2oCache`]`<S>`,
//! [`KvElement`]); [`decode_stored`] is then [`decode`] with queries, new tokens and
//! outputs in that type too. There is one attention code for every element type: the
//! products with stored rows are [`KvElement::dot`] and [`KvElement::axpy`], which
//! pick the `H2oKernels` loop that converts each element to `f32` as it is loaded
//! (`dot_bf16`, `axpy_f16`, ...), so a decode step reads half the bytes. Queries are
//! loaded into `f32` scratch, everything is computed in `f32`, and each output is
//! rounded once to the storage type. The SIMD loops add in the order of their `f32`
//! counterparts, so a half decode is the rounding of the `f32` decode on the upcast
//! data.

mod attend;
mod cache;
mod causal;
mod evict;
mod evicting;
mod kernels;
mod opts;
mod prefill;

pub use attend::{KEY_CHUNK, TILE};
pub use cache::{H2oCache, decode, decode_stored, decode_stored_work_size, decode_work_size};
pub use kernels::{H2oKernels, KV_ROWS, KvElement};
pub use opts::H2oOpts;
pub use prefill::{
    prefill, prefill_head_work_size, prefill_stored, prefill_stored_head_work_size,
    prefill_stored_work_size, prefill_work_size,
};

use crate::{Error, Result, Storage};

/// Query heads per kv head, after checking the head counts and `d`.
///
/// [`Error::Dimension`] when a count or `d` is zero or `n_heads` is not a multiple of
/// `n_kv_heads`.
pub(crate) fn group_size(n_heads: usize, n_kv_heads: usize, d: usize) -> Result<usize> {
    if n_heads == 0 || n_kv_heads == 0 || d == 0 || !n_heads.is_multiple_of(n_kv_heads) {
        return Err(Error::Dimension);
    }
    Ok(n_heads / n_kv_heads)
}

/// The `d`-long row of `data` starting at `offset`, or [`Error::Internal`] (callers
/// index with validated sizes, so a miss is a bug, never a panic).
pub(crate) fn row<T>(data: &[T], offset: usize, d: usize) -> Result<&[T]> {
    offset
        .checked_add(d)
        .and_then(|end| data.get(offset..end))
        .ok_or(Error::Internal)
}

/// Mutable form of [`row`].
pub(crate) fn row_mut<T>(data: &mut [T], offset: usize, d: usize) -> Result<&mut [T]> {
    offset
        .checked_add(d)
        .and_then(|end| data.get_mut(offset..end))
        .ok_or(Error::Internal)
}

/// `src` as `f32`: itself for `f32` storage, else converted into the front of
/// `scratch` ([`Error::Internal`] when that is too short: sizes are validated).
pub(crate) fn f32_view<'a, S: Storage>(src: &'a [S], scratch: &'a mut [f32]) -> Result<&'a [f32]> {
    match S::as_f32(src) {
        Some(x) => Ok(x),
        None => {
            let dst = scratch.get_mut(..src.len()).ok_or(Error::Internal)?;
            S::load(src, dst);
            Ok(dst)
        }
    }
}

/// Where rows of an output stored as `S` are computed in `f32`: `dst` itself for `f32`
/// (nothing to store), else the front of `scratch`, to be rounded into the returned
/// `dst` with `S::store` when done ([`Error::Internal`] when `scratch` is too short:
/// sizes are validated).
pub(crate) fn f32_rows_mut<'a, S: Storage>(
    dst: &'a mut [S],
    scratch: &'a mut [f32],
) -> Result<(&'a mut [f32], Option<&'a mut [S]>)> {
    if S::NATIVE {
        Ok((S::as_f32_mut(dst).ok_or(Error::Internal)?, None))
    } else {
        let rows = scratch.get_mut(..dst.len()).ok_or(Error::Internal)?;
        Ok((rows, Some(dst)))
    }
}
