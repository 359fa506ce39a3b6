//! One row of attention for the query heads of one group over the cached slots.
//!
//! The keys stream in tiles of [`TILE`] slots with a running maximum and sum per head
//! (online softmax); each K and V row is read once per tile for all heads of the group,
//! which is what makes grouped-query attention cheaper than one pass per head.

use super::kernels::{KV_ROWS, KvElement};
use super::{row, row_mut};
use crate::h2o::H2oKernels;
use crate::{Error, Result, Workspace, WorkspaceSize};

/// Slots per tile of logits.
pub const TILE: usize = 64;

/// How many slots ahead the K and V rows are prefetched: a decode step streams the
/// whole cache once, and the hardware prefetchers alone fell behind it (full-cache
/// decode at 67% of stream without the hints, 94% with them, `./scripts/bench.sh h2o`,
/// portable build). Only `f32` rows are: rows of half the bytes the prefetchers keep
/// up with, and the hints then only cost time (bf16 decode at 20% of a 16k context,
/// 8 heads, d 128: 0.79-0.88 ms without them against 1.05-1.11 ms with them, the
/// fastest of 60 rounds in each of three alternating runs, AMD EPYC family 25 VM).
const PREFETCH_ROWS: usize = 8;

/// Scratch of one row for `heads` query heads over at most `cap` slots: each head's
/// scaled exponentials (`cap`), the shift each tile was exponentiated with (one per
/// tile), and the running maximum and sum. One row of exponentials, never a matrix.
pub(crate) struct RowScratch<'w> {
    cap: usize,
    exps: &'w mut [f32],
    shifts: &'w mut [f32],
    max: &'w mut [f32],
    sum: &'w mut [f32],
}

fn tiles(cap: usize) -> usize {
    cap.div_ceil(TILE)
}

impl<'w> RowScratch<'w> {
    /// Adds the scratch to a size query (same arrays, same order as [`take`]).
    ///
    /// [`take`]: RowScratch::take
    pub(crate) fn size(ws: WorkspaceSize, heads: usize, cap: usize) -> Result<WorkspaceSize> {
        let exps = heads.checked_mul(cap).ok_or(Error::Dimension)?;
        let shifts = heads.checked_mul(tiles(cap)).ok_or(Error::Dimension)?;
        ws.array::<f32>(exps)?
            .array::<f32>(shifts)?
            .array::<f32>(heads)?
            .array::<f32>(heads)
    }

    pub(crate) fn take(ws: &mut Workspace<'w>, heads: usize, cap: usize) -> Result<Self> {
        let exps = heads.checked_mul(cap).ok_or(Error::Dimension)?;
        let shifts = heads.checked_mul(tiles(cap)).ok_or(Error::Dimension)?;
        Ok(RowScratch {
            cap,
            exps: ws.take(exps)?,
            shifts: ws.take(shifts)?,
            max: ws.take(heads)?,
            sum: ws.take(heads)?,
        })
    }

    /// The scratch cut into consecutive parts of `heads` heads each: one per group,
    /// the tiles of a loop over kv heads.
    pub(crate) fn groups(&mut self, heads: usize) -> impl Iterator<Item = RowScratch<'_>> + Send {
        let (cap, heads) = (self.cap, heads.max(1));
        let t = tiles(cap);
        self.exps
            .chunks_mut((heads * cap).max(1))
            .zip(self.shifts.chunks_mut((heads * t).max(1)))
            .zip(self.max.chunks_mut(heads))
            .zip(self.sum.chunks_mut(heads))
            .map(move |(((exps, shifts), max), sum)| RowScratch {
                cap,
                exps,
                shifts,
                max,
                sum,
            })
    }
}

/// Slots per key chunk: a row over more slots is computed chunk by chunk, each chunk
/// with its own running maximum and sum, and the chunks combined in order
/// (`Group::combine`). Decode runs a kv head's chunks at once on the threads; the
/// result depends on the number of slots only. Up to this many slots there is one
/// chunk and nothing to combine.
pub const KEY_CHUNK: usize = 2048;

/// Scratch of one row for `groups` groups of `group` query heads over at most `cap`
/// slots, in key chunks of `ccap = min(cap, KEY_CHUNK)` slots: a [`RowScratch`] per
/// (group, chunk), in that order, and the partial output rows of every chunk but the
/// first (`[group][chunk - 1][head][d]`; the first chunk accumulates in the output).
pub(crate) struct KeyScratch<'w> {
    pub(crate) rows: RowScratch<'w>,
    pub(crate) part: &'w mut [f32],
    pub(crate) group: usize,
    pub(crate) chunks: usize,
    pub(crate) ccap: usize,
}

/// The capacity of one key chunk of a row over `cap` slots, and how many there are.
fn key_chunks(cap: usize) -> (usize, usize) {
    let ccap = cap.clamp(1, KEY_CHUNK);
    (ccap, cap.div_ceil(ccap).max(1))
}

impl<'w> KeyScratch<'w> {
    /// Adds the scratch to a size query (same arrays, same order as [`take`]).
    ///
    /// [`take`]: KeyScratch::take
    pub(crate) fn size(
        ws: WorkspaceSize,
        groups: usize,
        group: usize,
        cap: usize,
        d: usize,
    ) -> Result<WorkspaceSize> {
        let (ccap, chunks) = key_chunks(cap);
        let (rows, part) = Self::counts(groups, group, chunks, d)?;
        RowScratch::size(ws, rows, ccap)?.array::<f32>(part)
    }

    pub(crate) fn take(
        ws: &mut Workspace<'w>,
        groups: usize,
        group: usize,
        cap: usize,
        d: usize,
    ) -> Result<Self> {
        let (ccap, chunks) = key_chunks(cap);
        let (rows, part) = Self::counts(groups, group, chunks, d)?;
        Ok(KeyScratch {
            rows: RowScratch::take(ws, rows, ccap)?,
            part: ws.take(part)?,
            group,
            chunks,
            ccap,
        })
    }

    /// Heads of the row scratch and values of the partial rows.
    fn counts(groups: usize, group: usize, chunks: usize, d: usize) -> Result<(usize, usize)> {
        let rows = crate::checked_product(&[groups, chunks, group])?;
        let part = crate::checked_product(&[groups, chunks - 1, group, d])?;
        Ok((rows, part))
    }
}

/// One tile of one row's online softmax: turns the tile's logits `exps` into
/// `exp(l - m')` with the new running maximum `m'` (left in `max`, which is also the
/// tile's shift), adds them to `sum`, and returns the factor the row's weighted sum of
/// V must be rescaled by (`None` when it is 1 or nothing finite was seen yet).
///
/// [`Error::Numerical`] when a logit is NaN or `+inf`.
pub(crate) fn online_tile<P: H2oKernels<f32>>(
    exps: &mut [f32],
    max: &mut f32,
    sum: &mut f32,
) -> Result<Option<f32>> {
    let tile_max = P::max(exps);
    if tile_max.is_nan() || tile_max == f32::INFINITY {
        return Err(Error::Numerical);
    }
    let new_max = max.max(tile_max);
    if new_max == f32::NEG_INFINITY {
        // Nothing finite yet: the tile's terms are all zero.
        exps.fill(0.0);
        *max = new_max;
        return Ok(None);
    }
    // exp(-inf) = 0 on the first finite tile: the zero output stays zero.
    let rescale = libm::expf(*max - new_max);
    *sum = *sum * rescale + P::exp_shift(new_max, exps);
    *max = new_max;
    Ok((rescale != 1.0).then_some(rescale))
}

/// Divides a row's weighted sum of V by its softmax sum, or [`Error::Numerical`] when
/// the running maximum or sum is not finite and positive, or when the output is not
/// finite (values near the largest float overflow the weighted sum, and a cache may
/// hold an infinite value).
pub(crate) fn finish_row<P: H2oKernels<f32>>(max: f32, sum: f32, out: &mut [f32]) -> Result<()> {
    if !max.is_finite() || !sum.is_finite() || sum <= 0.0 {
        return Err(Error::Numerical);
    }
    P::scale(1.0 / sum, out);
    if out.iter().all(|o| o.is_finite()) {
        Ok(())
    } else {
        Err(Error::Numerical)
    }
}

/// Where the rows of one group live. Head `i` of the group reads its query at
/// `q_base + i * q_stride` and writes its output at `out_base + i * stride`; cached slot
/// `s` has its K and V rows (stored as `S`) at `kv_row(s)`.
pub(crate) struct Group<'a, S, F> {
    pub q: &'a [f32],
    pub q_base: usize,
    pub q_stride: usize,
    pub out_base: usize,
    pub stride: usize,
    pub heads: usize,
    pub d: usize,
    pub scale: f32,
    pub k: &'a [S],
    pub v: &'a [S],
    pub slots: usize,
    pub kv_row: F,
}

impl<'a, S: KvElement, F: Fn(usize) -> usize> Group<'a, S, F> {
    /// Key chunk `c` of the group's slots (`ccap` slots a chunk), writing its rows at
    /// `out_base + i * stride`.
    pub(crate) fn key_chunk(
        &self,
        c: usize,
        ccap: usize,
        out_base: usize,
        stride: usize,
    ) -> Group<'a, S, impl Fn(usize) -> usize + '_> {
        let first = c * ccap;
        Group {
            q: self.q,
            q_base: self.q_base,
            q_stride: self.q_stride,
            out_base,
            stride,
            heads: self.heads,
            d: self.d,
            scale: self.scale,
            k: self.k,
            v: self.v,
            slots: self.slots.saturating_sub(first).min(ccap),
            kv_row: move |s: usize| (self.kv_row)(first + s),
        }
    }

    /// How many key chunks of `ccap` slots the group's slots fill (at least one).
    pub(crate) fn used_chunks(&self, ccap: usize) -> usize {
        self.slots.div_ceil(ccap.max(1)).max(1)
    }

    /// Completes group `g` of `s` after its first `used` key chunks were accumulated
    /// (the first into the output rows, the others into `s`'s partial rows): with the
    /// row's maximum `M` over the chunks, each head's output is the chunks' weighted
    /// sums scaled by `exp(m_c - M)` and added in chunk order, its softmax sum likewise,
    /// then divided. Every chunk's statistics are left as the row's final maximum and
    /// sum for [`add_chunk_scores`]. With one chunk this is the division alone.
    ///
    /// [`add_chunk_scores`]: Group::add_chunk_scores
    pub(crate) fn combine<P: H2oKernels<f32>>(
        &self,
        out: &mut [f32],
        s: &mut KeyScratch<'_>,
        g: usize,
        used: usize,
    ) -> Result<()> {
        let (group, chunks, d) = (s.group, s.chunks, self.d);
        let stat = |c: usize, i: usize| (g * chunks + c) * group + i;
        for i in 0..self.heads {
            let out = row_mut(out, self.out_base + i * self.stride, d)?;
            let (mut m, mut l) = (s.rows.max[stat(0, i)], s.rows.sum[stat(0, i)]);
            let top = (1..used).fold(m, |top, c| top.max(s.rows.max[stat(c, i)]));
            if used > 1 && top != f32::NEG_INFINITY {
                let w = libm::expf(m - top);
                P::scale(w, out);
                l *= w;
                for c in 1..used {
                    let w = libm::expf(s.rows.max[stat(c, i)] - top);
                    l += s.rows.sum[stat(c, i)] * w;
                    let part = ((g * (chunks - 1) + c - 1) * group + i) * d;
                    P::axpy(w, row(s.part, part, d)?, out);
                }
                m = top;
                for c in 0..used {
                    s.rows.max[stat(c, i)] = m;
                    s.rows.sum[stat(c, i)] = l;
                }
            }
            finish_row::<P>(m, l, out)?;
        }
        Ok(())
    }

    fn q_row(&self, i: usize) -> Result<&[f32]> {
        row(self.q, self.q_base + i * self.q_stride, self.d)
    }

    /// Starts bringing slot `j`'s row of `kv` (K or V) into the cache, if there is
    /// such a slot and it is stored as `f32` (see [`PREFETCH_ROWS`]).
    fn prefetch_row<P: H2oKernels<f32>>(&self, kv: &[S], j: usize) {
        if j < self.slots
            && let Ok(r) = row(kv, (self.kv_row)(j), self.d)
            && let Some(r) = S::as_f32(r)
        {
            P::prefetch(r);
        }
    }

    /// The K or V rows (`kv`) of the [`KV_ROWS`] slots from `j`, prefetching those
    /// [`PREFETCH_ROWS`] further on.
    fn rows<P: H2oKernels<f32>>(&self, kv: &'a [S], j: usize) -> Result<[&'a [S]; KV_ROWS]> {
        let mut rows = [&kv[..0]; KV_ROWS];
        for (r, x) in rows.iter_mut().enumerate() {
            self.prefetch_row::<P>(kv, j + r + PREFETCH_ROWS);
            *x = row(kv, (self.kv_row)(j + r), self.d)?;
        }
        Ok(rows)
    }

    /// `scale * q_i . k_s` for the heads of the group and the slots `start..start + n`,
    /// into `exps[i * cap + s]`. Each K row is read once for all heads, [`KV_ROWS`]
    /// rows at a time (each dot as a lone one computes it).
    fn logits<P: H2oKernels<f32>>(
        &self,
        start: usize,
        n: usize,
        s: &mut RowScratch<'_>,
    ) -> Result<()> {
        let whole = start + n - n % KV_ROWS;
        for j in (start..whole).step_by(KV_ROWS) {
            let k = self.rows::<P>(self.k, j)?;
            for i in 0..self.heads {
                let dots = S::dots::<P>(self.q_row(i)?, k);
                let at = i * s.cap + j;
                let l = s.exps.get_mut(at..at + KV_ROWS).ok_or(Error::Internal)?;
                for (l, dot) in l.iter_mut().zip(dots) {
                    *l = self.scale * dot;
                }
            }
        }
        for j in whole..start + n {
            self.prefetch_row::<P>(self.k, j + PREFETCH_ROWS);
            let k = row(self.k, (self.kv_row)(j), self.d)?;
            for i in 0..self.heads {
                let l = s.exps.get_mut(i * s.cap + j).ok_or(Error::Internal)?;
                *l = self.scale * S::dot::<P>(self.q_row(i)?, k);
            }
        }
        Ok(())
    }

    /// Writes the weighted sum of V over this group's slots into each head's output
    /// row, not yet divided by the softmax sum, tile by tile with a running maximum and
    /// sum, and leaves in `s` the exponentials, each tile's shift, the maximum and sum.
    ///
    /// [`Error::Numerical`] when a logit overflows.
    pub(crate) fn accumulate<P: H2oKernels<f32>>(
        &self,
        out: &mut [f32],
        s: &mut RowScratch<'_>,
    ) -> Result<()> {
        let (heads, cap, n_tiles) = (self.heads, s.cap, tiles(s.cap));
        if self.slots > cap || s.max.len() < heads {
            return Err(Error::Internal);
        }
        s.max.fill(f32::NEG_INFINITY);
        s.sum.fill(0.0);
        for i in 0..heads {
            row_mut(out, self.out_base + i * self.stride, self.d)?.fill(0.0);
        }
        for (tile, start) in (0..self.slots).step_by(TILE).enumerate() {
            let n = TILE.min(self.slots - start);
            self.logits::<P>(start, n, s)?;
            for i in 0..heads {
                let exps = s
                    .exps
                    .get_mut(i * cap + start..i * cap + start + n)
                    .ok_or(Error::Internal)?;
                let rescale = online_tile::<P>(exps, &mut s.max[i], &mut s.sum[i])?;
                *s.shifts
                    .get_mut(i * n_tiles + tile)
                    .ok_or(Error::Internal)? = s.max[i];
                if let Some(rescale) = rescale {
                    P::scale(
                        rescale,
                        row_mut(out, self.out_base + i * self.stride, self.d)?,
                    );
                }
            }
            // The weighted values, KV_ROWS rows at a time (the output row read and
            // written once for them, the same additions in the same order).
            let whole = start + n - n % KV_ROWS;
            for j in (start..whole).step_by(KV_ROWS) {
                let v = self.rows::<P>(self.v, j)?;
                for i in 0..heads {
                    let at = i * cap + j;
                    let p = s.exps.get(at..at + KV_ROWS).ok_or(Error::Internal)?;
                    let p: [f32; KV_ROWS] = p.try_into().map_err(|_| Error::Internal)?;
                    let y = row_mut(out, self.out_base + i * self.stride, self.d)?;
                    S::axpys::<P>(p, v, y);
                }
            }
            for j in whole..start + n {
                self.prefetch_row::<P>(self.v, j + PREFETCH_ROWS);
                let v = row(self.v, (self.kv_row)(j), self.d)?;
                for i in 0..heads {
                    let p = *s.exps.get(i * cap + j).ok_or(Error::Internal)?;
                    S::axpy::<P>(p, v, row_mut(out, self.out_base + i * self.stride, self.d)?);
                }
            }
        }
        Ok(())
    }

    /// Adds each slot's softmax probability, summed over the group's heads, to
    /// `score[slot]`, recovered from the statistics [`accumulate`] and [`combine`]
    /// left in `s` (the row's final maximum and sum): slot `j` of tile `T` has
    /// probability `e_j exp(shift_T - max) / sum`, one axpy per tile and head, with no
    /// logit recomputed and no K row read again.
    ///
    /// [`accumulate`]: Group::accumulate
    /// [`combine`]: Group::combine
    pub(crate) fn add_chunk_scores<P: H2oKernels<f32>>(
        &self,
        score: &mut [f32],
        s: &RowScratch<'_>,
    ) -> Result<()> {
        let (cap, n_tiles) = (s.cap, tiles(s.cap));
        for (tile, start) in (0..self.slots).step_by(TILE).enumerate() {
            let n = TILE.min(self.slots - start);
            let dst = score.get_mut(start..start + n).ok_or(Error::Internal)?;
            for i in 0..self.heads {
                let exps = s
                    .exps
                    .get(i * cap + start..i * cap + start + n)
                    .ok_or(Error::Internal)?;
                let shift = *s.shifts.get(i * n_tiles + tile).ok_or(Error::Internal)?;
                let (m, l) = (s.max[i], s.sum[i]);
                P::axpy(libm::expf(shift - m) / l, exps, dst);
            }
        }
        Ok(())
    }
}
