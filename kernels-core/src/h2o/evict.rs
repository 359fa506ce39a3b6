//! Which slot a new token takes: the one place the eviction rule is written.

/// The slot token `t` overwrites in a full cache: the smallest score among slots that
/// are neither sinks (`pos < sink`) nor recent (`t - pos < recent`), ties to the oldest
/// position. `None` when no slot qualifies, which a consistent cache with
/// `heavy + recent >= 1` never produces (callers treat it as a corrupt cache).
pub(crate) fn victim(
    pos: &[u64],
    score: &[f32],
    t: u64,
    sink: usize,
    recent: usize,
) -> Option<usize> {
    let (sink, recent) = (sink as u64, recent as u64);
    let mut best: Option<(usize, f32, u64)> = None;
    for (slot, (&p, &s)) in pos.iter().zip(score).enumerate() {
        if p < sink || p > t || t - p < recent {
            continue;
        }
        let better = match best {
            None => true,
            Some((_, bs, bp)) => s < bs || (s == bs && p < bp),
        };
        if better {
            best = Some((slot, s, p));
        }
    }
    best.map(|(slot, _, _)| slot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks_and_recent_are_protected_and_ties_go_to_the_oldest() {
        // positions 0..6, sink 1, recent 2 at t = 6: candidates are 1..=4
        let pos = [0, 1, 2, 3, 4, 5];
        let score = [0.0, 0.5, 0.2, 0.2, 0.9, 0.0];
        assert_eq!(victim(&pos, &score, 6, 1, 2), Some(2));
        let score = [0.0, 0.1, 0.2, 0.2, 0.9, 0.0];
        assert_eq!(victim(&pos, &score, 6, 1, 2), Some(1));
        // slot order does not matter, position does
        let pos = [0, 3, 2, 1, 4, 5];
        let score = [0.0, 0.3, 0.3, 0.3, 0.3, 0.0];
        assert_eq!(victim(&pos, &score, 6, 1, 2), Some(3));
        assert_eq!(victim(&[0, 1], &[0.0, 0.0], 2, 2, 1), None);
    }
}
