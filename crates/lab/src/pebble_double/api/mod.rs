//! The HTTP API: routing by path and method (404 `invalid API endpoint requested`, 405
//! `method "X" not allowed`), access (the unix socket is always admin; `--http` serves open
//! endpoints only) and the endpoint handlers, one module per area.

mod changes;
mod checks;
mod exec;
mod files;
mod logs;
mod notices;
mod plan;
pub mod request;
pub mod response;
mod server;
mod services;
mod system;

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request};

use super::state::Daemon;
use request::Query;
use response::{ApiError, Reply};
pub use server::{serve_tcp, serve_unix};

/// The endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    SystemInfo,
    Health,
    Warnings,
    Changes,
    Change(String),
    ChangeWait(String),
    Services,
    Service,
    Plan,
    Layers,
    Files,
    Logs,
    Exec,
    TaskWebsocket(String, String),
    Signals,
    Checks,
    ChecksRefresh,
    Notices,
    Notice(String),
    Identities,
}

fn route(path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    Some(match segments.as_slice() {
        ["v1", "system-info"] => Route::SystemInfo,
        ["v1", "health"] => Route::Health,
        ["v1", "warnings"] => Route::Warnings,
        ["v1", "changes"] => Route::Changes,
        ["v1", "changes", id] => Route::Change((*id).to_owned()),
        ["v1", "changes", id, "wait"] => Route::ChangeWait((*id).to_owned()),
        ["v1", "services"] => Route::Services,
        ["v1", "services", _] => Route::Service,
        ["v1", "plan"] => Route::Plan,
        ["v1", "layers"] => Route::Layers,
        ["v1", "files"] => Route::Files,
        ["v1", "logs"] => Route::Logs,
        ["v1", "exec"] => Route::Exec,
        ["v1", "tasks", task, "websocket", ws] => {
            Route::TaskWebsocket((*task).to_owned(), (*ws).to_owned())
        }
        ["v1", "signals"] => Route::Signals,
        ["v1", "checks"] => Route::Checks,
        ["v1", "checks", "refresh"] => Route::ChecksRefresh,
        ["v1", "notices"] => Route::Notices,
        ["v1", "notices", id] => Route::Notice((*id).to_owned()),
        ["v1", "identities"] => Route::Identities,
        _ => return None,
    })
}

fn allowed(route: &Route) -> &'static [Method] {
    const GET: &[Method] = &[Method::GET];
    const POST: &[Method] = &[Method::POST];
    const BOTH: &[Method] = &[Method::GET, Method::POST];
    match route {
        Route::SystemInfo
        | Route::Health
        | Route::Changes
        | Route::ChangeWait(_)
        | Route::Plan
        | Route::Logs
        | Route::TaskWebsocket(..)
        | Route::Notice(_) => GET,
        Route::Layers | Route::Exec | Route::Signals | Route::ChecksRefresh => POST,
        Route::Warnings
        | Route::Change(_)
        | Route::Services
        | Route::Service
        | Route::Files
        | Route::Checks
        | Route::Notices
        | Route::Identities => BOTH,
    }
}

/// Endpoints anyone may use (the only ones served over `--http`).
fn open(route: &Route) -> bool {
    matches!(route, Route::SystemInfo | Route::Health)
}

/// Answers one request. `trusted` is false for the TCP listener.
pub async fn handle(
    daemon: Arc<Daemon>,
    request: Request<Incoming>,
    trusted: bool,
) -> Result<Reply, Infallible> {
    let Some(route) = route(request.uri().path()) else {
        return Ok(ApiError::not_found("invalid API endpoint requested").reply());
    };
    if !allowed(&route).contains(request.method()) {
        let method = request.method().as_str().to_owned();
        return Ok(ApiError::new(405, format!("method {method:?} not allowed")).reply());
    }
    if !trusted && !open(&route) {
        return Ok(ApiError::new(401, "access denied")
            .with_kind("login-required")
            .reply());
    }
    let query = Query::parse(request.uri().query());
    let post = request.method() == Method::POST;
    let result = match route {
        Route::SystemInfo => Ok(system::info(&daemon)),
        Route::Health => system::health(&daemon, &query),
        Route::Warnings if post => Ok(response::sync(serde_json::json!(0))),
        Route::Warnings => Ok(response::sync(serde_json::json!([]))),
        Route::Identities if post => Err(ApiError::bad_request("identities are not supported")),
        Route::Identities => Ok(response::sync(serde_json::json!({}))),
        Route::Changes => changes::list(&daemon, &query),
        Route::Change(id) if post => changes::abort(&daemon, &id, request).await,
        Route::Change(id) => changes::get(&daemon, &id),
        Route::ChangeWait(id) => changes::wait(&daemon, &id, &query).await,
        Route::Services if post => services::post(&daemon, request).await,
        Route::Services => Ok(services::list(&daemon, &query)),
        Route::Service => Err(ApiError::bad_request("not implemented")),
        Route::Plan => plan::get(&daemon, &query),
        Route::Layers => plan::add_layer(&daemon, request).await,
        Route::Files if post => files::post(request).await,
        Route::Files => files::get(&query, &request),
        Route::Logs => logs::get(&daemon, &query),
        Route::Exec => exec::post(&daemon, request).await,
        Route::TaskWebsocket(task, ws) => exec::websocket(&daemon, &task, &ws, request),
        Route::Signals => services::signal(&daemon, request).await,
        Route::Checks if post => checks::post(&daemon, request).await,
        Route::Checks => checks::list(&daemon, &query),
        Route::ChecksRefresh => checks::refresh(&daemon, request).await,
        Route::Notices if post => notices::post(&daemon, request).await,
        Route::Notices => notices::list(&daemon, &query).await,
        Route::Notice(id) => notices::get(&daemon, &id),
    };
    Ok(result.unwrap_or_else(|error| error.reply()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route("/v1/changes/7/wait"),
            Some(Route::ChangeWait("7".into()))
        );
        assert_eq!(
            route("/v1/tasks/3/websocket/stdio"),
            Some(Route::TaskWebsocket("3".into(), "stdio".into()))
        );
        assert_eq!(route("/v1/nope"), None);
        assert_eq!(route("/v2/services"), None);
        assert!(!allowed(&Route::Layers).contains(&Method::GET));
    }
}
