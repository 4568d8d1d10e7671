//! Layer types (the YAML schema of Pebble layers) and Pebble's per-entry merge rules.
//!
//! Field names, optionality and "unset" values follow Pebble's Go types: an empty string, an empty
//! list or map, a zero `threshold`/`port` and `None` all mean "not set", and unset fields are left
//! out of the YAML so the layers we send stay minimal. Decoding is strict (unknown fields are
//! refused, as Pebble does), so the same types can validate layers received by a test double.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// One layer: a named set of services, checks and log targets that Pebble combines with the other
/// layers into the plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Layer {
    /// Short description of the layer.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub summary: String,
    /// Longer description of the layer.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    /// Services by name.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub services: BTreeMap<String, Service>,
    /// Health checks by name.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub checks: BTreeMap<String, Check>,
    /// Log forwarding targets by name (`log-targets`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub log_targets: BTreeMap<String, LogTarget>,
}

/// How an entry combines with the same-named entry of earlier layers. Required on every entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Override {
    /// Field-by-field merge into the earlier definition.
    Merge,
    /// Replace the earlier definition entirely.
    Replace,
}

/// Whether a service starts on replan/autostart, or a check runs when added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Startup {
    /// Start automatically.
    Enabled,
    /// Start only when asked.
    Disabled,
}

/// What Pebble does when a service exits or one of its checks fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceAction {
    /// Restart the service after a backoff (the default).
    Restart,
    /// Stop Pebble (the container), with a failure code if the service failed.
    Shutdown,
    /// Leave the service stopped.
    Ignore,
    /// Stop Pebble with a success code (not allowed in `on-success`).
    SuccessShutdown,
    /// Stop Pebble with a failure code (not allowed in `on-failure` and `on-check-failure`).
    FailureShutdown,
}

/// Which health endpoint a check contributes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckLevel {
    /// Liveness.
    Alive,
    /// Readiness (also considers alive checks).
    Ready,
}

/// The protocol of a log target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogTargetType {
    /// Grafana Loki push API.
    #[serde(rename = "loki")]
    Loki,
    /// OpenTelemetry (OTLP/HTTP).
    #[serde(rename = "opentelemetry")]
    OpenTelemetry,
    /// Syslog over TCP or UDP.
    #[serde(rename = "syslog")]
    Syslog,
}

/// A service definition (every field of Pebble's layer specification).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Service {
    /// Short description.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub summary: String,
    /// Longer description.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    /// Start on replan/autostart? Unset behaves as disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<Startup>,
    /// How this entry combines with earlier layers (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#override: Option<Override>,
    /// The command line (not run through a shell); may end with a `[ default args ]` group.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub command: String,
    /// Start after these services (ordering only).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub after: Vec<String>,
    /// Start before these services (ordering only).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub before: Vec<String>,
    /// Starting this service also starts these, which must exist.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub requires: Vec<String>,
    /// Extra environment variables.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub environment: BTreeMap<String, String>,
    /// Run as this uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u32>,
    /// Run as this user.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub user: String,
    /// Run with this gid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<u32>,
    /// Run with this group.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub group: String,
    /// Working directory (default: Pebble's).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub working_dir: String,
    /// Action when the service exits with code 0 (default restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_success: Option<ServiceAction>,
    /// Action when the service exits non-zero (default restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<ServiceAction>,
    /// Action per failing check name.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub on_check_failure: BTreeMap<String, ServiceAction>,
    /// First restart delay (Go duration; default 500ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_delay: Option<String>,
    /// Delay multiplier between restarts (>= 1; default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_factor: Option<f64>,
    /// Longest restart delay (Go duration; default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<String>,
    /// Wait between SIGTERM and SIGKILL (Go duration; default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kill_delay: Option<String>,
    /// Names an entry of the `workloads` section (newer Pebble).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub workload: String,
}

/// A health check definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Check {
    /// How this entry combines with earlier layers (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#override: Option<Override>,
    /// Health level (unset: counts for neither health endpoint level filter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<CheckLevel>,
    /// Run when added (unset behaves as enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<Startup>,
    /// Interval between runs (Go duration; default 10s, not zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Time allowed per run (Go duration; default 3s, capped at the period, not zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Failures in a row before the check is down; 0 means unset (the plan shows the default 3).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero_u32"
    )]
    pub threshold: u32,
    /// HTTP check (exactly one of http, tcp, exec in the plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    /// TCP connect check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpCheck>,
    /// Command check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecCheck>,
}

/// An HTTP check: success is a 2xx answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct HttpCheck {
    /// URL to GET (required in the plan).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub url: String,
    /// Extra request headers.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub headers: BTreeMap<String, String>,
}

/// A TCP check: success is an accepted connection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TcpCheck {
    /// Port (required in the plan; 0 means unset).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "is_zero_u16"
    )]
    pub port: u16,
    /// Host (default `localhost`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub host: String,
}

/// A command check: success is exit code 0.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ExecCheck {
    /// Command line (required in the plan).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub command: String,
    /// Take environment, user, group and working dir from this service.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub service_context: String,
    /// Extra environment variables.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub environment: BTreeMap<String, String>,
    /// Run as this uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u32>,
    /// Run as this user.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub user: String,
    /// Run with this gid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<u32>,
    /// Run with this group.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub group: String,
    /// Working directory.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub working_dir: String,
}

/// A log forwarding target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LogTarget {
    /// Protocol (required in the plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<LogTargetType>,
    /// Target URL (required in the plan).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "String::is_empty"
    )]
    pub location: String,
    /// Services to forward: names, `all`, `-name`, `-all`; the last match wins.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub services: Vec<String>,
    /// How this entry combines with earlier layers (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#override: Option<Override>,
    /// Extra labels on forwarded logs (keys must not start with `pebble_`).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
}

impl Layer {
    /// Decodes a layer from YAML, strictly (unknown fields are errors, as in Pebble). An empty
    /// document is an empty layer.
    pub fn from_yaml(text: &str) -> Result<Layer, String> {
        if text.trim().is_empty() {
            return Ok(Layer::default());
        }
        serde_yaml::from_str(text).map_err(|e| e.to_string())
    }

    /// Encodes the layer as YAML (unset fields left out).
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_else(|e| unreachable_yaml(&e))
    }
}

/// Serialising these plain data types cannot fail; keep the signature infallible.
pub(crate) fn unreachable_yaml(error: &serde_yaml::Error) -> String {
    tracing::error!(%error, "cannot encode layer as YAML");
    String::new()
}

/// Decodes `null` as the type's default (Go decodes YAML null into the zero value).
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

fn is_zero_u16(value: &u16) -> bool {
    *value == 0
}
