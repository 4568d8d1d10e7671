//! `lab status`: the model shown as `juju status` shows it, as a table or as JSON of the same
//! shape as `juju status --format=json`.

use serde_json::{Value, json};

use crate::state::{AgentStatus, ModelState, StatusRecord};

/// How severe a workload status is, for deriving an application's status from its units as Juju
/// does when the leader set none.
fn severity(status: &str) -> u8 {
    match status {
        "error" => 5,
        "blocked" => 4,
        "maintenance" => 3,
        "waiting" => 2,
        "active" => 1,
        _ => 0,
    }
}

/// The application's status: the one its leader set, else the most severe of its units'.
pub fn app_status(state: &ModelState, app: &str) -> StatusRecord {
    if let Some(s) = state.applications.get(app).and_then(|a| a.status.clone()) {
        return s;
    }
    state
        .units
        .values()
        .filter(|u| u.app == app)
        .map(|u| u.status.clone())
        .max_by_key(|s| severity(&s.status))
        .unwrap_or_else(|| StatusRecord::new("unknown", ""))
}

fn agent_name(agent: &AgentStatus) -> &str {
    match agent {
        AgentStatus::Allocating => "allocating",
        AgentStatus::Executing(_) => "executing",
        AgentStatus::Idle => "idle",
        AgentStatus::Error(_) => "error",
    }
}

/// Left-aligned columns separated by two spaces; columns named in `right` are right-aligned.
fn table(header: &[&str], rows: &[Vec<String>], right: &[&str]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let w = widths[i];
            let pad = w - cell.chars().count();
            if right.contains(&header[i]) {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            } else {
                out.push_str(cell);
                if i + 1 < cells.len() {
                    out.push_str(&" ".repeat(pad));
                }
            }
            if i + 1 < cells.len() {
                out.push_str("  ");
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|s| s.to_string()).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

/// The tabular form.
pub fn render(state: &ModelState) -> String {
    let time = crate::state::now_rfc3339();
    let mut out = table(
        &[
            "Model",
            "Controller",
            "Cloud/Region",
            "Version",
            "SLA",
            "Timestamp",
        ],
        &[vec![
            state.name.clone(),
            "lab".into(),
            "lab/local".into(),
            "3.6.4".into(),
            "unsupported".into(),
            time.get(11..).unwrap_or_default().to_string(),
        ]],
        &[],
    );
    if state.applications.is_empty() {
        out.push_str("\nModel \"");
        out.push_str(&state.name);
        out.push_str("\" is empty.\n");
        return out;
    }
    let apps: Vec<Vec<String>> = state
        .applications
        .values()
        .map(|a| {
            let s = app_status(state, &a.name);
            let scale = state.units.values().filter(|u| u.app == a.name).count();
            vec![
                a.name.clone(),
                a.workload_version.clone(),
                s.status,
                scale.to_string(),
                a.charm.meta.name.clone(),
                String::new(),
                a.charm_revision.to_string(),
                String::new(),
                "no".into(),
                s.message,
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&table(
        &[
            "App", "Version", "Status", "Scale", "Charm", "Channel", "Rev", "Address", "Exposed",
            "Message",
        ],
        &apps,
        &["Scale", "Rev"],
    ));
    let units: Vec<Vec<String>> = state
        .units
        .values()
        .map(|u| {
            let leader = state
                .applications
                .get(&u.app)
                .is_some_and(|a| a.leader.as_deref() == Some(u.name.as_str()));
            let ports: Vec<&String> = u.ports.keys().collect();
            let message = match &u.agent {
                AgentStatus::Error(hook) if u.status.status != "error" => {
                    format!("hook failed: \"{hook}\"")
                }
                _ => u.status.message.clone(),
            };
            vec![
                format!("{}{}", u.name, if leader { "*" } else { "" }),
                u.status.status.clone(),
                agent_name(&u.agent).to_string(),
                u.address.clone(),
                ports
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                message,
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&table(
        &["Unit", "Workload", "Agent", "Address", "Ports", "Message"],
        &units,
        &[],
    ));
    if !state.relations.is_empty() {
        let rels: Vec<Vec<String>> = state
            .relations
            .values()
            .map(|r| {
                let (provider, requirer, kind) = match r.ends.as_slice() {
                    [only] => {
                        let e = format!("{}:{}", only.app, only.endpoint);
                        (e.clone(), e, "peer")
                    }
                    [a, b] => {
                        let (p, q) = if a.role == crate::charm::Role::Provider {
                            (a, b)
                        } else {
                            (b, a)
                        };
                        (
                            format!("{}:{}", p.app, p.endpoint),
                            format!("{}:{}", q.app, q.endpoint),
                            "regular",
                        )
                    }
                    _ => (String::new(), String::new(), ""),
                };
                vec![
                    provider,
                    requirer,
                    r.interface.clone(),
                    kind.to_string(),
                    if r.dying {
                        "removing".into()
                    } else {
                        String::new()
                    },
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(
            &[
                "Integration provider",
                "Requirer",
                "Interface",
                "Type",
                "Message",
            ],
            &rels,
            &[],
        ));
    }
    out
}

fn status_json(s: &StatusRecord) -> Value {
    json!({"current": s.status, "message": s.message, "since": s.since})
}

/// The JSON form, shaped like `juju status --format=json`.
pub fn to_json(state: &ModelState) -> Value {
    let mut apps = serde_json::Map::new();
    for a in state.applications.values() {
        let mut units = serde_json::Map::new();
        for u in state.units.values().filter(|u| u.app == a.name) {
            let mut unit = json!({
                "workload-status": status_json(&u.status),
                "juju-status": {"current": agent_name(&u.agent), "version": "3.6.4"},
                "address": u.address,
                "provider-id": format!("{}-{}", u.app, u.number),
            });
            if let AgentStatus::Error(hook) = &u.agent {
                unit["juju-status"]["message"] = json!(format!("hook failed: \"{hook}\""));
            }
            if a.leader.as_deref() == Some(u.name.as_str()) {
                unit["leader"] = json!(true);
            }
            if !u.ports.is_empty() {
                unit["open-ports"] = json!(u.ports.keys().collect::<Vec<_>>());
            }
            units.insert(u.name.clone(), unit);
        }
        let mut relations = serde_json::Map::new();
        for r in state.relations.values() {
            let Some(end) = r.end_of(&a.name) else {
                continue;
            };
            let remote = r.remote_app(&a.name).unwrap_or_default();
            let list = relations
                .entry(end.endpoint.clone())
                .or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut() {
                list.push(json!({
                    "related-application": remote,
                    "interface": r.interface,
                    "scope": "global",
                }));
            }
        }
        let scale = units.len();
        apps.insert(
            a.name.clone(),
            json!({
                "charm": a.charm.meta.name,
                "charm-origin": "local",
                "charm-name": a.charm.meta.name,
                "charm-rev": a.charm_revision,
                "exposed": false,
                "scale": scale,
                "version": a.workload_version,
                "application-status": status_json(&app_status(state, &a.name)),
                "relations": relations,
                "units": units,
            }),
        );
    }
    json!({
        "model": {
            "name": state.name,
            "type": "caas",
            "controller": "lab",
            "cloud": "lab",
            "region": "local",
            "version": "3.6.4",
            "model-status": {"current": "available"},
            "sla": "unsupported",
        },
        "machines": {},
        "applications": apps,
        "storage": {},
        "controller": {"timestamp": crate::state::now_rfc3339()},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_trim() {
        let t = table(
            &["A", "Scale", "C"],
            &[vec!["x".into(), "10".into(), "".into()]],
            &["Scale"],
        );
        assert_eq!(t, "A  Scale  C\nx     10\n");
    }

    #[test]
    fn most_severe_unit_status_wins() {
        assert!(severity("blocked") > severity("waiting"));
        assert!(severity("error") > severity("blocked"));
        assert!(severity("active") > severity("unknown"));
    }
}
