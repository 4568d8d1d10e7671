//! Serving the API: HTTP/1.1 with upgrades (exec websockets) on the unix socket, and the open
//! endpoints on an optional TCP address.

use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, UnixListener};

use super::handle;
use crate::pebble_double::state::Daemon;

/// Serves the unix socket until the task is dropped.
pub async fn serve_unix(daemon: Arc<Daemon>, listener: UnixListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let daemon = daemon.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(daemon.clone(), request, true));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

/// Serves the TCP listener (untrusted: open endpoints only).
pub async fn serve_tcp(daemon: Arc<Daemon>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let daemon = daemon.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(daemon.clone(), request, false));
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
