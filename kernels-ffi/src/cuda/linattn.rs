//! Chunked linear attention, its chunk states and the LASP-2 state scan on device
//! memory.

#[cfg(feature = "cuda")]
use crate::guard::Done;
use crate::guard::status;
use crate::status::kn_status;
use core::ffi::c_void;
#[cfg(not(feature = "cuda"))]
use kernels_core::Error;
#[cfg(feature = "cuda")]
use kernels_core::{Error, Result, WorkspaceSize, linattn::Shape};
#[cfg(feature = "cuda")]
use kernels_cuda::{DeviceRead, DeviceWrite};

#[cfg(feature = "cuda")]
fn shape(n_heads: usize, len: usize, dk: usize, dv: usize) -> Shape {
    Shape {
        n_heads,
        len,
        dk,
        dv,
    }
}

/// A workspace size (an array of `f32`, its alignment slack included: `work` may have
/// any alignment), in bytes, written to `*bytes`.
///
/// # Safety
/// `bytes` is NULL or valid for one write.
#[cfg(feature = "cuda")]
unsafe fn write_bytes(size: Result<WorkspaceSize>, bytes: *mut usize) -> Result<Done> {
    super::device::require()?;
    // SAFETY: the caller's contract on `bytes`.
    let bytes = unsafe { crate::args::out_value(bytes) }?;
    *bytes = size?.bytes();
    Ok(Done::Ok)
}

/// The caller's device workspace as 4-byte words (any alignment: the first aligned
/// address is used).
///
/// # Safety
/// `work` is NULL or a device allocation of `work_bytes` bytes in `ctx`'s context.
#[cfg(feature = "cuda")]
unsafe fn work_words(
    ctx: &kernels_cuda::Context,
    work: *mut c_void,
    work_bytes: usize,
) -> Result<kernels_cuda::Borrowed<f32>> {
    if work.is_null() {
        return Err(Error::Null);
    }
    let addr = work as u64;
    let skip = addr.next_multiple_of(4) - addr;
    let words = work_bytes.saturating_sub(skip as usize) / 4;
    // SAFETY: the caller's contract: `words` aligned words after `skip` bytes.
    unsafe { super::device::buffer(ctx, (addr + skip) as *const f32, words) }
}

/// Device workspace size of `kn_cuda_linattn_forward_f32` for these sizes and `chunk`
/// (0 = 64), in bytes (device memory, any alignment), written to `*bytes`: about
/// `(ceil(len / chunk) + 1) * n_heads * dk * dv * 4` (the state before every chunk).
///
/// Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
/// without CUDA; checked first); KN_ERR_NULL (`bytes` NULL); KN_ERR_DIMENSION (a size
/// is zero or overflows).
///
/// # Safety
/// `bytes` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cuda_linattn_work_bytes(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    chunk: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        #[cfg(feature = "cuda")]
        // SAFETY: forwarded pointer contract.
        return unsafe {
            write_bytes(
                kernels_cuda::linattn::forward_work_size(shape(n_heads, len, dk, dv), chunk),
                bytes,
            )
        };
        #[cfg(not(feature = "cuda"))]
        {
            let _ = (n_heads, len, dk, dv, chunk, bytes);
            Err(Error::Unsupported)
        }
    })
}

/// Causal linear attention on the GPU: `kn_linattn_forward_f32` with `q`, `k`, `v`,
/// `decay`, `state_in`, `out`, `state_out` and `work` in DEVICE memory, launched on
/// `stream` (a CUstream of the current device's primary context; NULL = the default
/// stream).
///
/// `S_t = decay * S_{t-1} + k_t^T v_t`, `o_t = scale * q_t S_t` (token `t` included)
/// from `S_0 = state_in`. Layouts: `q`, `k` `[n_heads][len][dk]`; `v`, `out`
/// `[n_heads][len][dv]`; `decay` `[n_heads]` in (0, 1] or NULL (1); `scale` 0 means
/// `1/sqrt(dk)`; `state_in`, `state_out` `[n_heads][dk][dv]` or NULL. `chunk`: tokens
/// per chunk, 0 for 64 (the result does not depend on it beyond rounding). `work`: at
/// least `kn_cuda_linattn_work_bytes` bytes of device memory, any alignment.
///
/// Same results as the host function to rounding (sums in another order). The values
/// (decay range, finiteness of the inputs) are checked by a read-only kernel before
/// anything is written. Synchronises `stream` (after that check and at the end).
///
/// Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
/// without CUDA; checked first); KN_ERR_NULL; KN_ERR_DIMENSION; KN_ERR_WORKSPACE
/// (checked before the values: their verdict goes to `work`); KN_ERR_ARGUMENT (a decay
/// outside (0, 1], a misaligned or overlapping device array); KN_ERR_NON_FINITE (NaN or
/// infinity in an input, the decay or the scale). On these nothing but `work` was
/// written. KN_ERR_NUMERICAL: a value overflowed; `out` and `state_out` hold the
/// computed values. KN_ERR_INTERNAL: a launch or copy failed.
///
/// # Safety
/// Every pointer but `stream` is NULL or a device allocation valid for its documented
/// length (`work`: `work_bytes` bytes); no output used elsewhere until the call returns.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_cuda_linattn_forward_f32(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    q: *const f32,
    k: *const f32,
    v: *const f32,
    decay: *const f32,
    scale: f32,
    state_in: *const f32,
    out: *mut f32,
    state_out: *mut f32,
    chunk: usize,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(forward_device(
        false, n_heads, len, dk, dv, q, k, v, decay, scale, state_in, out, state_out, chunk, work,
        work_bytes, stream
    ))
}

/// The forward pass on device pointers; with `gated`, `decay` holds the required log
/// gates (`[n_heads][len]`) instead of the optional per-head decay.
///
/// # Safety
/// As `kn_cuda_linattn_forward_f32` (`kn_cuda_linattn_gated_forward_f32`).
#[cfg(feature = "cuda")]
#[allow(clippy::too_many_arguments)]
unsafe fn forward_device(
    gated: bool,
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    q: *const f32,
    k: *const f32,
    v: *const f32,
    decay: *const f32,
    scale: f32,
    state_in: *const f32,
    out: *mut f32,
    state_out: *mut f32,
    chunk: usize,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> Result<Done> {
    use super::device::{buffer, context, disjoint_device};
    use kernels_cuda::linattn::{DeviceDecay, DeviceInputs, forward};

    // SAFETY: the caller's contract on `stream`.
    let ctx = unsafe { context(stream) }?;
    let shape = Shape {
        n_heads,
        len,
        dk,
        dv,
    };
    shape.check()?;
    let (qk, vl, sl) = (shape.qk_len()?, shape.v_len()?, shape.state_len()?);
    // SAFETY: the caller's contract: device allocations of the documented lengths (or
    // NULL where allowed); overlap is refused below, before any launch.
    let (q, k, v, mut out, mut work) = unsafe {
        (
            buffer(&ctx, q, qk)?,
            buffer(&ctx, k, qk)?,
            buffer(&ctx, v, vl)?,
            buffer(&ctx, out.cast_const(), vl)?,
            work_words(&ctx, work, work_bytes)?,
        )
    };
    // SAFETY: as above, for the optional arrays (the gates are required).
    let (decay, state_in, mut state_out) = unsafe {
        (
            if gated {
                let gates = kernels_core::checked_product(&[n_heads, len])?;
                Some(buffer(&ctx, decay, gates)?)
            } else {
                optional(&ctx, decay, n_heads)?
            },
            optional(&ctx, state_in, sl)?,
            optional(&ctx, state_out.cast_const(), sl)?,
        )
    };
    let mut outputs = vec![out.span(), work.span()];
    outputs.extend(state_out.as_ref().map(|s| s.span()));
    let mut inputs = vec![q.span(), k.span(), v.span()];
    inputs.extend(decay.as_ref().map(|s| s.span()));
    inputs.extend(state_in.as_ref().map(|s| s.span()));
    disjoint_device(&outputs, &inputs)?;
    let decay = match decay.as_ref() {
        None => DeviceDecay::None,
        Some(g) if gated => DeviceDecay::Gates(g),
        Some(d) => DeviceDecay::Heads(d),
    };
    let inp = DeviceInputs {
        shape,
        q: &q,
        k: &k,
        v: &v,
        decay,
        scale,
        state_in: state_in.as_ref().map(|d| d as &dyn DeviceRead<f32>),
    };
    forward(
        &ctx,
        &inp,
        chunk,
        &mut out,
        state_out.as_mut().map(|d| d as &mut dyn DeviceWrite<f32>),
        &mut work,
    )?;
    Ok(Done::Ok)
}

/// A device array that may be NULL.
///
/// # Safety
/// As [`super::device::buffer`] when `p` is not NULL.
#[cfg(feature = "cuda")]
unsafe fn optional<T>(
    ctx: &kernels_cuda::Context,
    p: *const T,
    len: usize,
) -> Result<Option<kernels_cuda::Borrowed<T>>> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { super::device::buffer(ctx, p, len) }.map(Some)
}

/// Device workspace size of `kn_cuda_linattn_chunk_state_f32`, in bytes (device
/// memory, any alignment), written to `*bytes`: about
/// `ceil(len / 64) * n_heads * dk * dv * 4` (one state per 64-token segment).
///
/// Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
/// without CUDA; checked first); KN_ERR_NULL (`bytes` NULL); KN_ERR_DIMENSION (a size
/// is zero or overflows).
///
/// # Safety
/// `bytes` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cuda_linattn_chunk_state_work_bytes(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        #[cfg(feature = "cuda")]
        // SAFETY: forwarded pointer contract.
        return unsafe {
            write_bytes(
                kernels_cuda::linattn::chunk_state_work_size(shape(n_heads, len, dk, dv)),
                bytes,
            )
        };
        #[cfg(not(feature = "cuda"))]
        {
            let _ = (n_heads, len, dk, dv, bytes);
            Err(Error::Unsupported)
        }
    })
}

/// A chunk's own state on the GPU: `kn_linattn_chunk_state_f32` with `k`
/// (`[n_heads][len][dk]`), `v` (`[n_heads][len][dv]`), `decay` (`[n_heads]` or NULL),
/// `state` (`[n_heads][dk][dv]`, receives `sum_t decay^(len-1-t) k_t^T v_t`) and `work`
/// (at least `kn_cuda_linattn_chunk_state_work_bytes` bytes, any alignment) in DEVICE
/// memory, launched on `stream` (a CUstream of the current device's primary context;
/// NULL = the default stream). Same results as the host function to rounding; the
/// values are checked by a read-only kernel first. Synchronises `stream`.
///
/// Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
/// without CUDA; checked first); KN_ERR_NULL; KN_ERR_DIMENSION; KN_ERR_WORKSPACE;
/// KN_ERR_ARGUMENT (a decay outside (0, 1], a misaligned or overlapping device array);
/// KN_ERR_NON_FINITE. On these nothing but `work` was written. KN_ERR_NUMERICAL: a
/// value overflowed; `state` holds the computed values. KN_ERR_INTERNAL: a launch or
/// copy failed.
///
/// # Safety
/// Every pointer but `stream` is NULL or a device allocation valid for its documented
/// length (`work`: `work_bytes` bytes); no output used elsewhere until the call returns.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_cuda_linattn_chunk_state_f32(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    k: *const f32,
    v: *const f32,
    decay: *const f32,
    state: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(chunk_state_device(
        false,
        n_heads,
        len,
        dk,
        dv,
        k,
        v,
        decay,
        state,
        core::ptr::null_mut::<f32>(),
        work,
        work_bytes,
        stream
    ))
}

/// A chunk's state on device pointers; with `gated`, `decay` holds the required log
/// gates (`[n_heads][len]`) instead of the optional per-head decay. `log_decay`
/// (`[n_heads]`) is optional.
///
/// # Safety
/// As `kn_cuda_linattn_chunk_state_f32` (`kn_cuda_linattn_gated_chunk_state_f32`).
#[cfg(feature = "cuda")]
#[allow(clippy::too_many_arguments)]
unsafe fn chunk_state_device(
    gated: bool,
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    k: *const f32,
    v: *const f32,
    decay: *const f32,
    state: *mut f32,
    log_decay: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> Result<Done> {
    use super::device::{buffer, context, disjoint_device};
    use kernels_cuda::linattn::DeviceDecay;

    // SAFETY: the caller's contract on `stream`.
    let ctx = unsafe { context(stream) }?;
    let shape = Shape {
        n_heads,
        len,
        dk,
        dv,
    };
    shape.check()?;
    // SAFETY: the caller's contract: device allocations of the documented lengths (or
    // NULL where allowed); overlap is refused below, before any launch.
    let (k, v, decay, mut state, mut log_decay, mut work) = unsafe {
        (
            buffer(&ctx, k, shape.qk_len()?)?,
            buffer(&ctx, v, shape.v_len()?)?,
            if gated {
                let gates = kernels_core::checked_product(&[n_heads, len])?;
                Some(buffer(&ctx, decay, gates)?)
            } else {
                optional(&ctx, decay, n_heads)?
            },
            buffer(&ctx, state.cast_const(), shape.state_len()?)?,
            optional(&ctx, log_decay.cast_const(), n_heads)?,
            work_words(&ctx, work, work_bytes)?,
        )
    };
    let mut inputs = vec![k.span(), v.span()];
    inputs.extend(decay.as_ref().map(|s| s.span()));
    let mut outputs = vec![state.span(), work.span()];
    if let Some(l) = log_decay.as_ref() {
        // The outputs must not overlap one another either.
        disjoint_device(&[l.span()], &outputs)?;
        outputs.push(l.span());
    }
    disjoint_device(&outputs, &inputs)?;
    let decay = match decay.as_ref() {
        None => DeviceDecay::None,
        Some(g) if gated => DeviceDecay::Gates(g),
        Some(d) => DeviceDecay::Heads(d),
    };
    kernels_cuda::linattn::chunk_state(
        &ctx,
        shape,
        &k,
        &v,
        decay,
        &mut state,
        log_decay.as_mut().map(|d| d as &mut dyn DeviceWrite<f32>),
        &mut work,
    )?;
    Ok(Done::Ok)
}

/// Device workspace size of `kn_cuda_linattn_state_scan_f32`, in bytes (device memory,
/// any alignment; a few words for the checks' verdicts), written to `*bytes`.
///
/// Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
/// without CUDA; checked first); KN_ERR_NULL (`bytes` NULL); KN_ERR_DIMENSION (a size
/// is zero or overflows).
///
/// # Safety
/// `bytes` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cuda_linattn_state_scan_work_bytes(
    n_chunks: usize,
    n_heads: usize,
    dk: usize,
    dv: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        #[cfg(feature = "cuda")]
        // SAFETY: forwarded pointer contract.
        return unsafe {
            write_bytes(
                kernels_cuda::linattn::state_scan_work_size(n_chunks, n_heads, dk, dv),
                bytes,
            )
        };
        #[cfg(not(feature = "cuda"))]
        {
            let _ = (n_chunks, n_heads, dk, dv, bytes);
            Err(Error::Unsupported)
        }
    })
}

/// The LASP-2 reduction on the GPU: `kn_linattn_state_scan_f32` with `chunk_lens`
/// (`[n_chunks]` token counts), `decay` (`[n_heads]` or NULL), `states` and `prefix`
/// (`[n_chunks][n_heads][dk][dv]`) and `work` (at least
/// `kn_cuda_linattn_state_scan_work_bytes` bytes, any alignment) in DEVICE memory,
/// launched on `stream` (a CUstream of the current device's primary context; NULL =
/// the default stream). Writes `prefix[0] = 0` and
/// `prefix[c + 1] = decay^(chunk_lens[c]) * prefix[c] + states[c]`, the `state_in` of
/// chunk `c`. The values (chunk lengths, decay range, finiteness) are checked by a
/// read-only kernel first. Synchronises `stream`.
///
/// Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
/// without CUDA; checked first); KN_ERR_NULL; KN_ERR_DIMENSION (a size or a chunk
/// length is zero, a size overflows, or the chunk lengths' sum overflows);
/// KN_ERR_WORKSPACE; KN_ERR_ARGUMENT (a decay outside (0, 1], a misaligned or
/// overlapping device array); KN_ERR_NON_FINITE. On these nothing but `work` was
/// written. KN_ERR_NUMERICAL: a sum overflowed; `prefix` holds the computed values.
/// KN_ERR_INTERNAL: a launch or copy failed.
///
/// # Safety
/// Every pointer but `stream` is NULL or a device allocation valid for its documented
/// length (`work`: `work_bytes` bytes); no output used elsewhere until the call returns.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_cuda_linattn_state_scan_f32(
    n_chunks: usize,
    n_heads: usize,
    dk: usize,
    dv: usize,
    chunk_lens: *const usize,
    decay: *const f32,
    states: *const f32,
    prefix: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(state_scan_device(
        n_chunks, n_heads, dk, dv, chunk_lens, decay, states, prefix, work, work_bytes, stream
    ))
}

#[cfg(feature = "cuda")]
#[allow(clippy::too_many_arguments)]
unsafe fn state_scan_device(
    n_chunks: usize,
    n_heads: usize,
    dk: usize,
    dv: usize,
    chunk_lens: *const usize,
    decay: *const f32,
    states: *const f32,
    prefix: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> Result<Done> {
    use super::device::{buffer, context, disjoint_device};
    use kernels_cuda::linattn::{DeviceChunkDecays, DeviceScan, state_scan};

    // SAFETY: the caller's contract on `stream`.
    let ctx = unsafe { context(stream) }?;
    if n_chunks == 0 || n_heads == 0 || dk == 0 || dv == 0 {
        return Err(Error::Dimension);
    }
    let total = kernels_core::checked_product(&[n_chunks, n_heads, dk, dv])?;
    // SAFETY: the caller's contract: device allocations of the documented lengths (or
    // NULL where allowed); size_t is 64 bits here (kernels-cuda requires a 64-bit
    // host); overlap is refused below, before any launch.
    let (lens, decay, states, mut prefix, mut work) = unsafe {
        (
            buffer(&ctx, chunk_lens.cast::<u64>(), n_chunks)?,
            optional(&ctx, decay, n_heads)?,
            buffer(&ctx, states, total)?,
            buffer(&ctx, prefix.cast_const(), total)?,
            work_words(&ctx, work, work_bytes)?,
        )
    };
    let mut inputs = vec![lens.span(), states.span()];
    inputs.extend(decay.as_ref().map(|s| s.span()));
    disjoint_device(&[prefix.span(), work.span()], &inputs)?;
    let scan = DeviceScan {
        n_heads,
        dk,
        dv,
        chunks: DeviceChunkDecays::Lengths {
            chunk_lens: &lens,
            decay: decay.as_ref().map(|d| d as &dyn DeviceRead<f32>),
        },
        states: &states,
    };
    state_scan(&ctx, &scan, &mut prefix, &mut work)?;
    Ok(Done::Ok)
}

/// Device workspace size of `kn_cuda_linattn_gated_forward_f32` for these sizes and
/// `chunk` (0 = 64), in bytes (device memory, any alignment), written to `*bytes`:
/// `kn_cuda_linattn_work_bytes` and, per chunk, its decay per head (about
/// `ceil(len / chunk) * n_heads * 4` more).
///
/// Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
/// without CUDA; checked first); KN_ERR_NULL (`bytes` NULL); KN_ERR_DIMENSION (a size
/// is zero or overflows).
///
/// # Safety
/// `bytes` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cuda_linattn_gated_work_bytes(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    chunk: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        #[cfg(feature = "cuda")]
        // SAFETY: forwarded pointer contract.
        return unsafe {
            write_bytes(
                kernels_cuda::linattn::gated_work_size(shape(n_heads, len, dk, dv), chunk),
                bytes,
            )
        };
        #[cfg(not(feature = "cuda"))]
        {
            let _ = (n_heads, len, dk, dv, chunk, bytes);
            Err(Error::Unsupported)
        }
    })
}

/// Gated linear attention on the GPU: `kn_linattn_gated_forward_f32` with `q`, `k`,
/// `v`, `g`, `state_in`, `out`, `state_out` and `work` in DEVICE memory, launched on
/// `stream` (a CUstream of the current device's primary context; NULL = the default
/// stream).
///
/// `S_t = exp(g_t) S_{t-1} + k_t^T v_t`, `o_t = scale * q_t S_t` (token `t` included)
/// from `S_0 = state_in`. Arguments as for `kn_cuda_linattn_forward_f32`, with `g`
/// (`[n_heads][len]`, required) the log gates, each `<= 0`, in place of `decay`;
/// `work` at least `kn_cuda_linattn_gated_work_bytes` bytes. Inside a chunk the
/// weights are exponentials of differences of prefix sums of the gates (summed in
/// double precision), rounded once; weights below `FLT_MIN` count as 0.
///
/// Same results as the host function to rounding (sums in another order). The values
/// (gates, finiteness of the inputs) are checked by a read-only kernel before anything
/// is written. Synchronises `stream` (after that check and at the end).
///
/// Returns as `kn_cuda_linattn_forward_f32`, with KN_ERR_ARGUMENT for a positive gate
/// and KN_ERR_NON_FINITE for a NaN or infinite one.
///
/// # Safety
/// Every pointer but `stream` is NULL or a device allocation valid for its documented
/// length (`work`: `work_bytes` bytes); no output used elsewhere until the call returns.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_cuda_linattn_gated_forward_f32(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    q: *const f32,
    k: *const f32,
    v: *const f32,
    g: *const f32,
    scale: f32,
    state_in: *const f32,
    out: *mut f32,
    state_out: *mut f32,
    chunk: usize,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(forward_device(
        true, n_heads, len, dk, dv, q, k, v, g, scale, state_in, out, state_out, chunk, work,
        work_bytes, stream
    ))
}

/// Device workspace size of `kn_cuda_linattn_gated_chunk_state_f32`, in bytes (device
/// memory, any alignment), written to `*bytes`: `kn_cuda_linattn_chunk_state_work_bytes`
/// and each 64-token segment's decay per head (about `ceil(len / 64) * n_heads * 4`
/// more).
///
/// Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
/// without CUDA; checked first); KN_ERR_NULL (`bytes` NULL); KN_ERR_DIMENSION (a size
/// is zero or overflows).
///
/// # Safety
/// `bytes` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_cuda_linattn_gated_chunk_state_work_bytes(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        #[cfg(feature = "cuda")]
        // SAFETY: forwarded pointer contract.
        return unsafe {
            write_bytes(
                kernels_cuda::linattn::gated_chunk_state_work_size(shape(n_heads, len, dk, dv)),
                bytes,
            )
        };
        #[cfg(not(feature = "cuda"))]
        {
            let _ = (n_heads, len, dk, dv, bytes);
            Err(Error::Unsupported)
        }
    })
}

/// A gated chunk's own state on the GPU: `kn_linattn_gated_chunk_state_f32` with `k`
/// (`[n_heads][len][dk]`), `v` (`[n_heads][len][dv]`), `g` (`[n_heads][len]` log gates
/// `<= 0`, required), `state` (`[n_heads][dk][dv]`), `log_decay` (`[n_heads]`, each
/// head's `sum_t g_t` summed in double precision, or NULL) and `work` (at least
/// `kn_cuda_linattn_gated_chunk_state_work_bytes` bytes, any alignment) in DEVICE
/// memory, launched on `stream` (a CUstream of the current device's primary context;
/// NULL = the default stream). Same results as the host function to rounding; the
/// values are checked by a read-only kernel first. Synchronises `stream`.
///
/// Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
/// without CUDA; checked first); KN_ERR_NULL; KN_ERR_DIMENSION; KN_ERR_WORKSPACE;
/// KN_ERR_ARGUMENT (a positive gate, a misaligned or overlapping device array);
/// KN_ERR_NON_FINITE. On these nothing but `work` was written. KN_ERR_NUMERICAL: a
/// value overflowed; `state` holds the computed values. KN_ERR_INTERNAL: a launch or
/// copy failed.
///
/// # Safety
/// Every pointer but `stream` is NULL or a device allocation valid for its documented
/// length (`work`: `work_bytes` bytes); no output used elsewhere until the call returns.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_cuda_linattn_gated_chunk_state_f32(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    k: *const f32,
    v: *const f32,
    g: *const f32,
    state: *mut f32,
    log_decay: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(chunk_state_device(
        true, n_heads, len, dk, dv, k, v, g, state, log_decay, work, work_bytes, stream
    ))
}

/// The LASP-2 reduction for gated chunks on the GPU: `kn_linattn_gated_state_scan_f32`
/// with `log_decays` (`[n_chunks][n_heads]`, values `<= 0`), `states` and `prefix`
/// (`[n_chunks][n_heads][dk][dv]`) and `work` (at least
/// `kn_cuda_linattn_state_scan_work_bytes` bytes, any alignment) in DEVICE memory,
/// launched on `stream` (a CUstream of the current device's primary context; NULL =
/// the default stream). Writes `prefix[0] = 0` and
/// `prefix[c + 1] = exp(log_decays[c]) * prefix[c] + states[c]` (the exponential in
/// double precision, rounded once, 0 below `FLT_MIN`), the `state_in` of chunk `c`.
/// The values are checked by a read-only kernel first. Synchronises `stream`.
///
/// Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
/// without CUDA; checked first); KN_ERR_NULL; KN_ERR_DIMENSION (a size is zero or
/// overflows); KN_ERR_WORKSPACE; KN_ERR_ARGUMENT (a positive log decay, a misaligned or
/// overlapping device array); KN_ERR_NON_FINITE. On these nothing but `work` was
/// written. KN_ERR_NUMERICAL: a sum overflowed; `prefix` holds the computed values.
/// KN_ERR_INTERNAL: a launch or copy failed.
///
/// # Safety
/// Every pointer but `stream` is NULL or a device allocation valid for its documented
/// length (`work`: `work_bytes` bytes); no output used elsewhere until the call returns.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_cuda_linattn_gated_state_scan_f32(
    n_chunks: usize,
    n_heads: usize,
    dk: usize,
    dv: usize,
    log_decays: *const f32,
    states: *const f32,
    prefix: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> kn_status {
    cuda_entry!(gated_state_scan_device(
        n_chunks, n_heads, dk, dv, log_decays, states, prefix, work, work_bytes, stream
    ))
}

#[cfg(feature = "cuda")]
#[allow(clippy::too_many_arguments)]
unsafe fn gated_state_scan_device(
    n_chunks: usize,
    n_heads: usize,
    dk: usize,
    dv: usize,
    log_decays: *const f32,
    states: *const f32,
    prefix: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
    stream: *mut c_void,
) -> Result<Done> {
    use super::device::{buffer, context, disjoint_device};
    use kernels_cuda::linattn::{DeviceChunkDecays, DeviceScan, state_scan};

    // SAFETY: the caller's contract on `stream`.
    let ctx = unsafe { context(stream) }?;
    if n_chunks == 0 || n_heads == 0 || dk == 0 || dv == 0 {
        return Err(Error::Dimension);
    }
    let total = kernels_core::checked_product(&[n_chunks, n_heads, dk, dv])?;
    let logs = kernels_core::checked_product(&[n_chunks, n_heads])?;
    // SAFETY: the caller's contract: device allocations of the documented lengths;
    // overlap is refused below, before any launch.
    let (log_decays, states, mut prefix, mut work) = unsafe {
        (
            buffer(&ctx, log_decays, logs)?,
            buffer(&ctx, states, total)?,
            buffer(&ctx, prefix.cast_const(), total)?,
            work_words(&ctx, work, work_bytes)?,
        )
    };
    disjoint_device(
        &[prefix.span(), work.span()],
        &[log_decays.span(), states.span()],
    )?;
    let scan = DeviceScan {
        n_heads,
        dk,
        dv,
        chunks: DeviceChunkDecays::Logs(&log_decays),
        states: &states,
    };
    state_scan(&ctx, &scan, &mut prefix, &mut work)?;
    Ok(Done::Ok)
}
