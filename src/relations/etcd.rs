//! The `etcd` relation (requires): Patroni's store when the charm does not run in Kubernetes.
//!
//! The provider's application databag carries `endpoints` (comma-separated client URLs),
//! optionally `tls-ca` (PEM) and `secret-tls` (a Juju secret with `client-cert` and
//! `client-key` for mutual TLS).

use juju::RelationData;

/// What the provider offers, validated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EtcdInfo {
    /// `host:port` of each endpoint.
    pub hosts: Vec<String>,
    /// `http` or `https` (the same for every endpoint).
    pub protocol: String,
    /// CA certificate (PEM), for https.
    pub ca: Option<String>,
    /// Secret id holding the client certificate and key, for mutual TLS.
    pub client_secret: Option<String>,
}

/// Why the provider's data cannot be used (shown in the status).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdDataError {
    /// Nothing published yet.
    #[error("waiting for the etcd provider to publish its endpoints")]
    NotYet,
    /// Malformed data.
    #[error("the etcd relation's endpoints are invalid: {0}")]
    Invalid(String),
}

/// Parse the provider's application databag.
pub fn parse(data: &RelationData) -> Result<EtcdInfo, EtcdDataError> {
    let raw = data
        .get("endpoints")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .ok_or(EtcdDataError::NotYet)?;
    if raw.len() > 4096 {
        return Err(EtcdDataError::Invalid("longer than 4096 characters".into()));
    }
    let mut hosts = Vec::new();
    let mut protocol: Option<String> = None;
    for url in raw.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| EtcdDataError::Invalid(format!("{url:?} is not a URL")))?;
        if scheme != "http" && scheme != "https" {
            return Err(EtcdDataError::Invalid(format!(
                "{url:?}: scheme must be http or https"
            )));
        }
        if protocol.as_deref().is_some_and(|p| p != scheme) {
            return Err(EtcdDataError::Invalid(
                "endpoints mix http and https".into(),
            ));
        }
        protocol = Some(scheme.to_string());
        let hostport = rest.trim_end_matches('/');
        let (host, port) = hostport
            .rsplit_once(':')
            .ok_or_else(|| EtcdDataError::Invalid(format!("{url:?} has no port")))?;
        let port_ok = port.parse::<u16>().is_ok_and(|p| p > 0);
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
        if !port_ok || !host_ok {
            return Err(EtcdDataError::Invalid(format!("{url:?} is not host:port")));
        }
        hosts.push(hostport.to_string());
    }
    let protocol = protocol.ok_or(EtcdDataError::NotYet)?;
    let ca = data.get("tls-ca").filter(|s| !s.trim().is_empty()).cloned();
    if let Some(ca) = &ca
        && !ca.contains("-----BEGIN CERTIFICATE-----")
    {
        return Err(EtcdDataError::Invalid(
            "tls-ca is not a PEM certificate".into(),
        ));
    }
    Ok(EtcdInfo {
        hosts,
        protocol,
        ca,
        client_secret: data.get("secret-tls").filter(|s| !s.is_empty()).cloned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bag(pairs: &[(&str, &str)]) -> RelationData {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_endpoints() {
        let info = parse(&bag(&[(
            "endpoints",
            "http://10.64.0.10:2379, http://etcd-1.etcd:2379/",
        )]))
        .unwrap();
        assert_eq!(info.hosts, ["10.64.0.10:2379", "etcd-1.etcd:2379"]);
        assert_eq!(info.protocol, "http");
        assert_eq!(info.ca, None);
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        assert_eq!(parse(&bag(&[])), Err(EtcdDataError::NotYet));
        assert_eq!(
            parse(&bag(&[("endpoints", " ")])),
            Err(EtcdDataError::NotYet)
        );
        for bad in [
            "10.0.0.1:2379",
            "ftp://x:1",
            "http://x",
            "http://x:0",
            "http://a:1,https://b:2",
            "http://x y:1",
            "http://x:1;rm -rf /:2",
        ] {
            assert!(
                matches!(
                    parse(&bag(&[("endpoints", bad)])),
                    Err(EtcdDataError::Invalid(_))
                ),
                "{bad}"
            );
        }
        assert!(parse(&bag(&[("endpoints", "https://x:1"), ("tls-ca", "nope")])).is_err());
    }
}
