//! `metrics-endpoint` (interface `prometheus_scrape`): what this charm writes for Prometheus, in
//! the form the `prometheus_scrape` v0 library (LIBPATCH 56) writes from its
//! `MetricsEndpointProvider`, so that the library's consumer on the far side reads it unchanged.
//!
//! The application bag (leader only) holds `scrape_jobs`, `scrape_metadata` and `alert_rules`;
//! each unit's bag holds its address and name, which the consumer puts in place of the `*` in
//! the jobs' targets. Jobs: the postgres exporter (`*:9187`) and Patroni's REST API (`*:8008`,
//! `https` once TLS is on), as the reference charm sends them (spec §10.1). The reference's third
//! job, the pgBackRest exporter on `*:9854`, is left out: the workload image runs no such
//! exporter, so the job would only ever report a target down.
//!
//! Alert rules come from `cos/alert_rules/*.yaml`, embedded at build time, transformed as the
//! library's provider transforms them (cosl's `AlertRules` with the charm's topology): group
//! names prefixed with the topology identifier and ending in `_rules`, the Juju topology labels
//! added to every rule, `%%juju_topology%%` removed from expressions, and a generic `HostHealth`
//! group. Expressions are otherwise left as they are, as the library leaves them when its
//! `cos-tool` binary is not shipped with the charm: the consumer injects the topology matchers.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// The relation endpoint.
pub const ENDPOINT: &str = "metrics-endpoint";

pub use super::topology::{CHARM_NAME, Topology};

/// The postgres exporter's port.
pub const EXPORTER_PORT: u16 = 9187;

/// Patroni's REST API port (its `/metrics` page).
pub const PATRONI_PORT: u16 = 8008;

/// The rule files, in the order the library reads a directory (sorted by path).
pub const RULE_FILES: &[(&str, &str)] = &[
    (
        "patroni_rules.yaml",
        include_str!("../../cos/alert_rules/patroni_rules.yaml"),
    ),
    (
        "pgbackrest_rules.yaml",
        include_str!("../../cos/alert_rules/pgbackrest_rules.yaml"),
    ),
    (
        "postgresql_operator_rules.yaml",
        include_str!("../../cos/alert_rules/postgresql_operator_rules.yaml"),
    ),
    (
        "postgresql_rules.yaml",
        include_str!("../../cos/alert_rules/postgresql_rules.yaml"),
    ),
];

impl Topology {
    /// The five fields in the library's order (`scrape_metadata`).
    pub fn as_json(&self) -> Value {
        json!({
            "model": self.model,
            "model_uuid": self.model_uuid,
            "application": self.application,
            "unit": self.unit,
            "charm_name": self.charm_name,
        })
    }

    /// `<model>_<first 8 characters of the model UUID>_<application>`, `/` replaced by `_`:
    /// the prefix of rule group names.
    pub fn identifier(&self) -> String {
        let short: String = self.model_uuid.chars().take(8).collect();
        format!("{}_{}_{}", self.model, short, self.application).replace('/', "_")
    }

    /// The labels added to every rule: `juju_model`, `juju_model_uuid`, `juju_application`,
    /// `juju_charm` (never the unit: rules are the application's), empty values left out.
    pub fn rule_labels(&self) -> Vec<(&'static str, &str)> {
        [
            ("juju_model", self.model.as_str()),
            ("juju_model_uuid", self.model_uuid.as_str()),
            ("juju_application", self.application.as_str()),
            ("juju_charm", self.charm_name.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect()
    }
}

/// The scrape jobs. `patroni_tls`: Patroni's REST API serves HTTPS.
pub fn scrape_jobs(patroni_tls: bool) -> Value {
    json!([
        {
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [format!("*:{EXPORTER_PORT}")]}],
        },
        {
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [format!("*:{PATRONI_PORT}")]}],
            "scheme": if patroni_tls { "https" } else { "http" },
            "tls_config": {"insecure_skip_verify": true},
        },
    ])
}

/// Why the embedded rules could not be turned into the relation's form (a build defect the
/// unit tests catch; the charm logs it and sends no rules rather than failing the hook).
#[derive(Debug, thiserror::Error)]
#[error("alert rule file {file}: {reason}")]
pub struct RulesError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// The `alert_rules` value: `{"groups": [...]}` from every rule file, plus `HostHealth`.
pub fn alert_rules(topology: &Topology) -> Result<Value, RulesError> {
    let mut groups = Vec::new();
    for (file, text) in RULE_FILES {
        let err = |reason: String| RulesError {
            file: file.to_string(),
            reason,
        };
        let doc: Value = serde_yaml::from_str(text).map_err(|e| err(e.to_string()))?;
        let Some(list) = doc.get("groups").and_then(Value::as_array) else {
            return Err(err("no `groups` list".into()));
        };
        for group in list {
            groups.push(transform_group(group.clone(), topology).map_err(err)?);
        }
    }
    groups.push(
        transform_group(host_health(), topology).map_err(|reason| RulesError {
            file: "(generic HostHealth group)".into(),
            reason,
        })?,
    );
    Ok(json!({ "groups": groups }))
}

/// Generic rules every application gets from the library: its scrape targets down, or no
/// `up` series at all. The names, expressions, durations and severities are the library's; the
/// texts are ours.
fn host_health() -> Value {
    json!({
        "name": "HostHealth",
        "rules": [
            {
                "alert": "HostDown",
                "expr": "up < 1",
                "for": "5m",
                "labels": {"severity": "critical"},
                "annotations": {
                    "summary": "Target {{ $labels.instance }} is down.",
                    "description": "Prometheus has failed to scrape {{ $labels.instance }} of application {{ $labels.juju_application }} (model {{ $labels.juju_model }}) for 5 minutes.",
                },
            },
            {
                "alert": "HostMetricsMissing",
                "expr": "absent(up)",
                "for": "5m",
                "labels": {"severity": "warning"},
                "annotations": {
                    "summary": "No scrape target of application {{ $labels.juju_application }} reports.",
                    "description": "Prometheus has had no up series for application {{ $labels.juju_application }} (model {{ $labels.juju_model }}) for 5 minutes: its units are gone or cannot be scraped.",
                },
            },
        ],
    })
}

/// One group as the library's provider rewrites it.
fn transform_group(mut group: Value, topology: &Topology) -> Result<Value, String> {
    let name = group
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a group without a name")?
        .to_string();
    let mut new_name = if already_prefixed(&name) {
        name
    } else {
        let mut n = format!("{}_{name}", topology.identifier());
        if !n.ends_with("_rules") {
            n.push_str("_rules");
        }
        n
    };
    new_name = new_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    group["name"] = Value::String(new_name);
    let rules = group
        .get_mut("rules")
        .and_then(Value::as_array_mut)
        .ok_or("a group without rules")?;
    for rule in rules {
        let rule = rule.as_object_mut().ok_or("a rule that is not a mapping")?;
        let labels = rule
            .entry("labels")
            .or_insert_with(|| Value::Object(Map::new()));
        if labels.is_null() {
            *labels = Value::Object(Map::new());
        }
        let labels = labels
            .as_object_mut()
            .ok_or("labels that are not a mapping")?;
        for (k, v) in topology.rule_labels() {
            labels
                .entry(k)
                .or_insert_with(|| Value::String(v.to_string()));
        }
        let expr = rule
            .get("expr")
            .and_then(Value::as_str)
            .ok_or("a rule without an expression")?;
        let expr = strip_topology_placeholder(expr);
        rule.insert("expr".into(), Value::String(expr));
    }
    Ok(group)
}

/// `%%juju_topology%%` (with a following comma) removed, as the library does before it injects
/// the matchers.
fn strip_topology_placeholder(expr: &str) -> String {
    const MARK: &str = "%%juju_topology%%";
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        rest = &rest[at + MARK.len()..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    out.push_str(rest);
    out
}

/// A group name the library considers already rewritten: `…_<8 hex>_…rules`.
fn already_prefixed(name: &str) -> bool {
    if !name.ends_with("rules") {
        return false;
    }
    let b = name.as_bytes();
    (1..b.len()).any(|i| {
        b[i - 1] == b'_'
            && b.len() >= i + 9
            && b[i..i + 8]
                .iter()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
            && b[i + 8] == b'_'
            && b.len() >= i + 9 + "rules".len()
    })
}

/// The application bag: `scrape_jobs`, `scrape_metadata`, `alert_rules` (JSON strings).
pub fn app_bag(topology: &Topology, patroni_tls: bool) -> BTreeMap<String, String> {
    let rules = match alert_rules(topology) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("no alert rules are sent: {e}");
            json!({})
        }
    };
    BTreeMap::from([
        (
            "scrape_jobs".to_string(),
            scrape_jobs(patroni_tls).to_string(),
        ),
        (
            "scrape_metadata".to_string(),
            topology.as_json().to_string(),
        ),
        ("alert_rules".to_string(), rules.to_string()),
    ])
}

/// This unit's bag: its address (what replaces `*` in the targets) and name. The library also
/// writes an empty `prometheus_scrape_unit_path`; Juju stores no empty value, so it is not sent.
pub fn unit_bag(address: &str, unit: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "prometheus_scrape_unit_address".to_string(),
            address.to_string(),
        ),
        ("prometheus_scrape_unit_name".to_string(), unit.to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo() -> Topology {
        crate::relations::topology::lab_unit()
    }

    #[test]
    fn jobs_follow_tls() {
        let plain = scrape_jobs(false);
        assert_eq!(
            plain[0],
            json!({"metrics_path": "/metrics", "static_configs": [{"targets": ["*:9187"]}]})
        );
        assert_eq!(plain[1]["scheme"], "http");
        assert_eq!(plain[1]["static_configs"][0]["targets"][0], "*:8008");
        assert_eq!(plain[1]["tls_config"]["insecure_skip_verify"], true);
        let tls = scrape_jobs(true);
        assert_eq!(tls[1]["scheme"], "https");
        assert_eq!(tls.as_array().unwrap().len(), 2, "no pgBackRest job");
        assert!(!tls.to_string().contains("9854"));
    }

    #[test]
    fn bags_have_the_library_keys() {
        let app = app_bag(&topo(), false);
        assert_eq!(
            app.keys().collect::<Vec<_>>(),
            ["alert_rules", "scrape_jobs", "scrape_metadata"]
        );
        let meta: Value = serde_json::from_str(&app["scrape_metadata"]).unwrap();
        assert_eq!(
            meta,
            json!({"model": "lab", "model_uuid": "0b8e1f1c-4a2d-4f6e-9c3b-2d1e5f6a7b8c",
                   "application": "postgresql-k8s", "unit": "postgresql-k8s/0",
                   "charm_name": "postgresql-k8s"})
        );
        let unit = unit_bag("10.1.2.3", "postgresql-k8s/0");
        assert_eq!(unit["prometheus_scrape_unit_address"], "10.1.2.3");
        assert_eq!(unit["prometheus_scrape_unit_name"], "postgresql-k8s/0");
        assert_eq!(unit.len(), 2);
    }

    #[test]
    fn every_rule_of_every_file_is_sent_with_the_topology() {
        let rules = alert_rules(&topo()).unwrap();
        let groups = rules["groups"].as_array().unwrap();
        let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "lab_0b8e1f1c_postgresql_k8s_PatroniExporterK8s_rules",
                "lab_0b8e1f1c_postgresql_k8s_PgbackrestExporterK8s_rules",
                "lab_0b8e1f1c_postgresql_k8s_PostgresqlOperatorK8s_rules",
                "lab_0b8e1f1c_postgresql_k8s_PostgresqlExporterK8s_rules",
                "lab_0b8e1f1c_postgresql_k8s_HostHealth_rules",
            ]
        );
        let sent: Vec<String> = groups
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap())
            .map(|r| r["alert"].as_str().unwrap().to_string())
            .collect();
        let mut in_files = Vec::new();
        for (_, text) in RULE_FILES {
            for line in text.lines() {
                if let Some(name) = line.trim().strip_prefix("- alert: ") {
                    in_files.push(name.trim().to_string());
                }
            }
        }
        assert_eq!(in_files.len(), 37);
        for name in &in_files {
            assert!(sent.contains(name), "{name} missing");
        }
        assert_eq!(sent.len(), in_files.len() + 2);
        for rule in groups.iter().flat_map(|g| g["rules"].as_array().unwrap()) {
            let labels = &rule["labels"];
            assert_eq!(labels["juju_model"], "lab");
            assert_eq!(
                labels["juju_model_uuid"],
                "0b8e1f1c-4a2d-4f6e-9c3b-2d1e5f6a7b8c"
            );
            assert_eq!(labels["juju_application"], "postgresql-k8s");
            assert_eq!(labels["juju_charm"], "postgresql-k8s");
            assert!(labels.get("juju_unit").is_none());
            assert!(labels["severity"].is_string(), "{rule}");
            assert!(!rule["expr"].as_str().unwrap().contains("%%"));
        }
    }

    #[test]
    fn the_topology_placeholder_is_removed() {
        assert_eq!(
            strip_topology_placeholder("up{%%juju_topology%%,job=\"x\"} < 1"),
            "up{job=\"x\"} < 1"
        );
        assert_eq!(strip_topology_placeholder("up{%%juju_topology%%}"), "up{}");
    }

    #[test]
    fn prefixed_names_are_recognised() {
        assert!(already_prefixed("lab_0b8e1f1c_app_X_rules"));
        assert!(!already_prefixed("PatroniExporterK8s"));
        assert!(already_prefixed("x_0b8e1f1c_rules"));
        assert!(!already_prefixed("x_0B8E1F1C_y_rules"));
        assert!(!already_prefixed("x_0b8e1f1crules"));
    }
}
