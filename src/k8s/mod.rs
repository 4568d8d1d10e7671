//! The few Kubernetes API calls the charm makes, through one client (DESIGN §7, reference §4.5):
//! the Services `<app>-primary` and `<app>-replicas`, the Patroni labels on the pods, the
//! StatefulSet partition during a refresh, clean-up of Patroni's stale Endpoints/Services, and the
//! node's resources for memory tuning.
//!
//! - [`Request`] builds each call as a plain value (method, path, query, content type, JSON body)
//!   with no I/O, so tests check the exact request without a server.
//! - [`KubeClient`] is the only code that talks to the API server: [`KubeClient::in_cluster`]
//!   finds it from the pod's environment and service-account files and returns `None` outside
//!   Kubernetes, where the caller logs [`NOT_IN_KUBERNETES`] once and skips its calls.
//! - [`Error`] maps the API's answers: 403 → [`Error::Forbidden`] (show
//!   [`insufficient_permissions_message`] as the blocked status), 404 → [`Error::NotFound`],
//!   anything else → [`Error::Other`] with the `message` of the Kubernetes `Status` object.
//! - [`parse_cpu_cores`], [`parse_memory_bytes`] and [`available_resources`] turn Kubernetes
//!   quantities into numbers.
//!
//! ```no_run
//! # async fn example(env: std::collections::HashMap<String, String>) -> Result<(), postgresql_k8s::k8s::Error> {
//! use postgresql_k8s::k8s::{KubeClient, NOT_IN_KUBERNETES};
//!
//! match KubeClient::in_cluster(&env, std::path::Path::new("/"))? {
//!     Some(kube) => kube.apply_services("postgresql-k8s").await?,
//!     None => tracing::info!("{NOT_IN_KUBERNETES}"),
//! }
//! # Ok(())
//! # }
//! ```

mod client;
mod objects;
mod quantity;
mod request;

#[cfg(test)]
mod tests;

pub use client::KubeClient;
pub use objects::{
    Container, KubeObject, Node, NodeStatus, ObjectMeta, OwnerReference, Pod, PodSpec,
    ResourceRequirements,
};
pub use quantity::{Resources, available_resources, parse_cpu_cores, parse_memory_bytes};
pub use request::{ObjectKind, PatchKind, Request, ServiceRole};

/// The line the caller logs (once per hook) when [`KubeClient::in_cluster`] returns `None`.
pub const NOT_IN_KUBERNETES: &str =
    "not running in Kubernetes (no KUBERNETES_SERVICE_HOST): skipping Kubernetes API calls";

/// The blocked status the reference charm shows when the Kubernetes API answers 403 (the
/// application was deployed without `--trust`), e.g.
/// ``Insufficient permissions, try: `juju trust postgresql-k8s --scope=cluster` ``.
pub fn insufficient_permissions_message(app: &str) -> String {
    format!("Insufficient permissions, try: `juju trust {app} --scope=cluster`")
}

/// What can go wrong talking to the Kubernetes API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The pod's in-cluster configuration (service host/port, token, CA, namespace) is missing
    /// or unreadable although `KUBERNETES_SERVICE_HOST` is set, or a test URL is not allowed.
    #[error("invalid in-cluster Kubernetes configuration: {0}")]
    Config(String),
    /// The HTTP client could not be built (no rustls crypto provider installed, bad CA).
    #[error("cannot set up the Kubernetes API client: {0}")]
    Setup(String),
    /// HTTP 403: the charm's service account may not do this. The caller sets the blocked status
    /// [`insufficient_permissions_message`].
    #[error("{request}: forbidden: {message}")]
    Forbidden {
        /// `METHOD /path` of the refused request.
        request: String,
        /// The Kubernetes `Status` message.
        message: String,
    },
    /// HTTP 404: the object (or its namespace) does not exist.
    #[error("{request}: not found: {message}")]
    NotFound {
        /// `METHOD /path` of the request.
        request: String,
        /// The Kubernetes `Status` message.
        message: String,
    },
    /// Any other non-success HTTP status (409 conflict, 422 invalid, 5xx, ...).
    #[error("{request}: HTTP {status}: {message}")]
    Other {
        /// `METHOD /path` of the request.
        request: String,
        /// The HTTP status code.
        status: u16,
        /// The Kubernetes `Status` message, or the start of the body when it is not one.
        message: String,
    },
    /// The request did not get an HTTP answer (connection refused, TLS failure, timeout).
    #[error("{request}: cannot reach the Kubernetes API: {reason}")]
    Transport {
        /// `METHOD /path` of the request.
        request: String,
        /// What failed, with its causes.
        reason: String,
    },
    /// A success answer whose body is not the object expected.
    #[error("{request}: unexpected answer: {reason}")]
    Decode {
        /// `METHOD /path` of the request.
        request: String,
        /// What did not parse.
        reason: String,
    },
    /// A resource quantity that is not a number with a known suffix, or a node without one.
    #[error("invalid resource quantity {value:?}: {reason}")]
    Quantity {
        /// The quantity as Kubernetes wrote it.
        value: String,
        /// Why it was refused.
        reason: String,
    },
}

impl Error {
    /// True for [`Error::Forbidden`]: the caller should block with
    /// [`insufficient_permissions_message`] rather than retry.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Error::Forbidden { .. })
    }

    /// True for [`Error::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}

/// The result type of this module.
pub type Result<T, E = Error> = std::result::Result<T, E>;
