//! `relation-ids`, `relation-list`, `relation-get`, `relation-set`.

use std::collections::BTreeMap;

use super::{HookTools, argv};
use crate::RelationRef;
use crate::error::{Error, Result};

/// One relation databag: string keys to string values.
pub type RelationData = BTreeMap<String, String>;

/// Whose databag: a unit's or an application's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A unit's bag (`app/0`).
    Unit(String),
    /// An application's bag (`app`).
    App(String),
}

impl Target {
    fn name(&self) -> &str {
        match self {
            Target::Unit(n) | Target::App(n) => n,
        }
    }
}

pub(crate) fn relation_ids_args(endpoint: &str) -> Vec<String> {
    argv([endpoint, "--format=json"])
}

pub(crate) fn relation_list_args(relation: &RelationRef, app: bool) -> Vec<String> {
    let r = relation.arg();
    if app {
        argv(["--format=json", "--app", "-r", &r])
    } else {
        argv(["--format=json", "-r", &r])
    }
}

pub(crate) fn relation_get_args(relation: &RelationRef, target: &Target) -> Vec<String> {
    let mut args = argv(["--format=json", "-r", &relation.arg()]);
    if matches!(target, Target::App(_)) {
        args.push("--app".into());
    }
    args.push("-".into());
    args.push(target.name().to_string());
    args
}

pub(crate) fn relation_set_args(relation: &RelationRef, app: bool) -> Vec<String> {
    let mut args = argv(["-r", &relation.arg()]);
    if app {
        args.push("--app".into());
    }
    args.extend(argv(["--file", "-"]));
    args
}

/// The keys of `wanted` that differ from `current` (an empty value means "delete").
pub(crate) fn relation_diff(current: &RelationData, wanted: &RelationData) -> RelationData {
    wanted
        .iter()
        .filter(|(k, v)| match current.get(*k) {
            Some(old) => old != *v,
            None => !v.is_empty(),
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl HookTools {
    /// `relation-ids <endpoint> --format=json`: the relations established on an endpoint.
    pub fn relation_ids(&self, endpoint: &str) -> Result<Vec<RelationRef>> {
        if let Some(ids) = self.cache().relation_ids.get(endpoint) {
            return Ok(ids.clone());
        }
        let raw: Vec<String> =
            self.call_json("relation-ids", &relation_ids_args(endpoint), None)?;
        let ids = raw
            .iter()
            .map(|r| {
                RelationRef::parse(r).map_err(|e| Error::Parse {
                    tool: "relation-ids".into(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.cache()
            .relation_ids
            .insert(endpoint.to_string(), ids.clone());
        Ok(ids)
    }

    /// `relation-list --format=json -r <ref>`: the remote units in the relation (for a peer
    /// relation, the other units of this application).
    pub fn relation_list(&self, relation: &RelationRef) -> Result<Vec<String>> {
        if let Some(units) = self.cache().relation_units.get(&relation.id) {
            return Ok(units.clone());
        }
        let units: Vec<String> =
            self.call_json("relation-list", &relation_list_args(relation, false), None)?;
        self.cache()
            .relation_units
            .insert(relation.id, units.clone());
        Ok(units)
    }

    /// `relation-list --format=json --app -r <ref>`: the remote application's name, or `None` when
    /// the relation is gone.
    pub fn relation_remote_app(&self, relation: &RelationRef) -> Result<Option<String>> {
        if let Some(app) = self.cache().remote_apps.get(&relation.id) {
            return Ok(app.clone());
        }
        let app = match self.call_json::<Option<String>>(
            "relation-list",
            &relation_list_args(relation, true),
            None,
        ) {
            Ok(app) => app.filter(|a| !a.is_empty()),
            Err(e) if e.is_relation_not_found() => None,
            Err(e) => return Err(e),
        };
        self.cache().remote_apps.insert(relation.id, app.clone());
        Ok(app)
    }

    /// `relation-get --format=json -r <ref> [--app] - <unit-or-app>`: a whole databag.
    ///
    /// Your own unit's bag and (as leader) your own app's bag show this hook's uncommitted
    /// writes; other bags show committed data. A non-leader reading its own app bag gets
    /// [`Error::PermissionDenied`] from Juju.
    pub fn relation_get(&self, relation: &RelationRef, target: &Target) -> Result<RelationData> {
        let key = (relation.id, target.clone());
        if let Some(data) = self.cache().relation_data.get(&key) {
            return Ok(data.clone());
        }
        let data: Option<RelationData> =
            self.call_json("relation-get", &relation_get_args(relation, target), None)?;
        let data = data.unwrap_or_default();
        self.cache().relation_data.insert(key, data.clone());
        Ok(data)
    }

    /// `relation-set -r <ref> [--app] --file -`, data as JSON on stdin: merge `changes` into this
    /// unit's bag (or, with `app`, this application's bag; leader only). An empty value deletes
    /// the key. Keys that already hold the wanted value are not sent; nothing is sent when nothing
    /// changes. Juju commits the write only if the hook succeeds.
    pub fn relation_set(
        &self,
        relation: &RelationRef,
        app: bool,
        changes: &RelationData,
    ) -> Result<()> {
        let target = if app {
            Target::App(self.app.clone())
        } else {
            Target::Unit(self.unit.clone())
        };
        let current = self.relation_get(relation, &target)?;
        let diff = relation_diff(&current, changes);
        if diff.is_empty() {
            return Ok(());
        }
        let body = serde_json::to_vec(&diff).map_err(|e| Error::Invalid(e.to_string()))?;
        self.call(
            "relation-set",
            &relation_set_args(relation, app),
            Some(&body),
        )?;
        let mut cache = self.cache();
        let bag = cache
            .relation_data
            .entry((relation.id, target))
            .or_default();
        for (k, v) in diff {
            if v.is_empty() {
                bag.remove(&k);
            } else {
                bag.insert(k, v);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel() -> RelationRef {
        RelationRef {
            endpoint: "database".into(),
            id: 5,
        }
    }

    #[test]
    fn argv_matches_the_spec() {
        assert_eq!(relation_ids_args("database"), ["database", "--format=json"]);
        assert_eq!(
            relation_list_args(&rel(), false),
            ["--format=json", "-r", "database:5"]
        );
        assert_eq!(
            relation_list_args(&rel(), true),
            ["--format=json", "--app", "-r", "database:5"]
        );
        assert_eq!(
            relation_get_args(&rel(), &Target::Unit("app/1".into())),
            ["--format=json", "-r", "database:5", "-", "app/1"]
        );
        assert_eq!(
            relation_get_args(&rel(), &Target::App("app".into())),
            ["--format=json", "-r", "database:5", "--app", "-", "app"]
        );
        assert_eq!(
            relation_set_args(&rel(), true),
            ["-r", "database:5", "--app", "--file", "-"]
        );
        assert_eq!(
            relation_set_args(&rel(), false),
            ["-r", "database:5", "--file", "-"]
        );
    }

    #[test]
    fn diff_sends_only_changes_and_real_deletions() {
        let current: RelationData = [("a", "1"), ("b", "2")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let wanted: RelationData = [("a", "1"), ("b", ""), ("c", "3"), ("d", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let diff = relation_diff(&current, &wanted);
        let expected: RelationData = [("b", ""), ("c", "3")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(diff, expected);
        assert!(relation_diff(&current, &current).is_empty());
    }
}
