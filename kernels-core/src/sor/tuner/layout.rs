//! Where each field of the tuner lives in its words, and the check that a block of
//! words (possibly garbage from a C caller) is a tuner state this code wrote.

use crate::{Error, Result};

/// The most arms a tuner holds.
pub const OMEGA_TUNER_MAX_ARMS: usize = 64;
/// Chebyshev features per arm of the contextual tuner (degree 5).
pub(super) const FEATURES: usize = 6;
/// Packed upper triangle of a `FEATURES x FEATURES` Gram matrix.
pub(super) const GRAM: usize = FEATURES * (FEATURES + 1) / 2;
/// Words per arm of the contextual model: the packed Gram matrix, then `sum phi y`.
pub(super) const PER_ARM: usize = GRAM + FEATURES;

pub(super) const MAGIC: u64 = u64::from_le_bytes(*b"KNOMEGA\x01");
pub(super) const KIND_TSALLIS: u64 = 1;
pub(super) const KIND_CONTEXTUAL: u64 = 2;

pub(super) const W_MAGIC: usize = 0;
pub(super) const W_KIND: usize = 1;
pub(super) const W_ARMS: usize = 2;
pub(super) const W_OMEGA_MIN: usize = 3;
pub(super) const W_OMEGA_MAX: usize = 4;
pub(super) const W_CONTEXT_MIN: usize = 5;
pub(super) const W_CONTEXT_MAX: usize = 6;
pub(super) const W_RNG: usize = 7;
pub(super) const W_ROUNDS: usize = 8;
pub(super) const W_PENDING: usize = 9;
pub(super) const W_ARM: usize = 10;
pub(super) const W_PROB: usize = 11;
pub(super) const W_Z: usize = 12;
pub(super) const W_COST_SUM: usize = 13;
/// Header words (14 and 15 are reserved, zero).
const HEADER: usize = 16;
/// Tsallis-INF: cumulative loss estimate per arm in units of cost (any sign: the
/// reduced-variance estimates subtract a baseline).
pub(super) const W_LOSS: usize = HEADER;
/// Contextual: the per-arm regression statistics.
pub(super) const W_MODEL: usize = W_LOSS + OMEGA_TUNER_MAX_ARMS;

/// Size of the state in 64-bit words: header, losses, and the contextual model for
/// the maximum number of arms (14,464 bytes).
pub const OMEGA_TUNER_WORDS: usize = W_MODEL + OMEGA_TUNER_MAX_ARMS * PER_ARM;

/// The state of an omega tuner: plain words, so that a C caller can hold it.
pub type TunerWords = [u64; OMEGA_TUNER_WORDS];

pub(super) fn f(w: &TunerWords, k: usize) -> f64 {
    f64::from_bits(w[k])
}

pub(super) fn set(w: &mut TunerWords, k: usize, v: f64) {
    w[k] = v.to_bits();
}

/// The header fields, read after [`check`] accepted them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Header {
    pub contextual: bool,
    pub arms: usize,
    pub omega_min: f64,
    pub omega_max: f64,
    pub context_min: f64,
    pub context_max: f64,
    pub rounds: u64,
    pub pending: bool,
    pub arm: usize,
    pub prob: f64,
    pub cost_sum: f64,
}

/// Accepts only a state this code could have written: magic and version, kind,
/// ranges, the pending-round fields, and every statistic finite and in range.
/// Anything else is [`Error::Argument`]: the caller passed garbage or an
/// uninitialised tuner.
pub(super) fn check(w: &TunerWords) -> Result<Header> {
    let bad = Err(Error::Argument);
    if w[W_MAGIC] != MAGIC || w[14] != 0 || w[15] != 0 {
        return bad;
    }
    let contextual = match w[W_KIND] {
        KIND_TSALLIS => false,
        KIND_CONTEXTUAL => true,
        _ => return bad,
    };
    let arms = usize::try_from(w[W_ARMS]).unwrap_or(0);
    let h = Header {
        contextual,
        arms,
        omega_min: f(w, W_OMEGA_MIN),
        omega_max: f(w, W_OMEGA_MAX),
        context_min: f(w, W_CONTEXT_MIN),
        context_max: f(w, W_CONTEXT_MAX),
        rounds: w[W_ROUNDS],
        pending: w[W_PENDING] == 1,
        arm: usize::try_from(w[W_ARM]).unwrap_or(usize::MAX),
        prob: f(w, W_PROB),
        cost_sum: f(w, W_COST_SUM),
    };
    let z = f(w, W_Z);
    let ok = (2..=OMEGA_TUNER_MAX_ARMS).contains(&arms)
        && omega_range_ok(h.omega_min, h.omega_max)
        && context_range_ok(h.context_min, h.context_max)
        && w[W_PENDING] <= 1
        && h.rounds < 1 << 53
        && h.cost_sum >= 0.0
        && h.cost_sum.is_finite()
        && (!h.pending || (h.arm < arms && h.prob > 0.0 && h.prob <= 1.0))
        && (-1.0..=1.0).contains(&z);
    if !ok {
        return bad;
    }
    let losses_ok = w[W_LOSS..W_LOSS + arms]
        .iter()
        .all(|&v| f64::from_bits(v).is_finite());
    let model_ok = w[W_MODEL..W_MODEL + arms * PER_ARM]
        .chunks_exact(PER_ARM)
        .all(|m| {
            m.iter().all(|&v| f64::from_bits(v).is_finite())
                && diagonal(m).all(|d| d >= super::chebcb::RIDGE)
        });
    if losses_ok && model_ok { Ok(h) } else { bad }
}

/// The diagonal of one arm's packed Gram matrix.
fn diagonal(m: &[u64]) -> impl Iterator<Item = f64> + '_ {
    (0..FEATURES).map(move |i| f64::from_bits(m[packed(i, i)]))
}

/// Index of `(i, j)`, `i <= j`, in the packed upper triangle (row by row).
pub(super) const fn packed(i: usize, j: usize) -> usize {
    i * FEATURES - i * (i + 1) / 2 + j
}

pub(super) fn omega_range_ok(lo: f64, hi: f64) -> bool {
    lo > 0.0 && lo < hi && hi < 2.0
}

pub(super) fn context_range_ok(lo: f64, hi: f64) -> bool {
    // The width must be finite too: contexts are mapped to [-1, 1] through it.
    lo.is_finite() && hi.is_finite() && lo < hi && (hi - lo).is_finite()
}
