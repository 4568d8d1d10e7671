//! `GET /v1/changes`, `GET /v1/changes/{id}`, `GET /v1/changes/{id}/wait`,
//! `POST /v1/changes/{id}` (abort).

use std::sync::Arc;

use hyper::Request;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::Value;

use super::request::{self, Query};
use super::response::{self, ApiError, ApiResult};
use crate::pebble_double::changes::{Select, WaitError};
use crate::pebble_double::state::Daemon;

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("cannot find change with id {id:?}"))
}

/// Changes by readiness and service.
pub fn list(daemon: &Arc<Daemon>, query: &Query) -> ApiResult {
    let select = match query.get("select") {
        "" | "in-progress" => Select::InProgress,
        "all" => Select::All,
        "ready" => Select::Ready,
        _ => {
            return Err(ApiError::bad_request(
                "select should be one of: all,in-progress,ready",
            ));
        }
    };
    let service = Some(query.get("for")).filter(|s| !s.is_empty());
    Ok(response::sync(Value::Array(
        daemon.changes.list(select, service),
    )))
}

/// One change.
pub fn get(daemon: &Arc<Daemon>, id: &str) -> ApiResult {
    daemon
        .changes
        .get(id)
        .map(response::sync)
        .ok_or_else(|| not_found(id))
}

/// Waits for a change to be ready.
pub async fn wait(daemon: &Arc<Daemon>, id: &str, query: &Query) -> ApiResult {
    if daemon.changes.get(id).is_none() {
        return Err(not_found(id));
    }
    let timeout = match query.get("timeout") {
        "" => None,
        text => Some(
            pebble::parse_go_duration(text)
                .map_err(|e| ApiError::bad_request(format!("invalid timeout: time: {e}")))?,
        )
        .filter(|t| !t.is_zero()),
    };
    match daemon.changes.wait(id, timeout).await {
        Ok(change) => Ok(response::sync(change)),
        Err(WaitError::NotFound) => Err(not_found(id)),
        Err(WaitError::Timeout) => Err(ApiError::new(
            504,
            format!(
                "timed out waiting for change after {}",
                pebble::format_go_duration(timeout.unwrap_or_default())
            ),
        )),
    }
}

#[derive(Deserialize)]
struct AbortBody {
    #[serde(default)]
    action: String,
}

/// Aborts a change.
pub async fn abort(daemon: &Arc<Daemon>, id: &str, request: Request<Incoming>) -> ApiResult {
    if daemon.changes.get(id).is_none() {
        return Err(not_found(id));
    }
    let body: AbortBody = request::json(request, "cannot decode data from request body").await?;
    if body.action != "abort" {
        return Err(ApiError::bad_request(format!(
            "change action {:?} is unsupported",
            body.action
        )));
    }
    match daemon.changes.abort(id) {
        Ok(()) => get(daemon, id),
        Err(Some(_)) => Err(ApiError::bad_request(format!(
            "cannot abort change {id} with nothing pending"
        ))),
        Err(None) => Err(not_found(id)),
    }
}
