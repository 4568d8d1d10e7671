//! State tests of the `logging` relation: the real charm binary runs one hook against recorded
//! hook-tool answers (the lab's replay `jujuc`, the harness pattern of tests/hooks.rs), and the
//! test checks what it read, kept and wrote.

mod common_replay;

use common_replay::unit;
use lab::harness::{Harness, HookRun};

/// The leader with its passwords, an etcd provider, no workload socket, and one Loki unit
/// (`loki/0`) on `logging:4` whose unit bag holds `endpoint`.
fn harness(endpoint: &str) -> Harness {
    let mut h = unit(true, "{}");
    h.answer("relation-ids logging", "[\"logging:4\"]\n")
        .answer("relation-list --format=json -r logging:4", "[\"loki/0\"]\n")
        .answer(
            "relation-get --format=json -r logging:4 - loki/0",
            &format!("{}\n", serde_json::json!({ "endpoint": endpoint })),
        )
        .answer("relation-get --format=json -r logging:4", "{}\n");
    h
}

fn logging_changed(h: &Harness) -> HookRun {
    let run = h
        .run(
            "hooks/logging-relation-changed",
            &[
                ("JUJU_RELATION", "logging"),
                ("JUJU_RELATION_ID", "logging:4"),
                ("JUJU_REMOTE_APP", "loki"),
                ("JUJU_REMOTE_UNIT", "loki/0"),
            ],
        )
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    run
}

fn kept_view(run: &HookRun) -> serde_json::Value {
    let set = run
        .calls_to("state-set")
        .into_iter()
        .find(|c| c.stdin.contains("\"logging\""))
        .unwrap_or_else(|| panic!("the logging view is not kept: {:?}", run.calls));
    let state: serde_json::Value = serde_json::from_str(&set.stdin).unwrap();
    serde_json::from_str(state["logging"].as_str().unwrap()).unwrap()
}

#[test]
fn a_loki_endpoint_is_kept_and_the_consumer_data_published() {
    let h = harness(r#"{"url": "http://loki-0.loki-endpoints:3100/loki/api/v1/push"}"#);
    let run = logging_changed(&h);
    // A figure for the report (`cargo test --test logging_hooks -- --nocapture`), not asserted.
    eprintln!(
        "logging-relation-changed: {} hook-tool calls",
        run.calls.len()
    );
    let view = kept_view(&run);
    assert_eq!(
        view["endpoints"]["loki/0"],
        "http://loki-0.loki-endpoints:3100/loki/api/v1/push"
    );
    let sets = run.calls_to("relation-set");
    let app = sets
        .iter()
        .find(|c| c.args.iter().any(|a| a == "logging:4") && c.args.iter().any(|a| a == "--app"))
        .unwrap_or_else(|| panic!("no consumer data: {sets:?}"));
    let data: serde_json::Value = serde_json::from_str(&app.stdin).unwrap();
    let metadata: serde_json::Value =
        serde_json::from_str(data["metadata"].as_str().unwrap()).unwrap();
    assert_eq!(metadata["application"], "postgresql-k8s");
    assert_eq!(metadata["charm_name"], "postgresql-k8s");
    assert_eq!(data["alert_rules"], "{}");
}

#[test]
fn a_malformed_endpoint_is_refused_and_logged_without_its_value() {
    let h = harness(r#"{"url": "http://admin:hunter2@loki:3100/loki/api/v1/push"}"#);
    let run = logging_changed(&h);
    let logs = run.calls_to("juju-log");
    assert!(
        logs.iter().any(|c| c.args.last().unwrap().contains(
            "the logging endpoint of loki/0 is refused: the endpoint's url carries credentials"
        )),
        "{logs:?}"
    );
    for call in &run.calls {
        let text = format!("{:?} {}", call.args, call.stdin);
        assert!(!text.contains("hunter2"), "the endpoint leaked: {text}");
    }
    let view = kept_view(&run);
    assert!(view["endpoints"].as_object().unwrap().is_empty());
    assert!(view["refused"]["loki/0"].is_string());

    let garbage = harness("not json at all");
    let run = logging_changed(&garbage);
    assert!(
        run.calls_to("juju-log")
            .iter()
            .any(|c| c.args.last().unwrap().contains("is refused")),
        "{run:?}"
    );
}

/// The charm state of a unit in steady state, with `logging` (a kept view) when given.
fn steady_state(logging: Option<&str>) -> String {
    let mut state = serde_json::json!({
        "etcd-store": "{\"hosts\":[\"10.1.2.9:2379\"],\"protocol\":\"http\",\"ca\":null,\"client_secret\":null}",
        "peers": "{\"relation\":0,\"members\":{}}",
    });
    if let Some(view) = logging {
        state["logging"] = view.into();
    }
    format!("{state}\n")
}

#[test]
fn steady_state_hooks_do_not_read_the_relation() {
    let mut h = harness(r#"{"url": "http://loki:3100/loki/api/v1/push"}"#);
    h.answer("state-get", &steady_state(None));
    let baseline = h.run("hooks/update-status", &[]).unwrap();
    assert_eq!(baseline.code, 0, "{baseline:?}");
    h.answer(
        "state-get",
        &steady_state(Some(
            r#"{"endpoints":{"loki/0":"http://loki:3100/loki/api/v1/push"},"former":{}}"#,
        )),
    );
    let run = h.run("hooks/update-status", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    // A figure for the report (`cargo test --test logging_hooks -- --nocapture`).
    eprintln!(
        "update-status: {} hook-tool calls without logging, {} with a Loki endpoint kept",
        baseline.calls.len(),
        run.calls.len()
    );
    assert_eq!(run.calls.len(), baseline.calls.len());
    for call in &run.calls {
        assert!(
            !call.args.iter().any(|a| a.contains("logging")),
            "a steady-state hook touched the logging relation: {call:?}"
        );
    }
    assert!(
        run.calls_to("state-set")
            .iter()
            .all(|c| !c.stdin.contains("\"logging\""))
    );
}
