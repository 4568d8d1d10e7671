//! The `tracing` relation (requires, interface `tracing`): where the charm sends the spans of its
//! own hooks (OTLP over HTTP), as Tempo's `tracing` interface (the `tempo_coordinator_k8s` v0
//! library, used by `ops_tracing`) speaks it.
//!
//! Both sides write one key, `receivers`, in their application databag, JSON-encoded:
//! - the requirer (us) lists the protocols it will send with: `["otlp_http"]`;
//! - the provider lists the receivers it runs:
//!   `[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://host:4318"}, ...]`.
//!
//! The url is the receiver's base; OTLP/HTTP traces go to `<url>/v1/traces`.

use juju::RelationData;
use serde::Deserialize;

/// The endpoint name in metadata.yaml.
pub const ENDPOINT: &str = "tracing";

/// The databag key both sides use.
pub const RECEIVERS_KEY: &str = "receivers";

/// The protocol the charm sends with.
pub const PROTOCOL: &str = "otlp_http";

/// The requirer's `receivers` value: the protocols it asks for.
pub fn request() -> String {
    serde_json::to_string(&[PROTOCOL]).unwrap_or_default()
}

/// Longest `receivers` value read (a provider lists a handful of receivers).
const MAX_LEN: usize = 16 * 1024;

/// Why the provider's data cannot be used. The messages never repeat the url (it could carry
/// credentials) or the raw value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TracingDataError {
    /// `receivers` is not the provider's JSON list.
    #[error("the tracing provider's receivers are not a JSON list of receivers: {0}")]
    Malformed(String),
    /// No `otlp_http` receiver is offered.
    #[error("the tracing provider offers no otlp_http receiver")]
    NoOtlpHttp,
    /// The `otlp_http` receiver's url is unusable.
    #[error("the tracing provider's otlp_http url is refused: {0}")]
    BadUrl(&'static str),
}

#[derive(Deserialize)]
struct Protocol {
    name: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Receiver {
    protocol: Protocol,
    url: String,
}

/// The provider's `otlp_http` receiver url (normalised, without a trailing `/`), `None` when it
/// has published nothing yet.
pub fn parse(data: &RelationData) -> Result<Option<String>, TracingDataError> {
    let Some(raw) = data.get(RECEIVERS_KEY).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    if raw.len() > MAX_LEN {
        return Err(TracingDataError::Malformed(format!(
            "longer than {MAX_LEN} bytes"
        )));
    }
    let receivers: Vec<Receiver> = serde_json::from_str(raw).map_err(|e| {
        // serde's message names the expected shape and a position, never the input.
        TracingDataError::Malformed(format!("{e}"))
    })?;
    let receiver = receivers
        .into_iter()
        .find(|r| r.protocol.name == PROTOCOL)
        .ok_or(TracingDataError::NoOtlpHttp)?;
    if receiver.protocol.kind != "http" {
        return Err(TracingDataError::BadUrl(
            "the otlp_http receiver's transport type is not http",
        ));
    }
    validate_url(&receiver.url).map(Some)
}

/// Check an OTLP/HTTP base url: `http` or `https`, a host, no credentials, no query or
/// fragment. The url without its trailing `/`.
pub fn validate_url(raw: &str) -> Result<String, TracingDataError> {
    let raw = raw.trim();
    if raw.len() > 2048 {
        return Err(TracingDataError::BadUrl("longer than 2048 bytes"));
    }
    let url = reqwest::Url::parse(raw).map_err(|_| TracingDataError::BadUrl("not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TracingDataError::BadUrl("the scheme is not http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(TracingDataError::BadUrl("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TracingDataError::BadUrl("it carries credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(TracingDataError::BadUrl("it has a query or a fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Where OTLP/HTTP traces are posted, for a receiver's base url.
pub fn traces_url(base: &str) -> String {
    format!("{}/v1/traces", base.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relations::tests::bag;

    const GOOD: &str = r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo:4317"}, {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://tempo.lab:4318/"}]"#;

    #[test]
    fn the_request_is_the_protocol_list() {
        assert_eq!(request(), r#"["otlp_http"]"#);
    }

    #[test]
    fn the_otlp_http_receiver_is_found() {
        assert_eq!(
            parse(&bag(&[("receivers", GOOD)])),
            Ok(Some("http://tempo.lab:4318".to_string()))
        );
        assert_eq!(
            traces_url("http://tempo.lab:4318"),
            "http://tempo.lab:4318/v1/traces"
        );
        // A path prefix (an ingress) is kept.
        let behind_ingress = r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "https://ingress.example/model-tempo-0"}]"#;
        assert_eq!(
            parse(&bag(&[("receivers", behind_ingress)])),
            Ok(Some("https://ingress.example/model-tempo-0".to_string()))
        );
        // Extra keys are ignored, as the library ignores them.
        let extra = r#"[{"protocol": {"name": "otlp_http", "type": "http", "x": 1}, "url": "http://10.1.2.3:4318", "y": 2}]"#;
        assert_eq!(
            parse(&bag(&[("receivers", extra), ("other", "z")])),
            Ok(Some("http://10.1.2.3:4318".to_string()))
        );
    }

    #[test]
    fn nothing_published_is_not_an_error() {
        assert_eq!(parse(&bag(&[])), Ok(None));
        assert_eq!(parse(&bag(&[("receivers", " ")])), Ok(None));
    }

    #[test]
    fn hostile_data_is_refused_without_echoing_it() {
        let secret_url = r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://admin:hunter2@tempo:4318"}]"#;
        let cases: &[(&str, TracingDataError)] = &[
            (
                secret_url,
                TracingDataError::BadUrl("it carries credentials"),
            ),
            (
                r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "ftp://tempo:4318"}]"#,
                TracingDataError::BadUrl("the scheme is not http or https"),
            ),
            (
                r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "tempo:4318"}]"#,
                TracingDataError::BadUrl("the scheme is not http or https"),
            ),
            (
                r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://"}]"#,
                TracingDataError::BadUrl("not a URL"),
            ),
            (
                r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://t:4318/?token=s3cret"}]"#,
                TracingDataError::BadUrl("it has a query or a fragment"),
            ),
            (
                r#"[{"protocol": {"name": "otlp_http", "type": "grpc"}, "url": "http://t:4318"}]"#,
                TracingDataError::BadUrl("the otlp_http receiver's transport type is not http"),
            ),
            (
                r#"[{"protocol": {"name": "zipkin", "type": "http"}, "url": "http://t:9411"}]"#,
                TracingDataError::NoOtlpHttp,
            ),
        ];
        for (raw, want) in cases {
            let got = parse(&bag(&[("receivers", raw)]));
            assert_eq!(got.as_ref(), Err(want), "{raw}");
            let text = got.unwrap_err().to_string();
            assert!(
                !text.contains("hunter2") && !text.contains("s3cret"),
                "{text}"
            );
        }
        for raw in [
            "not json",
            r#"{"otlp_http": "http://t:4318"}"#,
            r#"["otlp_http"]"#,
            r#"[{"protocol": "otlp_http", "url": "http://t:4318"}]"#,
            r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": 4318}]"#,
        ] {
            let got = parse(&bag(&[("receivers", raw)]));
            assert!(
                matches!(got, Err(TracingDataError::Malformed(_))),
                "{raw}: {got:?}"
            );
        }
        let huge = format!("[{}]", "0,".repeat(MAX_LEN));
        assert!(matches!(
            parse(&bag(&[("receivers", &huge)])),
            Err(TracingDataError::Malformed(_))
        ));
    }
}
