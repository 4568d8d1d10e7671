//! SCRAM-SHA-256 verifiers computed in the charm (RFC 5802, RFC 7677), in PostgreSQL's storage
//! format, so that plain passwords never reach the server, its logs or `pg_stat_statements`.
//!
//! ```text
//! SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
//! SaltedPassword = PBKDF2-HMAC-SHA-256(SASLprep(password), salt, iterations)
//! StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
//! ServerKey      = HMAC(SaltedPassword, "Server Key")
//! ```
//!
//! The salt is an argument ([`scram_verifier`]); [`new_scram_verifier`] draws it from the OS.

use std::num::NonZeroU32;

use rand::Rng;
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;
use ring::{digest, hmac, pbkdf2};

use crate::base64;

/// PBKDF2 iterations of the verifiers we write: PostgreSQL's default (`scram_iterations`).
pub const SCRAM_ITERATIONS: u32 = 4096;

/// Salt length of the verifiers we write, in bytes: PostgreSQL's default.
pub const SCRAM_SALT_LEN: usize = 16;

const PREFIX: &str = "SCRAM-SHA-256$";

/// The verifier PostgreSQL would store for `password` with this `salt` and `iterations`.
///
/// The password is prepared with SASLprep (RFC 4013) first; when SASLprep refuses it (prohibited
/// characters such as ASCII control characters), the password is used as it is, exactly as libpq
/// and the server do. The result contains only base64 characters, `$` and `:`.
///
/// # Panics
/// If `iterations` is 0 (no such verifier exists).
pub fn scram_verifier(password: &str, salt: &[u8], iterations: u32) -> String {
    let iterations = NonZeroU32::new(iterations).expect("SCRAM iterations must be positive");
    let (stored_key, server_key) = keys(password, salt, iterations);
    format!(
        "{PREFIX}{iterations}:{}${}:{}",
        base64::encode(salt),
        base64::encode(&stored_key),
        base64::encode(&server_key)
    )
}

/// A verifier for `password` with a fresh 16-byte salt from the OS CSPRNG and 4096 iterations.
pub fn new_scram_verifier(password: &str) -> String {
    let mut salt = [0u8; SCRAM_SALT_LEN];
    UnwrapErr(SysRng).fill_bytes(&mut salt);
    scram_verifier(password, &salt, SCRAM_ITERATIONS)
}

/// True when `stored` (a `pg_authid.rolpassword` value) is a SCRAM-SHA-256 verifier of
/// `password`: the keys are derived again with the stored salt and iteration count and compared
/// in constant time. Anything that is not a well-formed SCRAM verifier (an MD5 hash, a plain
/// text, garbage) does not match.
pub fn verifier_matches(stored: &str, password: &str) -> bool {
    let Some(parsed) = parse(stored) else {
        return false;
    };
    let (stored_key, server_key) = keys(password, &parsed.salt, parsed.iterations);
    // Both comparisons always run, so the time does not tell which key differed.
    let a = constant_time_eq(&stored_key, &parsed.stored_key);
    let b = constant_time_eq(&server_key, &parsed.server_key);
    a & b
}

struct Parsed {
    iterations: NonZeroU32,
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

fn parse(stored: &str) -> Option<Parsed> {
    let rest = stored.strip_prefix(PREFIX)?;
    let (params, keys) = rest.split_once('$')?;
    let (iterations, salt) = params.split_once(':')?;
    let (stored_key, server_key) = keys.split_once(':')?;
    if !iterations.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parsed = Parsed {
        iterations: NonZeroU32::new(iterations.parse().ok()?)?,
        salt: base64::decode(salt)?,
        stored_key: base64::decode(stored_key)?,
        server_key: base64::decode(server_key)?,
    };
    let key_len = digest::SHA256_OUTPUT_LEN;
    (parsed.stored_key.len() == key_len && parsed.server_key.len() == key_len).then_some(parsed)
}

/// `(StoredKey, ServerKey)` for `password`.
fn keys(password: &str, salt: &[u8], iterations: NonZeroU32) -> ([u8; 32], [u8; 32]) {
    let prepared = stringprep::saslprep(password).unwrap_or(std::borrow::Cow::Borrowed(password));
    let mut salted = [0u8; digest::SHA256_OUTPUT_LEN];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        prepared.as_bytes(),
        &mut salted,
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    salted.fill(0);
    std::hint::black_box(&mut salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let server_key = hmac::sign(&key, b"Server Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    let mut out = ([0u8; 32], [0u8; 32]);
    out.0.copy_from_slice(stored_key.as_ref());
    out.1.copy_from_slice(server_key.as_ref());
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verifiers written by PostgreSQL 15.18 itself (`CREATE ROLE … PASSWORD '<plain>'` with
    /// `password_encryption = scram-sha-256`, then `SELECT rolpassword FROM pg_authid`).
    const FROM_POSTGRES: [(&str, &str); 3] = [
        (
            "pencil",
            "SCRAM-SHA-256$4096:i45dW/nlx3fj431IcetzvA==$gZFIL1T6U71H0yS2eCU5TN1LSOsCOWCx5r0p72MfR3I=:IxsVtJR2D4wWmQzvUQO5EvUZXDYrtZaOJ1BPxK0wKk8=",
        ),
        (
            "päss wörd",
            "SCRAM-SHA-256$4096:U0/M2K2NhncxOlV/U8VZew==$9dDgnbsFNdHpd0OT5EIpkCBZJyfts8inY6zHQstQulc=:SFqSPau2UOYt8ji02tzVZ4MT4v0D7ZSWF6Xq1JB7HAk=",
        ),
        (
            // A no-break space and the "fi" ligature: SASLprep maps them to " " and "fi".
            "a\u{a0}b\u{fb01}",
            "SCRAM-SHA-256$4096:i9u6ml7f9UfG+KkPOC8LDA==$P5tVzkrPqluT9ecbF7JjsT/z8oyue7iEle+XPKRHPNg=:zeyPahCWslz91TESZ8L2qpLQqHb7IX+kbyXWrMwdYBM=",
        ),
    ];

    #[test]
    fn same_verifier_as_postgresql() {
        for (password, stored) in FROM_POSTGRES {
            let parsed = parse(stored).unwrap();
            assert_eq!(
                scram_verifier(password, &parsed.salt, parsed.iterations.get()),
                stored
            );
            assert!(verifier_matches(stored, password));
            assert!(!verifier_matches(stored, "pencil2"));
        }
        // SASLprep is applied: the mapped form has the same verifier.
        assert!(verifier_matches(FROM_POSTGRES[2].1, "a bfi"));
    }

    #[test]
    fn same_verifier_as_rust_postgres() {
        // The fixed vector of postgres-protocol's own test (salt 1..=16, password "secret").
        let salt: Vec<u8> = (1..=16).collect();
        assert_eq!(
            scram_verifier("secret", &salt, 4096),
            "SCRAM-SHA-256$4096:AQIDBAUGBwgJCgsMDQ4PEA==$8rrDg00OqaiWXJ7p+sCgHEIaBSHY89ZJl3mfIsf32oY=:05L1f+yZbiN8O0AnO40Og85NNRhvzTS57naKRWCcsIA="
        );
    }

    #[test]
    fn matches_what_postgres_protocol_generates() {
        for password in ["secret", "päss wörd", "tab\there", ""] {
            let theirs = postgres_protocol::password::scram_sha_256(password.as_bytes());
            assert!(verifier_matches(&theirs, password), "{password:?}");
            let parsed = parse(&theirs).unwrap();
            assert_eq!(parsed.iterations.get(), SCRAM_ITERATIONS);
            assert_eq!(parsed.salt.len(), SCRAM_SALT_LEN);
            assert_eq!(
                scram_verifier(password, &parsed.salt, SCRAM_ITERATIONS),
                theirs
            );
        }
    }

    #[test]
    fn prohibited_characters_fall_back_to_the_raw_password() {
        // A control character makes SASLprep fail; the raw bytes are hashed instead.
        let salt = [9u8; 16];
        let with_tab = scram_verifier("a\tb", &salt, 4096);
        assert!(verifier_matches(&with_tab, "a\tb"));
        assert!(!verifier_matches(&with_tab, "a b"));
    }

    #[test]
    fn fresh_verifiers_are_salted_and_have_a_safe_alphabet() {
        let a = new_scram_verifier("pw");
        let b = new_scram_verifier("pw");
        assert_ne!(a, b);
        assert!(verifier_matches(&a, "pw") && verifier_matches(&b, "pw"));
        assert!(a.starts_with("SCRAM-SHA-256$4096:"));
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"+/=$:-".contains(&c))
        );
    }

    #[test]
    fn anything_else_does_not_match() {
        let good = FROM_POSTGRES[0].1;
        for bad in [
            "",
            "pencil",
            "md5d2a1bc5e1b1d24aeb7e4e4d4e8b8e5a3",
            "SCRAM-SHA-256$0:i45dW/nlx3fj431IcetzvA==$gZFIL1T6U71H0yS2eCU5TN1LSOsCOWCx5r0p72MfR3I=:IxsVtJR2D4wWmQzvUQO5EvUZXDYrtZaOJ1BPxK0wKk8=",
            "SCRAM-SHA-256$+4096:i45dW/nlx3fj431IcetzvA==$gZFIL1T6U71H0yS2eCU5TN1LSOsCOWCx5r0p72MfR3I=:IxsVtJR2D4wWmQzvUQO5EvUZXDYrtZaOJ1BPxK0wKk8=",
            "SCRAM-SHA-256$4096:i45dW/nlx3fj431IcetzvA==$gZFIL1T6U71H0yS2eCU5TN1LSOsCOWCx5r0p72MfR3I=",
            "SCRAM-SHA-256$4096:i45dW/nlx3fj431IcetzvA==$Zm9v:IxsVtJR2D4wWmQzvUQO5EvUZXDYrtZaOJ1BPxK0wKk8=",
            &good.replace("4096", "4097"),
            &good.replace("gZFIL", "gZFIM"),
        ] {
            assert!(!verifier_matches(bad, "pencil"), "{bad:?}");
        }
    }
}
