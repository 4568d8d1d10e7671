//! Layers, the plan and services: `/v1/layers`, `/v1/plan`, `/v1/services`, `/v1/signals`.

use serde::{Deserialize, Serialize};

use crate::changes::Change;
use crate::layer::{Layer, Startup};
use crate::plan::Plan;
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// A service's state as Pebble reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ServiceInfo {
    /// Service name.
    pub name: String,
    /// Whether replan/autostart starts it.
    pub startup: Startup,
    /// Its current state.
    pub current: ServiceStatus,
    /// When `current` last changed (RFC 3339); absent if the service never ran.
    #[serde(default)]
    pub current_since: Option<String>,
}

impl ServiceInfo {
    /// Whether the service is up (`active`).
    pub fn is_running(&self) -> bool {
        self.current == ServiceStatus::Active
    }
}

/// The `current` state of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceStatus {
    /// Starting or running.
    Active,
    /// Never started, stopping or stopped.
    Inactive,
    /// Exited and waiting to be restarted.
    Backoff,
    /// Exited and not restarted (action `ignore` or `shutdown` after a failure).
    Error,
    /// A state this client does not know (newer Pebble).
    #[serde(other)]
    Unknown,
}

#[derive(Serialize)]
struct LayerBody<'a> {
    action: &'static str,
    combine: bool,
    label: &'a str,
    format: &'static str,
    layer: String,
}

#[derive(Serialize)]
struct ServicesBody<'a> {
    action: &'a str,
    services: &'a [&'a str],
}

#[derive(Serialize)]
struct SignalBody<'a> {
    signal: &'a str,
    services: &'a [&'a str],
}

/// `POST /v1/layers` adding `layer` under `label`.
pub(crate) fn add_layer_request(
    label: &str,
    layer: &Layer,
    combine: bool,
) -> Result<ApiRequest, Error> {
    ApiRequest::post_json(
        "/v1/layers",
        &LayerBody {
            action: "add",
            combine,
            label,
            format: "yaml",
            layer: layer.to_yaml(),
        },
    )
}

/// `POST /v1/services` for `action` on `names`.
pub(crate) fn services_request(action: &str, names: &[&str]) -> Result<ApiRequest, Error> {
    ApiRequest::post_json(
        "/v1/services",
        &ServicesBody {
            action,
            services: names,
        },
    )
}

/// `POST /v1/signals`.
pub(crate) fn signal_request(signal: &str, services: &[&str]) -> Result<ApiRequest, Error> {
    ApiRequest::post_json("/v1/signals", &SignalBody { signal, services })
}

/// Adds `names` as a comma-separated `names` query parameter when there are any.
pub(crate) fn with_names(request: ApiRequest, names: &[&str]) -> ApiRequest {
    if names.is_empty() {
        request
    } else {
        request.query("names", names.join(","))
    }
}

impl Client {
    /// Adds `layer` under `label`. With `combine`, an existing layer of that label is merged
    /// into (override rules per entry); without it, the label must be new. Adding a layer
    /// starts no service (call [`Client::replan`]); Pebble validates the resulting plan and
    /// refuses the layer (400) if it is invalid.
    pub async fn add_layer(&self, label: &str, layer: &Layer, combine: bool) -> Result<(), Error> {
        let _: serde_json::Value = self
            .sync(&add_layer_request(label, layer, combine)?)
            .await?;
        Ok(())
    }

    /// The combined plan.
    pub async fn get_plan(&self) -> Result<Plan, Error> {
        let request = ApiRequest::get("/v1/plan").query("format", "yaml");
        let text: String = self.sync(&request).await?;
        Plan::from_yaml(&text).map_err(|e| Error::Protocol(format!("cannot decode plan: {e}")))
    }

    /// Services and their state, sorted by name; all services when `names` is empty. Unknown
    /// names are silently left out (Pebble's behaviour).
    pub async fn list_services(&self, names: &[&str]) -> Result<Vec<ServiceInfo>, Error> {
        self.sync(&with_names(ApiRequest::get("/v1/services"), names))
            .await
    }

    /// Starts `names` (and the services they require) and waits for the change, up to the
    /// client's change timeout. A failed start (e.g. "exited quickly") is [`Error::Change`].
    pub async fn start(&self, names: &[&str]) -> Result<Change, Error> {
        self.service_change("start", names).await
    }

    /// Stops `names` (and the services that require them) and waits for the change.
    pub async fn stop(&self, names: &[&str]) -> Result<Change, Error> {
        self.service_change("stop", names).await
    }

    /// Restarts `names` (a stopped service is simply started) and waits for the change.
    pub async fn restart(&self, names: &[&str]) -> Result<Change, Error> {
        self.service_change("restart", names).await
    }

    /// Makes running services match the plan: restarts services whose definition changed and
    /// starts every `startup: enabled` service; waits for the change.
    pub async fn replan(&self) -> Result<Change, Error> {
        self.service_change("replan", &[]).await
    }

    async fn service_change(&self, action: &str, names: &[&str]) -> Result<Change, Error> {
        let (id, _) = self.start_change(&services_request(action, names)?).await?;
        self.wait_change_ok(&id, self.change_timeout()).await
    }

    /// Sends `signal` (a name such as `SIGHUP`) to the running `services`.
    pub async fn send_signal(&self, signal: &str, services: &[&str]) -> Result<(), Error> {
        let _: serde_json::Value = self.sync(&signal_request(signal, services)?).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{Override, Service};
    use crate::transport::Body;

    fn json_body(request: &ApiRequest) -> String {
        match &request.body {
            Body::Json(bytes) => String::from_utf8(bytes.clone()).unwrap(),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn add_layer_body() {
        let mut layer = Layer::default();
        layer.services.insert(
            "pg".into(),
            Service {
                r#override: Some(Override::Replace),
                command: "postgres".into(),
                ..Service::default()
            },
        );
        let request = add_layer_request("postgresql", &layer, true).unwrap();
        assert_eq!(request.path, "/v1/layers");
        assert_eq!(
            json_body(&request),
            r#"{"action":"add","combine":true,"label":"postgresql","format":"yaml","layer":"services:\n  pg:\n    override: replace\n    command: postgres\n"}"#
        );
    }

    #[test]
    fn services_and_signal_bodies() {
        assert_eq!(
            json_body(&services_request("start", &["a", "b"]).unwrap()),
            r#"{"action":"start","services":["a","b"]}"#
        );
        assert_eq!(
            json_body(&services_request("replan", &[]).unwrap()),
            r#"{"action":"replan","services":[]}"#
        );
        assert_eq!(
            json_body(&signal_request("SIGHUP", &["pg"]).unwrap()),
            r#"{"signal":"SIGHUP","services":["pg"]}"#
        );
    }

    #[test]
    fn names_query() {
        let request = with_names(ApiRequest::get("/v1/services"), &["a", "b"]);
        assert_eq!(
            request.url().unwrap().as_str(),
            "http://localhost/v1/services?names=a%2Cb"
        );
        let all = with_names(ApiRequest::get("/v1/services"), &[]);
        assert_eq!(all.url().unwrap().as_str(), "http://localhost/v1/services");
    }

    #[test]
    fn service_info_decoding() {
        let list: Vec<ServiceInfo> = serde_json::from_str(
            r#"[{"name": "pg", "startup": "enabled", "current": "active", "current-since": "2025-01-07T10:11:12.123456789+00:00"},
                {"name": "x", "startup": "disabled", "current": "inactive"},
                {"name": "y", "startup": "disabled", "current": "sleeping"}]"#,
        )
        .unwrap();
        assert!(list[0].is_running());
        assert_eq!(list[1].current_since, None);
        assert_eq!(list[2].current, ServiceStatus::Unknown);
    }
}
