//! Packed batches of sequences of different lengths (flash-linear-attention's
//! `cu_seqlens` layout).

use super::forward::{Job, Window, gated_work_size};
use super::{Inputs, forward_work_size, head, head_mut};
use crate::linattn::LinattnKernels;
use crate::{Error, Exec, Real, Result, checked_product};

/// Where each sequence of a packed batch lies along the token axis.
#[derive(Clone, Copy, Debug)]
pub struct Seqs<'a> {
    /// `n_seqs + 1` offsets: sequence `s` is tokens `[cu_seqlens[s], cu_seqlens[s + 1])`;
    /// the first is 0, they never decrease, and the last is the packed length.
    pub cu_seqlens: &'a [usize],
}

impl Seqs<'_> {
    /// The number of sequences, once the offsets are checked against the packed
    /// length: [`Error::Argument`] for offsets that do not start at 0, decrease, or
    /// end elsewhere than `len` (or fewer than two offsets).
    pub fn check(&self, len: usize) -> Result<usize> {
        let cu = self.cu_seqlens;
        let ordered = cu.windows(2).all(|w| w[0] <= w[1]);
        if cu.len() < 2 || cu[0] != 0 || !ordered || cu[cu.len() - 1] != len {
            return Err(Error::Argument);
        }
        Ok(cu.len() - 1)
    }
}

/// [`forward`](super::forward) on each sequence of a packed batch, as if it were a
/// call of its own.
///
/// The inputs are packed along the token axis: `q`, `k` are
/// `[n_heads][len][dk]` and `v`, `out` `[n_heads][len][dv]` with `len` the total of
/// the sequences, gates `[n_heads][len]`; sequence `s` is tokens
/// `[cu_seqlens[s], cu_seqlens[s + 1])` of every head. `inp.state_in` and `state_out`
/// hold one state per sequence, `[n_seqs][n_heads][dk][dv]`: each sequence starts
/// from its own state (or zero) and ends in its own. An empty sequence writes no
/// rows, and its final state is its initial one. Each sequence is cut into chunks
/// from its own first token, so its outputs and state equal those of a separate
/// [`forward`](super::forward) call on it bit for bit. `work` needs the workspace of
/// the packed shape ([`forward_work_size`] or [`gated_work_size`]), which covers
/// every sequence.
///
/// Errors, with nothing written: as for [`forward`](super::forward), and
/// [`Error::Argument`] for malformed offsets (see [`Seqs::check`]). After
/// [`Error::Numerical`] every sequence is written.
pub fn forward_varlen<T: Real, P: LinattnKernels<T>>(
    exec: &impl Exec,
    inp: &Inputs<'_, T>,
    seqs: Seqs<'_>,
    chunk: usize,
    out: &mut [T],
    mut state_out: Option<&mut [T]>,
    work: &mut [u8],
) -> Result<()> {
    let shape = inp.shape;
    shape.check()?;
    let n_seqs = seqs.check(shape.len)?;
    let per_s = checked_product(&[shape.n_heads, shape.dk, shape.dv])?;
    let states = checked_product(&[n_seqs, per_s])?;
    let state_in = inp.state_in;
    if state_in.is_some_and(|x| x.len() != states)
        || state_out.as_ref().is_some_and(|x| x.len() != states)
    {
        return Err(Error::Dimension);
    }
    // The packed inputs pass every check of one call (one state's worth of
    // `state_in`, checked for finiteness as the whole below).
    let one = Inputs {
        state_in: state_in.map(|x| &x[..per_s]),
        ..*inp
    };
    let scale = one.validate::<P>(exec, out.len(), None)?;
    if let Some(x) = state_in {
        super::all_finite::<T, P>(x)?;
    }
    let needed = if inp.decay.is_gated() {
        gated_work_size::<T>(shape, chunk)?
    } else {
        forward_work_size::<T>(shape, chunk)?
    };
    if work.len() < needed.bytes() {
        return Err(Error::Workspace);
    }
    let mut overflow = false;
    for (s, t) in seqs.cu_seqlens.windows(2).enumerate() {
        let state_in = state_in.map(|x| head(x, s, per_s));
        let state_out = state_out.as_deref_mut().map(|x| head_mut(x, s, per_s));
        if t[0] == t[1] {
            if let Some(so) = state_out {
                match state_in {
                    Some(x) => so.copy_from_slice(x),
                    None => so.fill(T::zero()),
                }
            }
            continue;
        }
        let window = Window {
            t0: t[0],
            len: t[1] - t[0],
            state_in,
        };
        let job = Job::new(inp, scale, window, chunk)?;
        job.run::<P>(exec, out, state_out, work)?;
        overflow |= job.status().is_err();
    }
    if overflow {
        Err(Error::Numerical)
    } else {
        Ok(())
    }
}
