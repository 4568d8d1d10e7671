//! `GET /v1/plan?format=yaml` and `POST /v1/layers`.

use std::sync::Arc;

use hyper::Request;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::json;

use super::request::{self, Query};
use super::response::{self, ApiError, ApiResult};
use crate::pebble_double::plan_yaml;
use crate::pebble_double::state::Daemon;

/// The combined plan as a YAML string.
pub fn get(daemon: &Arc<Daemon>, query: &Query) -> ApiResult {
    let format = query.get("format");
    if format != "yaml" {
        return Err(ApiError::bad_request(format!("invalid format {format:?}")));
    }
    Ok(response::sync(json!(plan_yaml::render(
        &daemon.plan.plan()
    ))))
}

#[derive(Deserialize)]
struct LayerBody {
    #[serde(default)]
    action: String,
    #[serde(default)]
    combine: bool,
    #[serde(default)]
    label: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    layer: String,
}

/// Adds a layer; new and changed checks start at once.
pub async fn add_layer(daemon: &Arc<Daemon>, request: Request<Incoming>) -> ApiResult {
    let body: LayerBody = request::json(request, "cannot decode request body").await?;
    if body.action != "add" {
        return Err(ApiError::bad_request(format!(
            "invalid action {:?}",
            body.action
        )));
    }
    if body.label.is_empty() {
        return Err(ApiError::bad_request("label must be set"));
    }
    if body.format != "yaml" {
        return Err(ApiError::bad_request(format!(
            "invalid format {:?}",
            body.format
        )));
    }
    let plan = daemon
        .plan
        .add(&body.label, &body.layer, body.combine)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    daemon.checks.plan_changed(daemon, &plan);
    Ok(response::sync(json!(true)))
}
