//! `config-get`, `is-leader`, `leader-get`, `leader-set`, `credential-get`, `resource-get`, and
//! the type check of `juju config app key=value` ([`parse_config_value`]).

use super::Cx;
use super::flags::{
    FORMAT, Fail, Flag, Kind, OUTPUT, check_empty, format_check, parse, parse_bool, run_err,
    usage_err,
};
use super::format::{Format, GoValue, go_quote};
use super::secret_data::parse_secret_uri;
use crate::agent::ToolAnswer;
use crate::charm::{ConfigOption, ConfigType};

const ALL: &[Format] = &[Format::Smart, Format::Json, Format::Yaml];

/// `config-get [--all|-a] [<key>]` (juju `worker/uniter/runner/jujuc/config-get.go`): every
/// option set or defaulted (`--all`: every option, unset ones as `null`), or one value (`null`
/// for an unknown or unset key).
pub(crate) fn config_get(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let flags = [
        FORMAT,
        OUTPUT,
        Flag {
            names: &["a", "all"],
            kind: Kind::Bool,
        },
    ];
    let p = parse(args, &flags, &format_check(ALL))?;
    let all = p.flag("a");
    let key = p.args.first().cloned();
    if let Some(k) = &key
        && !k.is_empty()
        && all
    {
        return usage_err(format!(
            "cannot use argument --all together with key {}",
            go_quote(k)
        ));
    }
    if p.args.len() > 1 {
        check_empty(&p.args[1..])?;
    }
    let Some(app) = cx.ctx.working.applications.get(cx.ctx.app()) else {
        return run_err(format!("application {} not found", go_quote(cx.ctx.app())));
    };
    let mut settings: Vec<(String, GoValue)> = Vec::new();
    for (name, option) in &app.charm.config {
        let value = app
            .config
            .get(name)
            .filter(|v| !v.is_null())
            .or(option.default.as_ref())
            .map(GoValue::from_json)
            .unwrap_or(GoValue::Null);
        settings.push((name.clone(), value));
    }
    // Options the operator set that the charm no longer declares are still reported by Juju.
    for (name, v) in &app.config {
        if !app.charm.config.contains_key(name) && !v.is_null() {
            settings.push((name.clone(), GoValue::from_json(v)));
        }
    }
    let value = match key.filter(|k| !k.is_empty()) {
        Some(k) => settings
            .into_iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v)
            .unwrap_or(GoValue::Null),
        None => GoValue::map(
            settings
                .into_iter()
                .filter(|(_, v)| all || *v != GoValue::Null),
        ),
    };
    cx.out(&p, Format::Smart).write(&value)
}

/// `is-leader`: `true`/`false` (smart: `True`/`False`).
pub(crate) fn is_leader(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[FORMAT, OUTPUT], &format_check(ALL))?;
    check_empty(&p.args)?;
    cx.out(&p, Format::Smart)
        .write(&GoValue::Bool(cx.is_leader()))
}

/// `leader-get [<key>]`: the lab keeps no leader settings (deprecated since Juju 2.7; charms use
/// peer application data), so this answers an empty map, or `null` for a key.
pub(crate) fn leader_get(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[FORMAT, OUTPUT], &format_check(ALL))?;
    let value = match p.args.first() {
        Some(k) if k != "-" => {
            check_empty(&p.args[1..])?;
            GoValue::Null
        }
        _ => {
            if p.args.len() > 1 {
                check_empty(&p.args[1..])?;
            }
            GoValue::Map(Vec::new())
        }
    };
    cx.out(&p, Format::Smart).write(&value)
}

/// `leader-set key=value...`: refused for a non-leader as Juju does; the lab does not keep leader
/// settings, so a leader gets an explicit error rather than a silent no-op.
pub(crate) fn leader_set(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(
        args,
        &[Flag {
            names: &["file"],
            kind: Kind::Value,
        }],
        &super::flags::no_check,
    )?;
    super::relation::parse_key_values(&p.args)?;
    if !cx.is_leader() {
        // Juju: the leadership settings writer refuses a non-leader (text guessed).
        return run_err("cannot write settings: not the leader");
    }
    run_err(
        "leader-set is not supported by the lab (deprecated in Juju; use peer relation application data)",
    )
}

/// `credential-get`: the lab never grants `juju trust`.
pub(crate) fn credential_get(_cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[FORMAT, OUTPUT], &format_check(ALL))?;
    check_empty(&p.args)?;
    // Juju annotates the API's permission error (the facade checks the application's trust).
    run_err("cannot access cloud credentials: permission denied")
}

/// `resource-get <name>`: the lab has no charm resources to hand out (guessed text).
pub(crate) fn resource_get(_cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[], &super::flags::no_check)?;
    let Some(name) = p.args.first() else {
        return usage_err("missing required resource name");
    };
    check_empty(&p.args[1..])?;
    run_err(format!(
        "could not download resource: resource {} not found",
        go_quote(name)
    ))
}

/// Type-check an operator's `juju config <app> <key>=<text>` value as Juju does
/// (`charm.Option.parse`): `string` and `secret` (a secret URI) keep the text, `int` is a base-10
/// integer, `float` a Go float, `boolean` a Go `ParseBool` word. The error is Juju's text after
/// the option name: the caller prints `option "<key>" <error>`, e.g.
/// `option "port" expected int, got "eighty"`.
pub fn parse_config_value(option: &ConfigOption, text: &str) -> Result<serde_json::Value, String> {
    let bad = |kind: &str| format!("expected {kind}, got {}", go_quote(text));
    match option.kind {
        ConfigType::String => Ok(serde_json::Value::String(text.to_string())),
        ConfigType::Secret => {
            if text.is_empty() || parse_secret_uri(text).is_ok() {
                Ok(serde_json::Value::String(text.to_string()))
            } else {
                Err(bad("secret"))
            }
        }
        ConfigType::Int => super::flags::go_atoi(text)
            .map(serde_json::Value::from)
            .ok_or_else(|| bad("int")),
        ConfigType::Float => parse_go_float(text)
            .and_then(|f| serde_json::Number::from_f64(f).map(serde_json::Value::Number))
            .ok_or_else(|| bad("float")),
        ConfigType::Boolean => parse_bool(text)
            .map(serde_json::Value::Bool)
            .ok_or_else(|| bad("boolean")),
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms (no hex floats).
fn parse_go_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse().ok();
    }
    let ok = !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-' | '_'));
    if !ok {
        return None;
    }
    body.replace('_', "")
        .parse::<f64>()
        .ok()
        .map(|f| if s.starts_with('-') { -f } else { f })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opt(kind: ConfigType) -> ConfigOption {
        ConfigOption {
            kind,
            default: None,
            description: String::new(),
        }
    }

    #[test]
    fn config_values_typed_like_juju() {
        assert_eq!(
            parse_config_value(&opt(ConfigType::Int), "42"),
            Ok(42.into())
        );
        assert_eq!(
            parse_config_value(&opt(ConfigType::Int), "4.2"),
            Err("expected int, got \"4.2\"".into())
        );
        assert_eq!(
            parse_config_value(&opt(ConfigType::Float), "1e3"),
            Ok(serde_json::json!(1000.0))
        );
        assert_eq!(
            parse_config_value(&opt(ConfigType::Boolean), "T"),
            Ok(true.into())
        );
        assert_eq!(
            parse_config_value(&opt(ConfigType::Boolean), "yes"),
            Err("expected boolean, got \"yes\"".into())
        );
        assert!(
            parse_config_value(&opt(ConfigType::Secret), "secret:cuh0n7lmp25c7bgqtgsg").is_ok()
        );
        assert!(parse_config_value(&opt(ConfigType::Secret), "nope").is_err());
    }
}
