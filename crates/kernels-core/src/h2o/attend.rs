//! One row of attention for the query heads of one group over the cached slots.
//!
//! The keys stream in tiles of [`TILE`] slots with a running maximum and sum per head
//! (online softmax); each K and V row is read once per tile for all heads of the group,
//! which is what makes grouped-query attention cheaper than one pass per head.

use super::{row, row_mut};
use crate::{Error, Primitives, Result, Workspace, WorkspaceSize};

/// Slots per tile of logits.
pub const TILE: usize = 64;

/// Scratch of one row: a tile of logits per head, and each head's running statistics.
pub(crate) struct RowScratch<'w> {
    pub logits: &'w mut [f32],
    pub max: &'w mut [f32],
    pub sum: &'w mut [f32],
}

impl<'w> RowScratch<'w> {
    /// Adds the scratch of `heads` heads to a size query (same order as [`take`]).
    ///
    /// [`take`]: RowScratch::take
    pub(crate) fn size(ws: WorkspaceSize, heads: usize) -> Result<WorkspaceSize> {
        let tile = heads.checked_mul(TILE).ok_or(Error::Dimension)?;
        ws.array::<f32>(tile)?
            .array::<f32>(heads)?
            .array::<f32>(heads)
    }

    pub(crate) fn take(ws: &mut Workspace<'w>, heads: usize) -> Result<Self> {
        let tile = heads.checked_mul(TILE).ok_or(Error::Dimension)?;
        Ok(RowScratch {
            logits: ws.take(tile)?,
            max: ws.take(heads)?,
            sum: ws.take(heads)?,
        })
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

    /// `scale * q_i . k_s` for the heads of the group and the slots of one tile, laid
    /// out `[head][TILE]`.
    fn logits<P: Primitives<f32>>(&self, start: usize, n: usize, logits: &mut [f32]) -> Result<()> {
        for j in 0..n {
            let k = row(self.k, (self.kv_row)(start + j), self.d)?;
            for i in 0..self.heads {
                let l = logits.get_mut(i * TILE + j).ok_or(Error::Internal)?;
                *l = self.scale * P::dot(self.q_row(i)?, k);
            }
        }
        Ok(())
    }

    /// Writes the softmax-weighted sum of V into each head's output row and leaves the
    /// row's maximum and sum in `s` for [`add_scores`].
    ///
    /// [`Error::Numerical`] when a logit overflows or no logit is finite; the output
    /// rows then hold unspecified values.
    ///
    /// [`add_scores`]: Group::add_scores
    pub(crate) fn attend<P: Primitives<f32>>(
        &self,
        out: &mut [f32],
        s: &mut RowScratch<'_>,
    ) -> Result<()> {
        let heads = self.heads;
        let (max, sum) = (&mut s.max[..heads], &mut s.sum[..heads]);
        max.fill(f32::NEG_INFINITY);
        sum.fill(0.0);
        for i in 0..heads {
            row_mut(out, self.out_base + i * self.stride, self.d)?.fill(0.0);
        }
        for start in (0..self.slots).step_by(TILE) {
            let n = TILE.min(self.slots - start);
            self.logits::<P>(start, n, s.logits)?;
            for i in 0..heads {
                let tile = s
                    .logits
                    .get_mut(i * TILE..i * TILE + n)
                    .ok_or(Error::Internal)?;
                let tile_max = P::max(tile);
                if tile_max.is_nan() || tile_max == f32::INFINITY {
                    return Err(Error::Numerical);
                }
                let new_max = max[i].max(tile_max);
                if new_max == f32::NEG_INFINITY {
                    // Nothing finite yet: the tile's terms are all zero.
                    tile.fill(0.0);
                    continue;
                }
                // exp(-inf) = 0 on the first finite tile: the zero output stays zero.
                let rescale = libm::expf(max[i] - new_max);
                sum[i] = sum[i] * rescale + P::exp_shift(new_max, tile);
                if rescale != 1.0 {
                    P::scale(
                        rescale,
                        row_mut(out, self.out_base + i * self.stride, self.d)?,
                    );
                }
                max[i] = new_max;
            }
            for j in 0..n {
                let v = row(self.v, (self.kv_row)(start + j), self.d)?;
                for i in 0..heads {
                    let p = *s.logits.get(i * TILE + j).ok_or(Error::Internal)?;
                    P::axpy(p, v, row_mut(out, self.out_base + i * self.stride, self.d)?);
                }
            }
        }
        for i in 0..heads {
            if !max[i].is_finite() || !sum[i].is_finite() || sum[i] <= 0.0 {
                return Err(Error::Numerical);
            }
            P::scale(
                1.0 / sum[i],
                row_mut(out, self.out_base + i * self.stride, self.d)?,
            );
        }
        Ok(())
    }

    /// Adds each slot's softmax probability, summed over the group's heads, to
    /// `score[slot]`, from the maximum and sum [`attend`] left in `s`: the logits are
    /// recomputed tile by tile, so no row of probabilities is ever stored.
    ///
    /// [`attend`]: Group::attend
    pub(crate) fn add_scores<P: Primitives<f32>>(
        &self,
        score: &mut [f32],
        s: &mut RowScratch<'_>,
    ) -> Result<()> {
        for start in (0..self.slots).step_by(TILE) {
            let n = TILE.min(self.slots - start);
            self.logits::<P>(start, n, s.logits)?;
            let dst = score.get_mut(start..start + n).ok_or(Error::Internal)?;
            for i in 0..self.heads {
                let tile = s
                    .logits
                    .get_mut(i * TILE..i * TILE + n)
                    .ok_or(Error::Internal)?;
                P::exp_shift(s.max[i], tile);
                P::axpy(1.0 / s.sum[i], tile, dst);
            }
        }
        Ok(())
    }
}
