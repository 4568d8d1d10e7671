//! The only code that talks to the Kubernetes API server: one reqwest client with the service
//! account's CA as its only root and its token as bearer, sending [`Request`] values.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use juju::Secret;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Certificate, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::objects::ObjectList;
use super::{
    Error, KubeObject, Node, ObjectKind, OwnerReference, Pod, Request, Resources, Result,
    ServiceRole, available_resources,
};

/// Where Kubernetes mounts the pod's service-account token, CA and namespace, under the root.
const SERVICE_ACCOUNT_DIR: &str = "var/run/secrets/kubernetes.io/serviceaccount";
/// The longest a request may take; a hook must not hang on an unreachable API server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest the TCP and TLS connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a non-`Status` error body goes into an error message.
const MAX_ERROR_BODY: usize = 300;

/// A client for the Kubernetes API of the cluster the charm runs in, scoped to its namespace.
///
/// Nothing is dialled until the first request. The token is redacted in `Debug`.
#[derive(Debug, Clone)]
pub struct KubeClient {
    http: reqwest::Client,
    base: Url,
    token: Option<Secret>,
    namespace: String,
}

impl KubeClient {
    /// The in-cluster client, configured as every pod is: `KUBERNETES_SERVICE_HOST` and
    /// `KUBERNETES_SERVICE_PORT` (default 443) from `env` (the environment `main` read once), and
    /// the service account's `token`, `ca.crt` and `namespace` under
    /// `<fs_root>/var/run/secrets/kubernetes.io/serviceaccount/` (`fs_root` is `/` in
    /// production). HTTPS only, trusting that CA alone.
    ///
    /// Returns `Ok(None)` when `KUBERNETES_SERVICE_HOST` is absent or empty: not running in
    /// Kubernetes (the lab); the caller logs [`NOT_IN_KUBERNETES`](super::NOT_IN_KUBERNETES).
    ///
    /// # Errors
    /// [`Error::Config`] when the host is set but the port or a service-account file is missing
    /// or invalid; [`Error::Setup`] when no rustls crypto provider is installed process-wide
    /// (`main` installs one).
    pub fn in_cluster(env: &HashMap<String, String>, fs_root: &Path) -> Result<Option<KubeClient>> {
        let Some(host) = env
            .get("KUBERNETES_SERVICE_HOST")
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
        else {
            return Ok(None);
        };
        let port = env
            .get("KUBERNETES_SERVICE_PORT")
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .unwrap_or("443");
        let port: u16 = port.parse().map_err(|_| {
            Error::Config(format!(
                "KUBERNETES_SERVICE_PORT {port:?} is not a port number"
            ))
        })?;
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let base = Url::parse(&format!("https://{host}:{port}")).map_err(|e| {
            Error::Config(format!(
                "KUBERNETES_SERVICE_HOST {host:?} is not a host: {e}"
            ))
        })?;

        let dir = fs_root.join(SERVICE_ACCOUNT_DIR);
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path)
                .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
        };
        let text = |name: &str| -> Result<String> {
            let bytes = read(name)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| Error::Config(format!("{}/{name} is not UTF-8", dir.display())))?;
            let trimmed = text.trim();
            if trimmed.is_empty() {
                return Err(Error::Config(format!("{}/{name} is empty", dir.display())));
            }
            Ok(trimmed.to_owned())
        };
        let token = Secret::new(text("token")?);
        let namespace = text("namespace")?;
        let roots = parse_ca(&read("ca.crt")?)
            .map_err(|e| Error::Config(format!("{}/ca.crt: {e}", dir.display())))?;
        KubeClient::build(base, namespace, Some(token), roots).map(Some)
    }

    /// A client for the API server at `base_url` (`scheme://host:port`), for tests and local
    /// tools. `https` URLs trust `ca_pem` alone (no roots at all without it); plain `http` is
    /// accepted only for a loopback host (a fake server in a test), so a token never crosses a
    /// network unencrypted.
    ///
    /// # Errors
    /// [`Error::Config`] for an unparsable URL, another scheme, `http` to a non-loopback host or
    /// an invalid CA; [`Error::Setup`] as for [`KubeClient::in_cluster`].
    pub fn with_base_url(
        base_url: &str,
        namespace: &str,
        token: Option<Secret>,
        ca_pem: Option<&[u8]>,
    ) -> Result<KubeClient> {
        let base = Url::parse(base_url)
            .map_err(|e| Error::Config(format!("invalid API URL {base_url:?}: {e}")))?;
        match base.scheme() {
            "https" => {}
            "http" if is_loopback(&base) => {}
            "http" => {
                return Err(Error::Config(format!(
                    "plain http is allowed only to a loopback address, not {base_url:?}"
                )));
            }
            other => return Err(Error::Config(format!("unsupported URL scheme {other:?}"))),
        }
        let roots = match ca_pem {
            Some(pem) => parse_ca(pem).map_err(Error::Config)?,
            None => Vec::new(),
        };
        KubeClient::build(base, namespace.to_owned(), token, roots)
    }

    fn build(
        base: Url,
        namespace: String,
        token: Option<Secret>,
        roots: Vec<Certificate>,
    ) -> Result<KubeClient> {
        // reqwest (rustls without a bundled provider) panics building a client without one.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            return Err(Error::Setup(
                "no rustls crypto provider is installed; install one once at start-up, e.g. \
                 rustls::crypto::ring::default_provider().install_default()"
                    .to_owned(),
            ));
        }
        // The service account's CA is the only root; proxies from the environment are ignored
        // (the API server is inside the cluster, and this module never reads the environment).
        let http = reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only(roots)
            .https_only(base.scheme() == "https")
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| Error::Setup(error_chain(&e)))?;
        Ok(KubeClient {
            http,
            base,
            token,
            namespace,
        })
    }

    /// The namespace the charm runs in (the model's), where all its objects live.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Sends one request and returns the JSON answer (`Value::Null` for an empty body).
    ///
    /// # Errors
    /// 403 → [`Error::Forbidden`], 404 → [`Error::NotFound`], any other non-2xx →
    /// [`Error::Other`] with the `Status` message; no answer → [`Error::Transport`]; a 2xx body
    /// that is not JSON → [`Error::Decode`].
    pub async fn send(&self, request: &Request) -> Result<Value> {
        let described = request.describe();
        let url = self.url(request)?;
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .header(ACCEPT, "application/json");
        if let Some(token) = &self.token {
            builder = builder.bearer_auth(token.expose());
        }
        if let Some(body) = &request.body {
            builder = builder
                .header(
                    CONTENT_TYPE,
                    request.content_type.unwrap_or("application/json"),
                )
                .body(body.to_string());
        }
        let transport = |e: reqwest::Error| Error::Transport {
            request: described.clone(),
            reason: error_chain(&e),
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(transport)?;
        tracing::debug!(request = %described, status, "kubernetes request");
        if !(200..300).contains(&status) {
            return Err(status_error(described, status, &body));
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body).map_err(|e| Error::Decode {
            request: described,
            reason: e.to_string(),
        })
    }

    async fn send_as<T: DeserializeOwned>(&self, request: &Request) -> Result<T> {
        let value = self.send(request).await?;
        serde_json::from_value(value).map_err(|e| Error::Decode {
            request: request.describe(),
            reason: e.to_string(),
        })
    }

    /// The pod `name` in the charm's namespace.
    ///
    /// # Errors
    /// As [`KubeClient::send`]; [`Error::NotFound`] when the pod does not exist.
    pub async fn get_pod(&self, name: &str) -> Result<Pod> {
        self.send_as(&Request::get_pod(&self.namespace, name)).await
    }

    /// The node `name` (needs cluster-scoped read access: `juju trust --scope=cluster`).
    ///
    /// # Errors
    /// As [`KubeClient::send`].
    pub async fn get_node(&self, name: &str) -> Result<Node> {
        self.send_as(&Request::get_node(name)).await
    }

    /// The Endpoints or Service `name`, or `None` when it does not exist.
    ///
    /// # Errors
    /// As [`KubeClient::send`], except that 404 is `Ok(None)`.
    pub async fn get(&self, kind: ObjectKind, name: &str) -> Result<Option<KubeObject>> {
        match self
            .send_as(&Request::get(&self.namespace, kind, name))
            .await
        {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes the Endpoints or Service `name`; `Ok(false)` when it did not exist.
    ///
    /// # Errors
    /// As [`KubeClient::send`], except that 404 is `Ok(false)`.
    pub async fn delete(&self, kind: ObjectKind, name: &str) -> Result<bool> {
        match self
            .send(&Request::delete(&self.namespace, kind, name))
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The Endpoints or Services matching `label_selector`.
    ///
    /// # Errors
    /// As [`KubeClient::send`].
    pub async fn list(&self, kind: ObjectKind, label_selector: &str) -> Result<Vec<KubeObject>> {
        let request = Request::list(&self.namespace, kind, label_selector);
        let list: ObjectList = self.send_as(&request).await?;
        Ok(list.items)
    }

    /// Server-side applies one of the Services `<app>-primary` / `<app>-replicas` with the
    /// given owners (see [`Request::apply_service`]).
    ///
    /// # Errors
    /// As [`KubeClient::send`].
    pub async fn apply_service(
        &self,
        app: &str,
        role: ServiceRole,
        owner_references: &[OwnerReference],
    ) -> Result<()> {
        let request = Request::apply_service(&self.namespace, app, role, owner_references);
        self.send(&request).await.map(drop)
    }

    /// Creates or updates both Services `<app>-primary` and `<app>-replicas`, owned as pod
    /// `<app>-0` is (by the StatefulSet), as the reference does on leader-elected, cluster
    /// initialisation, upgrade-charm and pebble-ready.
    ///
    /// # Errors
    /// As [`KubeClient::send`] (pod `<app>-0` missing → [`Error::NotFound`]).
    pub async fn apply_services(&self, app: &str) -> Result<()> {
        let owners = self.get_pod(&format!("{app}-0")).await?;
        for role in ServiceRole::ALL {
            self.apply_service(app, role, &owners.metadata.owner_references)
                .await?;
        }
        Ok(())
    }

    /// Adds `application: patroni` and `cluster-name: patroni-<app>` to pod `pod`'s labels.
    ///
    /// # Errors
    /// As [`KubeClient::send`].
    pub async fn patch_pod_labels(&self, pod: &str, app: &str) -> Result<()> {
        let request = Request::patch_pod_labels(&self.namespace, pod, app);
        self.send(&request).await.map(drop)
    }

    /// Sets the StatefulSet `<app>`'s rolling-update partition (refresh, reference §11).
    ///
    /// # Errors
    /// As [`KubeClient::send`].
    pub async fn set_partition(&self, app: &str, partition: u32) -> Result<()> {
        let request = Request::patch_partition(&self.namespace, app, partition);
        self.send(&request).await.map(drop)
    }

    /// Sets one annotation on an Endpoints or Service (e.g. Patroni's `leader`).
    ///
    /// # Errors
    /// As [`KubeClient::send`].
    pub async fn set_annotation(
        &self,
        kind: ObjectKind,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let request = Request::patch_annotation(&self.namespace, kind, name, key, value);
        self.send(&request).await.map(drop)
    }

    /// Replaces an Endpoints' or Service's ownerReferences (re-owning Patroni's leftovers).
    ///
    /// # Errors
    /// As [`KubeClient::send`].
    pub async fn set_owner_references(
        &self,
        kind: ObjectKind,
        name: &str,
        owner_references: &[OwnerReference],
    ) -> Result<()> {
        let request =
            Request::patch_owner_references(&self.namespace, kind, name, owner_references);
        self.send(&request).await.map(drop)
    }

    /// The CPU and memory available to container `container` of pod `pod`: its node's
    /// allocatable resources, reduced to the container's limits (reference §2.2).
    ///
    /// # Errors
    /// As [`KubeClient::send`]; [`Error::Decode`] when the pod is not scheduled yet;
    /// [`Error::Quantity`] for an unparsable quantity.
    pub async fn available_resources(&self, pod: &str, container: &str) -> Result<Resources> {
        let pod_object = self.get_pod(pod).await?;
        if pod_object.spec.node_name.is_empty() {
            return Err(Error::Decode {
                request: Request::get_pod(&self.namespace, pod).describe(),
                reason: "the pod has no spec.nodeName (not scheduled yet)".to_owned(),
            });
        }
        let node = self.get_node(&pod_object.spec.node_name).await?;
        available_resources(
            &node.status.allocatable,
            &pod_object.container_limits(container),
        )
    }

    /// The full URL of `request` on this server.
    fn url(&self, request: &Request) -> Result<Url> {
        let mut url = self.base.clone();
        url.set_path(&request.path);
        // A name such as `..` would be normalised into another path: refuse it.
        if url.path() != request.path {
            return Err(Error::Config(format!(
                "invalid object name in API path {:?}",
                request.path
            )));
        }
        if !request.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in &request.query {
                pairs.append_pair(key, value);
            }
        }
        Ok(url)
    }
}

/// The error for a non-2xx answer, from its Kubernetes `Status` body when it is one.
pub(super) fn status_error(request: String, status: u16, body: &[u8]) -> Error {
    let from_status = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
        let field = |name: &str| {
            v.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        field("message").or_else(|| field("reason"))
    });
    let message = from_status.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() {
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("no message")
                .to_owned()
        } else {
            text.chars().take(MAX_ERROR_BODY).collect()
        }
    });
    match status {
        403 => Error::Forbidden { request, message },
        404 => Error::NotFound { request, message },
        _ => Error::Other {
            request,
            status,
            message,
        },
    }
}

/// The certificates of a PEM bundle; at least one.
fn parse_ca(pem: &[u8]) -> std::result::Result<Vec<Certificate>, String> {
    let certs = Certificate::from_pem_bundle(pem).map_err(|e| format!("invalid PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the CA bundle".to_owned());
    }
    Ok(certs)
}

/// True for `localhost` and loopback IP addresses.
fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// An error with its causes, `outer: inner: ...`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
