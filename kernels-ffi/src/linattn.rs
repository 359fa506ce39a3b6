//! Linear attention and the LASP-2 state reduction: `kn_linattn_*`.

use crate::args::{disjoint, input, input_opt, out_value, output, output_opt, span, workspace};
use crate::guard::{Done, status};
use crate::status::kn_status;
use core::ffi::c_void;
use kernels_core::linattn::{self, Inputs, Scan, Shape};
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

/// Bytes of workspace with which `kn_linattn_forward_f32` keeps `threads` threads
/// busy (0 = `kn_num_threads()`), written to `*bytes`: `threads` times
/// `kn_linattn_work_bytes`, one head on each thread, and, when there are fewer heads
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
        *bytes = linattn::forward_threads_work_size::<f32>(shape, chunk, threads)?.bytes();
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
    status(|| {
        let shape = Shape {
            n_heads,
            len,
            dk,
            dv,
        };
        shape.check()?;
        let (qk, vl, sl) = (shape.qk_len()?, shape.v_len()?, shape.state_len()?);
        // SAFETY: the caller passes arrays of the documented lengths (or NULL where
        // allowed); the helpers refuse NULL, misalignment and oversized lengths.
        let (q, k, v, decay, state_in) = unsafe {
            (
                input(q, qk)?,
                input(k, qk)?,
                input(v, vl)?,
                input_opt(decay, n_heads)?,
                input_opt(state_in, sl)?,
            )
        };
        // SAFETY: as above; overlap with the inputs is refused just below.
        let (out, state_out, work) = unsafe {
            (
                output(out, vl)?,
                output_opt(state_out, sl)?,
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
        disjoint(outputs.items(), vec_spans(inputs).items())?;
        let inp = Inputs {
            shape,
            q,
            k,
            v,
            decay,
            scale,
            state_in,
        };
        linattn::forward::<f32, Simd>(&DefaultExec::default(), &inp, chunk, out, state_out, work)?;
        Ok(Done::Ok)
    })
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
        linattn::chunk_state::<f32, Simd>(&DefaultExec::default(), shape, k, v, decay, state)?;
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
            chunk_lens,
            decay,
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
