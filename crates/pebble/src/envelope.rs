//! Pebble's JSON response envelope (`sync` / `async` / `error`), parsed without any I/O.

use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;

/// An HTTP answer as the transport received it: nothing interpreted yet.
#[derive(Debug, Clone)]
pub(crate) struct RawResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The whole body.
    pub body: Bytes,
}

/// A successful envelope.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Envelope {
    /// `type: sync`: the operation is done; `result` is the payload.
    Sync(Value),
    /// `type: async`: Pebble started change `change`; `result` may carry extra data (exec).
    Async { change: String, result: Value },
}

#[derive(Deserialize)]
struct WireEnvelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "status-code")]
    status_code: Option<u16>,
    status: Option<String>,
    #[serde(default)]
    result: Value,
    change: Option<Value>,
}

#[derive(Deserialize, Default)]
struct WireError {
    #[serde(default)]
    message: String,
    kind: Option<String>,
}

/// Whether a `Content-Type` value names `essence` (ignoring parameters and case).
pub(crate) fn content_type_is(content_type: Option<&str>, essence: &str) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case(essence))
}

/// Parses a response that must be a JSON envelope.
pub(crate) fn parse_envelope(resp: &RawResponse) -> Result<Envelope, Error> {
    if !content_type_is(resp.content_type.as_deref(), "application/json") {
        if resp.status >= 400 {
            // Not Pebble's envelope, but still an HTTP error: keep the code and the text.
            return Err(Error::Api {
                code: resp.status,
                status: reason_phrase(resp.status),
                message: String::from_utf8_lossy(&resp.body).trim().to_owned(),
                kind: None,
            });
        }
        return Err(Error::Protocol(format!(
            "expected content type application/json, got {:?}",
            resp.content_type.as_deref().unwrap_or("")
        )));
    }
    parse_json_envelope(resp.status, &resp.body)
}

/// Parses envelope JSON bytes; `http_status` is the status of the answer that carried it.
pub(crate) fn parse_json_envelope(http_status: u16, body: &[u8]) -> Result<Envelope, Error> {
    let wire: WireEnvelope = serde_json::from_slice(body)
        .map_err(|e| Error::Protocol(format!("cannot decode response envelope: {e}")))?;
    let code = wire.status_code.unwrap_or(http_status);
    if wire.kind == "error" || http_status >= 400 {
        let detail: WireError = serde_json::from_value(wire.result).unwrap_or_default();
        return Err(Error::Api {
            code: if http_status >= 400 {
                http_status
            } else {
                code
            },
            status: wire.status.unwrap_or_else(|| reason_phrase(code)),
            message: detail.message,
            kind: detail.kind.filter(|k| !k.is_empty()),
        });
    }
    match wire.kind.as_str() {
        "sync" => Ok(Envelope::Sync(wire.result)),
        "async" => {
            let change = match wire.change {
                Some(Value::String(id)) if !id.is_empty() => id,
                Some(Value::Number(n)) => n.to_string(),
                _ => {
                    return Err(Error::Protocol(
                        "async response without a change id".to_owned(),
                    ));
                }
            };
            Ok(Envelope::Async {
                change,
                result: wire.result,
            })
        }
        other => Err(Error::Protocol(format!("unknown response type {other:?}"))),
    }
}

/// Parses a response that must be `sync`, decoding its result as `T`.
pub(crate) fn expect_sync<T: DeserializeOwned>(resp: &RawResponse) -> Result<T, Error> {
    match parse_envelope(resp)? {
        Envelope::Sync(result) => decode_result(result),
        Envelope::Async { .. } => Err(Error::Protocol(
            "expected a sync response, got async".to_owned(),
        )),
    }
}

/// Parses a response that must be `async`, returning the change id and the result.
pub(crate) fn expect_async(resp: &RawResponse) -> Result<(String, Value), Error> {
    match parse_envelope(resp)? {
        Envelope::Async { change, result } => Ok((change, result)),
        Envelope::Sync(_) => Err(Error::Protocol(
            "expected an async response, got sync".to_owned(),
        )),
    }
}

/// Decodes an envelope's `result` as `T`.
pub(crate) fn decode_result<T: DeserializeOwned>(result: Value) -> Result<T, Error> {
    serde_json::from_value(result)
        .map_err(|e| Error::Protocol(format!("cannot decode response result: {e}")))
}

/// The standard reason phrase of an HTTP status code (what Go's `http.StatusText` returns).
pub(crate) fn reason_phrase(code: u16) -> String {
    reqwest::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_response(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status,
            content_type: Some("application/json".to_owned()),
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    #[test]
    fn sync_envelope() {
        let resp = json_response(
            200,
            r#"{"type":"sync","status-code":200,"status":"OK","result":{"boot-id":"b","version":"v1.32.1"}}"#,
        );
        assert_eq!(
            parse_envelope(&resp).unwrap(),
            Envelope::Sync(json!({"boot-id": "b", "version": "v1.32.1"}))
        );
    }

    #[test]
    fn async_envelope_with_string_change_id() {
        let resp = json_response(
            202,
            r#"{"type":"async","status-code":202,"status":"Accepted","change":"2","result":null}"#,
        );
        assert_eq!(expect_async(&resp).unwrap(), ("2".to_owned(), Value::Null));
    }

    #[test]
    fn async_envelope_with_exec_result() {
        let resp = json_response(
            202,
            r#"{"type":"async","status-code":202,"status":"Accepted","change":"5","result":{"task-id":"9"}}"#,
        );
        let (change, result) = expect_async(&resp).unwrap();
        assert_eq!(change, "5");
        assert_eq!(result["task-id"], "9");
    }

    #[test]
    fn async_without_change_is_a_protocol_error() {
        let resp = json_response(
            202,
            r#"{"type":"async","status-code":202,"status":"Accepted","result":null}"#,
        );
        assert!(matches!(parse_envelope(&resp), Err(Error::Protocol(_))));
    }

    #[test]
    fn error_envelope_with_kind() {
        let resp = json_response(
            404,
            r#"{"type":"error","status-code":404,"status":"Not Found","result":{"message":"stat /x: no such file or directory","kind":"not-found"}}"#,
        );
        let err = parse_envelope(&resp).unwrap_err();
        match &err {
            Error::Api {
                code,
                status,
                message,
                kind,
            } => {
                assert_eq!(*code, 404);
                assert_eq!(status, "Not Found");
                assert_eq!(message, "stat /x: no such file or directory");
                assert_eq!(kind.as_deref(), Some("not-found"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.is_not_found());
    }

    #[test]
    fn error_envelope_without_kind() {
        let resp = json_response(
            400,
            r#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"invalid action \"x\""}}"#,
        );
        let err = parse_envelope(&resp).unwrap_err();
        assert_eq!(err.status_code(), Some(400));
        assert_eq!(err.kind(), None);
        assert_eq!(
            err.to_string(),
            "pebble returned 400 Bad Request: invalid action \"x\""
        );
    }

    #[test]
    fn wrong_content_type_is_a_protocol_error() {
        let resp = RawResponse {
            status: 200,
            content_type: Some("text/plain".to_owned()),
            body: Bytes::from_static(b"hello"),
        };
        assert!(matches!(parse_envelope(&resp), Err(Error::Protocol(_))));
    }

    #[test]
    fn non_json_http_error_keeps_code_and_text() {
        let resp = RawResponse {
            status: 502,
            content_type: Some("text/plain; charset=utf-8".to_owned()),
            body: Bytes::from_static(b"bad gateway\n"),
        };
        let err = parse_envelope(&resp).unwrap_err();
        assert_eq!(err.status_code(), Some(502));
        assert_eq!(
            err.to_string(),
            "pebble returned 502 Bad Gateway: bad gateway"
        );
    }

    #[test]
    fn bad_json_is_a_protocol_error() {
        let resp = json_response(200, "{not json");
        assert!(matches!(parse_envelope(&resp), Err(Error::Protocol(_))));
    }

    #[test]
    fn content_type_matching_ignores_parameters_and_case() {
        assert!(content_type_is(
            Some("Application/JSON; charset=utf-8"),
            "application/json"
        ));
        assert!(!content_type_is(
            Some("application/jsonx"),
            "application/json"
        ));
        assert!(!content_type_is(None, "application/json"));
    }
}
