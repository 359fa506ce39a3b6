//! One row of attention for the query heads of one group over the cached slots.
//!
//! The keys stream in tiles of [`TILE`] slots with a running maximum and sum per head
//! (online softmax); each K and V row is read once per tile for all heads of the group,
//! which is what makes grouped-query attention cheaper than one pass per head.

use super::{row, row_mut};
use crate::h2o::H2oKernels;
use crate::{Error, Result, Workspace, WorkspaceSize};

/// Slots per tile of logits.
pub const TILE: usize = 64;

/// How many slots ahead the K and V rows are prefetched: a decode step streams the
/// whole cache once, and the hardware prefetchers alone fell behind it (full-cache
/// decode at 67% of stream without the hints, 94% with them, `./scripts/bench.sh h2o`,
/// portable build).
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
/// `q_base + i * stride` and writes its output at `out_base + i * stride`; cached slot
/// `s` has its K and V rows at `kv_row(s)`.
pub(crate) struct Group<'a, F> {
    pub q: &'a [f32],
    pub q_base: usize,
    pub out_base: usize,
    pub stride: usize,
    pub heads: usize,
    pub d: usize,
    pub scale: f32,
    pub k: &'a [f32],
    pub v: &'a [f32],
    pub slots: usize,
    pub kv_row: F,
}

impl<F: Fn(usize) -> usize> Group<'_, F> {
    fn q_row(&self, i: usize) -> Result<&[f32]> {
        row(self.q, self.q_base + i * self.stride, self.d)
    }

    /// Starts bringing slot `j`'s row of `kv` (K or V) into the cache, if there is
    /// such a slot.
    fn prefetch_row<P: H2oKernels<f32>>(&self, kv: &[f32], j: usize) {
        if j < self.slots
            && let Ok(r) = row(kv, (self.kv_row)(j), self.d)
        {
            P::prefetch(r);
        }
    }

    /// `scale * q_i . k_s` for the heads of the group and the slots `start..start + n`,
    /// into `exps[i * cap + s]`. Each K row is read once for all heads.
    fn logits<P: H2oKernels<f32>>(
        &self,
        start: usize,
        n: usize,
        s: &mut RowScratch<'_>,
    ) -> Result<()> {
        for j in start..start + n {
            self.prefetch_row::<P>(self.k, j + PREFETCH_ROWS);
            let k = row(self.k, (self.kv_row)(j), self.d)?;
            for i in 0..self.heads {
                let l = s.exps.get_mut(i * s.cap + j).ok_or(Error::Internal)?;
                *l = self.scale * P::dot(self.q_row(i)?, k);
            }
        }
        Ok(())
    }

    /// Writes the softmax-weighted sum of V into each head's output row, tile by tile
    /// with a running maximum and sum, and leaves in `s` what [`add_scores`] needs: the
    /// row's exponentials, each tile's shift, the final maximum and sum.
    ///
    /// [`Error::Numerical`] when a logit overflows or no logit is finite; the output
    /// rows then hold unspecified values.
    ///
    /// [`add_scores`]: Group::add_scores
    pub(crate) fn attend<P: H2oKernels<f32>>(
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
            for j in start..start + n {
                self.prefetch_row::<P>(self.v, j + PREFETCH_ROWS);
                let v = row(self.v, (self.kv_row)(j), self.d)?;
                for i in 0..heads {
                    let p = *s.exps.get(i * cap + j).ok_or(Error::Internal)?;
                    P::axpy(p, v, row_mut(out, self.out_base + i * self.stride, self.d)?);
                }
            }
        }
        for i in 0..heads {
            let out = row_mut(out, self.out_base + i * self.stride, self.d)?;
            finish_row::<P>(s.max[i], s.sum[i], out)?;
        }
        Ok(())
    }

    /// Adds each slot's softmax probability, summed over the group's heads, to
    /// `score[slot]`, recovered from the running statistics [`attend`] left in `s`:
    /// slot `j` of tile `T` has probability `e_j exp(shift_T - max) / sum`, one axpy
    /// per tile and head, with no logit recomputed and no K row read again.
    ///
    /// [`attend`]: Group::attend
    pub(crate) fn add_scores<P: H2oKernels<f32>>(
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
