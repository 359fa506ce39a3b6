//! The chunked forward pass.

use super::powers::fill_powers;
use super::{DEFAULT_CHUNK, Inputs, Shape, all_finite, decay_of, head, view, view_mut};
use crate::linattn::LinattnKernels;
use crate::{Error, Exec, Real, Result, Workspace, WorkspaceSize, tiles_per_slot};
use core::sync::atomic::{AtomicBool, Ordering};

/// Rows of a chunk's score block computed at a time. The block `Q K^T` is causal:
/// row block `[r0, r1)` needs only columns `[0, r1)`, so computing it in strips of
/// this many rows skips most of the zero upper triangle (at `L = 64`, 10 of 16
/// sub-blocks are computed) while each strip's products stay large enough to tile.
const STRIP: usize = 16;

/// The chunk length actually used: `chunk` (0 = [`DEFAULT_CHUNK`]), at most `len`.
///
/// Public so that other backends (kernels-cuda) cut the sequence the same way.
pub fn chunk_len(chunk: usize, len: usize) -> usize {
    let c = if chunk == 0 { DEFAULT_CHUNK } else { chunk };
    c.min(len)
}

/// Workspace of [`forward`], listed in the order [`forward`] takes it: the decay
/// powers `g^n` and `scale g^n` (`L + 1` each), the state weights `g^(L-1-j)` (`L`),
/// the chunk's `K^T` (`dk x L`), one strip of scores (`min(16, L) x L`), and the
/// running state (`dk x dv`).
///
/// [`Error::Dimension`] for a zero size or an overflowing one.
pub fn forward_work_size<T: Real>(shape: Shape, chunk: usize) -> Result<WorkspaceSize> {
    shape.check()?;
    let l = chunk_len(chunk, shape.len);
    let l1 = l.checked_add(1).ok_or(Error::Dimension)?;
    WorkspaceSize::new()
        .array::<T>(l1)?
        .array::<T>(l1)?
        .array::<T>(l)?
        .array::<T>(shape.dk.checked_mul(l).ok_or(Error::Dimension)?)?
        .array::<T>(STRIP.min(l).checked_mul(l).ok_or(Error::Dimension)?)?
        .array::<T>(shape.dk.checked_mul(shape.dv).ok_or(Error::Dimension)?)
}

/// The per-chunk scratch arrays, carved from the workspace.
struct Scratch<'a, T> {
    pow: &'a mut [T],
    scaled_pow: &'a mut [T],
    weights: &'a mut [T],
    kt: &'a mut [T],
    scores: &'a mut [T],
    state: &'a mut [T],
}

/// Causal linear attention, chunk by chunk (see the module docs for the formula).
///
/// Writes `out` (`[n_heads][len][dv]`) and, if given, `state_out` (`S_len`,
/// `[n_heads][dk][dv]`). `chunk` 0 means [`DEFAULT_CHUNK`]; a chunk longer than the
/// sequence is the whole sequence. `work` must hold [`forward_work_size`] bytes (any
/// alignment); each further whole [`forward_work_size`] it holds is scratch for one
/// more head at once under a threaded `exec` (up to [`Exec::width`] and `n_heads`).
/// The heads are independent: the result does not depend on `exec` or on `work`'s
/// size.
///
/// Errors, with nothing written: [`Error::Dimension`] (a zero size, lengths that
/// disagree), [`Error::Workspace`], [`Error::NonFinite`] (NaN or infinity in any input,
/// decay or scale), [`Error::Argument`] (a decay outside `(0, 1]`). After
/// [`Error::Numerical`] (a value overflowed) `out` and `state_out` hold the computed
/// values, some of them infinite or NaN.
pub fn forward<T: Real, P: LinattnKernels<T>>(
    exec: &impl Exec,
    inp: &Inputs<'_, T>,
    chunk: usize,
    out: &mut [T],
    state_out: Option<&mut [T]>,
    work: &mut [u8],
) -> Result<()> {
    let shape = inp.shape;
    let needed = forward_work_size::<T>(shape, chunk)?.bytes();
    let scale = inp.validate::<P>(exec, out.len(), state_out.as_ref().map(|s| s.len()))?;
    if work.len() < needed {
        return Err(Error::Workspace);
    }
    let (dk, dv) = (shape.dk, shape.dv);
    let (per_v, per_s) = (shape.len * dv, dk * dv);
    // Tiles: runs of consecutive heads, one run per slot of scratch.
    let slots = (work.len() / needed).min(exec.width());
    let heads = tiles_per_slot(shape.n_heads, slots);
    let mut states = state_out.map(|s| s.chunks_mut(heads * per_s));
    let tiles = out
        .chunks_mut(heads * per_v)
        .zip(work.chunks_exact_mut(needed))
        .map(move |(o, w)| (o, w, states.as_mut().and_then(Iterator::next)));
    let ops = shape.n_heads.saturating_mul(shape.len).saturating_mul(
        dk.saturating_mul(dv)
            .saturating_mul(4)
            .saturating_add(chunk_len(chunk, shape.len).saturating_mul(dk + dv)),
    );
    // A value that overflowed in any head: reported once all heads are written.
    let overflow = AtomicBool::new(false);
    exec.for_each(ops, tiles, |tile, (out, work, mut states)| {
        let mut ws = Workspace::new(work);
        let mut s = Scratch::take(&mut ws, shape, chunk)?;
        for (i, o) in out.chunks_exact_mut(per_v).enumerate() {
            let h = tile * heads + i;
            let state_out = states
                .as_deref_mut()
                .map(|x| &mut x[i * per_s..(i + 1) * per_s]);
            if head_forward::<T, P>(inp, h, scale, chunk, &mut s, o, state_out)? {
                overflow.store(true, Ordering::Relaxed);
            }
        }
        Ok(())
    })?;
    if overflow.load(Ordering::Relaxed) {
        Err(Error::Numerical)
    } else {
        Ok(())
    }
}

impl<'a, T: Real> Scratch<'a, T> {
    /// The arrays of one head's scratch, in [`forward_work_size`]'s order.
    fn take(ws: &mut Workspace<'a>, shape: Shape, chunk: usize) -> Result<Self> {
        let l = chunk_len(chunk, shape.len);
        Ok(Scratch {
            pow: ws.take::<T>(l + 1)?,
            scaled_pow: ws.take::<T>(l + 1)?,
            weights: ws.take::<T>(l)?,
            kt: ws.take::<T>(shape.dk * l)?,
            scores: ws.take::<T>(STRIP.min(l) * l)?,
            state: ws.take::<T>(shape.dk * shape.dv)?,
        })
    }
}

/// Head `h` of [`forward`]: its rows of `out` and its final state. Returns whether a
/// value overflowed.
fn head_forward<T: Real, P: LinattnKernels<T>>(
    inp: &Inputs<'_, T>,
    h: usize,
    scale: T,
    chunk: usize,
    s: &mut Scratch<'_, T>,
    o: &mut [T],
    state_out: Option<&mut [T]>,
) -> Result<bool> {
    let shape = inp.shape;
    let l = chunk_len(chunk, shape.len);
    let (dk, dv) = (shape.dk, shape.dv);
    let (per_qk, per_v, per_s) = (shape.len * dk, shape.len * dv, dk * dv);
    let g = decay_of(inp.decay, h);
    fill_powers(g, T::one(), s.pow);
    fill_powers(g, scale, s.scaled_pow);
    let mut fresh = true;
    match inp.state_in {
        Some(x) => {
            s.state.copy_from_slice(head(x, h, per_s));
            fresh = false;
        }
        None => s.state.fill(T::zero()),
    }
    let (q, k, v) = (
        head(inp.q, h, per_qk),
        head(inp.k, h, per_qk),
        head(inp.v, h, per_v),
    );
    let mut overflow = false;
    let mut t0 = 0;
    while t0 < shape.len {
        let lc = l.min(shape.len - t0);
        let chunk = Chunk {
            q: &q[t0 * dk..(t0 + lc) * dk],
            k: &k[t0 * dk..(t0 + lc) * dk],
            v: &v[t0 * dv..(t0 + lc) * dv],
            len: lc,
            dk,
            dv,
        };
        // The next chunk's inputs start on their way into the cache while this
        // one computes: the products touch them first in several short
        // interleaved streams that would otherwise wait on memory.
        let t1 = t0 + lc;
        let next = t1..(t1 + l).min(shape.len);
        P::prefetch(&q[next.start * dk..next.end * dk]);
        P::prefetch(&k[next.start * dk..next.end * dk]);
        P::prefetch(&v[next.start * dv..next.end * dv]);
        let o_chunk = &mut o[t0 * dv..(t0 + lc) * dv];
        chunk.run::<P>(g, fresh, s, o_chunk)?;
        // Checked while the chunk is still in cache.
        overflow |= all_finite::<T, P>(o_chunk).is_err();
        fresh = false;
        t0 += lc;
    }
    overflow |= all_finite::<T, P>(s.state).is_err();
    if let Some(so) = state_out {
        so.copy_from_slice(s.state);
    }
    Ok(overflow)
}

/// One chunk of one head.
struct Chunk<'a, T> {
    q: &'a [T],
    k: &'a [T],
    v: &'a [T],
    len: usize,
    dk: usize,
    dv: usize,
}

impl<T: Real> Chunk<'_, T> {
    /// Writes the chunk's outputs `o` (`len x dv`) from the state before it and
    /// advances the state past it. `fresh`: the state is known to be zero.
    fn run<P: LinattnKernels<T>>(
        &self,
        g: T,
        fresh: bool,
        s: &mut Scratch<'_, T>,
        o: &mut [T],
    ) -> Result<()> {
        let (lc, dk, dv) = (self.len, self.dk, self.dv);
        let one = T::one();
        // Inter-chunk: O = diag(scale g^(i+1)) Q S_prev.
        o.fill(T::zero());
        if !fresh {
            P::gemm(
                one,
                view(self.q, lc, dk, dk)?,
                None,
                view(s.state, dk, dv, dv)?,
                view_mut(o, lc, dv, dv)?,
            );
            for (row, &f) in o.chunks_exact_mut(dv).zip(&s.scaled_pow[1..]) {
                P::scale(f, row);
            }
        }
        // K^T of the chunk, so that both Q K^T and the state update read rows.
        let kt = &mut s.kt[..dk * lc];
        transpose(self.k, dk, lc, kt);
        // Intra-chunk, a strip of rows at a time: O += ((Q K^T) .* D) V.
        let mut r0 = 0;
        while r0 < lc {
            let r1 = (r0 + STRIP).min(lc);
            let rows = r1 - r0;
            let scores = &mut s.scores[..rows * r1];
            scores.fill(T::zero());
            P::gemm(
                one,
                view(&self.q[r0 * dk..r1 * dk], rows, dk, dk)?,
                None,
                view(kt, dk, r1, lc)?,
                view_mut(scores, rows, r1, r1)?,
            );
            // The mask D with the output scale folded in: scale g^(i-j) on and below
            // the diagonal, 0 above it.
            for (i, row) in (r0..r1).zip(scores.chunks_exact_mut(r1)) {
                let (causal, future) = row.split_at_mut(i + 1);
                for (x, &d) in causal.iter_mut().zip(s.scaled_pow[..=i].iter().rev()) {
                    *x = *x * d;
                }
                future.fill(T::zero());
            }
            P::gemm(
                one,
                view(scores, rows, r1, r1)?,
                None,
                view(self.v, r1, dv, dv)?,
                view_mut(&mut o[r0 * dv..r1 * dv], rows, dv, dv)?,
            );
            r0 = r1;
        }
        // State: S = g^L S + K^T diag(g^(L-1-j)) V.
        let weights = if g == one {
            None
        } else {
            P::scale(s.pow[lc], s.state);
            let w = &mut s.weights[..lc];
            for (x, &p) in w.iter_mut().zip(s.pow[..lc].iter().rev()) {
                *x = p;
            }
            Some(&*w)
        };
        P::gemm(
            one,
            view(kt, dk, lc, lc)?,
            weights,
            view(self.v, lc, dv, dv)?,
            view_mut(s.state, dk, dv, dv)?,
        );
        Ok(())
    }
}

/// `dst` (`cols x rows`, row-major) = the transpose of `src` (`rows x cols`).
///
/// Eight source rows at a time, so each destination row receives eight consecutive
/// values per visit instead of one store per cache line.
fn transpose<T: Real>(src: &[T], cols: usize, rows: usize, dst: &mut [T]) {
    const B: usize = 8;
    let mut j0 = 0;
    while j0 < rows {
        let jb = B.min(rows - j0);
        let block = &src[j0 * cols..(j0 + jb) * cols];
        for (a, d) in dst.chunks_exact_mut(rows).enumerate() {
            for (jj, x) in d[j0..j0 + jb].iter_mut().enumerate() {
                *x = block[jj * cols + a];
            }
        }
        j0 += jb;
    }
}
