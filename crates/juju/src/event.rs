//! The event a dispatch process was started for, parsed from `JUJU_DISPATCH_PATH`.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// A relation as the hook tools name it: endpoint and integer id (`database:7`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelationRef {
    /// Endpoint name from metadata.yaml (`database`).
    pub endpoint: String,
    /// Juju's relation id (the integer after the last `:`).
    pub id: u64,
}

impl RelationRef {
    /// Parse `endpoint:id` as printed by `relation-ids` and set in `JUJU_RELATION_ID`.
    pub fn parse(text: &str) -> Result<RelationRef> {
        let (endpoint, id) = text.rsplit_once(':').ok_or_else(|| {
            Error::Invalid(format!("relation id {text:?} is not <endpoint>:<id>"))
        })?;
        let id = id.parse().map_err(|_| {
            Error::Invalid(format!("relation id {text:?} does not end in a number"))
        })?;
        Ok(RelationRef {
            endpoint: endpoint.to_string(),
            id,
        })
    }

    /// The `-r` argument hook tools accept (`endpoint:id`), which lets Juju check the pair.
    pub fn arg(&self) -> String {
        format!("{}:{}", self.endpoint, self.id)
    }
}

impl std::fmt::Display for RelationRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.endpoint, self.id)
    }
}

/// Which of the five relation hooks fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationEventKind {
    /// `<endpoint>-relation-created`: the relation exists, no remote unit has joined yet.
    Created,
    /// `<endpoint>-relation-joined`: a remote unit entered the relation.
    Joined,
    /// `<endpoint>-relation-changed`: remote data changed (or a unit just joined).
    Changed,
    /// `<endpoint>-relation-departed`: a remote unit (or this one) is leaving.
    Departed,
    /// `<endpoint>-relation-broken`: the relation is being removed.
    Broken,
}

/// Which storage hook fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageEventKind {
    /// `<storage>-storage-attached`.
    Attached,
    /// `<storage>-storage-detaching`.
    Detaching,
}

/// Which secret hook fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretEventKind {
    /// `secret-changed`: a secret this unit consumes has a new revision.
    Changed,
    /// `secret-rotate`: a secret this app owns is due for rotation.
    Rotate,
    /// `secret-remove`: a revision of an owned secret is no longer tracked by anyone.
    Remove,
    /// `secret-expired`: a revision of an owned secret has expired.
    Expired,
}

/// One Juju event, with the facts its environment carries.
///
/// Parsed from `JUJU_DISPATCH_PATH` (never from argv) and the event-specific `JUJU_*` variables of
/// spec §A.4. The charm treats most events alike (one reconcile); the fields here are the facts
/// that the state does not carry: which relation broke, which unit departs, which action runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `install`
    Install,
    /// `start`
    Start,
    /// `stop`
    Stop,
    /// `remove`
    Remove,
    /// `config-changed`
    ConfigChanged,
    /// `update-status` (periodic)
    UpdateStatus,
    /// `upgrade-charm` (after `juju refresh`)
    UpgradeCharm,
    /// `leader-elected`
    LeaderElected,
    /// `leader-settings-changed` (deprecated by Juju, still delivered)
    LeaderSettingsChanged,
    /// `pre-series-upgrade` (machine charms only)
    PreSeriesUpgrade,
    /// `post-series-upgrade` (machine charms only)
    PostSeriesUpgrade,
    /// `collect-metrics`
    CollectMetrics,
    /// `meter-status-changed`
    MeterStatusChanged,
    /// `<container>-pebble-ready`: the workload container's Pebble is up.
    PebbleReady {
        /// Container name.
        container: String,
    },
    /// `<container>-pebble-custom-notice`.
    PebbleCustomNotice {
        /// Container name.
        container: String,
        /// Notice id.
        notice_id: String,
        /// Notice type (`custom`).
        notice_type: String,
        /// Notice key (`example.com/backup-done`).
        notice_key: String,
    },
    /// `<container>-pebble-check-failed`.
    PebbleCheckFailed {
        /// Container name.
        container: String,
        /// The failing check.
        check: String,
    },
    /// `<container>-pebble-check-recovered`.
    PebbleCheckRecovered {
        /// Container name.
        container: String,
        /// The recovered check.
        check: String,
    },
    /// One of the five relation hooks.
    Relation {
        /// Which hook.
        kind: RelationEventKind,
        /// The relation.
        relation: RelationRef,
        /// The application on the other side.
        remote_app: String,
        /// The remote unit the event is about, when there is one.
        remote_unit: Option<String>,
        /// For `departed`: the unit leaving (possibly this unit).
        departing_unit: Option<String>,
    },
    /// One of the storage hooks.
    Storage {
        /// Which hook.
        kind: StorageEventKind,
        /// Storage name (`pgdata`).
        name: String,
        /// Storage index (`0` in `pgdata/0`).
        index: u32,
        /// Where the storage is mounted in the charm container, when Juju says.
        location: Option<PathBuf>,
    },
    /// One of the secret hooks.
    Secret {
        /// Which hook.
        kind: SecretEventKind,
        /// The secret's id (`secret:...` or `secret://<model>/<id>`).
        id: String,
        /// The label this unit knows it by, if any.
        label: Option<String>,
        /// The revision concerned (remove/expired only).
        revision: Option<u64>,
    },
    /// `actions/<name>`: an action run.
    Action {
        /// Action name from actions.yaml.
        name: String,
        /// Juju's action id (`JUJU_ACTION_UUID`).
        id: String,
    },
}

impl Event {
    /// Parse the event from the dispatch path and the hook environment.
    ///
    /// Unknown hook names are [`Error::UnknownEvent`]; a known hook with a missing or malformed
    /// required variable is [`Error::Env`].
    pub fn parse(dispatch_path: &str, env: &HashMap<String, String>) -> Result<Event> {
        let get = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        let need = |name: &str| {
            get(name).ok_or_else(|| Error::Env {
                var: name.to_string(),
                reason: format!("required for {dispatch_path} but not set"),
            })
        };
        if let Some(action) = dispatch_path.strip_prefix("actions/") {
            if action.is_empty() || action.contains('/') {
                return Err(Error::UnknownEvent(dispatch_path.to_string()));
            }
            return Ok(Event::Action {
                name: action.to_string(),
                id: need("JUJU_ACTION_UUID")?,
            });
        }
        let Some(hook) = dispatch_path.strip_prefix("hooks/") else {
            return Err(Error::UnknownEvent(dispatch_path.to_string()));
        };
        let fixed = match hook {
            "install" => Some(Event::Install),
            "start" => Some(Event::Start),
            "stop" => Some(Event::Stop),
            "remove" => Some(Event::Remove),
            "config-changed" => Some(Event::ConfigChanged),
            "update-status" => Some(Event::UpdateStatus),
            "upgrade-charm" => Some(Event::UpgradeCharm),
            "leader-elected" => Some(Event::LeaderElected),
            "leader-settings-changed" => Some(Event::LeaderSettingsChanged),
            "pre-series-upgrade" => Some(Event::PreSeriesUpgrade),
            "post-series-upgrade" => Some(Event::PostSeriesUpgrade),
            "collect-metrics" => Some(Event::CollectMetrics),
            "meter-status-changed" => Some(Event::MeterStatusChanged),
            _ => None,
        };
        if let Some(event) = fixed {
            return Ok(event);
        }
        for (suffix, kind) in [
            ("secret-changed", SecretEventKind::Changed),
            ("secret-rotate", SecretEventKind::Rotate),
            ("secret-remove", SecretEventKind::Remove),
            ("secret-expired", SecretEventKind::Expired),
        ] {
            if hook == suffix {
                let revision = match kind {
                    SecretEventKind::Remove | SecretEventKind::Expired => Some(
                        need("JUJU_SECRET_REVISION")?
                            .parse()
                            .map_err(|_| Error::Env {
                                var: "JUJU_SECRET_REVISION".into(),
                                reason: "not an integer".into(),
                            })?,
                    ),
                    _ => None,
                };
                return Ok(Event::Secret {
                    kind,
                    id: need("JUJU_SECRET_ID")?,
                    label: get("JUJU_SECRET_LABEL"),
                    revision,
                });
            }
        }
        for (suffix, kind) in [
            ("-relation-created", RelationEventKind::Created),
            ("-relation-joined", RelationEventKind::Joined),
            ("-relation-changed", RelationEventKind::Changed),
            ("-relation-departed", RelationEventKind::Departed),
            ("-relation-broken", RelationEventKind::Broken),
        ] {
            if let Some(endpoint) = hook.strip_suffix(suffix).filter(|e| !e.is_empty()) {
                return relation_event(endpoint, kind, &get, &need);
            }
        }
        for (suffix, kind) in [
            ("-storage-attached", StorageEventKind::Attached),
            ("-storage-detaching", StorageEventKind::Detaching),
        ] {
            if let Some(name) = hook.strip_suffix(suffix).filter(|e| !e.is_empty()) {
                let id = need("JUJU_STORAGE_ID")?;
                let (id_name, index) = id.rsplit_once('/').ok_or_else(|| Error::Env {
                    var: "JUJU_STORAGE_ID".into(),
                    reason: format!("{id:?} is not <name>/<index>"),
                })?;
                if id_name != name {
                    return Err(Error::Env {
                        var: "JUJU_STORAGE_ID".into(),
                        reason: format!("{id:?} is not storage {name:?}"),
                    });
                }
                let index = index.parse().map_err(|_| Error::Env {
                    var: "JUJU_STORAGE_ID".into(),
                    reason: format!("{id:?} does not end in a number"),
                })?;
                return Ok(Event::Storage {
                    kind,
                    name: name.to_string(),
                    index,
                    location: get("JUJU_STORAGE_LOCATION").map(PathBuf::from),
                });
            }
        }
        if let Some(container) = hook.strip_suffix("-pebble-ready").filter(|e| !e.is_empty()) {
            return Ok(Event::PebbleReady {
                container: workload(container, &need)?,
            });
        }
        if let Some(container) = hook
            .strip_suffix("-pebble-custom-notice")
            .filter(|e| !e.is_empty())
        {
            return Ok(Event::PebbleCustomNotice {
                container: workload(container, &need)?,
                notice_id: need("JUJU_NOTICE_ID")?,
                notice_type: need("JUJU_NOTICE_TYPE")?,
                notice_key: need("JUJU_NOTICE_KEY")?,
            });
        }
        if let Some(container) = hook
            .strip_suffix("-pebble-check-failed")
            .filter(|e| !e.is_empty())
        {
            return Ok(Event::PebbleCheckFailed {
                container: workload(container, &need)?,
                check: need("JUJU_PEBBLE_CHECK_NAME")?,
            });
        }
        if let Some(container) = hook
            .strip_suffix("-pebble-check-recovered")
            .filter(|e| !e.is_empty())
        {
            return Ok(Event::PebbleCheckRecovered {
                container: workload(container, &need)?,
                check: need("JUJU_PEBBLE_CHECK_NAME")?,
            });
        }
        Err(Error::UnknownEvent(dispatch_path.to_string()))
    }

    /// The Juju hook or action name, as it appears in `juju debug-log` (`database-relation-changed`).
    pub fn name(&self) -> String {
        match self {
            Event::Install => "install".into(),
            Event::Start => "start".into(),
            Event::Stop => "stop".into(),
            Event::Remove => "remove".into(),
            Event::ConfigChanged => "config-changed".into(),
            Event::UpdateStatus => "update-status".into(),
            Event::UpgradeCharm => "upgrade-charm".into(),
            Event::LeaderElected => "leader-elected".into(),
            Event::LeaderSettingsChanged => "leader-settings-changed".into(),
            Event::PreSeriesUpgrade => "pre-series-upgrade".into(),
            Event::PostSeriesUpgrade => "post-series-upgrade".into(),
            Event::CollectMetrics => "collect-metrics".into(),
            Event::MeterStatusChanged => "meter-status-changed".into(),
            Event::PebbleReady { container } => format!("{container}-pebble-ready"),
            Event::PebbleCustomNotice { container, .. } => {
                format!("{container}-pebble-custom-notice")
            }
            Event::PebbleCheckFailed { container, .. } => {
                format!("{container}-pebble-check-failed")
            }
            Event::PebbleCheckRecovered { container, .. } => {
                format!("{container}-pebble-check-recovered")
            }
            Event::Relation { kind, relation, .. } => {
                let k = match kind {
                    RelationEventKind::Created => "created",
                    RelationEventKind::Joined => "joined",
                    RelationEventKind::Changed => "changed",
                    RelationEventKind::Departed => "departed",
                    RelationEventKind::Broken => "broken",
                };
                format!("{}-relation-{k}", relation.endpoint)
            }
            Event::Storage { kind, name, .. } => match kind {
                StorageEventKind::Attached => format!("{name}-storage-attached"),
                StorageEventKind::Detaching => format!("{name}-storage-detaching"),
            },
            Event::Secret { kind, .. } => match kind {
                SecretEventKind::Changed => "secret-changed".into(),
                SecretEventKind::Rotate => "secret-rotate".into(),
                SecretEventKind::Remove => "secret-remove".into(),
                SecretEventKind::Expired => "secret-expired".into(),
            },
            Event::Action { name, .. } => name.clone(),
        }
    }

    /// True for `actions/<name>`.
    pub fn is_action(&self) -> bool {
        matches!(self, Event::Action { .. })
    }
}

fn workload(container: &str, need: &dyn Fn(&str) -> Result<String>) -> Result<String> {
    let named = need("JUJU_WORKLOAD_NAME")?;
    if named != container {
        return Err(Error::Env {
            var: "JUJU_WORKLOAD_NAME".into(),
            reason: format!("{named:?} does not match the hook's container {container:?}"),
        });
    }
    Ok(named)
}

fn relation_event(
    endpoint: &str,
    kind: RelationEventKind,
    get: &dyn Fn(&str) -> Option<String>,
    need: &dyn Fn(&str) -> Result<String>,
) -> Result<Event> {
    let raw_id = need("JUJU_RELATION_ID")?;
    let relation = RelationRef::parse(&raw_id).or_else(|_| {
        // Older agents may give the bare integer.
        raw_id
            .parse()
            .map(|id| RelationRef {
                endpoint: endpoint.to_string(),
                id,
            })
            .map_err(|_| Error::Env {
                var: "JUJU_RELATION_ID".into(),
                reason: format!("{raw_id:?} is not <endpoint>:<id>"),
            })
    })?;
    let named = get("JUJU_RELATION").unwrap_or_else(|| endpoint.to_string());
    if named != endpoint || relation.endpoint != endpoint {
        return Err(Error::Env {
            var: "JUJU_RELATION".into(),
            reason: format!("{named:?} / {raw_id:?} do not match the hook's endpoint {endpoint:?}"),
        });
    }
    let remote_unit = get("JUJU_REMOTE_UNIT");
    let remote_app = match get("JUJU_REMOTE_APP") {
        Some(app) => app,
        None => match &remote_unit {
            Some(unit) => unit.split('/').next().unwrap_or_default().to_string(),
            None => need("JUJU_REMOTE_APP")?,
        },
    };
    if matches!(
        kind,
        RelationEventKind::Joined | RelationEventKind::Departed
    ) && remote_unit.is_none()
    {
        need("JUJU_REMOTE_UNIT")?;
    }
    Ok(Event::Relation {
        kind,
        relation,
        remote_app,
        remote_unit,
        departing_unit: get("JUJU_DEPARTING_UNIT"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse(path: &str, pairs: &[(&str, &str)]) -> Result<Event> {
        Event::parse(path, &env(pairs))
    }

    #[test]
    fn fixed_hooks() {
        let table = [
            ("install", Event::Install),
            ("start", Event::Start),
            ("stop", Event::Stop),
            ("remove", Event::Remove),
            ("config-changed", Event::ConfigChanged),
            ("update-status", Event::UpdateStatus),
            ("upgrade-charm", Event::UpgradeCharm),
            ("leader-elected", Event::LeaderElected),
            ("leader-settings-changed", Event::LeaderSettingsChanged),
            ("pre-series-upgrade", Event::PreSeriesUpgrade),
            ("post-series-upgrade", Event::PostSeriesUpgrade),
            ("collect-metrics", Event::CollectMetrics),
            ("meter-status-changed", Event::MeterStatusChanged),
        ];
        for (name, expected) in table {
            let event = parse(&format!("hooks/{name}"), &[]).unwrap();
            assert_eq!(event, expected);
            assert_eq!(event.name(), name);
        }
    }

    #[test]
    fn relation_hooks() {
        let kinds = [
            ("created", RelationEventKind::Created),
            ("joined", RelationEventKind::Joined),
            ("changed", RelationEventKind::Changed),
            ("departed", RelationEventKind::Departed),
            ("broken", RelationEventKind::Broken),
        ];
        for (suffix, kind) in kinds {
            let path = format!("hooks/database-relation-{suffix}");
            let event = parse(
                &path,
                &[
                    ("JUJU_RELATION", "database"),
                    ("JUJU_RELATION_ID", "database:7"),
                    ("JUJU_REMOTE_APP", "app"),
                    ("JUJU_REMOTE_UNIT", "app/1"),
                    ("JUJU_DEPARTING_UNIT", "app/1"),
                ],
            )
            .unwrap();
            assert_eq!(
                event,
                Event::Relation {
                    kind,
                    relation: RelationRef {
                        endpoint: "database".into(),
                        id: 7
                    },
                    remote_app: "app".into(),
                    remote_unit: Some("app/1".into()),
                    departing_unit: Some("app/1".into()),
                }
            );
            assert_eq!(event.name(), format!("database-relation-{suffix}"));
        }
        // Endpoint names may contain the word "relation" and dashes.
        let event = parse(
            "hooks/s3-parameters-relation-broken",
            &[
                ("JUJU_RELATION", "s3-parameters"),
                ("JUJU_RELATION_ID", "s3-parameters:12"),
                ("JUJU_REMOTE_APP", "s3"),
            ],
        )
        .unwrap();
        assert!(
            matches!(event, Event::Relation { ref relation, kind: RelationEventKind::Broken, remote_unit: None, .. } if relation.id == 12)
        );
        // The remote app is derived from the remote unit when Juju leaves it empty.
        let event = parse(
            "hooks/db-relation-changed",
            &[
                ("JUJU_RELATION", "db"),
                ("JUJU_RELATION_ID", "db:3"),
                ("JUJU_REMOTE_APP", ""),
                ("JUJU_REMOTE_UNIT", "legacy/0"),
            ],
        )
        .unwrap();
        assert!(matches!(event, Event::Relation { ref remote_app, .. } if remote_app == "legacy"));
    }

    #[test]
    fn relation_hooks_need_their_variables() {
        let missing_id = parse("hooks/db-relation-changed", &[("JUJU_REMOTE_APP", "x")]);
        assert!(matches!(missing_id, Err(Error::Env { ref var, .. }) if var == "JUJU_RELATION_ID"));
        let joined_without_unit = parse(
            "hooks/db-relation-joined",
            &[("JUJU_RELATION_ID", "db:1"), ("JUJU_REMOTE_APP", "x")],
        );
        assert!(
            matches!(joined_without_unit, Err(Error::Env { ref var, .. }) if var == "JUJU_REMOTE_UNIT")
        );
        let mismatch = parse(
            "hooks/db-relation-changed",
            &[("JUJU_RELATION_ID", "database:1"), ("JUJU_REMOTE_APP", "x")],
        );
        assert!(matches!(mismatch, Err(Error::Env { .. })));
    }

    #[test]
    fn storage_hooks() {
        for (suffix, kind) in [
            ("attached", StorageEventKind::Attached),
            ("detaching", StorageEventKind::Detaching),
        ] {
            let event = parse(
                &format!("hooks/pgdata-storage-{suffix}"),
                &[
                    ("JUJU_STORAGE_ID", "pgdata/0"),
                    ("JUJU_STORAGE_LOCATION", "/var/lib/postgresql/data"),
                    ("JUJU_STORAGE_KIND", "filesystem"),
                ],
            )
            .unwrap();
            assert_eq!(
                event,
                Event::Storage {
                    kind,
                    name: "pgdata".into(),
                    index: 0,
                    location: Some("/var/lib/postgresql/data".into())
                }
            );
            assert_eq!(event.name(), format!("pgdata-storage-{suffix}"));
        }
        assert!(
            parse(
                "hooks/pgdata-storage-attached",
                &[("JUJU_STORAGE_ID", "logs/0")]
            )
            .is_err()
        );
    }

    #[test]
    fn pebble_hooks() {
        let w = ("JUJU_WORKLOAD_NAME", "postgresql");
        assert_eq!(
            parse("hooks/postgresql-pebble-ready", &[w]).unwrap(),
            Event::PebbleReady {
                container: "postgresql".into()
            }
        );
        assert_eq!(
            parse(
                "hooks/postgresql-pebble-custom-notice",
                &[
                    w,
                    ("JUJU_NOTICE_ID", "3"),
                    ("JUJU_NOTICE_TYPE", "custom"),
                    ("JUJU_NOTICE_KEY", "example.com/backup-done")
                ]
            )
            .unwrap(),
            Event::PebbleCustomNotice {
                container: "postgresql".into(),
                notice_id: "3".into(),
                notice_type: "custom".into(),
                notice_key: "example.com/backup-done".into()
            }
        );
        let check = ("JUJU_PEBBLE_CHECK_NAME", "postgresql");
        let failed = parse("hooks/postgresql-pebble-check-failed", &[w, check]).unwrap();
        assert_eq!(failed.name(), "postgresql-pebble-check-failed");
        assert!(
            matches!(failed, Event::PebbleCheckFailed { ref check, .. } if check == "postgresql")
        );
        let recovered = parse("hooks/postgresql-pebble-check-recovered", &[w, check]).unwrap();
        assert!(matches!(recovered, Event::PebbleCheckRecovered { .. }));
        assert!(parse("hooks/postgresql-pebble-ready", &[]).is_err());
        assert!(
            parse(
                "hooks/postgresql-pebble-ready",
                &[("JUJU_WORKLOAD_NAME", "other")]
            )
            .is_err()
        );
    }

    #[test]
    fn secret_hooks() {
        let id = ("JUJU_SECRET_ID", "secret:cuh0n7lmp25c7bgqtgsg");
        let changed = parse(
            "hooks/secret-changed",
            &[id, ("JUJU_SECRET_LABEL", "database-peers.pg.app")],
        )
        .unwrap();
        assert_eq!(
            changed,
            Event::Secret {
                kind: SecretEventKind::Changed,
                id: "secret:cuh0n7lmp25c7bgqtgsg".into(),
                label: Some("database-peers.pg.app".into()),
                revision: None
            }
        );
        let rotate = parse("hooks/secret-rotate", &[id, ("JUJU_SECRET_LABEL", "")]).unwrap();
        assert!(matches!(
            rotate,
            Event::Secret {
                kind: SecretEventKind::Rotate,
                label: None,
                ..
            }
        ));
        for (name, kind) in [
            ("secret-remove", SecretEventKind::Remove),
            ("secret-expired", SecretEventKind::Expired),
        ] {
            let event = parse(
                &format!("hooks/{name}"),
                &[id, ("JUJU_SECRET_REVISION", "4")],
            )
            .unwrap();
            assert_eq!(
                event,
                Event::Secret {
                    kind,
                    id: id.1.into(),
                    label: None,
                    revision: Some(4)
                }
            );
            assert!(parse(&format!("hooks/{name}"), &[id]).is_err());
        }
        assert!(parse("hooks/secret-changed", &[]).is_err());
    }

    #[test]
    fn actions() {
        let event = parse("actions/get-password", &[("JUJU_ACTION_UUID", "12")]).unwrap();
        assert_eq!(
            event,
            Event::Action {
                name: "get-password".into(),
                id: "12".into()
            }
        );
        assert!(event.is_action());
        assert!(parse("actions/get-password", &[]).is_err());
    }

    #[test]
    fn unknown_names_are_typed_errors() {
        for path in [
            "hooks/frobnicate",
            "hooks/",
            "hooks/-relation-changed",
            "actions/",
            "",
            "bin/install",
            "hooks/database-relation-exploded",
        ] {
            match parse(path, &[]) {
                Err(Error::UnknownEvent(p)) => assert_eq!(p, path),
                other => panic!("{path}: {other:?}"),
            }
        }
    }
}
