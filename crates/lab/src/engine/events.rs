//! Which hooks a committed change causes on other units (pure: old state, new state → hooks).

use std::collections::BTreeSet;

use super::hooks::Hook;
use crate::state::{ModelState, SecretOwner};

/// The hooks that follow from `unit`'s hook committing `after` over `before`:
/// `relation-changed` for data others can see, `secret-changed` for consumers of a new
/// revision, `secret-remove` for revisions nobody tracks any more.
pub fn follow_ups(before: &ModelState, after: &ModelState, unit: &str) -> Vec<Hook> {
    let mut hooks = Vec::new();
    let app = unit.split('/').next().unwrap_or_default();
    // storage-add: the new instances get attached.
    if let (Some(old), Some(new)) = (before.units.get(unit), after.units.get(unit)) {
        for id in new
            .storage
            .keys()
            .filter(|id| !old.storage.contains_key(*id))
        {
            hooks.push(Hook::storage(unit, id, "attached"));
        }
    }
    for (id, rel) in &after.relations {
        let old = before.relations.get(id);
        let unit_changed = old.map(|r| r.unit_data.get(unit)) != Some(rel.unit_data.get(unit));
        let app_changed = old.map(|r| r.app_data.get(app)) != Some(rel.app_data.get(app));
        if rel.dying || (!unit_changed && !app_changed) {
            continue;
        }
        for (observer, seen) in &rel.scope {
            if observer == unit {
                continue;
            }
            let observer_app = observer.split('/').next().unwrap_or_default();
            let Some(end) = rel.end_of(observer_app) else {
                continue;
            };
            let peer = rel.ends.len() == 1;
            if observer_app == app && !peer {
                continue;
            }
            if unit_changed && seen.contains(unit) {
                hooks.push(Hook::relation(
                    observer,
                    &end.endpoint,
                    "changed",
                    *id,
                    app,
                    Some(unit),
                    None,
                ));
            } else if app_changed {
                hooks.push(Hook::relation(
                    observer,
                    &end.endpoint,
                    "changed",
                    *id,
                    app,
                    None,
                    None,
                ));
            }
        }
    }
    for (key, secret) in &after.secrets {
        let latest = secret.latest();
        let old = before.secrets.get(key);
        let old_latest = old.map(|s| s.latest()).unwrap_or(0);
        let uri = format!("secret://{}/{key}", after.uuid);
        if old.is_some() && latest > old_latest {
            for (consumer, c) in &secret.consumers {
                if is_owner(&secret.owner, consumer) || c.revision >= latest {
                    continue;
                }
                hooks.push(Hook::secret(
                    consumer,
                    "secret-changed",
                    &uri,
                    c.label.as_deref(),
                    None,
                ));
            }
        }
        if let Some(old) = old {
            let tracked = |s: &crate::state::SecretRecord| -> BTreeSet<u64> {
                s.consumers.values().map(|c| c.revision).collect()
            };
            let (was, now) = (tracked(old), tracked(secret));
            for rev in was.difference(&now) {
                if *rev >= latest || !secret.revisions.contains_key(rev) {
                    continue;
                }
                if let Some(owner_unit) = managing_unit(after, &secret.owner) {
                    hooks.push(Hook::secret(
                        &owner_unit,
                        "secret-remove",
                        &uri,
                        secret.label.as_deref(),
                        Some(*rev),
                    ));
                }
            }
        }
    }
    hooks
}

fn is_owner(owner: &SecretOwner, unit: &str) -> bool {
    match owner {
        SecretOwner::Unit(u) => u == unit,
        SecretOwner::App(a) => unit.split('/').next() == Some(a.as_str()),
    }
}

/// The unit that manages a secret: the owner unit, or the owner application's leader.
pub fn managing_unit(state: &ModelState, owner: &SecretOwner) -> Option<String> {
    match owner {
        SecretOwner::Unit(u) => Some(u.clone()),
        SecretOwner::App(a) => state.applications.get(a).and_then(|app| app.leader.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charm::Role;
    use crate::state::{Consumer, Relation, RelationEnd, SecretRecord};
    use std::collections::BTreeMap;

    fn model() -> ModelState {
        let mut m = ModelState {
            uuid: "u".into(),
            ..ModelState::default()
        };
        let rel = Relation {
            id: 3,
            interface: "pgsql".into(),
            ends: vec![
                RelationEnd {
                    app: "pg".into(),
                    endpoint: "db".into(),
                    role: Role::Provider,
                },
                RelationEnd {
                    app: "client".into(),
                    endpoint: "database".into(),
                    role: Role::Requirer,
                },
            ],
            app_data: BTreeMap::new(),
            unit_data: BTreeMap::new(),
            scope: [
                ("pg/0".to_string(), ["client/0".to_string()].into()),
                ("client/0".to_string(), ["pg/0".to_string()].into()),
                ("client/1".to_string(), BTreeSet::new()),
            ]
            .into(),
            dying: false,
        };
        m.relations.insert(3, rel);
        m
    }

    #[test]
    fn unit_data_reaches_units_that_see_the_writer() {
        let before = model();
        let mut after = before.clone();
        after.relations.get_mut(&3).unwrap().unit_data.insert(
            "pg/0".into(),
            [("host".to_string(), "x".to_string())].into(),
        );
        let hooks = follow_ups(&before, &after, "pg/0");
        assert_eq!(hooks.len(), 1, "client/1 has not seen pg/0 join: {hooks:?}");
        assert_eq!(hooks[0].unit, "client/0");
        assert_eq!(
            hooks[0].env.dispatch_path,
            "hooks/database-relation-changed"
        );
        assert_eq!(hooks[0].env.remote_unit.as_deref(), Some("pg/0"));
        assert!(follow_ups(&before, &before, "pg/0").is_empty());
    }

    #[test]
    fn app_data_reaches_every_remote_unit_without_a_remote_unit() {
        let before = model();
        let mut after = before.clone();
        after.relations.get_mut(&3).unwrap().app_data.insert(
            "pg".into(),
            [("endpoints".to_string(), "x".to_string())].into(),
        );
        let hooks = follow_ups(&before, &after, "pg/0");
        let units: Vec<&str> = hooks.iter().map(|h| h.unit.as_str()).collect();
        assert_eq!(units, ["client/0", "client/1"]);
        assert!(hooks.iter().all(|h| h.env.remote_unit.is_none()));
    }

    #[test]
    fn new_revisions_notify_consumers_and_untracked_ones_the_owner() {
        let mut before = model();
        before.applications.insert(
            "pg".into(),
            crate::state::Application {
                name: "pg".into(),
                charm: crate::charm::Charm {
                    dir: "/".into(),
                    meta: Default::default(),
                    config: Default::default(),
                    actions: Default::default(),
                },
                charm_revision: 1,
                config: BTreeMap::new(),
                leader: Some("pg/0".into()),
                status: None,
                workload_version: String::new(),
                next_unit: 1,
            },
        );
        before.secrets.insert(
            "abc".into(),
            SecretRecord {
                id: "abc".into(),
                owner: SecretOwner::App("pg".into()),
                revisions: [(1, BTreeMap::new())].into(),
                label: Some("mine".into()),
                description: None,
                expire: None,
                rotate: None,
                consumers: [
                    (
                        "client/0".to_string(),
                        Consumer {
                            label: Some("theirs".into()),
                            revision: 1,
                        },
                    ),
                    (
                        "pg/0".to_string(),
                        Consumer {
                            label: None,
                            revision: 1,
                        },
                    ),
                ]
                .into(),
                grants: vec![],
            },
        );
        let mut after = before.clone();
        after
            .secrets
            .get_mut("abc")
            .unwrap()
            .revisions
            .insert(2, BTreeMap::new());
        let hooks = follow_ups(&before, &after, "pg/0");
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].unit, "client/0");
        assert_eq!(hooks[0].env.secret_label.as_deref(), Some("theirs"));
        // Both consumers move to revision 2: revision 1 is no longer tracked.
        let mut refreshed = after.clone();
        for c in refreshed
            .secrets
            .get_mut("abc")
            .unwrap()
            .consumers
            .values_mut()
        {
            c.revision = 2;
        }
        let hooks = follow_ups(&after, &refreshed, "client/0");
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].unit, "pg/0");
        assert_eq!(hooks[0].env.dispatch_path, "hooks/secret-remove");
        assert_eq!(hooks[0].env.secret_revision, Some(1));
    }
}
