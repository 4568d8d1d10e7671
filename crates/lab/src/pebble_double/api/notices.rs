//! `GET /v1/notices` (with long-poll), `GET /v1/notices/{id}`, `POST /v1/notices` (custom).

use std::collections::BTreeMap;
use std::sync::Arc;

use hyper::Request;
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::request::{self, Query};
use super::response::{self, ApiError, ApiResult};
use crate::pebble_double::clock;
use crate::pebble_double::notices::NoticeFilter;
use crate::pebble_double::state::Daemon;

const MAX_KEY_LENGTH: usize = 256;
const MAX_DATA_SIZE: usize = 4096;
const TYPES: [&str; 3] = ["custom", "change-update", "warning"];

fn duration(text: &str, what: &str) -> Result<Option<std::time::Duration>, ApiError> {
    if text.is_empty() {
        return Ok(None);
    }
    pebble::parse_go_duration(text)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("invalid {what}: time: {e}")))
}

/// Notices matching the filters; with `timeout`, waits for at least one.
pub async fn list(daemon: &Arc<Daemon>, query: &Query) -> ApiResult {
    let types = query
        .list("types")
        .into_iter()
        .filter(|t| TYPES.contains(&t.as_str()))
        .collect();
    let after = match query.get("after") {
        "" => None,
        text => Some(clock::parse_rfc3339(text).ok_or_else(|| {
            ApiError::bad_request(format!(
                "invalid \"after\" timestamp: parsing time {text:?}: cannot parse"
            ))
        })?),
    };
    let filter = NoticeFilter {
        types,
        keys: query.list("keys"),
        after,
    };
    let timeout = duration(query.get("timeout"), "timeout")?.filter(|t| !t.is_zero());
    let notices = match timeout {
        Some(timeout) => daemon.notices.wait(&filter, timeout).await,
        None => daemon.notices.list(&filter),
    };
    Ok(response::sync(Value::Array(notices)))
}

/// One notice.
pub fn get(daemon: &Arc<Daemon>, id: &str) -> ApiResult {
    daemon
        .notices
        .get(id)
        .map(response::sync)
        .ok_or_else(|| ApiError::not_found(format!("cannot find notice with ID {id:?}")))
}

/// `[a-z0-9]+(-[a-z0-9]+)*`.
fn is_word(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Custom keys look like `domain.com/key` (Pebble's pattern).
pub fn valid_custom_key(key: &str) -> bool {
    let Some((domain, path)) = key.split_once('/') else {
        return false;
    };
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2 && labels.iter().all(|l| is_word(l)) && path.split('/').all(is_word)
}

/// Records a custom notice.
pub async fn post(daemon: &Arc<Daemon>, request: Request<Incoming>) -> ApiResult {
    let body: Value = request::json(request, "cannot decode request body").await?;
    let text = |field: &str| body.get(field).and_then(Value::as_str).unwrap_or_default();
    let action = text("action");
    if action != "add" {
        return Err(ApiError::bad_request(format!("invalid action {action:?}")));
    }
    let kind = text("type");
    if kind != "custom" {
        return Err(ApiError::bad_request(format!(
            "invalid type {kind:?} (can only add \"custom\" notices)"
        )));
    }
    let key = text("key");
    if !valid_custom_key(key) {
        return Err(ApiError::bad_request(format!(
            "invalid key {key:?} (must be in \"domain.com/key\" format)"
        )));
    }
    if key.len() > MAX_KEY_LENGTH {
        return Err(ApiError::bad_request(format!(
            "key must be {MAX_KEY_LENGTH} bytes or less"
        )));
    }
    let repeat_after = duration(text("repeat-after"), "repeat-after")?;
    let data = match body.get("data") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(raw) => {
            if raw.to_string().len() > MAX_DATA_SIZE {
                return Err(ApiError::bad_request(format!(
                    "total size of data must be {MAX_DATA_SIZE} bytes or less"
                )));
            }
            serde_json::from_value(raw.clone())
                .map_err(|e| ApiError::bad_request(format!("cannot decode notice data: {e}")))?
        }
    };
    let id = daemon.notices.add("custom", key, data, repeat_after);
    Ok(response::sync(json!({"id": id})))
}

#[cfg(test)]
mod tests {
    use super::valid_custom_key;

    #[test]
    fn custom_keys() {
        assert!(valid_custom_key("example.com/db-ready"));
        assert!(valid_custom_key("a.b.c/x/y"));
        assert!(!valid_custom_key("example/x"));
        assert!(!valid_custom_key("Example.com/x"));
        assert!(!valid_custom_key("example.com/"));
        assert!(!valid_custom_key("example.com"));
    }
}
