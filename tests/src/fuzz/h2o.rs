//! H2O attention through its C entry points (`kn_h2o_prefill_*`, `kn_h2o_cache_init*`,
//! `kn_h2o_decode_*`, each in f32, f16 and bf16) with hostile sizes, budgets, values,
//! workspaces, NULLs and corrupted cache structs.

use super::hostile::{
    Bytes, Expect, Mix, Sign, Work, bits, canary, direct, fits, product, ptr, ptr_mut, tame,
    untouched,
};
use bytemuck::Pod;
use core::ffi::c_void;
use kernels::{
    KN_ERR_ARGUMENT, KN_ERR_DIMENSION, KN_ERR_WORKSPACE, KN_OK, kn_h2o_cache, kn_h2o_cache_bf16,
    kn_h2o_cache_f16, kn_h2o_opts,
};
use kernels_core::{bf16, f16};

/// An element type of the H2O entry points as the checks drive it: values are drawn
/// as `f32` and stored as `Raw` (`f32`, or the bits of `f16` / `bf16`, rounded to
/// nearest: huge values become infinities), and the rules are judged on the stored
/// values read back as `f32` (exactly). `C` is its cache struct; the checks keep a
/// `kn_h2o_cache` with the same fields (its `k`, `v` holding the `Raw` buffers'
/// addresses) and convert at the call.
trait Elem {
    type Raw: Pod;
    type C: Copy;
    fn store(x: f32) -> Self::Raw;
    fn load(r: Self::Raw) -> f32;
    fn wrap(c: &kn_h2o_cache) -> Self::C;
    fn unwrap(c: &Self::C) -> kn_h2o_cache;
    fn prefill_work_bytes(n_heads: usize, n_kv: usize, seq: usize, d: usize, p: *mut usize) -> i32;
    /// # Safety
    /// As for the C function.
    #[allow(clippy::too_many_arguments)]
    unsafe fn prefill(
        n: [usize; 4],
        q: *const Self::Raw,
        k: *const Self::Raw,
        v: *const Self::Raw,
        opts: *const kn_h2o_opts,
        out: *mut Self::Raw,
        scores: *mut f32,
        keep: *mut u8,
        work: *mut c_void,
        work_bytes: usize,
    ) -> i32;
    /// # Safety
    /// As for the C function.
    unsafe fn cache_init(c: *mut Self::C, f: &kn_h2o_cache) -> i32;
    /// # Safety
    /// As for the C function.
    unsafe fn decode_work_bytes(c: *const Self::C, n_heads: usize, p: *mut usize) -> i32;
    /// # Safety
    /// As for the C function.
    #[allow(clippy::too_many_arguments)]
    unsafe fn decode(
        c: *mut Self::C,
        n_heads: usize,
        q: *const Self::Raw,
        k_new: *const Self::Raw,
        v_new: *const Self::Raw,
        scale: f32,
        out: *mut Self::Raw,
        work: *mut c_void,
        work_bytes: usize,
    ) -> i32;
}

/// Values drawn as `f32`, stored as `E::Raw`.
fn stored<E: Elem>(x: &[f32]) -> Vec<E::Raw> {
    x.iter().map(|&v| E::store(v)).collect()
}

/// Stored values read back as `f32`.
fn loaded<E: Elem>(x: &[E::Raw]) -> Vec<f32> {
    x.iter().map(|&v| E::load(v)).collect()
}

macro_rules! elem {
    ($e:ident, $raw:ty, $cache:ident, $store:expr, $load:expr,
     $pwb:ident, $prefill:ident, $init:ident, $dwb:ident, $decode:ident) => {
        struct $e;

        impl Elem for $e {
            type Raw = $raw;
            type C = $cache;
            fn store(x: f32) -> $raw {
                $store(x)
            }
            fn load(r: $raw) -> f32 {
                $load(r)
            }
            fn wrap(c: &kn_h2o_cache) -> $cache {
                let k = c.k.cast();
                let v = c.v.cast();
                let (n_kv_heads, d, sink, heavy, recent) =
                    (c.n_kv_heads, c.d, c.sink, c.heavy, c.recent);
                let (len, next_pos, score, pos) = (c.len, c.next_pos, c.score, c.pos);
                $cache {
                    n_kv_heads,
                    d,
                    sink,
                    heavy,
                    recent,
                    len,
                    next_pos,
                    k,
                    v,
                    score,
                    pos,
                }
            }
            fn unwrap(c: &$cache) -> kn_h2o_cache {
                kn_h2o_cache {
                    n_kv_heads: c.n_kv_heads,
                    d: c.d,
                    sink: c.sink,
                    heavy: c.heavy,
                    recent: c.recent,
                    len: c.len,
                    next_pos: c.next_pos,
                    k: c.k.cast(),
                    v: c.v.cast(),
                    score: c.score,
                    pos: c.pos,
                }
            }
            fn prefill_work_bytes(
                n_heads: usize,
                n_kv: usize,
                seq: usize,
                d: usize,
                p: *mut usize,
            ) -> i32 {
                // SAFETY: `p` is NULL or points to a live usize.
                unsafe { kernels::$pwb(n_heads, n_kv, seq, d, p) }
            }
            unsafe fn prefill(
                n: [usize; 4],
                q: *const $raw,
                k: *const $raw,
                v: *const $raw,
                opts: *const kn_h2o_opts,
                out: *mut $raw,
                scores: *mut f32,
                keep: *mut u8,
                work: *mut c_void,
                work_bytes: usize,
            ) -> i32 {
                // SAFETY: the caller's.
                unsafe {
                    kernels::$prefill(
                        n[0], n[1], n[2], n[3], q, k, v, opts, out, scores, keep, work, work_bytes,
                    )
                }
            }
            unsafe fn cache_init(c: *mut $cache, f: &kn_h2o_cache) -> i32 {
                // SAFETY: the caller's.
                unsafe {
                    kernels::$init(
                        c,
                        f.n_kv_heads,
                        f.d,
                        f.sink,
                        f.heavy,
                        f.recent,
                        f.k.cast(),
                        f.v.cast(),
                        f.score,
                        f.pos,
                    )
                }
            }
            unsafe fn decode_work_bytes(c: *const $cache, n_heads: usize, p: *mut usize) -> i32 {
                // SAFETY: the caller's.
                unsafe { kernels::$dwb(c, n_heads, p) }
            }
            unsafe fn decode(
                c: *mut $cache,
                n_heads: usize,
                q: *const $raw,
                k_new: *const $raw,
                v_new: *const $raw,
                scale: f32,
                out: *mut $raw,
                work: *mut c_void,
                work_bytes: usize,
            ) -> i32 {
                // SAFETY: the caller's.
                unsafe {
                    kernels::$decode(c, n_heads, q, k_new, v_new, scale, out, work, work_bytes)
                }
            }
        }
    };
}

elem!(
    F32,
    f32,
    kn_h2o_cache,
    |x: f32| x,
    |r: f32| r,
    kn_h2o_prefill_work_bytes,
    kn_h2o_prefill_f32,
    kn_h2o_cache_init,
    kn_h2o_decode_work_bytes,
    kn_h2o_decode_f32
);
elem!(
    F16,
    u16,
    kn_h2o_cache_f16,
    |x: f32| f16::from_f32(x).to_bits(),
    |r: u16| f16::from_bits(r).to_f32(),
    kn_h2o_prefill_f16_work_bytes,
    kn_h2o_prefill_f16,
    kn_h2o_cache_init_f16,
    kn_h2o_decode_f16_work_bytes,
    kn_h2o_decode_f16
);
elem!(
    Bf16,
    u16,
    kn_h2o_cache_bf16,
    |x: f32| bf16::from_f32(x).to_bits(),
    |r: u16| bf16::from_bits(r).to_f32(),
    kn_h2o_prefill_bf16_work_bytes,
    kn_h2o_prefill_bf16,
    kn_h2o_cache_init_bf16,
    kn_h2o_decode_bf16_work_bytes,
    kn_h2o_decode_bf16
);

/// One call of an H2O entry point, chosen by the first byte (the function by its
/// remainder mod 5, the element type, f32, f16 or bf16, by its quotient).
///
/// Asserts no panic, a status that agrees with API.md's rules, nothing written on an
/// argument error (outputs, the cache struct and its buffers, `bytes`), and after a
/// valid call: the kept set has the budget's size and holds the sinks and the recent
/// tokens; a decode step advances the cache by one token.
pub fn h2o(data: &[u8]) {
    let mut b = Bytes::new(data);
    let op = b.byte();
    match op / 5 % 3 {
        0 => call::<F32>(op, &mut b),
        1 => call::<F16>(op, &mut b),
        _ => call::<Bf16>(op, &mut b),
    }
}

fn call<E: Elem>(op: u8, b: &mut Bytes<'_>) {
    match op % 5 {
        0 => prefill_query::<E>(b),
        1 => prefill::<E>(b),
        2 => cache_init::<E>(b),
        3 => decode_query::<E>(b),
        _ => decode::<E>(b),
    }
}

/// The group size when the head counts are valid.
fn group(n_heads: usize, n_kv: usize) -> Option<usize> {
    (n_heads > 0 && n_kv > 0 && n_heads.is_multiple_of(n_kv)).then(|| n_heads / n_kv)
}

/// The budget rules: KN_ERR_DIMENSION when `sink + heavy + recent` overflows,
/// KN_ERR_ARGUMENT when `heavy + recent` is 0. Returns the budget.
fn budget(e: &mut Expect, sink: usize, heavy: usize, recent: usize) -> Option<usize> {
    let evictable = heavy.checked_add(recent);
    e.fault(evictable == Some(0), KN_ERR_ARGUMENT, "heavy + recent == 0");
    evictable?.checked_add(sink)
}

/// `kn_h2o_prefill_work_bytes`: NULL `bytes`; a zero size, `n_heads % n_kv_heads`,
/// or a row's scratch (`group * seq` values) that overflows.
fn prefill_query<E: Elem>(b: &mut Bytes<'_>) {
    let (n_heads, n_kv, seq, d) = (b.size(8), b.size(4), b.size(12), b.size(8));
    let null = b.chance(40);
    let mut bytes = 0xA5A5_A5A5usize;
    let p = if null {
        core::ptr::null_mut()
    } else {
        &raw mut bytes
    };
    let status = E::prefill_work_bytes(n_heads, n_kv, seq, d, p);
    let mut e = Expect::new(&[KN_OK]);
    e.null(null, "bytes");
    let g = group(n_heads, n_kv);
    let row = product(&[g.unwrap_or(1), seq]);
    e.fault(
        g.is_none() || seq == 0 || d == 0 || !fits::<f32>(row),
        KN_ERR_DIMENSION,
        "sizes",
    );
    // The workspace holds a few arrays of up to `group * seq` values and, for the
    // blocked causal path, the keys transposed into 64-token tiles (`seq` rounded up
    // to 64, times `d`); their exact list is the library's: a total that may overflow
    // may be refused.
    let tiles = product(&[seq.div_ceil(64), 64, d]);
    e.either(
        !fits::<[f32; 16]>(row) || !fits::<[f32; 4]>(tiles),
        KN_ERR_DIMENSION,
    );
    if e.judge(status, "prefill_work_bytes") {
        assert_eq!(bytes, 0xA5A5_A5A5, "bytes written on failure");
    }
}

/// `kn_h2o_prefill_f32` (`_f16`, `_bf16`).
fn prefill<E: Elem>(b: &mut Bytes<'_>) {
    let (n_heads, n_kv, seq, d) = (b.size(6), b.size(3), b.size(12), b.size(8));
    let opts = kn_h2o_opts {
        sink: b.size(4),
        heavy: b.size(4),
        recent: b.size(4),
        scale: scale(b),
        ..Default::default()
    };
    let q_len = product(&[n_heads, seq, d]);
    let kv_len = product(&[n_kv, seq, d]);
    let per_token = product(&[n_kv, seq]);
    let mix = b.mix();
    let q = stored::<E>(&b.values(q_len, mix, Sign::Any));
    let k = stored::<E>(&b.values(kv_len, mix, Sign::Any));
    let v = stored::<E>(&b.values(kv_len, mix, Sign::Any));
    let mut out: Vec<E::Raw> = canary(q_len);
    let mut scores: Vec<f32> = canary(per_token);
    // Bytes: a length the harness cannot allocate could be real, so `keep` is then NULL.
    let keep_real = per_token.is_some_and(|n| n <= 1 << 12);
    let mut keep: Vec<u8> = canary(per_token.filter(|_| keep_real));
    let (with_scores, with_keep) = (b.chance(160), b.chance(160) && keep_real);
    let alias = b.chance(10);
    let nulls = b.nulls(5);
    let null = |i: u32| nulls & (1 << i) != 0;
    let mut need = 0usize;
    let need =
        (E::prefill_work_bytes(n_heads, n_kv, seq, d, &raw mut need) == KN_OK).then_some(need);
    let mut work = b.work(need);

    let mut q_buf = q.clone();
    let q_ptr = ptr_mut(&mut q_buf, null(0));
    let out_ptr = if alias {
        q_buf.as_mut_ptr()
    } else {
        ptr_mut(&mut out, null(4))
    };
    let required = [
        q_ptr.is_null(),
        null(1),
        null(2),
        null(3),
        out_ptr.is_null(),
    ];
    let before = (bits(&out), bits(&scores), bits(&keep));
    // SAFETY: every pointer is NULL or a live buffer of the claimed length (a
    // one-element stand-in only where that length cannot exist).
    let status = unsafe {
        E::prefill(
            [n_heads, n_kv, seq, d],
            q_ptr.cast_const(),
            ptr(&k, null(1)),
            ptr(&v, null(2)),
            if null(3) {
                core::ptr::null()
            } else {
                &raw const opts
            },
            out_ptr,
            ptr_mut(&mut scores, !with_scores),
            ptr_mut(&mut keep, !with_keep),
            work.ptr(),
            work.bytes(),
        )
    };

    // A huge value (key or value: the output is a weighted sum of values) may overflow:
    // KN_ERR_NUMERICAL. The rules see the values as stored.
    let (q, k, v) = (loaded::<E>(&q), loaded::<E>(&k), loaded::<E>(&v));
    let mut e = direct(!(tame(&q) && tame(&k) && tame(&v) && tame(&[opts.scale])));
    e.null(required.iter().any(|&r| r), "a required pointer");
    e.null(work.null_fault(), "work");
    let dims_ok = group(n_heads, n_kv).is_some()
        && seq > 0
        && d > 0
        && fits::<f32>(q_len)
        && fits::<f32>(kv_len)
        && fits::<f32>(per_token);
    e.fault(!dims_ok, KN_ERR_DIMENSION, "sizes");
    let b_total = budget(&mut e, opts.sink, opts.heavy, opts.recent);
    e.fault(b_total.is_none(), KN_ERR_DIMENSION, "budget overflows");
    e.fault(!opts.scale.is_finite(), KN_ERR_ARGUMENT, "scale");
    e.fault(alias, KN_ERR_ARGUMENT, "out overlaps q");
    if dims_ok {
        e.fault(
            need.is_some_and(|nb| work.bytes() < nb),
            KN_ERR_WORKSPACE,
            "short workspace",
        );
        e.finite(&q, "q");
        e.finite(&k, "k");
        e.finite(&v, "v");
    }
    if e.judge(status, "prefill") {
        untouched(
            "q (overlapped by out)",
            &bits(&q),
            &bits(&loaded::<E>(&q_buf)),
        );
        untouched("out", &before.0, &bits(&out));
        untouched("scores", &before.1, &bits(&scores));
        untouched("keep", &before.2, &bits(&keep));
        return;
    }
    if status == KN_OK {
        assert!(
            loaded::<E>(&out).iter().all(|o| o.is_finite()),
            "KN_OK with a non-finite output"
        );
    }
    if status != KN_OK || !with_keep {
        return;
    }
    // The cache after the last row: min(budget, seq) tokens, sinks and recent included.
    let kept = b_total.unwrap_or(usize::MAX).min(seq);
    for head in keep.chunks_exact(seq) {
        assert!(head.iter().all(|&x| x <= 1), "keep is not 0/1");
        assert_eq!(head.iter().filter(|&&x| x == 1).count(), kept, "kept count");
        let sinks = opts.sink.min(kept);
        let recent = opts.recent.min(kept);
        assert!(head[..sinks].iter().all(|&x| x == 1), "a sink evicted");
        assert!(
            head[seq - recent..].iter().all(|&x| x == 1),
            "a recent token evicted"
        );
    }
}

/// A scale: an option value rounded to f32 (so 1e300 becomes infinity).
fn scale(b: &mut Bytes<'_>) -> f32 {
    if b.chance(128) {
        0.0
    } else {
        b.option() as f32
    }
}

/// A cache's fields and its buffers (keys and values stored as `E::Raw`), possibly
/// corrupted.
struct Cache<E: Elem> {
    c: kn_h2o_cache,
    k: Vec<E::Raw>,
    v: Vec<E::Raw>,
    score: Vec<f32>,
    pos: Vec<u64>,
    /// Per-kv-head slots, when the sizes are valid.
    budget: Option<usize>,
    rows: Option<usize>,
    values: Option<usize>,
}

impl<E: Elem> Cache<E> {
    /// Sizes and buffers from the bytes; every buffer is real for the lengths the
    /// fields claim (or those lengths cannot exist).
    fn new(b: &mut Bytes<'_>) -> Cache<E> {
        let (n_kv, d) = (b.size(3), b.size(6));
        let (sink, heavy, recent) = (b.size(3), b.size(3), b.size(3));
        let budget = heavy.checked_add(recent).and_then(|x| x.checked_add(sink));
        let rows = budget.and_then(|bb| product(&[n_kv, bb]));
        let values = budget.and_then(|bb| product(&[n_kv, bb, d]));
        let mix = match b.byte() % 4 {
            0 => Mix::Extreme,
            _ => Mix::Tame,
        };
        let k = stored::<E>(&b.values(values, mix, Sign::Any));
        let v = stored::<E>(&b.values(values, mix, Sign::Any));
        let score = b.values(rows, Mix::Tame, Sign::NonNegative);
        let mut pos: Vec<u64> = canary(rows);
        let c = kn_h2o_cache {
            n_kv_heads: n_kv,
            d,
            sink,
            heavy,
            recent,
            len: 0,
            next_pos: 0,
            k: core::ptr::null_mut(),
            v: core::ptr::null_mut(),
            score: core::ptr::null_mut(),
            pos: core::ptr::null_mut(),
        };
        // A consistent history (the newest `len` positions, in some slot order) or
        // corrupted fields.
        let bb = budget.unwrap_or(0);
        let (len, next_pos) = if b.chance(200) {
            let len = usize::from(b.byte()) % (bb.min(255) + 1);
            (len, len as u64 + u64::from(b.byte() % 8))
        } else {
            (b.size(8), b.edge_u64(12))
        };
        if let Some(bb) = budget.filter(|&x| x > 0 && rows.is_some_and(|r| r == pos.len())) {
            let consistent = b.chance(220);
            for head in pos.chunks_exact_mut(bb) {
                let rot = usize::from(b.byte());
                for (s, p) in head.iter_mut().enumerate() {
                    *p = if consistent {
                        let first = next_pos.saturating_sub(len as u64);
                        first + ((s + rot) % len.max(1)) as u64
                    } else {
                        b.edge_u64(12)
                    };
                }
            }
        }
        Cache {
            c: kn_h2o_cache { len, next_pos, ..c },
            k,
            v,
            score,
            pos,
            budget,
            rows,
            values,
        }
    }

    /// Points the struct at the buffers, NULL where `nulls` says (bits 0..4).
    fn point(&mut self, nulls: u32) {
        let null = |i: u32| nulls & (1 << i) != 0;
        self.c.k = ptr_mut(&mut self.k, null(0)).cast();
        self.c.v = ptr_mut(&mut self.v, null(1)).cast();
        self.c.score = ptr_mut(&mut self.score, null(2));
        self.c.pos = ptr_mut(&mut self.pos, null(3));
    }

    /// The rules a cache struct obeys wherever it is passed: non-NULL buffers, sizes
    /// (KN_ERR_DIMENSION), budget (KN_ERR_ARGUMENT); with `state`, also `len` and
    /// `next_pos` and the used slots' positions.
    fn rules(&self, e: &mut Expect, state: bool) -> bool {
        let c = &self.c;
        e.null(
            c.k.is_null() || c.v.is_null() || c.score.is_null() || c.pos.is_null(),
            "a cache buffer",
        );
        budget(e, c.sink, c.heavy, c.recent);
        let sizes_ok = c.n_kv_heads > 0
            && c.d > 0
            && self.budget.is_some()
            && fits::<u64>(self.rows)
            && fits::<E::Raw>(self.values);
        e.fault(!sizes_ok, KN_ERR_DIMENSION, "cache sizes");
        if state && sizes_ok {
            let bb = self.budget.unwrap_or(0);
            e.fault(c.len > bb, KN_ERR_ARGUMENT, "len over the budget");
            e.fault(
                c.len as u64 > c.next_pos,
                KN_ERR_ARGUMENT,
                "len over next_pos",
            );
            if bb > 0 && c.len <= bb {
                let stale = self
                    .pos
                    .chunks_exact(bb)
                    .any(|h| h[..c.len].iter().any(|&p| p >= c.next_pos));
                e.fault(stale, KN_ERR_ARGUMENT, "a position >= next_pos");
            }
        }
        sizes_ok
    }

    fn snapshot(&self) -> [Vec<u8>; 5] {
        [
            fields(&self.c),
            bits(&self.k),
            bits(&self.v),
            bits(&self.score),
            bits(&self.pos),
        ]
    }
}

/// Every field of the struct, as bytes.
fn fields(c: &kn_h2o_cache) -> Vec<u8> {
    let words = [
        c.n_kv_heads as u64,
        c.d as u64,
        c.sink as u64,
        c.heavy as u64,
        c.recent as u64,
        c.len as u64,
        c.next_pos,
        c.k as u64,
        c.v as u64,
        c.score as u64,
        c.pos as u64,
    ];
    bits(&words)
}

fn untouched_cache(before: &[Vec<u8>; 5], after: &[Vec<u8>; 5]) {
    for (name, (x, y)) in ["struct", "k", "v", "score", "pos"]
        .iter()
        .zip(before.iter().zip(after))
    {
        untouched(name, x, y);
    }
}

/// `kn_h2o_cache_init` (`_f16`, `_bf16`).
fn cache_init<E: Elem>(b: &mut Bytes<'_>) {
    let mut cache = Cache::<E>::new(b);
    let nulls = b.nulls(5);
    let alias = b.chance(10);
    cache.point(nulls);
    if alias {
        cache.c.v = cache.c.k;
    }
    let c_null = nulls & (1 << 4) != 0;
    // The struct to be filled starts as garbage; on failure it must stay so.
    let mut target = E::wrap(&kn_h2o_cache {
        len: 0xA5A5,
        next_pos: 0xA5A5_A5A5,
        ..cache.c
    });
    let target_before = fields(&E::unwrap(&target));
    let buffers_before = cache.snapshot();
    let c = cache.c;
    // SAFETY: the struct pointer is NULL or a live struct; every buffer NULL or real
    // for the lengths the sizes claim (or those lengths cannot exist).
    let status = unsafe {
        E::cache_init(
            if c_null {
                core::ptr::null_mut()
            } else {
                &raw mut target
            },
            &c,
        )
    };
    let mut e = Expect::new(&[KN_OK]);
    e.null(c_null, "the struct");
    let sizes_ok = cache.rules(&mut e, false);
    e.fault(alias && sizes_ok, KN_ERR_ARGUMENT, "v overlaps k");
    // The buffers are never written, whatever the outcome.
    let after = cache.snapshot();
    untouched_cache(&buffers_before, &after);
    let target = E::unwrap(&target);
    if e.judge(status, "cache_init") {
        untouched("the struct", &target_before, &fields(&target));
    } else {
        let want = kn_h2o_cache {
            len: 0,
            next_pos: 0,
            ..c
        };
        assert_eq!(fields(&target), fields(&want), "the initialised struct");
    }
}

fn decode_work_bytes<E: Elem>(c: Option<&kn_h2o_cache>, n_heads: usize, p: *mut usize) -> i32 {
    let c = c.map(E::wrap);
    let c = c.as_ref().map_or(core::ptr::null(), |c| c as *const E::C);
    // SAFETY: `c` is NULL or a live struct (only its fields are read); `p` NULL or a
    // live usize.
    unsafe { E::decode_work_bytes(c, n_heads, p) }
}

/// The head count of a decode call: a multiple of the kv heads mostly.
fn n_heads(b: &mut Bytes<'_>, n_kv: usize) -> usize {
    if b.chance(220) {
        n_kv.saturating_mul(usize::from(b.byte() % 3) + 1)
    } else {
        b.size(8)
    }
}

/// `kn_h2o_decode_work_bytes` (`kn_h2o_decode_f16_work_bytes`, `_bf16_`).
fn decode_query<E: Elem>(b: &mut Bytes<'_>) {
    let mut cache = Cache::<E>::new(b);
    let nulls = b.nulls(6);
    cache.point(0);
    let heads = n_heads(b, cache.c.n_kv_heads);
    let mut bytes = 0xA5A5_A5A5usize;
    let (c_null, bytes_null) = (nulls & 1 != 0, nulls & 2 != 0);
    let status = decode_work_bytes::<E>(
        (!c_null).then_some(&cache.c),
        heads,
        if bytes_null {
            core::ptr::null_mut()
        } else {
            &raw mut bytes
        },
    );
    let mut e = Expect::new(&[KN_OK]);
    e.null(c_null || bytes_null, "c or bytes");
    let c = cache.c;
    budget(&mut e, c.sink, c.heavy, c.recent);
    let sizes_ok = c.d > 0
        && group(heads, c.n_kv_heads).is_some()
        && cache.budget.is_some()
        && cache.values.is_some()
        && fits::<f32>(product(&[heads, cache.budget.unwrap_or(0)]));
    e.fault(!sizes_ok, KN_ERR_DIMENSION, "sizes");
    // The query reads no buffer: a cache whose buffers could not exist (their byte
    // length overflows) may or may not be refused here.
    e.either(!fits::<E::Raw>(cache.values), KN_ERR_DIMENSION);
    e.fault(
        cache.budget.is_some_and(|bb| c.len > bb),
        KN_ERR_ARGUMENT,
        "len over the budget",
    );
    if e.judge(status, "decode_work_bytes") {
        assert_eq!(bytes, 0xA5A5_A5A5, "bytes written on failure");
    }
}

/// `kn_h2o_decode_f32` (`_f16`, `_bf16`).
fn decode<E: Elem>(b: &mut Bytes<'_>) {
    let mut cache = Cache::<E>::new(b);
    let nulls = b.nulls(9);
    let null = |i: u32| nulls & (1 << i) != 0;
    cache.point(nulls & 0xF);
    let heads = n_heads(b, cache.c.n_kv_heads);
    let d = cache.c.d;
    let (q_len, kv_len) = (product(&[heads, d]), product(&[cache.c.n_kv_heads, d]));
    let mix = b.mix();
    let q = stored::<E>(&b.values(q_len, mix, Sign::Any));
    let k_new = stored::<E>(&b.values(kv_len, mix, Sign::Any));
    let v_new = stored::<E>(&b.values(kv_len, mix, Sign::Any));
    let scale = scale(b);
    let mut out: Vec<E::Raw> = canary(q_len);
    let alias = b.chance(10);
    let mut need = 0usize;
    let need =
        (decode_work_bytes::<E>(Some(&cache.c), heads, &raw mut need) == KN_OK).then_some(need);
    let mut work: Work = b.work(need);

    let mut q_buf = q.clone();
    let q_ptr = ptr_mut(&mut q_buf, null(5));
    let out_ptr = if alias {
        q_buf.as_mut_ptr()
    } else {
        ptr_mut(&mut out, null(8))
    };
    let c_null = null(4);
    let before = cache.snapshot();
    let out_before = bits(&out);
    let old = cache.c;
    let mut typed = E::wrap(&cache.c);
    // SAFETY: the struct is live and its buffers real for its fields (or those
    // lengths cannot exist); every other pointer NULL or a live buffer of its length.
    let status = unsafe {
        E::decode(
            if c_null {
                core::ptr::null_mut()
            } else {
                &raw mut typed
            },
            heads,
            q_ptr.cast_const(),
            ptr(&k_new, null(6)),
            ptr(&v_new, null(7)),
            scale,
            out_ptr,
            work.ptr(),
            work.bytes(),
        )
    };

    cache.c = E::unwrap(&typed);
    // The rules see the values as stored.
    let (q, k_new, v_new) = (loaded::<E>(&q), loaded::<E>(&k_new), loaded::<E>(&v_new));
    let overflow = !(tame(&q)
        && tame(&loaded::<E>(&cache.k))
        && tame(&loaded::<E>(&cache.v))
        && tame(&k_new)
        && tame(&v_new)
        && tame(&[scale]));
    let mut e = direct(overflow);
    e.null(c_null, "the struct");
    e.null(
        q_ptr.is_null() || null(6) || null(7) || out_ptr.is_null(),
        "an array",
    );
    e.null(work.null_fault(), "work");
    let sizes_ok = cache.rules(&mut e, true);
    let dims_ok = sizes_ok
        && group(heads, old.n_kv_heads).is_some()
        && fits::<f32>(q_len)
        && fits::<f32>(kv_len);
    e.fault(!dims_ok, KN_ERR_DIMENSION, "sizes");
    e.fault(!scale.is_finite(), KN_ERR_ARGUMENT, "scale");
    e.fault(alias, KN_ERR_ARGUMENT, "out overlaps q");
    e.fault(
        old.next_pos == u64::MAX,
        KN_ERR_ARGUMENT,
        "next_pos at its maximum",
    );
    if dims_ok && consistent(&cache, &old) {
        e.fault(
            no_victim(&cache, &old),
            KN_ERR_ARGUMENT,
            "no evictable slot",
        );
    }
    if dims_ok {
        e.fault(
            need.is_some_and(|nb| work.bytes() < nb),
            KN_ERR_WORKSPACE,
            "short workspace",
        );
        e.either(need.is_none(), KN_ERR_WORKSPACE);
        e.finite(&q, "q");
        e.finite(&k_new, "k_new");
        e.finite(&v_new, "v_new");
    }
    if e.judge(status, "decode") {
        untouched_cache(&before, &cache.snapshot());
        untouched("out", &out_before, &bits(&out));
        untouched(
            "q (overlapped by out)",
            &bits(&q),
            &bits(&loaded::<E>(&q_buf)),
        );
        return;
    }
    if status == KN_OK {
        assert!(
            loaded::<E>(&out).iter().all(|o| o.is_finite()),
            "KN_OK with a non-finite output"
        );
    }
    // The token is in (also after KN_ERR_NUMERICAL).
    let bb = cache.budget.unwrap_or(0);
    assert_eq!(cache.c.len, (old.len + 1).min(bb), "len after a step");
    assert_eq!(cache.c.next_pos, old.next_pos + 1, "next_pos after a step");
    for head in cache.pos.chunks_exact(bb) {
        assert_eq!(
            head[..cache.c.len]
                .iter()
                .filter(|&&p| p == old.next_pos)
                .count(),
            1,
            "the new token is not cached once"
        );
    }
}

/// Whether some kv head of a full cache has no slot that is neither a sink
/// (position < sink) nor recent (next_pos - position < recent).
fn no_victim<E: Elem>(cache: &Cache<E>, c: &kn_h2o_cache) -> bool {
    let bb = cache.budget.unwrap_or(0);
    if bb == 0 || c.len < bb {
        return false;
    }
    let t = c.next_pos;
    cache.pos.chunks_exact(bb).any(|head| {
        head.iter()
            .all(|&p| p < c.sink as u64 || t - p < c.recent as u64)
    })
}

/// Whether the cache state is consistent enough for the eviction rule to be judged:
/// a budget, `len` within it and below `next_pos`, used positions below `next_pos`.
fn consistent<E: Elem>(cache: &Cache<E>, c: &kn_h2o_cache) -> bool {
    let bb = cache.budget.unwrap_or(0);
    bb > 0
        && c.len <= bb
        && c.len as u64 <= c.next_pos
        && cache
            .pos
            .chunks_exact(bb)
            .all(|h| h[..c.len].iter().all(|&p| p < c.next_pos))
}
