//! The unit's certificate signing request: who the unit is (its names and address) and the
//! request that asks the provider to certify them for the unit's key.

use std::collections::BTreeSet;
use std::net::IpAddr;

use rcgen::{CertificateParams, DistinguishedName, DnType, DnValue, SanType};
use rustls_pki_types::DnsName;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use super::keys::PrivateKey;
use super::pem;

/// The x500UniqueIdentifier attribute (2.5.4.45) the tls-certificates library adds to the
/// subject, so that two requests for the same names differ.
const UNIQUE_IDENTIFIER: [u64; 4] = [2, 5, 4, 45];

/// Who this unit is, for the certificate. Built from the app name, the unit (pod) name
/// `<app>-<n>`, the namespace (model name) and the unit's IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Subject common name: `<pod>.<app>-endpoints`.
    pub common_name: String,
    /// DNS subject alternative names, in the reference charm's order, without duplicates.
    pub dns_names: Vec<String>,
    /// IP subject alternative names: the unit's address when it is an IP.
    pub ip_addresses: Vec<IpAddr>,
}

/// The names clients and peers reach this unit by (reference §8.2): the pod name, its name in the
/// headless `<app>-endpoints` service (short and fully qualified), the address itself (also as a
/// DNS name, as the reference does for pgBackRest, which checks the host it was given against the
/// DNS names), and the `<app>-primary` / `<app>-replicas` services any member may serve.
pub fn identity(app: &str, pod: &str, namespace: &str, address: &str) -> Identity {
    let common_name = format!("{pod}.{app}-endpoints");
    let address = address.trim();
    let candidates = [
        pod.to_string(),
        common_name.clone(),
        format!("{pod}.{app}-endpoints.{namespace}.svc.cluster.local"),
        address.to_string(),
        format!("{app}-primary.{namespace}.svc.cluster.local"),
        format!("{app}-replicas.{namespace}.svc.cluster.local"),
    ];
    let mut dns_names: Vec<String> = Vec::with_capacity(candidates.len());
    for name in candidates {
        if !name.is_empty() && !dns_names.contains(&name) {
            dns_names.push(name);
        }
    }
    let ip_addresses = address.parse::<IpAddr>().into_iter().collect();
    Identity {
        common_name,
        dns_names,
        ip_addresses,
    }
}

/// Why a request could not be made. Not about operator input: a name that cannot go in a
/// certificate (bad app or model name) or a signing failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    /// A DNS name of the identity is not a valid host name.
    #[error("cannot request a certificate for {name:?}: not a valid DNS name")]
    InvalidName {
        /// The offending name (ours, not secret).
        name: String,
    },
    /// The OS random number generator failed (for the unique identifier).
    #[error("cannot make a certificate request: the random number generator failed")]
    Random,
    /// rcgen refused to load the key or to sign.
    #[error("cannot sign the certificate request: {0}")]
    Signing(String),
}

/// A PEM CSR signed with `key` (SHA-256 for RSA/P-256, SHA-384 for P-384): subject CN
/// (+ x500UniqueIdentifier OID 2.5.4.45 = a random UUID v4 string, as the reference's library
/// adds), the SANs of `id`. The PEM has `\n` line ends and a trailing newline.
pub fn make_csr(key: &PrivateKey, id: &Identity) -> Result<String, CsrError> {
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, id.common_name.as_str());
    subject.push(
        DnType::CustomDnType(UNIQUE_IDENTIFIER.to_vec()),
        DnValue::Utf8String(uuid_v4()?),
    );
    params.distinguished_name = subject;
    for name in &id.dns_names {
        if name.parse::<IpAddr>().is_err() && DnsName::try_from(name.as_str()).is_err() {
            return Err(CsrError::InvalidName { name: name.clone() });
        }
        let ia5 = name
            .clone()
            .try_into()
            .map_err(|_| CsrError::InvalidName { name: name.clone() })?;
        params.subject_alt_names.push(SanType::DnsName(ia5));
    }
    for ip in &id.ip_addresses {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    let pair = key
        .key_pair()
        .map_err(|e| CsrError::Signing(e.to_string()))?;
    let request = params
        .serialize_request(&pair)
        .map_err(|e| CsrError::Signing(e.to_string()))?;
    Ok(pem::encode("CERTIFICATE REQUEST", request.der()))
}

/// A random (version 4) UUID in its 8-4-4-4-12 lowercase hex form.
fn uuid_v4() -> Result<String, CsrError> {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 16];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| CsrError::Random)?;
    b[6] = b[6] & 0x0f | 0x40; // version 4
    b[8] = b[8] & 0x3f | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// What a CSR asks for, read back with x509-parser.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Requested {
    /// DER SubjectPublicKeyInfo.
    pub(crate) public_key: Vec<u8>,
    /// Every subject common name.
    pub(crate) common_names: Vec<String>,
    /// DNS SANs, lowercase.
    pub(crate) dns_names: BTreeSet<String>,
    /// IP SANs.
    pub(crate) ip_addresses: BTreeSet<IpAddr>,
}

/// Read a PEM CSR; `None` unless it is exactly one well-formed request.
pub(crate) fn read_csr(csr_pem: &str) -> Option<Requested> {
    let blocks = pem::parse_blocks(csr_pem).ok()?;
    let [block] = blocks.as_slice() else {
        return None;
    };
    if block.label != "CERTIFICATE REQUEST" && block.label != "NEW CERTIFICATE REQUEST" {
        return None;
    }
    let (rest, csr) = X509CertificationRequest::from_der(&block.der).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let info = &csr.certification_request_info;
    let common_names = info
        .subject
        .iter_common_name()
        .map(|cn| cn.as_str().map(str::to_string))
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    let mut dns_names = BTreeSet::new();
    let mut ip_addresses = BTreeSet::new();
    for extension in csr.requested_extensions().into_iter().flatten() {
        if let ParsedExtension::SubjectAlternativeName(san) = extension {
            for name in &san.general_names {
                match name {
                    GeneralName::DNSName(dns) => {
                        dns_names.insert(dns.to_ascii_lowercase());
                    }
                    GeneralName::IPAddress(bytes) => {
                        ip_addresses.insert(ip_from_bytes(bytes)?);
                    }
                    _ => {}
                }
            }
        }
    }
    Some(Requested {
        public_key: info.subject_pki.raw.to_vec(),
        common_names,
        dns_names,
        ip_addresses,
    })
}

/// An IP address SAN's octets (4 or 16 of them).
pub(crate) fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// True when `csr_pem` was made with `key` and asks for exactly the names of `id` (CN and the
/// SAN sets, ignoring order and the unique identifier). The charm keeps its CSR while this holds
/// and makes a new one otherwise (key changed, IP changed).
pub fn csr_matches(csr_pem: &str, key: &PrivateKey, id: &Identity) -> bool {
    let Some(requested) = read_csr(csr_pem) else {
        return false;
    };
    let dns_names: BTreeSet<String> = id
        .dns_names
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .collect();
    let ip_addresses: BTreeSet<IpAddr> = id.ip_addresses.iter().copied().collect();
    requested.public_key == key.public_key_der()
        && requested.common_names == [id.common_name.as_str()]
        && requested.dns_names == dns_names
        && requested.ip_addresses == ip_addresses
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::keys::KeyKind;
    use x509_parser::prelude::X509Name;

    fn pg0() -> Identity {
        identity("pg", "pg-0", "prod", "10.1.2.3")
    }

    #[test]
    fn identity_follows_the_reference_names_and_order() {
        let id = pg0();
        assert_eq!(id.common_name, "pg-0.pg-endpoints");
        assert_eq!(
            id.dns_names,
            [
                "pg-0",
                "pg-0.pg-endpoints",
                "pg-0.pg-endpoints.prod.svc.cluster.local",
                "10.1.2.3",
                "pg-primary.prod.svc.cluster.local",
                "pg-replicas.prod.svc.cluster.local",
            ]
        );
        assert_eq!(id.ip_addresses, ["10.1.2.3".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn identity_without_an_ip_has_no_ip_san() {
        let id = identity("pg", "pg-0", "prod", "");
        assert!(id.ip_addresses.is_empty());
        assert_eq!(id.dns_names.len(), 5);
        assert!(!id.dns_names.contains(&String::new()));
        let v6 = identity("pg", "pg-1", "prod", " fd00::7 ");
        assert_eq!(v6.ip_addresses, ["fd00::7".parse::<IpAddr>().unwrap()]);
        assert_eq!(v6.dns_names[3], "fd00::7");
    }

    #[test]
    fn identity_drops_duplicates() {
        // An address equal to the pod name (no IP yet, the hostname given instead).
        let id = identity("pg", "pg-0", "prod", "pg-0");
        assert_eq!(id.dns_names.iter().filter(|n| *n == "pg-0").count(), 1);
        assert_eq!(id.dns_names.len(), 5);
    }

    fn subject_value(subject: &X509Name<'_>, oid: &str) -> Vec<String> {
        subject
            .iter_attributes()
            .filter(|a| a.attr_type().to_id_string() == oid)
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    }

    fn parsed_request(csr: &str) -> (String, Vec<String>, Vec<String>) {
        let der = pem::parse_blocks(csr).unwrap()[0].der.to_vec();
        let (_, req) = X509CertificationRequest::from_der(&der).unwrap();
        let subject = &req.certification_request_info.subject;
        (
            req.signature_algorithm.algorithm.to_id_string(),
            subject_value(subject, "2.5.4.3"),
            subject_value(subject, "2.5.4.45"),
        )
    }

    #[test]
    fn the_request_carries_the_names_and_a_random_unique_identifier() {
        let key = PrivateKey::generate();
        let id = pg0();
        let csr = make_csr(&key, &id).unwrap();
        assert!(csr.starts_with("-----BEGIN CERTIFICATE REQUEST-----\n"));
        assert!(csr.ends_with("-----END CERTIFICATE REQUEST-----\n"));
        let requested = read_csr(&csr).unwrap();
        assert_eq!(requested.public_key, key.public_key_der());
        assert_eq!(requested.common_names, ["pg-0.pg-endpoints"]);
        let dns: BTreeSet<String> = id.dns_names.iter().cloned().collect();
        assert_eq!(requested.dns_names, dns);
        assert_eq!(
            requested.ip_addresses,
            BTreeSet::from(["10.1.2.3".parse().unwrap()])
        );
        let (algorithm, cn, unique) = parsed_request(&csr);
        assert_eq!(algorithm, "1.2.840.10045.4.3.2"); // ecdsa-with-SHA256
        assert_eq!(cn, ["pg-0.pg-endpoints"]);
        assert_eq!(unique.len(), 1);
        let uuid = &unique[0];
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert!("89ab".contains(&uuid[19..20]));
        let (_, _, other) = parsed_request(&make_csr(&key, &id).unwrap());
        assert_ne!(other[0], *uuid);
    }

    #[test]
    fn rsa_and_p384_keys_sign_with_their_algorithms() {
        let rsa = PrivateKey::parse(include_str!("testdata/rsa2048-pkcs1.pem")).unwrap();
        assert_eq!(rsa.kind(), KeyKind::Rsa { bits: 2048 });
        let (algorithm, _, _) = parsed_request(&make_csr(&rsa, &pg0()).unwrap());
        assert_eq!(algorithm, "1.2.840.113549.1.1.11"); // sha256WithRSAEncryption
        let p384 = PrivateKey::parse(include_str!("testdata/p384-sec1.pem")).unwrap();
        let (algorithm, _, _) = parsed_request(&make_csr(&p384, &pg0()).unwrap());
        assert_eq!(algorithm, "1.2.840.10045.4.3.3"); // ecdsa-with-SHA384
    }

    #[test]
    fn the_request_signature_verifies() {
        // x509-parser is built without signature verification: check with ring directly over
        // the CertificationRequestInfo.
        use ring::signature::{ECDSA_P256_SHA256_ASN1, RSA_PKCS1_2048_8192_SHA256};
        use ring::signature::{UnparsedPublicKey, VerificationAlgorithm};
        let cases: [(PrivateKey, &dyn VerificationAlgorithm); 2] = [
            (PrivateKey::generate(), &ECDSA_P256_SHA256_ASN1),
            (
                PrivateKey::parse(include_str!("testdata/rsa2048-pkcs8.pem")).unwrap(),
                &RSA_PKCS1_2048_8192_SHA256,
            ),
        ];
        for (key, algorithm) in cases {
            let csr = make_csr(&key, &pg0()).unwrap();
            let der = pem::parse_blocks(&csr).unwrap()[0].der.to_vec();
            let (_, req) = X509CertificationRequest::from_der(&der).unwrap();
            let info = &req.certification_request_info;
            let public = &info.subject_pki.subject_public_key.data;
            UnparsedPublicKey::new(algorithm, public)
                .verify(info.raw, &req.signature_value.data)
                .expect("signature verifies");
        }
    }

    #[test]
    fn a_request_matches_while_key_and_names_are_unchanged() {
        let key = PrivateKey::generate();
        let id = pg0();
        let csr = make_csr(&key, &id).unwrap();
        assert!(csr_matches(&csr, &key, &id));
        let mut reordered = id.clone();
        reordered.dns_names.reverse();
        assert!(csr_matches(&csr, &key, &reordered));
        assert!(csr_matches(&csr.replace('\n', "\r\n"), &key, &id));

        assert!(!csr_matches(&csr, &PrivateKey::generate(), &id));
        assert!(!csr_matches(
            &csr,
            &key,
            &identity("pg", "pg-0", "prod", "10.1.2.4")
        ));
        assert!(!csr_matches(
            &csr,
            &key,
            &identity("pg", "pg-1", "prod", "10.1.2.3")
        ));
        assert!(!csr_matches(
            &csr,
            &key,
            &identity("pg", "pg-0", "dev", "10.1.2.3")
        ));
        let mut fewer = id.clone();
        fewer.dns_names.pop();
        assert!(!csr_matches(&csr, &key, &fewer));
        let mut other_cn = id.clone();
        other_cn.common_name = "pg-0".into();
        assert!(!csr_matches(&csr, &key, &other_cn));
        assert!(!csr_matches("", &key, &id));
        assert!(!csr_matches("garbage", &key, &id));
        assert!(!csr_matches(&format!("{csr}{csr}"), &key, &id));
    }

    #[test]
    fn names_that_cannot_be_certified_are_refused() {
        let key = PrivateKey::generate();
        let bad = identity("pg", "pg-0", "bad..namespace", "10.1.2.3");
        assert!(matches!(
            make_csr(&key, &bad),
            Err(CsrError::InvalidName { name }) if name.contains("bad..namespace")
        ));
    }
}
