//! The Patroni REST client (spec §5.4): the one place that talks to Patroni's API.

use std::time::Duration;

use anyhow::{Context as _, Result};
use juju::Secret;
use serde::Deserialize;
use serde_json::Value;

/// What `GET /health` (or `/patroni`) says about this member.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Health {
    /// `running`, `starting`, `stopped`, `streaming`, ...
    pub state: String,
    /// `master`/`primary`, `replica`, `standby_leader`, ...
    #[serde(default)]
    pub role: String,
    /// PostgreSQL's version as a number (`150018`).
    #[serde(default)]
    pub server_version: u64,
    /// Whether a restart is needed to apply settings.
    #[serde(default)]
    pub pending_restart: bool,
    /// When the running postmaster started (changes on every restart).
    #[serde(default)]
    pub postmaster_start_time: String,
}

impl Health {
    /// Started, as the reference counts it (running, streaming or starting).
    pub fn is_started(&self) -> bool {
        matches!(self.state.as_str(), "running" | "streaming" | "starting")
    }

    /// This member leads the cluster.
    pub fn is_primary(&self) -> bool {
        matches!(self.role.as_str(), "master" | "primary" | "leader")
    }
}

/// One member in `GET /cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Member {
    /// Member name (`<app>-<n>`).
    pub name: String,
    /// `leader`, `sync_standby`, `replica`, `standby_leader`.
    pub role: String,
    /// `running`, `streaming`, `starting`, ...
    pub state: String,
    /// Host.
    #[serde(default)]
    pub host: String,
}

/// `GET /cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Cluster {
    /// The members.
    #[serde(default)]
    pub members: Vec<Member>,
}

impl Cluster {
    /// The leader member's name.
    pub fn leader(&self) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.role == "leader" || m.role == "standby_leader")
            .map(|m| m.name.as_str())
    }
}

/// A non-success answer from Patroni's API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{request} on Patroni answered {status}: {body}")]
pub struct HttpStatus {
    /// Method and path.
    pub request: String,
    /// HTTP status code.
    pub status: u16,
    /// The start of the answer's body.
    pub body: String,
}

impl HttpStatus {
    /// Patroni is not ready to do this yet (503: the cluster is still bootstrapping).
    pub fn is_unavailable(&self) -> bool {
        self.status == 503
    }
}

/// Whether `error` is Patroni saying it is not ready yet.
pub fn is_unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<HttpStatus>()
            .is_some_and(HttpStatus::is_unavailable)
    })
}

/// A client for one member's API.
#[derive(Debug, Clone)]
pub struct Patroni {
    http: reqwest::Client,
    base: String,
    password: Secret,
}

impl Patroni {
    /// A client for `base` (`http://10.1.2.3:8008`), authenticating as `patroni`.
    pub fn new(base: &str, password: &Secret) -> Result<Patroni> {
        Patroni::with_ca(base, password, None)
    }

    /// A client for `base`, trusting only `ca` (PEM, one or more certificates) for https: the
    /// API's certificate must chain to it and name the host of `base`.
    pub fn with_ca(base: &str, password: &Secret, ca: Option<&str>) -> Result<Patroni> {
        let roots = match ca {
            Some(pem) => reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .context("reading the CA that Patroni's certificate is checked against")?,
            None => Vec::new(),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .tls_certs_only(roots)
            .build()
            .context("building the Patroni client")?;
        Ok(Patroni {
            http,
            base: base.trim_end_matches('/').to_string(),
            password: password.clone(),
        })
    }

    async fn get(&self, path: &str) -> Result<(u16, Value)> {
        self.get_with(path, true).await
    }

    #[tracing::instrument(name = "patroni", skip_all, fields(request = %format!("GET {path}")))]
    async fn get_with(&self, path: &str, authenticate: bool) -> Result<(u16, Value)> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if authenticate {
            request = request.basic_auth("patroni", Some(self.password.expose()));
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("GET {path} on Patroni"))?;
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    #[tracing::instrument(name = "patroni", skip_all, fields(request = %format!("{method} {path}")))]
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .basic_auth("patroni", Some(self.password.expose()));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path} on Patroni"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let body: String = text.trim().chars().take(200).collect();
            return Err(HttpStatus {
                request: format!("{method} {path}"),
                status: status.as_u16(),
                body,
            }
            .into());
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// `GET /patroni`: this member's state. Sent without credentials (Patroni does not ask for
    /// them on reads), so that probing which scheme the API speaks never offers the password
    /// over plain http.
    pub async fn health(&self) -> Result<Health> {
        let (_, body) = self.get_with("/patroni", false).await?;
        serde_json::from_value(body).context("parsing Patroni's /patroni answer")
    }

    /// `GET /cluster`.
    pub async fn cluster(&self) -> Result<Cluster> {
        let (_, body) = self.get("/cluster").await?;
        serde_json::from_value(body).context("parsing Patroni's /cluster answer")
    }

    /// `GET /config`: the dynamic configuration kept in the store.
    pub async fn config(&self) -> Result<Value> {
        Ok(self.get("/config").await?.1)
    }

    /// `PATCH /config`.
    pub async fn patch_config(&self, patch: &Value) -> Result<()> {
        self.send(reqwest::Method::PATCH, "/config", Some(patch))
            .await
            .map(drop)
    }

    /// `POST /reload`: re-read `patroni.yml`.
    pub async fn reload(&self) -> Result<()> {
        self.send(reqwest::Method::POST, "/reload", None)
            .await
            .map(drop)
    }

    /// `POST /restart`: restart PostgreSQL on this member.
    pub async fn restart(&self) -> Result<()> {
        self.send(
            reqwest::Method::POST,
            "/restart",
            Some(&serde_json::json!({})),
        )
        .await
        .map(drop)
    }
}

/// The part of `patch` that differs from `current` (keys whose value is not already there),
/// so that `PATCH /config` is sent only when something changes.
pub fn config_changes(current: &Value, wanted: &Value) -> Option<Value> {
    match (current, wanted) {
        (Value::Object(cur), Value::Object(want)) => {
            let mut diff = serde_json::Map::new();
            for (k, w) in want {
                let sub = match cur.get(k) {
                    Some(c) => config_changes(c, w),
                    // Removing a key that is not there changes nothing.
                    None if w.is_null() => None,
                    None => Some(w.clone()),
                };
                if let Some(sub) = sub {
                    diff.insert(k.clone(), sub);
                }
            }
            (!diff.is_empty()).then_some(Value::Object(diff))
        }
        // Patroni stores parameters as given; compare their text forms.
        (c, w) if value_text(c) == value_text(w) => None,
        (_, w) => Some(w.clone()),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_health_and_cluster() {
        let h: Health = serde_json::from_value(
            json!({"state": "running", "role": "master", "server_version": 150018}),
        )
        .unwrap();
        assert!(h.is_started() && h.is_primary());
        let c: Cluster = serde_json::from_value(json!({"members": [
            {"name": "pg-1", "role": "replica", "state": "streaming", "host": "10.0.0.2"},
            {"name": "pg-0", "role": "leader", "state": "running", "host": "10.0.0.1"}
        ]}))
        .unwrap();
        assert_eq!(c.leader(), Some("pg-0"));
    }

    #[test]
    fn config_changes_only_what_differs() {
        let current = json!({"synchronous_node_count": 0, "postgresql": {"parameters": {"max_connections": 100, "wal_keep_size": "4096"}}});
        let same = json!({"synchronous_node_count": 0, "postgresql": {"parameters": {"max_connections": "100"}}});
        assert_eq!(config_changes(&current, &same), None);
        let unset = json!({"postgresql": {"parameters": {"shared_buffers": null}}});
        assert_eq!(config_changes(&current, &unset), None);
        let more = json!({"postgresql": {"parameters": {"max_connections": "200", "wal_keep_size": "4096"}}, "maximum_lag_on_failover": 1});
        assert_eq!(
            config_changes(&current, &more),
            Some(
                json!({"postgresql": {"parameters": {"max_connections": "200"}}, "maximum_lag_on_failover": 1})
            )
        );
    }
}
