//! Chunk states and the LASP-2 prefix scan over them.

use super::decay::flushed;
use super::{Decay, Shape, all_finite, check_output, head, head_mut, inputs_finite, view_mut};
use crate::linattn::LinattnKernels;
use crate::{Error, Exec, Real, Result, Strided, checked_product};
use num_traits::Float;

/// Tokens folded into the state per product in [`chunk_state`]: the weights of a
/// block and its cumulative log gates live on the stack (the function takes no
/// workspace).
const BLOCK: usize = 64;

/// A chunk's own state: `S_len` of the recurrence started from `S_0 = 0`, that is
/// `sum_t a_(t+1..len) k_t^T v_t` with `a_(t+1..len)` the decay after token `t`,
/// written to `state` (`[n_heads][dk][dv]`). `log_decay` (`[n_heads]`), if given,
/// receives the log of each head's decay over the whole chunk (`len ln g`, or the sum
/// of the gates), which [`state_scan`] needs for gated chunks.
///
/// Computed as rank-64 updates `S = a S + K^T diag(w) V` straight from the row-major
/// keys (read as `K^T` without a copy). Errors, with nothing written:
/// [`Error::Dimension`], [`Error::NonFinite`], [`Error::Argument`] (a decay outside
/// `(0, 1]`, a positive gate); [`Error::Numerical`] if a value overflowed (then
/// `state` holds it). The heads are independent tiles run by `exec`
/// ([`Sequential`](crate::Sequential) for one thread); the result does not depend on
/// it.
pub fn chunk_state<T: Real, P: LinattnKernels<T>>(
    exec: &impl Exec,
    shape: Shape,
    k: &[T],
    v: &[T],
    decay: Decay<'_, T>,
    state: &mut [T],
    log_decay: Option<&mut [T]>,
) -> Result<()> {
    shape.check()?;
    if k.len() != shape.qk_len()?
        || v.len() != shape.v_len()?
        || state.len() != shape.state_len()?
        || log_decay.as_ref().is_some_and(|l| l.len() != shape.n_heads)
    {
        return Err(Error::Dimension);
    }
    decay.check(shape.n_heads, shape.len)?;
    inputs_finite::<T, P>(exec, k)?;
    inputs_finite::<T, P>(exec, v)?;
    let (len, dk, dv) = (shape.len, shape.dk, shape.dv);
    let (per_qk, per_v, per_s) = (len * dk, len * dv, dk * dv);
    // One tile per head: its state.
    let ops = shape.n_heads.saturating_mul(per_qk).saturating_mul(dv);
    exec.for_each(ops, state.chunks_exact_mut(per_s), |h, s| {
        let mut weights = [T::one(); BLOCK];
        let mut cum = [0.0f64; BLOCK];
        let decay = decay.head(h, len, 0, len);
        let (kh, vh) = (head(k, h, per_qk), head(v, h, per_v));
        s.fill(T::zero());
        let mut t0 = 0;
        while t0 < len {
            let b = BLOCK.min(len - t0);
            let block = decay.part(t0, b);
            let w = if block.is_one() {
                None
            } else {
                block.cumulative(&mut cum[..b]);
                P::scale(block.total(b), s);
                block.after(&cum[..b], &mut weights[..b]);
                Some(&weights[..b])
            };
            let keys = &kh[t0 * dk..(t0 + b) * dk];
            let kt = Strided::new(keys, dk, b, 1, dk).map_err(|_| Error::Internal)?;
            let values = Strided::rows(&vh[t0 * dv..(t0 + b) * dv], b, dv, dv)
                .map_err(|_| Error::Internal)?;
            P::gemm(T::one(), kt, w, values, view_mut(s, dk, dv, dv)?);
            t0 += b;
        }
        Ok(())
    })?;
    if let Some(l) = log_decay {
        for (h, x) in l.iter_mut().enumerate() {
            *x = T::of(decay.head(h, len, 0, len).log_total(len));
        }
    }
    check_output::<T, P>(state)
}

/// How much each chunk of a [`Scan`] decays the state that enters it.
#[derive(Clone, Copy, Debug)]
pub enum ChunkDecays<'a, T> {
    /// Chunks of a constant (or no) decay per head: the tokens in each chunk, in
    /// sequence order, and the decay (see [`Decay::None`] and [`Decay::Heads`]).
    Lengths {
        /// Tokens in each chunk (the number of chunks is its length).
        chunk_lens: &'a [usize],
        /// Per-head decay in `(0, 1]`; `None` = 1.
        decay: Option<&'a [T]>,
    },
    /// Gated chunks: each chunk's log decay per head, `[n_chunks][n_heads]` values
    /// `<= 0` ([`chunk_state`]'s `log_decay`).
    Logs(&'a [T]),
}

/// The inputs of [`state_scan`].
#[derive(Clone, Copy, Debug)]
pub struct Scan<'a, T> {
    /// Heads.
    pub n_heads: usize,
    /// Key width.
    pub dk: usize,
    /// Value width.
    pub dv: usize,
    /// The chunks' decays (and so their number).
    pub chunks: ChunkDecays<'a, T>,
    /// Each chunk's [`chunk_state`], `[n_chunks][n_heads][dk][dv]`.
    pub states: &'a [T],
}

impl<T: Real> Scan<'_, T> {
    /// The number of chunks, once the decays are checked: [`Error::Dimension`] for no
    /// chunks, a zero chunk length or lengths whose sum overflows, or log decays that
    /// are not `[n_chunks][n_heads]`; [`Error::NonFinite`]; [`Error::Argument`] (a
    /// decay outside `(0, 1]`, a positive log decay).
    fn checked_chunks(&self) -> Result<usize> {
        let n_chunks = match self.chunks {
            ChunkDecays::Lengths { chunk_lens, decay } => {
                let mut tokens = 0usize;
                for &n in chunk_lens {
                    if n == 0 {
                        return Err(Error::Dimension);
                    }
                    tokens = tokens.checked_add(n).ok_or(Error::Dimension)?;
                }
                Decay::from(decay).check(self.n_heads, tokens)?;
                chunk_lens.len()
            }
            ChunkDecays::Logs(logs) => {
                if logs.len() % self.n_heads != 0 {
                    return Err(Error::Dimension);
                }
                let n_chunks = logs.len() / self.n_heads;
                Decay::Gates(logs).check(self.n_heads, n_chunks)?;
                n_chunks
            }
        };
        if n_chunks == 0 {
            return Err(Error::Dimension);
        }
        Ok(n_chunks)
    }

    /// The factor by which chunk `c` decays head `h`'s state: `g^(len_c)`, or the
    /// exponential of its log decay (rounded once and flushed as every weight is).
    fn decay(&self, c: usize, h: usize) -> T {
        match self.chunks {
            ChunkDecays::Lengths { chunk_lens, decay } => {
                let n = chunk_lens[c];
                Decay::from(decay).head(h, n, 0, n).total(n)
            }
            ChunkDecays::Logs(logs) => {
                flushed(Float::exp(logs[c * self.n_heads + h].to_f64_lossless()))
            }
        }
    }
}

/// The exclusive prefix over chunk states: `prefix[0] = 0` and
/// `prefix[c + 1] = a_c prefix[c] + states[c]` with `a_c` chunk `c`'s decay, that is
/// `prefix[c] = sum_{j<c} (decay after chunk j, before chunk c) states[j]`, the `S_0`
/// from which [`forward`](super::forward) on chunk `c` continues the sequence.
///
/// Errors, with nothing written: [`Error::Dimension`] (no chunks, a zero size or chunk
/// length, chunk lengths whose sum overflows, array lengths that disagree),
/// [`Error::NonFinite`], [`Error::Argument`]; [`Error::Numerical`] if a sum overflowed
/// (then `prefix` holds it).
pub fn state_scan<T: Real, P: LinattnKernels<T>>(
    scan: &Scan<'_, T>,
    prefix: &mut [T],
) -> Result<()> {
    if scan.n_heads == 0 || scan.dk == 0 || scan.dv == 0 {
        return Err(Error::Dimension);
    }
    let n_chunks = scan.checked_chunks()?;
    let per_chunk = checked_product(&[scan.n_heads, scan.dk, scan.dv])?;
    let total = checked_product(&[n_chunks, per_chunk])?;
    if scan.states.len() != total || prefix.len() != total {
        return Err(Error::Dimension);
    }
    all_finite::<T, P>(scan.states)?;
    let per_s = scan.dk * scan.dv;
    let (first, mut rest) = prefix.split_at_mut(per_chunk);
    first.fill(T::zero());
    let mut prev: &mut [T] = first;
    for c in 0..n_chunks - 1 {
        let (cur, tail) = rest.split_at_mut(per_chunk);
        let states = head(scan.states, c, per_chunk);
        for h in 0..scan.n_heads {
            let a = scan.decay(c, h);
            let dst = head_mut(cur, h, per_s);
            dst.copy_from_slice(head(prev, h, per_s));
            if a != T::one() {
                P::scale(a, dst);
            }
            P::axpy(T::one(), head(states, h, per_s), dst);
        }
        prev = cur;
        rest = tail;
    }
    check_output::<T, P>(prefix)
}
