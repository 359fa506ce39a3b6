//! Chunk states and the LASP-2 prefix scan over them.

use super::{
    Shape, all_finite, check_decay, check_output, decay_of, head, head_mut, inputs_finite, power,
    view_mut,
};
use crate::linattn::LinattnKernels;
use crate::{Error, Exec, Real, Result, Strided, checked_product};

/// Tokens folded into the state per product in [`chunk_state`]: the decay weights of
/// a block live on the stack (the function takes no workspace).
const BLOCK: usize = 64;

/// A chunk's own state: `S_len` of the recurrence started from `S_0 = 0`, that is
/// `sum_t g^(len-1-t) k_t^T v_t`, written to `state` (`[n_heads][dk][dv]`).
///
/// Computed as rank-64 updates `S = g^B S + K^T diag(g^(B-1-j)) V` straight from the
/// row-major keys (read as `K^T` without a copy). Errors, with nothing written:
/// [`Error::Dimension`], [`Error::NonFinite`], [`Error::Argument`] (decay outside
/// `(0, 1]`); [`Error::Numerical`] if a value overflowed (then `state` holds it).
/// The heads are independent tiles run by `exec` ([`Sequential`](crate::Sequential)
/// for one thread); the result does not depend on it.
pub fn chunk_state<T: Real, P: LinattnKernels<T>>(
    exec: &impl Exec,
    shape: Shape,
    k: &[T],
    v: &[T],
    decay: Option<&[T]>,
    state: &mut [T],
) -> Result<()> {
    shape.check()?;
    if k.len() != shape.qk_len()?
        || v.len() != shape.v_len()?
        || state.len() != shape.state_len()?
    {
        return Err(Error::Dimension);
    }
    check_decay(decay, shape.n_heads)?;
    inputs_finite::<T, P>(exec, k)?;
    inputs_finite::<T, P>(exec, v)?;
    let (dk, dv) = (shape.dk, shape.dv);
    let (per_qk, per_v, per_s) = (shape.len * dk, shape.len * dv, dk * dv);
    // One tile per head: its state.
    let ops = shape.n_heads.saturating_mul(per_qk).saturating_mul(dv);
    exec.for_each(ops, state.chunks_exact_mut(per_s), |h, s| {
        let mut weights = [T::one(); BLOCK];
        let g = decay_of(decay, h);
        let (kh, vh) = (head(k, h, per_qk), head(v, h, per_v));
        s.fill(T::zero());
        let mut t0 = 0;
        while t0 < shape.len {
            let b = BLOCK.min(shape.len - t0);
            let w = if g == T::one() {
                None
            } else {
                P::scale(power(g, b), s);
                for (j, x) in weights[..b].iter_mut().enumerate() {
                    *x = power(g, b - 1 - j);
                }
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
    check_output::<T, P>(state)
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
    /// Tokens in each chunk, in sequence order (the number of chunks is its length).
    pub chunk_lens: &'a [usize],
    /// Per-head decay in `(0, 1]`; `None` = 1.
    pub decay: Option<&'a [T]>,
    /// Each chunk's [`chunk_state`], `[n_chunks][n_heads][dk][dv]`.
    pub states: &'a [T],
}

/// The exclusive prefix over chunk states: `prefix[0] = 0` and
/// `prefix[c + 1] = g^(len_c) prefix[c] + states[c]`, that is
/// `prefix[c] = sum_{j<c} g^(tokens after chunk j, before chunk c) states[j]`, the
/// `S_0` from which [`forward`](super::forward) on chunk `c` continues the sequence.
///
/// Errors, with nothing written: [`Error::Dimension`] (no chunks, a zero size or chunk
/// length, chunk lengths whose sum overflows, array lengths that disagree),
/// [`Error::NonFinite`], [`Error::Argument`]; [`Error::Numerical`] if a sum overflowed
/// (then `prefix` holds it).
pub fn state_scan<T: Real, P: LinattnKernels<T>>(
    scan: &Scan<'_, T>,
    prefix: &mut [T],
) -> Result<()> {
    let n_chunks = scan.chunk_lens.len();
    if n_chunks == 0 || scan.n_heads == 0 || scan.dk == 0 || scan.dv == 0 {
        return Err(Error::Dimension);
    }
    let per_chunk = checked_product(&[scan.n_heads, scan.dk, scan.dv])?;
    let total = checked_product(&[n_chunks, per_chunk])?;
    if scan.states.len() != total || prefix.len() != total {
        return Err(Error::Dimension);
    }
    let mut tokens = 0usize;
    for &n in scan.chunk_lens {
        if n == 0 {
            return Err(Error::Dimension);
        }
        tokens = tokens.checked_add(n).ok_or(Error::Dimension)?;
    }
    check_decay(scan.decay, scan.n_heads)?;
    all_finite::<T, P>(scan.states)?;
    let per_s = scan.dk * scan.dv;
    let (first, mut rest) = prefix.split_at_mut(per_chunk);
    first.fill(T::zero());
    let mut prev: &mut [T] = first;
    for (c, &len) in scan.chunk_lens[..n_chunks - 1].iter().enumerate() {
        let (cur, tail) = rest.split_at_mut(per_chunk);
        let states = head(scan.states, c, per_chunk);
        for h in 0..scan.n_heads {
            let g = decay_of(scan.decay, h);
            let dst = head_mut(cur, h, per_s);
            dst.copy_from_slice(head(prev, h, per_s));
            if g != T::one() {
                P::scale(power(g, len), dst);
            }
            P::axpy(T::one(), head(states, h, per_s), dst);
        }
        prev = cur;
        rest = tail;
    }
    check_output::<T, P>(prefix)
}
