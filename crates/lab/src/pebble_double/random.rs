//! Randomness from the OS (`/dev/urandom`), with a hashed fallback: boot ids, jitter, temporary
//! file names and multipart boundaries.

use std::hash::{BuildHasher, Hasher};
use std::io::Read;

/// `n` random bytes.
pub fn bytes(n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut out))
        .is_ok();
    if !filled {
        let state = std::collections::hash_map::RandomState::new();
        for (index, chunk) in out.chunks_mut(8).enumerate() {
            let mut hasher = state.build_hasher();
            hasher.write_usize(index);
            let value = hasher.finish().to_le_bytes();
            chunk.copy_from_slice(&value[..chunk.len()]);
        }
    }
    out
}

/// A random number in `[0, 1)`.
pub fn unit_float() -> f64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes(8));
    (u64::from_le_bytes(raw) >> 11) as f64 / (1u64 << 53) as f64
}

/// `n` random lowercase hex digits.
pub fn hex(n: usize) -> String {
    bytes(n.div_ceil(2))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()[..n]
        .to_owned()
}

/// A version-4 UUID (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`), the shape of Pebble's boot id.
pub fn uuid() -> String {
    let mut b = bytes(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(hex(12).len(), 12);
        let f = unit_float();
        assert!((0.0..1.0).contains(&f));
    }
}
