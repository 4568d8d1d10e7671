//! `secret-grant`, `secret-revoke`, `secret-ids`, `secret-info-get`: who may read a secret, and
//! what its managers see of it (see `secret` for the vocabulary).

use super::Cx;
use super::flags::{
    FORMAT, Fail, Flag, Kind, OUTPUT, RELATION, check_empty, format_check, parse, run_err,
    usage_err,
};
use super::format::{Format, GoValue, go_quote};
use super::secret::{LABEL, UNIT, YAML_JSON, is_unit_name};
use super::secret_data::parse_secret_uri;
use crate::agent::ToolAnswer;
use crate::charm::Role;
use crate::state::{Grant, Relation, SecretOwner};

/// `secret-grant <id> [-r|--relation <id>] [--unit <unit>]`: read access for the remote
/// application of the relation (or one of its units).
pub(crate) fn secret_grant(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[UNIT, RELATION], &cx.relation_check())?;
    let Some(first) = p.args.first() else {
        return usage_err("missing secret URI");
    };
    let id = parse_secret_uri(first).map_err(Fail::Usage)?;
    let Some(rel_id) = cx.relation_arg(&p) else {
        return usage_err("no relation id specified");
    };
    let app = cx.app();
    let remote = cx
        .relation(rel_id as i64)
        .and_then(|r| r.remote_app(&app))
        .unwrap_or_default()
        .to_string();
    let unit = p
        .value("unit")
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    if let Some(u) = &unit {
        let Some((ua, _)) = u.rsplit_once('/').filter(|_| is_unit_name(u)) else {
            return usage_err(format!("unit {} not valid", go_quote(u)));
        };
        if ua != remote {
            return usage_err(format!(
                "cannot specify unit {} in relation to application {}",
                go_quote(u),
                go_quote(&remote)
            ));
        }
    }
    check_empty(&p.args[1..])?;
    let known = cx.ctx.working.secrets.get(&id).filter(|r| cx.manages(r));
    let Some(rec) = known else {
        return run_err(format!("secret {} not found", go_quote(&id)));
    };
    for g in rec.grants.iter().filter(|g| g.relation_id == rel_id) {
        if g.unit == unit && g.app == remote || g.unit.is_none() {
            return Ok(ToolAnswer::ok(Vec::new()));
        }
        if unit.is_none() {
            return run_err(
                "any unit level grants need to be revoked before granting access to the corresponding application",
            );
        }
    }
    let rec = cx
        .ctx
        .working
        .secrets
        .get_mut(&id)
        .expect("looked up above");
    rec.grants.push(Grant {
        relation_id: rel_id,
        unit,
        app: remote,
    });
    Ok(ToolAnswer::ok(Vec::new()))
}

/// `secret-revoke <id> [-r|--relation <id>] [--app <app>] [--unit <unit>]`. In a relation hook
/// the relation defaults to the hook's, so `--app` there is refused as Juju does.
pub(crate) fn secret_revoke(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let app_flag = Flag {
        names: &["app", "application"],
        kind: Kind::Value,
    };
    let p = parse(args, &[app_flag, UNIT, RELATION], &cx.relation_check())?;
    let Some(first) = p.args.first() else {
        return usage_err("missing secret URI");
    };
    let id = parse_secret_uri(first).map_err(Fail::Usage)?;
    let mut app = p.value("app").filter(|a| !a.is_empty()).map(str::to_string);
    let unit = p
        .value("unit")
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    if let Some(a) = &app
        && (a.contains('/') || a.is_empty())
    {
        return usage_err(format!("application {} not valid", go_quote(a)));
    }
    if let Some(u) = &unit
        && !is_unit_name(u)
    {
        return usage_err(format!("unit {} not valid", go_quote(u)));
    }
    if app.is_some() && unit.is_some() {
        return usage_err("specify only one of application or unit");
    }
    if let Some(rel_id) = cx.relation_arg(&p) {
        if app.is_some() {
            return usage_err("do not specify both relation and app");
        }
        let own = cx.app();
        app = cx
            .relation(rel_id as i64)
            .and_then(|r| r.remote_app(&own))
            .map(str::to_string);
    }
    if app.is_none() && unit.is_none() {
        return usage_err("missing relation or application or unit");
    }
    check_empty(&p.args[1..])?;
    if !cx.manages(cx.secret(&id)?) {
        return run_err("permission denied");
    }
    let rec = cx
        .ctx
        .working
        .secrets
        .get_mut(&id)
        .expect("looked up above");
    rec.grants.retain(|g| match &g.unit {
        None => Some(&g.app) != app.as_ref(),
        Some(u) => Some(u) != unit.as_ref(),
    });
    Ok(ToolAnswer::ok(Vec::new()))
}

/// `secret-ids`: the ids of the secrets this unit manages, sorted (Go prints a nil list, so
/// JSON `null` when there are none).
pub(crate) fn secret_ids(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let all = &[Format::Smart, Format::Json, Format::Yaml];
    let p = parse(args, &[FORMAT, OUTPUT], &format_check(all))?;
    check_empty(&p.args)?;
    let ids: Vec<String> = cx
        .ctx
        .working
        .secrets
        .values()
        .filter(|r| cx.manages(r))
        .map(|r| r.id.clone())
        .collect();
    cx.out(&p, Format::Smart)
        .write(&GoValue::strings(ids, true))
}

/// `secret-info-get <id> | --label <label>`: metadata of a secret this unit manages, as
/// `{<id>: {revision, label, owner, description?, rotation?, expiry?, access?}}`.
pub(crate) fn secret_info_get(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &[FORMAT, OUTPUT, LABEL], &format_check(YAML_JSON))?;
    let uri = match p.args.first() {
        Some(a) => Some(
            parse_secret_uri(a)
                .map_err(|_| Fail::Usage(format!("secret URI {} not valid", go_quote(a))))?,
        ),
        None => None,
    };
    let label = p.value("label").filter(|l| !l.is_empty());
    match (&uri, label) {
        (None, None) => return usage_err("require either a secret URI or label"),
        (Some(_), Some(_)) => {
            return usage_err("specify either a secret URI or label but not both");
        }
        _ => {}
    }
    if p.args.len() > 1 {
        check_empty(&p.args[1..])?;
    }
    let working = &cx.ctx.working;
    let found = working
        .secrets
        .values()
        .filter(|r| cx.manages(r))
        .find(|r| match (&uri, label) {
            (Some(id), _) => r.id == *id,
            (None, Some(l)) => r.label.as_deref() == Some(l),
            _ => false,
        });
    let Some(rec) = found else {
        let want = uri
            .clone()
            .or(label.map(str::to_string))
            .unwrap_or_default();
        return run_err(format!("secret {} not found", go_quote(&want)));
    };
    let mut fields = vec![
        ("revision".to_string(), GoValue::Int(rec.latest() as i128)),
        (
            "label".into(),
            GoValue::str(rec.label.clone().unwrap_or_default()),
        ),
        (
            "owner".into(),
            GoValue::str(match rec.owner {
                SecretOwner::App(_) => "application",
                SecretOwner::Unit(_) => "unit",
            }),
        ),
    ];
    let opt = |v: &Option<String>| v.clone().filter(|s| !s.is_empty()).map(GoValue::Str);
    let expiry = rec
        .expire
        .clone()
        .filter(|s| !s.is_empty())
        .map(GoValue::Time);
    for (name, v) in [
        ("description", opt(&rec.description)),
        ("rotation", opt(&rec.rotate)),
        ("expiry", expiry),
    ] {
        if let Some(v) = v {
            fields.push((name.into(), v));
        }
    }
    let access: Vec<GoValue> = rec
        .grants
        .iter()
        .map(|g| {
            let target = match &g.unit {
                Some(u) => format!("unit-{}", u.replace('/', "-")),
                None => format!("application-{}", g.app),
            };
            let scope = working
                .relations
                .get(&g.relation_id)
                .map(relation_tag)
                .unwrap_or_default();
            GoValue::Map(vec![
                ("target".into(), GoValue::Str(target)),
                ("scope".into(), GoValue::Str(scope)),
                ("role".into(), GoValue::str("view")),
            ])
        })
        .collect();
    if !access.is_empty() {
        fields.push(("access".into(), GoValue::List(access)));
    }
    let value = GoValue::Map(vec![(rec.id.clone(), GoValue::Map(fields))]);
    cx.out(&p, Format::Yaml).write(&value)
}

/// A relation's tag: its key (`requirer-app:ep provider-app:ep`) with `:` → `.`, ` ` → `#`.
fn relation_tag(r: &Relation) -> String {
    let order = |role: Role| match role {
        Role::Requirer => 0,
        Role::Provider => 1,
        Role::Peer => 2,
    };
    let mut ends: Vec<_> = r.ends.iter().collect();
    ends.sort_by(|a, b| order(a.role).cmp(&order(b.role)).then(a.app.cmp(&b.app)));
    let key: Vec<String> = ends
        .iter()
        .map(|e| format!("{}:{}", e.app, e.endpoint))
        .collect();
    format!(
        "relation-{}",
        key.join(" ").replace(':', ".").replace(' ', "#")
    )
}
