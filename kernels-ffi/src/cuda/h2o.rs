//! H2O decode step on a KV cache in device memory.

#[cfg(feature = "cuda")]
use crate::guard::Done;
use crate::h2o::kn_h2o_cache;
use crate::status::kn_status;
use core::ffi::c_void;
#[cfg(feature = "cuda")]
use kernels_core::Result;

/// Device workspace size of `kn_cuda_h2o_decode_f32` for this cache and `n_heads`
/// query heads, in bytes (device memory; any alignment).
///
/// `c` is a host `kn_h2o_cache` whose `k`, `v`, `score` and `pos` are device pointers
/// (not read here). Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC,
/// or a build without CUDA; checked first); KN_ERR_NULL (`c` or `bytes` NULL);
/// KN_ERR_DIMENSION (`n_heads` 0 or not a multiple of `c->n_kv_heads`, a size of the
/// cache 0 or overflowing); KN_ERR_ARGUMENT (budget 0, `heavy + recent == 0`, `len`
/// over the budget).
///
/// # Safety
/// `c` must be NULL or point to a `kn_h2o_cache`; `bytes` NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cuda_h2o_decode_work_bytes(
    c: *const kn_h2o_cache,
    n_heads: usize,
    bytes: *mut usize,
) -> kn_status {
    cuda_entry!(work_bytes_device(c, n_heads, bytes))
}

#[cfg(feature = "cuda")]
unsafe fn work_bytes_device(
    c: *const kn_h2o_cache,
    n_heads: usize,
    bytes: *mut usize,
) -> Result<Done> {
    use crate::args::{input, out_value};
    use kernels_core::{Error, h2o::H2oCache};
    super::device::require()?;
    // SAFETY: the caller's contract on `c` and `bytes`.
    let (c, bytes) = unsafe { (&input(c, 1)?[0], out_value(bytes)?) };
    let (rows, _) = H2oCache::lengths(c.n_kv_heads, c.d, c.sink, c.heavy, c.recent)?;
    let budget = rows / c.n_kv_heads;
    if c.len > budget {
        return Err(Error::Argument);
    }
    // An array of f32 with its alignment slack: `work` may have any alignment.
    *bytes = kernels_cuda::h2o::decode_work_size(c.n_kv_heads, c.d, budget, n_heads)?.bytes();
    Ok(Done::Ok)
}

/// One H2O decode step on the GPU: `kn_h2o_decode_f32` with the cache's arrays, the
/// inputs, `out` and `work` in device memory.
///
/// Memory: `c` itself is HOST memory (read, and its `len` and `next_pos` updated, by
/// the host); `c->k`, `c->v`, `c->score`, `c->pos` are DEVICE pointers in the host
/// layout (`[n_kv_heads][budget][d]`, `[n_kv_heads][budget]`); `q`, `out`
/// (`[n_heads][d]`), `k_new`, `v_new` (`[n_kv_heads][d]`) and `work` (at least
/// `kn_cuda_h2o_decode_work_bytes` bytes, any alignment) are DEVICE pointers. Set up
/// the struct by filling its fields (`len = 0`, `next_pos = 0` for an empty cache):
/// `kn_h2o_cache_init` is for host buffers. `stream`: a CUstream of the current
/// device's primary context, NULL for the default stream.
///
/// Same rule and results as `kn_h2o_decode_f32` (to rounding: the sums run in another
/// order). The values (finiteness of q, k_new, v_new; stored positions below
/// `next_pos`; an evictable slot) are checked by a read-only kernel before anything is
/// written. Synchronises `stream` (twice: after the check and at the end).
///
/// Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
/// without CUDA; checked first); KN_ERR_NULL; KN_ERR_DIMENSION; KN_ERR_ARGUMENT (as
/// the host function, and device pointers that are misaligned or overlap);
/// KN_ERR_NON_FINITE; KN_ERR_WORKSPACE. On these neither the cache nor `out` was
/// written. KN_ERR_NUMERICAL: the logits overflowed; the token was inserted (`len`,
/// `next_pos` advanced), `out` holds unspecified values, no score changed.
/// KN_ERR_INTERNAL: a launch or copy failed.
///
/// # Safety
/// `c` must be NULL or point to a valid `kn_h2o_cache` whose arrays are device
/// allocations valid for its fields; the other pointers NULL or device allocations
/// valid for their lengths; no output used elsewhere until the call returns.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_cuda_h2o_decode_f32(
    c: *mut kn_h2o_cache,
    n_heads: usize,
    q: *const f32,
    k_new: *const f32,
    v_new: *const f32,
    scale: f32,
    out: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(decode_device(
        c, n_heads, q, k_new, v_new, scale, out, work, work_bytes, stream
    ))
}

#[cfg(feature = "cuda")]
#[allow(clippy::too_many_arguments)]
unsafe fn decode_device(
    c: *mut kn_h2o_cache,
    n_heads: usize,
    q: *const f32,
    k_new: *const f32,
    v_new: *const f32,
    scale: f32,
    out: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> Result<Done> {
    use super::device::{buffer, context, disjoint_device};
    use crate::args::out_value;
    use kernels_core::{Error, checked_product, h2o::H2oCache};
    use kernels_cuda::h2o::{DeviceH2oCache, decode};

    // SAFETY: the caller's contract on `stream`.
    let ctx = unsafe { context(stream) }?;
    // SAFETY: the caller's contract on `c` (host memory).
    let cache = unsafe { out_value(c) }?;
    let fields = *cache;
    let q_len = checked_product(&[n_heads, fields.d])?;
    let kv_len = checked_product(&[fields.n_kv_heads, fields.d])?;
    let (rows, values) = H2oCache::lengths(
        fields.n_kv_heads,
        fields.d,
        fields.sink,
        fields.heavy,
        fields.recent,
    )?;
    if work.is_null() {
        return Err(Error::Null);
    }
    let addr = work as u64;
    let skip = addr.next_multiple_of(4) - addr;
    let words = work_bytes.saturating_sub(skip as usize) / 4;
    // SAFETY: the caller's contract: device allocations of the lengths the fields and
    // dimensions imply (`work` of `work_bytes` bytes, of which `words` aligned words
    // after `skip` bytes); overlap is refused below, before any launch.
    let (q, k_new, v_new, mut out, mut work, mut k, mut v, mut score, mut pos) = unsafe {
        (
            buffer(&ctx, q, q_len)?,
            buffer(&ctx, k_new, kv_len)?,
            buffer(&ctx, v_new, kv_len)?,
            buffer(&ctx, out.cast_const(), q_len)?,
            buffer(&ctx, (addr + skip) as *const f32, words)?,
            buffer(&ctx, fields.k.cast_const(), values)?,
            buffer(&ctx, fields.v.cast_const(), values)?,
            buffer(&ctx, fields.score.cast_const(), rows)?,
            buffer(&ctx, fields.pos.cast_const(), rows)?,
        )
    };
    disjoint_device(
        &[
            out.span(),
            work.span(),
            k.span(),
            v.span(),
            score.span(),
            pos.span(),
        ],
        &[q.span(), k_new.span(), v_new.span()],
    )?;
    let mut dc = DeviceH2oCache {
        n_kv_heads: fields.n_kv_heads,
        d: fields.d,
        sink: fields.sink,
        heavy: fields.heavy,
        recent: fields.recent,
        len: fields.len,
        next_pos: fields.next_pos,
        k: &mut k,
        v: &mut v,
        score: &mut score,
        pos: &mut pos,
    };
    let result = decode(
        &ctx, &mut dc, n_heads, &q, &k_new, &v_new, scale, &mut out, &mut work,
    );
    // After a numerical failure the token is in: the struct must say so. On an
    // argument error these are the values it held.
    cache.len = dc.len;
    cache.next_pos = dc.next_pos;
    result?;
    Ok(Done::Ok)
}
