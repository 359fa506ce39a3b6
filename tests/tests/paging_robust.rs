//! DISCARD_ROBUST and LEARNED: the combination's bounds on random traces and its
//! targets on the tour's traces and the real traces of tests/data, the learned
//! pager's targets against LRU, and their state handling.

use kernels_core::paging::{
    Pager, Policy, offline, offline_work_size, pager_work_size, simulate, simulate_ctx,
};
use kernels_tests::paging_data::{flip, real_traces, tour_traces};
use proptest::prelude::*;

fn run(policy: Policy, k: usize, seed: u64, pages: &[u64], bits: Option<&[u8]>) -> u64 {
    let mut work = vec![0u8; pager_work_size(k).unwrap().bytes()];
    simulate(policy, k, seed, pages, bits, &mut work).unwrap()
}

fn run_ctx(k: usize, pages: &[u64], ctx: Option<&[u64]>) -> u64 {
    let mut work = vec![0u8; pager_work_size(k).unwrap().bytes()];
    simulate_ctx(Policy::Learned, k, 1, pages, None, ctx, &mut work).unwrap()
}

/// (OPT faults, discard bits).
fn opt(k: usize, pages: &[u64]) -> (u64, Vec<u8>) {
    let mut work = vec![0u8; offline_work_size(k, pages.len()).unwrap().bytes()];
    let mut d = vec![0u8; pages.len()];
    let f = offline(k, pages, Some(&mut d), None, &mut work).unwrap();
    (f, d)
}

/// A trace at one capacity: name, pages, contexts (real traces with instruction
/// addresses), capacity.
type Case = (String, Vec<u64>, Option<Vec<u64>>, usize);

/// The tour's generated traces at the full tour's length, and every real trace at the
/// tour's capacity (32) and at 4, 8 and 16 pages, where LRU makes 1.4 to 3 x OPT.
fn traces() -> Vec<Case> {
    let mut out: Vec<_> = tour_traces(200_000)
        .into_iter()
        .map(|(name, pages, k)| (name, pages, None, k))
        .collect();
    for (name, pages, ctx) in real_traces() {
        for k in [4, 8, 16, 32] {
            out.push((name.clone(), pages.clone(), ctx.clone(), k));
        }
    }
    out
}

/// The worst-case bound of the combination (kernels-core/src/paging/robust.rs) for
/// min(A, B) = `m`, capacity `k` and switching factor 1 + 1/`div`:
/// 2 (1 + d) m + k + N (2k + 1) with N = 1 + log_{1+d}(1 + d m / k) switches.
fn worst_case(m: u64, k: usize, div: u64) -> f64 {
    let (m, k, d) = (m as f64, k as f64, 1.0 / div as f64);
    let switches = 1.0 + ((1.0 + d * m / k).ln() / (1.0 + d).ln()).floor();
    2.0 * (1.0 + d) * m + k + switches * (2.0 * k + 1.0)
}

fn trace(max_pages: u64, max_len: usize) -> impl Strategy<Value = Vec<u64>> {
    (1..=max_pages).prop_flat_map(move |u| proptest::collection::vec(0..u, 0..max_len))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The simulated policies are DISCARD and MARKER exactly (same seed, same draws),
    /// and the real cache stays within the worst-case bound of the module's header.
    #[test]
    fn robust_simulates_both_and_stays_within_its_worst_case(
        k in 1usize..9,
        pages in trace(24, 400),
        bits in proptest::collection::vec(0u8..2, 400),
        seed in any::<u64>(),
    ) {
        let bits = &bits[..pages.len()];
        let mut work = vec![0u8; pager_work_size(k).unwrap().bytes()];
        let mut pager = Pager::new(Policy::DiscardRobust, k, seed, &mut work).unwrap();
        let mut faults = 0u64;
        for (&p, &b) in pages.iter().zip(bits) {
            faults += u64::from(!pager.access(p, b == 1).unwrap().hit);
        }
        let [d, m] = pager.simulated_faults().unwrap();
        prop_assert_eq!(d, run(Policy::Discard, k, seed, &pages, Some(bits)));
        prop_assert_eq!(m, run(Policy::Marker, k, seed, &pages, Some(bits)));
        prop_assert!(faults as f64 <= worst_case(d.min(m), k, 8), "{} vs {} {}", faults, d, m);
        prop_assert!(faults >= opt(k, &pages).0);
    }

    /// LEARNED simulates LRU exactly beside its own DISCARD, and stays within the
    /// same bound of LRU.
    #[test]
    fn learned_simulates_lru_and_stays_within_its_worst_case(
        k in 1usize..9,
        pages in trace(24, 400),
        ctx in proptest::collection::vec(0u64..6, 400),
    ) {
        let ctx = &ctx[..pages.len()];
        let mut work = vec![0u8; pager_work_size(k).unwrap().bytes()];
        let mut pager = Pager::new(Policy::Learned, k, 3, &mut work).unwrap();
        let mut faults = 0u64;
        for (&p, &c) in pages.iter().zip(ctx) {
            faults += u64::from(!pager.access_ctx(p, false, c).unwrap().hit);
        }
        let [_, lru] = pager.simulated_faults().unwrap();
        prop_assert_eq!(lru, run(Policy::Lru, k, 0, &pages, None));
        prop_assert!(faults as f64 <= worst_case(lru, k, 32));
    }
}

/// The targets for DISCARD_ROBUST on every trace at every flip probability
/// (two flip seeds): faults <= 1.2 x min(DISCARD, MARKER) + 2k, and with perfect
/// bits faults <= 1.05 x OPT + k.
#[test]
fn robust_meets_its_targets_on_every_trace() {
    for (name, pages, _, k) in traces() {
        let (opt, perfect) = opt(k, &pages);
        let k64 = k as u64;
        for p in [0.0, 0.1, 0.2, 0.5, 0.8, 1.0] {
            for seed in 0..2 {
                let bits = flip(&perfect, p, seed);
                let d = run(Policy::Discard, k, seed, &pages, Some(&bits));
                let m = run(Policy::Marker, k, seed, &pages, Some(&bits));
                let r = run(Policy::DiscardRobust, k, seed, &pages, Some(&bits));
                let what = format!(
                    "{name}, k = {k}, p = {p}: robust {r}, DISCARD {d}, MARKER {m}, OPT {opt}"
                );
                assert!(r >= opt, "{what}");
                assert!(5 * r <= 6 * d.min(m) + 10 * k64, "{what}");
                if p == 0.0 {
                    assert!(100 * r <= 105 * opt + 100 * k64, "{what}");
                }
            }
        }
    }
}

/// The targets for LEARNED: never more than 1.05 x LRU's faults on any trace
/// (with the page id as context, and with the instruction address where recorded);
/// at least 10% fewer faults than LRU on at least two real traces at a capacity where
/// LRU makes >= 1.3 x OPT; with the instruction address, fewer faults than with the
/// page id on at least one trace.
#[test]
fn learned_meets_its_targets() {
    let mut better_than_lru = std::collections::BTreeSet::new();
    let mut ctx_helps = Vec::new();
    for (name, pages, ctx, k) in traces() {
        let lru = run(Policy::Lru, k, 0, &pages, None);
        let (opt, _) = opt(k, &pages);
        let by_page = run_ctx(k, &pages, None);
        assert_eq!(by_page, run(Policy::Learned, k, 1, &pages, None));
        let what = format!("{name}, k = {k}: LEARNED {by_page}, LRU {lru}, OPT {opt}");
        assert!(100 * by_page <= 105 * lru, "{what}");
        if ctx.is_some() || name == "bzip2" {
            // A real trace.
            if 10 * lru >= 13 * opt && 10 * by_page <= 9 * lru {
                better_than_lru.insert(name.clone());
            }
        }
        if let Some(c) = &ctx {
            let by_ip = run_ctx(k, &pages, Some(c));
            assert!(100 * by_ip <= 105 * lru, "{what}, by instruction {by_ip}");
            if 10 * lru >= 13 * opt && 10 * by_ip <= 9 * lru {
                better_than_lru.insert(format!("{name} (by instruction)"));
            }
            if by_ip < by_page {
                ctx_helps.push(format!("{name} k = {k}: {by_ip} < {by_page}"));
            }
        }
    }
    let page_only: Vec<_> = better_than_lru
        .iter()
        .filter(|n| !n.ends_with("(by instruction)"))
        .collect();
    assert!(page_only.len() >= 2, "{better_than_lru:?}");
    assert!(!ctx_helps.is_empty());
}

#[test]
fn robust_and_learned_are_reproducible_and_resumable() {
    let pages: Vec<u64> = (0..20_000u64)
        .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) % 40)
        .collect();
    let bits: Vec<u8> = pages.iter().map(|&p| (p % 3 == 0) as u8).collect();
    for policy in [Policy::DiscardRobust, Policy::Learned] {
        let a = run(policy, 16, 5, &pages, Some(&bits));
        assert_eq!(a, run(policy, 16, 5, &pages, Some(&bits)));
        // Attached again before every request, the pager decides exactly the same.
        let bytes = pager_work_size(16).unwrap().bytes();
        let mut work = vec![0u8; bytes];
        let mut state = Pager::new(policy, 16, 5, &mut work).unwrap().state();
        let mut faults = 0;
        for (&p, &b) in pages.iter().zip(&bits) {
            let mut pager = Pager::attach(state, &mut work).unwrap();
            faults += u64::from(!pager.access(p, b == 1).unwrap().hit);
            state = pager.state();
        }
        assert_eq!(faults, a, "{policy:?}");
    }
}

/// Forged states (checksums redone) that turn a plain pager into DISCARD_ROBUST or
/// LEARNED, or back, over a workspace that never held that policy's region: every
/// access is refused (KN_ERR_ARGUMENT through the C ABI) or served, never a panic,
/// and the cache never exceeds its capacity.
#[test]
fn a_forged_policy_word_is_refused_or_harmless() {
    use kernels_core::checksum;
    use kernels_core::paging::PagerState;
    let pages: Vec<u64> = (0..300u64).map(|i| (i * 7) % 23).collect();
    for from in Policy::ALL {
        for to in Policy::ALL {
            let bytes = pager_work_size(6).unwrap().bytes();
            let mut work = vec![0u8; bytes];
            let mut pager = Pager::new(from, 6, 9, &mut work).unwrap();
            for &p in &pages[..100] {
                pager.access(p, p % 2 == 0).unwrap();
            }
            let mut w = pager.state().to_words();
            w[1] = to as u64;
            let last = w.len() - 1;
            w[last] = checksum(&w[..last]);
            let Ok(state) = PagerState::from_words(&w) else {
                continue;
            };
            if let Ok(mut p) = Pager::attach(state, &mut work) {
                for &page in &pages[100..] {
                    if p.access(page, true).is_err() {
                        break;
                    }
                    assert!(p.len() <= 6, "{from:?} -> {to:?}");
                }
            }
        }
    }
}
