//! The token-by-token recurrence: the definition, and the decode step.

use super::{Inputs, check_output, head};
use crate::linattn::LinattnKernels;
use crate::{Dense, Error, Exec, Real, Result};

/// `S_t = a_t S_{t-1} + k_t^T v_t`, `o_t = scale q_t S_t`, one token at a time (`a_t`
/// the decay of token `t`: 1, a constant, or `exp(g_t)`).
///
/// Writes `out` and leaves `S_len` in `state` (`[n_heads][dk][dv]`, required: it is
/// the running state). Each token costs a rank-1 update of the state and a
/// vector-matrix product, so this streams the whole state per token: the baseline the
/// chunked [`forward`](super::forward) is measured against, and the natural form for
/// decoding one token at a time. Errors as for [`forward`](super::forward). The heads
/// are independent tiles run by `exec`; the result does not depend on it.
pub fn recurrence<T: Real, P: LinattnKernels<T>>(
    exec: &impl Exec,
    inp: &Inputs<'_, T>,
    out: &mut [T],
    state: &mut [T],
) -> Result<()> {
    let shape = inp.shape;
    let scale = inp.validate::<P>(exec, out.len(), Some(state.len()))?;
    let (dk, dv) = (shape.dk, shape.dv);
    let (per_qk, per_v, per_s) = (shape.len * dk, shape.len * dv, dk * dv);
    // One tile per head: its rows of `out` and its state.
    let heads = out
        .chunks_exact_mut(per_v)
        .zip(state.chunks_exact_mut(per_s));
    let ops = shape.n_heads.saturating_mul(per_qk).saturating_mul(2 * dv);
    exec.for_each(ops, heads, |h, (out, s)| {
        let decay = inp.decay.head(h, shape.len, 0, shape.len);
        match inp.state_in {
            Some(x) => s.copy_from_slice(head(x, h, per_s)),
            None => s.fill(T::zero()),
        }
        let tokens = head(inp.q, h, per_qk)
            .chunks_exact(dk)
            .zip(head(inp.k, h, per_qk).chunks_exact(dk))
            .zip(head(inp.v, h, per_v).chunks_exact(dv))
            .zip(out.chunks_exact_mut(dv));
        for (t, (((q, k), v), o)) in tokens.enumerate() {
            let a = decay.factor(t);
            if a != T::one() {
                P::scale(a, s);
            }
            for (&ka, row) in k.iter().zip(s.chunks_exact_mut(dv)) {
                P::axpy(ka, v, row);
            }
            let sv = Dense::new(&*s, dk, dv).map_err(|_| Error::Internal)?;
            P::gemv_t(sv, q, o);
            P::scale(scale, o);
        }
        Ok(())
    })?;
    check_output::<T, P>(out)?;
    check_output::<T, P>(state)
}
