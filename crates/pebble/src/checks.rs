//! Health checks (`/v1/checks`): their state, and starting or stopping them.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use crate::layer::{CheckLevel, Startup};
use crate::services::with_names;
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// The state of a check. Fields that older Pebble versions do not send are optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CheckInfo {
    /// Check name.
    pub name: String,
    /// Its level, if set (unknown values read as unset).
    #[serde(default, deserialize_with = "lenient")]
    pub level: Option<CheckLevel>,
    /// Its startup mode (absent on old Pebble).
    #[serde(default, deserialize_with = "lenient")]
    pub startup: Option<Startup>,
    /// `up`, `down` or `inactive`.
    pub status: CheckStatus,
    /// Successful runs so far (absent on old Pebble).
    #[serde(default)]
    pub successes: Option<u64>,
    /// Failures in a row (omitted by Pebble when 0).
    #[serde(default)]
    pub failures: u64,
    /// Failures in a row before the check is `down`.
    #[serde(default)]
    pub threshold: u32,
    /// The change running the check; absent when the check is inactive.
    #[serde(default)]
    pub change_id: Option<String>,
    /// The previous change that ran the check.
    #[serde(default)]
    pub prev_change_id: Option<String>,
}

/// Whether a check passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    /// Passing (or failing fewer than `threshold` times in a row).
    Up,
    /// Failed `threshold` times in a row.
    Down,
    /// Not running (stopped, or added with `startup: disabled`).
    Inactive,
    /// A status this client does not know (newer Pebble).
    #[serde(other)]
    Unknown,
}

#[derive(Serialize)]
struct ChecksBody<'a> {
    action: &'a str,
    checks: &'a [&'a str],
}

#[derive(Deserialize)]
struct Changed {
    #[serde(default, deserialize_with = "null_as_empty")]
    changed: Vec<String>,
}

/// `GET /v1/checks` with optional level and name filters.
pub(crate) fn list_checks_request(level: Option<CheckLevel>, names: &[&str]) -> ApiRequest {
    let mut request = ApiRequest::get("/v1/checks");
    if let Some(level) = level {
        let level = match level {
            CheckLevel::Alive => "alive",
            CheckLevel::Ready => "ready",
        };
        request = request.query("level", level);
    }
    with_names(request, names)
}

/// `POST /v1/checks` for `action` on `names`.
pub(crate) fn checks_request(action: &str, names: &[&str]) -> Result<ApiRequest, Error> {
    ApiRequest::post_json(
        "/v1/checks",
        &ChecksBody {
            action,
            checks: names,
        },
    )
}

impl Client {
    /// Checks and their state, sorted by name; filtered by exact `level` and by `names` when
    /// given.
    pub async fn list_checks(
        &self,
        level: Option<CheckLevel>,
        names: &[&str],
    ) -> Result<Vec<CheckInfo>, Error> {
        self.sync(&list_checks_request(level, names)).await
    }

    /// Starts the named checks; returns those that were not already running.
    pub async fn start_checks(&self, names: &[&str]) -> Result<Vec<String>, Error> {
        let changed: Changed = self.sync(&checks_request("start", names)?).await?;
        Ok(changed.changed)
    }

    /// Stops the named checks; returns those that were running.
    pub async fn stop_checks(&self, names: &[&str]) -> Result<Vec<String>, Error> {
        let changed: Changed = self.sync(&checks_request("stop", names)?).await?;
        Ok(changed.changed)
    }
}

/// Decodes `T`, reading values this client does not understand (or `null`) as unset.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// Very old Pebble answers `"changed": null` when nothing changed.
fn null_as_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Body;

    #[test]
    fn full_and_old_style_check_info() {
        let checks: Vec<CheckInfo> = serde_json::from_str(
            r#"[{"name": "pg-ready", "level": "ready", "startup": "enabled", "status": "up", "successes": 12,
                 "threshold": 3, "change-id": "5", "prev-change-id": "3"},
                {"name": "old", "status": "down", "failures": 4, "threshold": 3},
                {"name": "odd", "level": "", "status": "resting"}]"#,
        )
        .unwrap();
        assert_eq!(checks[0].level, Some(CheckLevel::Ready));
        assert_eq!(checks[0].successes, Some(12));
        assert_eq!(checks[0].failures, 0);
        assert_eq!(checks[0].change_id.as_deref(), Some("5"));
        assert_eq!(checks[1].startup, None);
        assert_eq!(checks[1].status, CheckStatus::Down);
        assert_eq!(checks[1].failures, 4);
        assert_eq!(checks[2].level, None);
        assert_eq!(checks[2].status, CheckStatus::Unknown);
    }

    #[test]
    fn changed_may_be_null() {
        let changed: Changed = serde_json::from_str(r#"{"changed": null}"#).unwrap();
        assert!(changed.changed.is_empty());
        let changed: Changed = serde_json::from_str(r#"{"changed": ["a"]}"#).unwrap();
        assert_eq!(changed.changed, ["a"]);
    }

    #[test]
    fn requests() {
        assert_eq!(
            list_checks_request(Some(CheckLevel::Ready), &["a", "b"])
                .url()
                .unwrap()
                .as_str(),
            "http://localhost/v1/checks?level=ready&names=a%2Cb"
        );
        let Body::Json(bytes) = checks_request("stop", &["a"]).unwrap().body else {
            panic!("not json");
        };
        assert_eq!(bytes, br#"{"action":"stop","checks":["a"]}"#);
    }
}
