//! Causal attention inputs with planted heavy hitters.

use proptest::collection::{SizeRange, vec};
use proptest::prelude::*;
use std::ops::RangeInclusive;

/// The input of H2O attention (`h2o::prefill`, `kn_h2o_prefill_f32`): `q`
/// `[n_heads][seq][d]`, `k` and `v` `[n_kv_heads][seq][d]`, with heavy hitters
/// planted at the positions in `heavy`, in every kv head.
///
/// A planted key is aligned with every query: its logit is about 4 (at the default
/// scale `1/sqrt(d)`) where the other keys' are near 0, so from its position on it
/// takes most of each row's attention, and its accumulated score dominates the others'.
/// A cache whose `heavy` budget covers the planted tokens keeps them.
#[derive(Clone, Debug, PartialEq)]
pub struct Attention {
    /// Query heads, a multiple of `n_kv_heads`.
    pub n_heads: usize,
    /// Key/value heads.
    pub n_kv_heads: usize,
    /// Tokens.
    pub seq: usize,
    /// Head dimension.
    pub d: usize,
    /// Queries, `[n_heads][seq][d]`.
    pub q: Vec<f32>,
    /// Keys, `[n_kv_heads][seq][d]`.
    pub k: Vec<f32>,
    /// Values, `[n_kv_heads][seq][d]`.
    pub v: Vec<f32>,
    /// The planted heavy hitters' positions, ascending, all in the first half of the
    /// prompt (so each is followed by many rows that attend to it).
    pub heavy: Vec<usize>,
}

/// Attention inputs with `seq` in `seq`, 1 or 2 kv heads, 1 or 2 query heads per kv
/// head, `d` one of 4, 8 or 16, and `planted` heavy hitters (at most `seq / 2`).
///
/// # Panics
/// If `seq` allows fewer than 2 tokens.
pub fn attention(
    seq: impl Into<SizeRange>,
    planted: RangeInclusive<usize>,
) -> impl Strategy<Value = Attention> {
    let seq: SizeRange = seq.into();
    assert!(seq.start() >= 2, "attention: seq >= 2");
    (
        seq.start()..seq.end_excl(),
        1usize..=2,
        1usize..=2,
        prop::sample::select(vec![4usize, 8, 16]),
        planted,
    )
        .prop_flat_map(|(seq, kv, group, d, planted)| {
            let planted = planted.min(seq / 2);
            let heavy = prop::sample::subsequence((0..seq / 2).collect::<Vec<_>>(), planted);
            let noise = |len| vec(-1.0f32..1.0, len);
            (
                Just((seq, kv, kv * group, d)),
                heavy,
                noise(kv * group * seq * d),
                noise(kv * seq * d),
                noise(kv * seq * d),
            )
        })
        .prop_map(|((seq, n_kv_heads, n_heads, d), heavy, q, k, v)| {
            let mut x = Attention {
                n_heads,
                n_kv_heads,
                seq,
                d,
                q,
                k,
                v,
                heavy,
            };
            plant(&mut x);
            x
        })
}

/// Makes coordinate 0 the shared direction: every query gets 2 there (plus its noise
/// scaled to 0.2 elsewhere), a planted key `2 sqrt(d)`, every other key 0.
fn plant(x: &mut Attention) {
    let d = x.d;
    for row in x.q.chunks_exact_mut(d) {
        row.iter_mut().for_each(|e| *e *= 0.2);
        row[0] = 2.0;
    }
    let strong = 2.0 * (d as f32).sqrt();
    for (i, row) in x.k.chunks_exact_mut(d).enumerate() {
        row.iter_mut().for_each(|e| *e *= 0.2);
        row[0] = if x.heavy.contains(&(i % x.seq)) {
            strong
        } else {
            0.0
        };
    }
}
