//! The fixed-budget H2O KV cache and its decode step.

use super::attend::{Group, KeyScratch};
use super::evict::victim;
use super::kernels::KvElement;
use super::opts::{budget, resolve_scale};
use super::{f32_rows_mut, f32_view, group_size, row_mut};
use crate::h2o::H2oKernels;
use crate::storage::check_finite_stored;
use crate::{Error, Exec, Result, Workspace, WorkspaceSize, checked_product};

/// A KV cache of `sink + heavy + recent` slots per kv head on caller buffers. Slot `s` of kv head `g` holds its K and V rows at
/// `(g * budget + s) * d`, its score and token position at `g * budget + s`; slots
/// `0..len` are in use (the same count for every kv head: each step inserts one token
/// per kv head). `next_pos` is the position the next token gets.
///
/// Keys and values are stored as `S`: `f32` (the default), or `f16` / `bf16`
/// ([`KvElement`]), which halves the bytes a decode step reads; scores stay `f32`.
/// The element type is the only difference: one decode ([`decode_stored`]) serves
/// them all.
#[derive(Debug)]
pub struct H2oCache<'a, S = f32> {
    n_kv_heads: usize,
    d: usize,
    sink: usize,
    recent: usize,
    budget: usize,
    len: usize,
    next_pos: u64,
    k: &'a mut [S],
    v: &'a mut [S],
    score: &'a mut [f32],
    pos: &'a mut [u64],
}

impl H2oCache<'_> {
    /// The buffer lengths a cache needs: (`n_kv_heads * budget` for `score` and `pos`,
    /// `n_kv_heads * budget * d` for `k` and `v`), after checking the sizes. The same
    /// for every element type.
    pub fn lengths(
        n_kv_heads: usize,
        d: usize,
        sink: usize,
        heavy: usize,
        recent: usize,
    ) -> Result<(usize, usize)> {
        if n_kv_heads == 0 || d == 0 {
            return Err(Error::Dimension);
        }
        let b = budget(sink, heavy, recent)?;
        Ok((
            checked_product(&[n_kv_heads, b])?,
            checked_product(&[n_kv_heads, b, d])?,
        ))
    }
}

impl<'a, S: KvElement> H2oCache<'a, S> {
    /// An empty cache (`len = 0`, `next_pos = 0`); the buffers are not written.
    ///
    /// Errors as for [`H2oCache::from_parts`].
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        n_kv_heads: usize,
        d: usize,
        sink: usize,
        heavy: usize,
        recent: usize,
        k: &'a mut [S],
        v: &'a mut [S],
        score: &'a mut [f32],
        pos: &'a mut [u64],
    ) -> Result<Self> {
        Self::from_parts(n_kv_heads, d, sink, heavy, recent, 0, 0, k, v, score, pos)
    }

    /// Views an existing cache, checking every field, since a C caller owns them:
    /// [`Error::Dimension`] when `n_kv_heads` or `d` is 0, a buffer length disagrees or
    /// a size overflows; [`Error::Argument`] when the budget is 0, `heavy + recent ==
    /// 0`, `len > budget`, `next_pos < len`, or a used slot holds a position
    /// `>= next_pos`. The data are not read beyond `pos[..len]`.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        n_kv_heads: usize,
        d: usize,
        sink: usize,
        heavy: usize,
        recent: usize,
        len: usize,
        next_pos: u64,
        k: &'a mut [S],
        v: &'a mut [S],
        score: &'a mut [f32],
        pos: &'a mut [u64],
    ) -> Result<Self> {
        let (rows, values) = H2oCache::lengths(n_kv_heads, d, sink, heavy, recent)?;
        let budget = rows / n_kv_heads;
        if k.len() != values || v.len() != values || score.len() != rows || pos.len() != rows {
            return Err(Error::Dimension);
        }
        if len > budget || (len as u64) > next_pos {
            return Err(Error::Argument);
        }
        let used_ok = pos
            .chunks_exact(budget)
            .all(|head| head[..len].iter().all(|&p| p < next_pos));
        if !used_ok {
            return Err(Error::Argument);
        }
        Ok(H2oCache {
            n_kv_heads,
            d,
            sink,
            recent,
            budget,
            len,
            next_pos,
            k,
            v,
            score,
            pos,
        })
    }

    /// Slots in use per kv head.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no token has been inserted.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Position of the next token.
    pub fn next_pos(&self) -> u64 {
        self.next_pos
    }

    /// Slots per kv head.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Positions of kv head `g`'s slots in use (slot order).
    pub fn positions(&self, g: usize) -> &[u64] {
        let start = (g * self.budget).min(self.pos.len());
        &self.pos[start..(start + self.len).min(self.pos.len())]
    }

    /// Scores of kv head `g`'s slots in use (slot order).
    pub fn scores(&self, g: usize) -> &[f32] {
        let start = (g * self.budget).min(self.score.len());
        &self.score[start..(start + self.len).min(self.score.len())]
    }
}

/// Workspace of [`decode`] on a cache of `budget` slots per kv head: each kv head's
/// chosen slot and one row's scratch for every head (kept until the scores are added).
///
/// [`Error::Dimension`] when a head count or `d` is 0, `n_heads % n_kv_heads != 0` or
/// the total overflows.
pub fn decode_work_size(
    n_kv_heads: usize,
    d: usize,
    budget: usize,
    n_heads: usize,
) -> Result<WorkspaceSize> {
    decode_stored_work_size::<f32>(n_kv_heads, d, budget, n_heads)
}

/// Workspace of [`decode_stored`] with elements `S`: [`decode_work_size`]'s, and for
/// a half type the queries and outputs as `f32` (`n_heads * d` each) after it.
///
/// Errors as [`decode_work_size`].
pub fn decode_stored_work_size<S: KvElement>(
    n_kv_heads: usize,
    d: usize,
    budget: usize,
    n_heads: usize,
) -> Result<WorkspaceSize> {
    let group = group_size(n_heads, n_kv_heads, d)?;
    let rows = S::scratch(checked_product(&[n_heads, d])?);
    KeyScratch::size(
        WorkspaceSize::new().array::<u64>(n_kv_heads)?,
        n_kv_heads,
        group,
        budget,
        d,
    )?
    .array::<f32>(rows)?
    .array::<f32>(rows)
}

/// One decode step: inserts the token (`k_new`, `v_new`: `[n_kv_heads][d]`) into every
/// kv head's cache by the eviction rule, attends each query head (`q`, `out`:
/// `[n_heads][d]`) to its kv head's cached tokens, and adds this step's probabilities
/// to the scores. `scale` 0 means `1 / sqrt(d)`.
///
/// Errors before anything is written: [`Error::Dimension`] (`n_heads` 0 or not a
/// multiple of `n_kv_heads`, a slice length), [`Error::Argument`] (non-finite scale,
/// `next_pos` at its maximum, or a full cache with no evictable slot: a corrupt
/// cache), [`Error::NonFinite`], [`Error::Workspace`]. [`Error::Numerical`] when the
/// logits overflow: the token has been inserted, `out` holds unspecified values and
/// no score has changed. Each kv head's cached slots are cut into key chunks of
/// [`KEY_CHUNK`](super::KEY_CHUNK) (one up to that many), and the (kv head, chunk)
/// pairs are independent tiles run by `exec` ([`Sequential`](crate::Sequential) for
/// one thread), combined in chunk order; the result does not depend on `exec`.
#[allow(clippy::too_many_arguments)]
pub fn decode<P: H2oKernels<f32>>(
    exec: &impl Exec,
    cache: &mut H2oCache<'_>,
    n_heads: usize,
    q: &[f32],
    k_new: &[f32],
    v_new: &[f32],
    scale: f32,
    out: &mut [f32],
    work: &mut [u8],
) -> Result<()> {
    decode_stored::<P, f32>(exec, cache, n_heads, q, k_new, v_new, scale, out, work)
}

/// [`decode`] on a cache whose keys and values are stored as `S` (`f32`, `f16` or
/// `bf16`), with `q`, `k_new`, `v_new` and `out` in `S` too; the workspace is
/// [`decode_stored_work_size`]'s.
///
/// The queries are loaded as `f32`, the cached keys and values are converted as they
/// are read (`H2oKernels::dot_bf16` and the like), logits, softmax, scores and the
/// weighted sums are `f32`, and `out` is rounded once to `S` (to nearest, ties to
/// even). So the result is [`decode`]'s on the upcast data, up to the order of the
/// `f32` additions inside the loops, then rounded. `f32` is [`decode`] itself. The
/// errors are [`decode`]'s, [`Error::NonFinite`] meaning a NaN or infinity bit
/// pattern in `q`, `k_new` or `v_new`; after [`Error::Numerical`] `out` is as
/// [`decode`] leaves it.
#[allow(clippy::too_many_arguments)]
pub fn decode_stored<P: H2oKernels<f32>, S: KvElement>(
    exec: &impl Exec,
    cache: &mut H2oCache<'_, S>,
    n_heads: usize,
    q: &[S],
    k_new: &[S],
    v_new: &[S],
    scale: f32,
    out: &mut [S],
    work: &mut [u8],
) -> Result<()> {
    let (n_kv, d, budget) = (cache.n_kv_heads, cache.d, cache.budget);
    let group = group_size(n_heads, n_kv, d)?;
    let q_len = checked_product(&[n_heads, d])?;
    let kv_len = checked_product(&[n_kv, d])?;
    if q.len() != q_len || out.len() != q_len || k_new.len() != kv_len || v_new.len() != kv_len {
        return Err(Error::Dimension);
    }
    let scale = resolve_scale(scale, d)?;
    if work.len() < decode_stored_work_size::<S>(n_kv, d, budget, n_heads)?.bytes() {
        return Err(Error::Workspace);
    }
    check_finite_stored(q)?;
    check_finite_stored(k_new)?;
    check_finite_stored(v_new)?;
    let t = cache.next_pos;
    let next = t.checked_add(1).ok_or(Error::Argument)?;

    let mut ws = Workspace::new(work);
    let slots = ws.take::<u64>(n_kv)?;
    let mut scratch = KeyScratch::take(&mut ws, n_kv, group, budget, d)?;
    let q_f32 = ws.take::<f32>(S::scratch(q_len))?;
    let out_f32 = ws.take::<f32>(S::scratch(q_len))?;
    for (g, slot) in slots.iter_mut().enumerate() {
        let base = g * budget;
        *slot = if cache.len < budget {
            cache.len as u64
        } else {
            let (pos, score) = (
                &cache.pos[base..base + budget],
                &cache.score[base..base + budget],
            );
            victim(pos, score, t, cache.sink, cache.recent).ok_or(Error::Argument)? as u64
        };
    }

    // Validated: from here on the cache changes.
    for (g, &slot) in slots.iter().enumerate() {
        let at = g * budget + slot as usize;
        row_mut(cache.k, at * d, d)?.copy_from_slice(&k_new[g * d..(g + 1) * d]);
        row_mut(cache.v, at * d, d)?.copy_from_slice(&v_new[g * d..(g + 1) * d]);
        cache.score[at] = 0.0;
        cache.pos[at] = t;
    }
    cache.len = (cache.len + 1).min(budget);
    cache.next_pos = next;

    let len = cache.len;
    // The queries and outputs as f32: the caller's own for f32, else converted.
    let q = f32_view(q, q_f32)?;
    let (out, store) = f32_rows_mut(out, out_f32)?;
    // The rows of kv head `g`, writing into its group's part of `out`.
    let rows = |g: usize| Group {
        q,
        q_base: g * group * d,
        out_base: 0,
        q_stride: d,
        stride: d,
        heads: group,
        d,
        scale,
        k: &*cache.k,
        v: &*cache.v,
        slots: len,
        kv_row: move |s: usize| (g * budget + s) * d,
    };
    // One tile per (kv head, key chunk): the chunk's weighted sum of V into the
    // group's output rows (the first chunk) or its partial rows (the others). Then
    // each group's chunks are combined in order, and each tile adds its chunk's
    // probabilities to the scores. Every head attends before any score changes, so a
    // numerical failure leaves the scores as they were.
    let (ccap, chunks) = (scratch.ccap, scratch.chunks);
    let used = rows(0).used_chunks(ccap);
    let per_group = group * d;
    // Each group's output rows, then its partial rows (none with one chunk).
    let mut parts = &mut scratch.part[..];
    let dests = out.chunks_mut(per_group).flat_map(move |o| {
        let (p, rest) = core::mem::take(&mut parts).split_at_mut((chunks - 1) * per_group);
        parts = rest;
        core::iter::once(o).chain(p.chunks_mut(per_group))
    });
    let keys = (0..n_kv).flat_map(|g| (0..chunks).map(move |c| (g, c)));
    let attend = keys
        .zip(dests)
        .zip(scratch.rows.groups(group))
        .filter(|&(((_, c), _), _)| c < used);
    let ops = n_heads.saturating_mul(len).saturating_mul(2 * d);
    exec.for_each(ops, attend, |_, (((g, c), dest), mut s)| {
        rows(g)
            .key_chunk(c, ccap, 0, d)
            .accumulate::<P>(dest, &mut s)
    })?;
    for (g, out) in out.chunks_mut(per_group).enumerate() {
        rows(g).combine::<P>(out, &mut scratch, g, used)?;
    }
    let keys = (0..n_kv).flat_map(|g| (0..chunks).map(move |c| (g, c)));
    let scores = cache
        .score
        .chunks_mut(budget)
        .flat_map(|s| s.chunks_mut(ccap))
        .zip(keys)
        .zip(scratch.rows.groups(group))
        .filter(|&((_, (_, c)), _)| c < used);
    exec.for_each(
        n_heads.saturating_mul(len),
        scores,
        |_, ((score, (g, c)), s)| {
            rows(g)
                .key_chunk(c, ccap, 0, d)
                .add_chunk_scores::<P>(score, &s)
        },
    )?;
    if let Some(store) = store {
        S::store(out, store);
    }
    Ok(())
}
