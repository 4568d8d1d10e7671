//! `GET /v1/services`, `POST /v1/services` and `POST /v1/signals`.

use std::sync::Arc;

use hyper::Request;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::{Value, json};

use super::request::{self, Query};
use super::response::{self, ApiError, ApiResult, Reply};
use crate::pebble_double::services::{self, ActionError};
use crate::pebble_double::state::Daemon;

/// The plan's services and their state.
pub fn list(daemon: &Arc<Daemon>, query: &Query) -> Reply {
    let plan = daemon.plan.plan();
    let names = query.list("names");
    response::sync(Value::Array(daemon.services.list(&plan, &names)))
}

#[derive(Deserialize)]
struct ServicesBody {
    #[serde(default)]
    action: String,
    #[serde(default)]
    services: Option<Vec<String>>,
}

/// Starts a service change.
pub async fn post(daemon: &Arc<Daemon>, request: Request<Incoming>) -> ApiResult {
    let body: ServicesBody = request::json(request, "cannot decode data from request body").await?;
    let names = body.services.unwrap_or_default();
    match services::service_action(daemon, &body.action, names) {
        Ok(change) => Ok(response::accepted(&change, Value::Null)),
        Err(ActionError::BadRequest(message)) => Err(ApiError::bad_request(message)),
        Err(ActionError::NoDefaultServices) => {
            Err(ApiError::bad_request("no default services").with_kind("no-default-services"))
        }
    }
}

#[derive(Deserialize)]
struct SignalBody {
    #[serde(default)]
    signal: String,
    #[serde(default)]
    services: Option<Vec<String>>,
}

/// Sends a signal to running services.
pub async fn signal(daemon: &Arc<Daemon>, request: Request<Incoming>) -> ApiResult {
    let body: SignalBody = request::json(request, "cannot decode request body").await?;
    let names = body.services.unwrap_or_default();
    if names.is_empty() {
        return Err(ApiError::bad_request("must specify one or more services"));
    }
    daemon
        .services
        .send_signal(&names, &body.signal)
        .map_err(ApiError::internal)?;
    Ok(response::sync(json!(true)))
}
