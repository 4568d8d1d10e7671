//! `storage-list`, `storage-get`, `storage-add` and `goal-state` (juju `jujuc/storage-*.go`,
//! `goal-state.go` and the uniter facade's goal-state rules).

use super::Cx;
use super::flags::{
    FORMAT, Fail, Flag, Kind, OUTPUT, check_empty, format_check, parse, run_err, usage_err,
};
use super::format::{Format, GoValue, go_quote};
use crate::agent::ToolAnswer;
use crate::state::{StorageInstance, now_rfc3339};

const ALL: &[Format] = &[Format::Smart, Format::Json, Format::Yaml];

/// `storage-list [<name>]`: the storage instances attached to this unit (`pgdata/0`), sorted.
pub(crate) fn storage_list(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[FORMAT, OUTPUT], &format_check(ALL))?;
    let name = p.args.first().cloned();
    if p.args.len() > 1 {
        check_empty(&p.args[1..])?;
    }
    let ids: Vec<String> = cx
        .ctx
        .working
        .units
        .get(&cx.ctx.unit)
        .map(|u| {
            u.storage
                .keys()
                .filter(|id| {
                    name.as_ref()
                        .is_none_or(|n| id.split('/').next() == Some(n))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    cx.out(&p, Format::Smart)
        .write(&GoValue::strings(ids, false))
}

fn valid_storage_id(s: &str) -> bool {
    match s.rsplit_once('/') {
        Some((n, i)) => !n.is_empty() && !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// `storage-get [-s <id>] [kind|location]`: `{"kind": ..., "location": ...}` or one of them.
/// In a storage hook `-s` defaults to `JUJU_STORAGE_ID`.
pub(crate) fn storage_get(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let unit = cx.unit();
    let attached = |id: &str| {
        cx.ctx
            .working
            .units
            .get(&unit)
            .and_then(|u| u.storage.get(id))
            .cloned()
    };
    let check = |name: &str, v: &str| -> Result<(), String> {
        if name == "s" {
            if !valid_storage_id(v) {
                return Err(format!("invalid storage ID {}", go_quote(v)));
            }
            if attached(v).is_none() {
                // The controller's answer for an unattached instance (text guessed).
                return Err(format!("storage attachment {} not found", go_quote(v)));
            }
        }
        format_check(ALL)(name, v)
    };
    let flags = [
        FORMAT,
        OUTPUT,
        Flag {
            names: &["s"],
            kind: Kind::Value,
        },
    ];
    let p = parse(args, &flags, &check)?;
    let id = p
        .value("s")
        .map(str::to_string)
        .or_else(|| cx.ctx.env.storage_id.clone().filter(|s| !s.is_empty()));
    let Some(id) = id else {
        return usage_err("no storage instance specified");
    };
    let key = p.args.first().cloned();
    if p.args.len() > 1 {
        check_empty(&p.args[1..])?;
    }
    let Some(storage) = attached(&id) else {
        return run_err(format!("storage attachment {} not found", go_quote(&id)));
    };
    let values = vec![
        ("kind".to_string(), GoValue::str(storage.kind)),
        ("location".to_string(), GoValue::str(storage.location)),
    ];
    let value = match key {
        None => GoValue::Map(values),
        Some(k) => match values.into_iter().find(|(n, _)| *n == k) {
            Some((_, v)) => v,
            None => return run_err(format!("invalid storage attribute {}", go_quote(&k))),
        },
    };
    cx.out(&p, Format::Smart).write(&value)
}

/// `storage-add <name>[=<count>[,<size>...]] ...`: new instances are recorded in the working copy
/// (`<name>/<n>` with the next free index in the model); the engine attaches them and fires
/// `<name>-storage-attached` once the hook succeeds.
pub(crate) fn storage_add(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[], &super::flags::no_check)?;
    if p.args.is_empty() {
        return usage_err("storage add requires a storage directive");
    }
    let mut wanted: Vec<(String, u64)> = Vec::new();
    for arg in &p.args {
        let (name, spec) = match arg.split_once('=') {
            Some((n, s)) => (n.to_string(), s),
            None => (arg.clone(), ""),
        };
        let count = spec
            .split(',')
            .find(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse().ok())
            .unwrap_or(1);
        if name.is_empty() {
            return usage_err(format!(
                "expected \"name=constraints\" or \"name\", got {}",
                go_quote(arg)
            ));
        }
        wanted.push((name, count));
    }
    let Some(charm) = cx.charm().cloned() else {
        return run_err("charm not found");
    };
    for (name, count) in wanted {
        let Some(decl) = charm.meta.storage.get(&name) else {
            // Juju validates the name against the charm when it commits (text guessed).
            return run_err(format!(
                "adding storage {name}: charm storage {} not found",
                go_quote(&name)
            ));
        };
        for _ in 0..count {
            let next = cx
                .ctx
                .working
                .units
                .values()
                .flat_map(|u| u.storage.keys())
                .filter_map(|id| {
                    id.split_once('/')
                        .filter(|(n, _)| *n == name)
                        .and_then(|(_, i)| i.parse::<u64>().ok())
                })
                .max()
                .map_or(0, |m| m + 1);
            let id = format!("{name}/{next}");
            let location = decl
                .location
                .clone()
                .unwrap_or_else(|| format!("/var/lib/juju/storage/{name}/{next}"));
            let instance = StorageInstance {
                kind: decl.kind.clone(),
                location,
            };
            if let Some(u) = cx.ctx.working.units.get_mut(&cx.ctx.unit) {
                u.storage.insert(id, instance);
            }
        }
    }
    Ok(ToolAnswer::ok(Vec::new()))
}

/// `goal-state`: `{"units": {<unit>: {status, since}}, "relations": {<endpoint>: {<remote app>:
/// {status, since}, <remote unit>: {status, since}}}}`. Unit status is the workload status, or `dying`;
/// peer relations are left out, as Juju does.
pub(crate) fn goal_state(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[FORMAT, OUTPUT], &format_check(ALL))?;
    check_empty(&p.args)?;
    let model = &cx.ctx.working;
    let app = cx.ctx.app();
    let units_of = |a: &str| {
        GoValue::map(model.units.values().filter(|u| u.app == a).map(|u| {
            let status = if u.dying {
                "dying".to_string()
            } else {
                u.status.status.clone()
            };
            let since = Some(u.status.since.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(now_rfc3339);
            let s = vec![
                ("status".to_string(), GoValue::Str(status)),
                ("since".into(), GoValue::Time(since)),
            ];
            (u.name.clone(), GoValue::Map(s))
        }))
    };
    let mut relations: Vec<(String, GoValue)> = Vec::new();
    for r in model.relations.values().filter(|r| r.ends.len() == 2) {
        let Some(local) = r.end_of(app) else { continue };
        let Some(remote) = r.remote_app(app) else {
            continue;
        };
        let status = if r.dying { "broken" } else { "joined" };
        // The lab keeps no time for the relation's status: the remote application's status time,
        // else its newest unit status time, stands in for it (ops requires a `since`).
        let since = model
            .applications
            .get(remote)
            .and_then(|a| a.status.as_ref())
            .map(|s| s.since.clone())
            .or_else(|| {
                model
                    .units
                    .values()
                    .filter(|u| u.app == remote)
                    .map(|u| u.status.since.clone())
                    .max()
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(now_rfc3339);
        let mut entries = vec![(
            remote.to_string(),
            GoValue::Map(vec![
                ("status".into(), GoValue::str(status)),
                ("since".into(), GoValue::Time(since)),
            ]),
        )];
        if let GoValue::Map(units) = units_of(remote) {
            entries.extend(units);
        }
        match relations.iter_mut().find(|(k, _)| *k == local.endpoint) {
            Some((_, GoValue::Map(existing))) => existing.extend(entries),
            _ => relations.push((local.endpoint.clone(), GoValue::Map(entries))),
        }
    }
    let relations = GoValue::map(relations.into_iter().map(|(k, v)| match v {
        GoValue::Map(e) => (k, GoValue::map(e)),
        other => (k, other),
    }));
    let value = GoValue::Map(vec![
        ("units".into(), units_of(app)),
        ("relations".into(), relations),
    ]);
    cx.out(&p, Format::Smart).write(&value)
}
