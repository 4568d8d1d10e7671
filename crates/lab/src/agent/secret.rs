//! `secret-add`, `secret-get`, `secret-set`, `secret-info-get`, `secret-remove`, `secret-grant`,
//! `secret-revoke`, `secret-ids` with Juju 3.6 semantics (juju `jujuc/secret-*.go`, the hook
//! context's secret methods and the secrets-manager facade). All changes go to the working copy.
//!
//! Vocabulary: the *managers* of a secret are its owner unit, or the leader of its owner
//! application (what Juju's `SecretMetadata` lists); every unit of the owner application may
//! read it; other units need a grant through a relation they are in.

use super::Cx;
use super::flags::{
    FORMAT, Fail, Flag, Kind, OUTPUT, check_empty, format_check, go_atoi, parse, run_err, usage_err,
};
use super::format::{Format, GoValue, go_quote};
use super::secret_data::{
    ROTATE_POLICIES, create_secret_data, encode_b64, new_secret_id, parse_expire, parse_secret_uri,
    read_secret_file,
};
use crate::agent::ToolAnswer;
use crate::state::{Consumer, SecretOwner, SecretRecord};

pub(super) const LABEL: Flag = Flag {
    names: &["label"],
    kind: Kind::Value,
};
pub(super) const UNIT: Flag = Flag {
    names: &["unit"],
    kind: Kind::Value,
};
const UPSERT: [Flag; 6] = [
    Flag {
        names: &["expire"],
        kind: Kind::Value,
    },
    Flag {
        names: &["rotate"],
        kind: Kind::Value,
    },
    Flag {
        names: &["description"],
        kind: Kind::Value,
    },
    LABEL,
    Flag {
        names: &["file"],
        kind: Kind::Value,
    },
    Flag {
        names: &["owner"],
        kind: Kind::Value,
    },
];
pub(super) const YAML_JSON: &[Format] = &[Format::Yaml, Format::Json];

/// What `secret-add`/`secret-set` were asked to change.
struct Upsert {
    expire: Option<String>,
    rotate: Option<String>,
    description: Option<String>,
    label: Option<String>,
    owner: String,
    data: Vec<(String, String)>,
}

/// `secretUpsertCommand.Init`: expire, rotate policy, owner, content arguments, `--file`.
fn upsert_init(cx: &Cx<'_>, p: &super::flags::Parsed, content: &[String]) -> Result<Upsert, Fail> {
    let given = |n: &str| p.value(n).filter(|v| !v.is_empty()).map(str::to_string);
    let expire = match given("expire") {
        Some(e) => Some(parse_expire(&e).map_err(Fail::Usage)?),
        None => None,
    };
    let rotate = given("rotate");
    if let Some(r) = &rotate
        && !ROTATE_POLICIES.contains(&r.as_str())
    {
        return usage_err(format!("rotate policy {} not valid", go_quote(r)));
    }
    let owner = p.value("owner").unwrap_or("application").to_string();
    if owner != "application" && owner != "unit" {
        return usage_err(format!("secret owner {} not valid", go_quote(&owner)));
    }
    let mut data = create_secret_data(content, cx.call).map_err(Fail::Usage)?;
    if let Some(file) = given("file") {
        for (k, v) in read_secret_file(cx.call, &cx.abs_path(&file)).map_err(Fail::Usage)? {
            data.retain(|(ok, _)| *ok != k);
            data.push((k, v));
        }
    }
    Ok(Upsert {
        expire,
        rotate,
        description: given("description"),
        label: given("label"),
        owner,
        data,
    })
}

impl Cx<'_> {
    pub(super) fn owner_is_caller(&self, owner: &SecretOwner) -> bool {
        match owner {
            SecretOwner::Unit(u) => *u == self.ctx.unit,
            SecretOwner::App(a) => a == self.ctx.app(),
        }
    }

    pub(super) fn manages(&self, rec: &SecretRecord) -> bool {
        match &rec.owner {
            SecretOwner::Unit(u) => *u == self.ctx.unit,
            SecretOwner::App(a) => a == self.ctx.app() && self.is_leader(),
        }
    }

    pub(super) fn can_read(&self, rec: &SecretRecord) -> bool {
        self.owner_is_caller(&rec.owner)
            || rec.grants.iter().any(|g| {
                self.ctx.working.relations.contains_key(&g.relation_id)
                    && match &g.unit {
                        Some(u) => *u == self.ctx.unit,
                        None => g.app == self.ctx.app(),
                    }
            })
    }

    pub(super) fn secret(&self, id: &str) -> Result<&SecretRecord, Fail> {
        self.ctx
            .working
            .secrets
            .get(id)
            .ok_or_else(|| Fail::Run(format!("secret {} not found", go_quote(id))))
    }

    /// A manager's owner label must be unique among the secrets of that owner.
    pub(super) fn check_owner_label(
        &self,
        owner: &SecretOwner,
        id: Option<&str>,
        label: &str,
    ) -> Result<(), Fail> {
        let clash = self.ctx.working.secrets.values().any(|s| {
            s.owner == *owner && Some(s.id.as_str()) != id && s.label.as_deref() == Some(label)
        });
        if clash {
            // Juju refuses a second secret with the same label (text guessed).
            return run_err(format!(
                "secret with label {} already exists",
                go_quote(label)
            ));
        }
        Ok(())
    }
}

/// `secret-add [--owner application|unit] [--label] [--description] [--expire] [--rotate]
/// [--file f] key=value|key#base64=...|key#file=path ...`: prints `secret://<model>/<id>`.
/// The creating unit tracks revision 1.
pub(crate) fn secret_add(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &UPSERT, &super::flags::no_check)?;
    if p.args.is_empty() && p.value("file").is_none_or(str::is_empty) {
        return usage_err("missing secret value or filename");
    }
    let up = upsert_init(cx, &p, &p.args)?;
    let owner = if up.owner == "unit" {
        SecretOwner::Unit(cx.unit())
    } else {
        if !cx.is_leader() {
            return run_err("this unit is not the leader");
        }
        SecretOwner::App(cx.app())
    };
    if up.data.is_empty() {
        return run_err("empty secret value not valid");
    }
    if let Some(l) = &up.label {
        cx.check_owner_label(&owner, None, l)?;
    }
    let id = new_secret_id(&mut cx.ctx.working);
    let record = SecretRecord {
        id: id.clone(),
        owner,
        revisions: [(1, up.data.into_iter().collect())].into(),
        label: up.label,
        description: up.description,
        expire: up.expire,
        rotate: up.rotate,
        consumers: [(
            cx.unit(),
            Consumer {
                label: None,
                revision: 1,
            },
        )]
        .into(),
        grants: Vec::new(),
    };
    cx.ctx.working.secrets.insert(id.clone(), record);
    Ok(ToolAnswer::ok(format!(
        "secret://{}/{id}\n",
        cx.ctx.working.uuid
    )))
}

/// `secret-get [<id>] [--label L] [--peek|--refresh] [<key>[#base64]]`: the content of the
/// tracked revision (a first read tracks the latest), `--peek` the latest, `--refresh` the latest
/// and tracks it. Id and label together bind the label (the manager's owner label, otherwise
/// this unit's consumer label).
pub(crate) fn secret_get(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let flags = [
        FORMAT,
        OUTPUT,
        LABEL,
        Flag {
            names: &["peek"],
            kind: Kind::Bool,
        },
        Flag {
            names: &["refresh"],
            kind: Kind::Bool,
        },
    ];
    let p = parse(args, &flags, &format_check(YAML_JSON))?;
    let mut rest = p.args.iter();
    let uri = match rest.next() {
        Some(a) => Some(
            parse_secret_uri(a)
                .map_err(|_| Fail::Usage(format!("secret URI {} not valid", go_quote(a))))?,
        ),
        None => None,
    };
    let label = p
        .value("label")
        .filter(|l| !l.is_empty())
        .map(str::to_string);
    if uri.is_none() && label.is_none() {
        return usage_err("require either a secret URI or label");
    }
    let (peek, refresh) = (p.flag("peek"), p.flag("refresh"));
    if peek && refresh {
        return usage_err("specify one of --peek or --refresh but not both");
    }
    let key = rest.next().cloned();
    check_empty(&rest.cloned().collect::<Vec<_>>())?;

    let unit = cx.unit();
    let (id, consumer_label, owner_label) = match (&uri, &label) {
        (Some(id), l) => {
            let rec = cx.secret(id)?;
            match l {
                Some(l) if rec.label.as_deref() != Some(l) && cx.manages(rec) => {
                    cx.check_owner_label(&rec.owner, Some(id), l)?;
                    (id.clone(), None, Some(l.clone()))
                }
                Some(l) if rec.label.as_deref() == Some(l) && cx.owner_is_caller(&rec.owner) => {
                    (id.clone(), None, None)
                }
                l => (id.clone(), l.clone(), None),
            }
        }
        (None, Some(l)) => {
            let working = &cx.ctx.working;
            let owned = working
                .secrets
                .values()
                .find(|s| cx.owner_is_caller(&s.owner) && s.label.as_deref() == Some(l));
            let consumed = || {
                working.secrets.values().find(|s| {
                    s.consumers.get(&unit).and_then(|c| c.label.as_deref()) == Some(l.as_str())
                })
            };
            match owned.or_else(consumed) {
                Some(s) => (s.id.clone(), None, None),
                None => return run_err(format!("consumer label {} not found", go_quote(l))),
            }
        }
        (None, None) => unreachable!("checked above"),
    };
    let rec = cx.secret(&id)?;
    if !cx.can_read(rec) {
        // Juju 3.x: `"<unit>" is not allowed to read this secret` (its secrets test suite).
        return run_err(format!(
            "{} is not allowed to read this secret",
            go_quote(&unit)
        ));
    }
    if let Some(l) = &consumer_label {
        let clash = cx.ctx.working.secrets.values().any(|s| {
            s.id != id && s.consumers.get(&unit).and_then(|c| c.label.as_deref()) == Some(l)
        });
        if clash {
            // Juju keeps consumer labels unique per unit (text guessed).
            return run_err(format!("secret with label {} already exists", go_quote(l)));
        }
    }
    let rec = cx
        .ctx
        .working
        .secrets
        .get_mut(&id)
        .expect("looked up above");
    if let Some(l) = owner_label {
        rec.label = Some(l);
    }
    let latest = rec.latest();
    let tracked = rec.consumers.get(&unit).map(|c| c.revision);
    let revision = if peek || refresh || tracked.is_none() {
        latest
    } else {
        tracked.unwrap_or(latest)
    };
    if refresh || tracked.is_none() || consumer_label.is_some() {
        let c = rec.consumers.entry(unit.clone()).or_insert(Consumer {
            label: None,
            revision: latest,
        });
        if refresh || tracked.is_none() {
            c.revision = latest;
        }
        if consumer_label.is_some() {
            c.label = consumer_label;
        }
    }
    let Some(content) = rec.revisions.get(&revision) else {
        return run_err(format!(
            "secret revision {revision} for {} not found",
            go_quote(&id)
        ));
    };
    let value = match key {
        None => GoValue::string_map(content),
        Some(k) => {
            let (name, b64) = match k.strip_suffix("#base64") {
                Some(n) => (n.to_string(), true),
                None => (k.clone(), false),
            };
            match content.get(&name) {
                Some(v) if b64 => GoValue::str(encode_b64(v.as_bytes())),
                Some(v) => GoValue::str(v.clone()),
                None => return run_err(format!("secret key {} not found", go_quote(&name))),
            }
        }
    };
    cx.out(&p, Format::Yaml).write(&value)
}

/// `secret-set <id> [--label] [--description] [--expire] [--rotate] [key=value...]`: a new
/// revision when the content differs from the latest (Juju 3.6 skips identical content), and
/// metadata updates. Managers only: others get `permission denied` (Juju refuses when it
/// commits; the lab refuses at once).
pub(crate) fn secret_set(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(args, &UPSERT, &super::flags::no_check)?;
    let Some(first) = p.args.first() else {
        return usage_err("missing secret URI");
    };
    let id = parse_secret_uri(first).map_err(Fail::Usage)?;
    let up = upsert_init(cx, &p, &p.args[1..])?;
    let rec = cx.secret(&id)?;
    if !cx.manages(rec) {
        return run_err("permission denied");
    }
    if let Some(l) = &up.label {
        cx.check_owner_label(&rec.owner, Some(&id), l)?;
    }
    let rec = cx
        .ctx
        .working
        .secrets
        .get_mut(&id)
        .expect("looked up above");
    let content: std::collections::BTreeMap<String, String> = up.data.into_iter().collect();
    let latest = rec.latest();
    if !content.is_empty() && rec.revisions.get(&latest) != Some(&content) {
        rec.revisions.insert(latest + 1, content);
    }
    if up.label.is_some() {
        rec.label = up.label;
    }
    if up.description.is_some() {
        rec.description = up.description;
    }
    if up.expire.is_some() {
        rec.expire = up.expire;
    }
    if up.rotate.is_some() {
        rec.rotate = up.rotate;
    }
    Ok(ToolAnswer::ok(Vec::new()))
}

/// `secret-remove <id> [--revision n]`: all revisions, or one (the secret goes with its last).
pub(crate) fn secret_remove(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let check = |name: &str, v: &str| match (name, go_atoi(v)) {
        ("revision", None) => Err(format!(
            "strconv.ParseInt: parsing {}: invalid syntax",
            go_quote(v)
        )),
        _ => Ok(()),
    };
    let p = parse(
        args,
        &[Flag {
            names: &["revision"],
            kind: Kind::Value,
        }],
        &check,
    )?;
    let Some(first) = p.args.first() else {
        return usage_err("missing secret URI");
    };
    let id = parse_secret_uri(first).map_err(Fail::Usage)?;
    check_empty(&p.args[1..])?;
    let revision = p.value("revision").and_then(go_atoi).filter(|r| *r > 0);
    if !cx.manages(cx.secret(&id)?) {
        return run_err("permission denied");
    }
    let secrets = &mut cx.ctx.working.secrets;
    match revision {
        Some(r) => {
            let rec = secrets.get_mut(&id).expect("looked up above");
            rec.revisions.remove(&(r as u64));
            if rec.revisions.is_empty() {
                secrets.remove(&id);
            }
        }
        None => {
            secrets.remove(&id);
        }
    }
    Ok(ToolAnswer::ok(Vec::new()))
}

/// A unit name: `<app>/<number>`.
pub(super) fn is_unit_name(s: &str) -> bool {
    match s.rsplit_once('/') {
        Some((a, n)) => !a.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}
