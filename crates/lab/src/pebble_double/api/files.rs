//! `GET /v1/files` (read, list) and `POST /v1/files` (write, make-dirs, remove).

use hyper::Request;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::Value;

use super::request::{self, Query};
use super::response::{self, ApiError, ApiResult};
use crate::pebble_double::files::{self, PathItem};

/// Read or list.
pub fn get(query: &Query, request: &Request<Incoming>) -> ApiResult {
    match query.get("action") {
        "read" => {
            let paths = query.all("path");
            if paths.is_empty() {
                return Err(ApiError::bad_request("must specify one or more paths"));
            }
            let accept = request
                .headers()
                .get(hyper::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if accept != "multipart/form-data" {
                return Err(ApiError::bad_request("must accept multipart/form-data"));
            }
            let (content_type, body) = files::read_answer(&paths);
            Ok(response::raw(200, &content_type, body))
        }
        "list" => {
            let path = query.get("path");
            if path.is_empty() {
                return Err(ApiError::bad_request("must specify path"));
            }
            let itself = query.get("itself");
            if !matches!(itself, "" | "true" | "false") {
                return Err(ApiError::bad_request(
                    "itself parameter must be \"true\" or \"false\"",
                ));
            }
            if !path.starts_with('/') {
                return Err(ApiError::bad_request(format!(
                    "path must be absolute, got {path:?}"
                )));
            }
            match files::list(path, query.get("pattern"), itself == "true") {
                Ok(entries) => Ok(response::sync(Value::Array(entries))),
                Err(e) => {
                    let kind = e.kind;
                    Err(ApiError::new(e.status(), e.message).with_kind(kind))
                }
            }
        }
        other => Err(ApiError::bad_request(format!("invalid action {other:?}"))),
    }
}

#[derive(Deserialize)]
struct JsonBody {
    #[serde(default)]
    action: String,
    #[serde(default)]
    dirs: Vec<PathItem>,
    #[serde(default)]
    paths: Vec<PathItem>,
}

/// Write (multipart), make-dirs or remove (JSON).
pub async fn post(request: Request<Incoming>) -> ApiResult {
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence.is_empty() {
        return Err(ApiError::bad_request(format!(
            "invalid Content-Type {content_type:?}"
        )));
    }
    match essence.as_str() {
        "multipart/form-data" => {
            let boundary = files::parameters(&content_type)
                .into_iter()
                .find(|(k, _)| k == "boundary")
                .map(|(_, v)| v)
                .unwrap_or_default();
            if boundary.len() < 32 {
                return Err(ApiError::bad_request(format!(
                    "invalid boundary {boundary:?}"
                )));
            }
            let body = request::body(request).await?;
            let results = files::write(&body, &boundary).map_err(ApiError::bad_request)?;
            Ok(response::sync(Value::Array(results)))
        }
        "application/json" => {
            let body: JsonBody = request::json(request, "cannot decode request body").await?;
            match body.action.as_str() {
                "make-dirs" => Ok(response::sync(Value::Array(files::make_dirs(&body.dirs)))),
                "remove" => Ok(response::sync(Value::Array(files::remove(&body.paths)))),
                "write" => Err(ApiError::bad_request(
                    "must use multipart with \"write\" action",
                )),
                other => Err(ApiError::bad_request(format!("invalid action {other:?}"))),
            }
        }
        other => Err(ApiError::bad_request(format!(
            "invalid media type {other:?}"
        ))),
    }
}
