//! The `certificates` relation's wire format (interface `tls-certificates`, reference §8.1), as
//! the tls-certificates v4 Python library reads and writes it: our CSRs in our unit databag, the
//! provider's answers in its application databag.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::pem;

/// The requirer's unit databag key holding our requests.
pub const REQUESTS_KEY: &str = "certificate_signing_requests";

/// The provider's application databag key holding its answers.
pub const CERTIFICATES_KEY: &str = "certificates";

#[derive(Serialize)]
struct Request<'a> {
    certificate_signing_request: &'a str,
    ca: bool,
}

/// The requirer's unit databag value for key `certificate_signing_requests`: JSON list of
/// `{"certificate_signing_request": <PEM>, "ca": false}`. Each PEM is trimmed, as the Python
/// library sends it.
pub fn render_requests(csrs: &[&str]) -> String {
    let requests: Vec<Request<'_>> = csrs
        .iter()
        .map(|csr| Request {
            certificate_signing_request: csr.trim(),
            ca: false,
        })
        .collect();
    serde_json::to_string(&requests).unwrap_or_else(|_| "[]".to_string())
}

/// One entry of the provider's app databag key `certificates` (JSON list of objects with
/// `certificate_signing_request`, `certificate`, `ca`, `chain` (list of PEM), optional `revoked`
/// (bool)). Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCertificate {
    /// The CSR this answers, as the provider echoes it.
    pub csr: String,
    /// The issued certificate (PEM).
    pub certificate: String,
    /// The CA certificate that signed it, or the root of its chain (PEM).
    pub ca: String,
    /// The chain as the provider sends it (PEMs; usually the certificate, intermediates, CA).
    pub chain: Vec<String>,
    /// The provider revoked this certificate.
    pub revoked: bool,
}

/// The provider's databag does not hold what the interface promises. The message names the key
/// and the problem, never the data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelationDataError {
    /// The value is not JSON.
    #[error("the provider's `{key}` is not valid JSON (line {line}, column {column})")]
    NotJson {
        /// The databag key.
        key: &'static str,
        /// Where the parser stopped.
        line: usize,
        /// Where the parser stopped.
        column: usize,
    },
    /// JSON of the wrong shape.
    #[error("the provider's `{key}` {problem}")]
    Shape {
        /// The databag key.
        key: &'static str,
        /// What is wrong, e.g. "entry 2: `chain` is not a list of strings".
        problem: String,
    },
}

/// Parse the provider's app databag. Missing key → `Ok(empty)`. Malformed JSON or wrong types →
/// `Err` with a message that names the key and the problem but never echoes the data.
/// `chain` may be missing or null (empty), `revoked` missing or null (false).
pub fn parse_provider(
    data: &BTreeMap<String, String>,
) -> Result<Vec<ProviderCertificate>, RelationDataError> {
    let key = CERTIFICATES_KEY;
    let Some(raw) = data.get(key) else {
        return Ok(Vec::new());
    };
    if raw.trim().is_empty() {
        return Ok(Vec::new());
    }
    let value: Value = serde_json::from_str(raw).map_err(|e| RelationDataError::NotJson {
        key,
        line: e.line(),
        column: e.column(),
    })?;
    let shape = |problem: String| RelationDataError::Shape { key, problem };
    let Value::Array(entries) = value else {
        return Err(shape("is not a JSON list".to_string()));
    };
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| parse_entry(entry).map_err(|p| shape(format!("entry {}: {p}", i + 1))))
        .collect()
}

fn parse_entry(entry: &Value) -> Result<ProviderCertificate, String> {
    let Value::Object(fields) = entry else {
        return Err("is not a JSON object".to_string());
    };
    let text = |name: &str| match fields.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("`{name}` is not a string")),
        None => Err(format!("`{name}` is missing")),
    };
    let chain = match fields.get("chain") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or("`chain` is not a list of strings")?,
        Some(_) => return Err("`chain` is not a list of strings".to_string()),
    };
    let revoked = match fields.get("revoked") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("`revoked` is not a boolean".to_string()),
    };
    Ok(ProviderCertificate {
        csr: text("certificate_signing_request")?,
        certificate: text("certificate")?,
        ca: text("ca")?,
        chain,
        revoked,
    })
}

/// The entry answering our CSR: PEMs compared with [`same_pem`], since providers re-serialise.
/// When the provider lists the CSR more than once, an entry that is not revoked wins.
pub fn find_for_csr<'a>(
    certs: &'a [ProviderCertificate],
    csr_pem: &str,
) -> Option<&'a ProviderCertificate> {
    let mut answers = certs.iter().filter(|c| same_pem(&c.csr, csr_pem));
    let first = answers.next()?;
    if !first.revoked {
        return Some(first);
    }
    answers.find(|c| !c.revoked).or(Some(first))
}

/// True when two PEM texts hold the same thing: equal once normalised (trimmed, CRLF as LF, no
/// whitespace at line ends), or, failing that, the same labels and DER (a provider that wraps
/// base64 at another width).
pub fn same_pem(a: &str, b: &str) -> bool {
    if pem::normalise_text(a) == pem::normalise_text(b) {
        return true;
    }
    match (pem::parse_blocks(a), pem::parse_blocks(b)) {
        (Ok(x), Ok(y)) => {
            !x.is_empty()
                && x.len() == y.len()
                && x.iter()
                    .zip(&y)
                    .all(|(p, q)| p.label == q.label && *p.der == *q.der)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CSR: &str = include_str!("testdata/csr.pem");

    fn databag(value: &str) -> BTreeMap<String, String> {
        BTreeMap::from([(CERTIFICATES_KEY.to_string(), value.to_string())])
    }

    #[test]
    fn renders_requests_as_the_python_library_does() {
        let rendered = render_requests(&["-----BEGIN X-----\nAA==\n-----END X-----\n"]);
        let expected =
            r#"[{"certificate_signing_request":"-----BEGIN X-----\nAA==\n-----END X-----","#;
        assert_eq!(rendered, format!(r#"{expected}"ca":false}}]"#));
        assert_eq!(render_requests(&[]), "[]");
        let parsed: Value = serde_json::from_str(&render_requests(&[CSR, CSR])).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 2);
        assert_eq!(parsed[1]["certificate_signing_request"], CSR.trim());
    }

    #[test]
    fn parses_the_provider_databag() {
        let value = json!([
            {
                "certificate_signing_request": CSR,
                "certificate": "CERT",
                "ca": "CA",
                "chain": ["CERT", "CA"],
                "recommended_expiry_notification_time": 168,
            },
            {
                "certificate_signing_request": "OTHER",
                "certificate": "C2",
                "ca": "CA",
                "chain": null,
                "revoked": true,
            },
            {"certificate_signing_request": "THIRD", "certificate": "C3", "ca": "CA"},
        ]);
        let certs = parse_provider(&databag(&value.to_string())).unwrap();
        assert_eq!(
            certs[0],
            ProviderCertificate {
                csr: CSR.to_string(),
                certificate: "CERT".into(),
                ca: "CA".into(),
                chain: vec!["CERT".into(), "CA".into()],
                revoked: false,
            }
        );
        assert!(certs[1].revoked);
        assert!(certs[1].chain.is_empty());
        assert!(!certs[2].revoked);
    }

    #[test]
    fn a_missing_or_empty_key_is_no_certificates() {
        assert_eq!(parse_provider(&BTreeMap::new()), Ok(vec![]));
        assert_eq!(parse_provider(&databag("")), Ok(vec![]));
        assert_eq!(parse_provider(&databag("[]")), Ok(vec![]));
    }

    #[test]
    fn bad_data_is_refused_without_echoing_it() {
        let secretish = "s3cr3t-looking-data";
        let csr = "certificate_signing_request";
        let good = json!({csr: "a", "certificate": "b", "ca": "c"});
        let cases = [
            (
                format!("[{{\"{secretish}"),
                "is not valid JSON (line 1, column",
            ),
            (json!({"a": secretish}).to_string(), "is not a JSON list"),
            (
                json!([secretish]).to_string(),
                "entry 1: is not a JSON object",
            ),
            (
                json!([{csr: secretish, "certificate": 7, "ca": ""}]).to_string(),
                "entry 1: `certificate` is not a string",
            ),
            (
                json!([{csr: secretish, "ca": ""}]).to_string(),
                "entry 1: `certificate` is missing",
            ),
            (
                json!([{csr: "a", "certificate": "b", "ca": "c", "chain": [1, secretish]}])
                    .to_string(),
                "entry 1: `chain` is not a list of strings",
            ),
            (
                json!([good, {csr: "a", "certificate": "b", "ca": "c", "revoked": secretish}])
                    .to_string(),
                "entry 2: `revoked` is not a boolean",
            ),
        ];
        for (raw, expected) in cases {
            let message = parse_provider(&databag(&raw)).unwrap_err().to_string();
            assert!(
                message.starts_with("the provider's `certificates` "),
                "{message}"
            );
            assert!(message.contains(expected), "{message} ∌ {expected}");
            assert!(!message.contains(secretish), "{message}");
        }
    }

    fn entry(csr: &str, certificate: &str, revoked: bool) -> ProviderCertificate {
        ProviderCertificate {
            csr: csr.into(),
            certificate: certificate.into(),
            ca: String::new(),
            chain: vec![],
            revoked,
        }
    }

    #[test]
    fn finds_the_answer_to_our_request_despite_reserialisation() {
        let other = pem::encode("CERTIFICATE REQUEST", b"another request");
        let ours_crlf = format!("\r\n{}  \r\n", CSR.replace('\n', " \r\n"));
        let certs = [entry(&other, "A", false), entry(&ours_crlf, "B", false)];
        assert_eq!(find_for_csr(&certs, CSR).unwrap().certificate, "B");
        assert!(find_for_csr(&certs[..1], CSR).is_none());
        assert!(find_for_csr(&[], CSR).is_none());
    }

    #[test]
    fn prefers_an_answer_that_is_not_revoked() {
        let certs = [
            entry(CSR, "old", true),
            entry(CSR, "new", false),
            entry(CSR, "newer", false),
        ];
        assert_eq!(find_for_csr(&certs, CSR).unwrap().certificate, "new");
        assert_eq!(find_for_csr(&certs[..1], CSR).unwrap().certificate, "old");
    }

    #[test]
    fn same_pem_ignores_line_ends_and_wrapping_but_not_content() {
        assert!(same_pem(CSR, &CSR.replace('\n', "\r\n")));
        assert!(same_pem(CSR, &format!("  {CSR}\n\n")));
        let der = pem::parse_blocks(CSR).unwrap()[0].der.to_vec();
        let body = pem::encode_base64(&der);
        let rewrapped = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{}\n{}\n-----END CERTIFICATE REQUEST-----",
            &body[..76],
            &body[76..]
        );
        assert!(same_pem(CSR, &rewrapped));
        let relabelled = rewrapped.replace("CERTIFICATE REQUEST", "CERTIFICATE");
        assert!(!same_pem(CSR, &relabelled));
        assert!(!same_pem(CSR, &pem::encode("CERTIFICATE REQUEST", b"x")));
        assert!(!same_pem(CSR, ""));
        assert!(same_pem("", " "));
    }
}
