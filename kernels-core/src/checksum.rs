//! The seal of the fixed-size states a C caller holds (the pager, the CSR handle):
//! a mixing hash over their words, so that a state the library did not write, or one
//! changed since, is refused instead of trusted.

/// A mixing hash of words: any change to one word changes it. The seed is the pager's
/// magic word, where it was first used; it stays, so states written by earlier
/// versions still check.
pub fn checksum(words: &[u64]) -> u64 {
    words
        .iter()
        .fold(u64::from_be_bytes(*b"kn_pager"), |h, &w| {
            let h = (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            h ^ (h >> 29)
        })
}
