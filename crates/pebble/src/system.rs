//! `GET /v1/system-info`: the API's liveness probe.

use serde::Deserialize;

use crate::transport::ApiRequest;
use crate::{Client, Error};

/// What Pebble says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SystemInfo {
    /// Pebble's version, e.g. `v1.32.1`.
    pub version: String,
    /// Changes on every Pebble (re)start, so a charm can tell the container restarted.
    #[serde(default)]
    pub boot_id: String,
    /// The HTTP address Pebble also listens on, when configured.
    #[serde(default)]
    pub http_address: Option<String>,
    /// The HTTPS address Pebble also listens on, when configured.
    #[serde(default)]
    pub https_address: Option<String>,
}

impl Client {
    /// Asks Pebble for its version and boot id.
    pub async fn system_info(&self) -> Result<SystemInfo, Error> {
        self.sync(&ApiRequest::get("/v1/system-info")).await
    }

    /// Whether Pebble answers at all (ops' `Container.can_connect`): `system_info` succeeds.
    /// Failures are logged at debug level and reported as `false`.
    pub async fn can_connect(&self) -> bool {
        match self.system_info().await {
            Ok(_) => true,
            Err(error) => {
                tracing::debug!(%error, socket = %self.socket_path().display(), "pebble not reachable");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_info_tolerates_missing_optional_fields() {
        let info: SystemInfo =
            serde_json::from_str(r#"{"boot-id": "abc", "version": "v1.32.1"}"#).unwrap();
        assert_eq!(info.version, "v1.32.1");
        assert_eq!(info.boot_id, "abc");
        assert_eq!(info.http_address, None);
    }
}
