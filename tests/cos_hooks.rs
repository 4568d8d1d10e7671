//! State tests of the COS relations (`metrics-endpoint`, `grafana-dashboard`): the real charm
//! binary runs one hook against recorded hook-tool answers (the lab's replay `jujuc`), and the
//! test checks the relation data it wrote and the hook-tool calls it made.

use std::collections::BTreeMap;

mod common_replay;

use common_replay::unit;
use lab::harness::{Harness, HookRun};
use serde_json::Value;

const UNIT_SECRET_GET: &str =
    "secret-get --format=json --label database-peers.postgresql-k8s.unit --peek";
const STORE: &str =
    "{\"hosts\":[\"10.1.2.9:2379\"],\"protocol\":\"http\",\"ca\":null,\"client_secret\":null}";
const PEERS: &str = "{\"relation\":0,\"members\":{}}";

/// A unit with its passwords stored, an etcd provider related, no workload socket, and one
/// Prometheus (relation 7) and one Grafana (relation 8) related.
fn harness(leader: bool) -> Harness {
    let mut h = unit(leader, state(&[]).trim_end());
    h.fail(UNIT_SECRET_GET, 1, "ERROR secret not found\n")
        .answer(
            "relation-ids metrics-endpoint",
            "[\"metrics-endpoint:7\"]\n",
        )
        .answer(
            "relation-ids grafana-dashboard",
            "[\"grafana-dashboard:8\"]\n",
        )
        .answer("relation-ids certificates", "[]\n")
        .answer("relation-get --format=json -r metrics-endpoint:7", "{}\n")
        .answer("relation-get --format=json -r grafana-dashboard:8", "{}\n");
    h
}

/// A `state-get` answer: the store and peers as a steady unit keeps them, plus `extra`.
fn state(extra: &[(&str, &str)]) -> String {
    let mut s = BTreeMap::from([("etcd-store", STORE), ("peers", PEERS)]);
    s.extend(extra.iter().copied());
    format!("{}\n", serde_json::to_string(&s).unwrap())
}

fn relation_env<'a>(endpoint: &'a str, id: &'a str, remote: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("JUJU_RELATION", endpoint),
        ("JUJU_RELATION_ID", id),
        ("JUJU_REMOTE_APP", remote),
        (
            "JUJU_REMOTE_UNIT",
            if remote == "prometheus" {
                "prometheus/0"
            } else {
                "grafana/0"
            },
        ),
    ]
}

/// The relation-set calls: (relation, app bag?, the data written).
fn sets(run: &HookRun) -> Vec<(String, bool, BTreeMap<String, String>)> {
    run.calls_to("relation-set")
        .into_iter()
        .map(|c| {
            let relation = c.args[c.args.iter().position(|a| a == "-r").unwrap() + 1].clone();
            let app = c.args.iter().any(|a| a == "--app");
            (relation, app, serde_json::from_str(&c.stdin).unwrap())
        })
        .collect()
}

/// What the hook recorded in the charm's state.
fn state_set(run: &HookRun) -> BTreeMap<String, String> {
    run.calls_to("state-set")
        .into_iter()
        .flat_map(|c| serde_json::from_str::<BTreeMap<String, String>>(&c.stdin).unwrap())
        .collect()
}

fn metrics_joined(h: &Harness) -> HookRun {
    let run = h
        .run(
            "hooks/metrics-endpoint-relation-joined",
            &relation_env("metrics-endpoint", "metrics-endpoint:7", "prometheus"),
        )
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    run
}

fn scrape_jobs(bag: &BTreeMap<String, String>) -> Value {
    serde_json::from_str(&bag["scrape_jobs"]).unwrap()
}

#[test]
fn the_leader_writes_the_application_and_unit_bags_on_joined() {
    let h = harness(true);
    let run = metrics_joined(&h);
    let sets = sets(&run);
    let app: Vec<_> = sets
        .iter()
        .filter(|s| s.0 == "metrics-endpoint:7" && s.1)
        .collect();
    let unit: Vec<_> = sets
        .iter()
        .filter(|s| s.0 == "metrics-endpoint:7" && !s.1)
        .collect();
    assert_eq!(app.len(), 1, "{sets:?}");
    assert_eq!(unit.len(), 1, "{sets:?}");
    let app = &app[0].2;
    assert_eq!(
        app.keys().collect::<Vec<_>>(),
        ["alert_rules", "scrape_jobs", "scrape_metadata"]
    );
    let jobs = scrape_jobs(app);
    assert_eq!(jobs[0]["static_configs"][0]["targets"][0], "*:9187");
    assert_eq!(jobs[1]["static_configs"][0]["targets"][0], "*:8008");
    assert_eq!(jobs[1]["scheme"], "http");
    let meta: Value = serde_json::from_str(&app["scrape_metadata"]).unwrap();
    assert_eq!(meta["model_uuid"], "5a1b4d6e-0000-4000-8000-00000000beef");
    assert_eq!(meta["unit"], "postgresql-k8s/0");
    let rules: Value = serde_json::from_str(&app["alert_rules"]).unwrap();
    assert_eq!(rules["groups"].as_array().unwrap().len(), 5);
    assert_eq!(
        unit[0].2,
        BTreeMap::from([
            (
                "prometheus_scrape_unit_address".to_string(),
                "10.1.2.3".to_string()
            ),
            (
                "prometheus_scrape_unit_name".to_string(),
                "postgresql-k8s/0".to_string()
            ),
        ])
    );
    // The joined hook of one relation also brings the other COS relation up to date.
    assert!(sets.iter().any(|s| s.0 == "grafana-dashboard:8" && s.1));
    let kept: Value = serde_json::from_str(&state_set(&run)["cos"]).unwrap();
    assert_eq!(kept["metrics"], serde_json::json!([7]));
    assert_eq!(kept["dashboards"], serde_json::json!([8]));
}

#[test]
fn a_non_leader_writes_only_its_unit_bag() {
    let h = harness(false);
    let run = metrics_joined(&h);
    let sets = sets(&run);
    assert_eq!(sets.len(), 1, "{sets:?}");
    assert_eq!(sets[0].0, "metrics-endpoint:7");
    assert!(!sets[0].1);
    assert_eq!(sets[0].2["prometheus_scrape_unit_address"], "10.1.2.3");
}

#[test]
fn update_status_afterwards_reads_and_writes_no_relation_data() {
    let mut h = harness(true);
    let first = metrics_joined(&h);
    let kept = state_set(&first)["cos"].clone();
    h.answer("state-get", &state(&[("cos", &kept)]));
    let run = h.run("hooks/update-status", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    for tool in ["relation-set", "relation-get", "relation-ids"] {
        assert!(
            run.calls_to(tool)
                .iter()
                .all(|c| !c.args.iter().any(
                    |a| a.starts_with("metrics-endpoint") || a.starts_with("grafana-dashboard")
                )),
            "update-status called {tool} on a COS relation: {:?}",
            run.calls
        );
    }
    assert!(run.calls_to("relation-set").is_empty(), "{:?}", run.calls);
    assert!(!state_set(&run).contains_key("cos"));
}

#[test]
fn switching_tls_on_rewrites_the_patroni_job_with_https() {
    let mut h = harness(true);
    let first = metrics_joined(&h);
    let kept = state_set(&first)["cos"].clone();
    // TLS in use: a certificate recorded and the unit secret holding key, certificate and CA.
    let key = postgresql_k8s::tls::keys::PrivateKey::generate();
    let secret = serde_json::json!({
        "key": key.pem().expose(),
        "cert": "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        "cauth": "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
    });
    let tls = "{\"serial\":\"01\",\"not_before\":0,\"not_after\":4102444800}";
    h.answer("state-get", &state(&[("cos", &kept), ("tls", tls)]))
        .answer(UNIT_SECRET_GET, &format!("{secret}\n"))
        .answer(
            "secret-info-get",
            "{\"d4ngcnvmp25c7bgqtgsg\": {\"label\": \"database-peers.postgresql-k8s.unit\", \"revision\": 1, \"owner\": \"unit\"}}\n",
        );
    let run = h.run("hooks/update-status", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let sets = sets(&run);
    let app = sets
        .iter()
        .find(|s| s.0 == "metrics-endpoint:7" && s.1)
        .unwrap_or_else(|| panic!("no application bag written: {:?}", run.calls));
    assert_eq!(scrape_jobs(&app.2)[1]["scheme"], "https");
    assert!(
        !sets.iter().any(|s| s.0 == "grafana-dashboard:8"),
        "dashboards do not depend on TLS: {sets:?}"
    );
    // The same hook again, with what it recorded: nothing more to write.
    let kept = state_set(&run)["cos"].clone();
    h.answer("state-get", &state(&[("cos", &kept), ("tls", tls)]));
    let again = h.run("hooks/update-status", &[]).unwrap();
    assert!(
        !self::sets(&again)
            .iter()
            .any(|s| s.0.starts_with("metrics-endpoint")),
        "{:?}",
        again.calls
    );
}

#[test]
fn grafana_dashboard_joined_writes_the_dashboards() {
    let mut h = harness(true);
    h.answer("relation-ids metrics-endpoint", "[]\n");
    let run = h
        .run(
            "hooks/grafana-dashboard-relation-joined",
            &relation_env("grafana-dashboard", "grafana-dashboard:8", "grafana"),
        )
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let sets = sets(&run);
    assert_eq!(sets.len(), 1, "{sets:?}");
    let (relation, app, bag) = &sets[0];
    assert_eq!((relation.as_str(), *app), ("grafana-dashboard:8", true));
    let value: Value = serde_json::from_str(&bag["dashboards"]).unwrap();
    let templates = value["templates"].as_object().unwrap();
    assert_eq!(templates.len(), 3);
    assert!(templates.contains_key("file:postgresql-patroni-metrics"));
    assert_eq!(value["uuid"].as_str().unwrap().len(), 36);
}

#[test]
fn relation_broken_forgets_the_relation() {
    let mut h = harness(true);
    let first = metrics_joined(&h);
    let kept = state_set(&first)["cos"].clone();
    // Juju may still list the relation being broken; the charm leaves it out itself.
    h.answer("state-get", &state(&[("cos", &kept)]));
    let run = h
        .run(
            "hooks/metrics-endpoint-relation-broken",
            &relation_env("metrics-endpoint", "metrics-endpoint:7", "prometheus"),
        )
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        !sets(&run).iter().any(|s| s.0 == "metrics-endpoint:7"),
        "{:?}",
        run.calls
    );
    let now: Value = serde_json::from_str(&state_set(&run)["cos"]).unwrap();
    assert!(now.get("metrics").is_none(), "{now}");
    assert_eq!(now["dashboards"], serde_json::json!([8]));
}

#[test]
fn a_failing_write_is_logged_and_the_hook_goes_on() {
    let mut h = harness(true);
    h.fail("relation-set", 2, "ERROR permission denied\n");
    let run = metrics_joined(&h);
    assert!(!run.calls_to("status-set").is_empty());
    let kept: Value = serde_json::from_str(&state_set(&run)["cos"]).unwrap();
    assert!(
        kept.get("metrics_digest").is_none(),
        "a failed write is not recorded as done: {kept}"
    );
}
