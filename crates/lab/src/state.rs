//! The model's state: what Juju's controller would hold. Plain data (clone, serialise); the
//! engine and the hook-tool emulator read and change it.
//!
//! Hooks run one at a time in the whole model. A hook works on a copy of this state (its
//! *working copy*); Juju's commit-on-success rule is then simply "keep the copy when the hook
//! exits 0, drop it otherwise". Effects that Juju applies at once (status, logs, workload
//! version, action results) are written to both the copy and the committed state.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::charm::{Charm, Role};

/// A relation databag.
pub type Bag = BTreeMap<String, String>;

/// The whole model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelState {
    /// Model name (`JUJU_MODEL_NAME`; the Kubernetes namespace).
    pub name: String,
    /// Model UUID.
    pub uuid: String,
    /// Applications by name.
    pub applications: BTreeMap<String, Application>,
    /// Units by name (`app/0`).
    pub units: BTreeMap<String, Unit>,
    /// Relations by id.
    pub relations: BTreeMap<u64, Relation>,
    /// Secrets by their short id (the xid, without `secret:` or the model URI).
    pub secrets: BTreeMap<String, SecretRecord>,
    /// The next relation id to hand out.
    pub next_relation_id: u64,
    /// A counter for ids (secrets, actions, contexts).
    pub next_serial: u64,
    /// Lines for `lab debug-log`.
    pub log: Vec<LogLine>,
}

/// An application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    /// Its name.
    pub name: String,
    /// The charm it runs.
    pub charm: Charm,
    /// Charm revision as the lab counts it (1 at deploy, +1 per refresh).
    pub charm_revision: u32,
    /// Options the operator set (typed as declared); defaults come from the charm.
    pub config: BTreeMap<String, serde_json::Value>,
    /// The leader unit, if any.
    pub leader: Option<String>,
    /// Application status as set by the leader (`None`: derived from the units).
    pub status: Option<StatusRecord>,
    /// Workload version set by `application-version-set`.
    pub workload_version: String,
    /// The number the next unit gets.
    pub next_unit: u32,
}

/// A status value with its message and when it was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRecord {
    /// `active`, `blocked`, `maintenance`, `waiting`, `unknown`, `error`.
    pub status: String,
    /// Message.
    pub message: String,
    /// RFC 3339 time it was set.
    pub since: String,
}

/// What the unit agent is doing (`juju status`'s Agent column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentStatus {
    /// Waiting for the pod.
    Allocating,
    /// Running a hook or action (named).
    Executing(String),
    /// Nothing to do.
    Idle,
    /// A hook failed (named); Juju retries it.
    Error(String),
}

/// A unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unit {
    /// `app/n`.
    pub name: String,
    /// Its application.
    pub app: String,
    /// Its number.
    pub number: u32,
    /// Workload status (`status-set`).
    pub status: StatusRecord,
    /// Agent status.
    pub agent: AgentStatus,
    /// The unit's address (`network-get`, `juju status`).
    pub address: String,
    /// The charm's own key-value state (`state-get`/`state-set`).
    pub state: BTreeMap<String, String>,
    /// Opened ports as `opened-ports` prints them (`5432/tcp`), with their endpoints (empty: all).
    pub ports: BTreeMap<String, BTreeSet<String>>,
    /// Storage instances by id (`pgdata/0`).
    pub storage: BTreeMap<String, StorageInstance>,
    /// Whether the unit is going away (remove-unit in progress).
    pub dying: bool,
}

/// One storage instance attached to a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageInstance {
    /// `filesystem` or `block`.
    pub kind: String,
    /// Where it is mounted in the charm container (what `storage-get` answers).
    pub location: String,
}

/// One end of a relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationEnd {
    /// Application.
    pub app: String,
    /// Endpoint name on that application.
    pub endpoint: String,
    /// Its role.
    pub role: Role,
}

/// A relation between two applications (or a peer relation of one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    /// Juju's relation id.
    pub id: u64,
    /// Interface name.
    pub interface: String,
    /// The ends: one for a peer relation, two otherwise.
    pub ends: Vec<RelationEnd>,
    /// Application bags by application name.
    pub app_data: BTreeMap<String, Bag>,
    /// Unit bags by unit name.
    pub unit_data: BTreeMap<String, Bag>,
    /// For each unit in the relation: the remote units it has seen join (what `relation-list`
    /// answers; for a peer relation, the other units of the application).
    pub scope: BTreeMap<String, BTreeSet<String>>,
    /// The relation is being removed (relation-broken is running or has run).
    pub dying: bool,
}

impl Relation {
    /// The end of `app` (for a peer relation, the only end).
    pub fn end_of(&self, app: &str) -> Option<&RelationEnd> {
        self.ends.iter().find(|e| e.app == app)
    }

    /// The application on the other side from `app` (itself for a peer relation).
    pub fn remote_app(&self, app: &str) -> Option<&str> {
        match self.ends.as_slice() {
            [only] if only.app == app => Some(only.app.as_str()),
            [a, b] if a.app == app => Some(b.app.as_str()),
            [a, b] if b.app == app => Some(a.app.as_str()),
            _ => None,
        }
    }

    /// `endpoint:id` as seen from `app`.
    pub fn key_for(&self, app: &str) -> Option<String> {
        self.end_of(app)
            .map(|e| format!("{}:{}", e.endpoint, self.id))
    }
}

/// Who owns a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecretOwner {
    /// An application (its leader manages it).
    App(String),
    /// One unit.
    Unit(String),
}

/// A consumer's view of a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consumer {
    /// The label this consumer knows the secret by.
    pub label: Option<String>,
    /// The revision it tracks.
    pub revision: u64,
}

/// Who may read a secret through a relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The relation the grant goes through.
    pub relation_id: u64,
    /// The grantee: an application, or one unit of it.
    pub unit: Option<String>,
    /// The grantee application.
    pub app: String,
}

/// A secret with all its revisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretRecord {
    /// The short id (xid).
    pub id: String,
    /// The owner.
    pub owner: SecretOwner,
    /// Content by revision number (starting at 1).
    pub revisions: BTreeMap<u64, BTreeMap<String, String>>,
    /// The owner's label.
    pub label: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Expiry (RFC 3339).
    pub expire: Option<String>,
    /// Rotation policy.
    pub rotate: Option<String>,
    /// Consumers by unit name (owners track revisions too, since Juju 3.1.7).
    pub consumers: BTreeMap<String, Consumer>,
    /// Grants.
    pub grants: Vec<Grant>,
}

impl SecretRecord {
    /// The latest revision number.
    pub fn latest(&self) -> u64 {
        self.revisions.keys().next_back().copied().unwrap_or(0)
    }
}

/// One line of the model's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// RFC 3339 time.
    pub time: String,
    /// Unit that logged it.
    pub unit: String,
    /// `TRACE` .. `ERROR`, or `HOOK` for lines about hooks, `OUTPUT` for hook stdout/stderr.
    pub level: String,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for LogLine {
    /// `<unit> <level> <message>`, as tests print a model's log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.unit, self.level, self.message)
    }
}

/// The time now as RFC 3339 with seconds, UTC.
pub fn now_rfc3339() -> String {
    crate::time::rfc3339(crate::time::now())
}

/// Format seconds since the epoch as RFC 3339 UTC.
pub fn rfc3339(secs: u64) -> String {
    crate::time::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

impl StatusRecord {
    /// A status set now.
    pub fn new(status: &str, message: &str) -> StatusRecord {
        StatusRecord {
            status: status.to_string(),
            message: message.to_string(),
            since: now_rfc3339(),
        }
    }
}

impl ModelState {
    /// The whole log, one `<unit> <level> <message>` line per entry.
    pub fn log_text(&self) -> String {
        self.log
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A fresh id from the model's counter.
    pub fn serial(&mut self) -> u64 {
        self.next_serial += 1;
        self.next_serial
    }

    /// The relations `unit` takes part in (its application is an end).
    pub fn relations_of_unit<'a>(&'a self, unit: &'a str) -> impl Iterator<Item = &'a Relation> {
        let app = unit.split('/').next().unwrap_or_default().to_string();
        self.relations
            .values()
            .filter(move |r| r.ends.iter().any(|e| e.app == app))
    }

    /// Look a secret up by any form of its id: `secret:<xid>`, `secret://<model>/<xid>`, `<xid>`.
    pub fn secret_key(id: &str) -> &str {
        let id = id.strip_prefix("secret:").unwrap_or(id);
        let id = id.strip_prefix("//").unwrap_or(id);
        id.rsplit('/').next().unwrap_or(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_824_000), "2026-11-28T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn secret_ids_in_every_form() {
        assert_eq!(ModelState::secret_key("secret:abc"), "abc");
        assert_eq!(ModelState::secret_key("secret://uuid/abc"), "abc");
        assert_eq!(ModelState::secret_key("abc"), "abc");
    }
}
