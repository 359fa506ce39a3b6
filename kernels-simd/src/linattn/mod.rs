//! Chunked linear attention on the SIMD kernels: [`kernels_core::linattn`] with
//! `Simd` chosen and heads run by [`DefaultExec`] (the shared
//! thread pool in `std` builds), and that family's shapes, inputs and workspace query.

mod kernels;

use kernels_core::linattn::{self as core_linattn, LinattnKernels};
pub use kernels_core::linattn::{
    ChunkDecays, Decay, Inputs, Scan, Seqs, Shape, Token, chunk_len, forward_threads_work_size,
    forward_work_size, gated_work_size, stored_work_size,
};
use kernels_core::{Real, Result};

use crate::{DefaultExec, Simd};

/// Chunked causal linear attention with a decay per head or a gate per head and token
/// ([`kernels_core::linattn::forward`] on the SIMD kernels).
///
/// ```
/// use kernels_simd::linattn::{Decay, Inputs, Shape, forward, forward_work_size, recurrence};
///
/// let shape = Shape { n_heads: 1, len: 5, dk: 2, dv: 2 };
/// let q: Vec<f64> = (0..10).map(|i| (i as f64).sin()).collect();
/// let k: Vec<f64> = (0..10).map(|i| (i as f64).cos()).collect();
/// let v: Vec<f64> = (0..10).map(|i| i as f64 / 10.0).collect();
/// let decay = [0.9];
/// let inp = Inputs { shape, q: &q, k: &k, v: &v, decay: Decay::Heads(&decay), scale: 0.0, state_in: None };
/// let mut out = vec![0.0; 10];
/// let mut work = vec![0u8; forward_work_size::<f64>(shape, 2)?.bytes()];
/// forward(&inp, 2, &mut out, None, &mut work)?;
/// // The chunked form equals the token-by-token recurrence.
/// let (mut want, mut state) = (vec![0.0; 10], vec![0.0; 4]);
/// recurrence(&inp, &mut want, &mut state)?;
/// assert!(out.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12));
/// # Ok::<(), kernels_core::Error>(())
/// ```
pub fn forward<T: Real>(
    inp: &Inputs<'_, T>,
    chunk: usize,
    out: &mut [T],
    state_out: Option<&mut [T]>,
    work: &mut [u8],
) -> Result<()>
where
    Simd: LinattnKernels<T>,
{
    core_linattn::forward::<T, Simd>(&DefaultExec::default(), inp, chunk, out, state_out, work)
}

/// [`forward`] on tokens stored as a half type (`q`, `k`, `v`, `out` as
/// [`f16`](kernels_core::f16) or [`bf16`](kernels_core::bf16); states, decay and scale
/// `f32`): [`kernels_core::linattn::forward_stored`] on the SIMD kernels. `work` holds
/// [`stored_work_size`] bytes.
pub fn forward_stored<S: Token<f32>>(
    inp: &Inputs<'_, f32, S>,
    chunk: usize,
    out: &mut [S],
    state_out: Option<&mut [f32]>,
    work: &mut [u8],
) -> Result<()> {
    let exec = DefaultExec::default();
    core_linattn::forward_stored::<f32, S, Simd>(&exec, inp, chunk, out, state_out, work)
}

/// [`forward`] on each sequence of a packed batch (`cu_seqlens`), equal to separate
/// calls bit for bit ([`kernels_core::linattn::forward_varlen`] on the SIMD kernels).
///
/// ```
/// use kernels_simd::linattn::{Decay, Inputs, Seqs, Shape, forward, forward_varlen, forward_work_size};
///
/// // Two sequences of 2 and 3 tokens packed into one head of 5.
/// let shape = Shape { n_heads: 1, len: 5, dk: 2, dv: 1 };
/// let q: Vec<f32> = (0..10).map(|i| (i as f32).sin()).collect();
/// let k: Vec<f32> = (0..10).map(|i| (i as f32).cos()).collect();
/// let v: Vec<f32> = (0..5).map(|i| i as f32).collect();
/// let gates = [-0.1f32, -0.2, -0.3, -0.4, -0.5];
/// let inp = Inputs { shape, q: &q, k: &k, v: &v, decay: Decay::Gates(&gates), scale: 0.0, state_in: None };
/// let (mut out, mut states) = ([0.0f32; 5], [0.0f32; 4]);
/// let mut work = vec![0u8; kernels_simd::linattn::gated_work_size::<f32>(shape, 0)?.bytes()];
/// let seqs = Seqs { cu_seqlens: &[0, 2, 5] };
/// forward_varlen(&inp, seqs, 0, &mut out, Some(&mut states), &mut work)?;
/// // The second sequence alone gives the same bits.
/// let second = Shape { len: 3, ..shape };
/// let alone = Inputs {
///     shape: second, q: &q[4..], k: &k[4..], v: &v[2..], decay: Decay::Gates(&gates[2..]),
///     scale: 0.0, state_in: None,
/// };
/// let mut out2 = [0.0f32; 3];
/// forward(&alone, 0, &mut out2, None, &mut work)?;
/// assert_eq!(out[2..], out2);
/// # Ok::<(), kernels_core::Error>(())
/// ```
pub fn forward_varlen<T: Real>(
    inp: &Inputs<'_, T>,
    seqs: Seqs<'_>,
    chunk: usize,
    out: &mut [T],
    state_out: Option<&mut [T]>,
    work: &mut [u8],
) -> Result<()>
where
    Simd: LinattnKernels<T>,
{
    let exec = DefaultExec::default();
    core_linattn::forward_varlen::<T, Simd>(&exec, inp, seqs, chunk, out, state_out, work)
}

/// The token-by-token recurrence, the definition
/// ([`kernels_core::linattn::recurrence`] on the SIMD kernels); see [`forward`] for an
/// example.
pub fn recurrence<T: Real>(inp: &Inputs<'_, T>, out: &mut [T], state: &mut [T]) -> Result<()>
where
    Simd: LinattnKernels<T>,
{
    core_linattn::recurrence::<T, Simd>(&DefaultExec::default(), inp, out, state)
}

/// A chunk's own state `sum_t a_(t+1..len) k_t^T v_t` and, if asked, each head's log
/// decay over the chunk ([`kernels_core::linattn::chunk_state`] on the SIMD kernels).
///
/// ```
/// use kernels_simd::linattn::{Decay, Shape, chunk_state};
///
/// // One token: the state is the outer product k^T v.
/// let shape = Shape { n_heads: 1, len: 1, dk: 2, dv: 2 };
/// let mut state = [0.0f32; 4];
/// let mut log_decay = [1.0f32];
/// chunk_state(shape, &[1.0, 2.0], &[3.0, 4.0], Decay::Gates(&[-0.5]), &mut state, Some(&mut log_decay))?;
/// assert_eq!(state, [3.0, 4.0, 6.0, 8.0]);
/// assert_eq!(log_decay, [-0.5]);
/// # Ok::<(), kernels_core::Error>(())
/// ```
pub fn chunk_state<T: Real>(
    shape: Shape,
    k: &[T],
    v: &[T],
    decay: Decay<'_, T>,
    state: &mut [T],
    log_decay: Option<&mut [T]>,
) -> Result<()>
where
    Simd: LinattnKernels<T>,
{
    let exec = DefaultExec::default();
    core_linattn::chunk_state::<T, Simd>(&exec, shape, k, v, decay, state, log_decay)
}

/// The exclusive prefix over chunk states, the LASP-2 reduction
/// ([`kernels_core::linattn::state_scan`] on the SIMD kernels).
///
/// ```
/// use kernels_simd::linattn::{ChunkDecays, Scan, state_scan};
///
/// // Two chunks of 3 and 2 tokens, one head, 1 x 1 states, decay 1/2.
/// let chunks = ChunkDecays::Lengths { chunk_lens: &[3, 2], decay: Some(&[0.5]) };
/// let scan = Scan { n_heads: 1, dk: 1, dv: 1, chunks, states: &[8.0, 1.0] };
/// let mut prefix = [0.0f64; 2];
/// state_scan(&scan, &mut prefix)?;
/// assert_eq!(prefix, [0.0, 8.0]); // nothing before chunk 0; chunk 0's state before chunk 1
/// # Ok::<(), kernels_core::Error>(())
/// ```
pub fn state_scan<T: Real>(scan: &Scan<'_, T>, prefix: &mut [T]) -> Result<()>
where
    Simd: LinattnKernels<T>,
{
    core_linattn::state_scan::<T, Simd>(scan, prefix)
}
