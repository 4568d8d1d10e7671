//! `action-get`, `action-set`, `action-fail`, `action-log` (juju `jujuc/action-*.go`). Results,
//! logs and failure go to the context's [`ActionRun`](super::ActionRun), which the engine keeps
//! whatever the exit code.

use std::collections::BTreeMap;

use super::Cx;
use super::flags::{FORMAT, Fail, OUTPUT, check_empty, format_check, parse, run_err, usage_err};
use super::format::{Format, GoValue, go_quote};
use crate::agent::ToolAnswer;

const ALL: &[Format] = &[Format::Smart, Format::Json, Format::Yaml];

/// Keys Juju keeps for `juju exec` output (`reservedKeys` in `action-set.go`).
const RESERVED: [&str; 4] = ["stdout", "stdout-encoding", "stderr", "stderr-encoding"];

/// The fail message Juju uses when `action-fail` gets none.
pub(crate) const DEFAULT_FAIL: &str = "action failed without reason given, check action for errors";

fn not_running<T>() -> Result<T, Fail> {
    run_err("not running an action")
}

/// `action-get [<key>[.<key>...]]`: the parameters (defaults filled in), or the value at a
/// dotted path (`null` when absent).
pub(crate) fn action_get(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[FORMAT, OUTPUT], &format_check(ALL))?;
    let keys: Vec<&str> = match p.args.first() {
        Some(k) => {
            check_empty(&p.args[1..])?;
            k.split('.').collect()
        }
        None => Vec::new(),
    };
    let Some(action) = &cx.ctx.action else {
        return not_running();
    };
    let mut value = serde_json::Value::Object(action.params.clone());
    for k in keys {
        value = match value.get(k) {
            Some(v) => v.clone(),
            None => serde_json::Value::Null,
        };
    }
    cx.out(&p, Format::Smart).write(&GoValue::from_json(&value))
}

/// A valid key component: `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`.
pub(crate) fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `action-set <key>[.<key>...]=<value>...`: every pair is checked before any is set (usage
/// errors, exit 2: `argument "x" must be of the form key...=value`, `key "X" must start and end
/// with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods`,
/// `cannot set reserved action key "stdout"`). Setting follows Juju's `addValueToMap`: a value
/// replaces a map at its path and a map replaces a value on the way.
pub(crate) fn action_set(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[], &super::flags::no_check)?;
    let mut pairs = Vec::new();
    for arg in &p.args {
        let Some((k, v)) = arg.split_once('=') else {
            return usage_err(format!(
                "argument {} must be of the form key...=value",
                go_quote(arg)
            ));
        };
        for part in k.split('.') {
            if !valid_key(part) {
                return usage_err(format!(
                    "key {} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods",
                    go_quote(part)
                ));
            }
            if RESERVED.contains(&part) {
                return usage_err(format!("cannot set reserved action key {}", go_quote(part)));
            }
        }
        pairs.push((k.to_string(), v.to_string()));
    }
    if pairs.is_empty() {
        return Ok(ToolAnswer::ok(Vec::new()));
    }
    let Some(action) = &mut cx.ctx.action else {
        return not_running();
    };
    for (k, v) in pairs {
        set_result(&mut action.results, &k, v);
    }
    Ok(ToolAnswer::ok(Vec::new()))
}

/// Set a dotted key in a flat result map with Juju's overwrite rules.
pub(crate) fn set_result(results: &mut BTreeMap<String, String>, key: &str, value: String) {
    // Ancestors that held values become maps.
    let mut prefix = String::new();
    for part in key.split('.').take(key.split('.').count() - 1) {
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(part);
        results.remove(&prefix);
    }
    // A map at this path is replaced by the value.
    let below = format!("{key}.");
    results.retain(|k, _| !k.starts_with(&below));
    results.insert(key.to_string(), value);
}

/// `action-fail [<message>]`: marks the action failed (Juju's default message when none).
pub(crate) fn action_fail(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[], &super::flags::no_check)?;
    let message = match p.args.first() {
        Some(m) => {
            check_empty(&p.args[1..])?;
            m.clone()
        }
        None => DEFAULT_FAIL.to_string(),
    };
    let Some(action) = &mut cx.ctx.action else {
        return not_running();
    };
    action.failed = Some(message);
    Ok(ToolAnswer::ok(Vec::new()))
}

/// `action-log <message>...`: a progress line for the operator (words joined by spaces).
pub(crate) fn action_log(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[], &super::flags::no_check)?;
    if p.args.is_empty() {
        return usage_err("no message specified");
    }
    let message = p.args.join(" ");
    let Some(action) = &mut cx.ctx.action else {
        return not_running();
    };
    action.logs.push(message);
    Ok(ToolAnswer::ok(Vec::new()))
}

/// Results as the nested map Juju reports (`a.b=1` → `{"a": {"b": "1"}}`).
pub(crate) fn nested_results(results: &BTreeMap<String, String>) -> GoValue {
    fn insert(entries: &mut Vec<(String, GoValue)>, path: &[&str], value: &str) {
        let (head, rest) = (path[0], &path[1..]);
        let pos = entries.iter().position(|(k, _)| k == head);
        if rest.is_empty() {
            match pos {
                Some(i) => entries[i].1 = GoValue::str(value),
                None => entries.push((head.to_string(), GoValue::str(value))),
            }
            return;
        }
        let i = match pos {
            Some(i) if matches!(entries[i].1, GoValue::Map(_)) => i,
            Some(i) => {
                entries[i].1 = GoValue::Map(Vec::new());
                i
            }
            None => {
                entries.push((head.to_string(), GoValue::Map(Vec::new())));
                entries.len() - 1
            }
        };
        if let GoValue::Map(inner) = &mut entries[i].1 {
            insert(inner, rest, value);
        }
    }
    fn sort(v: &mut GoValue) {
        if let GoValue::Map(entries) = v {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, e) in entries.iter_mut() {
                sort(e);
            }
        }
    }
    let mut entries = Vec::new();
    for (k, v) in results {
        let path: Vec<&str> = k.split('.').collect();
        insert(&mut entries, &path, v);
    }
    let mut value = GoValue::Map(entries);
    sort(&mut value);
    value
}
