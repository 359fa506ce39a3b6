//! Linear attention and the LASP-2 state reduction: `kn_linattn_*`.

use crate::args::{disjoint, input, input_opt, out_value, output, output_opt, span, workspace};
use crate::guard::{Done, status};
use crate::status::kn_status;
use core::ffi::c_void;
use kernels_core::linattn::{self, ChunkDecays, Decay, Inputs, Scan, Seqs, Shape};
use kernels_simd::{DefaultExec, Simd};

/// Bytes of workspace `kn_linattn_forward_f32` needs for these sizes and `chunk`
/// (0 = the default, 64), written to `*bytes`: the minimum, one head's scratch. A
/// workspace of `t` times this lets `t` heads run at once on the threads
/// (`kn_set_num_threads`); `kn_linattn_threads_work_bytes` gives the size that also
/// lets the chunks of a head run at once. The result is the same whatever its size.
///
/// Statuses: `KN_OK`; `KN_ERR_NULL` (`bytes` is NULL); `KN_ERR_DIMENSION` (a size is
/// zero, or a size overflows).
///
/// # Safety
/// Every pointer is NULL or points to an array of the documented length (`work`: of
/// `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
/// overlapping arrays are reported as statuses.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_linattn_work_bytes(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    chunk: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes a pointer valid for one write, or NULL.
        let bytes = unsafe { out_value(bytes) }?;
        let shape = Shape {
            n_heads,
            len,
            dk,
            dv,
        };
        *bytes = linattn::forward_work_size::<f32>(shape, chunk)?.bytes();
        Ok(Done::Ok)
    })
}

/// Bytes of workspace `kn_linattn_gated_forward_f32` and
/// `kn_linattn_gated_forward_varlen_f32` need for these sizes (for varlen: `len` =
/// all tokens) and `chunk` (0 = the default, 64), written to `*bytes`: the minimum,
/// one head's scratch (`kn_linattn_work_bytes` and, per chunk, its cumulative log
/// gates). A workspace of `t` times this lets `t` heads run at once on the threads.
///
/// Statuses: `KN_OK`; `KN_ERR_NULL` (`bytes` is NULL); `KN_ERR_DIMENSION` (a size is
/// zero, or a size overflows).
///
/// # Safety
/// `bytes` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_linattn_gated_work_bytes(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    chunk: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes a pointer valid for one write, or NULL.
        let bytes = unsafe { out_value(bytes) }?;
        let shape = Shape {
            n_heads,
            len,
            dk,
            dv,
        };
        *bytes = linattn::gated_work_size::<f32>(shape, chunk)?.bytes();
        Ok(Done::Ok)
    })
}

/// Bytes of workspace with which `kn_linattn_forward_f32` (and
/// `kn_linattn_forward_varlen_f32`) keeps `threads` threads busy (0 =
/// `kn_num_threads()`), written to `*bytes`: `threads` times `kn_linattn_work_bytes`, one head on each thread, and, when there are fewer heads
/// than threads, room for the states of one head's chunks, so that the chunks of each
/// head run at once (every chunk's own state, the prefix scan over them, every
/// chunk's output: LASP-2 inside the call). The result is the same as with the
/// minimum workspace, bit for bit.
///
/// Statuses: `KN_OK`; `KN_ERR_NULL` (`bytes` is NULL); `KN_ERR_DIMENSION` (a size is
/// zero, or a size overflows).
///
/// # Safety
/// `bytes` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_linattn_threads_work_bytes(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    chunk: usize,
    threads: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller passes a pointer valid for one write, or NULL.
        let bytes = unsafe { out_value(bytes) }?;
        let shape = Shape {
            n_heads,
            len,
            dk,
            dv,
        };
        let threads = if threads == 0 {
            crate::threads::kn_num_threads()
        } else {
            threads
        };
        *bytes = linattn::forward_threads_work_size::<f32>(shape, chunk, threads, false)?.bytes();
        Ok(Done::Ok)
    })
}

/// Causal linear attention with a per-head decay, computed in chunks:
/// `S_t = decay * S_{t-1} + k_t^T v_t`, `o_t = scale * q_t S_t` for every token `t`
/// (token `t` included), starting from `S_0 = state_in`.
///
/// - `q`, `k`: `[n_heads][len][dk]`; `v`: `[n_heads][len][dv]`.
/// - `decay`: `[n_heads]` values in (0, 1], or NULL for 1 (plain linear attention).
/// - `scale`: output scale; 0 means `1/sqrt(dk)`.
/// - `state_in`: `[n_heads][dk][dv]`, the state before the first token, or NULL for 0.
///   To continue a sequence split into parts, pass the part's prefix from
///   `kn_linattn_state_scan_f32`.
/// - `out`: `[n_heads][len][dv]`, written.
/// - `state_out`: `[n_heads][dk][dv]`, receives `S_len`, or NULL.
/// - `chunk`: tokens per chunk, 0 for the default (64); a chunk longer than `len` means
///   one chunk.
/// - `work`, `work_bytes`: at least `kn_linattn_work_bytes` bytes, any alignment.
///
/// Statuses: `KN_OK`; `KN_ERR_NULL` (a required pointer is NULL);
/// `KN_ERR_DIMENSION` (a size is zero or overflows); `KN_ERR_WORKSPACE` (`work_bytes`
/// too small); `KN_ERR_ARGUMENT` (a decay outside (0, 1], a misaligned array, or an
/// output overlapping another array); `KN_ERR_NON_FINITE` (NaN or infinity in an input,
/// the decay or the scale). On these nothing is written. `KN_ERR_NUMERICAL`: a value
/// overflowed; `out` and `state_out` hold the computed values, some infinite or NaN.
///
/// # Safety
/// Every pointer is NULL or points to an array of the documented length (`work`: of
/// `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
/// overlapping arrays are reported as statuses.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_linattn_forward_f32(
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
) -> kn_status {
    let shape = Shape {
        n_heads,
        len,
        dk,
        dv,
    };
    let arrays = Arrays {
        q,
        k,
        v,
        decay,
        state_in,
        out,
        state_out,
    };
    // SAFETY: the caller's promise, passed on.
    status(|| unsafe { forward_call(shape, None, false, arrays, scale, chunk, work, work_bytes) })
}

/// Causal linear attention with a gate per head and token (simple GLA, Mamba-2),
/// computed in chunks: `S_t = exp(g_t) S_{t-1} + k_t^T v_t`, `o_t = scale * q_t S_t`,
/// starting from `S_0 = state_in`.
///
/// Arguments as for `kn_linattn_forward_f32`, with `g` (`[n_heads][len]`, required)
/// the log gates, each `<= 0`, in place of `decay`; `work_bytes` at least
/// `kn_linattn_gated_work_bytes`. Inside a chunk the weights are exponentials of
/// differences of prefix sums of the gates (summed in double precision), never of a
/// large positive number, so any gates are safe; weights below `FLT_MIN` count as 0.
/// A constant decay `d` is the gate `ln d` at every token (`kn_linattn_forward_f32`
/// computes that case with fewer exponentials).
///
/// Statuses as for `kn_linattn_forward_f32`, with `KN_ERR_ARGUMENT` for a positive
/// gate and `KN_ERR_NON_FINITE` for a NaN or infinite one.
///
/// # Safety
/// Every pointer is NULL or points to an array of the documented length (`work`: of
/// `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
/// overlapping arrays are reported as statuses.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_linattn_gated_forward_f32(
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
) -> kn_status {
    let shape = Shape {
        n_heads,
        len,
        dk,
        dv,
    };
    let arrays = Arrays {
        q,
        k,
        v,
        decay: g,
        state_in,
        out,
        state_out,
    };
    // SAFETY: the caller's promise, passed on.
    status(|| unsafe { forward_call(shape, None, true, arrays, scale, chunk, work, work_bytes) })
}

/// `kn_linattn_forward_f32` on each of `n_seqs` sequences packed along the token axis
/// (flash-linear-attention's varlen layout): sequence `s` is tokens
/// `[cu_seqlens[s], cu_seqlens[s + 1])` of every head, `len` tokens in all.
///
/// - `cu_seqlens`: `[n_seqs + 1]` offsets, starting at 0, never decreasing, ending at
///   `len` (checked against `len`, so corrupt offsets cannot reach past the arrays).
/// - `q`, `k`: `[n_heads][len][dk]`; `v`, `out`: `[n_heads][len][dv]`; `decay`,
///   `scale`, `chunk` as for `kn_linattn_forward_f32`.
/// - `state_in`: `[n_seqs][n_heads][dk][dv]`, each sequence's initial state, or NULL
///   for 0; `state_out`: the same shape, each sequence's final state, or NULL.
/// - `work_bytes`: at least `kn_linattn_work_bytes` for `len` tokens.
///
/// Each sequence is computed as a call of its own (chunks cut from its first token),
/// so its outputs and state equal a separate `kn_linattn_forward_f32` call's bit for
/// bit. An empty sequence writes no rows; its final state is its initial one.
///
/// Statuses as for `kn_linattn_forward_f32`; `KN_ERR_ARGUMENT` also for malformed
/// `cu_seqlens` (not starting at 0, decreasing, or not ending at `len`),
/// `KN_ERR_DIMENSION` for `n_seqs` or `len` 0. On these nothing is written.
///
/// # Safety
/// Every pointer is NULL or points to an array of the documented length (`work`: of
/// `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
/// overlapping arrays are reported as statuses.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_linattn_forward_varlen_f32(
    n_seqs: usize,
    cu_seqlens: *const usize,
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
) -> kn_status {
    let arrays = Arrays {
        q,
        k,
        v,
        decay,
        state_in,
        out,
        state_out,
    };
    status(|| {
        // SAFETY: the caller's promise, passed on.
        unsafe {
            let shape = Shape {
                n_heads,
                len,
                dk,
                dv,
            };
            let cu = offsets(n_seqs, cu_seqlens)?;
            forward_call(
                shape,
                Some(cu),
                false,
                arrays,
                scale,
                chunk,
                work,
                work_bytes,
            )
        }
    })
}

/// `kn_linattn_gated_forward_f32` on each of `n_seqs` packed sequences: arguments as
/// for `kn_linattn_forward_varlen_f32` with `g` (`[n_heads][len]`, required) the log
/// gates in place of `decay`, and `work_bytes` at least `kn_linattn_gated_work_bytes`
/// for `len` tokens. Equal to separate `kn_linattn_gated_forward_f32` calls bit for
/// bit; statuses as for both.
///
/// # Safety
/// Every pointer is NULL or points to an array of the documented length (`work`: of
/// `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
/// overlapping arrays are reported as statuses.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_linattn_gated_forward_varlen_f32(
    n_seqs: usize,
    cu_seqlens: *const usize,
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
) -> kn_status {
    let arrays = Arrays {
        q,
        k,
        v,
        decay: g,
        state_in,
        out,
        state_out,
    };
    status(|| {
        // SAFETY: the caller's promise, passed on.
        unsafe {
            let shape = Shape {
                n_heads,
                len,
                dk,
                dv,
            };
            let cu = offsets(n_seqs, cu_seqlens)?;
            forward_call(
                shape,
                Some(cu),
                true,
                arrays,
                scale,
                chunk,
                work,
                work_bytes,
            )
        }
    })
}

/// The caller's arrays of a forward call, as passed.
struct Arrays {
    q: *const f32,
    k: *const f32,
    v: *const f32,
    /// The per-head decay (NULL = none) or the gates.
    decay: *const f32,
    state_in: *const f32,
    out: *mut f32,
    state_out: *mut f32,
}

/// The `n_seqs + 1` offsets of a packed batch;
/// [`Error::Dimension`](kernels_core::Error::Dimension) for no sequences. The core
/// checks them against the packed length.
///
/// # Safety
/// `cu_seqlens` is NULL or points to `n_seqs + 1` values.
unsafe fn offsets<'a>(
    n_seqs: usize,
    cu_seqlens: *const usize,
) -> kernels_core::Result<&'a [usize]> {
    if n_seqs == 0 {
        return Err(kernels_core::Error::Dimension);
    }
    let n = n_seqs
        .checked_add(1)
        .ok_or(kernels_core::Error::Dimension)?;
    // SAFETY: the caller passes `n_seqs + 1` offsets or NULL (refused).
    unsafe { input(cu_seqlens, n) }
}

/// Every forward call: checks the caller's arrays for `shape` (states for each of the
/// sequences in `cu_seqlens`, or one), then runs the kernel.
///
/// # Safety
/// As for the public functions: every pointer is NULL or points to an array of the
/// documented length.
#[allow(clippy::too_many_arguments)]
unsafe fn forward_call(
    shape: Shape,
    cu_seqlens: Option<&[usize]>,
    gated: bool,
    a: Arrays,
    scale: f32,
    chunk: usize,
    work: *mut c_void,
    work_bytes: usize,
) -> kernels_core::Result<Done> {
    shape.check()?;
    let n_states = cu_seqlens.map_or(1, |cu| cu.len() - 1);
    let (qk, vl) = (shape.qk_len()?, shape.v_len()?);
    let sl = kernels_core::checked_product(&[n_states, shape.state_len()?])?;
    let gates_len = if gated {
        kernels_core::checked_product(&[shape.n_heads, shape.len])?
    } else {
        shape.n_heads
    };
    // SAFETY: the caller passes arrays of the documented lengths (or NULL where
    // allowed); the helpers refuse NULL, misalignment and oversized lengths.
    let (q, k, v, decay, state_in) = unsafe {
        (
            input(a.q, qk)?,
            input(a.k, qk)?,
            input(a.v, vl)?,
            if gated {
                Some(input(a.decay, gates_len)?)
            } else {
                input_opt(a.decay, gates_len)?
            },
            input_opt(a.state_in, sl)?,
        )
    };
    // SAFETY: as above; overlap with the inputs is refused just below.
    let (out, state_out, work) = unsafe {
        (
            output(a.out, vl)?,
            output_opt(a.state_out, sl)?,
            workspace(work, work_bytes)?,
        )
    };
    let mut outputs = vec_spans([Some(span(out)), state_out.as_deref().map(span)]);
    outputs.push(span(work));
    let inputs = [
        Some(span(q)),
        Some(span(k)),
        Some(span(v)),
        decay.map(span),
        state_in.map(span),
    ];
    let mut inputs = vec_spans(inputs);
    if let Some(cu) = cu_seqlens {
        inputs.push(span(cu));
    }
    disjoint(outputs.items(), inputs.items())?;
    let inp = Inputs {
        shape,
        q,
        k,
        v,
        decay: match decay {
            Some(g) if gated => Decay::Gates(g),
            d => Decay::from(d),
        },
        scale,
        state_in,
    };
    let exec = DefaultExec::default();
    match cu_seqlens {
        Some(cu_seqlens) => {
            let seqs = Seqs { cu_seqlens };
            linattn::forward_varlen::<f32, Simd>(&exec, &inp, seqs, chunk, out, state_out, work)?
        }
        None => linattn::forward::<f32, Simd>(&exec, &inp, chunk, out, state_out, work)?,
    }
    Ok(Done::Ok)
}

/// A chunk's own state: `S_len` of the recurrence above started from `S_0 = 0`,
/// `sum_t decay^(len-1-t) k_t^T v_t`, written to `state` (`[n_heads][dk][dv]`).
/// `k`: `[n_heads][len][dk]`, `v`: `[n_heads][len][dv]`, `decay` as in
/// `kn_linattn_forward_f32`. This is what each rank (or chunk) contributes to the
/// AllGather before `kn_linattn_state_scan_f32`.
///
/// Statuses: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_DIMENSION` (a size is zero or
/// overflows); `KN_ERR_ARGUMENT` (a decay outside (0, 1], misalignment, `state`
/// overlapping an input); `KN_ERR_NON_FINITE`. On these nothing is written.
/// `KN_ERR_NUMERICAL`: a value overflowed; `state` holds the computed values.
///
/// # Safety
/// Every pointer is NULL or points to an array of the documented length (`work`: of
/// `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
/// overlapping arrays are reported as statuses.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_linattn_chunk_state_f32(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    k: *const f32,
    v: *const f32,
    decay: *const f32,
    state: *mut f32,
) -> kn_status {
    status(|| {
        let shape = Shape {
            n_heads,
            len,
            dk,
            dv,
        };
        shape.check()?;
        // SAFETY: arrays of the documented lengths or NULL; checked by the helpers.
        let (k, v, decay, state) = unsafe {
            (
                input(k, shape.qk_len()?)?,
                input(v, shape.v_len()?)?,
                input_opt(decay, n_heads)?,
                output(state, shape.state_len()?)?,
            )
        };
        let inputs = vec_spans([Some(span(k)), Some(span(v)), decay.map(span)]);
        disjoint(&[span(state)], inputs.items())?;
        let exec = DefaultExec::default();
        linattn::chunk_state::<f32, Simd>(&exec, shape, k, v, decay.into(), state, None)?;
        Ok(Done::Ok)
    })
}

/// The LASP-2 reduction: from the states of `n_chunks` consecutive chunks of one
/// sequence (`states`, `[n_chunks][n_heads][dk][dv]`, each from
/// `kn_linattn_chunk_state_f32`) and their token counts `chunk_lens` (`[n_chunks]`),
/// writes to `prefix` (same shape) the exclusive prefix
/// `prefix[c] = sum_{j<c} decay^(tokens after chunk j, before chunk c) * states[j]`
/// (`prefix[0] = 0`): the `state_in` with which `kn_linattn_forward_f32` on chunk `c`
/// reproduces the unsplit sequence. `decay` as in `kn_linattn_forward_f32`.
///
/// Statuses: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_DIMENSION` (a size or a chunk length is
/// zero, a size overflows, or the chunk lengths' sum overflows); `KN_ERR_ARGUMENT`
/// (a decay outside (0, 1], misalignment, `prefix` overlapping an input);
/// `KN_ERR_NON_FINITE`. On these nothing is written. `KN_ERR_NUMERICAL`: a sum
/// overflowed; `prefix` holds the computed values.
///
/// # Safety
/// Every pointer is NULL or points to an array of the documented length (`work`: of
/// `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
/// overlapping arrays are reported as statuses.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_linattn_state_scan_f32(
    n_chunks: usize,
    n_heads: usize,
    dk: usize,
    dv: usize,
    chunk_lens: *const usize,
    decay: *const f32,
    states: *const f32,
    prefix: *mut f32,
) -> kn_status {
    status(|| {
        if n_chunks == 0 || n_heads == 0 || dk == 0 || dv == 0 {
            return Err(kernels_core::Error::Dimension);
        }
        let total = kernels_core::checked_product(&[n_chunks, n_heads, dk, dv])?;
        // SAFETY: arrays of the documented lengths or NULL; checked by the helpers.
        let (chunk_lens, decay, states, prefix) = unsafe {
            (
                input(chunk_lens, n_chunks)?,
                input_opt(decay, n_heads)?,
                input(states, total)?,
                output(prefix, total)?,
            )
        };
        let inputs = vec_spans([Some(span(chunk_lens)), decay.map(span), Some(span(states))]);
        disjoint(&[span(prefix)], inputs.items())?;
        let scan = Scan {
            n_heads,
            dk,
            dv,
            chunks: ChunkDecays::Lengths { chunk_lens, decay },
            states,
        };
        linattn::state_scan::<f32, Simd>(&scan, prefix)?;
        Ok(Done::Ok)
    })
}

/// A gated chunk's own state: `S_len` of `kn_linattn_gated_forward_f32`'s recurrence
/// started from `S_0 = 0`, `sum_t exp(g_(t+1) + ... + g_len) k_t^T v_t`, written to
/// `state` (`[n_heads][dk][dv]`), and, unless `log_decay` is NULL, each head's total
/// log decay over the chunk `sum_t g_t` (summed in double precision) to `log_decay`
/// (`[n_heads]`). `k`: `[n_heads][len][dk]`, `v`: `[n_heads][len][dv]`, `g`:
/// `[n_heads][len]` log gates `<= 0`. The two outputs are what each rank (or chunk)
/// contributes to the AllGather before `kn_linattn_gated_state_scan_f32`.
///
/// Statuses: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_DIMENSION` (a size is zero or
/// overflows); `KN_ERR_ARGUMENT` (a positive gate, misalignment, an output overlapping
/// an input or the other output); `KN_ERR_NON_FINITE`. On these nothing is written.
/// `KN_ERR_NUMERICAL`: a value overflowed; `state` holds the computed values.
///
/// # Safety
/// Every pointer is NULL or points to an array of the documented length, valid for
/// the duration of the call; NULL, misaligned and overlapping arrays are reported as
/// statuses.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_linattn_gated_chunk_state_f32(
    n_heads: usize,
    len: usize,
    dk: usize,
    dv: usize,
    k: *const f32,
    v: *const f32,
    g: *const f32,
    state: *mut f32,
    log_decay: *mut f32,
) -> kn_status {
    status(|| {
        let shape = Shape {
            n_heads,
            len,
            dk,
            dv,
        };
        shape.check()?;
        let gates = kernels_core::checked_product(&[n_heads, len])?;
        // SAFETY: arrays of the documented lengths or NULL; checked by the helpers.
        let (k, v, g, state, log_decay) = unsafe {
            (
                input(k, shape.qk_len()?)?,
                input(v, shape.v_len()?)?,
                input(g, gates)?,
                output(state, shape.state_len()?)?,
                output_opt(log_decay, n_heads)?,
            )
        };
        let inputs = [Some(span(k)), Some(span(v)), Some(span(g))];
        let mut outputs = vec_spans([Some(span(state))]);
        if let Some(l) = log_decay.as_deref() {
            disjoint(&[span(l)], &[span(state)])?;
            outputs.push(span(l));
        }
        disjoint(outputs.items(), vec_spans(inputs).items())?;
        let exec = DefaultExec::default();
        let decay = Decay::Gates(g);
        linattn::chunk_state::<f32, Simd>(&exec, shape, k, v, decay, state, log_decay)?;
        Ok(Done::Ok)
    })
}

/// The LASP-2 reduction for gated chunks: from the states of `n_chunks` consecutive
/// chunks of one sequence (`states`, `[n_chunks][n_heads][dk][dv]`) and their log
/// decays (`log_decays`, `[n_chunks][n_heads]`, values `<= 0`), both from
/// `kn_linattn_gated_chunk_state_f32`, writes to `prefix` (same shape as `states`)
/// the exclusive prefix `prefix[0] = 0`,
/// `prefix[c + 1] = exp(log_decays[c]) * prefix[c] + states[c]`: the `state_in` with
/// which `kn_linattn_gated_forward_f32` on chunk `c` reproduces the unsplit sequence.
///
/// Statuses: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_DIMENSION` (a size is zero or
/// overflows); `KN_ERR_ARGUMENT` (a positive log decay, misalignment, `prefix`
/// overlapping an input); `KN_ERR_NON_FINITE`. On these nothing is written.
/// `KN_ERR_NUMERICAL`: a sum overflowed; `prefix` holds the computed values.
///
/// # Safety
/// Every pointer is NULL or points to an array of the documented length, valid for
/// the duration of the call; NULL, misaligned and overlapping arrays are reported as
/// statuses.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_linattn_gated_state_scan_f32(
    n_chunks: usize,
    n_heads: usize,
    dk: usize,
    dv: usize,
    log_decays: *const f32,
    states: *const f32,
    prefix: *mut f32,
) -> kn_status {
    status(|| {
        if n_chunks == 0 || n_heads == 0 || dk == 0 || dv == 0 {
            return Err(kernels_core::Error::Dimension);
        }
        let total = kernels_core::checked_product(&[n_chunks, n_heads, dk, dv])?;
        let logs = kernels_core::checked_product(&[n_chunks, n_heads])?;
        // SAFETY: arrays of the documented lengths or NULL; checked by the helpers.
        let (log_decays, states, prefix) = unsafe {
            (
                input(log_decays, logs)?,
                input(states, total)?,
                output(prefix, total)?,
            )
        };
        disjoint(&[span(prefix)], &[span(log_decays), span(states)])?;
        let scan = Scan {
            n_heads,
            dk,
            dv,
            chunks: ChunkDecays::Logs(log_decays),
            states,
        };
        linattn::state_scan::<f32, Simd>(&scan, prefix)?;
        Ok(Done::Ok)
    })
}

/// Up to eight address ranges, without allocating (the library is `no_std`).
struct Spans {
    items: [(usize, usize); 8],
    len: usize,
}

impl Spans {
    fn push(&mut self, s: (usize, usize)) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = s;
            self.len += 1;
        }
    }

    fn items(&self) -> &[(usize, usize)] {
        &self.items[..self.len]
    }
}

/// The present ranges among `spans`.
fn vec_spans<const N: usize>(spans: [Option<(usize, usize)>; N]) -> Spans {
    let mut s = Spans {
        items: [(0, 0); 8],
        len: 0,
    };
    for x in spans.into_iter().flatten() {
        s.push(x);
    }
    s
}
