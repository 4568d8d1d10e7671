//! The COS relation data checked by code we did not write: the bags the charm renders for
//! `metrics-endpoint` and `grafana-dashboard` are fed to the real consumer libraries
//! (`prometheus_scrape` v0 LIBPATCH 56 and `grafana_dashboard` v0 LIBPATCH 47 from PyPI's
//! `postgresql-charms-single-kernel`, with `cosl`) through ops' testing Harness
//! (`tests/cos/decode.py`), and the test asserts what they derive: scrape targets, schemes,
//! alert rules, dashboards.

mod common_lab;

use std::path::Path;

use postgresql_k8s::relations::dashboards;
use postgresql_k8s::relations::metrics::{self, Topology};
use serde_json::{Value, json};

const UUID: &str = "5a1b4d6e-0000-4000-8000-00000000beef";

fn python() -> std::path::PathBuf {
    common_lab::cos::cos_python()
}

fn topology(unit: &str) -> Topology {
    Topology {
        model: "lab".into(),
        model_uuid: UUID.into(),
        application: "postgresql-k8s".into(),
        unit: unit.into(),
        charm_name: metrics::CHARM_NAME.into(),
    }
}

/// What the libraries derive from our bags, for two units at 10.1.2.3 and 10.1.2.4.
fn decode(patroni_tls: bool) -> Value {
    let leader = topology("postgresql-k8s/0");
    let bags = json!({
        "remote_app": "postgresql-k8s",
        "units": {
            "postgresql-k8s/0": metrics::unit_bag("10.1.2.3", "postgresql-k8s/0"),
            "postgresql-k8s/1": metrics::unit_bag("10.1.2.4", "postgresql-k8s/1"),
        },
        "metrics_app": metrics::app_bag(&leader, patroni_tls),
        "dashboards_app": dashboards::app_bag(&leader).unwrap(),
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bags.json");
    std::fs::write(&file, bags.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cos/decode.py");
    #[allow(clippy::disallowed_methods)] // the real libraries, in their venv
    let out = std::process::Command::new(python())
        .arg(&script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "decode.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Targets by port: (scheme, sorted targets).
fn targets(jobs: &Value, port: &str) -> Vec<(String, String, Value)> {
    let mut found: Vec<(String, String, Value)> = jobs
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|job| {
            let scheme = job
                .get("scheme")
                .and_then(Value::as_str)
                .unwrap_or("http")
                .to_string();
            job["static_configs"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(move |sc| {
                    let labels = sc["labels"].clone();
                    let scheme = scheme.clone();
                    sc["targets"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(move |t| {
                            (
                                scheme.clone(),
                                t.as_str().unwrap().to_string(),
                                labels.clone(),
                            )
                        })
                        .collect::<Vec<_>>()
                })
        })
        .filter(|(_, t, _)| t.ends_with(&format!(":{port}")))
        .collect();
    found.sort_by(|a, b| a.1.cmp(&b.1));
    found
}

#[test]
fn prometheus_scrape_reads_our_jobs_and_rules() {
    let out = decode(false);
    let jobs = &out["jobs"];
    let exporter = targets(jobs, "9187");
    assert_eq!(
        exporter.iter().map(|t| t.1.as_str()).collect::<Vec<_>>(),
        ["10.1.2.3:9187", "10.1.2.4:9187"],
        "{jobs}"
    );
    assert_eq!(exporter[0].2["juju_unit"], "postgresql-k8s/0");
    assert_eq!(exporter[1].2["juju_unit"], "postgresql-k8s/1");
    assert_eq!(exporter[0].2["juju_model_uuid"], UUID);
    let patroni = targets(jobs, "8008");
    assert_eq!(patroni.len(), 2, "{jobs}");
    assert!(patroni.iter().all(|t| t.0 == "http"), "{jobs}");
    assert!(targets(jobs, "9854").is_empty());
    for job in jobs.as_array().unwrap() {
        assert_eq!(job["metrics_path"], "/metrics");
        assert!(
            job["job_name"]
                .as_str()
                .unwrap()
                .starts_with("juju_lab_5a1b4d6e_postgresql-k8s_prometheus_scrape"),
            "{job}"
        );
    }

    let alerts = out["alerts"].as_object().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let (id, rules) = alerts.iter().next().unwrap();
    assert!(id.starts_with("lab_5a1b4d6e_postgresql-k8s"), "{id}");
    let groups = rules["groups"].as_array().unwrap();
    let count: usize = groups
        .iter()
        .map(|g| g["rules"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        count,
        37 + 2,
        "every rule of cos/alert_rules plus HostHealth"
    );
    for rule in groups.iter().flat_map(|g| g["rules"].as_array().unwrap()) {
        assert_eq!(rule["labels"]["juju_application"], "postgresql-k8s");
    }
}

#[test]
fn the_patroni_job_follows_tls() {
    let out = decode(true);
    let patroni = targets(&out["jobs"], "8008");
    assert_eq!(patroni.len(), 2);
    assert!(patroni.iter().all(|t| t.0 == "https"), "{}", out["jobs"]);
    assert!(
        targets(&out["jobs"], "9187").iter().all(|t| t.0 == "http"),
        "the exporter serves plain HTTP"
    );
}

#[test]
fn grafana_dashboard_reads_our_dashboards() {
    let out = decode(false);
    let got = out["dashboards"].as_array().unwrap();
    assert_eq!(got.len(), 3, "{got:?}");
    for (stem, source) in dashboards::DASHBOARDS {
        let d = got
            .iter()
            .find(|d| d["id"] == format!("file:{stem}"))
            .unwrap_or_else(|| panic!("{stem} missing"));
        let ours: Value = serde_json::from_str(source).unwrap();
        assert_eq!(d["charm"], "postgresql-k8s");
        assert_eq!(d["title"], ours["title"]);
        assert_eq!(d["uid"], out["library_uids"][stem]["uid"], "{stem}");
        let content = &d["content"];
        assert_eq!(
            content["panels"].as_array().unwrap().len(),
            ours["panels"].as_array().unwrap().len()
        );
        let variables: Vec<&str> = content["templating"]["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        for v in [
            "juju_model",
            "juju_model_uuid",
            "juju_application",
            "juju_unit",
            "prometheusds",
        ] {
            assert!(variables.contains(&v), "{stem}: {variables:?}");
        }
    }
    let alt = dashboards::alt_uid("postgresql-k8s", "postgresql-metrics");
    assert_eq!(
        out["library_uids"]["postgresql-metrics"]["alt_uid"], alt,
        "our dashboard_alt_uid is the library's"
    );
}
