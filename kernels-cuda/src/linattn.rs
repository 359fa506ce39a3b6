//! Chunked linear attention on device buffers (kernels in `src/cuda/linattn.cu`).
//!
//! [`forward`], [`chunk_state`] and [`state_scan`] compute what the host
//! `kernels_core::linattn` functions of the same names compute (same layouts, decay
//! and scale rules, checks and errors); results agree to rounding (products summed in
//! another order), not bit for bit. The forward pass runs in three launches: the
//! chunk states `K_c^T diag(g^(L-1-j)) V_c`, a scan of them into the state before each
//! chunk (kept in the workspace), and the outputs (the inter-chunk term from that state
//! plus the causal intra-chunk term). [`chunk_state`] is the first two over 64-token
//! segments; [`state_scan`] is the scan alone.
//!
//! The decay is none, a constant per head, or a log gate per head and token
//! ([`DeviceDecay`], the host's `Decay`). With gates the weights are the host's:
//! exponentials of differences of the chunk's cumulative gates, summed in `f64` (on
//! the device by one warp, 32 tokens at a time), rounded once and flushed to zero below
//! `f32::MIN_POSITIVE`; the chunk states' launch also writes each chunk's decay
//! `exp(G_last)` for the scan, in the workspace ([`gated_work_size`],
//! [`gated_chunk_state_work_size`]). [`state_scan`] takes the chunks' log decays
//! ([`DeviceChunkDecays::Logs`]) as the host's `ChunkDecays::Logs`.
//!
//! Every call is synchronous: a read-only check kernel (decay range, finiteness of the
//! inputs, chunk lengths) reports to the workspace and its verdict is copied back before
//! any output is written; at the end a second check of the outputs gives
//! [`Error::Numerical`] as the host does.
//!
//! Workspaces are `f32` buffers whose first [`FLAG_WORDS`] words hold the verdicts;
//! the workspace is checked before the values (its first words receive their verdict),
//! where the host checks the values first.

use crate::borrowed::{DeviceRead, DeviceWrite};
use crate::context::Context;
use crate::nvrtc::BLOCK_SIZE;
use crate::sources::LINATTN;
use cudarc::driver::{CudaView, CudaViewMut, PushKernelArg};
use kernels_core::linattn::{Shape, chunk_len, effective_scale};
use kernels_core::{Error, Result, WorkspaceSize, checked_product};

/// Words at the start of every workspace: the verdicts of the input and output checks.
pub const FLAG_WORDS: usize = 2;

/// Tokens per segment of [`chunk_state`] (the host's block, too).
pub const SEGMENT: usize = 64;

const BLOCK: usize = BLOCK_SIZE as usize;
/// `LA_TILE` in linattn.cu: output rows and columns per block.
const TILE: usize = 64;
const DECAY_NONFINITE: u32 = 1;
const DECAY_RANGE: u32 = 2;
const NONFINITE: u32 = 4;
const BAD_LENS: u32 = 8;
const GATE_RANGE: u32 = 16;

/// How the state decays between tokens: `kernels_core::linattn::Decay` with device
/// buffers.
#[derive(Clone, Copy, Debug, Default)]
pub enum DeviceDecay<'a> {
    /// No decay: plain linear attention.
    #[default]
    None,
    /// A constant decay per head in `(0, 1]`, `[n_heads]`.
    Heads(&'a dyn DeviceRead<f32>),
    /// A log gate per head and token, `g[h][t] <= 0`, `[n_heads][len]`:
    /// `S_t = exp(g_t) S_{t-1} + k_t^T v_t`.
    Gates(&'a dyn DeviceRead<f32>),
}

impl<'a> From<Option<&'a dyn DeviceRead<f32>>> for DeviceDecay<'a> {
    /// `Some(decay)` is a constant decay per head; `None` is no decay.
    fn from(decay: Option<&'a dyn DeviceRead<f32>>) -> Self {
        decay.map_or(DeviceDecay::None, DeviceDecay::Heads)
    }
}

impl DeviceDecay<'_> {
    /// Whether the decay is a gate per token.
    pub fn is_gated(&self) -> bool {
        matches!(self, DeviceDecay::Gates(_))
    }
}

/// How much each chunk of a [`DeviceScan`] decays the state entering it:
/// `kernels_core::linattn::ChunkDecays` with device buffers.
#[derive(Clone, Copy, Debug)]
pub enum DeviceChunkDecays<'a> {
    /// Chunks of a constant (or no) decay per head.
    Lengths {
        /// Tokens in each chunk, in sequence order (the number of chunks is its
        /// length).
        chunk_lens: &'a dyn DeviceRead<u64>,
        /// Per-head decay in `(0, 1]`; `None` = 1.
        decay: Option<&'a dyn DeviceRead<f32>>,
    },
    /// Gated chunks: each chunk's log decay per head, `[n_chunks][n_heads]` values
    /// `<= 0` ([`chunk_state`]'s `log_decay`).
    Logs(&'a dyn DeviceRead<f32>),
}

/// The device inputs of [`forward`]: `kernels_core::linattn::Inputs` with device
/// buffers (any [`DeviceRead`]: `&slice` coerces).
#[derive(Clone, Copy, Debug)]
pub struct DeviceInputs<'a> {
    /// Sizes.
    pub shape: Shape,
    /// Queries, `[n_heads][len][dk]`.
    pub q: &'a dyn DeviceRead<f32>,
    /// Keys, `[n_heads][len][dk]`.
    pub k: &'a dyn DeviceRead<f32>,
    /// Values, `[n_heads][len][dv]`.
    pub v: &'a dyn DeviceRead<f32>,
    /// The decay between tokens: none, a constant per head, or a gate per head and
    /// token.
    pub decay: DeviceDecay<'a>,
    /// Output scale; 0 means `1 / sqrt(dk)`.
    pub scale: f32,
    /// The state before the first token, `[n_heads][dk][dv]`; `None` = zero.
    pub state_in: Option<&'a dyn DeviceRead<f32>>,
}

/// The device inputs of [`state_scan`]: `kernels_core::linattn::Scan` with device
/// buffers (the chunk count is `chunk_lens.len()`, or the log decays' length over
/// `n_heads`).
#[derive(Clone, Copy, Debug)]
pub struct DeviceScan<'a> {
    /// Heads.
    pub n_heads: usize,
    /// Key width.
    pub dk: usize,
    /// Value width.
    pub dv: usize,
    /// The chunks' decays (and so their number).
    pub chunks: DeviceChunkDecays<'a>,
    /// Each chunk's state, `[n_chunks][n_heads][dk][dv]`.
    pub states: &'a dyn DeviceRead<f32>,
}

/// `FLAG_WORDS + states * per_chunk` words, checked.
fn flags_plus(states: usize, shape: Shape) -> Result<usize> {
    checked_product(&[states, shape.state_len()?])?
        .checked_add(FLAG_WORDS)
        .ok_or(Error::Dimension)
}

/// `words + (gated: n_chunks * n_heads)`, checked: the gated chunks' decay factors
/// after the states.
fn plus_factors(words: usize, gated: bool, n_chunks: usize, n_heads: usize) -> Result<usize> {
    if !gated {
        return Ok(words);
    }
    words
        .checked_add(checked_product(&[n_chunks, n_heads])?)
        .ok_or(Error::Dimension)
}

/// The length, in `f32` elements, of the workspace of [`forward`]: the verdicts and
/// the state before every chunk and after the last, `(n_chunks + 1) * n_heads * dk *
/// dv` with `n_chunks = ceil(len / chunk)` (`chunk` 0 = 64), and with `gated` each
/// chunk's decay per head (`n_chunks * n_heads`).
///
/// [`Error::Dimension`] for a zero size or one that overflows.
fn forward_len(shape: Shape, chunk: usize, gated: bool) -> Result<usize> {
    shape.check()?;
    let n_chunks = shape.len.div_ceil(chunk_len(chunk, shape.len));
    plus_factors(
        flags_plus(n_chunks + 1, shape)?,
        gated,
        n_chunks,
        shape.n_heads,
    )
}

/// The length, in `f32` elements, of the workspace of [`chunk_state`]: the verdicts
/// and one state per 64-token segment, `ceil(len / 64) * n_heads * dk * dv`, and with
/// `gated` each segment's decay per head (`ceil(len / 64) * n_heads`).
///
/// [`Error::Dimension`] for a zero size or one that overflows.
fn chunk_state_len(shape: Shape, gated: bool) -> Result<usize> {
    shape.check()?;
    let n_seg = shape.len.div_ceil(SEGMENT);
    plus_factors(flags_plus(n_seg, shape)?, gated, n_seg, shape.n_heads)
}

/// The length, in `f32` elements, of the workspace of [`state_scan`]: the verdicts
/// ([`FLAG_WORDS`]). [`Error::Dimension`] as `state_scan` for the sizes.
fn state_scan_len(n_chunks: usize, n_heads: usize, dk: usize, dv: usize) -> Result<usize> {
    scan_sizes(n_chunks, n_heads, dk, dv)?;
    Ok(FLAG_WORDS)
}

/// The device workspace of [`forward`] without gates: an array of `f32` of the
/// length described at `forward_len` ([`WorkspaceSize::len_of`] gives it). With gates
/// ([`DeviceDecay::Gates`]) it needs [`gated_work_size`]'s. [`Error::Dimension`] for a
/// zero size or one that overflows.
pub fn forward_work_size(shape: Shape, chunk: usize) -> Result<WorkspaceSize> {
    WorkspaceSize::new().array::<f32>(forward_len(shape, chunk, false)?)
}

/// The device workspace of [`forward`] with gates: [`forward_work_size`]'s and each
/// chunk's decay per head (`ceil(len / chunk) * n_heads` values). [`Error::Dimension`]
/// for a zero size or one that overflows.
pub fn gated_work_size(shape: Shape, chunk: usize) -> Result<WorkspaceSize> {
    WorkspaceSize::new().array::<f32>(forward_len(shape, chunk, true)?)
}

/// The device workspace of [`chunk_state`] without gates: an array of `f32` (the
/// verdicts and one state per 64-token segment). With gates it needs
/// [`gated_chunk_state_work_size`]'s. [`Error::Dimension`] for a zero size or one that
/// overflows.
pub fn chunk_state_work_size(shape: Shape) -> Result<WorkspaceSize> {
    WorkspaceSize::new().array::<f32>(chunk_state_len(shape, false)?)
}

/// The device workspace of [`chunk_state`] with gates: [`chunk_state_work_size`]'s and
/// each 64-token segment's decay per head (`ceil(len / 64) * n_heads` values).
/// [`Error::Dimension`] for a zero size or one that overflows.
pub fn gated_chunk_state_work_size(shape: Shape) -> Result<WorkspaceSize> {
    WorkspaceSize::new().array::<f32>(chunk_state_len(shape, true)?)
}

/// The device workspace of [`state_scan`]: an array of `f32` (the verdicts).
/// [`Error::Dimension`] as `state_scan` for the sizes.
pub fn state_scan_work_size(
    n_chunks: usize,
    n_heads: usize,
    dk: usize,
    dv: usize,
) -> Result<WorkspaceSize> {
    WorkspaceSize::new().array::<f32>(state_scan_len(n_chunks, n_heads, dk, dv)?)
}

/// Values per chunk and in all; [`Error::Dimension`] for a zero or overflowing size.
fn scan_sizes(n_chunks: usize, n_heads: usize, dk: usize, dv: usize) -> Result<(usize, usize)> {
    if n_chunks == 0 || n_heads == 0 || dk == 0 || dv == 0 {
        return Err(Error::Dimension);
    }
    let per_chunk = checked_product(&[n_heads, dk, dv])?;
    Ok((per_chunk, checked_product(&[n_chunks, per_chunk])?))
}

fn grid(blocks: usize) -> Result<u32> {
    // The kernels loop over their blocks, so any cap is valid.
    u32::try_from(blocks.clamp(1, 1 << 20)).map_err(|_| Error::Internal)
}

/// A grid for the element-wise kernels (check, scan): enough blocks to fill the device.
fn flat_grid(ctx: &Context, elements: usize) -> Result<u32> {
    let cap = (ctx.multiprocessors() as usize).max(1) * 8;
    grid(elements.div_ceil(BLOCK).min(cap))
}

/// The arrays one check launch looks at.
struct Check<'a> {
    /// Per-head decays, or log gates (or log decays) when `gated`.
    decay: Option<CudaView<'a, f32>>,
    gated: bool,
    arrays: [Option<CudaView<'a, f32>>; 4],
    lens: Option<&'a CudaView<'a, u64>>,
}

/// Launches `la_check_f32` into `verdict` (one word, zeroed here) and returns its bits
/// (copied back: the stream is synchronised). `dummy` is any live buffer, passed for
/// absent arrays with length 0 (not read).
fn check(
    ctx: &Context,
    c: Check<'_>,
    dummy: &CudaView<'_, f32>,
    verdict: &mut CudaViewMut<'_, f32>,
) -> Result<u32> {
    let stream = ctx.stream();
    stream
        .memset_zeros(verdict)
        .map_err(|e| ctx.driver_error("linattn verdict reset", e))?;
    let f = ctx.function(&LINATTN, "la_check_f32")?;
    let none = dummy.slice(0..0);
    let decay = c.decay.unwrap_or_else(|| dummy.slice(0..0));
    let [a, b, cc, d] = c.arrays.map(|x| x.unwrap_or_else(|| dummy.slice(0..0)));
    let lens_len = c.lens.map_or(0, |l| l.len());
    let lengths = [decay.len(), a.len(), b.len(), cc.len(), d.len(), lens_len];
    let biggest = lengths.iter().copied().max().unwrap_or(0);
    let gated = i32::from(c.gated);
    let mut launch = stream.launch_builder(&f);
    launch
        .arg(&decay)
        .arg(&lengths[0])
        .arg(&gated)
        .arg(&a)
        .arg(&lengths[1])
        .arg(&b)
        .arg(&lengths[2])
        .arg(&cc)
        .arg(&lengths[3])
        .arg(&d)
        .arg(&lengths[4]);
    match c.lens {
        Some(l) => launch.arg(l),
        None => launch.arg(&none),
    };
    launch.arg(&lengths[5]).arg(&mut *verdict);
    // SAFETY: la_check_f32(decay[n_decay], gated, a[na], b[nb], c[nc], d[nd],
    // lens[n_lens], verdict[1]): every pointer is a live buffer of at least the length passed with it
    // (absent arrays pass length 0 and are not read); it writes only *verdict.
    unsafe { launch.launch(Context::config(flat_grid(ctx, biggest)?)) }
        .map_err(|e| ctx.driver_error("la_check launch", e))?;
    let host = stream
        .clone_dtoh(&verdict.as_view())
        .map_err(|e| ctx.driver_error("linattn verdict copy", e))?;
    ctx.synchronize()?;
    Ok(host.first().map_or(0, |w| w.to_bits()))
}

/// The decay a launch computes with: a constant per head, or gates with the chunks'
/// decay factors they yield (`[n_chunks][n_heads]`, written by [`chunk_states`]).
#[derive(Clone, Copy)]
enum Launch<'a, 'b> {
    /// A constant per head; `None` = 1.
    Heads(Option<&'a CudaView<'b, f32>>),
    /// Gates, `[n_heads][len]`.
    Gates(&'a CudaView<'b, f32>),
}

/// Launches `la_chunk_states_f32`: `dst[c]` = the state of chunk `c` (of `chunk`
/// tokens) from zero; with gates, `factors[c][h]` = chunk `c`'s decay of head `h`.
#[allow(clippy::too_many_arguments)]
fn chunk_states(
    ctx: &Context,
    shape: Shape,
    chunk: usize,
    n_chunks: usize,
    decay: Launch<'_, '_>,
    factors: Option<&mut CudaViewMut<'_, f32>>,
    k: &CudaView<'_, f32>,
    v: &CudaView<'_, f32>,
    dst: &mut CudaViewMut<'_, f32>,
) -> Result<()> {
    let f = ctx.function(&LINATTN, "la_chunk_states_f32")?;
    let (decay, gates) = match decay {
        Launch::Heads(d) => (d, None),
        Launch::Gates(g) => (None, Some(g)),
    };
    let has_decay = i32::from(decay.is_some());
    let decay = decay.unwrap_or(k);
    let has_gates = i32::from(gates.is_some());
    let gates = gates.unwrap_or(k);
    let has_factors = i32::from(factors.is_some());
    // Absent outputs: a null device pointer (never written).
    let null: u64 = 0;
    let blocks = checked_product(&[
        n_chunks,
        shape.n_heads,
        shape.dk.div_ceil(TILE),
        shape.dv.div_ceil(TILE),
    ])?;
    let mut launch = ctx.stream().launch_builder(&f);
    launch
        .arg(&shape.n_heads)
        .arg(&shape.len)
        .arg(&shape.dk)
        .arg(&shape.dv)
        .arg(&chunk)
        .arg(&n_chunks)
        .arg(decay)
        .arg(&has_decay)
        .arg(gates)
        .arg(&has_gates);
    match factors {
        Some(x) => launch.arg(x),
        None => launch.arg(&null),
    };
    launch.arg(&has_factors).arg(k).arg(v).arg(dst);
    // SAFETY: la_chunk_states_f32(n_heads, len, dk, dv, chunk, n_chunks, decay[n_heads]
    // (read only when has_decay), gates[n_heads*len] (read only when has_gates),
    // factors[n_chunks*n_heads] (written only when has_factors and has_gates),
    // k[n_heads*len*dk], v[n_heads*len*dv], dst[n_chunks*n_heads*dk*dv]): lengths
    // checked by the callers; chunks cover tokens below len only; it writes dst and
    // factors only.
    unsafe { launch.launch(Context::config(grid(blocks)?)) }
        .map_err(|e| ctx.driver_error("la_chunk_states launch", e))?;
    Ok(())
}

/// How a scan gets its chunk lengths.
enum Lens<'a> {
    /// All `uniform` tokens but the last step, `last`.
    Uniform { uniform: usize, last: usize },
    /// One per step, in device memory.
    Device(&'a CudaView<'a, u64>),
}

/// The factor by which each step of a scan decays the running state.
#[derive(Clone, Copy)]
enum Steps<'a, 'b> {
    /// `g^(len_c)` from the decay and the chunk lengths.
    Powers,
    /// `factors[c][h]` (the gated chunks' factors from [`chunk_states`]).
    Factors(&'a CudaView<'b, f32>),
    /// `exp(logs[c][h])` (log decays, exponentiated in `f64` and flushed).
    Logs(&'a CudaView<'b, f32>),
}

/// Where a scan reads and writes.
struct ScanIo<'a, 'b> {
    /// The chunk states, `[n_steps][per_chunk]`; `None`: they are `prefix[1..]` (the
    /// forward pass scans in place).
    src: Option<&'a CudaView<'b, f32>>,
    /// `[n_steps + 1][per_chunk]` prefixes.
    prefix: Option<&'a mut CudaViewMut<'b, f32>>,
    /// The final state, `[per_chunk]`.
    last: Option<&'a mut CudaViewMut<'b, f32>>,
}

/// Launches `la_scan_f32` over `n_steps` chunk states, each decaying the running
/// state by `steps` (with [`Steps::Powers`], `decay` to the chunk lengths `lens`).
/// `dummy` is any live buffer, passed for absent arrays (not touched).
#[allow(clippy::too_many_arguments)]
fn scan(
    ctx: &Context,
    n_steps: usize,
    per_chunk: usize,
    per_head: usize,
    decay: Option<&CudaView<'_, f32>>,
    lens: Lens<'_>,
    steps: Steps<'_, '_>,
    init: Option<&CudaView<'_, f32>>,
    io: ScanIo<'_, '_>,
    dummy: &CudaView<'_, f32>,
) -> Result<()> {
    let f = ctx.function(&LINATTN, "la_scan_f32")?;
    let none = dummy.slice(0..0);
    let has_decay = i32::from(decay.is_some());
    let decay = decay.map_or_else(|| dummy.slice(0..0), |d| d.slice(..));
    let has_init = i32::from(init.is_some());
    let init = init.map_or_else(|| dummy.slice(0..0), |d| d.slice(..));
    let (steps, step_kind) = match steps {
        Steps::Powers => (dummy.slice(0..0), 0i32),
        Steps::Factors(x) => (x.slice(..), 1),
        Steps::Logs(x) => (x.slice(..), 2),
    };
    let (lens_buf, has_lens, uniform, last) = match lens {
        Lens::Uniform { uniform, last } => (None, 0i32, uniform, last),
        Lens::Device(l) => (Some(l), 1i32, 0, 0),
    };
    let src_in_prefix = i32::from(io.src.is_none());
    let has_prefix = i32::from(io.prefix.is_some());
    let has_final = i32::from(io.last.is_some());
    // Absent outputs: a null device pointer (never written).
    let null: u64 = 0;
    let mut launch = ctx.stream().launch_builder(&f);
    launch
        .arg(&n_steps)
        .arg(&per_chunk)
        .arg(&per_head)
        .arg(&decay)
        .arg(&has_decay);
    match lens_buf {
        Some(l) => launch.arg(l),
        None => launch.arg(&none),
    };
    launch
        .arg(&has_lens)
        .arg(&uniform)
        .arg(&last)
        .arg(&steps)
        .arg(&step_kind)
        .arg(&init)
        .arg(&has_init);
    match io.src {
        Some(s) => launch.arg(s),
        None => launch.arg(&none),
    };
    launch.arg(&src_in_prefix);
    match io.prefix {
        Some(p) => launch.arg(p),
        None => launch.arg(&null),
    };
    launch.arg(&has_prefix);
    match io.last {
        Some(p) => launch.arg(p),
        None => launch.arg(&null),
    };
    launch.arg(&has_final);
    // SAFETY: la_scan_f32 reads decay[per_chunk / per_head] (has_decay), lens[n_steps]
    // (has_lens), steps[n_steps * (per_chunk / per_head)] (step_kind 1 or 2), init[per_chunk] (has_init), the states (src[n_steps * per_chunk], or
    // prefix[per_chunk..] with src_in_prefix); writes prefix[(n_steps + 1) * per_chunk]
    // (has_prefix) and final[per_chunk] (has_final): lengths checked by the callers;
    // absent arrays are not touched.
    unsafe { launch.launch(Context::config(flat_grid(ctx, per_chunk)?)) }
        .map_err(|e| ctx.driver_error("la_scan launch", e))?;
    Ok(())
}

/// Causal linear attention, chunk by chunk: `kernels_core::linattn::forward` on device
/// buffers. Writes `out` (`[n_heads][len][dv]`) and, if given, `state_out` (`S_len`).
/// `chunk` 0 means 64; a chunk longer than the sequence is the whole sequence. `work`
/// holds at least [`forward_work_size`] elements ([`gated_work_size`] with gates).
///
/// Errors, with nothing but `work` written: [`Error::Dimension`] (a zero size, lengths
/// that disagree), [`Error::Workspace`], [`Error::NonFinite`] (NaN or infinity in an
/// input, the decay, a gate or the scale), [`Error::Argument`] (a decay outside
/// `(0, 1]`, a positive gate, a buffer of another context). After [`Error::Numerical`] (a value overflowed) `out`
/// and `state_out` hold the computed values. Synchronises the context's stream.
pub fn forward(
    ctx: &Context,
    inp: &DeviceInputs<'_>,
    chunk: usize,
    out: &mut impl DeviceWrite<f32>,
    state_out: Option<&mut dyn DeviceWrite<f32>>,
    work: &mut impl DeviceWrite<f32>,
) -> Result<()> {
    let shape = inp.shape;
    let (q, k, v) = (inp.q.view(), inp.k.view(), inp.v.view());
    let gated = inp.decay.is_gated();
    let decay = match inp.decay {
        DeviceDecay::None => None,
        DeviceDecay::Heads(d) | DeviceDecay::Gates(d) => Some(d.view()),
    };
    let decay_len = if gated {
        checked_product(&[shape.n_heads, shape.len])?
    } else {
        shape.n_heads
    };
    let state_in = inp.state_in.map(|s| s.view());
    let (mut out, mut work) = (out.view_mut(), work.view_mut());
    let mut state_out = state_out.map(|s| s.view_mut());
    shape.check()?;
    let (qk, vl, sl) = (shape.qk_len()?, shape.v_len()?, shape.state_len()?);
    let lengths_ok = q.len() == qk
        && k.len() == qk
        && v.len() == vl
        && out.len() == vl
        && state_in.as_ref().is_none_or(|x| x.len() == sl)
        && state_out.as_ref().is_none_or(|x| x.len() == sl)
        && decay.as_ref().is_none_or(|d| d.len() == decay_len);
    if !lengths_ok {
        return Err(Error::Dimension);
    }
    let needed = forward_len(shape, chunk, gated)?;
    if work.len() < needed {
        return Err(Error::Workspace);
    }
    for s in [&q, &k, &v, &out.as_view(), &work.as_view()] {
        ctx.check_slice(s)?;
    }
    let state_out_view = state_out.as_ref().map(|s| s.as_view());
    for s in [decay.as_ref(), state_in.as_ref(), state_out_view.as_ref()]
        .into_iter()
        .flatten()
    {
        ctx.check_slice(s)?;
    }
    let l = chunk_len(chunk, shape.len);
    let n_chunks = shape.len.div_ceil(l);
    let (mut flags, mut rest) = work.split_at_mut(FLAG_WORDS);
    let (mut states, mut factors) = rest.split_at_mut((n_chunks + 1) * sl);
    let mut factors = factors.slice_mut(0..needed - FLAG_WORDS - (n_chunks + 1) * sl);
    let (mut pre, mut post) = flags.split_at_mut(1);

    // 1. The values, read only.
    let verdict = check(
        ctx,
        Check {
            decay: decay.as_ref().map(|d| d.slice(..)),
            gated,
            arrays: [
                Some(q.slice(..)),
                Some(k.slice(..)),
                Some(v.slice(..)),
                state_in.as_ref().map(|s| s.slice(..)),
            ],
            lens: None,
        },
        &q,
        &mut pre,
    )?;
    if verdict & DECAY_NONFINITE != 0 {
        return Err(Error::NonFinite);
    }
    if verdict & (DECAY_RANGE | GATE_RANGE) != 0 {
        return Err(Error::Argument);
    }
    let scale = effective_scale(inp.scale, shape.dk)?;
    if verdict & NONFINITE != 0 {
        return Err(Error::NonFinite);
    }

    // 2. Chunk states into states[1..] (and, gated, the chunks' factors), the scan in
    // place, the outputs.
    let last = shape.len - (n_chunks - 1) * l;
    let launch = match (&decay, gated) {
        (Some(g), true) => Launch::Gates(g),
        (d, _) => Launch::Heads(d.as_ref()),
    };
    {
        let mut own = states.slice_mut(sl..);
        let factors = gated.then_some(&mut factors);
        chunk_states(ctx, shape, l, n_chunks, launch, factors, &k, &v, &mut own)?;
    }
    {
        let factors = factors.as_view();
        let (heads, steps) = match launch {
            Launch::Heads(d) => (d, Steps::Powers),
            Launch::Gates(_) => (None, Steps::Factors(&factors)),
        };
        scan(
            ctx,
            n_chunks,
            sl,
            shape.dk * shape.dv,
            heads,
            Lens::Uniform { uniform: l, last },
            steps,
            state_in.as_ref(),
            ScanIo {
                src: None,
                prefix: Some(&mut states),
                last: state_out.as_mut(),
            },
            &q,
        )?;
    }
    {
        let f = ctx.function(&LINATTN, "la_output_f32")?;
        let tiles_per_chunk = l.div_ceil(TILE);
        let blocks = checked_product(&[
            n_chunks,
            tiles_per_chunk,
            shape.n_heads,
            shape.dv.div_ceil(TILE),
        ])?;
        let (heads, gates) = match launch {
            Launch::Heads(d) => (d, None),
            Launch::Gates(g) => (None, Some(g)),
        };
        let has_decay = i32::from(heads.is_some());
        let heads = heads.unwrap_or(&q);
        let has_gates = i32::from(gates.is_some());
        let gates = gates.unwrap_or(&q);
        let has_init = i32::from(state_in.is_some());
        let states = states.as_view();
        let mut launch = ctx.stream().launch_builder(&f);
        launch
            .arg(&shape.n_heads)
            .arg(&shape.len)
            .arg(&shape.dk)
            .arg(&shape.dv)
            .arg(&l)
            .arg(&n_chunks)
            .arg(&tiles_per_chunk)
            .arg(heads)
            .arg(&has_decay)
            .arg(gates)
            .arg(&has_gates)
            .arg(&scale)
            .arg(&has_init)
            .arg(&q)
            .arg(&k)
            .arg(&v)
            .arg(&states)
            .arg(&mut out);
        // SAFETY: la_output_f32 reads q, k (n_heads*len*dk), v (n_heads*len*dv), decay
        // (n_heads, has_decay), gates (n_heads*len, has_gates), states[c][h] for c < n_chunks (the workspace holds n_chunks + 1);
        // writes out[n_heads*len*dv] (checked), rows below len only.
        unsafe { launch.launch(Context::config(grid(blocks)?)) }
            .map_err(|e| ctx.driver_error("la_output launch", e))?;
    }

    // 3. Overflow: the outputs and every head's final state.
    let finals = states.slice(n_chunks * sl..(n_chunks + 1) * sl);
    let verdict = check(
        ctx,
        Check {
            decay: None,
            gated: false,
            arrays: [Some(out.as_view()), Some(finals), None, None],
            lens: None,
        },
        &q,
        &mut post,
    )?;
    if verdict & NONFINITE != 0 {
        return Err(Error::Numerical);
    }
    Ok(())
}

/// Maps the input check's decay and value bits to the host's errors, in its order.
fn value_error(verdict: u32) -> Result<()> {
    if verdict & DECAY_NONFINITE != 0 {
        return Err(Error::NonFinite);
    }
    if verdict & (DECAY_RANGE | GATE_RANGE) != 0 {
        return Err(Error::Argument);
    }
    if verdict & NONFINITE != 0 {
        return Err(Error::NonFinite);
    }
    Ok(())
}

/// Launches `la_log_totals_f32`: `logs[h]` = the log of head `h`'s decay over `len`
/// tokens (0, `len ln g`, or the sum of the gates in `f64`), rounded once.
fn log_totals(
    ctx: &Context,
    shape: Shape,
    decay: Option<&CudaView<'_, f32>>,
    gated: bool,
    logs: &mut CudaViewMut<'_, f32>,
) -> Result<()> {
    let f = ctx.function(&LINATTN, "la_log_totals_f32")?;
    let kind: i32 = match (decay.is_some(), gated) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    };
    // Absent decay: a null device pointer (never read).
    let null: u64 = 0;
    let mut launch = ctx.stream().launch_builder(&f);
    launch.arg(&shape.n_heads).arg(&shape.len);
    match decay {
        Some(d) => launch.arg(d),
        None => launch.arg(&null),
    };
    launch.arg(&kind).arg(logs);
    // SAFETY: la_log_totals_f32(n_heads, len, decay, kind, logs[n_heads]) reads decay
    // [n_heads] (kind 1) or [n_heads*len] (kind 2), checked by the caller, and nothing
    // with kind 0; it writes logs[h] for h < n_heads only.
    unsafe { launch.launch(Context::config(grid(shape.n_heads)?)) }
        .map_err(|e| ctx.driver_error("la_log_totals launch", e))?;
    Ok(())
}

/// A chunk's own state from `S_0 = 0`, `sum_t a_(t+1..len) k_t^T v_t` with
/// `a_(t+1..len)` the decay after token `t` (`g^(len-1-t)`, or the exponential of the
/// gates after `t`), written to `state` (`[n_heads][dk][dv]`):
/// `kernels_core::linattn::chunk_state` on device buffers, computed as the states of
/// 64-token segments (in `work`, at least [`chunk_state_work_size`] elements,
/// [`gated_chunk_state_work_size`] with gates) scanned into the last. `log_decay`
/// (`[n_heads]`), if given, receives the log of each head's decay over the whole chunk
/// (`len ln g`, or the sum of the gates in `f64`, rounded once), which [`state_scan`]
/// needs for gated chunks.
///
/// Errors, with nothing but `work` written: [`Error::Dimension`], [`Error::Workspace`],
/// [`Error::NonFinite`], [`Error::Argument`] (decay outside `(0, 1]`, a positive gate,
/// a buffer of another context); [`Error::Numerical`] if a value overflowed (then
/// `state` holds it, and `log_decay` its values). Synchronises the context's stream.
#[allow(clippy::too_many_arguments)]
pub fn chunk_state(
    ctx: &Context,
    shape: Shape,
    k: &impl DeviceRead<f32>,
    v: &impl DeviceRead<f32>,
    decay: DeviceDecay<'_>,
    state: &mut impl DeviceWrite<f32>,
    log_decay: Option<&mut dyn DeviceWrite<f32>>,
    work: &mut impl DeviceWrite<f32>,
) -> Result<()> {
    let (k, v) = (k.view(), v.view());
    let gated = decay.is_gated();
    let decay = match decay {
        DeviceDecay::None => None,
        DeviceDecay::Heads(d) | DeviceDecay::Gates(d) => Some(d.view()),
    };
    let (mut state, mut work) = (state.view_mut(), work.view_mut());
    let mut log_decay = log_decay.map(|l| l.view_mut());
    let decay = decay.as_ref();
    shape.check()?;
    let sl = shape.state_len()?;
    let decay_len = if gated {
        checked_product(&[shape.n_heads, shape.len])?
    } else {
        shape.n_heads
    };
    if k.len() != shape.qk_len()?
        || v.len() != shape.v_len()?
        || state.len() != sl
        || decay.is_some_and(|d| d.len() != decay_len)
        || log_decay.as_ref().is_some_and(|l| l.len() != shape.n_heads)
    {
        return Err(Error::Dimension);
    }
    let needed = chunk_state_len(shape, gated)?;
    if work.len() < needed {
        return Err(Error::Workspace);
    }
    for s in [&k, &v, &state.as_view(), &work.as_view()]
        .into_iter()
        .chain(decay)
    {
        ctx.check_slice(s)?;
    }
    if let Some(l) = log_decay.as_ref() {
        ctx.check_slice(&l.as_view())?;
    }
    let n_seg = shape.len.div_ceil(SEGMENT);
    let (mut flags, mut rest) = work.split_at_mut(FLAG_WORDS);
    let (mut segs, mut factors) = rest.split_at_mut(n_seg * sl);
    let mut factors = factors.slice_mut(0..needed - FLAG_WORDS - n_seg * sl);
    let (mut pre, mut post) = flags.split_at_mut(1);
    let verdict = check(
        ctx,
        Check {
            decay: decay.map(|d| d.slice(..)),
            gated,
            arrays: [Some(k.slice(..)), Some(v.slice(..)), None, None],
            lens: None,
        },
        &k,
        &mut pre,
    )?;
    value_error(verdict)?;

    let last = shape.len - (n_seg - 1) * SEGMENT;
    let launch = match (decay, gated) {
        (Some(g), true) => Launch::Gates(g),
        (d, _) => Launch::Heads(d),
    };
    {
        let factors = gated.then_some(&mut factors);
        chunk_states(
            ctx, shape, SEGMENT, n_seg, launch, factors, &k, &v, &mut segs,
        )?;
    }
    {
        let src = segs.as_view();
        let factors = factors.as_view();
        let (heads, steps) = match launch {
            Launch::Heads(d) => (d, Steps::Powers),
            Launch::Gates(_) => (None, Steps::Factors(&factors)),
        };
        let mut out = state.slice_mut(..);
        scan(
            ctx,
            n_seg,
            sl,
            shape.dk * shape.dv,
            heads,
            Lens::Uniform {
                uniform: SEGMENT,
                last,
            },
            steps,
            None,
            ScanIo {
                src: Some(&src),
                prefix: None,
                last: Some(&mut out),
            },
            &k,
        )?;
    }
    if let Some(l) = log_decay.as_mut() {
        log_totals(ctx, shape, decay, gated, l)?;
    }
    let verdict = check(
        ctx,
        Check {
            decay: None,
            gated: false,
            arrays: [Some(state.as_view()), None, None, None],
            lens: None,
        },
        &k,
        &mut post,
    )?;
    if verdict & NONFINITE != 0 {
        return Err(Error::Numerical);
    }
    Ok(())
}

/// The LASP-2 exclusive prefix over chunk states: `prefix[0] = 0`,
/// `prefix[c + 1] = a_c prefix[c] + states[c]` with `a_c` chunk `c`'s decay
/// (`g^(len_c)` from [`DeviceChunkDecays::Lengths`], or `exp(logs[c][h])` from
/// [`DeviceChunkDecays::Logs`], in `f64`, rounded once and flushed), that is
/// `kernels_core::linattn::state_scan` on device buffers (`chunk_lens` too). `work`
/// holds at least [`state_scan_work_size`] elements.
///
/// Errors, with nothing but `work` written: [`Error::Dimension`] (no chunks, a zero
/// size or chunk length, chunk lengths whose sum overflows, log decays that are not
/// `[n_chunks][n_heads]`, lengths that disagree), [`Error::Workspace`],
/// [`Error::NonFinite`], [`Error::Argument`] (decay outside `(0, 1]`, a positive log
/// decay, a buffer of another context); [`Error::Numerical`] if a sum overflowed (then
/// `prefix` holds it). Synchronises the context's stream.
pub fn state_scan(
    ctx: &Context,
    scan_in: &DeviceScan<'_>,
    prefix: &mut impl DeviceWrite<f32>,
    work: &mut impl DeviceWrite<f32>,
) -> Result<()> {
    let states = scan_in.states.view();
    let (lens, decay, logs) = match scan_in.chunks {
        DeviceChunkDecays::Lengths { chunk_lens, decay } => {
            (Some(chunk_lens.view()), decay.map(|d| d.view()), None)
        }
        DeviceChunkDecays::Logs(l) => (None, None, Some(l.view())),
    };
    let (decay, logs) = (decay.as_ref(), logs.as_ref());
    let (mut prefix, mut work) = (prefix.view_mut(), work.view_mut());
    let n_heads = scan_in.n_heads;
    let n_chunks = match (&lens, logs) {
        (Some(l), _) => l.len(),
        (None, Some(g)) => {
            if n_heads == 0 || g.len() % n_heads != 0 {
                return Err(Error::Dimension);
            }
            g.len() / n_heads
        }
        (None, None) => return Err(Error::Internal),
    };
    let (per_chunk, total) = scan_sizes(n_chunks, n_heads, scan_in.dk, scan_in.dv)?;
    if states.len() != total || prefix.len() != total || decay.is_some_and(|d| d.len() != n_heads) {
        return Err(Error::Dimension);
    }
    if work.len() < state_scan_len(n_chunks, n_heads, scan_in.dk, scan_in.dv)? {
        return Err(Error::Workspace);
    }
    if let Some(l) = lens.as_ref() {
        ctx.check_slice(l)?;
    }
    for s in [&states, &prefix.as_view(), &work.as_view()]
        .into_iter()
        .chain(decay)
        .chain(logs)
    {
        ctx.check_slice(s)?;
    }
    let (mut pre, mut rest) = work.split_at_mut(1);
    let mut post = rest.slice_mut(0..1);
    let verdict = check(
        ctx,
        Check {
            decay: decay.or(logs).map(|d| d.slice(..)),
            gated: logs.is_some(),
            arrays: [Some(states.slice(..)), None, None, None],
            lens: lens.as_ref(),
        },
        &states,
        &mut pre,
    )?;
    // The host checks the chunk lengths before the decay.
    if verdict & BAD_LENS != 0 {
        return Err(Error::Dimension);
    }
    value_error(verdict)?;
    {
        let src = states.slice(..);
        let mut out = prefix.slice_mut(..);
        let (lens_arg, steps) = match (&lens, logs) {
            (Some(l), _) => (Lens::Device(l), Steps::Powers),
            (None, Some(g)) => (
                Lens::Uniform {
                    uniform: 0,
                    last: 0,
                },
                Steps::Logs(g),
            ),
            (None, None) => return Err(Error::Internal),
        };
        scan(
            ctx,
            n_chunks - 1,
            per_chunk,
            scan_in.dk * scan_in.dv,
            decay,
            lens_arg,
            steps,
            None,
            ScanIo {
                src: Some(&src),
                prefix: Some(&mut out),
                last: None,
            },
            &states,
        )?;
    }
    let verdict = check(
        ctx,
        Check {
            decay: None,
            gated: false,
            arrays: [Some(prefix.as_view()), None, None, None],
            lens: None,
        },
        &states,
        &mut post,
    )?;
    if verdict & NONFINITE != 0 {
        return Err(Error::Numerical);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_names_exist_in_the_source() {
        for name in [
            "la_check_f32",
            "la_chunk_states_f32",
            "la_scan_f32",
            "la_output_f32",
            "la_log_totals_f32",
        ] {
            assert!(LINATTN.has_kernel(name));
        }
        assert!(LINATTN.text.contains(&format!("#define LA_TILE {TILE} ")));
        for (name, bit) in [
            ("LA_DECAY_NONFINITE", DECAY_NONFINITE),
            ("LA_DECAY_RANGE", DECAY_RANGE),
            ("LA_NONFINITE", NONFINITE),
            ("LA_BAD_LENS", BAD_LENS),
            ("LA_GATE_RANGE", GATE_RANGE),
        ] {
            assert!(LINATTN.text.contains(&format!("#define {name} {bit}u")));
        }
    }

    #[test]
    fn workspace_lengths() {
        let shape = Shape {
            n_heads: 3,
            len: 130,
            dk: 5,
            dv: 7,
        };
        // 130 tokens in chunks of 64: 3 chunks, 4 states.
        assert_eq!(forward_len(shape, 0, false), Ok(2 + 4 * 105));
        assert_eq!(forward_len(shape, 100, false), Ok(2 + 3 * 105));
        // A chunk longer than the sequence: one chunk.
        assert_eq!(forward_len(shape, 1000, false), Ok(2 + 2 * 105));
        assert_eq!(chunk_state_len(shape, false), Ok(2 + 3 * 105));
        assert_eq!(state_scan_len(4, 3, 5, 7), Ok(FLAG_WORDS));
        // Gated: the chunks' (segments') decay per head after the states.
        assert_eq!(forward_len(shape, 0, true), Ok(2 + 4 * 105 + 3 * 3));
        assert_eq!(forward_len(shape, 1000, true), Ok(2 + 2 * 105 + 3));
        assert_eq!(chunk_state_len(shape, true), Ok(2 + 3 * 105 + 3 * 3));
        assert_eq!(
            gated_work_size(shape, 0).map(|w| w.len_of::<f32>()),
            Ok(2 + 4 * 105 + 3 * 3)
        );
        assert_eq!(state_scan_len(0, 3, 5, 7), Err(Error::Dimension));
        let zero = Shape { dk: 0, ..shape };
        assert_eq!(forward_len(zero, 0, false), Err(Error::Dimension));
        assert_eq!(chunk_state_len(zero, false), Err(Error::Dimension));
        assert_eq!(forward_len(zero, 0, true), Err(Error::Dimension));
        assert_eq!(chunk_state_len(zero, true), Err(Error::Dimension));
        let huge = Shape {
            n_heads: usize::MAX / 2,
            len: 1,
            dk: 2,
            dv: 1,
        };
        assert_eq!(forward_len(huge, 0, false), Err(Error::Dimension));
        assert_eq!(state_scan_len(usize::MAX, 2, 1, 1), Err(Error::Dimension));
    }
}
