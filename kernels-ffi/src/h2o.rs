//! Heavy-hitter (H2O) attention: prefill with H2O masking and a fixed-budget KV cache.

use crate::args::{disjoint, input, out_value, output, output_opt, span, workspace};
use crate::guard::{Done, status};
use crate::opts::{self, Opts, size_of_u32};
use crate::status::kn_status;
use crate::storage::{halves, halves_mut, kn_bf16, kn_f16};
use core::ffi::c_void;
use kernels_core::h2o::{self, H2oCache, H2oOpts, KvElement};
use kernels_core::{Error, Result, bf16, checked_product, f16};
use kernels_simd::Simd;

/// The H2O budget per kv head and the logit scale.
///
/// Each kv head keeps `sink + heavy + recent` tokens: the first `sink` positions, the
/// `recent` newest (the current token included) and heavy hitters chosen by
/// accumulated attention. The sum must be at least 1 and `heavy + recent` at least 1.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct kn_h2o_opts {
    /// `sizeof` of this struct as the caller compiled it; `kn_h2o_opts_default()`
    /// fills it in.
    /// The library reads only the fields that fit in `size` bytes (later fields take
    /// their defaults); `size` below the first version of the struct (version 0.2.0)
    /// or above what the library knows (a newer header) is `KN_ERR_ARGUMENT`.
    pub size: u32,
    /// First positions never evicted (attention sinks).
    pub sink: usize,
    /// Slots for heavy hitters (lowest accumulated score evicted first).
    pub heavy: usize,
    /// Newest positions never evicted, the current token included.
    pub recent: usize,
    /// Logit scale; 0 means 1/sqrt(d). Must be finite.
    pub scale: f32,
}

/// An H2O KV cache with a fixed budget of `sink + heavy + recent` slots per kv head.
///
/// The fields are public and the buffers are the caller's; `kn_h2o_cache_init` fills
/// the struct and every call checks it again (sizes, `len <= budget`, `next_pos >=
/// len`, pointers non-NULL, aligned and not overlapping, stored positions below
/// `next_pos`) before touching a buffer. Slot `s` of kv head `g` is at
/// `k[(g * budget + s) * d]`, `v[...]`, `score[g * budget + s]`, `pos[g * budget + s]`;
/// slots `0..len` are in use.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct kn_h2o_cache {
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
    /// Slots in use per kv head (the same for every kv head).
    pub len: usize,
    /// Position the next token gets (tokens seen so far).
    pub next_pos: u64,
    /// Keys, `[n_kv_heads][sink+heavy+recent][d]`.
    pub k: *mut f32,
    /// Values, `[n_kv_heads][sink+heavy+recent][d]`.
    pub v: *mut f32,
    /// Accumulated scores, `[n_kv_heads][sink+heavy+recent]`.
    pub score: *mut f32,
    /// Token position of each slot, `[n_kv_heads][sink+heavy+recent]`.
    pub pos: *mut u64,
}

/// An H2O KV cache like `kn_h2o_cache` whose keys and values are stored as `kn_f16`
/// (`kn_h2o_cache_init_f16`, `kn_h2o_decode_f16`): a sibling struct rather than an
/// element-type field, so that C's type checker keeps each cache with its own decode.
/// The fields, layout and rules are `kn_h2o_cache`'s; scores stay `float`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct kn_h2o_cache_f16 {
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
    /// Slots in use per kv head (the same for every kv head).
    pub len: usize,
    /// Position the next token gets (tokens seen so far).
    pub next_pos: u64,
    /// Keys, `[n_kv_heads][sink+heavy+recent][d]`.
    pub k: *mut kn_f16,
    /// Values, `[n_kv_heads][sink+heavy+recent][d]`.
    pub v: *mut kn_f16,
    /// Accumulated scores, `[n_kv_heads][sink+heavy+recent]`.
    pub score: *mut f32,
    /// Token position of each slot, `[n_kv_heads][sink+heavy+recent]`.
    pub pos: *mut u64,
}

/// An H2O KV cache like `kn_h2o_cache` whose keys and values are stored as `kn_bf16`
/// (`kn_h2o_cache_init_bf16`, `kn_h2o_decode_bf16`); see `kn_h2o_cache_f16`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct kn_h2o_cache_bf16 {
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
    /// Slots in use per kv head (the same for every kv head).
    pub len: usize,
    /// Position the next token gets (tokens seen so far).
    pub next_pos: u64,
    /// Keys, `[n_kv_heads][sink+heavy+recent][d]`.
    pub k: *mut kn_bf16,
    /// Values, `[n_kv_heads][sink+heavy+recent][d]`.
    pub v: *mut kn_bf16,
    /// Accumulated scores, `[n_kv_heads][sink+heavy+recent]`.
    pub score: *mut f32,
    /// Token position of each slot, `[n_kv_heads][sink+heavy+recent]`.
    pub pos: *mut u64,
}

// SAFETY: repr(C), begins with `size: u32`, numbers only.
unsafe impl Opts for kn_h2o_opts {
    // size, padding, sink, heavy, recent, scale, padding (64-bit targets).
    const V1_SIZE: usize = size_of::<[usize; 5]>();
}

impl Default for kn_h2o_opts {
    /// What `kn_h2o_opts_default` returns.
    fn default() -> Self {
        let o = H2oOpts::default();
        kn_h2o_opts {
            size: size_of_u32::<Self>(),
            sink: o.sink,
            heavy: o.heavy,
            recent: o.recent,
            scale: o.scale,
        }
    }
}

/// The default options of `kn_h2o_prefill_f32`, with `size` filled in: a budget of
/// 128 per kv head, `sink` = 4, `heavy` = 60, `recent` = 64, and `scale` = 0
/// (1/sqrt(d)). Start from these and set the fields you need, so that fields added
/// later keep their defaults.
#[unsafe(no_mangle)]
pub extern "C" fn kn_h2o_opts_default() -> kn_h2o_opts {
    kn_h2o_opts::default()
}

impl From<&kn_h2o_opts> for H2oOpts {
    fn from(o: &kn_h2o_opts) -> Self {
        H2oOpts::default()
            .sink(o.sink)
            .heavy(o.heavy)
            .recent(o.recent)
            .scale(o.scale)
    }
}

/// Workspace size of `kn_h2o_prefill_f32` (for any budget): the minimum, with scratch
/// for one head at a time. The heads (with eviction or scores, the kv heads) can run
/// on the threads (`kn_set_num_threads`), each with its own scratch: a workspace of
/// `t` times this lets `t` of them run at once. The result is the same whatever its
/// size.
///
/// Returns KN_OK, KN_ERR_NULL (`bytes` NULL), KN_ERR_DIMENSION (a size is 0,
/// `n_heads % n_kv_heads != 0`, or the size overflows).
///
/// # Safety
/// `bytes` must be NULL or valid for writing one `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_h2o_prefill_work_bytes(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller's contract on `bytes`.
        let bytes = unsafe { out_value(bytes) }?;
        *bytes = h2o::prefill_work_size(n_heads, n_kv_heads, seq, d)?.bytes();
        Ok(Done::Ok)
    })
}

/// Workspace size of `kn_h2o_prefill_f16`: as `kn_h2o_prefill_work_bytes`, with room
/// for the rows being computed as `float` (larger than the `f32` prefill's).
///
/// Returns as `kn_h2o_prefill_work_bytes`.
///
/// # Safety
/// `bytes` must be NULL or valid for writing one `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_h2o_prefill_f16_work_bytes(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
    bytes: *mut usize,
) -> kn_status {
    // SAFETY: the caller's contract on `bytes`.
    unsafe { prefill_work_bytes::<f16>(n_heads, n_kv_heads, seq, d, bytes) }
}

/// Workspace size of `kn_h2o_prefill_bf16`: as `kn_h2o_prefill_work_bytes`, with
/// room for the rows being computed as `float` (larger than the `f32` prefill's).
///
/// Returns as `kn_h2o_prefill_work_bytes`.
///
/// # Safety
/// `bytes` must be NULL or valid for writing one `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_h2o_prefill_bf16_work_bytes(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
    bytes: *mut usize,
) -> kn_status {
    // SAFETY: the caller's contract on `bytes`.
    unsafe { prefill_work_bytes::<bf16>(n_heads, n_kv_heads, seq, d, bytes) }
}

/// The half prefill workspace queries.
///
/// # Safety
/// As for `kn_h2o_prefill_work_bytes`.
unsafe fn prefill_work_bytes<E: KvElement>(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller's contract on `bytes`.
        let bytes = unsafe { out_value(bytes) }?;
        *bytes = h2o::prefill_stored_work_size::<E>(n_heads, n_kv_heads, seq, d)?.bytes();
        Ok(Done::Ok)
    })
}

/// Causal attention with H2O masking over a prompt.
///
/// `q` and `out` are `[n_heads][seq][d]`, `k` and `v` `[n_kv_heads][seq][d]`; query
/// head `h` reads kv head `h / (n_heads / n_kv_heads)`. The rule, per kv head, row by
/// row: token `t` enters the cache; when the cache already holds `B = sink + heavy +
/// recent` tokens, the one with the smallest accumulated score among those that are
/// neither sinks (position < sink) nor among the `recent` newest positions (t included)
/// is evicted first, ties to the oldest position. Row `t` attends to exactly the cached
/// tokens; each one's score grows by its softmax probability summed over the group's
/// query heads; a new token starts at score 0. With `B >= seq` this is full causal
/// attention. Prefill computes blocks of 64 rows through matrix products, decode steps
/// (`kn_h2o_decode_f32`) one row with dot products, so over the same tokens they give
/// the same outputs and scores to rounding (a few `float` ulps per term, not bit for
/// bit) and the same kept set wherever no eviction is decided between two scores that
/// close (a near tie). Each gives the same bits on any number of threads.
///
/// `scores` (nullable, `[n_kv_heads][seq]`): each token's accumulated score after the
/// last row (an evicted token: its score when evicted). `keep` (nullable,
/// `[n_kv_heads][seq]`): 1 for the tokens the cache holds after the last row, else 0.
/// `work`: at least `kn_h2o_prefill_work_bytes` bytes, any alignment.
///
/// Returns KN_OK; KN_ERR_NULL (a required pointer is NULL); KN_ERR_DIMENSION (a size
/// is 0, `n_heads % n_kv_heads != 0`, a size overflows); KN_ERR_ARGUMENT (budget 0,
/// `heavy + recent == 0`, non-finite scale, misaligned or overlapping arrays);
/// KN_ERR_NON_FINITE (NaN or infinity in q, k or v); KN_ERR_WORKSPACE. On these nothing
/// was written. KN_ERR_NUMERICAL: the logits overflowed; `out`, `scores` and `keep`
/// then hold unspecified values.
///
/// # Safety
/// Each pointer must be NULL or valid for the length its dimensions imply (`work` for
/// `work_bytes` bytes), and no output may be accessed elsewhere during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_h2o_prefill_f32(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
    q: *const f32,
    k: *const f32,
    v: *const f32,
    opts: *const kn_h2o_opts,
    out: *mut f32,
    scores: *mut f32,
    keep: *mut u8,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    let p = PrefillArgs {
        q,
        k,
        v,
        out,
        scores,
        keep,
    };
    // SAFETY: the caller's contract.
    unsafe { prefill(n_heads, n_kv_heads, seq, d, p, opts, work, work_bytes) }
}

/// Causal attention with H2O masking over a prompt stored as `kn_f16`:
/// `kn_h2o_prefill_f32` with `q`, `k`, `v` and `out` as `kn_f16` (`scores` stays
/// `float`).
///
/// Inputs are read as `float` (exactly); logits, softmax, scores and the weighted sums
/// are `float`, and `out` is rounded once to `kn_f16` (to nearest, ties to even): the
/// result is `kn_h2o_prefill_f32`'s on the upcast inputs up to the order of the
/// `float` additions, then rounded. `work`: at least `kn_h2o_prefill_f16_work_bytes`
/// bytes.
///
/// Returns as `kn_h2o_prefill_f32`; KN_ERR_NON_FINITE means an infinity or NaN bit
/// pattern in `q`, `k` or `v`. On an argument error nothing was written.
///
/// # Safety
/// As for `kn_h2o_prefill_f32`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_h2o_prefill_f16(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
    q: *const kn_f16,
    k: *const kn_f16,
    v: *const kn_f16,
    opts: *const kn_h2o_opts,
    out: *mut kn_f16,
    scores: *mut f32,
    keep: *mut u8,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    let p = PrefillArgs {
        q: halves::<f16>(q),
        k: halves::<f16>(k),
        v: halves::<f16>(v),
        out: halves_mut::<f16>(out),
        scores,
        keep,
    };
    // SAFETY: the caller's contract; `kn_f16` pointers are `f16` pointers.
    unsafe { prefill(n_heads, n_kv_heads, seq, d, p, opts, work, work_bytes) }
}

/// Causal attention with H2O masking over a prompt stored as `kn_bf16`:
/// `kn_h2o_prefill_f32` with `q`, `k`, `v` and `out` as `kn_bf16` (`scores` stays
/// `float`); as `kn_h2o_prefill_f16` in bfloat16. `work`: at least
/// `kn_h2o_prefill_bf16_work_bytes` bytes.
///
/// Returns as `kn_h2o_prefill_f16`.
///
/// # Safety
/// As for `kn_h2o_prefill_f32`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_h2o_prefill_bf16(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
    q: *const kn_bf16,
    k: *const kn_bf16,
    v: *const kn_bf16,
    opts: *const kn_h2o_opts,
    out: *mut kn_bf16,
    scores: *mut f32,
    keep: *mut u8,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    let p = PrefillArgs {
        q: halves::<bf16>(q),
        k: halves::<bf16>(k),
        v: halves::<bf16>(v),
        out: halves_mut::<bf16>(out),
        scores,
        keep,
    };
    // SAFETY: the caller's contract; `kn_bf16` pointers are `bf16` pointers.
    unsafe { prefill(n_heads, n_kv_heads, seq, d, p, opts, work, work_bytes) }
}

/// The array pointers of a prefill call, elements `E`.
struct PrefillArgs<E> {
    q: *const E,
    k: *const E,
    v: *const E,
    out: *mut E,
    scores: *mut f32,
    keep: *mut u8,
}

/// The prefill entry points, for any element type.
///
/// # Safety
/// As for `kn_h2o_prefill_f32`.
#[allow(clippy::too_many_arguments)]
unsafe fn prefill<E: KvElement>(
    n_heads: usize,
    n_kv_heads: usize,
    seq: usize,
    d: usize,
    p: PrefillArgs<E>,
    opts: *const kn_h2o_opts,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    status(|| {
        let q_len = checked_product(&[n_heads, seq, d])?;
        let kv_len = checked_product(&[n_kv_heads, seq, d])?;
        let per_token = checked_product(&[n_kv_heads, seq])?;
        // SAFETY: the caller's contract on every pointer; lengths from the dimensions.
        let (q, k, v, (opts, opts_span)) = unsafe {
            (
                input(p.q, q_len)?,
                input(p.k, kv_len)?,
                input(p.v, kv_len)?,
                opts::read(opts)?,
            )
        };
        // SAFETY: as above; overlap is refused just below, before any use.
        let (out, scores, keep, work) = unsafe {
            (
                output(p.out, q_len)?,
                output_opt(p.scores, per_token)?,
                output_opt(p.keep, per_token)?,
                workspace(work, work_bytes)?,
            )
        };
        let mut outs = [span(out), span(&*work), (0, 0), (0, 0)];
        if let Some(s) = &scores {
            outs[2] = span(s);
        }
        if let Some(s) = &keep {
            outs[3] = span(s);
        }
        disjoint(&outs, &[span(q), span(k), span(v), opts_span])?;
        let opts = H2oOpts::from(&opts);
        h2o::prefill_stored::<Simd, E>(
            &kernels_simd::DefaultExec::default(),
            n_heads,
            n_kv_heads,
            seq,
            d,
            q,
            k,
            v,
            &opts,
            out,
            scores,
            keep,
            work,
        )?;
        Ok(Done::Ok)
    })
}

/// The fields of a cache struct of any element type `E` (`f32`, `f16`, `bf16`).
#[derive(Clone, Copy)]
struct Fields<E> {
    n_kv_heads: usize,
    d: usize,
    sink: usize,
    heavy: usize,
    recent: usize,
    len: usize,
    next_pos: u64,
    k: *mut E,
    v: *mut E,
    score: *mut f32,
    pos: *mut u64,
}

/// The C cache structs (`kn_h2o_cache`, `kn_h2o_cache_f16`, `kn_h2o_cache_bf16`):
/// the same fields, keys and values of the element type `Elem`.
trait CacheStruct: Copy {
    /// The stored element type of keys and values.
    type Elem: KvElement;
    /// The struct's fields, its pointers as `Elem` pointers.
    fn fields(&self) -> Fields<Self::Elem>;
    /// A struct of these fields.
    fn from_fields(f: Fields<Self::Elem>) -> Self;
}

macro_rules! cache_struct {
    ($c:ty, $e:ty, $k:ident) => {
        impl CacheStruct for $c {
            type Elem = $e;
            fn fields(&self) -> Fields<$e> {
                Fields {
                    n_kv_heads: self.n_kv_heads,
                    d: self.d,
                    sink: self.sink,
                    heavy: self.heavy,
                    recent: self.recent,
                    len: self.len,
                    next_pos: self.next_pos,
                    k: $k(self.k),
                    v: $k(self.v),
                    score: self.score,
                    pos: self.pos,
                }
            }
            fn from_fields(f: Fields<$e>) -> Self {
                Self {
                    n_kv_heads: f.n_kv_heads,
                    d: f.d,
                    sink: f.sink,
                    heavy: f.heavy,
                    recent: f.recent,
                    len: f.len,
                    next_pos: f.next_pos,
                    k: f.k.cast(),
                    v: f.v.cast(),
                    score: f.score,
                    pos: f.pos,
                }
            }
        }
    };
}

/// The `f32` cache's pointers as they are.
fn same(p: *mut f32) -> *mut f32 {
    p
}

cache_struct!(kn_h2o_cache, f32, same);
cache_struct!(kn_h2o_cache_f16, f16, halves_mut);
cache_struct!(kn_h2o_cache_bf16, bf16, halves_mut);

/// The buffer lengths of a cache's fields: (`score`/`pos` values, `k`/`v` values).
fn cache_lengths<E>(c: &Fields<E>) -> Result<(usize, usize)> {
    H2oCache::lengths(c.n_kv_heads, c.d, c.sink, c.heavy, c.recent)
}

/// Sets up an empty H2O cache (`len = 0`, `next_pos = 0`) over the caller's buffers:
/// `k`, `v` of `n_kv_heads * (sink + heavy + recent) * d` floats, `score` of
/// `n_kv_heads * (sink + heavy + recent)` floats, `pos` of as many `uint64_t`. The
/// buffers are not written; memory stays fixed from here on.
///
/// Returns KN_OK; KN_ERR_NULL; KN_ERR_DIMENSION (`n_kv_heads` or `d` is 0, a size
/// overflows); KN_ERR_ARGUMENT (budget 0, `heavy + recent == 0`, misaligned or
/// overlapping buffers). On error `*c` is untouched.
///
/// # Safety
/// `c` must be NULL or valid for writing one `kn_h2o_cache`; each buffer NULL or valid
/// for its length, and reserved for this cache while it is used.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_h2o_cache_init(
    c: *mut kn_h2o_cache,
    n_kv_heads: usize,
    d: usize,
    sink: usize,
    heavy: usize,
    recent: usize,
    k: *mut f32,
    v: *mut f32,
    score: *mut f32,
    pos: *mut u64,
) -> kn_status {
    let f = Fields {
        n_kv_heads,
        d,
        sink,
        heavy,
        recent,
        len: 0,
        next_pos: 0,
        k,
        v,
        score,
        pos,
    };
    // SAFETY: the caller's contract.
    unsafe { cache_init(c, f) }
}

/// `kn_h2o_cache_init` for a cache whose keys and values are stored as `kn_f16`
/// (`k`, `v`: `n_kv_heads * (sink + heavy + recent) * d` values each; `score` and
/// `pos` as for `kn_h2o_cache_init`).
///
/// Returns as `kn_h2o_cache_init`. On error `*c` is untouched.
///
/// # Safety
/// As for `kn_h2o_cache_init`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_h2o_cache_init_f16(
    c: *mut kn_h2o_cache_f16,
    n_kv_heads: usize,
    d: usize,
    sink: usize,
    heavy: usize,
    recent: usize,
    k: *mut kn_f16,
    v: *mut kn_f16,
    score: *mut f32,
    pos: *mut u64,
) -> kn_status {
    let f = Fields {
        n_kv_heads,
        d,
        sink,
        heavy,
        recent,
        len: 0,
        next_pos: 0,
        k: halves_mut::<f16>(k),
        v: halves_mut::<f16>(v),
        score,
        pos,
    };
    // SAFETY: the caller's contract.
    unsafe { cache_init(c, f) }
}

/// `kn_h2o_cache_init` for a cache whose keys and values are stored as `kn_bf16`
/// (`k`, `v`: `n_kv_heads * (sink + heavy + recent) * d` values each; `score` and
/// `pos` as for `kn_h2o_cache_init`).
///
/// Returns as `kn_h2o_cache_init`. On error `*c` is untouched.
///
/// # Safety
/// As for `kn_h2o_cache_init`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_h2o_cache_init_bf16(
    c: *mut kn_h2o_cache_bf16,
    n_kv_heads: usize,
    d: usize,
    sink: usize,
    heavy: usize,
    recent: usize,
    k: *mut kn_bf16,
    v: *mut kn_bf16,
    score: *mut f32,
    pos: *mut u64,
) -> kn_status {
    let f = Fields {
        n_kv_heads,
        d,
        sink,
        heavy,
        recent,
        len: 0,
        next_pos: 0,
        k: halves_mut::<bf16>(k),
        v: halves_mut::<bf16>(v),
        score,
        pos,
    };
    // SAFETY: the caller's contract.
    unsafe { cache_init(c, f) }
}

/// The `kn_h2o_cache_init*` functions, for any cache struct.
///
/// # Safety
/// As for `kn_h2o_cache_init`.
unsafe fn cache_init<C: CacheStruct>(c: *mut C, fresh: Fields<C::Elem>) -> kn_status {
    status(|| {
        // SAFETY: the caller's contract on `c`.
        let cache = unsafe { out_value(c) }?;
        let struct_span = span(core::slice::from_ref(&*cache));
        // SAFETY: the caller's contract on the buffers.
        unsafe { with_cache(&fresh, struct_span, &[], |_| Ok(())) }?;
        *cache = C::from_fields(fresh);
        Ok(Done::Ok)
    })
}

/// Checks a cache's fields and buffers and runs `f` on the core view of it.
///
/// # Safety
/// The pointers must be NULL or valid for the lengths the fields imply.
unsafe fn with_cache<E: KvElement, R>(
    c: &Fields<E>,
    struct_span: (usize, usize),
    others: &[(usize, usize)],
    f: impl FnOnce(&mut H2oCache<'_, E>) -> Result<R>,
) -> Result<R> {
    let (rows, values) = cache_lengths(c)?;
    // SAFETY: the caller's contract; overlap is refused before any use.
    let (k, v, score, pos) = unsafe {
        (
            output(c.k, values)?,
            output(c.v, values)?,
            output(c.score, rows)?,
            output(c.pos, rows)?,
        )
    };
    disjoint(
        &[span(k), span(v), span(score), span(pos), struct_span],
        others,
    )?;
    let mut view = H2oCache::from_parts(
        c.n_kv_heads,
        c.d,
        c.sink,
        c.heavy,
        c.recent,
        c.len,
        c.next_pos,
        k,
        v,
        score,
        pos,
    )?;
    f(&mut view)
}

/// Workspace size of `kn_h2o_decode_f32` for this cache and `n_heads` query heads.
///
/// Returns KN_OK; KN_ERR_NULL (`c` or `bytes` NULL); KN_ERR_DIMENSION (`n_heads` is
/// 0 or not a multiple of `c->n_kv_heads`, a size of the cache is 0 or overflows);
/// KN_ERR_ARGUMENT (the cache's budget is 0, `heavy + recent == 0`, or `len` exceeds
/// the budget).
///
/// # Safety
/// `c` must be NULL or point to a `kn_h2o_cache`; `bytes` NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_h2o_decode_work_bytes(
    c: *const kn_h2o_cache,
    n_heads: usize,
    bytes: *mut usize,
) -> kn_status {
    // SAFETY: the caller's contract.
    unsafe { decode_work_bytes(c, n_heads, bytes) }
}

/// Workspace size of `kn_h2o_decode_f16` for this cache and `n_heads` query heads
/// (larger than the `f32` decode's by the queries and outputs as `float`).
///
/// Returns as `kn_h2o_decode_work_bytes`.
///
/// # Safety
/// `c` must be NULL or point to a `kn_h2o_cache_f16`; `bytes` NULL or valid for writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_h2o_decode_f16_work_bytes(
    c: *const kn_h2o_cache_f16,
    n_heads: usize,
    bytes: *mut usize,
) -> kn_status {
    // SAFETY: the caller's contract.
    unsafe { decode_work_bytes(c, n_heads, bytes) }
}

/// Workspace size of `kn_h2o_decode_bf16` for this cache and `n_heads` query heads
/// (larger than the `f32` decode's by the queries and outputs as `float`).
///
/// Returns as `kn_h2o_decode_work_bytes`.
///
/// # Safety
/// `c` must be NULL or point to a `kn_h2o_cache_bf16`; `bytes` NULL or valid for
/// writing.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn kn_h2o_decode_bf16_work_bytes(
    c: *const kn_h2o_cache_bf16,
    n_heads: usize,
    bytes: *mut usize,
) -> kn_status {
    // SAFETY: the caller's contract.
    unsafe { decode_work_bytes(c, n_heads, bytes) }
}

/// The decode workspace queries, for any cache struct.
///
/// # Safety
/// As for `kn_h2o_decode_work_bytes`.
unsafe fn decode_work_bytes<C: CacheStruct>(
    c: *const C,
    n_heads: usize,
    bytes: *mut usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller's contract on `c` and `bytes`.
        let (c, bytes) = unsafe { (input(c, 1)?[0].fields(), out_value(bytes)?) };
        let (rows, _) = cache_lengths(&c)?;
        if c.len > rows / c.n_kv_heads {
            return Err(Error::Argument);
        }
        let budget = rows / c.n_kv_heads;
        *bytes =
            h2o::decode_stored_work_size::<C::Elem>(c.n_kv_heads, c.d, budget, n_heads)?.bytes();
        Ok(Done::Ok)
    })
}

/// One decode step on an H2O cache.
///
/// Inserts the new token (`k_new`, `v_new`: `[n_kv_heads][d]`) into every kv head's
/// cache (evicting, when full, the lowest-score slot that is neither a sink nor among
/// the `recent` newest positions, ties to the oldest; the new token's score starts at
/// 0), attends each query head (`q`, `out`: `[n_heads][d]`; head `h` reads kv head
/// `h / (n_heads / n_kv_heads)`) to the cached tokens, and adds this step's softmax
/// probabilities, summed over each group's heads, to the scores. Then `len` grows (up
/// to the budget) and `next_pos` by one. `scale` 0 means 1/sqrt(d).
///
/// Returns KN_OK; KN_ERR_NULL; KN_ERR_DIMENSION (`n_heads` 0 or not a multiple of
/// `n_kv_heads`, a size of the cache 0 or overflowing); KN_ERR_ARGUMENT (a corrupt
/// cache struct: budget 0, `heavy + recent == 0`, `len` over the budget or over
/// `next_pos`, a position `>= next_pos`, no evictable slot, `next_pos` at its maximum;
/// non-finite scale; misaligned or overlapping arrays); KN_ERR_NON_FINITE (NaN or
/// infinity in q, k_new, v_new); KN_ERR_WORKSPACE. On these neither the cache nor
/// `out` was written. KN_ERR_NUMERICAL: the logits overflowed; the token was inserted,
/// `out` holds unspecified values, no score changed.
///
/// # Safety
/// `c` must be NULL or point to a valid `kn_h2o_cache` whose buffers are valid for its
/// fields; the other pointers NULL or valid for their lengths (`work` for `work_bytes`
/// bytes); no output accessed elsewhere during the call.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_h2o_decode_f32(
    c: *mut kn_h2o_cache,
    n_heads: usize,
    q: *const f32,
    k_new: *const f32,
    v_new: *const f32,
    scale: f32,
    out: *mut f32,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    // SAFETY: the caller's contract.
    unsafe { decode(c, n_heads, q, k_new, v_new, scale, out, work, work_bytes) }
}

/// One decode step on an H2O cache stored as `kn_f16` (`kn_h2o_cache_init_f16`):
/// `kn_h2o_decode_f32` with `q`, `k_new`, `v_new` and `out` as `kn_f16`.
///
/// The cached keys and values are read as `float` (exactly) inside the products, so
/// a step reads half the bytes of the `float` cache's; logits, softmax, scores and
/// the weighted sums are `float`, and `out` is rounded once to `kn_f16` (to nearest,
/// ties to even): the result is `kn_h2o_decode_f32`'s on the upcast data up to the
/// order of the `float` additions, then rounded. `work`: at least
/// `kn_h2o_decode_f16_work_bytes` bytes.
///
/// Returns as `kn_h2o_decode_f32`; KN_ERR_NON_FINITE means an infinity or NaN bit
/// pattern in `q`, `k_new` or `v_new`. On an argument error neither the cache nor
/// `out` was written; after KN_ERR_NUMERICAL the token was inserted, `out` is
/// unspecified and no score changed.
///
/// # Safety
/// As for `kn_h2o_decode_f32`, `c` pointing to a valid `kn_h2o_cache_f16`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_h2o_decode_f16(
    c: *mut kn_h2o_cache_f16,
    n_heads: usize,
    q: *const kn_f16,
    k_new: *const kn_f16,
    v_new: *const kn_f16,
    scale: f32,
    out: *mut kn_f16,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    // SAFETY: the caller's contract; `kn_f16` pointers are `f16` pointers.
    unsafe {
        decode(
            c,
            n_heads,
            halves::<f16>(q),
            halves::<f16>(k_new),
            halves::<f16>(v_new),
            scale,
            halves_mut::<f16>(out),
            work,
            work_bytes,
        )
    }
}

/// One decode step on an H2O cache stored as `kn_bf16` (`kn_h2o_cache_init_bf16`):
/// `kn_h2o_decode_f32` with `q`, `k_new`, `v_new` and `out` as `kn_bf16`.
///
/// As `kn_h2o_decode_f16`, in bfloat16: keys and values read as `float` inside the
/// products (a 16-bit shift), `float` arithmetic, `out` rounded once to nearest even.
/// `work`: at least `kn_h2o_decode_bf16_work_bytes` bytes.
///
/// Returns as `kn_h2o_decode_f16`.
///
/// # Safety
/// As for `kn_h2o_decode_f32`, `c` pointing to a valid `kn_h2o_cache_bf16`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn kn_h2o_decode_bf16(
    c: *mut kn_h2o_cache_bf16,
    n_heads: usize,
    q: *const kn_bf16,
    k_new: *const kn_bf16,
    v_new: *const kn_bf16,
    scale: f32,
    out: *mut kn_bf16,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    // SAFETY: the caller's contract; `kn_bf16` pointers are `bf16` pointers.
    unsafe {
        decode(
            c,
            n_heads,
            halves::<bf16>(q),
            halves::<bf16>(k_new),
            halves::<bf16>(v_new),
            scale,
            halves_mut::<bf16>(out),
            work,
            work_bytes,
        )
    }
}

/// The decode steps, for any cache struct.
///
/// # Safety
/// As for `kn_h2o_decode_f32`.
#[allow(clippy::too_many_arguments)]
unsafe fn decode<C: CacheStruct>(
    c: *mut C,
    n_heads: usize,
    q: *const C::Elem,
    k_new: *const C::Elem,
    v_new: *const C::Elem,
    scale: f32,
    out: *mut C::Elem,
    work: *mut c_void,
    work_bytes: usize,
) -> kn_status {
    status(|| {
        // SAFETY: the caller's contract on `c`.
        let cache = unsafe { out_value(c) }?;
        let fields = cache.fields();
        let q_len = checked_product(&[n_heads, fields.d])?;
        let kv_len = checked_product(&[fields.n_kv_heads, fields.d])?;
        // SAFETY: the caller's contract; overlap is refused below, before any use.
        let (q, k_new, v_new, out, work) = unsafe {
            (
                input(q, q_len)?,
                input(k_new, kv_len)?,
                input(v_new, kv_len)?,
                output(out, q_len)?,
                workspace(work, work_bytes)?,
            )
        };
        disjoint(
            &[span(out), span(&*work)],
            &[span(q), span(k_new), span(v_new)],
        )?;
        let struct_span = span(core::slice::from_ref(&*cache));
        let others = [span(q), span(k_new), span(v_new), span(out), span(&*work)];
        // SAFETY: the caller's contract on the cache's buffers.
        let (len, next_pos, result) = unsafe {
            with_cache(&fields, struct_span, &others, |view| {
                let result = h2o::decode_stored::<Simd, C::Elem>(
                    &kernels_simd::DefaultExec::default(),
                    view,
                    n_heads,
                    q,
                    k_new,
                    v_new,
                    scale,
                    out,
                    work,
                );
                Ok((view.len(), view.next_pos(), result))
            })
        }?;
        // After a numerical failure the token is in: the struct must say so. On an
        // argument error these are the values it held.
        *cache = C::from_fields(Fields {
            len,
            next_pos,
            ..fields
        });
        result?;
        Ok(Done::Ok)
    })
}
