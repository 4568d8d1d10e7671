//! `POST /v1/exec` and the task websockets (`GET /v1/tasks/{id}/websocket/{ws}`), upgraded on
//! the same connection.

use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::request;
use super::response::{self, ApiError, ApiResult};
use crate::pebble_double::exec::{self, ConnectError, ExecPayload};
use crate::pebble_double::state::Daemon;

/// Starts a command.
pub async fn post(daemon: &Arc<Daemon>, request: Request<Incoming>) -> ApiResult {
    let payload: ExecPayload = request::json(request, "cannot decode request body").await?;
    match exec::start(daemon, payload) {
        Ok((change, result)) => Ok(response::accepted(&change, result)),
        Err(e) => Err(ApiError::new(e.status, e.message)),
    }
}

fn header<'a>(request: &'a Request<Incoming>, name: &str) -> &'a str {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// Connects one of an exec task's websockets.
pub fn websocket(
    daemon: &Arc<Daemon>,
    task: &str,
    id: &str,
    mut request: Request<Incoming>,
) -> ApiResult {
    let Some(kind) = daemon.changes.task_kind(task) else {
        return Err(ApiError::not_found(format!("cannot find task {task:?}")));
    };
    if kind != "exec" {
        return Err(ApiError::bad_request(format!(
            "{kind:?} tasks do not have websockets"
        )));
    }
    let not_found = || ApiError::not_found(format!("cannot find {id} websocket for task {task:?}"));
    let execution = daemon.execs.get(task).ok_or_else(not_found)?;
    let key = header(&request, "sec-websocket-key").to_owned();
    let upgrade = header(&request, "upgrade").eq_ignore_ascii_case("websocket");
    if key.is_empty() || !upgrade {
        return Err(ApiError::bad_request(
            "websocket: the client is not using the websocket protocol",
        ));
    }
    let slot = execution.reserve(id).map_err(|e| match e {
        ConnectError::NotFound => not_found(),
        ConnectError::AlreadyConnected => {
            ApiError::internal(format!("websocket {id:?} already connected"))
        }
    })?;
    let upgraded = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match upgraded.await {
            Ok(io) => {
                let socket =
                    WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, None).await;
                execution.attach(slot, Some(socket));
            }
            Err(_) => execution.attach(slot, None),
        }
    });
    let mut reply = Response::new(Empty::new().map_err(|never| match never {}).boxed_unsync());
    *reply.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = reply.headers_mut();
    headers.insert(
        hyper::header::UPGRADE,
        hyper::header::HeaderValue::from_static("websocket"),
    );
    headers.insert(
        hyper::header::CONNECTION,
        hyper::header::HeaderValue::from_static("Upgrade"),
    );
    if let Ok(accept) = derive_accept_key(key.as_bytes()).parse() {
        headers.insert(hyper::header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    Ok(reply)
}
