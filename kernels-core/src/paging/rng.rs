//! The pager's random source: SplitMix64, one u64 of state kept in the pager, so a
//! seed reproduces every random eviction.
//!
//! The next output is mixed as soon as the previous one is taken and kept beside the
//! state: a random eviction then waits for one multiply, not for the mixing chain
//! (two dependent multiplies), which would otherwise delay the victim, the lookups
//! that follow it, and every branch on them.

const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output for a state already advanced.
#[inline(always)]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The state and its next output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Rng {
    state: u64,
    ahead: u64,
}

impl Rng {
    /// The source with state `state` (a seed, or a state kept by [`Rng::state`]).
    pub(super) fn new(state: u64) -> Self {
        Rng {
            state,
            ahead: mix(state.wrapping_add(GAMMA)),
        }
    }

    /// The state to keep: [`Rng::new`] on it continues the same sequence.
    pub(super) fn state(&self) -> u64 {
        self.state
    }

    /// The next 64 random bits.
    #[inline(always)]
    pub(super) fn next(&mut self) -> u64 {
        let v = self.ahead;
        self.state = self.state.wrapping_add(GAMMA);
        self.ahead = mix(self.state.wrapping_add(GAMMA));
        v
    }

    /// A value in `0..n` (n > 0) by the multiply-high map; its bias is below n / 2^64.
    #[inline(always)]
    pub(super) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_covers_the_range_evenly() {
        let mut r = Rng::new(0);
        let mut counts = [0u32; 5];
        for _ in 0..50_000 {
            counts[r.below(5)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_000..11_000).contains(&c)),
            "{counts:?}"
        );
    }

    /// SplitMix64's published first outputs for seed 0 (Vigna's reference code), so
    /// computing ahead changed no draw.
    #[test]
    fn same_outputs_as_splitmix64() {
        let mut r = Rng::new(0);
        assert_eq!(r.next(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next(), 0x6e78_9e6a_a1b9_65f4);
        let kept = Rng::new(r.state());
        assert_eq!(kept, r);
        assert_eq!(r.next(), 0x06c4_5d18_8009_454f);
    }
}
