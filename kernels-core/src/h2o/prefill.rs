//! Prefill: the H2O rule applied row by row over a prompt.

use super::attend::{Group, KeyScratch};
use super::causal::{CausalScratch, Prompt, causal};
use super::evict::victim;
use super::kernels::KvElement;
use super::{H2oOpts, group_size};
use crate::h2o::H2oKernels;
use crate::storage::check_finite_stored;
use crate::{Error, Exec, Result, Workspace, WorkspaceSize, checked_product, tiles_per_slot};

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
    prefill_stored_work_size::<f32>(n_heads, n_kv_heads, seq, d)
}

/// The blocked path's scratch for one head (see [`prefill_work_size`]).
pub fn prefill_head_work_size(seq: usize, d: usize) -> Result<WorkspaceSize> {
    prefill_stored_head_work_size::<f32>(seq, d)
}

/// Workspace of [`prefill_stored`] with elements `S`: as [`prefill_work_size`], the
/// slots holding, for a half type, the rows being computed as `f32` (a group's query
/// and output rows in the evicting path; a block of query, value and output rows in
/// the blocked path). Errors as [`prefill_work_size`].
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
    evict_slot_size::<S>(group, seq, d)?.then(prefill_stored_head_work_size::<S>(seq, d)?)
}

/// The blocked path's scratch for one head with elements `S` (see
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
/// Inputs are read as `f32` (exactly): the keys and values of the row-by-row path
/// through the converting loops of `H2oKernels`, the query rows and the blocked
/// path's tiles through `f32` scratch. Logits, softmax, scores and weighted sums are
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
        // The blocked path's slots follow the evicting path's first one.
        let (_, blocked) = work.split_at_mut(evict_slot_size::<S>(group, seq, d)?.bytes());
        return causal::<P, S>(exec, &prompt, out, blocked);
    }
    // Each kv head's rows run in order (the cache at row t depends on every earlier
    // row), but the kv heads are independent: tiles of consecutive kv heads, one per
    // slot of scratch (a slot table and a row's scratch) that `work` holds, at most
    // `exec.width()`.
    let slot = evict_slot_size::<S>(group, seq, d)?.bytes();
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
        let rows_f32 = ws.take::<f32>(S::scratch(2 * group * d))?;
        let per_head = group * seq * d;
        for (i, out) in out.chunks_mut(per_head).enumerate() {
            let tokens = i * seq..(i + 1) * seq;
            let scores = scores.as_deref_mut().map(|s| &mut s[tokens.clone()]);
            let keep = keep.as_deref_mut().map(|s| &mut s[tokens]);
            let g = tile * kv_heads + i;
            rows.evicting::<P>(g, out, scores, keep, pos, score, &mut scratch, rows_f32)?;
        }
        Ok(())
    })
}

/// One slot of the evicting path's scratch: a kv head's slot table (positions and
/// scores) and one row's scratch for its group of query heads; for half storage, the
/// group's query and output rows as `f32`.
fn evict_slot_size<S: KvElement>(group: usize, seq: usize, d: usize) -> Result<WorkspaceSize> {
    let ws = WorkspaceSize::new().array::<u64>(seq)?.array::<f32>(seq)?;
    let rows = S::scratch(checked_product(&[2, group, d])?);
    KeyScratch::size(ws, 1, group, seq, d)?.array::<f32>(rows)
}

/// What every kv head of the evicting path shares: the prompt and the rule.
struct Rows<'a, S> {
    prompt: Prompt<'a, S>,
    budget: usize,
    opts: &'a H2oOpts,
}

impl<S: KvElement> Rows<'_, S> {
    /// The rows of kv head `g` in order, its query heads' rows into `out`
    /// (`[group][seq][d]`), its tokens' scores and keep flags into `scores` and `keep`
    /// (`[seq]` each), with `pos` and `score` (`seq` each) as its slot table. For half
    /// storage each row's queries are converted into the front of `rows_f32` and its
    /// outputs computed in the back (`group * d` each) and rounded into `out`; for
    /// `f32` (`rows_f32` empty) the rows are read and written in place.
    #[allow(clippy::too_many_arguments)]
    fn evicting<P: H2oKernels<f32>>(
        &self,
        g: usize,
        out: &mut [S],
        mut scores: Option<&mut [f32]>,
        keep: Option<&mut [u8]>,
        pos: &mut [u64],
        score: &mut [f32],
        scratch: &mut KeyScratch<'_>,
        rows_f32: &mut [f32],
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
            let (q_rows, out_rows) = rows_f32.split_at_mut(rows_f32.len() / 2);
            let q_first = ((g * group) * seq + t) * d;
            // Where the group's query rows are read and its output rows written: in
            // place for f32, else in f32 scratch of `group` rows of `d`.
            let (q, q_base, q_stride, out_f32, out_base, stride) =
                match (S::as_f32(p.q), S::as_f32_mut(&mut *out)) {
                    (Some(q), Some(o)) => (q, q_first, seq * d, o, t * d, seq * d),
                    _ => {
                        for (i, qr) in q_rows.chunks_exact_mut(d).enumerate() {
                            S::load(super::row(p.q, q_first + i * seq * d, d)?, qr);
                        }
                        (&*q_rows, 0, d, &mut *out_rows, 0, d)
                    }
                };
            let rows = Group {
                q,
                q_base,
                out_base,
                q_stride,
                stride,
                heads: group,
                d,
                scale: p.scale,
                k: p.k,
                v: p.v,
                slots: len,
                kv_row: |s: usize| (token_base + table[s] as usize) * d,
            };
            rows.attend::<P>(out_f32, scratch)?;
            rows.add_scores::<P>(&mut score[..len], scratch)?;
            if !S::NATIVE {
                for (i, o) in out_rows.chunks_exact(d).enumerate() {
                    S::store(o, super::row_mut(out, t * d + i * seq * d, d)?);
                }
            }
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
