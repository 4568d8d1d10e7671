//! The [`Client`] handle: where the socket is and how long to wait. Endpoint methods live in the
//! module of their API area (`services.rs`, `files.rs`, ...).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Error;
use crate::envelope::{RawResponse, expect_async, expect_sync};
use crate::transport::{ApiRequest, Transport, WebSocket};

/// Where Juju mounts the workload containers' Pebble sockets inside the charm container.
pub const DEFAULT_SOCKET_DIR: &str = "/charm/containers";

/// Default time one HTTP request may take (ops uses the same 5 s).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Default time to wait for a service change (start, stop, restart, replan) to finish.
pub const DEFAULT_CHANGE_TIMEOUT: Duration = Duration::from_secs(30);

/// An async client for one container's Pebble.
///
/// Cheap to clone (the connection pool is shared). Every request has a short timeout
/// ([`DEFAULT_REQUEST_TIMEOUT`]); operations that take longer (waiting for a change) loop over
/// short requests until their own deadline.
#[derive(Debug, Clone)]
pub struct Client {
    transport: Transport,
    request_timeout: Duration,
    change_timeout: Duration,
}

impl Client {
    /// A client for the workload container `name`, at
    /// `/charm/containers/<name>/pebble.socket` (where Juju mounts it).
    ///
    /// Nothing is dialled until the first request.
    ///
    /// # Requirements
    /// A rustls crypto provider must be installed process-wide first (the binary does it once in
    /// `main`, e.g. `rustls::crypto::ring::default_provider().install_default()`). reqwest needs
    /// one to build any client, even one speaking plain HTTP over a unix socket; without it this
    /// returns [`Error::Setup`] instead of letting reqwest panic. This crate never installs one.
    pub fn for_container(name: &str) -> Result<Client, Error> {
        Client::with_socket_dir(DEFAULT_SOCKET_DIR, name)
    }

    /// A client for container `name` with the socket at `<dir>/<name>/pebble.socket`, for tests
    /// and the lab, which keep their sockets elsewhere. Same requirements as
    /// [`Client::for_container`].
    pub fn with_socket_dir(dir: impl AsRef<Path>, name: &str) -> Result<Client, Error> {
        Client::with_socket_path(dir.as_ref().join(name).join("pebble.socket"))
    }

    /// A client for the Pebble socket at `path` (e.g. a lab Pebble at `$PEBBLE/.pebble.socket`).
    /// Same requirements as [`Client::for_container`].
    pub fn with_socket_path(path: impl Into<PathBuf>) -> Result<Client, Error> {
        Ok(Client {
            transport: Transport::new(path.into())?,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            change_timeout: DEFAULT_CHANGE_TIMEOUT,
        })
    }

    /// Sets how long a single HTTP request may take (default 5 s).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Client {
        self.request_timeout = timeout;
        self
    }

    /// Sets how long service operations wait for their change (default 30 s).
    pub fn with_change_timeout(mut self, timeout: Duration) -> Client {
        self.change_timeout = timeout;
        self
    }

    /// The socket this client talks to.
    pub fn socket_path(&self) -> &Path {
        self.transport.socket()
    }

    /// The per-request timeout.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The deadline used by service operations when waiting for their change.
    pub fn change_timeout(&self) -> Duration {
        self.change_timeout
    }

    /// Sends a request and returns the raw answer.
    pub(crate) async fn send(&self, request: &ApiRequest) -> Result<RawResponse, Error> {
        self.transport.send(request, self.request_timeout).await
    }

    /// Sends a request that must answer `sync`, decoding the result.
    pub(crate) async fn sync<T: DeserializeOwned>(&self, request: &ApiRequest) -> Result<T, Error> {
        expect_sync(&self.send(request).await?)
    }

    /// Sends a request that must answer `async`: returns the change id and the result.
    pub(crate) async fn start_change(
        &self,
        request: &ApiRequest,
    ) -> Result<(String, Value), Error> {
        expect_async(&self.send(request).await?)
    }

    /// Opens a websocket on `path`.
    pub(crate) async fn websocket(&self, path: &str) -> Result<WebSocket, Error> {
        self.transport.websocket(path, self.request_timeout).await
    }
}
