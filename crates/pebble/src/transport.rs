//! The only code that touches the Pebble socket: one reqwest client bound to the unix socket for
//! plain requests, and websocket dialling for exec.
//!
//! Requests are described by [`ApiRequest`], a plain value built by the endpoint modules, so the
//! bytes and URLs they produce can be tested without a socket.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, Url};
use serde::Serialize;
use tokio::net::UnixStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite;

use crate::Error;
use crate::envelope::{RawResponse, parse_json_envelope, reason_phrase};

/// Host part of every URL. Pebble ignores it; reqwest needs one for the Host header.
const BASE_URL: &str = "http://localhost";

/// A websocket to one of an exec task's streams.
pub(crate) type WebSocket = WebSocketStream<UnixStream>;

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    /// No body.
    Empty,
    /// A JSON document (`Content-Type: application/json`).
    Json(Vec<u8>),
    /// A `multipart/form-data` document with its boundary.
    Multipart { boundary: String, bytes: Vec<u8> },
}

/// One HTTP request to the Pebble API, as a value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiRequest {
    pub method: Method,
    /// Absolute API path, e.g. `/v1/services`.
    pub path: String,
    /// Query parameters, in order (repeated keys allowed).
    pub query: Vec<(&'static str, String)>,
    pub body: Body,
    /// The `Accept` header.
    pub accept: &'static str,
    /// Overrides the client's per-request timeout (used by long-poll waits).
    pub timeout: Option<Duration>,
}

impl ApiRequest {
    /// A GET request with no query.
    pub fn get(path: impl Into<String>) -> ApiRequest {
        ApiRequest {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: Body::Empty,
            accept: "application/json",
            timeout: None,
        }
    }

    /// A POST request with `body` serialised as JSON.
    pub fn post_json<T: Serialize + ?Sized>(
        path: impl Into<String>,
        body: &T,
    ) -> Result<ApiRequest, Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Protocol(format!("cannot encode request body: {e}")))?;
        Ok(ApiRequest {
            method: Method::POST,
            body: Body::Json(bytes),
            ..ApiRequest::get(path)
        })
    }

    /// A POST request with a `multipart/form-data` body.
    pub fn post_multipart(
        path: impl Into<String>,
        boundary: impl Into<String>,
        bytes: Vec<u8>,
    ) -> ApiRequest {
        ApiRequest {
            method: Method::POST,
            body: Body::Multipart {
                boundary: boundary.into(),
                bytes,
            },
            ..ApiRequest::get(path)
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: &'static str, value: impl Into<String>) -> ApiRequest {
        self.query.push((key, value.into()));
        self
    }

    /// The full URL (scheme and host are placeholders; the socket decides where it goes).
    pub fn url(&self) -> Result<Url, Error> {
        let mut url = Url::parse(BASE_URL)
            .and_then(|base| base.join(&self.path))
            .map_err(|e| Error::Protocol(format!("invalid API path {:?}: {e}", self.path)))?;
        if !self.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in &self.query {
                pairs.append_pair(key, value);
            }
        }
        Ok(url)
    }

    /// `METHOD /path`, for logs and timeout messages (no query: it may hold file paths).
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The connection to one Pebble socket.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    socket: PathBuf,
}

impl Transport {
    /// Builds the HTTP client for `socket`. Nothing is dialled yet.
    pub fn new(socket: PathBuf) -> Result<Transport, Error> {
        // reqwest (rustls without a bundled provider) panics while building any client, even one
        // that only speaks plain HTTP over a unix socket, unless a process-wide provider exists.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            return Err(Error::Setup(
                "no rustls crypto provider is installed; install one once at start-up, e.g. \
                 rustls::crypto::ring::default_provider().install_default()"
                    .to_owned(),
            ));
        }
        // Plain HTTP over a unix socket never uses TLS. An empty, explicit root store keeps reqwest
        // from loading the system's CA bundle (about 140 files, several milliseconds) at build.
        let http = reqwest::Client::builder()
            .unix_socket(socket.clone())
            .tls_certs_only(std::iter::empty())
            .build()
            .map_err(|e| Error::Setup(e.to_string()))?;
        Ok(Transport { http, socket })
    }

    /// The socket this transport dials.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends one request and reads the whole answer (in a span naming the method and path).
    #[tracing::instrument(name = "pebble", skip_all, fields(request = %request.describe()))]
    pub async fn send(
        &self,
        request: &ApiRequest,
        default_timeout: Duration,
    ) -> Result<RawResponse, Error> {
        let timeout = request.timeout.unwrap_or(default_timeout);
        let mut builder = self
            .http
            .request(request.method.clone(), request.url()?)
            .timeout(timeout)
            .header(ACCEPT, request.accept);
        builder = match &request.body {
            Body::Empty => builder,
            Body::Json(bytes) => builder
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Body::Multipart { boundary, bytes } => builder
                .header(
                    CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(bytes.clone()),
        };
        let result = async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>(RawResponse {
                status,
                content_type,
                body,
            })
        }
        .await;
        match result {
            Ok(response) => {
                tracing::debug!(
                    request = %request.describe(),
                    status = response.status,
                    "pebble request"
                );
                Ok(response)
            }
            Err(e) if e.is_timeout() => Err(Error::Timeout {
                operation: request.describe(),
                after: timeout,
            }),
            Err(e) if e.is_builder() => Err(Error::Protocol(format!(
                "cannot build request {}: {e}",
                request.describe()
            ))),
            Err(e) => Err(self.connection_error(e)),
        }
    }

    /// Opens a websocket on `path` (e.g. `/v1/tasks/7/websocket/stdio`) over a new connection.
    pub async fn websocket(&self, path: &str, timeout: Duration) -> Result<WebSocket, Error> {
        let url = format!("ws://localhost{path}");
        let dial = async {
            let stream = UnixStream::connect(&self.socket)
                .await
                .map_err(|e| self.connection_error(e))?;
            tokio_tungstenite::client_async(url.as_str(), stream)
                .await
                .map(|(ws, _response)| ws)
                .map_err(|e| self.websocket_error(path, e))
        };
        match tokio::time::timeout(timeout, dial).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                operation: format!("connecting websocket {path}"),
                after: timeout,
            }),
        }
    }

    fn connection_error(
        &self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Connection {
            socket: self.socket.clone(),
            source: source.into(),
        }
    }

    fn websocket_error(&self, path: &str, error: tungstenite::Error) -> Error {
        match error {
            // Pebble refused the upgrade with a normal HTTP answer (e.g. 404 for an unknown task):
            // report its envelope like any other API error.
            tungstenite::Error::Http(response) => {
                let code = response.status().as_u16();
                let body = response.body().as_deref().unwrap_or_default();
                match parse_json_envelope(code, body) {
                    Err(api @ Error::Api { .. }) => api,
                    _ => Error::Api {
                        code,
                        status: reason_phrase(code),
                        message: format!("cannot open websocket {path}"),
                        kind: None,
                    },
                }
            }
            tungstenite::Error::Io(io) => self.connection_error(io),
            other => Error::Protocol(format!("websocket {path}: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encodes_query_in_order() {
        let request = ApiRequest::get("/v1/files")
            .query("action", "read")
            .query("path", "/etc/a b&c")
            .query("path", "/x");
        assert_eq!(
            request.url().unwrap().as_str(),
            "http://localhost/v1/files?action=read&path=%2Fetc%2Fa+b%26c&path=%2Fx"
        );
        assert_eq!(request.describe(), "GET /v1/files");
    }

    #[test]
    fn post_json_sets_the_body() {
        let request =
            ApiRequest::post_json("/v1/signals", &serde_json::json!({"signal": "SIGHUP"})).unwrap();
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.body, Body::Json(br#"{"signal":"SIGHUP"}"#.to_vec()));
        assert_eq!(
            request.url().unwrap().as_str(),
            "http://localhost/v1/signals"
        );
    }
}
