//! Prefill: the H2O rule applied row by row over a prompt.

use super::attend::{Group, RowScratch};
use super::causal::{CausalScratch, Prompt, causal};
use super::evict::victim;
use super::{H2oOpts, group_size};
use crate::h2o::H2oKernels;
use crate::{Error, Exec, Result, Workspace, WorkspaceSize, check_finite, checked_product};

/// Workspace of [`prefill`], for any budget: the slot table of one kv head and one
/// row's scratch (budgets beyond `seq` never need more than `seq` slots), then the
/// blocked path's scratch for one head at a time ([`prefill_head_work_size`]: the
/// transposed keys of one kv head and one block of logits). Each further
/// [`prefill_head_work_size`] lets the blocked path run one more head at once under a
/// threaded executor.
///
/// [`Error::Dimension`] as for [`prefill`]'s sizes, or when the total overflows.
pub fn prefill_work_size(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
) -> Result<WorkspaceSize> {
    let group = group_size(n_heads, n_kv_heads, d)?;
    if seq == 0 {
        return Err(Error::Dimension);
    }
    let ws = WorkspaceSize::new().array::<u64>(seq)?.array::<f32>(seq)?;
    RowScratch::size(ws, group, seq)?.then(prefill_head_work_size(seq, d)?)
}

/// The blocked path's scratch for one head (see [`prefill_work_size`]).
pub fn prefill_head_work_size(seq: usize, d: usize) -> Result<WorkspaceSize> {
    CausalScratch::size(WorkspaceSize::new(), seq, d)
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
/// `exec` (see [`prefill_work_size`]); the result does not depend on it. With
/// eviction the rows run in order on the calling thread.
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
    mut scores: Option<&mut [f32]>,
    mut keep: Option<&mut [u8]>,
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
    let need = prefill_work_size(n_heads, n_kv_heads, seq, d)?;
    if work.len() < need.bytes() {
        return Err(Error::Workspace);
    }
    check_finite(q)?;
    check_finite(k)?;
    check_finite(v)?;

    let mut ws = Workspace::new(work);
    let pos = ws.take::<u64>(seq)?;
    let score = ws.take::<f32>(seq)?;
    let mut scratch = RowScratch::take(&mut ws, group, seq)?;
    let blocked = ws.take::<u8>(ws.remaining())?;
    let (pos, score) = (&mut pos[..budget], &mut score[..budget]);
    // Scores steer eviction only when the budget is below the prompt length.
    let track = budget < seq || scores.is_some();
    if !track {
        // Nothing is evicted and no probability is needed after its row: plain causal
        // attention, computed in blocks of rows rather than row by row.
        if let Some(keep) = keep {
            keep.fill(1);
        }
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
        return causal::<P>(exec, &prompt, out, blocked);
    }
    if let Some(keep) = keep.as_deref_mut() {
        keep.fill(0);
    }

    for g in 0..n_kv_heads {
        let token_base = g * seq;
        let mut len = 0usize;
        for t in 0..seq {
            let slot = if len < budget {
                len += 1;
                len - 1
            } else {
                let slot =
                    victim(pos, score, t as u64, opts.sink, opts.recent).ok_or(Error::Internal)?;
                if let Some(out_scores) = scores.as_deref_mut() {
                    let evicted = token_base + pos[slot] as usize;
                    *out_scores.get_mut(evicted).ok_or(Error::Internal)? = score[slot];
                }
                slot
            };
            pos[slot] = t as u64;
            score[slot] = 0.0;
            let table = &pos[..len];
            let rows = Group {
                q,
                q_base: ((g * group) * seq + t) * d,
                out_base: ((g * group) * seq + t) * d,
                stride: seq * d,
                heads: group,
                d,
                scale,
                k,
                v,
                slots: len,
                kv_row: |s: usize| (token_base + table[s] as usize) * d,
            };
            rows.attend::<P>(out, &mut scratch)?;
            if track {
                rows.add_scores::<P>(&mut score[..len], &scratch)?;
            }
        }
        for (&p, &s) in pos[..len].iter().zip(&score[..len]) {
            let at = token_base + p as usize;
            if let Some(out_scores) = scores.as_deref_mut() {
                *out_scores.get_mut(at).ok_or(Error::Internal)? = s;
            }
            if let Some(keep) = keep.as_deref_mut() {
                *keep.get_mut(at).ok_or(Error::Internal)? = 1;
            }
        }
    }
    Ok(())
}
