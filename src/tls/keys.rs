//! The unit's TLS private key: generated here (ECDSA P-256) or supplied by the operator through
//! the `set-tls-private-key` action, and always kept as unencrypted PKCS#8 PEM.
//!
//! Operator keys arrive in whatever form `openssl` wrote them. ring (our only crypto provider)
//! loads PKCS#8 and nothing else, so PKCS#1 (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`) keys
//! are wrapped in a PKCS#8 `PrivateKeyInfo` here, byte for byte as `openssl pkcs8 -topk8 -nocrypt`
//! would write it. PKCS#8 input is re-wrapped the same way (dropping attributes and the v2
//! public-key field), so one key has exactly one stored form whatever it came in as.

use std::fmt;

use juju::Secret;
use rcgen::{
    KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256, PublicKeyData,
    SignatureAlgorithm,
};
use rustls_pki_types::PrivatePkcs8KeyDer;

use super::der::{self, DerError, Reader, oid, tag};
use super::pem::{self, Block, Wiped};

/// The algorithm and size of a private key: it decides the CSR's signature algorithm and is
/// shown to operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA on NIST P-256 (prime256v1): the charm's default.
    EcdsaP256,
    /// ECDSA on NIST P-384 (secp384r1).
    EcdsaP384,
    /// RSA with a modulus of `bits` bits (at least 2048).
    Rsa {
        /// Size of the modulus.
        bits: usize,
    },
}

impl KeyKind {
    /// The algorithm requests are signed with: SHA-256 for RSA (PKCS#1 v1.5) and P-256,
    /// SHA-384 for P-384, as the curve's strength asks.
    pub fn signature_algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyKind::EcdsaP256 => &PKCS_ECDSA_P256_SHA256,
            KeyKind::EcdsaP384 => &PKCS_ECDSA_P384_SHA384,
            KeyKind::Rsa { .. } => &PKCS_RSA_SHA256,
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::EcdsaP256 => f.write_str("ECDSA P-256"),
            KeyKind::EcdsaP384 => f.write_str("ECDSA P-384"),
            KeyKind::Rsa { bits } => write!(f, "RSA {bits}-bit"),
        }
    }
}

/// What every refusal says is accepted.
const ACCEPTED: &str = "expected one RSA (PKCS#1/PKCS#8, ≥2048 bits) or EC P-256/P-384 \
                        (SEC1/PKCS#8) private key";

/// Why an operator-supplied private key was refused. The messages go to the action's failure
/// message and to logs: they say what is wrong and what is accepted, and never contain any part
/// of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Neither PEM nor base64 of PEM, or a PEM block whose base64 is broken.
    #[error("the private key is not valid PEM or base64-encoded PEM: {ACCEPTED}")]
    NotPem,
    /// A PKCS#8 `ENCRYPTED PRIVATE KEY` or a legacy `Proc-Type: 4,ENCRYPTED` key.
    #[error("the private key is encrypted (decrypt it with openssl pkey): {ACCEPTED}")]
    Encrypted,
    /// PEM of something else: a certificate, a CSR, a public key…
    #[error("the input is {found}, not a private key: {ACCEPTED}")]
    NotAPrivateKey {
        /// What was found instead, e.g. "a certificate".
        found: &'static str,
    },
    /// More than one private key block.
    #[error("the input holds more than one private key: {ACCEPTED}")]
    SeveralKeys,
    /// A private key plus other PEM blocks (a certificate bundle, say).
    #[error("the input holds {found} besides the private key: {ACCEPTED}")]
    ExtraContent {
        /// What else was found, e.g. "a certificate".
        found: &'static str,
    },
    /// RSA below 2048 bits.
    #[error("the RSA private key has {bits} bits, fewer than 2048: {ACCEPTED}")]
    RsaTooSmall {
        /// Size of the key's modulus.
        bits: usize,
    },
    /// An EC key on a curve other than P-256 and P-384.
    #[error("the EC private key is on {curve}, not supported: {ACCEPTED}")]
    UnsupportedCurve {
        /// The curve's name, e.g. "P-521".
        curve: &'static str,
    },
    /// A key type other than RSA and ECDSA (Ed25519, DSA…).
    #[error("{what} are not supported: {ACCEPTED}")]
    UnsupportedAlgorithm {
        /// The kind of key, plural, e.g. "Ed25519 keys".
        what: &'static str,
    },
    /// The DER inside the PEM is not the structure its label promises.
    #[error("the private key is malformed ({problem}): {ACCEPTED}")]
    Malformed {
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Well-formed, but ring will not sign with it (inconsistent RSA components, a modulus that
    /// is not a multiple of 512 bits or above 8192 bits, a point not on the curve…).
    #[error("the private key cannot sign ({reason}): {ACCEPTED}")]
    Unusable {
        /// ring's reason, a fixed phrase that holds no key material.
        reason: String,
    },
}

/// The unit's private key, proven to sign. Holds the PKCS#8 PEM in a [`Secret`] (redacted and
/// zeroized on drop), its [`KeyKind`], and the DER SubjectPublicKeyInfo that certificates for it
/// must carry. `Debug` shows only the kind.
#[derive(Clone)]
pub struct PrivateKey {
    pem: Secret,
    kind: KeyKind,
    spki: Vec<u8>,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("kind", &self.kind)
            .field("pem", &self.pem)
            .finish()
    }
}

/// PKCS#8 DER in the stored form, and what it is.
struct Canonical {
    kind: KeyKind,
    pkcs8: Wiped,
}

impl PrivateKey {
    /// A new ECDSA P-256 key (the charm's default key type: ring-only, no aws-lc; small and fast
    /// handshakes).
    ///
    /// # Panics
    ///
    /// Only if the operating system's random number generator fails, which ring reports for
    /// nothing else when generating a P-256 key.
    pub fn generate() -> PrivateKey {
        let pair = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
            .expect("the OS random number generator failed while generating a P-256 key");
        let der = Wiped(pair.serialize_der());
        from_pkcs8(&der)
            .and_then(load)
            .expect("ring's own P-256 PKCS#8 is accepted")
    }

    /// An operator-supplied key (set-tls-private-key action): PEM text, or base64 of PEM text
    /// (whitespace and newlines inside the base64 tolerated).
    ///
    /// Accepts RSA PKCS#1 (`BEGIN RSA PRIVATE KEY`), PKCS#8 (`BEGIN PRIVATE KEY`, RSA or EC
    /// P-256/P-384) and EC SEC1 (`BEGIN EC PRIVATE KEY`, P-256/P-384, with or without the
    /// `BEGIN EC PARAMETERS` block `openssl ecparam -genkey` writes before it). Text outside the
    /// PEM blocks is ignored.
    ///
    /// Refuses garbage, encrypted keys, certificates, CSRs and public keys instead of a private
    /// key, several keys or a key with other blocks in one input, RSA below 2048 bits, and other
    /// curves and algorithms. Ed25519 in particular is refused: TLS clients of PostgreSQL are
    /// not all able to verify Ed25519 certificates (older JDBC drivers and Java runtimes, for
    /// one), and a certificate clients cannot check would take the database offline for them.
    ///
    /// The key is normalised to PKCS#8 (see the module documentation) and loaded into rcgen,
    /// which proves ring can sign with it.
    pub fn parse(input: &str) -> Result<PrivateKey, KeyError> {
        let text = input.trim();
        let decoded: Wiped;
        let pem_text = if text.contains("-----BEGIN ") {
            text
        } else {
            decoded = pem::decode(text.as_bytes()).ok_or(KeyError::NotPem)?;
            match std::str::from_utf8(&decoded) {
                Ok(inner) if inner.contains("-----BEGIN ") => inner,
                _ => return Err(KeyError::NotPem),
            }
        };
        let blocks = pem::parse_blocks(pem_text).map_err(|_| KeyError::NotPem)?;
        let block = key_block(&blocks)?;
        let canonical = match block.label.as_str() {
            "PRIVATE KEY" => from_pkcs8(&block.der)?,
            "RSA PRIVATE KEY" => from_pkcs1(&block.der)?,
            _ => from_sec1(&block.der, None)?,
        };
        load(canonical)
    }

    /// The stored form (PKCS#8 PEM), also what goes to the workload's key.pem.
    pub fn pem(&self) -> &Secret {
        &self.pem
    }

    /// The key's algorithm and size.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// DER SubjectPublicKeyInfo, to check that a certificate is for this key.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    /// The key loaded for signing (CSRs here, test certificates in tests).
    pub(crate) fn key_pair(&self) -> Result<KeyPair, rcgen::Error> {
        let blocks =
            pem::parse_blocks(self.pem.expose()).map_err(|_| rcgen::Error::CouldNotParseKeyPair)?;
        let block = blocks.first().ok_or(rcgen::Error::CouldNotParseKeyPair)?;
        KeyPair::from_pkcs8_der_and_sign_algo(
            &PrivatePkcs8KeyDer::from(&block.der[..]),
            self.kind.signature_algorithm(),
        )
    }
}

/// The PEM labels of unencrypted private keys we can read.
const KEY_LABELS: [&str; 3] = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"];

/// The one private-key block of the input, after refusing everything else.
fn key_block(blocks: &[Block]) -> Result<&Block, KeyError> {
    if blocks
        .iter()
        .any(|b| b.encrypted || b.label == "ENCRYPTED PRIVATE KEY")
    {
        return Err(KeyError::Encrypted);
    }
    for block in blocks {
        match block.label.as_str() {
            "DSA PRIVATE KEY" => return Err(unsupported("DSA keys")),
            "OPENSSH PRIVATE KEY" => return Err(unsupported("OpenSSH-format keys")),
            _ => {}
        }
    }
    let mut keys = blocks
        .iter()
        .filter(|b| KEY_LABELS.contains(&b.label.as_str()));
    let other = blocks
        .iter()
        .find(|b| !KEY_LABELS.contains(&b.label.as_str()) && b.label != "EC PARAMETERS")
        .map(|b| describe(&b.label));
    match (keys.next(), keys.next(), other) {
        (None, _, Some(found)) => Err(KeyError::NotAPrivateKey { found }),
        (None, _, None) => Err(KeyError::NotPem),
        (Some(_), Some(_), _) => Err(KeyError::SeveralKeys),
        (Some(_), None, Some(found)) => Err(KeyError::ExtraContent { found }),
        (Some(key), None, None) => Ok(key),
    }
}

/// What a non-key PEM label is, in words for a message (the label itself is input: not shown).
fn describe(label: &str) -> &'static str {
    match label {
        "CERTIFICATE" | "TRUSTED CERTIFICATE" | "X509 CERTIFICATE" => "a certificate",
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => "a certificate signing request",
        "PUBLIC KEY" | "RSA PUBLIC KEY" => "a public key",
        "X509 CRL" => "a certificate revocation list",
        _ => "an unrecognised PEM block",
    }
}

fn unsupported(what: &'static str) -> KeyError {
    KeyError::UnsupportedAlgorithm { what }
}

fn malformed(problem: &'static str) -> impl Fn(DerError) -> KeyError {
    move |DerError| KeyError::Malformed { problem }
}

/// Concatenate DER items and wrap them in one item, in wiped buffers.
fn wrap(item_tag: u8, items: &[&[u8]]) -> Wiped {
    let content = Wiped(items.concat());
    Wiped(der::write(item_tag, &content))
}

/// PKCS#8 `PrivateKeyInfo` (RFC 5208) or `OneAsymmetricKey` (RFC 5958): dispatch on the
/// algorithm, then rebuild.
fn from_pkcs8(der: &[u8]) -> Result<Canonical, KeyError> {
    let bad = malformed("not a PKCS#8 PrivateKeyInfo");
    let mut info = Reader::new(Reader::single(der, tag::SEQUENCE).map_err(&bad)?);
    if info.read_small_uint().map_err(&bad)? > 1 {
        return Err(KeyError::Malformed {
            problem: "unknown PKCS#8 version",
        });
    }
    let mut algorithm = Reader::new(info.read(tag::SEQUENCE).map_err(&bad)?);
    let algorithm_oid = algorithm.read(tag::OID).map_err(&bad)?;
    let inner = info.read(tag::OCTET_STRING).map_err(&bad)?;
    // Optional attributes [0] and public key [1] follow; the stored form drops them.
    match algorithm_oid {
        oid::RSA_ENCRYPTION => from_pkcs1(inner),
        oid::EC_PUBLIC_KEY => {
            let curve_oid = algorithm.read(tag::OID).map_err(|_| explicit_curve())?;
            from_sec1(inner, Some(Curve::from_oid(curve_oid)?))
        }
        oid::ED25519 => Err(unsupported("Ed25519 keys")),
        oid::ED448 => Err(unsupported("Ed448 keys")),
        oid::X25519 | oid::X448 => Err(unsupported("X25519/X448 keys (they cannot sign)")),
        oid::DSA => Err(unsupported("DSA keys")),
        oid::RSASSA_PSS => Err(unsupported("RSA-PSS-only keys")),
        _ => Err(unsupported("keys of an unrecognised algorithm")),
    }
}

/// PKCS#1 `RSAPrivateKey` (RFC 8017 A.1.2): check the size, wrap in PKCS#8.
fn from_pkcs1(der: &[u8]) -> Result<Canonical, KeyError> {
    let bad = malformed("not a PKCS#1 RSAPrivateKey");
    let mut key = Reader::new(Reader::single(der, tag::SEQUENCE).map_err(&bad)?);
    let version = key.read_small_uint().map_err(&bad)?;
    let bits = der::unsigned_bit_len(key.read(tag::INTEGER).map_err(&bad)?);
    if version != 0 {
        return Err(unsupported("multi-prime RSA keys"));
    }
    if bits < 2048 {
        return Err(KeyError::RsaTooSmall { bits });
    }
    let algorithm = der::write(
        tag::SEQUENCE,
        &[
            der::write(tag::OID, oid::RSA_ENCRYPTION),
            der::write(tag::NULL, &[]),
        ]
        .concat(),
    );
    let inner = wrap(tag::OCTET_STRING, &[der]);
    let pkcs8 = wrap(tag::SEQUENCE, &[&[tag::INTEGER, 1, 0], &algorithm, &inner]);
    Ok(Canonical {
        kind: KeyKind::Rsa { bits },
        pkcs8,
    })
}

/// The curves ring signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

impl Curve {
    fn from_oid(curve_oid: &[u8]) -> Result<Curve, KeyError> {
        let curve = match curve_oid {
            oid::P256 => return Ok(Curve::P256),
            oid::P384 => return Ok(Curve::P384),
            oid::P521 => "P-521",
            oid::SECP256K1 => "secp256k1",
            _ => "an unrecognised curve",
        };
        Err(KeyError::UnsupportedCurve { curve })
    }

    fn oid(self) -> &'static [u8] {
        match self {
            Curve::P256 => oid::P256,
            Curve::P384 => oid::P384,
        }
    }

    /// Length of a private scalar, in bytes.
    fn scalar_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }

    fn kind(self) -> KeyKind {
        match self {
            Curve::P256 => KeyKind::EcdsaP256,
            Curve::P384 => KeyKind::EcdsaP384,
        }
    }
}

fn explicit_curve() -> KeyError {
    KeyError::UnsupportedCurve {
        curve: "explicitly encoded curve parameters",
    }
}

/// SEC1 `ECPrivateKey` (RFC 5915), alone or from inside PKCS#8 (`outer` is then the curve the
/// PKCS#8 algorithm names). Rebuilt as OpenSSL stores it in PKCS#8: version, scalar padded to the
/// curve's size, public key, and no `[0]` parameters (they are in the algorithm).
fn from_sec1(der: &[u8], outer: Option<Curve>) -> Result<Canonical, KeyError> {
    let bad = malformed("not a SEC1 ECPrivateKey");
    let mut key = Reader::new(Reader::single(der, tag::SEQUENCE).map_err(&bad)?);
    if key.read_small_uint().map_err(&bad)? != 1 {
        return Err(KeyError::Malformed {
            problem: "unknown EC private key version",
        });
    }
    let scalar = key.read(tag::OCTET_STRING).map_err(&bad)?;
    let named = match key.read_optional(tag::CONTEXT_0).map_err(&bad)? {
        Some(parameters) => Some(Curve::from_oid(
            Reader::single(parameters, tag::OID).map_err(|_| explicit_curve())?,
        )?),
        None => None,
    };
    let public = key.read_optional(tag::CONTEXT_1).map_err(&bad)?;
    let curve = match (outer, named) {
        (Some(a), Some(b)) if a != b => {
            return Err(KeyError::Malformed {
                problem: "the key's curve and its algorithm's curve differ",
            });
        }
        (Some(curve), _) | (None, Some(curve)) => curve,
        (None, None) => match scalar.len() {
            32 => Curve::P256,
            48 => Curve::P384,
            _ => {
                return Err(KeyError::UnsupportedCurve {
                    curve: "an unrecognised curve",
                });
            }
        },
    };
    let Some(public) = public else {
        return Err(KeyError::Malformed {
            problem: "the EC key does not include its public key",
        });
    };
    Reader::single(public, tag::BIT_STRING).map_err(&bad)?;
    let size = curve.scalar_len();
    if scalar.len() > size {
        return Err(KeyError::Malformed {
            problem: "the EC private scalar is longer than the curve allows",
        });
    }
    // Some old encoders dropped leading zero bytes of the scalar; ring wants the full length.
    let mut padded = Wiped(vec![0; size - scalar.len()]);
    padded.0.extend_from_slice(scalar);
    let inner = wrap(
        tag::SEQUENCE,
        &[
            &[tag::INTEGER, 1, 1],
            &wrap(tag::OCTET_STRING, &[&padded]),
            &der::write(tag::CONTEXT_1, public),
        ],
    );
    let algorithm = der::write(
        tag::SEQUENCE,
        &[
            der::write(tag::OID, oid::EC_PUBLIC_KEY),
            der::write(tag::OID, curve.oid()),
        ]
        .concat(),
    );
    let pkcs8 = wrap(
        tag::SEQUENCE,
        &[
            &[tag::INTEGER, 1, 0],
            &algorithm,
            &wrap(tag::OCTET_STRING, &[&inner]),
        ],
    );
    Ok(Canonical {
        kind: curve.kind(),
        pkcs8,
    })
}

/// Load the canonical PKCS#8 into rcgen (which proves ring can sign with it) and keep its PEM.
fn load(canonical: Canonical) -> Result<PrivateKey, KeyError> {
    let pair = KeyPair::from_pkcs8_der_and_sign_algo(
        &PrivatePkcs8KeyDer::from(&canonical.pkcs8[..]),
        canonical.kind.signature_algorithm(),
    )
    .map_err(|e| KeyError::Unusable {
        reason: e.to_string(),
    })?;
    Ok(PrivateKey {
        pem: Secret::new(pem::encode("PRIVATE KEY", &canonical.pkcs8)),
        kind: canonical.kind,
        spki: pair.subject_public_key_info(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA2048_PKCS1: &str = include_str!("testdata/rsa2048-pkcs1.pem");
    const RSA2048_PKCS8: &str = include_str!("testdata/rsa2048-pkcs8.pem");
    const RSA2048_PKCS8_B64: &str = include_str!("testdata/rsa2048-pkcs8.pem.b64");
    const RSA2048_PKCS1_ENCRYPTED: &str = include_str!("testdata/rsa2048-pkcs1-encrypted.pem");
    const RSA1024_PKCS1: &str = include_str!("testdata/rsa1024-pkcs1.pem");
    const P256_SEC1: &str = include_str!("testdata/p256-sec1.pem");
    const P256_SEC1_PARAMS: &str = include_str!("testdata/p256-sec1-params.pem");
    const P256_PKCS8: &str = include_str!("testdata/p256-pkcs8.pem");
    const P256_PKCS8_ENCRYPTED: &str = include_str!("testdata/p256-pkcs8-encrypted.pem");
    const P256_PUBLIC: &str = include_str!("testdata/p256-public.pem");
    const P384_SEC1: &str = include_str!("testdata/p384-sec1.pem");
    const P384_PKCS8: &str = include_str!("testdata/p384-pkcs8.pem");
    const P521_SEC1: &str = include_str!("testdata/p521-sec1.pem");
    const SECP256K1_SEC1: &str = include_str!("testdata/secp256k1-sec1.pem");
    const ED25519_PKCS8: &str = include_str!("testdata/ed25519-pkcs8.pem");
    const CERTIFICATE: &str = include_str!("testdata/selfsigned-cert.pem");
    const CSR: &str = include_str!("testdata/csr.pem");

    fn parse(input: &str) -> PrivateKey {
        PrivateKey::parse(input).unwrap_or_else(|e| panic!("refused: {e}"))
    }

    fn der_of(pem_text: &str) -> Vec<u8> {
        pem::parse_blocks(pem_text).unwrap()[0].der.to_vec()
    }

    #[test]
    fn rsa_pkcs1_is_stored_exactly_as_openssl_writes_pkcs8() {
        let key = parse(RSA2048_PKCS1);
        assert_eq!(key.kind(), KeyKind::Rsa { bits: 2048 });
        assert_eq!(key.pem().expose(), RSA2048_PKCS8);
        assert_eq!(parse(RSA2048_PKCS8).pem().expose(), RSA2048_PKCS8);
    }

    #[test]
    fn ec_sec1_with_or_without_parameters_is_stored_as_openssl_pkcs8() {
        for input in [P256_SEC1, P256_SEC1_PARAMS, P256_PKCS8] {
            let key = parse(input);
            assert_eq!(key.kind(), KeyKind::EcdsaP256);
            assert_eq!(key.pem().expose(), P256_PKCS8);
        }
        for input in [P384_SEC1, P384_PKCS8] {
            let key = parse(input);
            assert_eq!(key.kind(), KeyKind::EcdsaP384);
            assert_eq!(key.pem().expose(), P384_PKCS8);
        }
    }

    #[test]
    fn the_public_key_is_the_one_openssl_derives() {
        assert_eq!(parse(P256_SEC1).public_key_der(), der_of(P256_PUBLIC));
    }

    #[test]
    fn base64_of_pem_is_accepted_with_or_without_line_breaks() {
        assert_eq!(parse(RSA2048_PKCS8_B64).pem().expose(), RSA2048_PKCS8);
        let one_line = pem::encode_base64(P256_SEC1_PARAMS.as_bytes());
        assert_eq!(parse(&one_line).pem().expose(), P256_PKCS8);
        let indented = format!("\n  {}\r\n", one_line.replace('A', "A \n"));
        assert_eq!(parse(&indented).pem().expose(), P256_PKCS8);
    }

    #[test]
    fn crlf_and_text_around_the_block_are_tolerated() {
        let messy = format!("my key:\r\n{}\r\n", P256_SEC1.replace('\n', "\r\n"));
        assert_eq!(parse(&messy).pem().expose(), P256_PKCS8);
    }

    #[test]
    fn round_trips_through_its_stored_form() {
        for input in [RSA2048_PKCS1, P256_SEC1, P384_SEC1] {
            let key = parse(input);
            let again = parse(key.pem().expose());
            assert_eq!(again.pem().expose(), key.pem().expose());
            assert_eq!(again.kind(), key.kind());
            assert_eq!(again.public_key_der(), key.public_key_der());
        }
    }

    #[test]
    fn generates_distinct_p256_keys_that_round_trip() {
        let a = PrivateKey::generate();
        let b = PrivateKey::generate();
        assert_eq!(a.kind(), KeyKind::EcdsaP256);
        assert!(
            a.pem()
                .expose()
                .starts_with("-----BEGIN PRIVATE KEY-----\n")
        );
        assert_ne!(a.public_key_der(), b.public_key_der());
        let again = parse(a.pem().expose());
        assert_eq!(again.pem().expose(), a.pem().expose());
        assert_eq!(again.public_key_der(), a.public_key_der());
        assert!(a.key_pair().is_ok());
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = parse(RSA2048_PKCS1);
        let shown = format!("{key:?}");
        assert_eq!(
            shown,
            r#"PrivateKey { kind: Rsa { bits: 2048 }, pem: Secret(<redacted>) }"#
        );
    }

    fn refusal(input: &str) -> KeyError {
        let err = PrivateKey::parse(input).expect_err("should be refused");
        let message = err.to_string();
        // Never echo the input: no line of it (longer than a word) appears in the message.
        for line in input.lines().map(str::trim).filter(|l| l.len() > 12) {
            assert!(!message.contains(line), "{message} echoes {line}");
        }
        assert!(message.contains(ACCEPTED), "{message}");
        err
    }

    #[test]
    fn refuses_small_rsa_keys() {
        assert_eq!(refusal(RSA1024_PKCS1), KeyError::RsaTooSmall { bits: 1024 });
    }

    #[test]
    fn refuses_encrypted_keys() {
        assert_eq!(refusal(P256_PKCS8_ENCRYPTED), KeyError::Encrypted);
        assert_eq!(refusal(RSA2048_PKCS1_ENCRYPTED), KeyError::Encrypted);
    }

    #[test]
    fn refuses_things_that_are_not_private_keys() {
        for (input, found) in [
            (CERTIFICATE, "a certificate"),
            (CSR, "a certificate signing request"),
            (P256_PUBLIC, "a public key"),
        ] {
            assert_eq!(refusal(input), KeyError::NotAPrivateKey { found });
        }
        let message = refusal(CERTIFICATE).to_string();
        assert!(message.starts_with("the input is a certificate, not a private key"));
    }

    #[test]
    fn refuses_other_algorithms_and_curves() {
        assert_eq!(
            refusal(ED25519_PKCS8),
            KeyError::UnsupportedAlgorithm {
                what: "Ed25519 keys"
            }
        );
        assert_eq!(
            refusal(P521_SEC1),
            KeyError::UnsupportedCurve { curve: "P-521" }
        );
        assert_eq!(
            refusal(SECP256K1_SEC1),
            KeyError::UnsupportedCurve { curve: "secp256k1" }
        );
    }

    #[test]
    fn refuses_several_keys_or_a_key_with_a_certificate() {
        let two = format!("{P256_PKCS8}{RSA2048_PKCS1}");
        assert_eq!(refusal(&two), KeyError::SeveralKeys);
        let same_twice = format!("{P256_PKCS8}{P256_PKCS8}");
        assert_eq!(refusal(&same_twice), KeyError::SeveralKeys);
        let bundle = format!("{CERTIFICATE}{P256_PKCS8}");
        assert_eq!(
            refusal(&bundle),
            KeyError::ExtraContent {
                found: "a certificate"
            }
        );
    }

    #[test]
    fn refuses_garbage() {
        let truncated = &P256_PKCS8[..P256_PKCS8.len() - 30];
        let bad_base64 = "-----BEGIN PRIVATE KEY-----\nnot*base64\n-----END PRIVATE KEY-----\n";
        let base64_of_nonsense = pem::encode_base64(b"just some words, not a key at all");
        for input in [
            "",
            "   \n",
            "hello",
            "password123!",
            truncated,
            bad_base64,
            &base64_of_nonsense,
        ] {
            assert_eq!(refusal(input), KeyError::NotPem, "{input:?}");
        }
        let wrong_der = pem::encode("PRIVATE KEY", b"this is not DER");
        assert!(matches!(refusal(&wrong_der), KeyError::Malformed { .. }));
        let sec1_in_pkcs1_label = P256_SEC1.replace("EC PRIVATE KEY", "RSA PRIVATE KEY");
        assert!(matches!(
            refusal(&sec1_in_pkcs1_label),
            KeyError::Malformed { .. }
        ));
    }

    #[test]
    fn refuses_a_key_whose_parts_do_not_fit() {
        // A P-256 key whose public point belongs to another key: ring checks consistency.
        let a = der_of(P256_SEC1);
        let b = der_of(PrivateKey::generate().pem().expose());
        let public_of_b = &b[b.len() - 66..];
        let mut mixed = a.clone();
        let len = mixed.len();
        mixed[len - 66..].copy_from_slice(public_of_b);
        let input = pem::encode("EC PRIVATE KEY", &mixed);
        assert!(matches!(refusal(&input), KeyError::Unusable { .. }));
    }

    #[test]
    fn messages_say_what_is_wrong_and_what_is_accepted() {
        assert_eq!(
            KeyError::NotPem.to_string(),
            "the private key is not valid PEM or base64-encoded PEM: expected one RSA \
             (PKCS#1/PKCS#8, ≥2048 bits) or EC P-256/P-384 (SEC1/PKCS#8) private key"
        );
        assert!(
            KeyError::RsaTooSmall { bits: 1024 }
                .to_string()
                .starts_with("the RSA private key has 1024 bits, fewer than 2048: ")
        );
    }

    #[test]
    fn kinds_pick_their_signature_algorithm() {
        assert_eq!(
            KeyKind::EcdsaP384.signature_algorithm(),
            &PKCS_ECDSA_P384_SHA384
        );
        assert_eq!(
            KeyKind::Rsa { bits: 4096 }.signature_algorithm(),
            &PKCS_RSA_SHA256
        );
        assert_eq!(KeyKind::Rsa { bits: 3072 }.to_string(), "RSA 3072-bit");
    }
}
