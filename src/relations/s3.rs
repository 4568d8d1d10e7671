//! The `s3-parameters` relation (interface `s3`, requirer side): where pgBackRest keeps backups.
//!
//! The leader asks for a bucket named after the relation ([`request`]); the provider
//! (s3-integrator) answers in its application databag with the bucket, the credentials and where
//! to reach the store. Everything it writes is untrusted: [`parse`] decodes, normalises and
//! checks it before it reaches `pgbackrest.conf`. Beyond the reference, the endpoint must be
//! `https://host[:port]` (pgBackRest only speaks HTTPS to S3 and the charm never turns
//! certificate verification off), and the retention and CA chain are checked.

use std::collections::BTreeMap;
use std::fmt;

use juju::Secret;

/// The endpoint.
pub const ENDPOINT: &str = "s3-parameters";

/// The endpoint used when the provider gives none.
pub const DEFAULT_ENDPOINT: &str = "https://s3.amazonaws.com";

/// The retention used when the provider gives none, and the largest accepted (days).
pub const MAX_RETENTION_DAYS: u32 = 9_999_999;

/// The largest value accepted in the provider's databag (bytes).
pub const MAX_VALUE_LEN: usize = 64 * 1024;

/// The fields the provider must give, in the order the reference reports them.
const REQUIRED: [&str; 3] = ["bucket", "access-key", "secret-key"];

/// The optional fields this charm reads. Anything else (`storage-class`, `attributes`,
/// `s3-api-version`, `data`, ...) is ignored.
const OPTIONAL: [&str; 6] = [
    "endpoint",
    "region",
    "path",
    "s3-uri-style",
    "delete-older-than-days",
    "tls-ca-chain",
];

/// What the provider offers, normalised and checked.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Parameters {
    /// The bucket, without `/`.
    pub bucket: String,
    /// The access key id.
    pub access_key: String,
    /// The secret access key.
    pub secret_key: Secret,
    /// `https://host[:port]`, without a trailing `/`.
    pub endpoint: String,
    /// The region (may be empty).
    pub region: String,
    /// The path inside the bucket: `/` followed by the provider's path without leading or
    /// trailing `/` (`/` alone when none is given).
    pub path: String,
    /// `host` or `path`.
    pub uri_style: String,
    /// Days a full backup is kept.
    pub retention_days: u32,
    /// CA certificates (PEM) to trust for the endpoint, in the provider's order; empty when the
    /// system's trust store is enough.
    pub ca_chain: Vec<String>,
}

impl fmt::Debug for S3Parameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Parameters")
            .field("bucket", &self.bucket)
            .field("access_key", &"<redacted>")
            .field("secret_key", &self.secret_key)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("path", &self.path)
            .field("uri_style", &self.uri_style)
            .field("retention_days", &self.retention_days)
            .field(
                "ca_chain",
                &format_args!("[{} certificate(s)]", self.ca_chain.len()),
            )
            .finish()
    }
}

impl S3Parameters {
    /// The endpoint's host and explicit port: `https://minio.example:9000` gives
    /// `("minio.example", Some(9000))`, `https://s3.amazonaws.com` gives
    /// `("s3.amazonaws.com", None)`. pgBackRest wants them apart (`repo1-s3-endpoint` and
    /// `repo1-storage-port`). An IPv6 host keeps its brackets.
    pub fn endpoint_host_port(&self) -> (String, Option<u16>) {
        let authority = strip_https(&self.endpoint).unwrap_or(&self.endpoint);
        match split_authority(authority) {
            Some((host, port)) => (host.to_string(), port),
            None => (authority.to_string(), None),
        }
    }
}

/// Why the provider's data cannot be used (shown in the status and the log). No variant holds a
/// value the provider wrote, so a secret never ends up in a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3Error {
    /// Required fields are missing or empty (the reference's status text).
    #[error("Missing S3 parameters: [{}]", python_list(.0))]
    Missing(Vec<&'static str>),
    /// The endpoint's scheme is not `https` (`none` when it has no scheme).
    #[error("S3 endpoint must use https: {0}")]
    InsecureEndpoint(String),
    /// The endpoint is `https://` but not followed by `host[:port]` alone.
    #[error("S3 endpoint is not https://host[:port]")]
    BadEndpoint,
    /// `s3-uri-style` is neither `host` nor `path`.
    #[error("s3-uri-style must be host or path")]
    UriStyle,
    /// `delete-older-than-days` is not a whole number in range.
    #[error("delete-older-than-days must be a whole number of days from 1 to 9999999")]
    Retention,
    /// `tls-ca-chain` is not a JSON list of PEM certificates.
    #[error("tls-ca-chain is not a list of PEM certificates")]
    CaChain,
    /// A value is longer than [`MAX_VALUE_LEN`].
    #[error("{0} is too long")]
    TooLong(&'static str),
}

/// `['a', 'b']` without the brackets, as Python prints a list of strings.
fn python_list(keys: &[&'static str]) -> String {
    keys.iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the leader writes in its application databag: the bucket it would like.
pub fn request(relation_id: u64) -> BTreeMap<String, String> {
    BTreeMap::from([("bucket".to_string(), format!("relation-{relation_id}"))])
}

/// A databag value as the reference reads it: JSON-decoded when it is a JSON string, the raw
/// text otherwise; whitespace stripped either way.
fn decode(raw: &str) -> String {
    let raw = raw.trim();
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::String(s)) => s.trim().to_string(),
        _ => raw.to_string(),
    }
}

/// `https://` removed (the scheme compared without case), or `None` for any other scheme.
fn strip_https(endpoint: &str) -> Option<&str> {
    let (scheme, rest) = endpoint.split_once("://")?;
    scheme.eq_ignore_ascii_case("https").then_some(rest)
}

/// The scheme of an endpoint, for the error text: only a well-formed short scheme is echoed
/// (so nothing else the provider wrote can reach the message), `none` otherwise.
fn scheme_of(endpoint: &str) -> String {
    let Some((scheme, _)) = endpoint.split_once("://") else {
        return "none".to_string();
    };
    let well_formed = !scheme.is_empty()
        && scheme.len() <= 16
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if well_formed {
        scheme.to_ascii_lowercase()
    } else {
        "none".to_string()
    }
}

/// Split `host[:port]`: the host is a DNS name or IPv4 address (ASCII letters, digits, `.`,
/// `-`, `_`) or a bracketed IPv6 address; the port, when given, is 1–65535. `None` for anything
/// else (user info, a path, a query, spaces).
fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, rest) = authority.split_at(close + 1);
        let inner = &host[1..host.len() - 1];
        if inner.is_empty()
            || !inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.'))
        {
            return None;
        }
        match rest {
            "" => (host, None),
            _ => (host, Some(rest.strip_prefix(':')?)),
        }
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if host.is_empty()
            || host.len() > 253
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return None;
        }
        (host, port)
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok().filter(|&p| p > 0)?)
        }
        Some(_) => return None,
    };
    Some((host, port))
}

/// Parse the provider's application databag.
pub fn parse(data: &BTreeMap<String, String>) -> Result<S3Parameters, S3Error> {
    let mut values: BTreeMap<&'static str, String> = BTreeMap::new();
    for key in REQUIRED.into_iter().chain(OPTIONAL) {
        if let Some(raw) = data.get(key) {
            if raw.len() > MAX_VALUE_LEN {
                return Err(S3Error::TooLong(key));
            }
            let value = decode(raw);
            if !value.is_empty() {
                values.insert(key, value);
            }
        }
    }
    if let Some(bucket) = values.get_mut("bucket") {
        *bucket = bucket.trim_matches('/').trim().to_string();
        if bucket.is_empty() {
            values.remove("bucket");
        }
    }
    let missing: Vec<&'static str> = REQUIRED
        .into_iter()
        .filter(|k| !values.contains_key(k))
        .collect();
    if !missing.is_empty() {
        return Err(S3Error::Missing(missing));
    }
    let mut take = |key: &str| values.remove(key).unwrap_or_default();

    let bucket = take("bucket");
    let access_key = take("access-key");
    let secret_key = Secret::new(take("secret-key"));

    let endpoint = match take("endpoint") {
        e if e.is_empty() => DEFAULT_ENDPOINT.to_string(),
        e => e,
    };
    let authority = strip_https(&endpoint)
        .ok_or_else(|| S3Error::InsecureEndpoint(scheme_of(&endpoint)))?
        .trim_end_matches('/');
    split_authority(authority).ok_or(S3Error::BadEndpoint)?;
    let endpoint = format!("https://{authority}");

    let region = take("region");
    let path = format!("/{}", take("path").trim_matches('/'));

    let uri_style = match take("s3-uri-style") {
        s if s.is_empty() => "host".to_string(),
        s if s == "host" || s == "path" => s,
        _ => return Err(S3Error::UriStyle),
    };

    let retention_days = match take("delete-older-than-days") {
        d if d.is_empty() => MAX_RETENTION_DAYS,
        d if d.bytes().all(|b| b.is_ascii_digit()) => d
            .parse::<u32>()
            .ok()
            .filter(|&n| (1..=MAX_RETENTION_DAYS).contains(&n))
            .ok_or(S3Error::Retention)?,
        _ => return Err(S3Error::Retention),
    };

    let ca_chain = match take("tls-ca-chain") {
        c if c.is_empty() => Vec::new(),
        c => {
            let list: Vec<String> = serde_json::from_str(&c).map_err(|_| S3Error::CaChain)?;
            let list: Vec<String> = list.iter().map(|pem| pem.trim().to_string()).collect();
            if list
                .iter()
                .any(|pem| !pem.contains("-----BEGIN CERTIFICATE-----"))
            {
                return Err(S3Error::CaChain);
            }
            list
        }
    };

    Ok(S3Parameters {
        bucket,
        access_key,
        secret_key,
        endpoint,
        region,
        path,
        uri_style,
        retention_days,
        ca_chain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relations::tests::bag;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";

    fn minimal() -> BTreeMap<String, String> {
        bag(&[
            ("bucket", "backups"),
            ("access-key", "AKIAEXAMPLE"),
            ("secret-key", "s3cr3t-VALUE-xyz"),
        ])
    }

    fn with(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut data = minimal();
        data.extend(bag(extra));
        data
    }

    #[test]
    fn request_names_the_bucket_after_the_relation() {
        assert_eq!(request(7), bag(&[("bucket", "relation-7")]));
        assert_eq!(ENDPOINT, "s3-parameters");
    }

    #[test]
    fn defaults() {
        let p = parse(&minimal()).unwrap();
        assert_eq!(p.bucket, "backups");
        assert_eq!(p.access_key, "AKIAEXAMPLE");
        assert_eq!(p.secret_key.expose(), "s3cr3t-VALUE-xyz");
        assert_eq!(p.endpoint, "https://s3.amazonaws.com");
        assert_eq!(p.region, "");
        assert_eq!(p.path, "/");
        assert_eq!(p.uri_style, "host");
        assert_eq!(p.retention_days, 9_999_999);
        assert!(p.ca_chain.is_empty());
        assert_eq!(
            p.endpoint_host_port(),
            ("s3.amazonaws.com".to_string(), None)
        );
    }

    #[test]
    fn empty_optional_values_take_the_defaults() {
        let p = parse(&with(&[
            ("endpoint", " "),
            ("s3-uri-style", ""),
            ("delete-older-than-days", ""),
            ("tls-ca-chain", ""),
            ("path", "\"\""),
        ]))
        .unwrap();
        assert_eq!(p, parse(&minimal()).unwrap());
    }

    #[test]
    fn normalises_every_field() {
        let chain = serde_json::to_string(&[format!("  {CERT}\n"), CERT.to_string()]).unwrap();
        let p = parse(&bag(&[
            ("bucket", " /my-bucket/ "),
            ("access-key", " AKIA "),
            ("secret-key", "\"quoted secret\""),
            ("endpoint", " https://minio.example.com:9000/ "),
            ("region", "\"eu-west-1\""),
            ("path", " /a/b/ "),
            ("s3-uri-style", "\"path\""),
            ("delete-older-than-days", " 30 "),
            ("tls-ca-chain", &chain),
            ("storage-class", "GLACIER"),
            ("attributes", "{\"x\": 1}"),
            ("s3-api-version", "4"),
            ("data", "{}"),
            ("something-new", "whatever"),
        ]))
        .unwrap();
        assert_eq!(p.bucket, "my-bucket");
        assert_eq!(p.access_key, "AKIA");
        assert_eq!(p.secret_key.expose(), "quoted secret");
        assert_eq!(p.endpoint, "https://minio.example.com:9000");
        assert_eq!(p.region, "eu-west-1");
        assert_eq!(p.path, "/a/b");
        assert_eq!(p.uri_style, "path");
        assert_eq!(p.retention_days, 30);
        assert_eq!(p.ca_chain, [CERT, CERT]);
        assert_eq!(
            p.endpoint_host_port(),
            ("minio.example.com".to_string(), Some(9000))
        );
    }

    #[test]
    fn path_normalisation() {
        for (given, want) in [
            ("", "/"),
            ("/", "/"),
            ("a", "/a"),
            ("a/b/", "/a/b"),
            ("//a/b//", "/a/b"),
            ("\" /x/ \"", "/x"),
        ] {
            assert_eq!(
                parse(&with(&[("path", given)])).unwrap().path,
                want,
                "{given:?}"
            );
        }
    }

    #[test]
    fn json_values_that_are_not_strings_stay_raw() {
        // A JSON number is kept as its text, so it still parses as a number of days.
        let p = parse(&with(&[("delete-older-than-days", "7"), ("region", "42")])).unwrap();
        assert_eq!(p.retention_days, 7);
        assert_eq!(p.region, "42");
        // A JSON-encoded string holding the list works as well as the list itself.
        let chain = serde_json::to_string(&[CERT]).unwrap();
        let double = serde_json::to_string(&chain).unwrap();
        assert_eq!(
            parse(&with(&[("tls-ca-chain", &double)])).unwrap().ca_chain,
            [CERT]
        );
        assert!(
            parse(&with(&[("tls-ca-chain", "[]")]))
                .unwrap()
                .ca_chain
                .is_empty()
        );
    }

    #[test]
    fn endpoints() {
        for (given, host, port) in [
            (
                "https://s3.eu-west-1.amazonaws.com",
                "s3.eu-west-1.amazonaws.com",
                None,
            ),
            ("HTTPS://Minio.local:443/", "Minio.local", Some(443)),
            ("https://10.1.2.3:9000", "10.1.2.3", Some(9000)),
            ("https://[fd00::1]:9000", "[fd00::1]", Some(9000)),
            ("https://[fd00::1]", "[fd00::1]", None),
            ("https://ceph_rgw.svc", "ceph_rgw.svc", None),
        ] {
            let p = parse(&with(&[("endpoint", given)])).unwrap();
            assert!(p.endpoint.starts_with("https://"), "{given}");
            assert!(!p.endpoint.ends_with('/'), "{given}");
            assert_eq!(p.endpoint_host_port(), (host.to_string(), port), "{given}");
        }
    }

    #[test]
    fn insecure_or_malformed_endpoints_are_refused() {
        for (given, scheme) in [
            ("http://minio.local:9000", "http"),
            ("HTTP://minio.local", "http"),
            ("ftp://x", "ftp"),
            ("minio.local:9000", "none"),
            ("s3.amazonaws.com", "none"),
            ("://x", "none"),
            ("user:supersecret@x://y", "none"),
        ] {
            let err = parse(&with(&[("endpoint", given)])).unwrap_err();
            assert_eq!(
                err,
                S3Error::InsecureEndpoint(scheme.to_string()),
                "{given}"
            );
            assert_eq!(
                err.to_string(),
                format!("S3 endpoint must use https: {scheme}")
            );
        }
        assert_eq!(
            parse(&with(&[("endpoint", "http://user:pw@host")]))
                .unwrap_err()
                .to_string(),
            "S3 endpoint must use https: http"
        );
        for given in [
            "https://",
            "https://user:pw@host",
            "https://host/some/path",
            "https://host?x=1",
            "https://host:0",
            "https://host:65536",
            "https://host:",
            "https://host:+1",
            "https://ho st",
            "https://[zz::1]:1",
            "https://[fd00::1]x",
            "https://[]",
            "https://host\n[global]",
        ] {
            let err = parse(&with(&[("endpoint", given)])).unwrap_err();
            assert_eq!(err, S3Error::BadEndpoint, "{given:?}");
            assert_eq!(err.to_string(), "S3 endpoint is not https://host[:port]");
        }
    }

    #[test]
    fn missing_fields_are_listed_in_order() {
        let err = parse(&bag(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Missing S3 parameters: ['bucket', 'access-key', 'secret-key']"
        );
        let err = parse(&bag(&[("access-key", "a"), ("endpoint", "https://x")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Missing S3 parameters: ['bucket', 'secret-key']"
        );
        // Empty, blank, JSON-empty and slash-only values count as missing.
        let err = parse(&bag(&[
            ("bucket", "//"),
            ("access-key", " "),
            ("secret-key", "\"\""),
        ]))
        .unwrap_err();
        assert_eq!(
            err,
            S3Error::Missing(vec!["bucket", "access-key", "secret-key"])
        );
        let err = parse(&bag(&[("bucket", "b"), ("access-key", "a")])).unwrap_err();
        assert_eq!(err.to_string(), "Missing S3 parameters: ['secret-key']");
    }

    #[test]
    fn uri_style() {
        assert_eq!(
            parse(&with(&[("s3-uri-style", "host")])).unwrap().uri_style,
            "host"
        );
        for bad in ["virtual", "HOST", "path;x"] {
            let err = parse(&with(&[("s3-uri-style", bad)])).unwrap_err();
            assert_eq!(err.to_string(), "s3-uri-style must be host or path");
        }
    }

    #[test]
    fn retention() {
        for (given, want) in [
            ("1", 1),
            ("9999999", 9_999_999),
            ("\"14\"", 14),
            ("0030", 30),
        ] {
            assert_eq!(
                parse(&with(&[("delete-older-than-days", given)]))
                    .unwrap()
                    .retention_days,
                want
            );
        }
        for bad in [
            "0",
            "-1",
            "+5",
            "10000000",
            "1.5",
            "ten",
            "99999999999999999999",
        ] {
            let err = parse(&with(&[("delete-older-than-days", bad)])).unwrap_err();
            assert_eq!(err, S3Error::Retention, "{bad}");
            assert_eq!(
                err.to_string(),
                "delete-older-than-days must be a whole number of days from 1 to 9999999"
            );
        }
    }

    #[test]
    fn ca_chain_must_be_pem_certificates() {
        for bad in [
            CERT.to_string(),
            "[1, 2]".to_string(),
            "[\"not a cert\"]".to_string(),
            serde_json::to_string(&[CERT, "nope"]).unwrap(),
            "{\"a\": \"b\"}".to_string(),
        ] {
            let err = parse(&with(&[("tls-ca-chain", &bad)])).unwrap_err();
            assert_eq!(err, S3Error::CaChain, "{bad}");
            assert_eq!(
                err.to_string(),
                "tls-ca-chain is not a list of PEM certificates"
            );
        }
    }

    #[test]
    fn long_values_are_refused() {
        let long = "a".repeat(MAX_VALUE_LEN + 1);
        for key in ["bucket", "secret-key", "endpoint", "tls-ca-chain", "path"] {
            let err = parse(&with(&[(key, &long)])).unwrap_err();
            assert_eq!(err.to_string(), format!("{key} is too long"));
        }
        // Keys the charm ignores are not checked.
        assert!(parse(&with(&[("attributes", &long)])).is_ok());
        // Exactly the limit is fine.
        let ok = "a".repeat(MAX_VALUE_LEN);
        assert_eq!(parse(&with(&[("region", &ok)])).unwrap().region, ok);
    }

    #[test]
    fn secrets_never_show() {
        let p = parse(&with(&[(
            "tls-ca-chain",
            &serde_json::to_string(&[CERT]).unwrap(),
        )]))
        .unwrap();
        let debug = format!("{p:?}");
        assert!(!debug.contains("s3cr3t-VALUE-xyz"), "{debug}");
        assert!(!debug.contains("AKIAEXAMPLE"), "{debug}");
        assert!(debug.contains("backups"), "{debug}");
        assert!(debug.contains("1 certificate(s)"), "{debug}");
        // Errors echo at most a well-formed scheme, never the rest of a value.
        for endpoint in ["http://AKIA:s3cr3t@host", "s3cr3t VALUE://x", "s3cr3t:x"] {
            let err = parse(&with(&[("endpoint", endpoint)])).unwrap_err();
            assert!(!format!("{err} {err:?}").contains("s3cr3t"), "{endpoint}");
        }
    }
}
