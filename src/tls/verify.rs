//! The checks a provider's certificate passes before the workload uses it (DESIGN §6): not
//! revoked, readable, for our key, covering our names, within its validity, and chaining to the
//! CA sent with it. A refusal is one short sentence that becomes a blocked status ("TLS
//! certificate refused: …").

use std::cmp::min;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::{CertificateDer, DnsName, ServerName, UnixTime};
use webpki::{ALL_VERIFICATION_ALGS, EndEntityCert, KeyUsage};
use x509_parser::prelude::{FromDer, SubjectPublicKeyInfo, X509Certificate};

use super::csr::Identity;
use super::keys::PrivateKey;
use super::pem;
use super::relation::ProviderCertificate;

/// A certificate that passed every check, and the files the workload gets from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity: renewal is planned from it.
    pub not_after: SystemTime,
    /// The serial number in lowercase hex without leading zeros, for logs and status.
    pub serial_hex: String,
    /// What the workload's cert.pem gets: the leaf then any intermediates (from `chain`,
    /// excluding the leaf itself and the root CA), PEM, '\n'-joined with trailing newline.
    /// Intermediates are those of the verified path, in order from the leaf towards the CA,
    /// whatever order the provider listed them in.
    pub cert_file: String,
    /// What ca.pem gets: the CA certificate PEM (normalised, trailing newline). Several when the
    /// provider's `ca` holds several.
    pub ca_file: String,
}

/// Why a certificate was refused. Each message is a short predicate about "the TLS
/// certificate", fit for a status line, and holds no PEM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The provider marked it revoked.
    #[error("was revoked by the provider")]
    Revoked,
    /// `certificate` is not exactly one parseable X.509 v3 certificate.
    #[error("is not a single readable X.509 v3 certificate in PEM")]
    Unreadable,
    /// `ca` holds no certificate, or one that cannot be parsed or trusted.
    #[error("came with a CA that is not a readable PEM certificate")]
    UnreadableCa,
    /// An entry of `chain` is not PEM certificates.
    #[error("came with a chain holding something other than PEM certificates")]
    UnreadableChain,
    /// Its public key is not ours.
    #[error("does not match this unit's private key")]
    KeyMismatch,
    /// It does not cover one of our names or addresses.
    #[error("does not cover {name}")]
    MissingName {
        /// The first of our names it lacks.
        name: String,
    },
    /// Its validity has not started.
    #[error("is not valid before {}", utc(*from))]
    NotYetValid {
        /// Its notBefore.
        from: SystemTime,
    },
    /// Its validity has ended.
    #[error("expired on {}", utc(*on))]
    Expired {
        /// Its notAfter.
        on: SystemTime,
    },
    /// The CA or an intermediate is not yet valid.
    #[error("chains to a CA not valid before {}", utc(*from))]
    IssuerNotYetValid {
        /// That certificate's notBefore.
        from: SystemTime,
    },
    /// The CA or an intermediate has expired.
    #[error("chains to a CA that expired on {}", utc(*on))]
    IssuerExpired {
        /// That certificate's notAfter.
        on: SystemTime,
    },
    /// It is a CA certificate.
    #[error("is a CA certificate, not a server certificate")]
    IsCa,
    /// Its extended key usage leaves out TLS servers.
    #[error("is not for TLS servers (extended key usage)")]
    NotForServers,
    /// No path from it to the CA through the chain's certificates.
    #[error("does not chain to the CA sent with it")]
    NotChained,
}

/// Check `cert` against our key and identity at `now`, in this order so that the status names
/// the most specific problem: revoked; the certificate, CA and chain parse; the key matches;
/// every DNS name and IP of `id` is covered (DNS names that are IP addresses, which the reference
/// also lists as DNS SANs, are checked as IP SANs); the certificate and the CA are within their
/// validity; and the certificate chains to the CA, with `chain`'s entries as intermediates.
pub fn verify(
    cert: &ProviderCertificate,
    key: &PrivateKey,
    id: &Identity,
    now: SystemTime,
) -> Result<Verified, CertError> {
    if cert.revoked {
        return Err(CertError::Revoked);
    }
    let leaf_der = match certificates(&cert.certificate).as_deref() {
        Some([one]) => one.clone(),
        _ => return Err(CertError::Unreadable),
    };
    let leaf = parse(&leaf_der).ok_or(CertError::Unreadable)?;
    let ca_ders = certificates(&cert.ca).ok_or(CertError::UnreadableCa)?;
    let cas = ca_ders
        .iter()
        .map(|der| parse(der))
        .collect::<Option<Vec<_>>>()
        .ok_or(CertError::UnreadableCa)?;
    let mut chain_ders = Vec::new();
    for entry in &cert.chain {
        chain_ders.extend(certificates(entry).ok_or(CertError::UnreadableChain)?);
    }
    if chain_ders.iter().any(|der| parse(der).is_none()) {
        return Err(CertError::UnreadableChain);
    }

    if !same_public_key(leaf.public_key(), key.public_key_der()) {
        return Err(CertError::KeyMismatch);
    }

    let leaf_cert = CertificateDer::from(leaf_der.as_slice());
    let end_entity = EndEntityCert::try_from(&leaf_cert).map_err(|_| CertError::Unreadable)?;
    if let Some(name) = first_missing_name(&end_entity, id) {
        return Err(CertError::MissingName { name });
    }

    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (not_before, not_after) = validity(&leaf);
    if now_secs < secs(not_before) {
        return Err(CertError::NotYetValid { from: not_before });
    }
    if now_secs > secs(not_after) {
        return Err(CertError::Expired { on: not_after });
    }
    for ca in &cas {
        let (from, until) = validity(ca);
        if now_secs < secs(from) {
            return Err(CertError::IssuerNotYetValid { from });
        }
        if now_secs > secs(until) {
            return Err(CertError::IssuerExpired { on: until });
        }
    }

    let ca_certs: Vec<CertificateDer<'_>> = ca_ders
        .iter()
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let anchors = ca_certs
        .iter()
        .map(webpki::anchor_from_trusted_cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| CertError::UnreadableCa)?;
    let intermediates: Vec<CertificateDer<'_>> = chain_ders
        .iter()
        .filter(|der| **der != leaf_der && !ca_ders.contains(der))
        .map(|der| CertificateDer::from(der.as_slice()))
        .collect();
    let path = end_entity
        .verify_for_usage(
            ALL_VERIFICATION_ALGS,
            &anchors,
            &intermediates,
            UnixTime::since_unix_epoch(Duration::from_secs(now_secs)),
            KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(chain_error)?;

    let mut cert_file = pem::encode("CERTIFICATE", &leaf_der);
    for intermediate in path.intermediate_certificates() {
        cert_file.push_str(&pem::encode("CERTIFICATE", intermediate.der().as_ref()));
    }
    let ca_file = ca_ders
        .iter()
        .map(|der| pem::encode("CERTIFICATE", der))
        .collect();
    Ok(Verified {
        not_before,
        not_after,
        serial_hex: serial_hex(leaf.raw_serial()),
        cert_file,
        ca_file,
    })
}

/// remaining < min(7 days, one third of the lifetime (not_after - not_before)): the time to ask
/// for a new certificate. An expired certificate is always due. It depends only on the validity
/// window, so a certificate remembered by its dates alone can be checked too.
pub fn renewal_due(not_before: SystemTime, not_after: SystemTime, now: SystemTime) -> bool {
    let lifetime = not_after.duration_since(not_before).unwrap_or_default();
    let threshold = min(Duration::from_secs(7 * 24 * 3600), lifetime / 3);
    let remaining = not_after.duration_since(now).unwrap_or_default();
    remaining.is_zero() || remaining < threshold
}

/// The DER of every certificate block in `text`; `None` if there is none, the PEM is broken or
/// it holds anything else.
fn certificates(text: &str) -> Option<Vec<Vec<u8>>> {
    let ders = pem::parse_blocks(text)
        .ok()?
        .into_iter()
        .map(|block| (block.label == "CERTIFICATE").then(|| block.der.to_vec()))
        .collect::<Option<Vec<_>>>()?;
    (!ders.is_empty()).then_some(ders)
}

/// A certificate parsed with nothing left over.
fn parse(der: &[u8]) -> Option<X509Certificate<'_>> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Some(cert),
        _ => None,
    }
}

/// The same key: the same algorithm and the same key bits. Compared parsed rather than as raw
/// DER so that an encoder's choice (RSA's NULL parameters present or absent) does not matter.
fn same_public_key(theirs: &SubjectPublicKeyInfo<'_>, ours: &[u8]) -> bool {
    if theirs.raw == ours {
        return true;
    }
    match SubjectPublicKeyInfo::from_der(ours) {
        Ok((_, ours)) => {
            ours.algorithm.algorithm == theirs.algorithm.algorithm
                && ours.subject_public_key.data == theirs.subject_public_key.data
        }
        Err(_) => false,
    }
}

/// The first DNS name or IP of `id` the certificate's SANs do not cover, as webpki judges it
/// (wildcards included, the subject CN ignored as RFC 6125 asks).
fn first_missing_name(end_entity: &EndEntityCert<'_>, id: &Identity) -> Option<String> {
    for name in &id.dns_names {
        if name.parse::<std::net::IpAddr>().is_ok() {
            continue; // the IP's DNS SAN twin; checked below as an IP SAN
        }
        let covered = DnsName::try_from(name.as_str()).is_ok_and(|dns| {
            end_entity
                .verify_is_valid_for_subject_name(&ServerName::DnsName(dns))
                .is_ok()
        });
        if !covered {
            return Some(name.clone());
        }
    }
    for ip in &id.ip_addresses {
        let server = ServerName::IpAddress((*ip).into());
        if end_entity
            .verify_is_valid_for_subject_name(&server)
            .is_err()
        {
            return Some(ip.to_string());
        }
    }
    None
}

/// A certificate's validity period.
fn validity(cert: &X509Certificate<'_>) -> (SystemTime, SystemTime) {
    let v = cert.validity();
    (
        system_time(v.not_before.timestamp()),
        system_time(v.not_after.timestamp()),
    )
}

fn system_time(unix: i64) -> SystemTime {
    match u64::try_from(unix) {
        Ok(after) => UNIX_EPOCH + Duration::from_secs(after),
        Err(_) => UNIX_EPOCH - Duration::from_secs(unix.unsigned_abs()),
    }
}

/// Whole seconds since the epoch, as webpki compares them (0 before the epoch).
fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn unix_time(d: UnixTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(d.as_secs())
}

/// webpki's reason, as a status. The leaf's own dates were checked before, so date errors here
/// are about an intermediate.
fn chain_error(error: webpki::Error) -> CertError {
    match error {
        webpki::Error::CertExpired { not_after, .. } => CertError::IssuerExpired {
            on: unix_time(not_after),
        },
        webpki::Error::CertNotValidYet { not_before, .. } => CertError::IssuerNotYetValid {
            from: unix_time(not_before),
        },
        webpki::Error::CaUsedAsEndEntity => CertError::IsCa,
        webpki::Error::RequiredEkuNotFoundContext(_) | webpki::Error::EmptyEkuExtension => {
            CertError::NotForServers
        }
        _ => CertError::NotChained,
    }
}

/// A serial number's magnitude in lowercase hex ("0" for zero).
fn serial_hex(raw: &[u8]) -> String {
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// `2026-11-28 03:00:00 UTC`.
fn utc(t: SystemTime) -> String {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01: count in 400-year eras of 146 097 days
/// from 0000-03-01, so that the leap day ends each year.
fn civil_date(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::csr::identity;
    use rcgen::{
        BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
        KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData, SanType,
    };

    /// 2026-09-21 14:13:20 UTC.
    const T0: u64 = 1_790_000_000;
    const DAY: u64 = 86_400;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// A CA that can sign: its PEM and its issuer.
    struct Ca {
        pem: String,
        issuer: Issuer<'static, KeyPair>,
    }

    fn ca_params(name: &str, from: u64, until: u64) -> CertificateParams {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = at(from).into();
        params.not_after = at(until).into();
        params
    }

    fn root(name: &str, from: u64, until: u64) -> Ca {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let params = ca_params(name, from, until);
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    fn intermediate(parent: &Ca, name: &str, from: u64, until: u64) -> Ca {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let params = ca_params(name, from, until);
        let pem = params.signed_by(&key, &parent.issuer).unwrap().pem();
        Ca {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    fn leaf_params(id: &Identity, from: u64, until: u64) -> CertificateParams {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, id.common_name.as_str());
        for name in &id.dns_names {
            params
                .subject_alt_names
                .push(SanType::DnsName(name.clone().try_into().unwrap()));
        }
        for ip in &id.ip_addresses {
            params.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        params.not_before = at(from).into();
        params.not_after = at(until).into();
        params
    }

    fn sign(params: &CertificateParams, public: &impl PublicKeyData, ca: &Ca) -> String {
        params.signed_by(public, &ca.issuer).unwrap().pem()
    }

    struct Fixture {
        key: PrivateKey,
        id: Identity,
        ca: Ca,
    }

    fn fixture() -> Fixture {
        Fixture {
            key: PrivateKey::generate(),
            id: identity("pg", "pg-0", "prod", "10.1.2.3"),
            ca: root("Test CA", T0 - 365 * DAY, T0 + 3650 * DAY),
        }
    }

    impl Fixture {
        fn answer(&self, certificate: String) -> ProviderCertificate {
            ProviderCertificate {
                csr: String::new(),
                chain: vec![certificate.clone(), self.ca.pem.clone()],
                certificate,
                ca: self.ca.pem.clone(),
                revoked: false,
            }
        }

        fn cert(&self, from: u64, until: u64) -> String {
            let pair = self.key.key_pair().unwrap();
            sign(&leaf_params(&self.id, from, until), &pair, &self.ca)
        }

        fn verify(&self, answer: &ProviderCertificate) -> Result<Verified, CertError> {
            verify(answer, &self.key, &self.id, at(T0))
        }
    }

    fn normalised(pem_text: &str) -> String {
        let der = pem::parse_blocks(pem_text).unwrap()[0].der.to_vec();
        pem::encode("CERTIFICATE", &der)
    }

    #[test]
    fn a_good_certificate_passes_and_fills_the_files() {
        let f = fixture();
        let cert = f.cert(T0 - DAY, T0 + 90 * DAY);
        let verified = f.verify(&f.answer(cert.clone())).unwrap();
        assert_eq!(verified.not_before, at(T0 - DAY));
        assert_eq!(verified.not_after, at(T0 + 90 * DAY));
        assert_eq!(verified.cert_file, normalised(&cert));
        assert_eq!(verified.ca_file, normalised(&f.ca.pem));
        assert!(verified.cert_file.ends_with("-----END CERTIFICATE-----\n"));
        assert!(!verified.serial_hex.is_empty());
        assert!(verified.serial_hex.chars().all(|c| c.is_ascii_hexdigit()));
        let der = pem::parse_blocks(&cert).unwrap()[0].der.to_vec();
        let raw = parse(&der).unwrap().raw_serial().to_vec();
        assert_eq!(verified.serial_hex, serial_hex(&raw));
    }

    #[test]
    fn crlf_pem_and_an_empty_chain_are_fine() {
        let f = fixture();
        let cert = f.cert(T0 - DAY, T0 + 90 * DAY);
        let mut answer = f.answer(cert.replace('\n', "\r\n"));
        answer.chain.clear();
        answer.ca = f.ca.pem.replace('\n', "\r\n");
        let verified = f.verify(&answer).unwrap();
        assert_eq!(verified.cert_file, normalised(&cert));
    }

    #[test]
    fn an_rsa_key_certificate_passes() {
        let mut f = fixture();
        f.key = PrivateKey::parse(include_str!("testdata/rsa2048-pkcs1.pem")).unwrap();
        let cert = f.cert(T0 - DAY, T0 + DAY);
        assert!(f.verify(&f.answer(cert)).is_ok());
    }

    #[test]
    fn revoked_certificates_are_refused_first() {
        let f = fixture();
        let mut answer = f.answer("garbage".into());
        answer.revoked = true;
        let err = f.verify(&answer).unwrap_err();
        assert_eq!(err, CertError::Revoked);
        assert_eq!(err.to_string(), "was revoked by the provider");
    }

    #[test]
    fn expired_and_not_yet_valid_certificates_are_refused() {
        let f = fixture();
        let expired = f.cert(T0 - 90 * DAY, T0 - 1);
        assert_eq!(
            f.verify(&f.answer(expired)).unwrap_err(),
            CertError::Expired { on: at(T0 - 1) }
        );
        let future = f.cert(T0 + 1, T0 + 90 * DAY);
        assert_eq!(
            f.verify(&f.answer(future)).unwrap_err(),
            CertError::NotYetValid { from: at(T0 + 1) }
        );
        // The bounds themselves are inside the validity period.
        assert!(f.verify(&f.answer(f.cert(T0, T0 + DAY))).is_ok());
        assert!(f.verify(&f.answer(f.cert(T0 - DAY, T0))).is_ok());
    }

    #[test]
    fn expiry_messages_name_the_date() {
        let on = at(1_795_834_800);
        assert_eq!(
            CertError::Expired { on }.to_string(),
            "expired on 2026-11-28 03:00:00 UTC"
        );
        assert_eq!(
            CertError::NotYetValid { from: on }.to_string(),
            "is not valid before 2026-11-28 03:00:00 UTC"
        );
        assert_eq!(utc(at(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(at(951_868_799)), "2000-02-29 23:59:59 UTC");
        assert_eq!(utc(at(4_107_542_400)), "2100-03-01 00:00:00 UTC");
        assert_eq!(
            utc(UNIX_EPOCH - Duration::from_secs(1)),
            "1969-12-31 23:59:59 UTC"
        );
    }

    #[test]
    fn a_certificate_for_another_key_is_refused() {
        let f = fixture();
        let other = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = sign(&leaf_params(&f.id, T0 - DAY, T0 + DAY), &other, &f.ca);
        let err = f.verify(&f.answer(cert)).unwrap_err();
        assert_eq!(err, CertError::KeyMismatch);
        assert_eq!(err.to_string(), "does not match this unit's private key");
    }

    #[test]
    fn a_certificate_missing_one_of_our_names_is_refused() {
        let f = fixture();
        let pair = f.key.key_pair().unwrap();
        let mut narrower = f.id.clone();
        narrower.dns_names.remove(1);
        let cert = sign(&leaf_params(&narrower, T0 - DAY, T0 + DAY), &pair, &f.ca);
        let err = f.verify(&f.answer(cert)).unwrap_err();
        assert_eq!(err.to_string(), "does not cover pg-0.pg-endpoints");

        let mut no_ip = f.id.clone();
        no_ip.ip_addresses.clear();
        let cert = sign(&leaf_params(&no_ip, T0 - DAY, T0 + DAY), &pair, &f.ca);
        let err = f.verify(&f.answer(cert)).unwrap_err();
        assert_eq!(
            err,
            CertError::MissingName {
                name: "10.1.2.3".into()
            }
        );
    }

    #[test]
    fn a_wildcard_certificate_covers_the_names_it_matches() {
        let f = fixture();
        let pair = f.key.key_pair().unwrap();
        let mut wide = f.id.clone();
        wide.dns_names = vec![
            "pg-0".into(),
            "pg-0.pg-endpoints".into(),
            "*.pg-endpoints.prod.svc.cluster.local".into(),
            "*.prod.svc.cluster.local".into(),
        ];
        let cert = sign(&leaf_params(&wide, T0 - DAY, T0 + DAY), &pair, &f.ca);
        assert!(f.verify(&f.answer(cert)).is_ok());
    }

    #[test]
    fn a_certificate_from_another_ca_is_refused() {
        let f = fixture();
        let other = root("Other CA", T0 - DAY, T0 + 365 * DAY);
        let pair = f.key.key_pair().unwrap();
        let cert = sign(&leaf_params(&f.id, T0 - DAY, T0 + DAY), &pair, &other);
        let err = f.verify(&f.answer(cert)).unwrap_err();
        assert_eq!(err, CertError::NotChained);
        assert_eq!(err.to_string(), "does not chain to the CA sent with it");
    }

    #[test]
    fn an_intermediate_in_the_chain_is_used_and_goes_to_cert_pem() {
        let mut f = fixture();
        let middle = intermediate(&f.ca, "Issuing CA", T0 - DAY, T0 + 365 * DAY);
        let pair = f.key.key_pair().unwrap();
        let cert = sign(&leaf_params(&f.id, T0 - DAY, T0 + DAY), &pair, &middle);
        let expected = format!("{}{}", normalised(&cert), normalised(&middle.pem));
        for chain in [
            vec![cert.clone(), middle.pem.clone(), f.ca.pem.clone()],
            vec![f.ca.pem.clone(), middle.pem.clone(), cert.clone()],
            vec![format!("{cert}{}", middle.pem)],
        ] {
            let mut answer = f.answer(cert.clone());
            answer.chain = chain;
            let verified = f.verify(&answer).unwrap();
            assert_eq!(verified.cert_file, expected);
            assert_eq!(verified.ca_file, normalised(&f.ca.pem));
        }
        // Without the intermediate there is no path.
        let answer = f.answer(cert.clone());
        assert_eq!(f.verify(&answer).unwrap_err(), CertError::NotChained);
        // The issuing CA itself may be the `ca` the provider sends.
        f.ca = middle;
        let verified = f.verify(&f.answer(cert.clone())).unwrap();
        assert_eq!(verified.cert_file, normalised(&cert));
    }

    #[test]
    fn an_expired_ca_or_intermediate_is_refused() {
        let mut f = fixture();
        let middle = intermediate(&f.ca, "Old issuing CA", T0 - 10 * DAY, T0 - DAY);
        let pair = f.key.key_pair().unwrap();
        let cert = sign(&leaf_params(&f.id, T0 - DAY, T0 + DAY), &pair, &middle);
        let mut answer = f.answer(cert);
        answer.chain.push(middle.pem.clone());
        let err = f.verify(&answer).unwrap_err();
        assert_eq!(err, CertError::IssuerExpired { on: at(T0 - DAY) });
        assert!(
            err.to_string()
                .starts_with("chains to a CA that expired on ")
        );

        f.ca = root("Expired CA", T0 - 10 * DAY, T0 - DAY);
        let cert = f.cert(T0 - DAY, T0 + DAY);
        let err = f.verify(&f.answer(cert)).unwrap_err();
        assert_eq!(err, CertError::IssuerExpired { on: at(T0 - DAY) });
    }

    #[test]
    fn garbage_certificates_are_refused() {
        let f = fixture();
        let good = f.cert(T0 - DAY, T0 + DAY);
        for certificate in [
            String::new(),
            "garbage".to_string(),
            pem::encode("CERTIFICATE", b"not DER"),
            format!("{good}{good}"),
            f.key.pem().expose().to_string(),
        ] {
            let err = f.verify(&f.answer(certificate)).unwrap_err();
            assert_eq!(err, CertError::Unreadable);
        }
        let mut answer = f.answer(good.clone());
        answer.ca = "garbage".into();
        assert_eq!(f.verify(&answer).unwrap_err(), CertError::UnreadableCa);
        answer.ca = pem::encode("CERTIFICATE", b"not DER");
        assert_eq!(f.verify(&answer).unwrap_err(), CertError::UnreadableCa);
        let mut answer = f.answer(good);
        answer.chain.push("garbage".into());
        assert_eq!(f.verify(&answer).unwrap_err(), CertError::UnreadableChain);
    }

    #[test]
    fn ca_certificates_and_client_only_certificates_are_refused() {
        let f = fixture();
        let pair = f.key.key_pair().unwrap();
        let mut as_ca = leaf_params(&f.id, T0 - DAY, T0 + DAY);
        as_ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = sign(&as_ca, &pair, &f.ca);
        assert_eq!(f.verify(&f.answer(cert)).unwrap_err(), CertError::IsCa);

        let mut client = leaf_params(&f.id, T0 - DAY, T0 + DAY);
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = sign(&client, &pair, &f.ca);
        assert_eq!(
            f.verify(&f.answer(cert)).unwrap_err(),
            CertError::NotForServers
        );

        let mut both = leaf_params(&f.id, T0 - DAY, T0 + DAY);
        both.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        assert!(f.verify(&f.answer(sign(&both, &pair, &f.ca))).is_ok());
    }

    #[test]
    fn messages_are_short_and_hold_no_pem() {
        let long_name = "pg-10.pg-endpoints.production.svc.cluster.local".to_string();
        let errors = [
            CertError::Revoked,
            CertError::Unreadable,
            CertError::UnreadableCa,
            CertError::UnreadableChain,
            CertError::KeyMismatch,
            CertError::MissingName { name: long_name },
            CertError::NotYetValid { from: at(T0) },
            CertError::Expired { on: at(T0) },
            CertError::IssuerNotYetValid { from: at(T0) },
            CertError::IssuerExpired { on: at(T0) },
            CertError::IsCa,
            CertError::NotForServers,
            CertError::NotChained,
        ];
        for err in errors {
            let status = format!("TLS certificate refused: {err}");
            assert!(status.len() <= 100, "{status}");
            assert!(!status.contains("-----"));
        }
    }

    fn verified(from: u64, until: u64) -> Verified {
        Verified {
            not_before: at(from),
            not_after: at(until),
            serial_hex: "1".into(),
            cert_file: String::new(),
            ca_file: String::new(),
        }
    }

    #[test]
    fn renewal_is_due_in_the_last_third_of_a_short_certificate() {
        let v = verified(T0, T0 + 90);
        assert!(!renewal_due(v.not_before, v.not_after, at(T0)));
        assert!(!renewal_due(v.not_before, v.not_after, at(T0 + 59)));
        assert!(!renewal_due(v.not_before, v.not_after, at(T0 + 60))); // 30 s left: exactly a third
        assert!(renewal_due(v.not_before, v.not_after, at(T0 + 61)));
        assert!(renewal_due(v.not_before, v.not_after, at(T0 + 90)));
        assert!(renewal_due(v.not_before, v.not_after, at(T0 + 1000)));
    }

    #[test]
    fn renewal_is_due_in_the_last_week_of_a_long_certificate() {
        let v = verified(T0, T0 + 90 * DAY);
        assert!(!renewal_due(v.not_before, v.not_after, at(T0)));
        assert!(!renewal_due(v.not_before, v.not_after, at(T0 + 60 * DAY))); // a third left, but more than a week
        assert!(!renewal_due(v.not_before, v.not_after, at(T0 + 83 * DAY))); // exactly a week left
        assert!(renewal_due(
            v.not_before,
            v.not_after,
            at(T0 + 83 * DAY + 1)
        ));
        assert!(renewal_due(v.not_before, v.not_after, at(T0 + 89 * DAY)));
        assert!(renewal_due(v.not_before, v.not_after, at(T0 + 91 * DAY)));
    }

    #[test]
    fn serials_print_without_leading_zeros() {
        assert_eq!(serial_hex(&[0x00, 0x8f, 0x01]), "8f01");
        assert_eq!(serial_hex(&[0x00]), "0");
        assert_eq!(serial_hex(&[0x12, 0x00]), "1200");
    }
}
