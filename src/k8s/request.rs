//! Every Kubernetes API request the charm makes, built as a plain value with no I/O (kube-core
//! style): tests check method, path, query, content type and body without a server, and
//! [`KubeClient::send`](super::KubeClient::send) is the one function that sends them.

use std::fmt::Write as _;

use reqwest::Method;
use serde_json::{Value, json};

use super::OwnerReference;

/// The port of Patroni's REST API, exposed as `api` on the charm's Services.
const PATRONI_API_PORT: u16 = 8008;
/// PostgreSQL's port, exposed as `database` on the charm's Services.
const POSTGRESQL_PORT: u16 = 5432;

/// How a `PATCH` body is to be merged, which sets its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// Server-side apply (`application/apply-patch+yaml`; a JSON body is valid YAML): the
    /// field manager owns the fields it sends and the object is created if missing.
    Apply,
    /// JSON merge patch (`application/merge-patch+json`, RFC 7386): maps are merged, lists and
    /// scalars replaced.
    Merge,
}

impl PatchKind {
    /// The `Content-Type` header for this kind of patch.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchKind::Apply => "application/apply-patch+yaml",
            PatchKind::Merge => "application/merge-patch+json",
        }
    }
}

/// The namespaced object kinds the charm reads, deletes or re-owns by name: Patroni's DCS
/// objects `patroni-<app>`, `patroni-<app>-config`, `patroni-<app>-sync` and the charm's Services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// `v1` Endpoints (Patroni's leader lock and config live in their annotations).
    Endpoints,
    /// `v1` Service.
    Service,
}

impl ObjectKind {
    /// The resource name in API paths (`endpoints`, `services`).
    pub fn plural(self) -> &'static str {
        match self {
            ObjectKind::Endpoints => "endpoints",
            ObjectKind::Service => "services",
        }
    }
}

/// Which of the charm's two client Services: Patroni labels each pod `role: primary` or
/// `role: replica`, and each Service selects one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceRole {
    /// `<app>-primary`, selecting `role: primary` (the read-write endpoint).
    Primary,
    /// `<app>-replicas`, selecting `role: replica` (the read-only endpoint).
    Replica,
}

impl ServiceRole {
    /// Both roles, in the order the charm applies them.
    pub const ALL: [ServiceRole; 2] = [ServiceRole::Primary, ServiceRole::Replica];

    /// The Service's name: `<app>-primary` or `<app>-replicas`.
    pub fn service_name(self, app: &str) -> String {
        match self {
            ServiceRole::Primary => format!("{app}-primary"),
            ServiceRole::Replica => format!("{app}-replicas"),
        }
    }

    /// The value of the `role` pod label Patroni sets and the Service selects.
    pub fn label(self) -> &'static str {
        match self {
            ServiceRole::Primary => "primary",
            ServiceRole::Replica => "replica",
        }
    }
}

/// Patroni's cluster name (its `scope`) for `app`, the value of the `cluster-name` label.
pub(super) fn cluster_name(app: &str) -> String {
    format!("patroni-{app}")
}

/// One request to the Kubernetes API, as a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The HTTP method.
    pub method: Method,
    /// The absolute path, each name percent-encoded, e.g. `/api/v1/namespaces/ns/pods/pg-0`.
    pub path: String,
    /// Query parameters, in order.
    pub query: Vec<(&'static str, String)>,
    /// The `Content-Type` of the body; `None` when there is no body.
    pub content_type: Option<&'static str>,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

impl Request {
    fn new(method: Method, path: String) -> Request {
        Request {
            method,
            path,
            query: Vec::new(),
            content_type: None,
            body: None,
        }
    }

    fn patch(path: String, kind: PatchKind, body: Value) -> Request {
        Request {
            content_type: Some(kind.content_type()),
            body: Some(body),
            ..Request::new(Method::PATCH, path)
        }
    }

    /// `GET` the pod `name`: its ownerReferences (copied onto the Services), its node and its
    /// containers' resource limits.
    pub fn get_pod(namespace: &str, name: &str) -> Request {
        Request::new(Method::GET, namespaced(namespace, "pods", name))
    }

    /// `GET` the node `name` (cluster-scoped), for its allocatable CPU and memory.
    pub fn get_node(name: &str) -> Request {
        Request::new(Method::GET, format!("/api/v1/nodes/{}", segment(name)))
    }

    /// `GET` the Endpoints or Service `name`.
    pub fn get(namespace: &str, kind: ObjectKind, name: &str) -> Request {
        Request::new(Method::GET, namespaced(namespace, kind.plural(), name))
    }

    /// `DELETE` the Endpoints or Service `name`.
    pub fn delete(namespace: &str, kind: ObjectKind, name: &str) -> Request {
        Request::new(Method::DELETE, namespaced(namespace, kind.plural(), name))
    }

    /// `GET` the list of Endpoints or Services matching `label_selector` (e.g.
    /// `application=patroni,cluster-name=patroni-pg`).
    pub fn list(namespace: &str, kind: ObjectKind, label_selector: &str) -> Request {
        let path = format!(
            "/api/v1/namespaces/{}/{}",
            segment(namespace),
            kind.plural()
        );
        let mut request = Request::new(Method::GET, path);
        request
            .query
            .push(("labelSelector", label_selector.to_owned()));
        request
    }

    /// Server-side apply of the Service `<app>-primary` or `<app>-replicas` (reference §4.5):
    /// field manager `<app>`, `force=true` so the charm takes over fields another manager set
    /// (e.g. the Python charm before a refresh).
    pub fn apply_service(
        namespace: &str,
        app: &str,
        role: ServiceRole,
        owner_references: &[OwnerReference],
    ) -> Request {
        let name = role.service_name(app);
        let body = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {"app.kubernetes.io/name": app},
                "ownerReferences": owner_references,
            },
            "spec": {
                "type": "ClusterIP",
                "selector": {
                    "app.kubernetes.io/name": app,
                    "cluster-name": cluster_name(app),
                    "role": role.label(),
                },
                "ports": [
                    {"name": "api", "port": PATRONI_API_PORT, "targetPort": PATRONI_API_PORT, "protocol": "TCP"},
                    {"name": "database", "port": POSTGRESQL_PORT, "targetPort": POSTGRESQL_PORT, "protocol": "TCP"},
                ],
            },
        });
        let mut request = Request::patch(
            namespaced(namespace, "services", &name),
            PatchKind::Apply,
            body,
        );
        request.query.push(("fieldManager", app.to_owned()));
        request.query.push(("force", "true".to_owned()));
        request
    }

    /// Adds the labels Patroni's Kubernetes DCS and the Services select on to the pod `pod`:
    /// `application: patroni` and `cluster-name: patroni-<app>` (Patroni adds `role` itself).
    pub fn patch_pod_labels(namespace: &str, pod: &str, app: &str) -> Request {
        let body = json!({
            "metadata": {"labels": {"application": "patroni", "cluster-name": cluster_name(app)}}
        });
        Request::patch(namespaced(namespace, "pods", pod), PatchKind::Merge, body)
    }

    /// Sets the StatefulSet `<app>`'s rolling-update partition (reference §11): pods with an
    /// ordinal at or above `partition` are moved to the new revision.
    pub fn patch_partition(namespace: &str, app: &str, partition: u32) -> Request {
        let path = format!(
            "/apis/apps/v1/namespaces/{}/statefulsets/{}",
            segment(namespace),
            segment(app)
        );
        let body = json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": partition}}}});
        Request::patch(path, PatchKind::Merge, body)
    }

    /// Sets one annotation on an Endpoints or Service, e.g. `leader: <pod>` on Endpoints
    /// `patroni-<app>` when Patroni's leader lock lost it (reference §4.5).
    pub fn patch_annotation(
        namespace: &str,
        kind: ObjectKind,
        name: &str,
        key: &str,
        value: &str,
    ) -> Request {
        let body = json!({"metadata": {"annotations": {key: value}}});
        Request::patch(
            namespaced(namespace, kind.plural(), name),
            PatchKind::Merge,
            body,
        )
    }

    /// Replaces the ownerReferences of an Endpoints or Service, so Patroni's leftovers are
    /// garbage-collected with the StatefulSet (the reference re-owns them to pod `<app>-0`'s
    /// owners on `stop`).
    pub fn patch_owner_references(
        namespace: &str,
        kind: ObjectKind,
        name: &str,
        owner_references: &[OwnerReference],
    ) -> Request {
        let body = json!({"metadata": {"ownerReferences": owner_references}});
        Request::patch(
            namespaced(namespace, kind.plural(), name),
            PatchKind::Merge,
            body,
        )
    }

    /// `METHOD /path`, for logs and error messages (no query, no body).
    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// `/api/v1/namespaces/<ns>/<plural>/<name>` with both names percent-encoded.
fn namespaced(namespace: &str, plural: &str, name: &str) -> String {
    format!(
        "/api/v1/namespaces/{}/{plural}/{}",
        segment(namespace),
        segment(name)
    )
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so a name can never change
/// the path (Kubernetes names are DNS labels, so in practice nothing changes).
pub(super) fn segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}
