//! Prefill: the H2O rule applied row by row over a prompt.

use super::attend::{Group, KeyScratch};
use super::causal::{CausalScratch, Prompt, causal};
use super::evict::victim;
use super::{H2oOpts, group_size};
use crate::h2o::H2oKernels;
use crate::{
    Error, Exec, Result, Workspace, WorkspaceSize, check_finite, checked_product, tiles_per_slot,
};

/// Workspace of [`prefill`], for any budget: the slot table of one kv head and one
/// row's scratch (budgets beyond `seq` never need more than `seq` slots), then the
/// blocked path's scratch for one head at a time ([`prefill_head_work_size`]: the
/// transposed keys of one kv head and one block of logits). Each further
/// [`prefill_head_work_size`] lets the blocked path run one more head at once under a
/// threaded executor, and the evicting path at least one more kv head (its scratch
/// for one kv head is smaller than the blocked path's for one head).
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
    evict_slot_size(group, seq, d)?.then(prefill_head_work_size(seq, d)?)
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
        // The blocked path's slots follow the evicting path's first one.
        let (_, blocked) = work.split_at_mut(evict_slot_size(group, seq, d)?.bytes());
        return causal::<P>(exec, &prompt, out, blocked);
    }
    // Each kv head's rows run in order (the cache at row t depends on every earlier
    // row), but the kv heads are independent: tiles of consecutive kv heads, one per
    // slot of scratch (a slot table and a row's scratch) that `work` holds, at most
    // `exec.width()`.
    let slot = evict_slot_size(group, seq, d)?.bytes();
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
    let rows = Rows {
        prompt,
        budget,
        opts,
    };
    exec.for_each(ops, tiles, |tile, (out, work, mut scores, mut keep)| {
        let mut ws = Workspace::new(work);
        let pos = ws.take::<u64>(seq)?;
        let score = ws.take::<f32>(seq)?;
        let mut scratch = KeyScratch::take(&mut ws, 1, group, seq, d)?;
        let per_head = group * seq * d;
        for (i, out) in out.chunks_mut(per_head).enumerate() {
            let tokens = i * seq..(i + 1) * seq;
            let scores = scores.as_deref_mut().map(|s| &mut s[tokens.clone()]);
            let keep = keep.as_deref_mut().map(|s| &mut s[tokens]);
            let g = tile * kv_heads + i;
            rows.evicting::<P>(g, out, scores, keep, pos, score, &mut scratch)?;
        }
        Ok(())
    })
}

/// One slot of the evicting path's scratch: a kv head's slot table (positions and
/// scores) and one row's scratch for its group of query heads.
fn evict_slot_size(group: usize, seq: usize, d: usize) -> Result<WorkspaceSize> {
    let ws = WorkspaceSize::new().array::<u64>(seq)?.array::<f32>(seq)?;
    KeyScratch::size(ws, 1, group, seq, d)
}

/// What every kv head of the evicting path shares: the prompt and the rule.
struct Rows<'a> {
    prompt: Prompt<'a>,
    budget: usize,
    opts: &'a H2oOpts,
}

impl Rows<'_> {
    /// The rows of kv head `g` in order, its query heads' rows into `out`
    /// (`[group][seq][d]`), its tokens' scores and keep flags into `scores` and `keep`
    /// (`[seq]` each), with `pos` and `score` (`seq` each) as its slot table.
    #[allow(clippy::too_many_arguments)]
    fn evicting<P: H2oKernels<f32>>(
        &self,
        g: usize,
        out: &mut [f32],
        mut scores: Option<&mut [f32]>,
        keep: Option<&mut [u8]>,
        pos: &mut [u64],
        score: &mut [f32],
        scratch: &mut KeyScratch<'_>,
    ) -> Result<()> {
        let p = &self.prompt;
        let (seq, d, group) = (p.seq, p.d, p.group);
        let (pos, score) = (&mut pos[..self.budget], &mut score[..self.budget]);
        let token_base = g * seq;
        let mut len = 0usize;
        for t in 0..seq {
            let slot = if len < self.budget {
                len += 1;
                len - 1
            } else {
                let slot = victim(pos, score, t as u64, self.opts.sink, self.opts.recent)
                    .ok_or(Error::Internal)?;
                if let Some(out_scores) = scores.as_deref_mut() {
                    *out_scores
                        .get_mut(pos[slot] as usize)
                        .ok_or(Error::Internal)? = score[slot];
                }
                slot
            };
            pos[slot] = t as u64;
            score[slot] = 0.0;
            let table = &pos[..len];
            let rows = Group {
                q: p.q,
                q_base: ((g * group) * seq + t) * d,
                out_base: t * d,
                q_stride: seq * d,
                stride: seq * d,
                heads: group,
                d,
                scale: p.scale,
                k: p.k,
                v: p.v,
                slots: len,
                kv_row: |s: usize| (token_base + table[s] as usize) * d,
            };
            rows.attend::<P>(out, scratch)?;
            rows.add_scores::<P>(&mut score[..len], scratch)?;
        }
        if let Some(keep) = keep {
            keep.fill(0);
            for &p in &pos[..len] {
                *keep.get_mut(p as usize).ok_or(Error::Internal)? = 1;
            }
        }
        if let Some(out_scores) = scores {
            for (&p, &s) in pos[..len].iter().zip(&score[..len]) {
                *out_scores.get_mut(p as usize).ok_or(Error::Internal)? = s;
            }
        }
        Ok(())
    }
}
