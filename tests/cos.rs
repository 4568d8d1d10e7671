//! COS end to end in the lab: the charm's scrape jobs and alert rules on `metrics-endpoint`, read
//! by the real consumer library (prometheus_scrape v0 LIBPATCH 56, in the `prometheus-consumer`
//! test charm), fed to a real Prometheus that scrapes the units' real exporters and Patronis and
//! evaluates the rules until an alert fires when the database stops; the charm's dashboards on
//! `grafana-dashboard`, decoded by the real grafana_dashboard consumer (LIBPATCH 47, in
//! `grafana-consumer`), checked against real scrapes; the Patroni job following TLS.

mod common_lab;
mod common_promql;

use std::collections::BTreeSet;
use std::path::Path;

use common_lab::cos::{
    self, COS_PYTHON_ENV, Derived, GRAFANA_CONSUMER, PROMETHEUS_CONSUMER, Prometheus,
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

/// The alerts of the generic `HostHealth` group the prometheus_scrape provider adds to a
/// charm's own rules (the charm writes it as the library would).
const GENERIC_ALERTS: [&str; 2] = ["HostDown", "HostMetricsMissing"];

/// The series Prometheus adds to every target it scrapes.
const SYNTHETIC: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

/// The alert names of `cos/alert_rules`.
fn alert_names() -> BTreeSet<String> {
    let (rules, _) = alert_rules();
    rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .map(|r| r["alert"].as_str().unwrap().to_string())
        .collect()
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
fn exposition_metric_names() {
    let names = cos::metric_names("# HELP a x\n# TYPE a gauge\na 1\nb{c=\"d\"} 2\n\n");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["a", "b"]);
}

/// Every panel's query expressions of a dashboard (rows' nested panels included).
fn panel_exprs(dashboard: &Value) -> Vec<(String, String)> {
    fn walk(panels: &Value, out: &mut Vec<(String, String)>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or_default();
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((title.to_string(), expr.to_string()));
                }
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = vec![];
    walk(&dashboard["panels"], &mut out);
    out
}

/// Scrape `url` `n` times; (median, p95) of the transfer times in ms, and the body's size.
fn scrape_times(url: &str, n: usize) -> (f64, f64, usize) {
    let mut times = vec![];
    let mut size = 0;
    for _ in 0..n {
        let (body, secs) = cos::curl_timed(url).unwrap();
        size = body.len();
        times.push(secs * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let p95 = times[((n as f64 * 0.95).ceil() as usize)
        .saturating_sub(1)
        .min(n - 1)];
    (times[n / 2], p95, size)
}

/// The charm's own relation data, two units (a primary and a streaming replica): the library
/// derives an exporter and a Patroni job per unit with the unit as target (Patroni over http
/// without TLS) and every rule of `cos/alert_rules` (plus the library's generic host rules); a
/// real Prometheus scrapes all four targets with `up == 1` and loads every rule. The library
/// decodes the charm's three dashboards, and every metric of every panel is in a real scrape of
/// the units' exporters or Patronis (or is one Prometheus adds to every target). The
/// exporter's scrape time is measured (printed, not asserted). Then unit 0's Patroni (and with
/// it PostgreSQL) is stopped while its exporter keeps answering: `PostgresqlDown` fires.
#[test]
fn the_charm_is_scraped_its_dashboards_match_and_alerts_fire() {
    if !common_lab::can_run() {
        return;
    }
    let mut d = deploy();
    d.model.add_unit(APP, 1).unwrap();
    let replica = format!("{APP}/1");
    let joined = d.wait_until(None, 180, |d| {
        d.model
            .unit_status(&replica)
            .is_some_and(|s| s.status == "active")
    });
    assert!(joined, "{replica} never became active\n{}", d.log_tail(40));
    let addresses = [d.address(0), d.address(1)];
    let (_, rule_count) = alert_rules();

    let derived = relate_prometheus(&mut d, APP);
    let targets: BTreeSet<String> = derived.targets().into_iter().map(|(_, t)| t).collect();
    let want: BTreeSet<String> = addresses
        .iter()
        .flat_map(|a| [format!("{a}:9187"), format!("{a}:8008")])
        .collect();
    assert_eq!(targets, want, "{:#}", json!(derived.jobs));
    let patroni: Vec<&Value> = derived
        .jobs
        .iter()
        .filter(|j| j.to_string().contains(":8008"))
        .collect();
    assert_eq!(patroni.len(), 2, "{:#}", json!(derived.jobs));
    for job in patroni {
        assert_eq!(job["scheme"], "http", "{job:#}");
    }
    // Our rules, and the generic HostHealth group the provider library adds to every charm's.
    let rules = derived.rules();
    let names: BTreeSet<String> = rules.iter().map(|(n, _)| n.clone()).collect();
    let mut want = alert_names();
    want.extend(GENERIC_ALERTS.map(String::from));
    assert_eq!(names, want, "{:#}", json!(derived.alerts));
    let rule_count = rule_count + GENERIC_ALERTS.len();
    assert_eq!(rules.len(), rule_count, "{:#}", json!(derived.alerts));
    // The provider library's topology labels are on every rule (the consumer keys the rule
    // file by them).
    for (name, rule) in &rules {
        assert_eq!(rule["labels"]["juju_application"], APP, "{name}: {rule}");
    }

    let prometheus = Prometheus::start(d.scratch(), &derived);
    assert_all_up(&prometheus, &derived);
    let loaded = prometheus.rules();
    assert_eq!(loaded.len(), rule_count, "{:#}", json!(loaded));
    assert!(
        loaded.iter().all(|r| r["health"] != "err"),
        "{:#}",
        json!(loaded)
    );

    // Dashboards: every panel metric exists in a real scrape.
    let charm = cos::cos_charm(d.scratch(), GRAFANA_CONSUMER);
    d.model.deploy(&charm, None, 1, &[]).unwrap();
    d.model
        .integrate(&format!("{APP}:grafana-dashboard"), GRAFANA_CONSUMER)
        .unwrap();
    settle_ok(&mut d.model);
    let dashboards = cos::grafana_derived(&mut d.model, &format!("{GRAFANA_CONSUMER}/0"))
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log_tail(40)));
    assert_eq!(dashboards.len(), 3, "{:#}", json!(dashboards));
    // The union of every unit's scrapes, once the replica streams and its slot exists (the
    // replication metrics appear only then), plus what Prometheus adds to every target.
    let scrape_all = || {
        let mut names: BTreeSet<String> = SYNTHETIC.map(String::from).into();
        for a in &addresses {
            for port in [9187, 8008] {
                let body = cos::curl(&format!("http://{a}:{port}/metrics")).unwrap();
                names.extend(cos::metric_names(&body));
            }
        }
        names
    };
    let streaming = [
        "pg_stat_replication_pg_wal_lsn_diff",
        "pg_replication_slots_pg_wal_lsn_diff",
    ];
    let scraped = prometheus
        .wait(60, |_| {
            let names = scrape_all();
            streaming
                .iter()
                .all(|m| names.contains(*m))
                .then_some(names)
        })
        .unwrap_or_else(scrape_all);
    // Series that appear only once create-backup has recorded a backup (tests/backups.rs finds
    // them in a real scrape after one); here they must at least be the charm's own queries.
    let queries = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("cos/exporter/queries.yaml"),
    )
    .unwrap();
    assert!(queries.contains("\npg_backup:\n"), "{queries}");
    let after_a_backup = [
        "pg_backup_last_completed_time",
        "pg_backup_last_failed_time",
    ];
    for metric in after_a_backup {
        let column = metric.strip_prefix("pg_backup_").unwrap();
        assert!(queries.contains(&format!("- {column}:")), "{metric}");
    }
    let mut missing = vec![];
    let mut checked = 0;
    for dashboard in &dashboards {
        let exprs = panel_exprs(&dashboard["content"]);
        assert!(
            !exprs.is_empty(),
            "no panel queries in {}",
            dashboard["title"]
        );
        for (panel, expr) in exprs {
            for metric in common_promql::metric_names(&expr) {
                checked += 1;
                if !scraped.contains(&metric) && !after_a_backup.contains(&metric.as_str()) {
                    missing.push(format!(
                        "{} / {panel}: {metric} in {expr}",
                        dashboard["title"]
                    ));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "metrics not in a real scrape:\n{}",
        missing.join("\n")
    );
    eprintln!("dashboards: {checked} metric references checked against a real scrape");

    // The exporter's scrape time (reported, not asserted).
    let address = &addresses[0];
    let (median, p95, size) = scrape_times(&format!("http://{address}:9187/metrics"), 30);
    eprintln!(
        "exporter scrape: median {median:.1} ms, p95 {p95:.1} ms, body {size} bytes (30 scrapes)"
    );
    let (median, p95, size) = scrape_times(&format!("http://{address}:8008/metrics"), 30);
    eprintln!(
        "patroni scrape: median {median:.1} ms, p95 {p95:.1} ms, body {size} bytes (30 scrapes)"
    );

    // Every unit's exporter reaches its database (pg_up is the exporter's own view; `up` above
    // is only Prometheus reaching the exporter).
    let all_up = prometheus.wait(30, |p| {
        let up = p.query("pg_up");
        (up.len() == addresses.len() && up.iter().all(|r| r["value"][1] == "1")).then_some(())
    });
    assert!(all_up.is_some(), "{:#}", json!(prometheus.query("pg_up")));

    stop_database(&d);
    let state = wait_alert(&prometheus, "PostgresqlDown", 150);
    assert_eq!(
        state.as_deref(),
        Some("firing"),
        "{:#}\n{}",
        json!(prometheus.alerts()),
        json!(prometheus.query("pg_up"))
    );
}

/// The Patroni job follows TLS: http before the `certificates` relation, https (without
/// verification, the unit's certificate names the pod) once Patroni serves TLS, and a real
/// Prometheus scrapes it over https with `up == 1`.
#[test]
fn the_patroni_job_follows_tls() {
    if !common_lab::can_run() {
        return;
    }
    let (cos_py, tls_py) = (cos::cos_python(), common_lab::tls::tls_python());
    let mut d = common_lab::deploy_in(
        false,
        &[],
        &[
            (COS_PYTHON_ENV, cos_py.to_str().unwrap()),
            (common_lab::tls::TLS_PYTHON_ENV, tls_py.to_str().unwrap()),
        ],
    );
    let patroni_job = |derived: &Derived| {
        derived
            .jobs
            .iter()
            .find(|j| j.to_string().contains(":8008"))
            .cloned()
            .unwrap_or_else(|| panic!("no Patroni job: {:#}", json!(derived.jobs)))
    };
    let before = relate_prometheus(&mut d, APP);
    assert_eq!(patroni_job(&before)["scheme"], "http");

    let provider = common_lab::tls::provider_charm(&d.scratch().join("charms"));
    d.model
        .deploy(&provider, Some("tls-provider"), 1, &[])
        .unwrap();
    d.model
        .integrate(&format!("{APP}:certificates"), "tls-provider")
        .unwrap();
    let unit = format!("{APP}/0");
    let on = d.wait_until(Some(&unit), 90, |d| {
        d.model.state().units[&unit]
            .state
            .contains_key("patroni-api-ca")
            && d.model
                .unit_status(&unit)
                .is_some_and(|s| s.status == "active" && s.message == "Primary")
    });
    assert!(on, "TLS never came on\n{}", d.log_tail(60));

    let after = cos::prometheus_derived(&mut d.model, &format!("{PROMETHEUS_CONSUMER}/0")).unwrap();
    let job = patroni_job(&after);
    assert_eq!(job["scheme"], "https", "{job:#}");
    assert_eq!(job["tls_config"]["insecure_skip_verify"], true, "{job:#}");
    let prometheus = Prometheus::start(d.scratch(), &after);
    assert_all_up(&prometheus, &after);
    let https = prometheus
        .targets()
        .into_iter()
        .filter(|t| {
            t["scrapeUrl"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://"))
        })
        .count();
    assert_eq!(https, 1, "{:#}", json!(prometheus.targets()));
    // With TLS on, the exporter reports the served certificate's expiry (the charm's query).
    let scrape = || cos::curl(&format!("http://{}:9187/metrics", d.address(0))).unwrap();
    let expiry = (0..30)
        .find_map(|_| {
            let line = scrape()
                .lines()
                .find(|l| l.starts_with("pg_tls_certificate_not_after"))
                .map(str::to_string);
            if line.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            line
        })
        .unwrap_or_else(|| {
            let body = scrape();
            let seen: Vec<&str> = body
                .lines()
                .filter(|l| l.starts_with("pg_exporter") || l.starts_with("pg_up"))
                .collect();
            #[allow(clippy::disallowed_methods)]
            let logs = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("for s in $(find {} -name pebble.socket); do echo $s; curl -s --unix-socket $s 'http://localhost/v1/logs?n=40&services=metrics_server'; curl -s --unix-socket $s 'http://localhost/v1/logs?n=60&services=postgresql' | grep -i -E 'monitoring|FATAL|auth' | tail -20; done", d.scratch().display()))
                .output()
                .unwrap();
            panic!("no certificate expiry in the scrape: {seen:#?}\n{}", String::from_utf8_lossy(&logs.stdout))
        });
    assert!(
        scrape().lines().any(|l| l == "pg_up 1"),
        "the exporter reaches PostgreSQL with TLS on"
    );
    let value: f64 = expiry.rsplit(' ').next().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(value > now, "{expiry}");
}
