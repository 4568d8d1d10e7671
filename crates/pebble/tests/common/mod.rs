//! A scripted fake Pebble for the client's integration tests: hyper 1 over a unix socket in a
//! temporary directory, answering with Pebble's exact envelopes and status texts.
//!
//! Scripted behaviour: services `pg` (active) and `exporter` (inactive); starting a service in
//! `State::failing` makes its change fail; `State::wait_504` makes the next N waits on a change
//! answer 504 first; files live in memory; exec runs the commands scripted in `exec.rs`.

#![allow(dead_code)]

mod exec;
mod files;
mod services;

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::UnixListener;

pub use files::StoredFile;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: Vec<u8>,
}

/// Everything the fake knows and records.
#[derive(Debug, Default)]
pub struct State {
    pub requests: Vec<Recorded>,
    /// Plan text served as is by `GET /v1/plan`; when `None` the plan is combined from `layers`.
    pub plan_yaml: Option<String>,
    pub layers: Vec<(String, pebble::Layer)>,
    pub changes: BTreeMap<String, Value>,
    /// How many 504 answers the next wait on each change gets first.
    pub wait_504: BTreeMap<String, u32>,
    /// Applied to the next change created.
    pub next_wait_504: u32,
    pub next_id: u64,
    /// Services whose start fails.
    pub failing: BTreeSet<String>,
    pub files: BTreeMap<String, StoredFile>,
    pub dirs: BTreeMap<String, Value>,
    pub removed: Vec<Value>,
    pub exec_requests: Vec<Value>,
    pub exec_tasks: BTreeMap<String, exec::Task>,
    pub signals: Vec<Value>,
    /// `GET /v1/system-info` never answers.
    pub hang: bool,
    /// Answer 404 on `/v1/changes/{id}/wait`, like very old Pebble.
    pub no_wait_endpoint: bool,
    /// Answer `POST /v1/checks` like very old Pebble (`"changed": null`).
    pub old_checks: bool,
    pub notices: Vec<Value>,
}

impl State {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// Records a finished change and returns its id.
    pub fn add_change(
        &mut self,
        kind: &str,
        summary: &str,
        err: Option<&str>,
        log: &[&str],
    ) -> String {
        let id = self.new_id();
        let task_id = self.new_id();
        let status = if err.is_some() { "Error" } else { "Done" };
        let mut change = json!({
            "id": id, "kind": kind, "summary": summary, "status": status, "ready": true,
            "spawn-time": "2025-01-07T10:11:12.123456789+00:00",
            "ready-time": "2025-01-07T10:11:13.123456789+00:00",
            "tasks": [{"id": task_id, "kind": kind, "summary": summary, "status": status,
                       "progress": {"label": "", "done": 1, "total": 1},
                       "spawn-time": "2025-01-07T10:11:12Z", "ready-time": "2025-01-07T10:11:13Z"}],
        });
        if let Some(err) = err {
            change["err"] = json!(err);
        }
        if !log.is_empty() {
            change["tasks"][0]["log"] = json!(log);
        }
        self.changes.insert(id.clone(), change);
        if self.next_wait_504 > 0 {
            self.wait_504
                .insert(id.clone(), std::mem::take(&mut self.next_wait_504));
        }
        id
    }

    /// Requests whose path starts with `prefix`.
    pub fn requests_to(&self, prefix: &str) -> Vec<Recorded> {
        self.requests
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .cloned()
            .collect()
    }
}

pub type Shared = Arc<Mutex<State>>;

/// A running fake Pebble.
pub struct FakePebble {
    pub socket: PathBuf,
    pub state: Shared,
    _dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakePebble {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakePebble {
    /// Starts the server on `<tempdir>/pebble.socket`.
    pub fn start() -> FakePebble {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("pebble.socket");
        let listener = UnixListener::bind(&socket).unwrap();
        let state: Shared = Arc::default();
        files::seed(&mut state.lock().unwrap());
        let shared = state.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        FakePebble {
            socket,
            state,
            _dir: dir,
            server,
        }
    }

    /// A client for this server with short timeouts.
    pub fn client(&self) -> pebble::Client {
        pebble::Client::with_socket_path(&self.socket)
            .unwrap()
            .with_request_timeout(Duration::from_secs(5))
            .with_change_timeout(Duration::from_secs(10))
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }
}

pub type Reply = Response<Full<Bytes>>;

fn status_text(code: u16) -> &'static str {
    StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

pub fn reply(code: u16, content_type: &str, body: Vec<u8>) -> Reply {
    Response::builder()
        .status(code)
        .header("Content-Type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn envelope(code: u16, kind: &str, result: Value, change: Option<&str>) -> Reply {
    let mut body =
        json!({"type": kind, "status-code": code, "status": status_text(code), "result": result});
    if let Some(change) = change {
        body["change"] = json!(change);
    }
    reply(code, "application/json", serde_json::to_vec(&body).unwrap())
}

pub fn sync(result: Value) -> Reply {
    envelope(200, "sync", result, None)
}

pub fn accepted(change: &str, result: Value) -> Reply {
    envelope(202, "async", result, Some(change))
}

pub fn error(code: u16, message: &str, kind: Option<&str>) -> Reply {
    let mut result = json!({"message": message});
    if let Some(kind) = kind {
        result["kind"] = json!(kind);
    }
    envelope(code, "error", result, None)
}

/// Query parameters, in order.
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    url_pairs(query)
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

pub fn param(query: &[(String, String)], key: &str) -> Option<String> {
    query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

async fn handle(state: Shared, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    if path.contains("/websocket/") {
        state.lock().unwrap().requests.push(Recorded {
            method,
            path: path.clone(),
            query,
            body: Vec::new(),
        });
        return Ok(exec::upgrade(state, req, &path));
    }
    let headers = req.headers().clone();
    let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
    state.lock().unwrap().requests.push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
    });
    let query = url_pairs(&query);
    let json_body = || serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    let reply = match (method.as_str(), path.as_str()) {
        ("GET", "/v1/system-info") => {
            if state.lock().unwrap().hang {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            sync(json!({"boot-id": "0c1f0b3e-1111-2222-3333-444455556666", "version": "v1.32.1"}))
        }
        ("POST", "/v1/layers") => services::add_layer(&state, &json_body()),
        ("GET", "/v1/plan") => services::get_plan(&state, &query),
        ("GET", "/v1/services") => services::list(&query),
        ("POST", "/v1/services") => services::post(&state, &json_body()),
        ("POST", "/v1/signals") => services::signals(&state, &json_body()),
        ("GET", "/v1/checks") => sync(json!([
            {"name": "pg-ready", "level": "ready", "startup": "enabled", "status": "up", "successes": 12,
             "threshold": 3, "change-id": "5"},
            {"name": "legacy", "status": "down", "failures": 4, "threshold": 3}
        ])),
        ("POST", "/v1/checks") => {
            let body = json_body();
            if state.lock().unwrap().old_checks {
                sync(json!({"changed": null}))
            } else {
                sync(json!({"changed": body["checks"]}))
            }
        }
        ("POST", "/v1/notices") => {
            let mut s = state.lock().unwrap();
            s.notices.push(json_body());
            let id = s.new_id();
            sync(json!({"id": id}))
        }
        ("GET", "/v1/notices") => sync(json!([{
            "id": "1", "user-id": null, "type": "custom", "key": "example.com/ready",
            "first-occurred": "2025-01-07T10:00:00Z", "last-occurred": "2025-01-07T10:00:00Z",
            "last-repeated": "2025-01-07T10:00:00Z", "occurrences": 2, "last-data": {"k": "v"}
        }])),
        ("GET", "/v1/files") => files::get(&state, &headers, &query),
        ("POST", "/v1/files") => files::post(&state, &headers, &body),
        ("POST", "/v1/exec") => exec::start(&state, &json_body()),
        ("GET", p) if p.starts_with("/v1/changes/") => services::changes(&state, p, &query).await,
        _ => error(404, "invalid API endpoint requested", None),
    };
    Ok(reply)
}
