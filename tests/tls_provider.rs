//! The TLS certificates provider test charm (ops and the tls-certificates library, from PyPI)
//! answers a requirer it did not write: a shell charm whose CSRs, made with the openssl CLI, go
//! out in exactly the wire format the PostgreSQL charm writes. Each `mode` the provider offers
//! produces the certificate it promises, checked here with x509-parser and `openssl verify`.

mod common_lab;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::Command;

use common_lab::tls;
use lab::engine::{Isolation, Model, ModelOptions};
use serde_json::Value;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

const PROVIDER: &str = "tls-provider";
const UNITS: [&str; 2] = ["tls-requirer/0", "tls-requirer/1"];
/// Validity of issued certificates, as the provider is configured.
const VALIDITY: i64 = 600;

/// The provider's `certificates` (its app databag) and each requirer unit's CSR.
fn relation_data(m: &Model) -> (Vec<Value>, Vec<String>) {
    let state = m.state();
    let rel = state
        .relations
        .values()
        .find(|r| r.interface == "tls-certificates")
        .expect("the certificates relation");
    let certificates = rel.app_data[PROVIDER]
        .get("certificates")
        .map(|j| serde_json::from_str(j).unwrap())
        .unwrap_or_default();
    let csrs = UNITS
        .iter()
        .map(|u| {
            let requests: Value =
                serde_json::from_str(&rel.unit_data[*u]["certificate_signing_requests"]).unwrap();
            assert_eq!(requests[0]["ca"], false);
            requests[0]["certificate_signing_request"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    (certificates, csrs)
}

/// The entry answering `csr` (the provider echoes it re-encoded: compare trimmed).
fn entry_for<'a>(certificates: &'a [Value], csr: &str) -> &'a Value {
    let found: Vec<_> = certificates
        .iter()
        .filter(|c| c["certificate_signing_request"].as_str().unwrap().trim() == csr.trim())
        .collect();
    assert_eq!(found.len(), 1, "one certificate per CSR: {certificates:#?}");
    found[0]
}

fn text<'a>(entry: &'a Value, key: &str) -> &'a str {
    entry[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key}: {entry}"))
}

/// What a certificate or CSR says: its public key (SPKI DER) and names (`DNS:`/`IP:`).
#[derive(Debug)]
struct Facts {
    spki: Vec<u8>,
    names: BTreeSet<String>,
    not_before: i64,
    not_after: i64,
}

fn der(pem: &str) -> Vec<u8> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
    pem.contents
}

fn names<'a>(general: impl Iterator<Item = &'a GeneralName<'a>>) -> BTreeSet<String> {
    general
        .map(|n| match n {
            GeneralName::DNSName(d) => format!("DNS:{d}"),
            GeneralName::IPAddress(b) => match b.len() {
                4 => format!("IP:{}", IpAddr::from(<[u8; 4]>::try_from(*b).unwrap())),
                16 => format!("IP:{}", Ipv6Addr::from(<[u8; 16]>::try_from(*b).unwrap())),
                _ => format!("IP:{b:?}"),
            },
            other => format!("{other:?}"),
        })
        .collect()
}

fn certificate(pem: &str) -> Facts {
    let der = der(pem);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let san = cert.subject_alternative_name().unwrap();
    Facts {
        spki: cert.public_key().raw.to_vec(),
        names: san
            .map(|s| names(s.value.general_names.iter()))
            .unwrap_or_default(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    }
}

fn request(pem: &str) -> Facts {
    let der = der(pem);
    let (_, csr) = X509CertificationRequest::from_der(&der).unwrap();
    let names = csr
        .requested_extensions()
        .into_iter()
        .flatten()
        .filter_map(|e| match e {
            ParsedExtension::SubjectAlternativeName(san) => Some(names(san.general_names.iter())),
            _ => None,
        })
        .flatten()
        .collect();
    Facts {
        spki: csr.certification_request_info.subject_pki.raw.to_vec(),
        names,
        not_before: 0,
        not_after: 0,
    }
}

/// `openssl verify -CAfile <ca> <certificate>`: whether it passed, and what it said.
fn openssl_verify(dir: &Path, ca: &str, certificate: &str) -> (bool, String) {
    let (ca_file, cert_file) = (dir.join("ca.pem"), dir.join("cert.pem"));
    std::fs::write(&ca_file, ca).unwrap();
    std::fs::write(&cert_file, certificate).unwrap();
    #[allow(clippy::disallowed_methods)] // the openssl CLI as an independent verifier
    let out = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&ca_file)
        .arg(&cert_file)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[test]
fn the_provider_issues_what_each_mode_promises() {
    let python = tls::tls_python();
    let bin_dir = lab::harness::lab_bin_dir(&common_lab::target_dir(), false).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let provider = tls::provider_charm(tmp.path());
    let requirer = tls::requirer_charm(tmp.path());
    let mut opts = ModelOptions::new(&tmp.path().join("model"), &bin_dir);
    opts.isolation = Isolation::None;
    opts.env
        .insert(tls::TLS_PYTHON_ENV.into(), python.display().to_string());
    let mut m = Model::new(opts).unwrap();
    m.deploy(
        &provider,
        None,
        1,
        &[("validity-seconds".into(), VALIDITY.to_string())],
    )
    .unwrap();
    m.deploy(&requirer, None, 2, &[]).unwrap();
    common_lab::settle_ok(&mut m);
    m.integrate("tls-requirer:certificates", "tls-provider:certificates")
        .unwrap();
    common_lab::settle_ok(&mut m);

    let record = m
        .run_action("tls-provider/0", "get-ca", Default::default())
        .unwrap();
    assert_eq!(record.code, 0, "{}", record.output);
    let ca = record.action.unwrap().results["ca"].clone();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"), "{ca}");

    // The requirer's CSRs carry names, so "the same names" below means something.
    let (_, csrs) = relation_data(&m);
    let requested = request(&csrs[0]).names;
    assert!(
        requested.contains("DNS:tls-requirer-0.lab.example")
            && requested.contains(&format!("IP:{}", Ipv4Addr::LOCALHOST)),
        "{requested:?}"
    );

    // Each mode in turn (config-changed re-issues every certificate), ending with valid again.
    let modes = [
        "valid",
        "expired",
        "wrong-san",
        "wrong-key",
        "wrong-ca",
        "revoked",
        "valid",
    ];
    for (i, mode) in modes.into_iter().enumerate() {
        if i > 0 {
            m.config(PROVIDER, &[("mode".into(), mode.into())], &[])
                .unwrap();
            common_lab::settle_ok(&mut m);
        }
        let (certificates, csrs) = relation_data(&m);
        assert_eq!(certificates.len(), UNITS.len(), "{certificates:#?}");
        let now = m.now() as i64;
        for csr in &csrs {
            let entry = entry_for(&certificates, csr);
            let pem = text(entry, "certificate");
            let (cert, req) = (certificate(pem), request(csr));
            let (verified, said) = openssl_verify(tmp.path(), &ca, pem);
            let context = format!("mode {mode}: {cert:?} for {req:?}: {said}");
            // Whatever the mode, `ca` is the provider's CA and the chain is leaf then CA.
            assert_eq!(text(entry, "ca").trim(), ca.trim(), "{context}");
            let chain: Vec<&str> = entry["chain"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().trim())
                .collect();
            assert_eq!(chain, [pem.trim(), ca.trim()], "{context}");
            let revoked = entry["revoked"].as_bool().unwrap_or(false);
            assert_eq!(revoked, mode == "revoked", "{context}");
            assert_eq!(
                verified,
                !matches!(mode, "expired" | "wrong-ca"),
                "{context}"
            );
            assert_eq!(cert.spki == req.spki, mode != "wrong-key", "{context}");
            if mode == "wrong-san" {
                assert_eq!(
                    cert.names,
                    BTreeSet::from(["DNS:wrong.example".to_string()]),
                    "{context}"
                );
                assert!(cert.names.is_disjoint(&req.names), "{context}");
            } else {
                assert_eq!(cert.names, req.names, "{context}");
            }
            // Within a second: the library reads the clock twice, for each end of the window.
            let window = cert.not_after - cert.not_before;
            assert!((window - VALIDITY).abs() <= 1, "{context}");
            if mode == "expired" {
                assert!(cert.not_after < now, "{context}");
                assert!(said.contains("expired"), "{context}");
            } else {
                assert!((cert.not_before - now).abs() < 120, "{context}");
            }
            if mode == "wrong-ca" {
                assert!(!said.contains("expired"), "{context}");
            }
        }
    }

    // Renewal: a new CSR for the same key replaces the old one; the provider answers it and
    // drops the certificate of the old one.
    let (_, before) = relation_data(&m);
    let record = m
        .run_action("tls-requirer/0", "renew", Default::default())
        .unwrap();
    assert_eq!(record.code, 0, "{}", record.output);
    let (certificates, after) = relation_data(&m);
    assert_ne!(before[0], after[0]);
    assert_eq!(request(&before[0]).spki, request(&after[0]).spki);
    assert_eq!(certificates.len(), UNITS.len(), "{certificates:#?}");
    let renewed = text(entry_for(&certificates, &after[0]), "certificate");
    assert_eq!(certificate(renewed).spki, request(&after[0]).spki);
    assert!(openssl_verify(tmp.path(), &ca, renewed).0);

    let log = m.state().log;
    let issued = |l: &lab::state::LogLine| {
        l.unit == "tls-provider/0" && l.message.contains("issued a certificate in mode wrong-ca")
    };
    assert!(log.iter().any(issued), "the provider logs what it issued");
    assert!(
        !log.iter().any(|l| l.message.contains("PRIVATE KEY")),
        "no private key in the log"
    );
}
