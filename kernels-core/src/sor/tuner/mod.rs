//! The omega tuner: learns the relaxation factor across a sequence of related
//! systems from the cost of each solve alone (sweeps or seconds).
//!
//! Arms are `arms` omegas evenly spaced on `[omega_min, omega_max]`. Each round is
//! [`tuner_next`] (draw an omega) then exactly one [`tuner_feedback`] (its cost).
//! - Non-contextual: Tsallis-INF ([`tsallis`]) on the loss `cost / scale`, `scale`
//!   the running mean cost (applied to the whole sum at each round), learning rate
//!   `2 / sqrt(t)`, reduced-variance importance-weighted loss estimates (centred on
//!   the mean cost for arms with probability at least `eta^2`; see
//!   [`tuner_feedback`]).
//! - Contextual: ChebCB ([`chebcb`]) on one scalar context in
//!   `[context_min, context_max]` (values outside are clamped).
//!
//! The whole state, the seeded PRNG included, lives in a fixed block of
//! [`OMEGA_TUNER_WORDS`] `u64` words that the caller owns, so the tuner allocates nothing and the same seed replays the same choices. Words
//! handed back by a caller are untrusted: every call first checks the magic word and
//! every invariant, and refuses anything else with [`Error::Argument`] before
//! writing.

mod chebcb;
mod layout;
mod tsallis;

pub use layout::{OMEGA_TUNER_MAX_ARMS, OMEGA_TUNER_WORDS, TunerWords};

use crate::{Error, Result};
use layout::*;

/// A new non-contextual (Tsallis-INF) tuner state.
///
/// Errors: `arms` outside `2..=OMEGA_TUNER_MAX_ARMS` or not
/// `0 < omega_min < omega_max < 2`, [`Error::Argument`]; NaN or infinite bounds,
/// [`Error::NonFinite`].
pub fn tuner_init(arms: u32, omega_min: f64, omega_max: f64, seed: u64) -> Result<TunerWords> {
    new_state(KIND_TSALLIS, arms, omega_min, omega_max, 0.0, 1.0, seed)
}

/// A new contextual (ChebCB) tuner state; contexts are mapped from
/// `[context_min, context_max]` to `[-1, 1]`.
///
/// Errors: as [`tuner_init`], plus `context_min >= context_max`,
/// [`Error::Argument`], and non-finite context bounds, [`Error::NonFinite`].
pub fn tuner_init_contextual(
    arms: u32,
    omega_min: f64,
    omega_max: f64,
    context_min: f64,
    context_max: f64,
    seed: u64,
) -> Result<TunerWords> {
    new_state(
        KIND_CONTEXTUAL,
        arms,
        omega_min,
        omega_max,
        context_min,
        context_max,
        seed,
    )
}

fn new_state(
    kind: u64,
    arms: u32,
    omega_min: f64,
    omega_max: f64,
    context_min: f64,
    context_max: f64,
    seed: u64,
) -> Result<TunerWords> {
    if [omega_min, omega_max, context_min, context_max]
        .iter()
        .any(|v| !v.is_finite())
    {
        return Err(Error::NonFinite);
    }
    let arms_ok = (2..=OMEGA_TUNER_MAX_ARMS as u32).contains(&arms);
    if !arms_ok
        || !omega_range_ok(omega_min, omega_max)
        || !context_range_ok(context_min, context_max)
    {
        return Err(Error::Argument);
    }
    let mut w = [0u64; OMEGA_TUNER_WORDS];
    w[W_MAGIC] = MAGIC;
    w[W_KIND] = kind;
    w[W_ARMS] = u64::from(arms);
    set(&mut w, W_OMEGA_MIN, omega_min);
    set(&mut w, W_OMEGA_MAX, omega_max);
    set(&mut w, W_CONTEXT_MIN, context_min);
    set(&mut w, W_CONTEXT_MAX, context_max);
    w[W_RNG] = seed;
    for m in w[W_MODEL..].chunks_exact_mut(PER_ARM) {
        chebcb::init(m);
    }
    check(&w)?; // the state just written must pass its own check
    Ok(w)
}

/// The omega of arm `k` of a validated header.
fn arm_omega(h: &Header, k: usize) -> f64 {
    let t = k as f64 / (h.arms - 1) as f64;
    h.omega_min + (h.omega_max - h.omega_min) * t
}

/// The context mapped to `[-1, 1]` (clamped).
fn unit_context(h: &Header, c: f64) -> f64 {
    (2.0 * (c - h.context_min) / (h.context_max - h.context_min) - 1.0).clamp(-1.0, 1.0)
}

/// The mean cost so far, the unit of losses and gaps (1 before any positive cost),
/// at least the smallest normal number: the mean of subnormal costs can round to 0
/// (5e-324 / 2), and a unit of 0 would make the losses 0 / 0.
fn cost_scale(h: &Header) -> f64 {
    if h.rounds > 0 && h.cost_sum > 0.0 {
        f64::max(h.cost_sum / h.rounds as f64, f64::MIN_POSITIVE)
    } else {
        1.0
    }
}

/// The distribution over arms the next round draws from, for a validated state.
fn distribution(
    w: &TunerWords,
    h: &Header,
    context: f64,
    p: &mut [f64; OMEGA_TUNER_MAX_ARMS],
) -> Result<()> {
    let t = h.rounds + 1;
    let p = &mut p[..h.arms];
    if h.contextual {
        let phi = chebcb::features(unit_context(h, context));
        let mut pred = [0.0; OMEGA_TUNER_MAX_ARMS];
        for (k, y) in pred[..h.arms].iter_mut().enumerate() {
            let m = &w[W_MODEL + k * PER_ARM..W_MODEL + (k + 1) * PER_ARM];
            *y = chebcb::predict(m, &phi).ok_or(Error::Argument)?;
        }
        chebcb::igw(&pred[..h.arms], t, cost_scale(h), p);
    } else {
        // The stored sums are in units of cost; dividing by today's mean expresses
        // every past round in the same, current unit (see tuner_feedback).
        let scale = cost_scale(h);
        let mut loss = [0.0; OMEGA_TUNER_MAX_ARMS];
        for (k, l) in loss[..h.arms].iter_mut().enumerate() {
            // Finite (a tiny unit can overflow the quotient): the weights depend on
            // the gaps to the smallest loss, and inf - inf has none.
            *l = (f(w, W_LOSS + k) / scale).clamp(-f64::MAX, f64::MAX);
        }
        tsallis::probabilities(&loss[..h.arms], tsallis::eta(t), p);
    }
    if p.iter().all(|v| *v >= 0.0 && v.is_finite()) {
        Ok(())
    } else {
        Err(Error::Internal)
    }
}

/// Draws the omega for the next system. `context` is used by the contextual tuner
/// only (NaN or infinity there is [`Error::NonFinite`]); the other ignores it.
///
/// Errors, before anything is written: a state that fails validation, or a round
/// still waiting for its feedback, [`Error::Argument`].
pub fn tuner_next(w: &mut TunerWords, context: f64) -> Result<f64> {
    let h = check(w)?;
    if h.pending {
        return Err(Error::Argument);
    }
    if h.contextual && !context.is_finite() {
        return Err(Error::NonFinite);
    }
    let mut p = [0.0; OMEGA_TUNER_MAX_ARMS];
    distribution(w, &h, context, &mut p)?;
    let (rng, u) = uniform(w[W_RNG]);
    let p = &p[..h.arms];
    let mut arm = p.iter().rposition(|&v| v > 0.0).ok_or(Error::Internal)?;
    let mut acc = 0.0;
    for (k, &pk) in p.iter().enumerate() {
        acc += pk;
        if u < acc && pk > 0.0 {
            arm = k;
            break;
        }
    }
    w[W_RNG] = rng;
    w[W_PENDING] = 1;
    w[W_ARM] = arm as u64;
    set(w, W_PROB, p[arm]);
    let z = if h.contextual {
        unit_context(&h, context)
    } else {
        0.0
    };
    set(w, W_Z, z);
    Ok(arm_omega(&h, arm))
}

/// The largest sum of all costs reported to one tuner: `2^512`, about `1.3e154`.
/// The contextual tuner's regression sums are bounded by it, so every later
/// prediction (a solve against a Gram matrix of at least the identity) stays finite;
/// without a bound, a cost near `f64::MAX` was accepted and left a state whose next
/// round failed (found by the `omega_tuner` fuzz target).
pub const MAX_COST_SUM: f64 = 1.3407807929942597e154;

/// Reports the cost (sweeps, seconds: any nonnegative measure, lower is better) of
/// the system solved with the omega of the last [`tuner_next`].
///
/// Errors, before anything is written: an invalid state, no pending round, a
/// negative cost, or one that takes the sum of all costs above 2^512 (about 1.3e154),
/// [`Error::Argument`]; NaN or infinity, [`Error::NonFinite`].
pub fn tuner_feedback(w: &mut TunerWords, cost: f64) -> Result<()> {
    let h = check(w)?;
    if !h.pending {
        return Err(Error::Argument);
    }
    if !cost.is_finite() {
        return Err(Error::NonFinite);
    }
    let cost_sum = h.cost_sum + cost;
    if cost < 0.0 || cost_sum > MAX_COST_SUM {
        return Err(Error::Argument);
    }
    let rounds = h.rounds + 1;
    if h.contextual {
        let phi = chebcb::features(f(w, W_Z));
        let start = W_MODEL + h.arm * PER_ARM;
        chebcb::update(&mut w[start..start + PER_ARM], &phi, cost);
    } else {
        // The loss is the cost relative to the running mean cost. The sums stay in
        // units of cost and are divided by the mean of the moment when the
        // distribution is formed, as the paper's code does: dividing each round by
        // the mean of its own time (an earlier version) froze the first rounds'
        // losses in units of a mean that was still far off (the first cost is its
        // own mean), 116 against 105 mean sweeps of the best fixed omega over the
        // last 1000 high-variance systems.
        //
        // The estimates are the reduced-variance ones of Zimmert and Seldin's
        // Tsallis-INF: an arm whose probability is at least eta^2 is charged the
        // baseline B (here the mean cost) every round and, when drawn,
        // (cost - B) / p on top; an arm below eta^2 is charged cost / p when drawn.
        // Both are unbiased. Costs of one omega vary far more from system to system
        // than the gaps between good omegas, and centring the arms that carry the
        // probability removes much of that noise from their estimates. Last-1000
        // mean against the best fixed omega in the paper's experiment, 17 tuner
        // seeds: high variance +6.8% on average (worst +11.7%) before, +5.2%
        // (worst +7.7%) after; low variance +5.2% before, +3.4% after. The eta^2
        // guard is what makes centring safe: an unguarded centred loss let a
        // rarely drawn poor arm that met an easy system get a huge negative
        // estimate and take over (one seed of nine went from 106 to 241 mean
        // sweeps).
        let mut p = [0.0; OMEGA_TUNER_MAX_ARMS];
        distribution(w, &h, 0.0, &mut p)?;
        let eta = tsallis::eta(h.rounds + 1);
        let baseline = cost_scale(&h);
        for (k, &pk) in p[..h.arms].iter().enumerate() {
            let charged = pk >= eta * eta;
            let mut total = f(w, W_LOSS + k);
            if charged {
                total += baseline;
            }
            if k == h.arm {
                total += (cost - if charged { baseline } else { 0.0 }) / h.prob;
            }
            set(w, W_LOSS + k, total.clamp(-f64::MAX, f64::MAX));
        }
    }
    w[W_ROUNDS] = rounds;
    set(w, W_COST_SUM, cost_sum);
    w[W_PENDING] = 0;
    w[W_ARM] = 0;
    set(w, W_PROB, 0.0);
    set(w, W_Z, 0.0);
    Ok(())
}

/// SplitMix64: the next state and a uniform draw in `[0, 1)`.
fn uniform(state: u64) -> (u64, f64) {
    let s = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (s, (z >> 11) as f64 / (1u64 << 53) as f64)
}

/// An omega tuner that owns its state: the Rust face of the `tuner_*` functions.
#[derive(Clone, Debug)]
pub struct OmegaTuner {
    words: TunerWords,
}

impl OmegaTuner {
    /// See [`tuner_init`].
    pub fn new(arms: u32, omega_min: f64, omega_max: f64, seed: u64) -> Result<Self> {
        tuner_init(arms, omega_min, omega_max, seed).map(|words| OmegaTuner { words })
    }

    /// See [`tuner_init_contextual`].
    pub fn new_contextual(
        arms: u32,
        omega_min: f64,
        omega_max: f64,
        context_min: f64,
        context_max: f64,
        seed: u64,
    ) -> Result<Self> {
        tuner_init_contextual(arms, omega_min, omega_max, context_min, context_max, seed)
            .map(|words| OmegaTuner { words })
    }

    /// A tuner from saved words, validated ([`Error::Argument`] if they are not a
    /// state this code wrote).
    pub fn from_words(words: TunerWords) -> Result<Self> {
        check(&words)?;
        Ok(OmegaTuner { words })
    }

    /// The state, e.g. to save it.
    pub fn words(&self) -> &TunerWords {
        &self.words
    }

    /// See [`tuner_next`].
    pub fn next(&mut self, context: f64) -> Result<f64> {
        tuner_next(&mut self.words, context)
    }

    /// See [`tuner_feedback`].
    pub fn feedback(&mut self, cost: f64) -> Result<()> {
        tuner_feedback(&mut self.words, cost)
    }

    /// The number of arms.
    pub fn arms(&self) -> usize {
        check(&self.words).map_or(0, |h| h.arms)
    }

    /// The omega of arm `k` (`k < arms`).
    pub fn omega(&self, k: usize) -> Option<f64> {
        let h = check(&self.words).ok()?;
        (k < h.arms).then(|| arm_omega(&h, k))
    }

    /// The distribution the next round would draw from at `context`, into
    /// `p[..arms]`; returns `arms`. Draws nothing and changes nothing.
    pub fn probabilities(
        &self,
        context: f64,
        p: &mut [f64; OMEGA_TUNER_MAX_ARMS],
    ) -> Result<usize> {
        let h = check(&self.words)?;
        distribution(&self.words, &h, context, p)?;
        Ok(h.arms)
    }
}
