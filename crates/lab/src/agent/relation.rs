//! `relation-ids`, `relation-list`, `relation-get`, `relation-set`, `relation-model-get`
//! (juju `worker/uniter/runner/jujuc/relation-*.go` and the uniter facade's read rules).

use std::collections::BTreeMap;

use super::Cx;
use super::flags::{
    FORMAT, Fail, Flag, Kind, OUTPUT, RELATION, check_empty, format_check, go_io_error, parse,
    run_err, usage_err,
};
use super::format::{Format, GoValue, go_quote};
use crate::agent::ToolAnswer;

const ALL: &[Format] = &[Format::Smart, Format::Json, Format::Yaml];
const APP: Flag = Flag {
    names: &["app"],
    kind: Kind::Bool,
};

fn checks<'a>(cx: &'a Cx<'_>) -> impl Fn(&str, &str) -> Result<(), String> + 'a {
    let rel = cx.relation_check();
    let fmt = format_check(ALL);
    move |n, v| {
        rel(n, v)?;
        fmt(n, v)
    }
}

/// `relation-ids [<endpoint>]`: this application's relations on an endpoint, as `endpoint:id`,
/// sorted as strings, broken ones left out. An endpoint with no relations (or no such endpoint)
/// answers `[]`, as Juju does. The endpoint defaults to the hook's.
pub(crate) fn relation_ids(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[FORMAT, OUTPUT], &format_check(ALL))?;
    let app = cx.app();
    let hook_endpoint = cx
        .ctx
        .env
        .relation_id
        .and_then(|id| cx.ctx.working.relations.get(&id))
        .and_then(|r| r.end_of(&app))
        .map(|e| e.endpoint.clone());
    let name = match p.args.first() {
        Some(n) => {
            check_empty(&p.args[1..])?;
            n.clone()
        }
        None => match hook_endpoint {
            Some(e) => e,
            None => return usage_err("no relation name specified"),
        },
    };
    let mut ids: Vec<String> = cx
        .ctx
        .working
        .relations
        .values()
        .filter(|r| !r.dying)
        .filter(|r| r.end_of(&app).is_some_and(|e| e.endpoint == name))
        .filter_map(|r| r.key_for(&app))
        .collect();
    ids.sort();
    cx.out(&p, Format::Smart)
        .write(&GoValue::strings(ids, false))
}

/// `relation-list [-r <id>] [--app]`: the remote units this unit sees in the relation (sorted),
/// or with `--app` the remote application's name.
pub(crate) fn relation_list(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[FORMAT, OUTPUT, RELATION, APP], &checks(cx))?;
    let Some(id) = cx.relation_arg(&p) else {
        return usage_err("no relation id specified");
    };
    check_empty(&p.args)?;
    let unit = cx.unit();
    let app = cx.app();
    let r = &cx.ctx.working.relations[&id];
    let value = if p.flag("app") {
        GoValue::str(r.remote_app(&app).unwrap_or_default())
    } else {
        let units = r.scope.get(&unit).cloned().unwrap_or_default();
        GoValue::strings(units, false)
    };
    cx.out(&p, Format::Smart).write(&value)
}

/// `relation-get [-r <id>] [--app] [<key>|-] [<unit-or-app>]`.
///
/// Defaults: key `-` (all), unit `JUJU_REMOTE_UNIT`, else the remote application with `--app`
/// implied. Your own unit's bag and (leader) your own application's bag are read from the
/// working copy; anything else as committed (identical during a hook). A unit or application
/// outside the relation, or a non-leader's own application bag outside a peer relation:
/// `permission denied`.
pub(crate) fn relation_get(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[FORMAT, OUTPUT, RELATION, APP], &checks(cx))?;
    let Some(id) = cx.relation_arg(&p) else {
        return usage_err("no relation id specified");
    };
    let mut rest = p.args.clone().into_iter();
    let key = match rest.next() {
        Some(k) if k == "-" => String::new(),
        Some(k) => k,
        None => String::new(),
    };
    let mut application = p.flag("app");
    let target = match rest.next() {
        Some(given) if application => match given.split_once('/') {
            Some((a, _)) if is_unit_name(&given) => a.to_string(),
            _ => given,
        },
        Some(given) => given,
        None if application => match cx.ctx.env.remote_app.clone().filter(|a| !a.is_empty()) {
            Some(a) => a,
            None => return usage_err("no unit or application specified"),
        },
        None => match (
            cx.ctx.env.remote_unit.clone().filter(|u| !u.is_empty()),
            cx.ctx.env.remote_app.clone().filter(|a| !a.is_empty()),
        ) {
            (Some(u), _) => u,
            (None, Some(a)) => {
                application = true;
                a
            }
            (None, None) => return usage_err("no unit or application specified"),
        },
    };
    check_empty(&rest.collect::<Vec<_>>())?;

    let unit = cx.unit();
    let app = cx.app();
    let r = &cx.ctx.working.relations[&id];
    let empty = BTreeMap::new();
    let local = target == unit || (target == app && cx.is_leader());
    let bag = if local {
        if application {
            r.app_data.get(&app).unwrap_or(&empty)
        } else {
            // Juju reads the unit's own bag here even for `relation-get - <own-app>` (leader).
            r.unit_data.get(&unit).unwrap_or(&empty)
        }
    } else if application {
        // A peer relation's application bag is readable by every unit (ops: "peer relation
        // data is always publicly readable"); another relation's own-application bag only by
        // the leader.
        let peer = r.ends.len() == 1;
        if (target == app && !peer) || r.end_of(&target).is_none() {
            return run_err("permission denied");
        }
        r.app_data.get(&target).unwrap_or(&empty)
    } else {
        let Some((target_app, _)) = target.split_once('/').filter(|_| is_unit_name(&target)) else {
            return run_err("permission denied");
        };
        if r.end_of(target_app).is_none() {
            return run_err("permission denied");
        }
        match r.unit_data.get(&target) {
            Some(b) => b,
            None if cx.ctx.working.units.contains_key(&target) => &empty,
            // The controller has no settings for a unit that never joined (guessed text).
            None => return run_err("permission denied"),
        }
    };
    let value = if key.is_empty() {
        GoValue::string_map(bag)
    } else {
        bag.get(&key)
            .map(|v| GoValue::str(v.clone()))
            .unwrap_or(GoValue::Null)
    };
    cx.out(&p, Format::Smart).write(&value)
}

fn is_unit_name(s: &str) -> bool {
    match s.rsplit_once('/') {
        Some((a, n)) => !a.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// `keyvalues.Parse(args, true)` from `juju/utils`: `key=value` pairs, key and value trimmed,
/// empty values allowed, no key twice.
pub(crate) fn parse_key_values(args: &[String]) -> Result<Vec<(String, String)>, Fail> {
    let mut out: Vec<(String, String)> = Vec::new();
    for kv in args {
        let Some((k, v)) = kv.split_once('=') else {
            return usage_err(format!("expected \"key=value\", got {}", go_quote(kv)));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            return usage_err(format!("expected \"key=value\", got \"{k}={v}\""));
        }
        if out.iter().any(|(ok, _)| ok == k) {
            return usage_err(format!("key {} specified more than once", go_quote(k)));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// Read a `cmd.FileVar` (`-` is stdin; relative paths from the caller's directory).
pub(crate) fn read_file_var(cx: &Cx<'_>, path: &str) -> Result<Vec<u8>, Fail> {
    if path == "-" {
        return Ok(cx.call.stdin.clone());
    }
    let abs = cx.abs_path(path);
    cx.call
        .read_file(&abs)
        .map_err(|e| Fail::Run(go_io_error("open", &abs, &e)))
}

/// A YAML mapping read as yaml.v2 reads it into `map[string]string`: scalars keep their text,
/// `null` is the empty string, nested collections are refused.
pub(crate) fn yaml_string_map(data: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = String::from_utf8_lossy(data);
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| format!("yaml: {e}"))?;
    let scalar = |v: &serde_yaml::Value| -> Result<String, String> {
        match v {
            serde_yaml::Value::Null => Ok(String::new()),
            serde_yaml::Value::Bool(b) => Ok(b.to_string()),
            serde_yaml::Value::Number(n) => Ok(n.to_string()),
            serde_yaml::Value::String(s) => Ok(s.clone()),
            serde_yaml::Value::Sequence(_) => {
                Err("yaml: unmarshal errors:\n  cannot unmarshal !!seq into string".into())
            }
            _ => Err("yaml: unmarshal errors:\n  cannot unmarshal !!map into string".into()),
        }
    };
    match doc {
        serde_yaml::Value::Null => Ok(Vec::new()),
        serde_yaml::Value::Mapping(m) => m
            .iter()
            .map(|(k, v)| Ok((scalar(k)?, scalar(v)?)))
            .collect(),
        serde_yaml::Value::Sequence(_) => Err(
            "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into map[string]string"
                .into(),
        ),
        _ => Err(
            "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str into map[string]string"
                .into(),
        ),
    }
}

/// `relation-set [-r <id>] [--app] [--file <path>|-] [key=value...]`: merge into this unit's bag
/// (or, leader only, this application's bag) in the working copy; an empty value deletes the key.
/// Positional pairs override the file's.
pub(crate) fn relation_set(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let flags = [
        RELATION,
        APP,
        Flag {
            names: &["file"],
            kind: Kind::Value,
        },
        Flag {
            names: &["format"],
            kind: Kind::Value,
        },
    ];
    let p = parse(args, &flags, &cx.relation_check())?;
    let Some(id) = cx.relation_arg(&p) else {
        return usage_err("no relation id specified");
    };
    let overrides = parse_key_values(&p.args)?;
    let mut stderr = Vec::new();
    if p.value("format").is_some_and(|f| !f.is_empty()) {
        stderr = b"--format flag deprecated for command \"relation-set\"".to_vec();
    }
    let mut settings = match p.value("file").filter(|f| !f.is_empty()) {
        Some(path) => {
            let data = read_file_var(cx, path)?;
            yaml_string_map(&data).map_err(Fail::Run)?
        }
        None => Vec::new(),
    };
    for (k, v) in overrides {
        settings.retain(|(ok, _)| *ok != k);
        settings.push((k, v));
    }
    let app_bag = p.flag("app");
    if app_bag && !cx.is_leader() {
        return run_err("cannot write relation settings");
    }
    let unit = cx.unit();
    let app = cx.app();
    let Some(r) = cx.ctx.working.relations.get_mut(&id) else {
        return run_err("relation not found");
    };
    let bag = if app_bag {
        r.app_data.entry(app).or_default()
    } else {
        r.unit_data.entry(unit).or_default()
    };
    for (k, v) in settings {
        if v.is_empty() {
            bag.remove(&k);
        } else {
            bag.insert(k, v);
        }
    }
    Ok(ToolAnswer {
        stdout: Vec::new(),
        stderr,
        code: 0,
    })
}

/// `relation-model-get [-r <id>]`: `{"uuid": "<model uuid>"}` (one model in the lab).
pub(crate) fn relation_model_get(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[FORMAT, OUTPUT, RELATION], &checks(cx))?;
    if cx.relation_arg(&p).is_none() {
        return usage_err("no relation id specified");
    }
    check_empty(&p.args)?;
    let value = GoValue::Map(vec![(
        "uuid".into(),
        GoValue::str(cx.ctx.working.uuid.clone()),
    )]);
    cx.out(&p, Format::Smart).write(&value)
}
