//! The pager's random source: SplitMix64, one u64 of state kept in the pager, so a
//! seed reproduces every random eviction.

/// Advances `state` and returns the next 64 random bits.
#[inline(always)]
pub(super) fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A value in `0..n` (n > 0) by the multiply-high map; its bias is below n / 2^64.
#[inline(always)]
pub(super) fn below(state: &mut u64, n: usize) -> usize {
    ((u128::from(next(state)) * n as u128) >> 64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_covers_the_range_evenly() {
        let mut s = 0;
        let mut counts = [0u32; 5];
        for _ in 0..50_000 {
            counts[below(&mut s, 5)] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_000..11_000).contains(&c)),
            "{counts:?}"
        );
    }
}
