//! `status-set`, `status-get`, `juju-log`, `application-version-set`: effects Juju applies at
//! once, so they go to the committed model as well as the working copy.

use super::Cx;
use super::flags::{
    FORMAT, Fail, Flag, Kind, OUTPUT, check_empty, format_check, parse, run_err, usage_err,
};
use super::format::{Format, GoValue, go_quote};
use crate::agent::ToolAnswer;
use crate::state::{LogLine, StatusRecord, now_rfc3339};

const ALL: &[Format] = &[Format::Smart, Format::Json, Format::Yaml];
const APPLICATION: Flag = Flag {
    names: &["application"],
    kind: Kind::Bool,
};

/// The statuses a charm may set, in Juju's order (`validStatus` in `status-set.go`).
const SETTABLE: [&str; 4] = ["maintenance", "blocked", "waiting", "active"];

/// `status-set [--application] <status> [<message>]`.
///
/// Juju's texts: `invalid args, require <status> [message] [data]` and
/// `invalid status "x", expected one of [maintenance blocked waiting active]` (usage errors,
/// exit 2; Go prints the `[]status.Status` with `%v`), `this unit is not the leader` (exit 1).
pub(crate) fn status_set(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[APPLICATION], &super::flags::no_check)?;
    let Some(status) = p.args.first() else {
        return usage_err("invalid args, require <status> [message] [data]");
    };
    if !SETTABLE.contains(&status.as_str()) {
        return usage_err(format!(
            "invalid status {}, expected one of [{}]",
            go_quote(status),
            SETTABLE.join(" ")
        ));
    }
    let message = p.args.get(1).cloned().unwrap_or_default();
    if p.args.len() > 2 {
        check_empty(&p.args[2..])?;
    }
    let record = StatusRecord::new(status, &message);
    let unit = cx.unit();
    let app = cx.app();
    if p.flag("application") {
        if !cx.is_leader() {
            return run_err("this unit is not the leader");
        }
        for model in [&mut *cx.committed, &mut cx.ctx.working] {
            if let Some(a) = model.applications.get_mut(&app) {
                a.status = Some(record.clone());
            }
        }
    } else {
        for model in [&mut *cx.committed, &mut cx.ctx.working] {
            if let Some(u) = model.units.get_mut(&unit) {
                u.status = record.clone();
            }
        }
    }
    Ok(ToolAnswer::ok(Vec::new()))
}

fn details(status: &StatusRecord, include_data: bool) -> GoValue {
    let mut m = vec![("status".to_string(), GoValue::str(status.status.clone()))];
    if include_data {
        m.push(("status-data".into(), GoValue::Map(Vec::new())));
        m.push(("message".into(), GoValue::str(status.message.clone())));
    }
    GoValue::map(m)
}

/// `status-get [--include-data] [--application]`. Smart format without `--include-data` prints
/// the bare status; otherwise `{"message", "status", "status-data"}`, or for the application
/// (leader only) `{"application-status": {..., "units": {<unit>: {...}}}}`.
pub(crate) fn status_get(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let flags = [
        FORMAT,
        OUTPUT,
        APPLICATION,
        Flag {
            names: &["include-data"],
            kind: Kind::Bool,
        },
    ];
    let p = parse(args, &flags, &format_check(ALL))?;
    check_empty(&p.args)?;
    let out = cx.out(&p, Format::Smart);
    let include = p.flag("include-data");
    let plain = !include && out.format == Format::Smart;
    let unknown = StatusRecord {
        status: "unknown".into(),
        message: String::new(),
        since: String::new(),
    };
    if p.flag("application") {
        if !cx.is_leader() {
            return run_err("finding application status: this unit is not the leader");
        }
        let app = cx.app();
        let model = &*cx.committed;
        let app_status = model
            .applications
            .get(&app)
            .and_then(|a| a.status.clone())
            .unwrap_or(unknown);
        if plain {
            return out.write(&GoValue::str(app_status.status));
        }
        let units = GoValue::map(
            model
                .units
                .values()
                .filter(|u| u.app == app)
                .map(|u| (u.name.clone(), details(&u.status, include))),
        );
        let GoValue::Map(mut inner) = details(&app_status, include) else {
            unreachable!("details is a map")
        };
        inner.push(("units".into(), units));
        let value = GoValue::Map(vec![("application-status".into(), GoValue::map(inner))]);
        return out.write(&value);
    }
    let status = cx
        .committed
        .units
        .get(&cx.ctx.unit)
        .map(|u| u.status.clone())
        .unwrap_or(unknown);
    if plain {
        return out.write(&GoValue::str(status.status));
    }
    out.write(&details(&status, include))
}

/// Append a line to the model's log (committed and working).
pub(crate) fn log_line(cx: &mut Cx<'_>, level: &str, message: String) {
    let line = LogLine {
        time: now_rfc3339(),
        unit: cx.unit(),
        level: level.to_string(),
        message,
    };
    cx.committed.log.push(line.clone());
    cx.ctx.working.log.push(line);
}

/// `juju-log [--debug] [-l|--log-level <LEVEL>] <message>...`: one log line; words joined by
/// spaces; in a relation hook prefixed `<endpoint>:<id>: `. Levels as loggo parses them (any
/// case, `WARN` = `WARNING`); an unknown level logs Juju's warning and uses INFO; `CRITICAL`
/// is recorded as ERROR.
pub(crate) fn juju_log(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let flags = [
        Flag {
            names: &["debug"],
            kind: Kind::Bool,
        },
        Flag {
            names: &["l", "log-level"],
            kind: Kind::Value,
        },
        Flag {
            names: &["format"],
            kind: Kind::Value,
        },
    ];
    let p = parse(args, &flags, &super::flags::no_check)?;
    if p.args.is_empty() {
        return usage_err("no message specified");
    }
    let message = p.args.join(" ");
    let mut stderr = Vec::new();
    if p.value("format").is_some_and(|f| !f.is_empty()) {
        stderr = b"--format flag deprecated for command \"juju-log\"".to_vec();
    }
    let requested = p.value("l").unwrap_or("INFO");
    let level = if p.flag("debug") {
        "DEBUG"
    } else if requested.is_empty() {
        "INFO"
    } else {
        match requested.to_ascii_uppercase().as_str() {
            "TRACE" => "TRACE",
            "DEBUG" => "DEBUG",
            "INFO" => "INFO",
            "WARN" | "WARNING" => "WARNING",
            "ERROR" | "CRITICAL" => "ERROR",
            _ => {
                log_line(
                    cx,
                    "WARNING",
                    format!(
                        "Specified log level of {} is not valid",
                        go_quote(requested)
                    ),
                );
                "INFO"
            }
        }
    };
    let app = cx.app();
    let prefix = cx
        .ctx
        .env
        .relation_id
        .and_then(|id| cx.ctx.working.relations.get(&id))
        .and_then(|r| r.key_for(&app))
        .map(|k| format!("{k}: "))
        .unwrap_or_default();
    log_line(cx, level, format!("{prefix}{message}"));
    Ok(ToolAnswer {
        stdout: Vec::new(),
        stderr,
        code: 0,
    })
}

/// `application-version-set <version>`: the workload version `juju status` shows (immediate).
pub(crate) fn application_version_set(
    cx: &mut Cx<'_>,
    args: &[String],
) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[], &super::flags::no_check)?;
    let Some(version) = p.args.first().cloned() else {
        return usage_err("no version specified");
    };
    check_empty(&p.args[1..])?;
    let app = cx.app();
    for model in [&mut *cx.committed, &mut cx.ctx.working] {
        if let Some(a) = model.applications.get_mut(&app) {
            a.workload_version = version.clone();
        }
    }
    Ok(ToolAnswer::ok(Vec::new()))
}
