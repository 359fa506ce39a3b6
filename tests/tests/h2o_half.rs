//! H2O attention with half-precision storage (`f16`, `bf16`): every half kernel
//! equals the `f32` kernel run on the upcast inputs up to the order of the `f32`
//! additions (relative 1e-5 before the final rounding), with `out` rounded to the half
//! type to nearest even; the kept set and the scores are the `f32` kernel's; NaN and
//! infinity bit patterns are `KN_ERR_NON_FINITE` before anything is written; and the C
//! entry points equal the Rust ones.

use kernels as ffi;
use kernels_core::h2o::{self, H2oCache, H2oKernels, H2oOpts, KvElement};
use kernels_core::{Error, Scalar, Sequential, Storage, bf16, f16};
use kernels_simd::Simd;
use kernels_tests::uniform;
use proptest::prelude::*;

/// A decode problem: sizes, budget and `steps` tokens (`q`: `[steps][n_heads][d]`,
/// `k`, `v`: `[steps][n_kv][d]`), in `f32`.
#[derive(Clone, Debug)]
struct Steps {
    n_heads: usize,
    n_kv: usize,
    d: usize,
    budget: (usize, usize, usize),
    steps: usize,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
}

impl Steps {
    fn new(
        group: usize,
        n_kv: usize,
        d: usize,
        budget: (usize, usize, usize),
        steps: usize,
        seed: u64,
    ) -> Steps {
        let n_heads = group * n_kv;
        Steps {
            n_heads,
            n_kv,
            d,
            budget,
            steps,
            q: uniform(steps * n_heads * d, seed, 2.0),
            k: uniform(steps * n_kv * d, seed + 1, 2.0),
            v: uniform(steps * n_kv * d, seed + 2, 1.0),
        }
    }

    fn slots(&self) -> usize {
        self.budget.0 + self.budget.1 + self.budget.2
    }
}

fn round<S: Storage>(x: &[f32]) -> Vec<S> {
    x.iter().map(|&v| S::from_f32(v)).collect()
}

fn up<S: Storage>(x: &[S]) -> Vec<f32> {
    x.iter().map(|v| v.to_f32()).collect()
}

/// What a run of decode steps leaves: every step's outputs, and the final cache.
struct Decoded<S> {
    out: Vec<S>,
    k: Vec<S>,
    pos: Vec<u64>,
    score: Vec<f32>,
}

/// Every step of `c` with elements `S` (the given inputs), on the kernels `P`.
fn decode_all<P: H2oKernels<f32>, S: KvElement>(
    c: &Steps,
    q: &[S],
    k: &[S],
    v: &[S],
) -> Decoded<S> {
    let (d, b) = (c.d, c.slots());
    let (mut kc, mut vc) = (
        vec![S::default(); c.n_kv * b * d],
        vec![S::default(); c.n_kv * b * d],
    );
    let (mut score, mut pos) = (vec![0.0; c.n_kv * b], vec![0u64; c.n_kv * b]);
    let (sink, heavy, recent) = c.budget;
    let mut work = vec![
        0u8;
        h2o::decode_stored_work_size::<S>(c.n_kv, d, b, c.n_heads)
            .unwrap()
            .bytes()
    ];
    let mut out = vec![S::default(); c.steps * c.n_heads * d];
    {
        let mut cache = H2oCache::new(
            c.n_kv, d, sink, heavy, recent, &mut kc, &mut vc, &mut score, &mut pos,
        )
        .unwrap();
        let (qn, kvn) = (c.n_heads * d, c.n_kv * d);
        for t in 0..c.steps {
            h2o::decode_stored::<P, S>(
                &Sequential,
                &mut cache,
                c.n_heads,
                &q[t * qn..][..qn],
                &k[t * kvn..][..kvn],
                &v[t * kvn..][..kvn],
                0.0,
                &mut out[t * qn..][..qn],
                &mut work,
            )
            .unwrap();
        }
    }
    Decoded {
        out,
        k: kc,
        pos,
        score,
    }
}

/// Whether `got` is the rounding to `S` of a value within `slack` of `exact`
/// (rounding is monotone: it lies between the roundings of the interval's ends).
fn rounds_within<S: Storage>(got: S, exact: f32, slack: f32) -> bool {
    let (lo, hi) = (
        S::from_f32(exact - slack).to_f32(),
        S::from_f32(exact + slack).to_f32(),
    );
    let g = got.to_f32();
    lo <= g && g <= hi
}

/// The contract: the half decode of `c` (its data rounded to `S`) against the `f32`
/// decode of the upcast data, both on `P`.
fn check_decode<P: H2oKernels<f32>, S: KvElement>(c: &Steps) -> Result<(), TestCaseError> {
    let (q, k, v) = (round::<S>(&c.q), round::<S>(&c.k), round::<S>(&c.v));
    let half = decode_all::<P, S>(c, &q, &k, &v);
    let full = decode_all::<P, f32>(c, &up(&q), &up(&k), &up(&v));
    // The weighted sums of V are bounded by max |v|: the scale of their rounding.
    let vmax = up(&v).iter().fold(0.0f32, |m, x| m.max(x.abs()));
    for (i, (&h, &f)) in half.out.iter().zip(&full.out).enumerate() {
        prop_assert!(
            rounds_within(h, f, 1e-5 * (f.abs() + vmax)),
            "out[{i}] = {h:?}, f32 kernel {f}"
        );
    }
    prop_assert_eq!(&half.pos, &full.pos, "the same tokens are kept");
    for (h, f) in half.score.iter().zip(&full.score) {
        prop_assert!((h - f).abs() <= 1e-5 * (1.0 + f.abs()));
    }
    prop_assert_eq!(up(&half.k), full.k, "the cache stores the inputs as given");
    Ok(())
}

/// The half loops add in the `f32` loops' order, so today the half decode is in fact
/// the rounding of the `f32` decode's outputs, bit for bit (a stronger property than
/// the contract, checked so that a change of order is noticed).
fn check_identical<P: H2oKernels<f32>, S: KvElement>(c: &Steps) -> Result<(), TestCaseError> {
    let (q, k, v) = (round::<S>(&c.q), round::<S>(&c.k), round::<S>(&c.v));
    let half = decode_all::<P, S>(c, &q, &k, &v);
    let full = decode_all::<P, f32>(c, &up(&q), &up(&k), &up(&v));
    prop_assert_eq!(half.out, round::<S>(&full.out));
    prop_assert_eq!(half.score, full.score);
    Ok(())
}

fn steps() -> impl Strategy<Value = Steps> {
    (
        1usize..=4,
        1usize..=2,
        prop_oneof![1usize..=20, Just(64usize), Just(128usize)],
        (0usize..3, 0usize..6, 1usize..6),
        1usize..40,
        any::<u64>(),
    )
        .prop_map(|(group, n_kv, d, budget, steps, seed)| {
            Steps::new(group, n_kv, d, budget, steps, seed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn decode_bf16_is_the_f32_decode_rounded(c in steps()) {
        check_decode::<Simd, bf16>(&c)?;
        check_decode::<Scalar, bf16>(&c)?;
    }

    #[test]
    fn decode_f16_is_the_f32_decode_rounded(c in steps()) {
        check_decode::<Simd, f16>(&c)?;
        check_decode::<Scalar, f16>(&c)?;
    }

    #[test]
    fn half_decode_adds_in_the_f32_order(c in steps()) {
        check_identical::<Simd, bf16>(&c)?;
        check_identical::<Simd, f16>(&c)?;
        check_identical::<Scalar, bf16>(&c)?;
        check_identical::<Scalar, f16>(&c)?;
    }
}

/// A cache longer than a key chunk: the chunks are combined as for `f32`.
#[test]
fn half_decode_over_several_key_chunks() {
    let c = Steps::new(2, 1, 8, (2, 2100, 16), 2200, 11);
    for r in [
        check_decode::<Simd, bf16>(&c),
        check_decode::<Simd, f16>(&c),
        check_identical::<Simd, bf16>(&c),
    ] {
        r.unwrap();
    }
}

/// Values near the top of the `f16` range stay finite and round correctly; the
/// output's rounding is to nearest even.
#[test]
fn f16_extremes_round_to_nearest_even() {
    let d = 4;
    let (mut k, mut v) = (vec![f16::ZERO; d], vec![f16::ZERO; d]);
    let (mut score, mut pos) = ([0.0f32], [0u64]);
    let mut cache = H2oCache::new(1, d, 0, 0, 1, &mut k, &mut v, &mut score, &mut pos).unwrap();
    let mut work = vec![
        0u8;
        h2o::decode_stored_work_size::<f16>(1, d, 1, 1)
            .unwrap()
            .bytes()
    ];
    let vn = [
        f16::MAX,
        f16::MIN_POSITIVE_SUBNORMAL,
        f16::NEG_ONE,
        f16::from_f32(1.5),
    ];
    let mut out = [f16::NAN; 4];
    h2o::decode_stored::<Simd, f16>(
        &Sequential,
        &mut cache,
        1,
        &[f16::ONE; 4],
        &[f16::ONE; 4],
        &vn,
        0.0,
        &mut out,
        &mut work,
    )
    .unwrap();
    // One cached token: its probability is 1 and out is v itself.
    assert_eq!(out, vn);
}

/// A cache of each type with one step done, its struct and buffers, for the bad-input
/// checks through the C entry points.
struct CCache<H> {
    k: Vec<H>,
    v: Vec<H>,
    score: Vec<f32>,
    pos: Vec<u64>,
}

const F16_BAD: [u16; 4] = [0x7c00, 0xfc00, 0x7e00, 0x7c01];
const BF16_BAD: [u16; 4] = [0x7f80, 0xff80, 0x7fc0, 0xffff];

macro_rules! c_decode_checks {
    ($name:ident, $cache:ident, $init:ident, $work:ident, $decode:ident, $h:ty, $bad:expr) => {
        /// The C decode equals the Rust one, and NaN or infinity bit patterns in `q`,
        /// `k_new`, `v_new` are KN_ERR_NON_FINITE with the cache, its struct and `out`
        /// untouched.
        #[test]
        fn $name() {
            let (n_kv, d, n_heads) = (2usize, 12usize, 4usize);
            let c = Steps::new(2, n_kv, d, (1, 2, 2), 9, 5);
            let b = c.slots();
            let (q, k, v) = (round::<$h>(&c.q), round::<$h>(&c.k), round::<$h>(&c.v));
            let want = decode_all::<Simd, $h>(&c, &q, &k, &v);
            let mut m = CCache::<u16> {
                k: vec![0; n_kv * b * d],
                v: vec![0; n_kv * b * d],
                score: vec![0.0; n_kv * b],
                pos: vec![0; n_kv * b],
            };
            let mut cache = core::mem::MaybeUninit::<ffi::$cache>::uninit();
            // SAFETY: buffers of the lengths the sizes imply, alive for the test.
            let s = unsafe {
                ffi::$init(
                    cache.as_mut_ptr(),
                    n_kv,
                    d,
                    1,
                    2,
                    2,
                    m.k.as_mut_ptr(),
                    m.v.as_mut_ptr(),
                    m.score.as_mut_ptr(),
                    m.pos.as_mut_ptr(),
                )
            };
            assert_eq!(s, ffi::KN_OK);
            // SAFETY: initialised by the call above.
            let mut cache = unsafe { cache.assume_init() };
            let mut bytes = 0usize;
            // SAFETY: valid pointers.
            let s = unsafe { ffi::$work(&cache, n_heads, &mut bytes) };
            assert_eq!(s, ffi::KN_OK);
            assert_eq!(
                bytes,
                h2o::decode_stored_work_size::<$h>(n_kv, d, b, n_heads)
                    .unwrap()
                    .bytes()
            );
            let mut work = vec![0u8; bytes];
            let bits = |x: &[$h]| x.iter().map(|h| h.to_bits()).collect::<Vec<u16>>();
            let (q, k, v) = (bits(&q), bits(&k), bits(&v));
            let (qn, kvn) = (n_heads * d, n_kv * d);
            let mut out = vec![0u16; c.steps * qn];
            for t in 0..c.steps {
                // SAFETY: every pointer valid for its length.
                let s = unsafe {
                    ffi::$decode(
                        &mut cache,
                        n_heads,
                        q[t * qn..].as_ptr(),
                        k[t * kvn..].as_ptr(),
                        v[t * kvn..].as_ptr(),
                        0.0,
                        out[t * qn..].as_mut_ptr(),
                        work.as_mut_ptr().cast(),
                        bytes,
                    )
                };
                assert_eq!(s, ffi::KN_OK);
            }
            assert_eq!(out, bits(&want.out), "C decode = Rust decode");
            assert_eq!(m.pos, want.pos);
            assert_eq!(m.score, want.score);
            // Bad bit patterns, one at a time in each input.
            let snapshot = (m.k.clone(), m.v.clone(), m.score.clone(), m.pos.clone());
            let (len, next_pos) = (cache.len, cache.next_pos);
            for (which, at) in [(0usize, 0usize), (0, qn - 1), (1, 3), (2, kvn - 1)] {
                for bad in $bad {
                    let (mut q, mut kn, mut vn) =
                        (q[..qn].to_vec(), k[..kvn].to_vec(), v[..kvn].to_vec());
                    [&mut q, &mut kn, &mut vn][which][at] = bad;
                    let mut out = vec![0x1234u16; qn];
                    // SAFETY: every pointer valid for its length.
                    let s = unsafe {
                        ffi::$decode(
                            &mut cache,
                            n_heads,
                            q.as_ptr(),
                            kn.as_ptr(),
                            vn.as_ptr(),
                            0.0,
                            out.as_mut_ptr(),
                            work.as_mut_ptr().cast(),
                            bytes,
                        )
                    };
                    assert_eq!(s, ffi::KN_ERR_NON_FINITE, "{bad:#06x} in input {which}");
                    assert!(out.iter().all(|&o| o == 0x1234), "out untouched");
                    assert_eq!((cache.len, cache.next_pos), (len, next_pos));
                    assert_eq!(
                        (&m.k, &m.v, &m.score, &m.pos),
                        (&snapshot.0, &snapshot.1, &snapshot.2, &snapshot.3),
                        "cache untouched"
                    );
                }
            }
        }
    };
}

c_decode_checks!(
    c_decode_f16,
    kn_h2o_cache_f16,
    kn_h2o_cache_init_f16,
    kn_h2o_decode_f16_work_bytes,
    kn_h2o_decode_f16,
    f16,
    F16_BAD
);
c_decode_checks!(
    c_decode_bf16,
    kn_h2o_cache_bf16,
    kn_h2o_cache_init_bf16,
    kn_h2o_decode_bf16_work_bytes,
    kn_h2o_decode_bf16,
    bf16,
    BF16_BAD
);

/// The core refuses non-finite half inputs too, before any write.
#[test]
fn core_decode_refuses_non_finite_halves() {
    let d = 3;
    let (mut k, mut v) = (vec![bf16::ONE; 2 * d], vec![bf16::ONE; 2 * d]);
    let (mut score, mut pos) = ([0.25f32, 0.5], [0u64, 1]);
    let snapshot = (k.clone(), v.clone(), score, pos);
    let mut work = vec![
        0u8;
        h2o::decode_stored_work_size::<bf16>(1, d, 2, 1)
            .unwrap()
            .bytes()
    ];
    let mut out = [bf16::ZERO; 3];
    {
        let mut cache =
            H2oCache::from_parts(1, d, 0, 1, 1, 2, 2, &mut k, &mut v, &mut score, &mut pos)
                .unwrap();
        let bad = [bf16::ONE, bf16::NAN, bf16::ONE];
        let e = h2o::decode_stored::<Simd, bf16>(
            &Sequential,
            &mut cache,
            1,
            &[bf16::ONE; 3],
            &[bf16::ONE; 3],
            &bad,
            0.0,
            &mut out,
            &mut work,
        );
        assert_eq!(e, Err(Error::NonFinite));
        let e = h2o::decode_stored::<Simd, bf16>(
            &Sequential,
            &mut cache,
            1,
            &[bf16::ONE; 3],
            &[bf16::ONE; 3],
            &[bf16::ONE; 3],
            0.0,
            &mut out,
            &mut work[..1],
        );
        assert_eq!(e, Err(Error::Workspace));
        assert_eq!((cache.len(), cache.next_pos()), (2, 2));
    }
    assert_eq!((k, v, score, pos), snapshot);
    assert_eq!(out, [bf16::ZERO; 3]);
}

/// A prefill problem in `f32`: `q` `[n_heads][seq][d]`, `k`, `v` `[n_kv][seq][d]`.
#[derive(Clone, Debug)]
struct Prompt {
    n_heads: usize,
    n_kv: usize,
    seq: usize,
    d: usize,
    opts: H2oOpts,
    scores: bool,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
}

impl Prompt {
    #[allow(clippy::too_many_arguments)]
    fn new(
        group: usize,
        n_kv: usize,
        seq: usize,
        d: usize,
        budget: (usize, usize, usize),
        scores: bool,
        seed: u64,
    ) -> Prompt {
        let n_heads = group * n_kv;
        Prompt {
            n_heads,
            n_kv,
            seq,
            d,
            opts: H2oOpts::default()
                .sink(budget.0)
                .heavy(budget.1)
                .recent(budget.2),
            scores,
            q: uniform(n_heads * seq * d, seed, 2.0),
            k: uniform(n_kv * seq * d, seed + 1, 2.0),
            v: uniform(n_kv * seq * d, seed + 2, 1.0),
        }
    }
}

/// What prefill returns: out, scores (NaN when not asked for), keep.
struct Prefilled<S> {
    out: Vec<S>,
    scores: Vec<f32>,
    keep: Vec<u8>,
}

fn prefill<P: H2oKernels<f32>, S: KvElement>(
    c: &Prompt,
    q: &[S],
    k: &[S],
    v: &[S],
) -> Prefilled<S> {
    let bytes = h2o::prefill_stored_work_size::<S>(c.n_heads, c.n_kv, c.seq, c.d)
        .unwrap()
        .bytes();
    let mut work = vec![0u8; bytes];
    let mut r = Prefilled {
        out: vec![S::default(); q.len()],
        scores: vec![f32::NAN; c.n_kv * c.seq],
        keep: vec![7; c.n_kv * c.seq],
    };
    h2o::prefill_stored::<P, S>(
        &Sequential,
        c.n_heads,
        c.n_kv,
        c.seq,
        c.d,
        q,
        k,
        v,
        &c.opts,
        &mut r.out,
        c.scores.then_some(&mut r.scores[..]),
        Some(&mut r.keep),
        &mut work,
    )
    .unwrap();
    r
}

/// The contract for prefill: the half prefill of `c` against the `f32` prefill of
/// the upcast data, both on `P`; and (`identical`) bit for bit after rounding.
fn check_prefill<P: H2oKernels<f32>, S: KvElement>(
    c: &Prompt,
    identical: bool,
) -> Result<(), TestCaseError> {
    let (q, k, v) = (round::<S>(&c.q), round::<S>(&c.k), round::<S>(&c.v));
    let half = prefill::<P, S>(c, &q, &k, &v);
    let full = prefill::<P, f32>(c, &up(&q), &up(&k), &up(&v));
    let vmax = up(&v).iter().fold(0.0f32, |m, x| m.max(x.abs()));
    for (i, (&h, &f)) in half.out.iter().zip(&full.out).enumerate() {
        prop_assert!(
            rounds_within(h, f, 1e-5 * (f.abs() + vmax)),
            "out[{i}] = {h:?}, f32 kernel {f}"
        );
    }
    prop_assert_eq!(&half.keep, &full.keep);
    for (h, f) in half.scores.iter().zip(&full.scores) {
        prop_assert!((h - f).abs() <= 1e-5 * (1.0 + f.abs()) || (h.is_nan() && f.is_nan()));
    }
    if identical {
        prop_assert_eq!(half.out, round::<S>(&full.out));
        prop_assert_eq!(
            half.scores.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            full.scores.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }
    Ok(())
}

fn prompts() -> impl Strategy<Value = Prompt> {
    (
        1usize..=3,
        1usize..=2,
        1usize..150,
        prop_oneof![1usize..=20, Just(64usize)],
        prop_oneof![
            (0usize..3, 0usize..6, 1usize..6),
            Just((0usize, 200usize, 0usize))
        ],
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(group, n_kv, seq, d, budget, scores, seed)| {
            Prompt::new(group, n_kv, seq, d, budget, scores, seed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every path (blocked full budget, row by row with scores, evicting) on both
    /// kernels: the half prefill is the f32 prefill on the upcast data, rounded.
    #[test]
    fn prefill_bf16_is_the_f32_prefill_rounded(c in prompts()) {
        check_prefill::<Simd, bf16>(&c, true)?;
        check_prefill::<Scalar, bf16>(&c, true)?;
    }

    #[test]
    fn prefill_f16_is_the_f32_prefill_rounded(c in prompts()) {
        check_prefill::<Simd, f16>(&c, true)?;
        check_prefill::<Scalar, f16>(&c, true)?;
    }
}

/// Prefill and decode steps over the same half tokens keep the same set (this data has
/// no near tie) with the same scores to rounding, and give the same outputs to one
/// unit in the last place of bf16 (prefill sums its products in another order, which
/// can move an f32 result across a rounding boundary).
#[test]
fn half_prefill_equals_half_decode_steps() {
    let (group, n_kv, seq, d) = (2usize, 2usize, 40usize, 8usize);
    let c = Prompt::new(group, n_kv, seq, d, (1, 3, 4), true, 21);
    let n_heads = group * n_kv;
    let (q, k, v) = (
        round::<bf16>(&c.q),
        round::<bf16>(&c.k),
        round::<bf16>(&c.v),
    );
    let pre = prefill::<Simd, bf16>(&c, &q, &k, &v);
    // The same tokens as decode steps: [steps][heads][d].
    let steps = |x: &[bf16], heads: usize| -> Vec<bf16> {
        (0..seq)
            .flat_map(|t| (0..heads).flat_map(move |h| (0..d).map(move |i| (h, t, i))))
            .map(|(h, t, i)| x[(h * seq + t) * d + i])
            .collect()
    };
    let s = Steps {
        n_heads,
        n_kv,
        d,
        budget: (1, 3, 4),
        steps: seq,
        q: vec![],
        k: vec![],
        v: vec![],
    };
    let dec = decode_all::<Simd, bf16>(&s, &steps(&q, n_heads), &steps(&k, n_kv), &steps(&v, n_kv));
    for h in 0..n_heads {
        for t in 0..seq {
            let (a, b) = (
                &pre.out[(h * seq + t) * d..][..d],
                &dec.out[(t * n_heads + h) * d..][..d],
            );
            for (x, y) in a.iter().zip(b) {
                let (x, y) = (x.to_f32(), y.to_f32());
                assert!(
                    (x - y).abs() <= y.abs() / 128.0,
                    "head {h} row {t}: {x} vs {y}"
                );
            }
        }
    }
    let b = s.slots();
    for g in 0..n_kv {
        for slot in 0..b {
            let p = dec.pos[g * b + slot] as usize;
            assert_eq!(pre.keep[g * seq + p], 1);
            let (x, y) = (pre.scores[g * seq + p], dec.score[g * b + slot]);
            assert!((x - y).abs() <= 1e-5 * (1.0 + y), "score {x} vs {y}");
        }
    }
}

macro_rules! c_prefill_checks {
    ($name:ident, $work:ident, $prefill:ident, $h:ty, $bad:expr) => {
        /// The C prefill equals the Rust one; NaN or infinity bit patterns in `q`,
        /// `k`, `v` are KN_ERR_NON_FINITE with `out`, `scores` and `keep` untouched.
        #[test]
        fn $name() {
            for (budget, scores) in [((0, 100, 0), false), ((1, 2, 3), true)] {
                let c = Prompt::new(2, 2, 23, 12, budget, scores, 9);
                let (q, k, v) = (round::<$h>(&c.q), round::<$h>(&c.k), round::<$h>(&c.v));
                let want = prefill::<Simd, $h>(&c, &q, &k, &v);
                let bits = |x: &[$h]| x.iter().map(|h| h.to_bits()).collect::<Vec<u16>>();
                let (q, k, v) = (bits(&q), bits(&k), bits(&v));
                let mut bytes = 0usize;
                // SAFETY: valid pointer.
                let s = unsafe { ffi::$work(c.n_heads, c.n_kv, c.seq, c.d, &mut bytes) };
                assert_eq!(s, ffi::KN_OK);
                assert_eq!(
                    bytes,
                    h2o::prefill_stored_work_size::<$h>(c.n_heads, c.n_kv, c.seq, c.d)
                        .unwrap()
                        .bytes()
                );
                let mut work = vec![0u8; bytes];
                let mut opts = ffi::kn_h2o_opts_default();
                (opts.sink, opts.heavy, opts.recent) = budget;
                let run = |q: &[u16], k: &[u16], v: &[u16], work: &mut [u8]| {
                    let mut out = vec![0x1234u16; q.len()];
                    let mut sc = vec![-2.0f32; c.n_kv * c.seq];
                    let mut keep = vec![9u8; c.n_kv * c.seq];
                    let sp = if scores {
                        sc.as_mut_ptr()
                    } else {
                        core::ptr::null_mut()
                    };
                    // SAFETY: every pointer valid for its length.
                    let s = unsafe {
                        ffi::$prefill(
                            c.n_heads,
                            c.n_kv,
                            c.seq,
                            c.d,
                            q.as_ptr(),
                            k.as_ptr(),
                            v.as_ptr(),
                            &opts,
                            out.as_mut_ptr(),
                            sp,
                            keep.as_mut_ptr(),
                            work.as_mut_ptr().cast(),
                            work.len(),
                        )
                    };
                    (s, out, sc, keep)
                };
                let (s, out, sc, keep) = run(&q, &k, &v, &mut work);
                assert_eq!(s, ffi::KN_OK);
                assert_eq!(out, bits(&want.out), "C prefill = Rust prefill");
                assert_eq!(keep, want.keep);
                if scores {
                    assert_eq!(sc, want.scores);
                }
                for which in 0..3 {
                    for (n, bad) in $bad.into_iter().enumerate() {
                        let (mut q, mut k, mut v) = (q.clone(), k.clone(), v.clone());
                        let x = match which {
                            0 => &mut q,
                            1 => &mut k,
                            _ => &mut v,
                        };
                        let at = (n * 7919) % x.len();
                        x[at] = bad;
                        work.fill(0xa5);
                        let (s, out, sc, keep) = run(&q, &k, &v, &mut work);
                        assert_eq!(s, ffi::KN_ERR_NON_FINITE, "{bad:#06x} in input {which}");
                        assert!(out.iter().all(|&o| o == 0x1234), "out untouched");
                        assert!(sc.iter().all(|&x| x == -2.0), "scores untouched");
                        assert!(keep.iter().all(|&x| x == 9), "keep untouched");
                        assert!(work.iter().all(|&x| x == 0xa5), "work untouched");
                    }
                }
            }
        }
    };
}

c_prefill_checks!(
    c_prefill_f16,
    kn_h2o_prefill_f16_work_bytes,
    kn_h2o_prefill_f16,
    f16,
    F16_BAD
);
c_prefill_checks!(
    c_prefill_bf16,
    kn_h2o_prefill_bf16_work_bytes,
    kn_h2o_prefill_bf16,
    bf16,
    BF16_BAD
);
