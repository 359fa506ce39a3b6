//! The omega tuner: a proper distribution every round, convergence to the best
//! arm, determinism, and refusal of misuse and corrupted state.

use kernels_core::Error;
use kernels_core::sor::{
    OMEGA_TUNER_MAX_ARMS, OMEGA_TUNER_WORDS, OmegaTuner, tuner_init_contextual, tuner_next,
};

/// Deterministic noise in [0, 1).
fn noise(k: u64) -> f64 {
    let mut z = k.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn arm_of(t: &OmegaTuner, omega: f64) -> usize {
    (0..t.arms())
        .min_by(|&a, &b| {
            let da = (t.omega(a).unwrap() - omega).abs();
            let db = (t.omega(b).unwrap() - omega).abs();
            da.total_cmp(&db)
        })
        .unwrap()
}

#[test]
fn probabilities_sum_to_one_over_100k_rounds_with_skewed_losses() {
    // Costs spanning four orders of magnitude drive eta * min L far beyond 2, where
    // a normaliser started at x = -1 diverges.
    let mut t = OmegaTuner::new(20, 1.0, 1.95, 7).unwrap();
    let mut p = [0.0; OMEGA_TUNER_MAX_ARMS];
    for round in 0..100_000u64 {
        let k = t.probabilities(0.0, &mut p).unwrap();
        let sum: f64 = p[..k].iter().sum();
        assert!((sum - 1.0).abs() < 1e-12, "round {round}: sum {sum}");
        assert!(p[..k].iter().all(|&v| (0.0..=1.0).contains(&v)));
        let omega = t.next(0.0).unwrap();
        let arm = arm_of(&t, omega);
        let cost = 10f64.powf(arm as f64 / 5.0) * (1.0 + noise(round));
        t.feedback(cost).unwrap();
    }
    // The cheapest arm dominates by the end.
    t.probabilities(0.0, &mut p).unwrap();
    assert!(p[0] > 0.9, "p[best] = {}", p[0]);
}

#[test]
fn tsallis_converges_to_the_best_arm_on_a_stationary_problem() {
    let mut t = OmegaTuner::new(10, 1.0, 1.9, 1).unwrap();
    let best = 6;
    let mut hits = 0;
    for round in 0..6000u64 {
        let arm = arm_of(&t, t.clone().next(0.0).unwrap());
        let omega = t.next(0.0).unwrap();
        assert_eq!(arm, arm_of(&t, omega), "next must be deterministic");
        let gap = (arm as f64 - best as f64).abs();
        t.feedback(100.0 + 20.0 * gap + 10.0 * noise(round))
            .unwrap();
        if round >= 5000 && arm == best {
            hits += 1;
        }
    }
    assert!(hits > 700, "best arm played {hits} of the last 1000 rounds");
}

#[test]
fn contextual_tuner_learns_the_best_arm_per_context() {
    // The best arm moves with the context: 0 at c = 0 up to 9 at c = 1.
    let mut t = OmegaTuner::new_contextual(10, 1.0, 1.9, 0.0, 1.0, 3).unwrap();
    let mut hits = 0;
    for round in 0..4000u64 {
        let c = noise(round ^ 0xabc);
        let best = (c * 9.0).round();
        let omega = t.next(c).unwrap();
        let arm = arm_of(&t, omega) as f64;
        t.feedback(100.0 + 20.0 * (arm - best).abs() + 5.0 * noise(round))
            .unwrap();
        if round >= 3000 && (arm - best).abs() < 0.5 {
            hits += 1;
        }
    }
    assert!(
        hits > 600,
        "best arm for the context in {hits} of the last 1000"
    );
}

#[test]
fn same_seed_same_choices() {
    let run = |seed, contextual: bool| {
        let mut t = if contextual {
            OmegaTuner::new_contextual(16, 1.0, 1.9, -1.0, 1.0, seed).unwrap()
        } else {
            OmegaTuner::new(16, 1.0, 1.9, seed).unwrap()
        };
        (0..300u64)
            .map(|k| {
                let w = t.next(noise(k) * 2.0 - 1.0).unwrap();
                t.feedback(50.0 + 100.0 * (w - 1.5).abs()).unwrap();
                w
            })
            .collect::<Vec<_>>()
    };
    for contextual in [false, true] {
        assert_eq!(run(5, contextual), run(5, contextual));
        assert_ne!(run(5, contextual), run(6, contextual));
    }
}

#[test]
fn misuse_is_refused_and_changes_nothing() {
    let mut t = OmegaTuner::new(8, 1.0, 1.9, 0).unwrap();
    let before = *t.words();
    assert_eq!(t.feedback(3.0).unwrap_err(), Error::Argument); // no next yet
    assert_eq!(*t.words(), before);
    t.next(0.0).unwrap();
    let pending = *t.words();
    assert_eq!(t.next(0.0).unwrap_err(), Error::Argument); // next twice
    assert_eq!(t.feedback(-1.0).unwrap_err(), Error::Argument);
    assert_eq!(t.feedback(f64::NAN).unwrap_err(), Error::NonFinite);
    assert_eq!(*t.words(), pending);
    t.feedback(3.0).unwrap();
    // The contextual tuner needs a finite context; the other ignores it.
    assert!(t.next(f64::NAN).is_ok());
    let mut c = OmegaTuner::new_contextual(8, 1.0, 1.9, 0.0, 1.0, 0).unwrap();
    assert_eq!(c.next(f64::INFINITY).unwrap_err(), Error::NonFinite);
    // Bad initialisation.
    for (arms, lo, hi) in [
        (1, 1.0, 1.9),
        (65, 1.0, 1.9),
        (8, 0.0, 1.9),
        (8, 1.5, 1.2),
        (8, 1.0, 2.0),
    ] {
        assert_eq!(
            OmegaTuner::new(arms, lo, hi, 0).unwrap_err(),
            Error::Argument
        );
    }
    assert_eq!(
        OmegaTuner::new(8, f64::NAN, 1.9, 0).unwrap_err(),
        Error::NonFinite
    );
    assert_eq!(
        OmegaTuner::new_contextual(8, 1.0, 1.9, 1.0, 1.0, 0).unwrap_err(),
        Error::Argument
    );
    assert!(OmegaTuner::new(64, 1.0, 1.9, 0).is_ok());
}

#[test]
fn corrupted_or_garbage_state_is_refused_before_any_write() {
    for contextual in [false, true] {
        let mut t = if contextual {
            OmegaTuner::new_contextual(12, 1.0, 1.9, 0.0, 1.0, 9).unwrap()
        } else {
            OmegaTuner::new(12, 1.0, 1.9, 9).unwrap()
        };
        for k in 0..50u64 {
            t.next(noise(k)).unwrap();
            t.feedback(10.0 + 90.0 * noise(k + 1)).unwrap();
        }
        let good = *t.words();
        assert!(OmegaTuner::from_words(good).is_ok());
        let corruptions: [(usize, u64); 9] = [
            (0, 0),                    // magic
            (1, 7),                    // kind
            (2, 0),                    // arms
            (2, 65),                   // arms
            (3, 2.5f64.to_bits()),     // omega_min
            (9, 2),                    // pending flag
            (13, (-1.0f64).to_bits()), // cost sum
            (16, f64::NAN.to_bits()),  // a loss
            (80, 0.0f64.to_bits()),    // a Gram diagonal
        ];
        for (word, value) in corruptions {
            let mut w = good;
            w[word] = value;
            let copy = w;
            assert_eq!(
                OmegaTuner::from_words(w).unwrap_err(),
                Error::Argument,
                "word {word}"
            );
            assert_eq!(
                tuner_next(&mut w, 0.5).unwrap_err(),
                Error::Argument,
                "word {word}"
            );
            assert_eq!(w, copy);
        }
    }
    // Garbage: zeros, ones, and pseudo-random words.
    let mut w = [0u64; OMEGA_TUNER_WORDS];
    assert_eq!(tuner_next(&mut w, 0.0).unwrap_err(), Error::Argument);
    let mut w = [u64::MAX; OMEGA_TUNER_WORDS];
    assert_eq!(tuner_next(&mut w, 0.0).unwrap_err(), Error::Argument);
    let mut w: [u64; OMEGA_TUNER_WORDS] = std::array::from_fn(|k| noise(k as u64).to_bits());
    assert_eq!(tuner_next(&mut w, 0.0).unwrap_err(), Error::Argument);
}

/// Found by the omega_tuner fuzz target: huge equal losses (here both at the f64::MAX
/// clamp a tiny draw probability leads to) made `min L - 2 / eta` round back to
/// `min L`, the weights 0 / 0, and `next` answer KN_ERR_INTERNAL on a state the
/// library itself had written.
#[test]
fn huge_equal_losses_still_give_a_distribution() {
    for loss in [1e20, 1e300, f64::MAX] {
        let mut t = OmegaTuner::new(2, 1.0, 1.9, 3).unwrap();
        let mut w = *t.words();
        // Words 16 and 17: the two arms' cumulative losses (layout.rs W_LOSS).
        w[16] = loss.to_bits();
        w[17] = loss.to_bits();
        t = OmegaTuner::from_words(w).unwrap();
        let mut p = [0.0; OMEGA_TUNER_MAX_ARMS];
        assert_eq!(t.probabilities(0.0, &mut p).unwrap(), 2);
        assert!(
            (p[0] - 0.5).abs() < 1e-12 && (p[1] - 0.5).abs() < 1e-12,
            "{p:?}"
        );
        let omega = t.next(0.0).unwrap();
        assert!(omega == 1.0 || omega == 1.9);
        t.feedback(1.0).unwrap();
    }
}

/// A context range whose width overflows is refused at init, not at every `next`.
#[test]
fn a_context_range_of_infinite_width_is_refused() {
    let got = tuner_init_contextual(8, 1.0, 1.9, -1.7e308, 1.7e308, 1);
    assert_eq!(got.err(), Some(Error::Argument));
    let mut ok = tuner_init_contextual(8, 1.0, 1.9, -1e307, 1e307, 1).unwrap();
    assert!(tuner_next(&mut ok, 0.5).is_ok());
}

/// Found by the omega_tuner fuzz target in CI: the mean cost of subnormal costs
/// rounds to 0 (5e-324 / 2), and as the unit of the losses (and of the contextual
/// tuner's gaps) it made them 0 / 0: the next round answered KN_ERR_INTERNAL on a
/// state the library itself had written.
#[test]
fn subnormal_costs_still_give_a_distribution() {
    let tsallis = OmegaTuner::new(8, 1.0, 1.9, 5).unwrap();
    let contextual = OmegaTuner::new_contextual(8, 1.0, 1.9, 0.0, 1.0, 5).unwrap();
    for mut t in [tsallis, contextual] {
        for cost in [5e-324, 0.0, 0.0, 5e-324, 0.0, 1e-310] {
            t.next(0.5).unwrap();
            t.feedback(cost).unwrap();
        }
        let mut p = [0.0; OMEGA_TUNER_MAX_ARMS];
        let arms = t.probabilities(0.5, &mut p).unwrap();
        let total: f64 = p[..arms].iter().sum();
        assert!(
            p[..arms].iter().all(|v| *v >= 0.0) && (total - 1.0).abs() < 1e-12,
            "{p:?}"
        );
        let omega = t.next(0.5).unwrap();
        assert!((1.0..=1.9).contains(&omega));
    }
}
