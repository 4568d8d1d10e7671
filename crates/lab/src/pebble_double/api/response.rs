//! Pebble's response envelopes (`sync`, `async`, `error`) and raw answers.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::{Response, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

/// Every response body.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Every response.
pub type Reply = Response<Body>;

/// A request refused with an `error` envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// `result.message`.
    pub message: String,
    /// `result.kind`, when Pebble sets one.
    pub kind: Option<&'static str>,
}

impl ApiError {
    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, message)
    }

    /// 500 Internal Server Error.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, message)
    }

    /// Any status.
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            kind: None,
        }
    }

    /// With a `kind`.
    pub fn with_kind(mut self, kind: &'static str) -> ApiError {
        self.kind = Some(kind);
        self
    }

    /// The error envelope.
    pub fn reply(&self) -> Reply {
        let mut result = json!({"message": self.message});
        if let Some(kind) = self.kind {
            result["kind"] = json!(kind);
        }
        envelope("error", self.status, None, &result)
    }
}

/// What handlers return.
pub type ApiResult = Result<Reply, ApiError>;

#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(rename = "status-code")]
    status_code: u16,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<&'a str>,
    result: &'a Value,
}

/// Go's `http.StatusText`.
pub fn status_text(code: u16) -> &'static str {
    StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

fn envelope(kind: &str, code: u16, change: Option<&str>, result: &Value) -> Reply {
    let body = serde_json::to_vec(&Envelope {
        kind,
        status_code: code,
        status: status_text(code),
        change,
        result,
    })
    .unwrap_or_default();
    raw(code, "application/json", body)
}

/// `sync` 200 with `result`.
pub fn sync(result: Value) -> Reply {
    envelope("sync", 200, None, &result)
}

/// `sync` with another status (health answers 502 when unhealthy).
pub fn sync_status(code: u16, result: Value) -> Reply {
    envelope("sync", code, None, &result)
}

/// `async` 202 for change `change`.
pub fn accepted(change: &str, result: Value) -> Reply {
    envelope("async", 202, Some(change), &result)
}

/// A body that is not an envelope (file reads, logs).
pub fn raw(code: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let mut reply = Response::new(Full::new(body.into()).boxed_unsync());
    *reply.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = content_type.parse() {
        reply
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    reply
}
