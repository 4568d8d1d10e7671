//! `GET /v1/system-info` and `GET /v1/health`.

use std::sync::Arc;

use pebble::CheckLevel;
use serde_json::json;

use super::request::Query;
use super::response::{self, ApiError, ApiResult, Reply};
use crate::pebble_double::config::VERSION;
use crate::pebble_double::state::Daemon;

/// The daemon's version and boot id.
pub fn info(daemon: &Arc<Daemon>) -> Reply {
    let mut result = json!({"boot-id": daemon.boot_id, "version": VERSION});
    if let Some(http) = &daemon.config.http {
        result["http-address"] = json!(http);
    }
    response::sync(result)
}

/// Parses a `level` parameter (`alive`, `ready` or empty).
pub fn level(query: &Query) -> Result<Option<CheckLevel>, ApiError> {
    match query.get("level") {
        "" => Ok(None),
        "alive" => Ok(Some(CheckLevel::Alive)),
        "ready" => Ok(Some(CheckLevel::Ready)),
        _ => Err(ApiError::bad_request(
            "level must be \"alive\" or \"ready\"",
        )),
    }
}

/// `{"healthy": bool}`, 502 when unhealthy.
pub fn health(daemon: &Arc<Daemon>, query: &Query) -> ApiResult {
    let level = level(query)?;
    let healthy = daemon.checks.healthy(level, &query.list("names"));
    let code = if healthy { 200 } else { 502 };
    Ok(response::sync_status(code, json!({"healthy": healthy})))
}
