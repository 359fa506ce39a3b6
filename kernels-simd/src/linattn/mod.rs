//! Chunked linear attention on the SIMD kernels: [`kernels_core::linattn`] with
//! `Simd` chosen and heads run by [`DefaultExec`] (the shared
//! thread pool in `std` builds), and that family's shapes, inputs and workspace query.

mod kernels;

use kernels_core::linattn::{self as core_linattn, LinattnKernels};
pub use kernels_core::linattn::{
    Inputs, Scan, Shape, chunk_len, forward_threads_work_size, forward_work_size,
};
use kernels_core::{Real, Result};

use crate::{DefaultExec, Simd};

/// Chunked causal linear attention with a per-head decay
/// ([`kernels_core::linattn::forward`] on the SIMD kernels).
///
/// ```
/// use kernels_simd::linattn::{Inputs, Shape, forward, forward_work_size, recurrence};
///
/// let shape = Shape { n_heads: 1, len: 5, dk: 2, dv: 2 };
/// let q: Vec<f64> = (0..10).map(|i| (i as f64).sin()).collect();
/// let k: Vec<f64> = (0..10).map(|i| (i as f64).cos()).collect();
/// let v: Vec<f64> = (0..10).map(|i| i as f64 / 10.0).collect();
/// let decay = [0.9];
/// let inp = Inputs { shape, q: &q, k: &k, v: &v, decay: Some(&decay), scale: 0.0, state_in: None };
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

/// The token-by-token recurrence, the definition
/// ([`kernels_core::linattn::recurrence`] on the SIMD kernels); see [`forward`] for an
/// example.
pub fn recurrence<T: Real>(inp: &Inputs<'_, T>, out: &mut [T], state: &mut [T]) -> Result<()>
where
    Simd: LinattnKernels<T>,
{
    core_linattn::recurrence::<T, Simd>(&DefaultExec::default(), inp, out, state)
}

/// A chunk's own state `sum_t g^(len-1-t) k_t^T v_t`
/// ([`kernels_core::linattn::chunk_state`] on the SIMD kernels).
///
/// ```
/// use kernels_simd::linattn::{Shape, chunk_state};
///
/// // One token: the state is the outer product k^T v.
/// let shape = Shape { n_heads: 1, len: 1, dk: 2, dv: 2 };
/// let mut state = [0.0f32; 4];
/// chunk_state(shape, &[1.0, 2.0], &[3.0, 4.0], None, &mut state)?;
/// assert_eq!(state, [3.0, 4.0, 6.0, 8.0]);
/// # Ok::<(), kernels_core::Error>(())
/// ```
pub fn chunk_state<T: Real>(
    shape: Shape,
    k: &[T],
    v: &[T],
    decay: Option<&[T]>,
    state: &mut [T],
) -> Result<()>
where
    Simd: LinattnKernels<T>,
{
    core_linattn::chunk_state::<T, Simd>(&DefaultExec::default(), shape, k, v, decay, state)
}

/// The exclusive prefix over chunk states, the LASP-2 reduction
/// ([`kernels_core::linattn::state_scan`] on the SIMD kernels).
///
/// ```
/// use kernels_simd::linattn::{Scan, state_scan};
///
/// // Two chunks of 3 and 2 tokens, one head, 1 x 1 states, decay 1/2.
/// let scan = Scan { n_heads: 1, dk: 1, dv: 1, chunk_lens: &[3, 2], decay: Some(&[0.5]), states: &[8.0, 1.0] };
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
