//! The H2O decode step on a KV cache in device memory (kernels in `src/cuda/h2o.cu`).
//!
//! [`decode`] computes what the host `kernels_core::h2o::decode` computes, with the
//! same eviction rule, the same checks and the same errors; the results agree to
//! rounding (different summation orders), not bit for bit. The cache's sizes and
//! counters (`len`, `next_pos`) live on the host in [`DeviceH2oCache`]; its K, V,
//! score and position arrays are device buffers in the host layout.
//!
//! A step is synchronous: a read-only check (finiteness of the new token and query,
//! stored positions, the slot the token takes; a pass over chunks of slots and a
//! reduction per kv head) reports back before anything is written, then four launches
//! (insertion of the token, tiles, combine, scores), then the per-head failure flags
//! come back so that [`Error::Numerical`] can be returned as the host does (the token
//! is in, `out` unspecified, no score changed). [`decode_timed`] is the same step with
//! CUDA event times per kernel.

use crate::borrowed::{DeviceRead, DeviceWrite};
use crate::context::Context;
use crate::nvrtc::BLOCK_SIZE;
use crate::sources::H2O;
use cudarc::driver::{CudaEvent, CudaView, PushKernelArg, sys as cu};
use kernels_core::h2o::{self as core_h2o, H2oCache, H2oOpts};
use kernels_core::{Error, Result, WorkspaceSize, checked_product};

/// Slots per block of the tile pass (`H2O_TILE` in h2o.cu).
pub const DECODE_TILE: usize = 64;
/// Slots per block of the check pass (`H2O_CHECK_CHUNK` in h2o.cu).
const CHECK_CHUNK: usize = 1024;
/// Words of one (kv head, chunk) record of the check pass (`H2O_CHECK_WORDS`).
const CHECK_WORDS: usize = 8;
/// Output columns per block of the combine pass (`H2O_COLS`).
const COMBINE_COLS: usize = 32;

const BLOCK: usize = BLOCK_SIZE as usize;
const NONFINITE: u32 = 1;
const BAD_POS: u32 = 2;
const NO_VICTIM: u32 = 4;

/// An H2O cache whose arrays are device buffers: the device form of the C
/// `kn_h2o_cache` (same fields, same layout, same rules; see `kernels_core::h2o`).
/// The arrays are any [`DeviceWrite`] buffers (`&mut slice` coerces).
#[derive(Debug)]
pub struct DeviceH2oCache<'a> {
    /// Number of kv heads.
    pub n_kv_heads: usize,
    /// Head dimension.
    pub d: usize,
    /// Attention sinks per kv head.
    pub sink: usize,
    /// Heavy-hitter slots per kv head.
    pub heavy: usize,
    /// Recent-window slots per kv head.
    pub recent: usize,
    /// Slots in use per kv head.
    pub len: usize,
    /// Position of the next token.
    pub next_pos: u64,
    /// Keys, `[n_kv_heads][budget][d]`.
    pub k: &'a mut dyn DeviceWrite<f32>,
    /// Values, `[n_kv_heads][budget][d]`.
    pub v: &'a mut dyn DeviceWrite<f32>,
    /// Accumulated scores, `[n_kv_heads][budget]`.
    pub score: &'a mut dyn DeviceWrite<f32>,
    /// Token position per slot, `[n_kv_heads][budget]`.
    pub pos: &'a mut dyn DeviceWrite<u64>,
}

/// Word offsets of the decode workspace (32-bit words, handed to the kernels as
/// `f32` or `unsigned` arrays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    slots: usize,
    verdict: usize,
    bad: usize,
    stats: usize,
    logits: usize,
    part_m: usize,
    part_s: usize,
    part_o: usize,
    checks: usize,
    total: usize,
}

fn layout(n_kv: usize, d: usize, budget: usize, n_heads: usize) -> Result<Layout> {
    let tiles = budget.div_ceil(DECODE_TILE);
    let sizes = [
        checked_product(&[2, n_kv])?,
        n_kv,
        n_heads,
        checked_product(&[2, n_heads])?,
        checked_product(&[n_heads, budget])?,
        checked_product(&[n_heads, tiles])?,
        checked_product(&[n_heads, tiles])?,
        checked_product(&[n_heads, tiles, d])?,
        checked_product(&[CHECK_WORDS, n_kv, budget.div_ceil(CHECK_CHUNK)])?,
    ];
    let mut offsets = [0usize; 10];
    for (i, s) in sizes.iter().enumerate() {
        offsets[i + 1] = offsets[i].checked_add(*s).ok_or(Error::Dimension)?;
    }
    Ok(Layout {
        slots: offsets[0],
        verdict: offsets[1],
        bad: offsets[2],
        stats: offsets[3],
        logits: offsets[4],
        part_m: offsets[5],
        part_s: offsets[6],
        part_o: offsets[7],
        checks: offsets[8],
        total: offsets[9],
    })
}

/// Checks the cache struct as the host does (sizes, budget, `len`, buffer lengths);
/// returns the budget.
fn check_cache(c: &DeviceH2oCache<'_>) -> Result<usize> {
    let (rows, values) = H2oCache::lengths(c.n_kv_heads, c.d, c.sink, c.heavy, c.recent)?;
    let budget = rows / c.n_kv_heads;
    if c.k.view().len() != values
        || c.v.view().len() != values
        || c.score.view().len() != rows
        || c.pos.view().len() != rows
    {
        return Err(Error::Dimension);
    }
    if c.len > budget || (c.len as u64) > c.next_pos {
        return Err(Error::Argument);
    }
    Ok(budget)
}

/// The device workspace [`decode`] needs for a cache of `n_kv_heads`, `d`, `budget`
/// slots per kv head and `n_heads` query heads: an array of `f32`
/// ([`WorkspaceSize::len_of`] gives its length).
///
/// [`Error::Dimension`] when a count or `d` is 0, `n_heads % n_kv_heads != 0` or the
/// size overflows.
pub fn decode_work_size(
    n_kv_heads: usize,
    d: usize,
    budget: usize,
    n_heads: usize,
) -> Result<WorkspaceSize> {
    core_h2o::decode_work_size(n_kv_heads, d, budget, n_heads)?;
    WorkspaceSize::new().array::<f32>(layout(n_kv_heads, d, budget, n_heads)?.total)
}

fn grid(blocks: usize) -> Result<u32> {
    // The kernels loop over their blocks, so any cap is valid; 2^20 blocks is far
    // beyond what runs at once.
    u32::try_from(blocks.clamp(1, 1 << 20)).map_err(|_| Error::Internal)
}

/// Copies 32-bit flag words back to the host (waiting for the stream).
fn words(ctx: &Context, flags: &CudaView<'_, f32>) -> Result<Vec<u32>> {
    let host = ctx
        .stream()
        .clone_dtoh(flags)
        .map_err(|e| ctx.driver_error("h2o verdict copy", e))?;
    ctx.synchronize()?;
    Ok(host.into_iter().map(f32::to_bits).collect())
}

/// Device time of each kernel of one [`decode_timed`] step, in milliseconds (CUDA
/// events recorded around each launch on the context's stream).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DecodeTimes {
    /// The read-only check: the pass over chunks of slots and the per-head reduction.
    pub check_ms: f32,
    /// Writing the new token into its slot.
    pub insert_ms: f32,
    /// The tile pass (logits, tile softmax statistics, exp-weighted sums of V).
    pub partial_ms: f32,
    /// Merging the tiles into the outputs.
    pub combine_ms: f32,
    /// Adding this step's probabilities to the scores.
    pub scores_ms: f32,
}

/// Records events on the stream when timing is asked for.
struct Marks<'c> {
    ctx: &'c Context,
    events: Option<Vec<CudaEvent>>,
}

impl Marks<'_> {
    fn mark(&mut self) -> Result<()> {
        let Some(events) = self.events.as_mut() else {
            return Ok(());
        };
        let event = self
            .ctx
            .stream()
            .record_event(Some(cu::CUevent_flags::CU_EVENT_DEFAULT))
            .map_err(|e| self.ctx.driver_error("h2o timing event", e))?;
        events.push(event);
        Ok(())
    }

    /// Milliseconds between consecutive marks.
    fn spans(&self) -> Result<Vec<f32>> {
        let Some(events) = self.events.as_ref() else {
            return Ok(Vec::new());
        };
        events
            .windows(2)
            .map(|w| {
                w[0].elapsed_ms(&w[1])
                    .map_err(|e| self.ctx.driver_error("h2o timing event", e))
            })
            .collect()
    }
}

/// One decode step (see `kernels_core::h2o::decode`): inserts the token (`k_new`,
/// `v_new`: `[n_kv_heads][d]`), attends each query head (`q`, `out`: `[n_heads][d]`),
/// adds this step's probabilities to the scores, then advances `cache.len` and
/// `cache.next_pos`. `scale` 0 means `1 / sqrt(d)`. `work` holds at least
/// [`decode_work_size`] elements.
///
/// Errors, before anything but `work` is written: [`Error::Dimension`],
/// [`Error::Argument`] (corrupt cache, non-finite scale, `next_pos` at its maximum,
/// a buffer of another context), [`Error::NonFinite`] (q, k_new, v_new),
/// [`Error::Workspace`]. [`Error::Numerical`]: the token was inserted, `out` holds
/// unspecified values, no score changed. Synchronises the context's stream.
#[allow(clippy::too_many_arguments)]
pub fn decode(
    ctx: &Context,
    cache: &mut DeviceH2oCache<'_>,
    n_heads: usize,
    q: &impl DeviceRead<f32>,
    k_new: &impl DeviceRead<f32>,
    v_new: &impl DeviceRead<f32>,
    scale: f32,
    out: &mut impl DeviceWrite<f32>,
    work: &mut impl DeviceWrite<f32>,
) -> Result<()> {
    step(ctx, cache, n_heads, q, k_new, v_new, scale, out, work, None)
}

/// [`decode`], with the device time of each kernel (CUDA events on the stream, which
/// cost a little: for measurements, not production). The times are those of a step
/// that completed; on an error no times are returned.
#[allow(clippy::too_many_arguments)]
pub fn decode_timed(
    ctx: &Context,
    cache: &mut DeviceH2oCache<'_>,
    n_heads: usize,
    q: &impl DeviceRead<f32>,
    k_new: &impl DeviceRead<f32>,
    v_new: &impl DeviceRead<f32>,
    scale: f32,
    out: &mut impl DeviceWrite<f32>,
    work: &mut impl DeviceWrite<f32>,
) -> Result<DecodeTimes> {
    let mut times = DecodeTimes::default();
    step(
        ctx,
        cache,
        n_heads,
        q,
        k_new,
        v_new,
        scale,
        out,
        work,
        Some(&mut times),
    )?;
    Ok(times)
}

#[allow(clippy::too_many_arguments)]
fn step(
    ctx: &Context,
    cache: &mut DeviceH2oCache<'_>,
    n_heads: usize,
    q: &impl DeviceRead<f32>,
    k_new: &impl DeviceRead<f32>,
    v_new: &impl DeviceRead<f32>,
    scale: f32,
    out: &mut impl DeviceWrite<f32>,
    work: &mut impl DeviceWrite<f32>,
    times: Option<&mut DecodeTimes>,
) -> Result<()> {
    let mut marks = Marks {
        ctx,
        events: times.is_some().then(|| Vec::with_capacity(7)),
    };
    let (q, k_new, v_new) = (&q.view(), &k_new.view(), &v_new.view());
    let (out, work) = (&mut out.view_mut(), &mut work.view_mut());
    let budget = check_cache(cache)?;
    let (n_kv, d) = (cache.n_kv_heads, cache.d);
    core_h2o::decode_work_size(n_kv, d, budget, n_heads)?; // group and size checks, as the host
    let group = n_heads / n_kv;
    let (mut kc, mut vc) = (cache.k.view_mut(), cache.v.view_mut());
    let (mut score_c, mut pos_c) = (cache.score.view_mut(), cache.pos.view_mut());
    let q_len = checked_product(&[n_heads, d])?;
    let kv_len = checked_product(&[n_kv, d])?;
    if q.len() != q_len || out.len() != q_len || k_new.len() != kv_len || v_new.len() != kv_len {
        return Err(Error::Dimension);
    }
    let opts = H2oOpts::default()
        .sink(cache.sink)
        .heavy(cache.heavy)
        .recent(cache.recent)
        .scale(scale);
    let scale = opts.scale_for(d)?;
    let lay = layout(n_kv, d, budget, n_heads)?;
    if work.len() < lay.total {
        return Err(Error::Workspace);
    }
    ctx.check_slice(&kc)?;
    ctx.check_slice(&vc)?;
    ctx.check_slice(&score_c)?;
    ctx.check_slice(&pos_c)?;
    for s in [q, k_new, v_new, &out.as_view(), &work.as_view()] {
        ctx.check_slice(s)?;
    }
    let t = cache.next_pos;
    let (len, sink, recent) = (cache.len, cache.sink as u64, cache.recent as u64);
    let n_chunks = budget.div_ceil(CHECK_CHUNK);

    // The workspace regions, in layout order.
    let (mut slots, mut rest) = work.split_at_mut(lay.verdict);
    let (mut verdict, mut rest) = rest.split_at_mut(lay.bad - lay.verdict);
    let (mut bad, mut rest) = rest.split_at_mut(lay.stats - lay.bad);
    let (mut stats, mut rest) = rest.split_at_mut(lay.logits - lay.stats);
    let (mut logits, mut rest) = rest.split_at_mut(lay.part_m - lay.logits);
    let (mut part_m, mut rest) = rest.split_at_mut(lay.part_s - lay.part_m);
    let (mut part_s, mut rest) = rest.split_at_mut(lay.part_o - lay.part_s);
    let (mut part_o, mut rest) = rest.split_at_mut(lay.checks - lay.part_o);
    let mut checks = rest.slice_mut(0..lay.total - lay.checks);
    let stream = ctx.stream();

    // 1. The read-only check and the slots.
    let check = ctx.function(&H2O, "h2o_decode_check_f32")?;
    let reduce = ctx.function(&H2O, "h2o_decode_check_reduce_f32")?;
    marks.mark()?;
    {
        let (pos, score) = (pos_c.as_view(), score_c.as_view());
        let mut launch = stream.launch_builder(&check);
        launch
            .arg(&n_kv)
            .arg(&group)
            .arg(&d)
            .arg(&budget)
            .arg(&len)
            .arg(&n_chunks)
            .arg(&t)
            .arg(&sink)
            .arg(&recent)
            .arg(q)
            .arg(k_new)
            .arg(v_new)
            .arg(&pos)
            .arg(&score)
            .arg(&mut checks);
        // SAFETY: h2o_decode_check_f32(n_kv, group, d, budget, len, n_chunks, t, sink,
        // recent, q[n_kv*group*d], k_new[n_kv*d], v_new[n_kv*d], pos[n_kv*budget],
        // score[n_kv*budget], rec[8*n_kv*n_chunks] words): lengths checked above; it
        // reads within these lengths only and writes only rec.
        unsafe { launch.launch(Context::config(grid(n_kv * n_chunks)?)) }
            .map_err(|e| ctx.driver_error("h2o_decode_check launch", e))?;
    }
    {
        let (checks, score) = (checks.as_view(), score_c.as_view());
        let mut launch = stream.launch_builder(&reduce);
        launch
            .arg(&n_kv)
            .arg(&budget)
            .arg(&len)
            .arg(&n_chunks)
            .arg(&score)
            .arg(&checks)
            .arg(&mut slots)
            .arg(&mut verdict);
        // SAFETY: h2o_decode_check_reduce_f32(n_kv, budget, len, n_chunks,
        // score[n_kv*budget], rec[8*n_kv*n_chunks] words (written by the check launch,
        // ordered by the stream), slots[2*n_kv] words, verdict[n_kv] words).
        unsafe { launch.launch(Context::config(grid(n_kv)?)) }
            .map_err(|e| ctx.driver_error("h2o_decode_check_reduce launch", e))?;
    }
    marks.mark()?;
    let verdict = words(ctx, &verdict.as_view())?
        .into_iter()
        .fold(0, |a, b| a | b);
    if verdict & BAD_POS != 0 {
        return Err(Error::Argument);
    }
    if verdict & NONFINITE != 0 {
        return Err(Error::NonFinite);
    }
    let next = t.checked_add(1).ok_or(Error::Argument)?;
    if verdict & NO_VICTIM != 0 {
        return Err(Error::Argument);
    }

    // 2. Validated: from here on the cache changes.
    let new_len = (len + 1).min(budget);
    let n_tiles = new_len.div_ceil(DECODE_TILE);
    let n_stiles = new_len.div_ceil(BLOCK);
    let n_cchunks = d.div_ceil(COMBINE_COLS);
    let insert = ctx.function(&H2O, "h2o_decode_insert_f32")?;
    let partial = ctx.function(&H2O, "h2o_decode_partial_f32")?;
    let combine = ctx.function(&H2O, "h2o_decode_combine_f32")?;
    let scores = ctx.function(&H2O, "h2o_decode_scores_f32")?;

    marks.mark()?;
    {
        let slots = slots.as_view();
        let mut launch = stream.launch_builder(&insert);
        launch
            .arg(&n_kv)
            .arg(&d)
            .arg(&budget)
            .arg(&t)
            .arg(&slots)
            .arg(k_new)
            .arg(v_new)
            .arg(&mut kc)
            .arg(&mut vc)
            .arg(&mut score_c)
            .arg(&mut pos_c);
        // SAFETY: h2o_decode_insert_f32(n_kv, d, budget, t, slots[2*n_kv] words (from
        // the reduce launch, each < budget), k_new[n_kv*d], v_new[n_kv*d],
        // k[n_kv*budget*d], v[n_kv*budget*d], score[n_kv*budget], pos[n_kv*budget]).
        unsafe { launch.launch(Context::config(grid(n_kv)?)) }
            .map_err(|e| ctx.driver_error("h2o_decode_insert launch", e))?;
    }
    cache.len = new_len;
    cache.next_pos = next;
    marks.mark()?;
    {
        let (k, v) = (kc.as_view(), vc.as_view());
        let mut launch = stream.launch_builder(&partial);
        launch
            .arg(&n_kv)
            .arg(&group)
            .arg(&d)
            .arg(&budget)
            .arg(&new_len)
            .arg(&n_tiles)
            .arg(&scale)
            .arg(q)
            .arg(&k)
            .arg(&v)
            .arg(&mut logits)
            .arg(&mut part_m)
            .arg(&mut part_s)
            .arg(&mut part_o);
        // SAFETY: h2o_decode_partial_f32 with q[n_heads*d], the cache's K and V
        // (lengths checked; rows < new_len <= budget read) and workspace regions of
        // n_heads*budget (logits), n_heads*tiles (part_m, part_s) and n_heads*tiles*d
        // (part_o) words, tiles = ceil(budget/64) >= n_tiles.
        unsafe { launch.launch(Context::config(grid(n_kv * n_tiles)?)) }
            .map_err(|e| ctx.driver_error("h2o_decode_partial launch", e))?;
    }
    marks.mark()?;
    {
        let (part_m, part_s, part_o) = (part_m.as_view(), part_s.as_view(), part_o.as_view());
        let mut launch = stream.launch_builder(&combine);
        launch
            .arg(&n_heads)
            .arg(&d)
            .arg(&n_tiles)
            .arg(&n_cchunks)
            .arg(&part_m)
            .arg(&part_s)
            .arg(&part_o)
            .arg(&mut *out)
            .arg(&mut stats)
            .arg(&mut bad);
        // SAFETY: h2o_decode_combine_f32(n_heads, d, n_tiles, n_cchunks, part_m, part_s,
        // part_o, out, stats[2*n_heads], bad[n_heads]): reads the tiles the partial
        // launch wrote (h * n_tiles + tile < n_heads * tiles), writes out[n_heads*d]
        // (checked).
        unsafe { launch.launch(Context::config(grid(n_heads * n_cchunks)?)) }
            .map_err(|e| ctx.driver_error("h2o_decode_combine launch", e))?;
    }
    marks.mark()?;
    {
        let (logits, stats, bad) = (logits.as_view(), stats.as_view(), bad.as_view());
        let mut launch = stream.launch_builder(&scores);
        launch
            .arg(&n_kv)
            .arg(&n_heads)
            .arg(&group)
            .arg(&budget)
            .arg(&new_len)
            .arg(&n_stiles)
            .arg(&logits)
            .arg(&stats)
            .arg(&bad)
            .arg(&mut score_c);
        // SAFETY: h2o_decode_scores_f32: reads logits[h*budget + s] for s < new_len and
        // the stats and flags of every head; writes score[g*budget + s], s < new_len.
        unsafe { launch.launch(Context::config(grid(n_kv * n_stiles)?)) }
            .map_err(|e| ctx.driver_error("h2o_decode_scores launch", e))?;
    }
    marks.mark()?;

    if words(ctx, &bad.as_view())?.iter().any(|&b| b != 0) {
        return Err(Error::Numerical);
    }
    if let Some(times) = times {
        match marks.spans()?[..] {
            // The second span is the host reading the verdicts back: not a kernel.
            [check, _, insert, partial, combine, scores] => {
                *times = DecodeTimes {
                    check_ms: check,
                    insert_ms: insert,
                    partial_ms: partial,
                    combine_ms: combine,
                    scores_ms: scores,
                }
            }
            _ => return Err(Error::Internal),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_names_exist_in_the_source() {
        for name in [
            "h2o_decode_check_f32",
            "h2o_decode_check_reduce_f32",
            "h2o_decode_insert_f32",
            "h2o_decode_partial_f32",
            "h2o_decode_combine_f32",
            "h2o_decode_scores_f32",
        ] {
            assert!(H2O.has_kernel(name));
        }
        for (name, value) in [
            ("H2O_TILE", DECODE_TILE),
            ("H2O_CHECK_CHUNK", CHECK_CHUNK),
            ("H2O_CHECK_WORDS", CHECK_WORDS),
            ("H2O_COLS", COMBINE_COLS),
        ] {
            assert!(
                H2O.text.contains(&format!("#define {name} {value} ")),
                "{name} is not {value} in h2o.cu"
            );
        }
    }

    #[test]
    fn workspace_layout_is_contiguous_and_checked() {
        let l = layout(2, 72, 72, 6).unwrap();
        assert_eq!(l.slots, 0);
        assert_eq!(l.verdict, 4);
        assert_eq!(l.bad, 6);
        assert_eq!(l.stats, 12);
        assert_eq!(l.logits, 24);
        assert_eq!(l.part_m, 24 + 6 * 72);
        assert_eq!(l.part_o, l.part_s + 6 * 2);
        assert_eq!(l.checks, l.part_o + 6 * 2 * 72);
        assert_eq!(l.total, l.checks + 8 * 2);
        // One check record per kv head and chunk of 1024 slots.
        let big = layout(3, 4, 2049, 3).unwrap();
        assert_eq!(big.total - big.checks, 8 * 3 * 3);
        let decode_work_len =
            |kv, d, b, h| decode_work_size(kv, d, b, h).map(|s| s.len_of::<f32>());
        assert_eq!(decode_work_len(2, 72, 72, 6), Ok(l.total));
        assert_eq!(decode_work_len(2, 72, 72, 5), Err(Error::Dimension));
        assert_eq!(decode_work_len(0, 72, 72, 6), Err(Error::Dimension));
        assert_eq!(
            decode_work_len(1, usize::MAX / 2, 4, 2),
            Err(Error::Dimension)
        );
    }
}
