//! H2O attention on the SIMD kernels: the prefill and decode step of
//! [`kernels_core::h2o`] with `Simd` chosen, and that family's options, cache and
//! workspace queries.

mod kernels;

use kernels_core::Result;
use kernels_core::h2o as core_h2o;
pub use kernels_core::h2o::{
    H2oCache, H2oOpts, KvElement, decode_stored_work_size, decode_work_size,
    prefill_head_work_size, prefill_stored_head_work_size, prefill_stored_work_size,
    prefill_work_size,
};

use crate::{DefaultExec, Simd};

/// Causal attention with H2O masking over a prompt
/// ([`kernels_core::h2o::prefill`] on the SIMD kernels).
///
/// ```
/// use kernels_simd::h2o::{H2oOpts, prefill, prefill_work_size};
///
/// // One head, three tokens of width 2; a budget of 4 keeps every token.
/// let (q, k) = ([1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0], [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0]);
/// let v = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let opts = H2oOpts::default().sink(0).heavy(2).recent(2);
/// let mut out = [0.0f32; 6];
/// let mut work = vec![0u8; prefill_work_size(1, 1, 3, 2)?.bytes()];
/// prefill(1, 1, 3, 2, &q, &k, &v, &opts, &mut out, None, None, &mut work)?;
/// // The first token attends to itself only.
/// assert_eq!(&out[..2], &v[..2]);
/// # Ok::<(), kernels_core::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn prefill(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
    q: &[f32],
    k: &[f32],
    v: &[f32],
    opts: &H2oOpts,
    out: &mut [f32],
    scores: Option<&mut [f32]>,
    keep: Option<&mut [u8]>,
    work: &mut [u8],
) -> Result<()> {
    core_h2o::prefill::<Simd>(
        &DefaultExec::default(),
        n_heads,
        n_kv_heads,
        seq,
        d,
        q,
        k,
        v,
        opts,
        out,
        scores,
        keep,
        work,
    )
}

/// One decode step on an H2O cache ([`kernels_core::h2o::decode`] on the SIMD
/// kernels).
///
/// ```
/// use kernels_simd::h2o::{H2oCache, decode, decode_work_size};
///
/// // One kv head of width 2, a budget of 1 sink + 1 heavy + 2 recent slots.
/// let (mut k, mut v) = ([0.0f32; 8], [0.0f32; 8]);
/// let (mut score, mut pos) = ([0.0f32; 4], [0u64; 4]);
/// let mut cache = H2oCache::new(1, 2, 1, 1, 2, &mut k, &mut v, &mut score, &mut pos)?;
/// let mut work = vec![0u8; decode_work_size(1, 2, 4, 1)?.bytes()];
/// let mut out = [0.0f32; 2];
/// decode(&mut cache, 1, &[1.0, 0.0], &[1.0, 0.0], &[3.0, 4.0], 0.0, &mut out, &mut work)?;
/// assert_eq!(out, [3.0, 4.0]); // the only cached token
/// assert_eq!(cache.len(), 1);
/// # Ok::<(), kernels_core::Error>(())
/// ```
#[allow(clippy::too_many_arguments)]
pub fn decode(
    cache: &mut H2oCache<'_>,
    n_heads: usize,
    q: &[f32],
    k_new: &[f32],
    v_new: &[f32],
    scale: f32,
    out: &mut [f32],
    work: &mut [u8],
) -> Result<()> {
    core_h2o::decode::<Simd>(
        &DefaultExec::default(),
        cache,
        n_heads,
        q,
        k_new,
        v_new,
        scale,
        out,
        work,
    )
}

/// One decode step on an H2O cache whose keys and values are stored as `S` (`f32`,
/// `f16`, `bf16`), with `q`, `k_new`, `v_new` and `out` in `S`
/// ([`kernels_core::h2o::decode_stored`] on the SIMD kernels; the workspace is
/// [`decode_stored_work_size`]'s).
#[allow(clippy::too_many_arguments)]
pub fn decode_stored<S: KvElement>(
    cache: &mut H2oCache<'_, S>,
    n_heads: usize,
    q: &[S],
    k_new: &[S],
    v_new: &[S],
    scale: f32,
    out: &mut [S],
    work: &mut [u8],
) -> Result<()> {
    core_h2o::decode_stored::<Simd, S>(
        &DefaultExec::default(),
        cache,
        n_heads,
        q,
        k_new,
        v_new,
        scale,
        out,
        work,
    )
}

/// Causal attention with H2O masking over a prompt stored as `S` (`f32`, `f16`,
/// `bf16`) ([`kernels_core::h2o::prefill_stored`] on the SIMD kernels; the workspace
/// is [`prefill_stored_work_size`]'s).
#[allow(clippy::too_many_arguments)]
pub fn prefill_stored<S: KvElement>(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
    q: &[S],
    k: &[S],
    v: &[S],
    opts: &H2oOpts,
    out: &mut [S],
    scores: Option<&mut [f32]>,
    keep: Option<&mut [u8]>,
    work: &mut [u8],
) -> Result<()> {
    core_h2o::prefill_stored::<Simd, S>(
        &DefaultExec::default(),
        n_heads,
        n_kv_heads,
        seq,
        d,
        q,
        k,
        v,
        opts,
        out,
        scores,
        keep,
        work,
    )
}
