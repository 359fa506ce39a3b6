//! Prefill: the H2O rule applied over a prompt, by the blocked causal path when nothing
//! is evicted and no score is asked for, else by the blocked evicting path.

use super::causal::{CausalScratch, Prompt, causal};
use super::evicting::{EvictScratch, Evicting};
use super::kernels::KvElement;
use super::{H2oOpts, TILE, group_size};
use crate::h2o::H2oKernels;
use crate::storage::check_finite_stored;
use crate::{Error, Exec, Result, Workspace, WorkspaceSize, checked_product, tiles_per_slot};

/// Workspace of [`prefill`], for any budget: the evicting path's scratch for one kv
/// head (its slot table, its cache and one block's new tokens as `f32`, and one block
/// of logits per query head of the group, for a cache of `seq` slots: budgets beyond
/// `seq` never need more), then the causal path's scratch for one head
/// ([`prefill_head_work_size`]: the transposed keys of one kv head and one block of
/// logits). Under a threaded executor `t` times this lets `t` heads of the causal
/// path, or `t` kv heads of the evicting path, run at once.
///
/// [`Error::Dimension`] as for [`prefill`]'s sizes, or when the total overflows.
pub fn prefill_work_size(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
) -> Result<WorkspaceSize> {
    prefill_stored_work_size::<f32>(n_heads, n_kv_heads, seq, d)
}

/// The causal path's scratch for one head (see [`prefill_work_size`]).
pub fn prefill_head_work_size(seq: usize, d: usize) -> Result<WorkspaceSize> {
    prefill_stored_head_work_size::<f32>(seq, d)
}

/// Workspace of [`prefill_stored`] with elements `S`: as [`prefill_work_size`], the
/// slots holding, for a half type, the rows being computed as `f32` (a block of query
/// and output rows in both paths, and in the causal path the values of one kv head).
/// Errors as [`prefill_work_size`].
pub fn prefill_stored_work_size<S: KvElement>(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
) -> Result<WorkspaceSize> {
    let group = group_size(n_heads, n_kv_heads, d)?;
    if seq == 0 {
        return Err(Error::Dimension);
    }
    EvictScratch::size::<S>(WorkspaceSize::new(), group, seq, TILE.min(seq), d)?
        .then(prefill_stored_head_work_size::<S>(seq, d)?)
}

/// The causal path's scratch for one head with elements `S` (see
/// [`prefill_stored_work_size`]).
pub fn prefill_stored_head_work_size<S: KvElement>(seq: usize, d: usize) -> Result<WorkspaceSize> {
    CausalScratch::size::<S>(WorkspaceSize::new(), seq, d)
}

/// Causal attention with H2O masking over a prompt of `seq` tokens.
///
/// Layouts: `q` and `out` are `[n_heads][seq][d]`, `k` and `v` `[n_kv_heads][seq][d]`;
/// query head `h` reads kv head `h / (n_heads / n_kv_heads)`. Row `t` attends to the
/// tokens the cache of the module's eviction rule holds at `t`. `scores`
/// (`[n_kv_heads][seq]`) receives each token's accumulated score: for a token still
/// kept after the last row its final score, for an evicted one its score when it was
/// evicted (it gets no attention afterwards). `keep` (`[n_kv_heads][seq]`) is 1 for
/// the tokens the cache holds after the last row, else 0.
///
/// Without eviction and scores (the budget covers the prompt) the heads run through
/// `exec`; with eviction or scores the kv heads do (each one's rows in order). As
/// many run at once as `work` has scratch for (see [`prefill_work_size`]); the result
/// does not depend on `exec` or the workspace size.
///
/// Errors, all before anything is written: [`Error::Dimension`] (a size is zero,
/// `n_heads % n_kv_heads != 0`, or a slice length disagrees), [`Error::Argument`]
/// (budget 0, `heavy + recent == 0`, non-finite scale), [`Error::NonFinite`] (NaN or
/// infinity in `q`, `k`, `v`), [`Error::Workspace`]. [`Error::Numerical`] when logits
/// overflow: `out`, `scores` and `keep` then hold unspecified values.
#[allow(clippy::too_many_arguments)]
pub fn prefill<P: H2oKernels<f32>>(
    exec: &impl Exec,
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    opts: &H2oOpts,
    out: &mut [f32],
    scores: Option<&mut [f32]>,
    keep: Option<&mut [u8]>,
    work: &mut [u8],
) -> Result<()> {
    prefill_stored::<P, f32>(
        exec, n_heads, n_kv_heads, seq, d, q, k, v, opts, out, scores, keep, work,
    )
}

/// [`prefill`] with `q`, `k`, `v` and `out` stored as `S` (`f32`, `f16`, `bf16`);
/// the workspace is [`prefill_stored_work_size`]'s.
///
/// Inputs are read as `f32` (exactly), converted into `f32` scratch a block of rows
/// at a time (and the evicting path's cache kept as `f32`). Logits, softmax, scores and weighted sums are
/// `f32`, and `out` is rounded once to `S` (to nearest, ties to even): the result is
/// [`prefill`]'s on the upcast data up to the order of the `f32` additions, then
/// rounded. `f32` is [`prefill`] itself. Errors as [`prefill`]'s,
/// [`Error::NonFinite`] meaning a NaN or infinity bit pattern in `q`, `k` or `v`.
#[allow(clippy::too_many_arguments)]
pub fn prefill_stored<P: H2oKernels<f32>, S: KvElement>(
    exec: &impl Exec,
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
    q: &[S],
    k: &[S],
    v: &[S],
    opts: &H2oOpts,
    out: &mut [S],
    scores: Option<&mut [f32]>,
    keep: Option<&mut [u8]>,
    work: &mut [u8],
) -> Result<()> {
    let group = group_size(n_heads, n_kv_heads, d)?;
    let q_len = checked_product(&[n_heads, seq, d])?;
    let kv_len = checked_product(&[n_kv_heads, seq, d])?;
    let per_token = checked_product(&[n_kv_heads, seq])?;
    if seq == 0
        || q.len() != q_len
        || out.len() != q_len
        || k.len() != kv_len
        || v.len() != kv_len
        || scores.as_ref().is_some_and(|s| s.len() != per_token)
        || keep.as_ref().is_some_and(|s| s.len() != per_token)
    {
        return Err(Error::Dimension);
    }
    let budget = opts.budget()?.min(seq);
    let scale = opts.scale_for(d)?;
    let need = prefill_stored_work_size::<S>(n_heads, n_kv_heads, seq, d)?;
    if work.len() < need.bytes() {
        return Err(Error::Workspace);
    }
    check_finite_stored(q)?;
    check_finite_stored(k)?;
    check_finite_stored(v)?;

    let prompt = Prompt {
        q,
        k,
        v,
        n_kv: n_kv_heads,
        group,
        seq,
        d,
        scale,
    };
    // Scores steer eviction only when the budget is below the prompt length.
    let track = budget < seq || scores.is_some();
    if !track {
        // Nothing is evicted and no probability is needed after its row: plain causal
        // attention, computed in blocks of rows rather than row by row.
        if let Some(keep) = keep {
            keep.fill(1);
        }
        // The causal path's slots follow the evicting path's first one.
        let first = EvictScratch::size::<S>(WorkspaceSize::new(), group, seq, TILE.min(seq), d)?;
        let first = first.bytes();
        let (_, blocked) = work.split_at_mut(first);
        return causal::<P, S>(exec, &prompt, out, blocked);
    }
    // Each kv head's rows run in order (the cache at row t depends on every earlier
    // row), but the kv heads are independent: tiles of consecutive kv heads, one per
    // slot of scratch (`EvictScratch` for a cache of up to `seq` slots) that `work`
    // holds, at most `exec.width()`.
    let block = TILE.min(seq);
    let slot = EvictScratch::size::<S>(WorkspaceSize::new(), group, seq, block, d)?.bytes();
    let slots = (work.len() / slot).min(exec.width());
    let kv_heads = tiles_per_slot(n_kv_heads, slots);
    let (per_out, per_token) = (kv_heads * group * seq * d, kv_heads * seq);
    let mut scores = scores.map(|s| s.chunks_mut(per_token));
    let mut keep = keep.map(|s| s.chunks_mut(per_token));
    let tiles = out
        .chunks_mut(per_out)
        .zip(work.chunks_exact_mut(slot))
        .map(move |(o, w)| {
            let scores = scores.as_mut().and_then(Iterator::next);
            (o, w, scores, keep.as_mut().and_then(Iterator::next))
        });
    // Each row attends to at most `budget` slots: about 2 d multiply-adds per slot.
    let ops = n_heads
        .saturating_mul(seq)
        .saturating_mul(budget)
        .saturating_mul(2 * d);
    let rows = Evicting {
        prompt,
        budget,
        opts,
    };
    exec.for_each(ops, tiles, |tile, (out, work, mut scores, mut keep)| {
        let mut s = EvictScratch::take::<S>(&mut Workspace::new(work), group, budget, block, d)?;
        let per_head = group * seq * d;
        for (i, out) in out.chunks_mut(per_head).enumerate() {
            let tokens = i * seq..(i + 1) * seq;
            let scores = scores.as_deref_mut().map(|s| &mut s[tokens.clone()]);
            let keep = keep.as_deref_mut().map(|s| &mut s[tokens]);
            let g = tile * kv_heads + i;
            rows.kv_head::<P>(g, out, scores, keep, &mut s)?;
        }
        Ok(())
    })
}
