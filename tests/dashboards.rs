//! The Grafana dashboards in `cos/dashboards/`: valid JSON, unique panel ids, only the
//! `${prometheusds}` datasource, every query valid PromQL (promtool) naming only metrics that a
//! real scrape of the exporter or Patroni exposes (`cos/alert_rules/tests/*-metrics.txt`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

mod common_promql;

use common_promql::metric_names;

/// The one series Prometheus writes itself for every target (not in any scrape).
const SYNTHETIC: &[&str] = &["up"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dashboards() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("cos/dashboards")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let doc: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()));
            out.push((
                path.file_name().unwrap().to_string_lossy().into_owned(),
                doc,
            ));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn known_metrics() -> BTreeSet<String> {
    let mut names: BTreeSet<String> = SYNTHETIC.iter().map(|s| s.to_string()).collect();
    for file in ["exporter-metrics.txt", "patroni-metrics.txt"] {
        let text =
            std::fs::read_to_string(root().join("cos/alert_rules/tests").join(file)).unwrap();
        names.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    names
}

/// Every panel, rows' nested panels included.
fn panels(doc: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in doc["panels"].as_array().unwrap() {
        out.push(p);
        if let Some(inner) = p.get("panels").and_then(Value::as_array) {
            out.extend(inner);
        }
    }
    out
}

fn exprs(doc: &Value) -> Vec<String> {
    panels(doc)
        .into_iter()
        .filter_map(|p| p.get("targets").and_then(Value::as_array))
        .flatten()
        .filter_map(|t| t.get("expr").and_then(Value::as_str))
        .map(String::from)
        .collect()
}

#[test]
fn every_metric_in_every_panel_is_in_a_real_scrape() {
    let known = known_metrics();
    let mut unknown = Vec::new();
    let mut total = 0;
    for (file, doc) in dashboards() {
        for expr in exprs(&doc) {
            let names = metric_names(&expr);
            assert!(!names.is_empty(), "{file}: no metric in {expr}");
            for name in names {
                total += 1;
                if !known.contains(&name) {
                    unknown.push(format!("{file}: {name} (in {expr})"));
                }
            }
        }
    }
    assert!(total > 50, "only {total} metric references found");
    assert!(
        unknown.is_empty(),
        "metrics no scrape exposes:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn the_three_dashboards_are_there_with_unique_panel_ids() {
    let all = dashboards();
    assert_eq!(
        all.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
        [
            "postgresql-metrics.json",
            "postgresql-patroni-metrics.json",
            "postgresql-pgbackrest-metrics.json"
        ]
    );
    for (file, doc) in &all {
        assert!(
            doc["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{file}"
        );
        let ids: Vec<u64> = panels(doc)
            .iter()
            .map(|p| p["id"].as_u64().unwrap())
            .collect();
        let unique: BTreeSet<u64> = ids.iter().copied().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "{file}: duplicate panel ids {ids:?}"
        );
        assert!(
            doc.get("templating").is_none(),
            "{file}: the consumer injects the topology and datasource variables"
        );
    }
}

#[test]
fn only_the_prometheusds_datasource_is_used() {
    fn walk(v: &Value, file: &str) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if k == "datasource" {
                        let ds = child
                            .as_str()
                            .or_else(|| child.get("uid").and_then(Value::as_str));
                        assert_eq!(ds, Some("${prometheusds}"), "{file}: {child}");
                    }
                    walk(child, file);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, file)),
            _ => {}
        }
    }
    for (file, doc) in dashboards() {
        walk(&doc, &file);
        for p in panels(&doc) {
            if p.get("targets").is_some() {
                assert_eq!(p["datasource"], "${prometheusds}", "{file}: {}", p["title"]);
            }
        }
    }
}

/// promtool parses every query (Grafana's `$__rate_interval` stands in as `5m`; `$variables`
/// inside label matchers are plain strings to PromQL).
#[test]
fn every_query_is_valid_promql() {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboards\n    rules:\n");
    let mut n = 0;
    for (_, doc) in dashboards() {
        for expr in exprs(&doc) {
            n += 1;
            let expr = expr.replace("$__rate_interval", "5m");
            rules.push_str(&format!(
                "      - record: dashboard:query{n}\n        expr: {}\n",
                serde_json::to_string(&expr).unwrap()
            ));
        }
    }
    let file = dir.path().join("queries.yaml");
    std::fs::write(&file, rules).unwrap();
    let promtool = Path::new("/usr/bin/promtool");
    assert!(
        promtool.exists(),
        "promtool is installed by scripts/install-deps"
    );
    #[allow(clippy::disallowed_methods)] // promtool, the real PromQL parser
    let out = std::process::Command::new(promtool)
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
