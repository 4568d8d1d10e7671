//! COS end to end in the lab: scrape jobs and alert rules on `metrics-endpoint`, read by the real
//! consumer library (prometheus_scrape v0 LIBPATCH 56, in the `prometheus-consumer` test charm),
//! fed to a real Prometheus that scrapes the unit's real exporter and Patroni, and evaluates the
//! rules until an alert fires when the database stops.

mod common_lab;

use std::collections::BTreeSet;
use std::path::Path;

use common_lab::cos::{
    self, COS_PYTHON_ENV, Derived, METRICS_PROVIDER, PROMETHEUS_CONSUMER, Prometheus,
};
use common_lab::{APP, Deployment, settle_ok};
use serde_json::{Value, json};

/// Every alert rule file of `cos/alert_rules` as one rule file (JSON), and its rule count.
fn alert_rules() -> (Value, usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cos/alert_rules");
    let mut groups = vec![];
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    for path in paths {
        let file: Value = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        groups.extend(file["groups"].as_array().unwrap().iter().cloned());
    }
    let count = groups
        .iter()
        .map(|g| g["rules"].as_array().unwrap().len())
        .sum();
    (json!({ "groups": groups }), count)
}

/// The charm (and etcd) deployed, with the consumers' interpreter in the model's environment.
fn deploy() -> Deployment {
    let python = cos::cos_python();
    common_lab::deploy_in(false, &[], &[(COS_PYTHON_ENV, python.to_str().unwrap())])
}

/// Deploy `prometheus-consumer`, relate it to `provider`'s metrics-endpoint, settle; what its
/// library derived.
fn relate_prometheus(d: &mut Deployment, provider: &str) -> Derived {
    let charm = cos::cos_charm(d.scratch(), PROMETHEUS_CONSUMER);
    d.model.deploy(&charm, None, 1, &[]).unwrap();
    d.model
        .integrate(&format!("{provider}:metrics-endpoint"), PROMETHEUS_CONSUMER)
        .unwrap();
    settle_ok(&mut d.model);
    cos::prometheus_derived(&mut d.model, &format!("{PROMETHEUS_CONSUMER}/0"))
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log_tail(40)))
}

/// Every target of `derived` is scraped with `up == 1` (the library relabels `instance` with the
/// Juju topology, so targets are matched on their address).
fn assert_all_up(prometheus: &Prometheus, derived: &Derived) {
    let want: BTreeSet<String> = derived.targets().into_iter().map(|(_, t)| t).collect();
    let address = |t: &Value| {
        t["discoveredLabels"]["__address__"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let up = prometheus.wait(60, |p| {
        let targets = p.targets();
        let healthy: BTreeSet<String> = targets
            .iter()
            .filter(|t| t["health"] == "up")
            .map(address)
            .collect();
        (healthy == want).then_some(targets)
    });
    let Some(targets) = up else {
        panic!(
            "targets never all up: want {want:?}\n{:#}",
            json!(prometheus.targets())
        );
    };
    let samples = prometheus.query("up");
    for target in &targets {
        let labels = &target["labels"];
        let sample = samples.iter().find(|s| {
            s["metric"]["job"] == labels["job"] && s["metric"]["instance"] == labels["instance"]
        });
        let value = sample.map(|s| s["value"][1].clone());
        assert_eq!(value, Some(json!("1")), "{}: {samples:?}", address(target));
    }
}

/// Stop Patroni (the `postgresql` service, which stops PostgreSQL with it) while the exporter
/// keeps answering; no hook runs meanwhile, so the charm does not start it again.
fn stop_database(d: &Deployment) {
    let client = d.model.pebble(&format!("{APP}/0"), "postgresql").unwrap();
    d.model.block_on(client.stop(&["postgresql"])).unwrap();
}

/// Wait until `alert` is active in Prometheus; its state (`pending` or `firing`) once it is
/// `firing` or after `secs` seconds.
fn wait_alert(prometheus: &Prometheus, alert: &str, secs: u64) -> Option<String> {
    let state = |p: &Prometheus| {
        p.alerts()
            .into_iter()
            .find(|a| a["labels"]["alertname"] == alert)
            .map(|a| a["state"].as_str().unwrap_or_default().to_string())
    };
    prometheus
        .wait(secs, |p| state(p).filter(|s| s == "firing"))
        .or_else(|| state(prometheus))
}

#[test]
fn promql_metric_names() {
    let got = cos::promql_metrics(
        r#"sum by (instance, job) (rate(pg_stat_database_xact_commit{datname=~"$db", juju_unit="x"}[5m])) / on(instance) group_left(a) pg_up"#,
    );
    assert_eq!(
        got.into_iter().collect::<Vec<_>>(),
        ["pg_stat_database_xact_commit", "pg_up"]
    );
    let got = cos::promql_metrics(
        "histogram_quantile(0.9, rate(x_bucket[$__rate_interval])) > 1e3 and time() - y offset 5m",
    );
    assert_eq!(got.into_iter().collect::<Vec<_>>(), ["x_bucket", "y"]);
}

#[test]
fn exposition_metric_names() {
    let names = cos::metric_names("# HELP a x\n# TYPE a gauge\na 1\nb{c=\"d\"} 2\n\n");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["a", "b"]);
}

/// Hand-made relation data in the reference's shape (wildcard targets on the exporter's and
/// Patroni's ports, topology in `scrape_metadata`, our alert rules) from a shell provider
/// pointed at the charm's unit: the library expands the targets to that unit, a real
/// Prometheus scrapes both with `up == 1`, loads every rule, and `PostgresqlDown` fires once
/// Patroni (and with it PostgreSQL) is stopped while the exporter keeps answering.
#[test]
fn hand_made_scrape_data_reaches_a_real_prometheus() {
    if !common_lab::can_run() {
        return;
    }
    let mut d = deploy();
    let address = d.address(0);
    let jobs = json!([
        {"metrics_path": "/metrics", "static_configs": [{"targets": ["*:9187"]}]},
        {"job_name": "patroni", "metrics_path": "/metrics", "scheme": "http",
         "static_configs": [{"targets": ["*:8008"]}]},
    ]);
    let metadata = json!({
        "model": "lab", "model_uuid": "00000000-0000-4000-8000-000000000000",
        "application": METRICS_PROVIDER, "unit": format!("{METRICS_PROVIDER}/0"),
        "charm_name": METRICS_PROVIDER,
    });
    let (rules, rule_count) = alert_rules();
    let charm = cos::cos_charm(d.scratch(), METRICS_PROVIDER);
    let config: Vec<(String, String)> = [
        ("scrape-jobs", jobs.to_string()),
        ("scrape-metadata", metadata.to_string()),
        ("alert-rules", rules.to_string()),
        ("unit-address", address.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    d.model.deploy(&charm, None, 1, &config).unwrap();
    settle_ok(&mut d.model);

    let derived = relate_prometheus(&mut d, METRICS_PROVIDER);
    let targets: BTreeSet<String> = derived.targets().into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        targets,
        BTreeSet::from([format!("{address}:9187"), format!("{address}:8008")]),
        "{:#}",
        json!(derived.jobs)
    );
    assert_eq!(derived.rules().len(), rule_count);

    let prometheus = Prometheus::start(d.scratch(), &derived);
    assert_all_up(&prometheus, &derived);
    let loaded = prometheus.rules();
    assert_eq!(loaded.len(), rule_count, "{:#}", json!(loaded));
    assert!(
        loaded.iter().all(|r| r["health"] != "err"),
        "{:#}",
        json!(loaded)
    );

    stop_database(&d);
    let state = wait_alert(&prometheus, "PostgresqlDown", 150);
    assert_eq!(
        state.as_deref(),
        Some("firing"),
        "alerts: {:#}\npg_up: {}\ntargets: {:#}",
        json!(prometheus.alerts()),
        json!(prometheus.query("pg_up")),
        json!(prometheus.targets())
    );
}
