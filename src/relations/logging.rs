//! The `logging` relation (requires, interface `loki_push_api`): log forwarding to Loki through
//! Pebble's own log targets, the way the loki_push_api v1 library's `LogForwarder` does it — no
//! promtail, nothing downloaded.
//!
//! Each Loki unit publishes in its unit bag `endpoint`, a JSON object `{"url": "<push URL>"}`.
//! The charm (as leader) publishes in its application bag what a `LokiPushApiConsumer` does:
//! `metadata` (the Juju topology, JSON) and `alert_rules` (JSON; we ship no LogQL rules, as the
//! reference's `src/loki_alert_rules` is empty, so the library's empty form `{}`).
//!
//! Everything here is pure: parsing the remote data and rendering the Pebble log targets.

use std::collections::BTreeMap;

use pebble::{LogTarget, LogTargetType, Override};
use serde::{Deserialize, Serialize};

/// The relation endpoint.
pub const ENDPOINT: &str = "logging";

/// The unit-bag key each Loki unit publishes its push endpoint under.
pub const ENDPOINT_KEY: &str = "endpoint";

/// Longest endpoint value accepted (a URL is far shorter; this bounds what is parsed and kept).
const MAX_ENDPOINT_LEN: usize = 2048;

/// Why a Loki unit's `endpoint` is refused. The messages never quote the value: a URL can carry
/// credentials, and relation data from the other side is not ours to copy into logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Longer than [`MAX_ENDPOINT_LEN`].
    #[error("the endpoint is longer than {MAX_ENDPOINT_LEN} characters")]
    TooLong,
    /// Not a JSON object with a string `url`.
    #[error("the endpoint is not a JSON object with a string \"url\"")]
    NotJson,
    /// `url` does not parse as an absolute URL.
    #[error("the endpoint's url is not an absolute URL")]
    NotUrl,
    /// Neither http nor https.
    #[error("the endpoint's url scheme must be http or https")]
    Scheme,
    /// No host.
    #[error("the endpoint's url has no host")]
    NoHost,
    /// User name or password in the URL (Pebble would forward them in clear; refused).
    #[error("the endpoint's url carries credentials, which are refused")]
    Credentials,
    /// Query or fragment (a push URL has neither).
    #[error("the endpoint's url has a query or a fragment")]
    Query,
}

/// Parse one Loki unit's `endpoint` value into its push URL.
pub fn parse_endpoint(raw: &str) -> Result<String, EndpointError> {
    if raw.len() > MAX_ENDPOINT_LEN {
        return Err(EndpointError::TooLong);
    }
    let parsed: serde_json::Value =
        serde_json::from_str(raw).map_err(|_| EndpointError::NotJson)?;
    let text = parsed
        .as_object()
        .and_then(|o| o.get("url"))
        .and_then(serde_json::Value::as_str)
        .ok_or(EndpointError::NotJson)?
        .trim();
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(EndpointError::NotUrl);
    }
    let url = reqwest::Url::parse(text).map_err(|_| EndpointError::NotUrl)?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(EndpointError::Scheme);
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(EndpointError::NoHost);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EndpointError::Credentials);
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(EndpointError::Query);
    }
    Ok(url.to_string())
}

/// What the charm knows of the relation, kept in its state between hooks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggingView {
    /// Push URL of each Loki unit whose endpoint is usable, by unit name (`loki/0`).
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// Targets rendered before whose Loki unit left (or refused its endpoint since): their last
    /// URL. Pebble cannot delete a target through a layer merge, so they stay, disabled.
    #[serde(default)]
    pub former: BTreeMap<String, String>,
    /// Units whose endpoint was refused, and why.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub refused: BTreeMap<String, String>,
}

impl LoggingView {
    /// The view after a fresh read found `current` usable endpoints (and `refused` ones):
    /// targets that were active and are not any more become former ones; a unit that is back
    /// stops being former.
    pub fn next(
        &self,
        current: BTreeMap<String, String>,
        refused: BTreeMap<String, String>,
    ) -> LoggingView {
        let mut former = self.former.clone();
        for (unit, url) in &self.endpoints {
            if !current.contains_key(unit) {
                former.insert(unit.clone(), url.clone());
            }
        }
        for unit in current.keys() {
            former.remove(unit);
        }
        LoggingView {
            endpoints: current,
            former,
            refused,
        }
    }
}

pub use super::topology::Topology;

/// The labels `LogForwarder` puts on every forwarded line, and what a consumer publishes.
impl Topology {
    /// Labels of an enabled target (Pebble adds `pebble_service` itself).
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("product".to_string(), "Juju".to_string()),
            ("charm".to_string(), self.charm_name.clone()),
            ("juju_model".to_string(), self.model.clone()),
            ("juju_model_uuid".to_string(), self.model_uuid.clone()),
            ("juju_application".to_string(), self.application.clone()),
            ("juju_unit".to_string(), self.unit.clone()),
        ])
    }

    /// The application bag a loki_push_api consumer publishes: `metadata` (the topology, keyed
    /// as the cos library's `JujuTopology.as_dict`) and `alert_rules` (none: `{}`).
    pub fn consumer_app_data(&self) -> BTreeMap<String, String> {
        let metadata = serde_json::json!({
            "model": self.model,
            "model_uuid": self.model_uuid,
            "application": self.application,
            "unit": self.unit,
            "charm_name": self.charm_name,
        });
        BTreeMap::from([
            ("metadata".to_string(), metadata.to_string()),
            ("alert_rules".to_string(), "{}".to_string()),
        ])
    }
}

/// The log targets of the layer: one per Loki unit, forwarding every service's output with the
/// topology labels, and every former one with `services: [-all]` (forwarding nothing).
pub fn log_targets(view: &LoggingView, topology: &Topology) -> BTreeMap<String, LogTarget> {
    let mut targets = BTreeMap::new();
    for (unit, url) in &view.former {
        targets.insert(
            unit.clone(),
            LogTarget {
                r#type: Some(LogTargetType::Loki),
                location: url.clone(),
                services: vec!["-all".into()],
                r#override: Some(Override::Replace),
                labels: BTreeMap::new(),
            },
        );
    }
    for (unit, url) in &view.endpoints {
        targets.insert(
            unit.clone(),
            LogTarget {
                r#type: Some(LogTargetType::Loki),
                location: url.clone(),
                services: vec!["all".into()],
                r#override: Some(Override::Replace),
                labels: topology.labels(),
            },
        );
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology() -> Topology {
        Topology {
            model: "dev".into(),
            model_uuid: "0b7d1071-ded2-4bf5-80a3-10a81aeb1386".into(),
            application: "pg".into(),
            unit: "pg/0".into(),
            charm_name: "postgresql-k8s".into(),
        }
    }

    #[test]
    fn a_push_url_is_accepted() {
        assert_eq!(
            parse_endpoint(r#"{"url": "http://loki-0.loki-endpoints:3100/loki/api/v1/push"}"#),
            Ok("http://loki-0.loki-endpoints:3100/loki/api/v1/push".into())
        );
        assert_eq!(
            parse_endpoint(r#"{"url": "https://10.1.2.3/loki/api/v1/push"}"#),
            Ok("https://10.1.2.3/loki/api/v1/push".into())
        );
    }

    #[test]
    fn malformed_endpoints_are_refused_without_quoting_them() {
        let cases = [
            ("", EndpointError::NotJson),
            ("http://loki:3100/loki/api/v1/push", EndpointError::NotJson),
            (r#"{"url": 3}"#, EndpointError::NotJson),
            (r#"["http://loki"]"#, EndpointError::NotJson),
            (r#"{"url": "loki:3100"}"#, EndpointError::Scheme),
            (r#"{"url": "/loki/api/v1/push"}"#, EndpointError::NotUrl),
            (r#"{"url": "file:///etc/passwd"}"#, EndpointError::Scheme),
            (r#"{"url": "http://lo ki/push"}"#, EndpointError::NotUrl),
            (r#"{"url": "http://a\nb/push"}"#, EndpointError::NotUrl),
            (
                r#"{"url": "http://admin:hunter2@loki/push"}"#,
                EndpointError::Credentials,
            ),
            (r#"{"url": "http://loki/push?x=1"}"#, EndpointError::Query),
        ];
        for (raw, want) in cases {
            let err = parse_endpoint(raw).expect_err(raw);
            assert_eq!(err, want, "{raw}");
            assert!(!err.to_string().contains("hunter2"));
        }
        let long = format!(r#"{{"url": "http://loki/{}"}}"#, "a".repeat(3000));
        assert_eq!(parse_endpoint(&long), Err(EndpointError::TooLong));
    }

    #[test]
    fn targets_follow_the_units_and_former_ones_are_disabled() {
        let first = LoggingView::default().next(
            BTreeMap::from([
                ("loki/0".into(), "http://a/loki/api/v1/push".into()),
                ("loki/1".into(), "http://b/loki/api/v1/push".into()),
            ]),
            BTreeMap::new(),
        );
        let targets = log_targets(&first, &topology());
        assert_eq!(targets.len(), 2);
        let t = &targets["loki/0"];
        assert_eq!(t.r#type, Some(LogTargetType::Loki));
        assert_eq!(t.location, "http://a/loki/api/v1/push");
        assert_eq!(t.services, ["all"]);
        assert_eq!(t.r#override, Some(Override::Replace));
        assert_eq!(t.labels["juju_model"], "dev");
        assert_eq!(
            t.labels["juju_model_uuid"],
            "0b7d1071-ded2-4bf5-80a3-10a81aeb1386"
        );
        assert_eq!(t.labels["juju_application"], "pg");
        assert_eq!(t.labels["juju_unit"], "pg/0");
        assert_eq!(t.labels["charm"], "postgresql-k8s");
        assert_eq!(t.labels["product"], "Juju");
        assert!(t.labels.keys().all(|k| !k.starts_with("pebble_")));

        // loki/1 leaves: its target stays, forwarding nothing.
        let second = first.next(
            BTreeMap::from([("loki/0".into(), "http://a/loki/api/v1/push".into())]),
            BTreeMap::new(),
        );
        let targets = log_targets(&second, &topology());
        assert_eq!(targets["loki/1"].services, ["-all"]);
        assert_eq!(targets["loki/1"].location, "http://b/loki/api/v1/push");
        assert!(targets["loki/1"].labels.is_empty());
        assert_eq!(targets["loki/0"].services, ["all"]);

        // The relation is removed: everything is disabled; loki/1 coming back re-enables it.
        let gone = second.next(BTreeMap::new(), BTreeMap::new());
        assert!(
            log_targets(&gone, &topology())
                .values()
                .all(|t| t.services == ["-all"])
        );
        let back = gone.next(
            BTreeMap::from([("loki/1".into(), "http://c/loki/api/v1/push".into())]),
            BTreeMap::new(),
        );
        assert!(!back.former.contains_key("loki/1"));
        assert_eq!(log_targets(&back, &topology())["loki/1"].services, ["all"]);

        // The layer with these targets is valid for Pebble.
        let layer = pebble::Layer {
            log_targets: log_targets(&back, &topology()),
            ..pebble::Layer::default()
        };
        layer.validate("postgresql").unwrap();
    }

    #[test]
    fn consumer_data_is_the_topology_and_no_rules() {
        let data = topology().consumer_app_data();
        let metadata: serde_json::Value = serde_json::from_str(&data["metadata"]).unwrap();
        assert_eq!(metadata["model"], "dev");
        assert_eq!(metadata["application"], "pg");
        assert_eq!(metadata["charm_name"], "postgresql-k8s");
        assert_eq!(metadata["unit"], "pg/0");
        assert_eq!(data["alert_rules"], "{}");
    }
}
