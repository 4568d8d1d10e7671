//! `GET /v1/checks`, `POST /v1/checks` (start/stop) and `POST /v1/checks/refresh`.

use std::sync::Arc;

use hyper::Request;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{Value, json};

use super::request::{self, Query};
use super::response::{self, ApiError, ApiResult};
use super::system;
use crate::pebble_double::state::Daemon;

/// Checks and their state.
pub fn list(daemon: &Arc<Daemon>, query: &Query) -> ApiResult {
    let level = system::level(query)?;
    let names = query.list("names");
    Ok(response::sync(Value::Array(
        daemon.checks.list(level, &names),
    )))
}

#[derive(Deserialize)]
struct ChecksBody {
    #[serde(default)]
    action: String,
    #[serde(default)]
    checks: Vec<String>,
}

/// Starts or stops checks.
pub async fn post(daemon: &Arc<Daemon>, request: Request<Incoming>) -> ApiResult {
    let body: ChecksBody = request::json(request, "cannot decode data from request body").await?;
    if body.checks.is_empty() {
        return Err(ApiError::bad_request(format!(
            "must specify checks for {} action",
            body.action
        )));
    }
    let changed = match body.action.as_str() {
        "start" => daemon.checks.start(daemon, &body.checks),
        "stop" => daemon.checks.stop(daemon, &body.checks),
        other => return Err(ApiError::bad_request(format!("invalid action {other:?}"))),
    }
    .map_err(|e| ApiError::bad_request(format!("cannot {} checks: {e}", body.action)))?;
    Ok(response::sync(json!({"changed": changed})))
}

#[derive(Deserialize)]
struct RefreshBody {
    #[serde(default)]
    name: String,
}

/// Runs a check now.
pub async fn refresh(daemon: &Arc<Daemon>, request: Request<Incoming>) -> ApiResult {
    let body: RefreshBody = request::json(request, "cannot decode request body").await?;
    if body.name.is_empty() {
        return Err(ApiError::bad_request("check name is required"));
    }
    let Some((info, error)) = daemon.checks.refresh(daemon, &body.name).await else {
        return Err(ApiError::not_found(format!(
            "cannot find check with name {:?}",
            body.name
        )));
    };
    let mut result = json!({"info": info});
    if let Some(error) = error {
        result["error"] = json!(error);
    }
    Ok(response::sync(result))
}
