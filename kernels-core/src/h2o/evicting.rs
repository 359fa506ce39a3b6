//! Prefill with eviction (or scores): the H2O rule applied to blocks of rows.
//!
//! Row `t` attends to the cache as the rule leaves it at `t`, and which token the rule
//! evicts depends on every earlier row's probabilities, so the rows' softmax and
//! eviction must run in order. Their products need not: every key a row of the block
//! `t0..t0 + TILE` (shorter for a shorter prompt) can see is either in the cache at
//! `t0` or one of the block's own tokens. So each block of one kv head runs in three
//! steps:
//!
//! 1. the logits of the block's rows of every query head of the group against those
//!    `B + TILE` keys (the cache at `t0` in slot order, then the new tokens), by two
//!    register-tiled products (`Primitives::gemm`);
//! 2. row by row: the eviction, then each head's softmax over the logits of the slots
//!    the cache holds at that row (gathered in slot order), the scores, and the
//!    probabilities scattered back over the logits (zero for keys the row does not
//!    see: evicted before it, or newer than it);
//! 3. the output rows `P V` by two more products, divided by each row's sum.
//!
//! The cache's keys (transposed, so that `gemm` reads contiguous rows) and values are
//! kept as `f32` in slot order in the scratch; at the end of a block the slots taken
//! by its tokens are copied in. The products do the row-by-row rule's `O(rows x B x d)`
//! multiply-adds (plus a `TILE x TILE` triangle per block), at the rate of a matrix
//! product rather than of a dot product per key; the sequential part is `O(B)` per
//! row and head.
//!
//! Decode computes one row at a time with dot products, so prefill agrees with decode
//! steps over the same tokens to rounding (the logits, and so the probabilities and
//! scores, are summed in another order). Eviction compares scores, so the kept sets
//! agree wherever no eviction is decided by a margin near that rounding.

use super::attend::{finish_row, online_tile};
use super::causal::Prompt;
use super::evict::victim;
use super::kernels::KvElement;
use super::{H2oOpts, f32_rows_mut, f32_view, row, row_mut};
use crate::h2o::H2oKernels;
use crate::{Error, Result, Strided, StridedMut, Workspace, WorkspaceSize, checked_product};

/// Scratch of one kv head over a cache of at most `cap` slots, in blocks of `block`
/// rows, for `group` query heads: the slot table (position, score, and the column of
/// the slot's key in the block's key set), the cache and the block's new tokens as
/// `f32` (keys transposed `d x (cap + block)`, values `(cap + block) x d`), the
/// group's block of logits (`[group][block][cap + block]`, turned into probabilities
/// in place), one gathered row, each row's maximum and sum, and for half storage a
/// block of query and output rows as `f32`.
pub(crate) struct EvictScratch<'w> {
    cap: usize,
    block: usize,
    pos: &'w mut [u64],
    score: &'w mut [f32],
    column: &'w mut [u64],
    kt: &'w mut [f32],
    v: &'w mut [f32],
    logits: &'w mut [f32],
    row: &'w mut [f32],
    max: &'w mut [f32],
    sum: &'w mut [f32],
    q: &'w mut [f32],
    out: &'w mut [f32],
}

/// The lengths of [`EvictScratch`]'s arrays after `pos`, `score` and `column` (`cap`
/// each): keys (and values), logits, row, maximum (and sum), query (and output) rows.
fn lengths<S: KvElement>(group: usize, cap: usize, block: usize, d: usize) -> Result<[usize; 5]> {
    let width = cap.checked_add(block).ok_or(Error::Dimension)?;
    Ok([
        checked_product(&[width, d])?,
        checked_product(&[group, block, width])?,
        cap,
        checked_product(&[group, block])?,
        S::scratch(checked_product(&[block, d])?),
    ])
}

impl<'w> EvictScratch<'w> {
    /// Adds the scratch to a size query (same arrays, same order as [`take`]).
    ///
    /// [`take`]: EvictScratch::take
    pub(crate) fn size<S: KvElement>(
        ws: WorkspaceSize,
        group: usize,
        cap: usize,
        block: usize,
        d: usize,
    ) -> Result<WorkspaceSize> {
        let [kv, logits, row, stats, rows] = lengths::<S>(group, cap, block, d)?;
        ws.array::<u64>(cap)?
            .array::<f32>(cap)?
            .array::<u64>(cap)?
            .array::<f32>(kv)?
            .array::<f32>(kv)?
            .array::<f32>(logits)?
            .array::<f32>(row)?
            .array::<f32>(stats)?
            .array::<f32>(stats)?
            .array::<f32>(rows)?
            .array::<f32>(rows)
    }

    pub(crate) fn take<S: KvElement>(
        ws: &mut Workspace<'w>,
        group: usize,
        cap: usize,
        block: usize,
        d: usize,
    ) -> Result<Self> {
        let [kv, logits, row, stats, rows] = lengths::<S>(group, cap, block, d)?;
        Ok(EvictScratch {
            cap,
            block,
            pos: ws.take(cap)?,
            score: ws.take(cap)?,
            column: ws.take(cap)?,
            kt: ws.take(kv)?,
            v: ws.take(kv)?,
            logits: ws.take(logits)?,
            row: ws.take(row)?,
            max: ws.take(stats)?,
            sum: ws.take(stats)?,
            q: ws.take(rows)?,
            out: ws.take(rows)?,
        })
    }

    /// Columns of the key set: the cache's `cap` slots, then a block's new tokens.
    fn width(&self) -> usize {
        self.cap + self.block
    }
}

/// What every kv head of the evicting prefill shares: the prompt and the rule.
pub(crate) struct Evicting<'a, S> {
    pub prompt: Prompt<'a, S>,
    pub budget: usize,
    pub opts: &'a H2oOpts,
}

impl<S: KvElement> Evicting<'_, S> {
    /// The rows of kv head `g` in order, its query heads' rows into `out`
    /// (`[group][seq][d]`), its tokens' scores and keep flags into `scores` and `keep`
    /// (`[seq]` each). `s` holds a cache of `budget` slots.
    ///
    /// [`Error::Numerical`] when logits overflow; the outputs then hold unspecified
    /// values.
    pub(crate) fn kv_head<P: H2oKernels<f32>>(
        &self,
        g: usize,
        out: &mut [S],
        mut scores: Option<&mut [f32]>,
        keep: Option<&mut [u8]>,
        s: &mut EvictScratch<'_>,
    ) -> Result<()> {
        let (seq, group, cap, block) = (self.prompt.seq, self.prompt.group, s.cap, s.block);
        if cap != self.budget || block == 0 {
            return Err(Error::Internal);
        }
        let mut len = 0usize;
        for t0 in (0..seq).step_by(block) {
            let rows = block.min(seq - t0);
            let old = len;
            self.load_block(g, t0, rows, s)?;
            for i in 0..group {
                self.logits::<P>(g * group + i, i, t0, rows, old, s)?;
            }
            for r in 0..rows {
                let t = t0 + r;
                let slot = if len < cap {
                    len += 1;
                    len - 1
                } else {
                    let slot = victim(s.pos, s.score, t as u64, self.opts.sink, self.opts.recent)
                        .ok_or(Error::Internal)?;
                    if let Some(out_scores) = scores.as_deref_mut() {
                        *out_scores
                            .get_mut(s.pos[slot] as usize)
                            .ok_or(Error::Internal)? = s.score[slot];
                    }
                    slot
                };
                s.pos[slot] = t as u64;
                s.score[slot] = 0.0;
                s.column[slot] = (cap + r) as u64;
                for i in 0..group {
                    softmax_row::<P>(i, r, len, old, rows, s)?;
                }
            }
            for i in 0..group {
                let head_out = out
                    .get_mut(i * seq * self.prompt.d..(i + 1) * seq * self.prompt.d)
                    .ok_or(Error::Internal)?;
                self.values::<P>(i, t0, rows, old, head_out, s)?;
            }
            commit(len, self.prompt.d, s)?;
        }
        if let Some(keep) = keep {
            keep.fill(0);
            for &p in &s.pos[..len] {
                *keep.get_mut(p as usize).ok_or(Error::Internal)? = 1;
            }
        }
        if let Some(out_scores) = scores {
            for (&p, &sc) in s.pos[..len].iter().zip(&s.score[..len]) {
                *out_scores.get_mut(p as usize).ok_or(Error::Internal)? = sc;
            }
        }
        Ok(())
    }

    /// The keys and values of tokens `t0..t0 + rows` of kv head `g` as `f32` into the
    /// block's columns of the key set (`cap..cap + rows`).
    fn load_block(&self, g: usize, t0: usize, rows: usize, s: &mut EvictScratch<'_>) -> Result<()> {
        let (p, cap, width) = (&self.prompt, s.cap, s.width());
        let d = p.d;
        for j in 0..rows {
            let at = (g * p.seq + t0 + j) * d;
            for (x, &k) in row(p.k, at, d)?.iter().enumerate() {
                *s.kt.get_mut(x * width + cap + j).ok_or(Error::Internal)? = k.to_f32();
            }
            S::load(row(p.v, at, d)?, row_mut(s.v, (cap + j) * d, d)?);
        }
        Ok(())
    }

    /// `scale * q . k` of rows `t0..t0 + rows` of query head `h` (the group's `i`-th)
    /// against the cache's first `old` slots and the block's `rows` new tokens, into
    /// block `i` of the logits (columns `0..old` and `cap..cap + rows`).
    fn logits<P: H2oKernels<f32>>(
        &self,
        h: usize,
        i: usize,
        t0: usize,
        rows: usize,
        old: usize,
        s: &mut EvictScratch<'_>,
    ) -> Result<()> {
        let (p, cap, width) = (&self.prompt, s.cap, s.width());
        let d = p.d;
        let first = (h * p.seq + t0) * d;
        let q = p.q.get(first..first + rows * d).ok_or(Error::Internal)?;
        let q = Strided::rows(f32_view(q, s.q)?, rows, d, d)?;
        let logits = block_mut(s.logits, i, s.block, width)?;
        for lrow in logits.chunks_exact_mut(width).take(rows) {
            lrow[..old].fill(0.0);
            lrow[cap..cap + rows].fill(0.0);
        }
        for (from, n) in [(0, old), (cap, rows)] {
            if n > 0 {
                P::gemm(
                    p.scale,
                    q,
                    None,
                    Strided::rows(s.kt.get(from..).ok_or(Error::Internal)?, d, n, width)?,
                    StridedMut::rows(
                        logits.get_mut(from..).ok_or(Error::Internal)?,
                        rows,
                        n,
                        width,
                    )?,
                );
            }
        }
        Ok(())
    }

    /// Rows `t0..t0 + rows` of the group's `i`-th query head into `out` (that head's
    /// `seq x d` output): block `i` of the probabilities times the values of the
    /// cache's first `old` slots and of the block's tokens, divided by each row's sum.
    fn values<P: H2oKernels<f32>>(
        &self,
        i: usize,
        t0: usize,
        rows: usize,
        old: usize,
        out: &mut [S],
        s: &mut EvictScratch<'_>,
    ) -> Result<()> {
        let (d, cap, width) = (self.prompt.d, s.cap, s.width());
        let out_rows = out
            .get_mut(t0 * d..(t0 + rows) * d)
            .ok_or(Error::Internal)?;
        let (out_block, store) = f32_rows_mut(out_rows, s.out)?;
        out_block.fill(0.0);
        let probs = block_mut(s.logits, i, s.block, width)?;
        for (from, n) in [(0, old), (cap, rows)] {
            if n > 0 {
                P::gemm(
                    1.0,
                    Strided::rows(probs.get(from..).ok_or(Error::Internal)?, rows, n, width)?,
                    None,
                    Strided::rows(s.v.get(from * d..).ok_or(Error::Internal)?, n, d, d)?,
                    StridedMut::rows(out_block, rows, d, d)?,
                );
            }
        }
        for r in 0..rows {
            let stat = i * s.block + r;
            finish_row::<P>(s.max[stat], s.sum[stat], row_mut(out_block, r * d, d)?)?;
        }
        if let Some(store) = store {
            S::store(out_block, store);
        }
        Ok(())
    }
}

/// Block `i` of the logits (`block` rows of `width`).
fn block_mut(logits: &mut [f32], i: usize, block: usize, width: usize) -> Result<&mut [f32]> {
    logits
        .get_mut(i * block * width..(i + 1) * block * width)
        .ok_or(Error::Internal)
}

/// Row `r` of head `i`'s logits over the `len` slots the cache holds at that row:
/// gathered in slot order, exponentiated against their maximum, the probabilities
/// added to the slots' scores, and the exponentials scattered back over the row's
/// logits (the other columns of the `old` cached slots and `rows` new tokens zeroed),
/// with the maximum and sum kept for the division of the output row.
///
/// [`Error::Numerical`] when a logit is NaN or `+inf` or none is finite.
fn softmax_row<P: H2oKernels<f32>>(
    i: usize,
    r: usize,
    len: usize,
    old: usize,
    rows: usize,
    s: &mut EvictScratch<'_>,
) -> Result<()> {
    let (cap, width) = (s.cap, s.width());
    let lrow = row_mut(s.logits, (i * s.block + r) * width, width)?;
    let exps = s.row.get_mut(..len).ok_or(Error::Internal)?;
    let columns = s.column.get(..len).ok_or(Error::Internal)?;
    for (e, &c) in exps.iter_mut().zip(columns) {
        *e = *lrow.get(c as usize).ok_or(Error::Internal)?;
    }
    let (mut max, mut sum) = (f32::NEG_INFINITY, 0.0);
    online_tile::<P>(exps, &mut max, &mut sum)?;
    if !max.is_finite() || !sum.is_finite() || sum <= 0.0 {
        return Err(Error::Numerical);
    }
    lrow[..old].fill(0.0);
    lrow[cap..cap + rows].fill(0.0);
    for (&e, &c) in exps.iter().zip(columns) {
        *lrow.get_mut(c as usize).ok_or(Error::Internal)? = e;
    }
    P::axpy(1.0 / sum, exps, &mut s.score[..len]);
    let stat = i * s.block + r;
    *s.max.get_mut(stat).ok_or(Error::Internal)? = max;
    *s.sum.get_mut(stat).ok_or(Error::Internal)? = sum;
    Ok(())
}

/// Moves the block's tokens the cache still holds into their slots' columns, so that
/// the key set's first `len` columns are the cache in slot order again.
fn commit(len: usize, d: usize, s: &mut EvictScratch<'_>) -> Result<()> {
    let (cap, width) = (s.cap, s.width());
    for slot in 0..len {
        let c = s.column[slot] as usize;
        if c < cap {
            continue;
        }
        for x in 0..d {
            let k = *s.kt.get(x * width + c).ok_or(Error::Internal)?;
            *s.kt.get_mut(x * width + slot).ok_or(Error::Internal)? = k;
        }
        let (cached, new) = s.v.split_at_mut(cap * d);
        row_mut(cached, slot * d, d)?.copy_from_slice(row(new, (c - cap) * d, d)?);
        s.column[slot] = slot as u64;
    }
    Ok(())
}
