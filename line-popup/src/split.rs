//! The banner split: which variant of a campaign a visitor gets.
//!
//! The variant is SipHash-1-3 (the `siphasher` crate), with fixed keys, of the
//! campaign ID, a 0xff byte and the visitor ID, mapped onto the campaign's
//! cumulative weights. It is the same in every process and every version
//! (`tests/split.rs` pins recorded values), so a visitor keeps their variant
//! across servers and restarts.
//!
//! A decision hashes the same campaign prefix for every visitor, so
//! [`SplitHasher`] keeps the hash state after the prefix, computed once when
//! the engine is built, and continues a copy of it with the visitor ID. SipHash
//! is a stream over the bytes, so the result is the hash of all of them.

use std::hash::Hasher;

use siphasher::sip::SipHasher13;

/// SipHash keys of the split.
const K0: u64 = 0x6c69_6e65_2d70_6f70;
const K1: u64 = 0x7570_2d76_6172_6961;

/// The split hash state after a campaign's ID and the separator.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SplitHasher(SipHasher13);

impl SplitHasher {
    /// The state after `campaign` and the 0xff separator.
    pub(crate) fn new(campaign: &str) -> Self {
        let mut h = SipHasher13::new_with_keys(K0, K1);
        h.write(campaign.as_bytes());
        h.write_u8(0xff);
        Self(h)
    }

    /// The variant of `visitor`: an index into `cumulative`, the running sums
    /// of the weights, whose last element is `total`.
    pub(crate) fn pick(&self, visitor: &str, cumulative: &[u64], total: u64) -> usize {
        let mut h = self.0;
        h.write(visitor.as_bytes());
        let x = ((u128::from(h.finish()) * u128::from(total)) >> 64) as u64;
        cumulative.partition_point(|&w| w <= x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_the_hash_of_all_bytes() {
        let text: String = (0..80).map(|i| char::from(b'0' + (i * 7 % 43) as u8)).collect();
        // Every prefix and visitor length around SipHash's 8-byte blocks.
        for c in 0..=24 {
            let prefix = SplitHasher::new(&text[..c]);
            for m in 0..=40 {
                let visitor = &text[c..c + m];
                let mut whole = SipHasher13::new_with_keys(K0, K1);
                whole.write(&text.as_bytes()[..c]);
                whole.write_u8(0xff);
                whole.write(visitor.as_bytes());
                let mut continued = prefix.0;
                continued.write(visitor.as_bytes());
                assert_eq!(continued.finish(), whole.finish(), "campaign {c} bytes, visitor {m}");
            }
        }
    }
}
