//! Prefill without eviction and without scores: blocked causal flash attention.
//!
//! When the budget covers the prompt and the caller wants no scores, no row's
//! probabilities are ever needed again, so rows need not be computed one at a time.
//! A block of [`TILE`] query rows of one head meets one tile of [`TILE`] keys in two
//! register-tiled products (`Primitives::gemm`): the logits `scale * Q K^T`, then,
//! after the online softmax of each row over that tile, `P V` into the block's output
//! rows. Tiles above the diagonal are skipped; the diagonal tile is masked per row.
//! The softmax steps are the same per-row code the decode path uses
//! ([`online_tile`], [`finish_row`]); only the summation order of the products
//! differs, so outputs agree with the row-by-row path to rounding.
//!
//! `gemm` wants contiguous rows of `B`, and `K^T` of a row-major `K` has contiguous
//! columns, so each kv head's keys are transposed once into tiles of `d x TILE`
//! (zero-padded past the prompt), shared by every query block and head of its group.
//!
//! With half-precision storage the transpose converts the keys to `f32` on the way,
//! the values of the kv head are converted once into `f32` scratch beside them (not
//! tile by tile: each value tile is read by every later block of rows), and each
//! block converts its query rows; the block's output rows are computed in `f32`
//! scratch and rounded once. With `f32` storage the same code reads and writes the
//! caller's arrays in place.

use super::TILE;
use super::attend::{finish_row, online_tile};
use super::{f32_rows_mut, f32_view, row_mut};
use crate::h2o::H2oKernels;
use crate::{
    Error, Exec, Result, Storage, Strided, StridedMut, Workspace, WorkspaceSize, tiles_per_slot,
};

/// Scratch of one slot: one kv head's transposed key tiles, one block of logits and
/// the block rows' running maxima and sums; with half storage, the kv head's values
/// and one block of query rows and output rows as `f32` (empty for `f32`).
pub(crate) struct CausalScratch<'w> {
    kt: &'w mut [f32],
    logits: &'w mut [f32],
    max: &'w mut [f32],
    sum: &'w mut [f32],
    q: &'w mut [f32],
    v: &'w mut [f32],
    out: &'w mut [f32],
}

fn kt_len(seq: usize, d: usize) -> Result<usize> {
    crate::checked_product(&[seq.div_ceil(TILE), TILE, d])
}

impl<'w> CausalScratch<'w> {
    /// Adds the scratch to a size query (same arrays, same order as [`take`]).
    ///
    /// [`take`]: CausalScratch::take
    pub(crate) fn size<S: Storage>(
        ws: WorkspaceSize,
        seq: usize,
        d: usize,
    ) -> Result<WorkspaceSize> {
        let rows = S::scratch(crate::checked_product(&[TILE, d])?);
        let values = S::scratch(crate::checked_product(&[seq, d])?);
        ws.array::<f32>(kt_len(seq, d)?)?
            .array::<f32>(TILE * TILE)?
            .array::<f32>(TILE)?
            .array::<f32>(TILE)?
            .array::<f32>(rows)?
            .array::<f32>(values)?
            .array::<f32>(rows)
    }

    pub(crate) fn take<S: Storage>(ws: &mut Workspace<'w>, seq: usize, d: usize) -> Result<Self> {
        let rows = S::scratch(crate::checked_product(&[TILE, d])?);
        let values = S::scratch(crate::checked_product(&[seq, d])?);
        Ok(CausalScratch {
            kt: ws.take(kt_len(seq, d)?)?,
            logits: ws.take(TILE * TILE)?,
            max: ws.take(TILE)?,
            sum: ws.take(TILE)?,
            q: ws.take(rows)?,
            v: ws.take(values)?,
            out: ws.take(rows)?,
        })
    }
}

/// The shapes of a prompt: `q`, `out` `[n_kv * group][seq][d]`, `k`, `v`
/// `[n_kv][seq][d]`, stored as `S`.
pub(crate) struct Prompt<'a, S> {
    pub q: &'a [S],
    pub k: &'a [S],
    pub v: &'a [S],
    pub n_kv: usize,
    pub group: usize,
    pub seq: usize,
    pub d: usize,
    pub scale: f32,
}

/// Plain causal softmax attention of every head into `out` (sizes already checked).
///
/// The heads are independent tiles run by `exec`, dealt in contiguous runs to as many
/// [`CausalScratch`] slots as `work` holds (at least one; at most [`Exec::width`]);
/// each slot transposes the keys of its heads' kv head once per run of heads that
/// share it. The result does not depend on `exec` or the number of slots.
///
/// [`Error::Numerical`] when logits overflow; `out` then holds unspecified values.
pub(crate) fn causal<P: H2oKernels<f32>, S: Storage>(
    exec: &impl Exec,
    p: &Prompt<'_, S>,
    out: &mut [S],
    work: &mut [u8],
) -> Result<()> {
    let (seq, d) = (p.seq, p.d);
    let per_head = seq * d;
    let n_heads = p.n_kv * p.group;
    let slot = CausalScratch::size::<S>(WorkspaceSize::new(), seq, d)?.bytes();
    let slots = (work.len() / slot).min(exec.width().max(1));
    if slots == 0 {
        // prefill checked the workspace for one slot.
        return Err(Error::Internal);
    }
    let heads = tiles_per_slot(n_heads, slots);
    // About 2 d multiply-adds per (row, key) pair below the diagonal, twice.
    let ops = n_heads
        .saturating_mul(seq)
        .saturating_mul(seq)
        .saturating_mul(2 * d);
    let tiles = out
        .chunks_mut(heads * per_head)
        .zip(work.chunks_exact_mut(slot));
    exec.for_each(ops, tiles, |tile, (out, work)| {
        let mut s = CausalScratch::take::<S>(&mut Workspace::new(work), seq, d)?;
        let mut keys_of = None;
        for (i, head_out) in out.chunks_exact_mut(per_head).enumerate() {
            let h = tile * heads + i;
            let g = h / p.group;
            if keys_of != Some(g) {
                transpose_keys(p, g, s.kt)?;
                if !S::NATIVE {
                    S::load(kv_head(p.v, g, seq * d)?, s.v);
                }
                keys_of = Some(g);
            }
            for t0 in (0..seq).step_by(TILE) {
                block::<P, S>(p, g, h, t0, head_out, &mut s)?;
            }
        }
        Ok(())
    })
}

/// Kv head `g`'s `len` elements of `x` (`[n_kv][seq][d]`, `len = seq * d`).
fn kv_head<T>(x: &[T], g: usize, len: usize) -> Result<&[T]> {
    x.get(g * len..(g + 1) * len).ok_or(Error::Internal)
}

/// `kt[b][x][j] = k[g][b * TILE + j][x]` as `f32`, zero past the prompt.
fn transpose_keys<S: Storage>(p: &Prompt<'_, S>, g: usize, kt: &mut [f32]) -> Result<()> {
    let (seq, d) = (p.seq, p.d);
    let keys = kv_head(p.k, g, seq * d)?;
    for (b, tile) in kt.chunks_exact_mut(TILE * d).enumerate() {
        tile.fill(0.0);
        for (j, key) in keys.chunks_exact(d).skip(b * TILE).take(TILE).enumerate() {
            for (x, &value) in key.iter().enumerate() {
                *tile.get_mut(x * TILE + j).ok_or(Error::Internal)? = value.to_f32();
            }
        }
    }
    Ok(())
}

/// Rows `t0..t0 + TILE` (cut at the prompt's end) of head `h`, which reads kv head
/// `g`, into `out` (that head's `seq x d` output).
fn block<P: H2oKernels<f32>, S: Storage>(
    p: &Prompt<'_, S>,
    g: usize,
    h: usize,
    t0: usize,
    out: &mut [S],
    s: &mut CausalScratch<'_>,
) -> Result<()> {
    let (seq, d) = (p.seq, p.d);
    let rows = TILE.min(seq - t0);
    let first = (h * seq + t0) * d;
    let q = p.q.get(first..first + rows * d).ok_or(Error::Internal)?;
    let q = Strided::rows(f32_view(q, s.q)?, rows, d, d)?;
    let out_rows = out
        .get_mut(t0 * d..(t0 + rows) * d)
        .ok_or(Error::Internal)?;
    let (out_block, store) = f32_rows_mut(out_rows, s.out)?;
    out_block.fill(0.0);
    s.max.fill(f32::NEG_INFINITY);
    s.sum.fill(0.0);
    for (b, s0) in (0..=t0).step_by(TILE).enumerate() {
        let n = TILE.min(seq - s0);
        let logits = s.logits.get_mut(..rows * TILE).ok_or(Error::Internal)?;
        logits.fill(0.0);
        let kt =
            s.kt.get(b * TILE * d..(b + 1) * TILE * d)
                .ok_or(Error::Internal)?;
        P::gemm(
            p.scale,
            q,
            None,
            Strided::rows(kt, d, TILE, TILE)?,
            StridedMut::rows(logits, rows, TILE, TILE)?,
        );
        for (r, row) in logits.chunks_exact_mut(TILE).enumerate() {
            // Row t0 + r sees keys s0..=t0 + r of this tile.
            let valid = n.min(t0 + r + 1 - s0);
            let (exps, masked) = row.split_at_mut(valid);
            masked.fill(0.0);
            let rescale = online_tile::<P>(exps, &mut s.max[r], &mut s.sum[r])?;
            if let Some(rescale) = rescale {
                P::scale(rescale, row_mut(out_block, r * d, d)?);
            }
        }
        // The kv head's values as f32: the caller's, or converted once per kv head.
        let values = match S::as_f32(p.v) {
            Some(v) => kv_head(v, g, seq * d)?,
            None => &*s.v,
        };
        let v = values.get(s0 * d..(s0 + n) * d).ok_or(Error::Internal)?;
        P::gemm(
            1.0,
            Strided::rows(logits, rows, n, TILE)?,
            None,
            Strided::rows(v, n, d, d)?,
            StridedMut::rows(out_block, rows, d, d)?,
        );
    }
    for r in 0..rows {
        finish_row::<P>(s.max[r], s.sum[r], row_mut(out_block, r * d, d)?)?;
    }
    if let Some(store) = store {
        S::store(out_block, store);
    }
    Ok(())
}
