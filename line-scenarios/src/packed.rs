//! LINE user ids packed into 16 bytes, and a fast hash for tables keyed by them or by numbers
//! (the in-memory store, the in-memory profiles and the engine's batches share both).

use std::hash::{BuildHasherDefault, Hasher};

/// The 16 bytes of a LINE user id (`U` and 32 lowercase hex digits); `None` for any other form.
pub(crate) fn pack(user: &str) -> Option<[u8; 16]> {
    let b = user.as_bytes();
    if b.len() != 33 || b[0] != b'U' {
        return None;
    }
    let mut out = [0u8; 16];
    for (k, o) in out.chunks_exact_mut(4).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[1 + 8 * k..9 + 8 * k]);
        o.copy_from_slice(&hex8(u64::from_le_bytes(w))?.to_le_bytes());
    }
    Some(out)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Eight lowercase hex digits (the first in the lowest byte) as four bytes (the first byte in
/// the lowest), or `None` if any byte is not a lowercase hex digit. All eight bytes at once: the
/// engine packs each user id several times per wake-up.
#[inline]
fn hex8(x: u64) -> Option<u32> {
    if x & HIGH != 0 {
        return None;
    }
    // For bytes below 0x80, adding 0x80 - n sets a byte's high bit exactly when the byte is at
    // least n, with no carry into the next byte.
    let at_least = |n: u8| (x + u64::from(0x80 - n) * ONES) & HIGH;
    let digit = at_least(b'0') & !at_least(b'9' + 1);
    let letter = at_least(b'a') & !at_least(b'f' + 1);
    if digit | letter != HIGH {
        return None;
    }
    // Each digit's value: its low nibble, plus 9 for a letter ('a' is 0x61).
    let v = (x & (0x0f * ONES)) + (letter >> 7) * 9;
    // Each 16-bit lane: its first digit as the high nibble of the lane's low byte, its second
    // as the low nibble.
    const LOW_BYTES: u64 = 0x00ff_00ff_00ff_00ff;
    let pairs = ((v & LOW_BYTES) << 4) | ((v >> 8) & LOW_BYTES);
    let packed = (pairs & 0xff) | ((pairs >> 8) & 0xff00) | ((pairs >> 16) & 0xff_0000) | ((pairs >> 24) & 0xff00_0000);
    Some(packed as u32)
}

pub(crate) fn unpack(p: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = [b'U'; 33];
    for (i, b) in p.iter().enumerate() {
        s[1 + 2 * i] = HEX[usize::from(b >> 4)];
        s[2 + 2 * i] = HEX[usize::from(b & 15)];
    }
    // ASCII by construction: the check cannot fail.
    std::str::from_utf8(&s).map(str::to_owned).unwrap_or_default()
}

/// A multiplicative hash (the FxHash scheme, with murmur3's finalizer) for keys that are numbers
/// or LINE user ids.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

/// The multiplier of the hash (also the recent-users cache's slot hash in the in-memory store).
pub(crate) const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // murmur3's finalizer: every input bit reaches the low bits the table indexes by
        // (without it, keys differing only in high bits would all land in one bucket).
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// The fast hash, for tables keyed by numbers or packed LINE user ids.
pub(crate) type Fast = BuildHasherDefault<FastHasher>;

#[cfg(test)]
mod tests {
    use super::*;

    /// One digit at a time, as a reference for [`pack`].
    fn pack_by_digit(user: &str) -> Option<[u8; 16]> {
        let hex = user.strip_prefix('U')?;
        if hex.len() != 32 {
            return None;
        }
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let mut out = [0u8; 16];
        let b = hex.as_bytes();
        for (i, o) in out.iter_mut().enumerate() {
            *o = (digit(b[2 * i])? << 4) | digit(b[2 * i + 1])?;
        }
        Some(out)
    }

    #[test]
    fn packing_matches_the_digit_by_digit_reference() {
        let base = "U0123456789abcdeffedcba9876543210";
        assert_eq!(pack(base), pack_by_digit(base));
        assert!(pack(base).is_some());
        // Every ASCII byte at every position (the `U` included), and a two-byte character
        // in place of two digits (same length in bytes).
        for pos in 0..base.len() {
            for c in 0u8..0x80 {
                let mut b = base.as_bytes().to_vec();
                b[pos] = c;
                let id = String::from_utf8(b).unwrap();
                assert_eq!(pack(&id), pack_by_digit(&id), "{id:?}");
            }
            if pos + 2 <= base.len() && pos > 0 {
                let id = format!("{}é{}", &base[..pos], &base[pos + 2..]);
                assert_eq!(pack(&id), None, "{id:?}");
                assert_eq!(pack_by_digit(&id), None, "{id:?}");
            }
        }
        for i in 0..10_000u64 {
            let id = format!("U{:016x}{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15), !i);
            assert_eq!(pack(&id), pack_by_digit(&id));
            assert_eq!(unpack(&pack(&id).unwrap()), id);
        }
    }

    #[test]
    fn user_ids_pack_and_unpack_exactly() {
        let id = "U4af4980629d1b2c3e4f5a6b7c8d9e0f1";
        assert_eq!(unpack(&pack(id).unwrap()), id);
        assert!(
            pack("U4AF4980629D1B2C3E4F5A6B7C8D9E0F1").is_none(),
            "upper case keeps its spelling"
        );
        assert!(pack("Ushort").is_none());
    }

    #[test]
    fn the_fast_hash_spreads_keys_that_differ_only_in_high_bits() {
        use std::hash::BuildHasher;
        let build = Fast::default();
        let mut buckets = std::collections::HashSet::new();
        for i in 0u32..1024 {
            let key = pack(&format!("U{i:032x}")).unwrap();
            buckets.insert(build.hash_one(key) & 1023);
        }
        assert!(
            buckets.len() > 500,
            "sequential ids fill {} of 1024 buckets",
            buckets.len()
        );
    }
}
