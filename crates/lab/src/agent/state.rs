//! `state-get`, `state-set`, `state-delete`: the charm's key-value state kept by Juju per unit
//! (juju `jujuc/state-*.go`), buffered in the working copy.

use super::Cx;
use super::flags::{
    FORMAT, Fail, Flag, Kind, OUTPUT, check_empty, format_check, parse, run_err, usage_err,
};
use super::format::{Format, GoValue};
use super::relation::{parse_key_values, read_file_var, yaml_string_map};
use crate::agent::ToolAnswer;

const ALL: &[Format] = &[Format::Smart, Format::Json, Format::Yaml];
/// Juju's `quota.MaxCharmStateKeySize` and `MaxCharmStateValueSize`.
const MAX_KEY: usize = 256;
const MAX_VALUE: usize = 64 * 1024;

/// `state-get [--strict] [<key>|-]`: the whole map, or one value (`""` when absent, an error
/// with `--strict`).
pub(crate) fn state_get(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(
        args,
        &[
            FORMAT,
            OUTPUT,
            Flag {
                names: &["strict"],
                kind: Kind::Bool,
            },
        ],
        &format_check(ALL),
    )?;
    let key = match p.args.first() {
        Some(k) if k != "-" => Some(k.clone()),
        _ => None,
    };
    if p.args.len() > 1 {
        check_empty(&p.args[1..])?;
    }
    let state = cx
        .ctx
        .working
        .units
        .get(&cx.ctx.unit)
        .map(|u| u.state.clone())
        .unwrap_or_default();
    let value = match key {
        None => GoValue::string_map(&state),
        Some(k) => match state.get(&k) {
            Some(v) => GoValue::str(v.clone()),
            None if p.flag("strict") => {
                return run_err(format!("{} not found", super::format::go_quote(&k)));
            }
            None => GoValue::str(""),
        },
    };
    cx.out(&p, Format::Smart).write(&value)
}

/// `state-set [--file <path>|-] [key=value...]`: merge (an empty value deletes), pairs override
/// the file.
pub(crate) fn state_set(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(
        args,
        &[Flag {
            names: &["file"],
            kind: Kind::Value,
        }],
        &super::flags::no_check,
    )?;
    let overrides = parse_key_values(&p.args)?;
    let mut settings = match p.value("file").filter(|f| !f.is_empty()) {
        Some(path) => yaml_string_map(&read_file_var(cx, path)?).map_err(Fail::Run)?,
        None => Vec::new(),
    };
    for (k, v) in overrides {
        settings.retain(|(ok, _)| *ok != k);
        settings.push((k, v));
    }
    for (k, v) in &settings {
        if k.len() > MAX_KEY {
            return run_err(format!("max allowed key length ({MAX_KEY}) exceeded"));
        }
        if v.len() > MAX_VALUE {
            return run_err(format!("max allowed value length ({MAX_VALUE}) exceeded"));
        }
    }
    let Some(u) = cx.ctx.working.units.get_mut(&cx.ctx.unit) else {
        return run_err("unit not found");
    };
    for (k, v) in settings {
        if v.is_empty() {
            u.state.remove(&k);
        } else {
            u.state.insert(k, v);
        }
    }
    Ok(ToolAnswer::ok(Vec::new()))
}

/// `state-delete <key>`.
pub(crate) fn state_delete(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[], &super::flags::no_check)?;
    let Some(key) = p.args.first().cloned() else {
        return usage_err("no key specified");
    };
    check_empty(&p.args[1..])?;
    if let Some(u) = cx.ctx.working.units.get_mut(&cx.ctx.unit) {
        u.state.remove(&key);
    }
    Ok(ToolAnswer::ok(Vec::new()))
}
