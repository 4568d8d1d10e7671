//! System, layers and plan, services, changes, signals, checks, notices, and transport errors.

use std::collections::BTreeMap;
use std::time::Duration;

use pebble::{
    CheckLevel, CheckStatus, Client, Error, Layer, Override, Service, ServiceStatus, Startup,
};

use crate::common::FakePebble;

#[tokio::test]
async fn system_info_and_can_connect() {
    let pebble = FakePebble::start();
    let client = pebble.client();
    let info = client.system_info().await.unwrap();
    assert_eq!(info.version, "v1.32.1");
    assert_eq!(info.boot_id, "0c1f0b3e-1111-2222-3333-444455556666");
    assert!(client.can_connect().await);
    let requests = pebble.state().requests_to("/v1/system-info");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "GET");
}

#[tokio::test]
async fn missing_socket_is_a_connection_error() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::with_socket_dir(dir.path(), "workload").unwrap();
    assert_eq!(
        client.socket_path(),
        dir.path().join("workload").join("pebble.socket")
    );
    let err = client.system_info().await.unwrap_err();
    assert!(err.is_connection(), "{err:?}");
    assert!(err.to_string().contains("pebble is not up"), "{err}");
    assert!(std::error::Error::source(&err).is_some());
    assert!(!client.can_connect().await);
    // Exec dials its websockets itself; the same error comes out.
    let err = client
        .exec(&pebble::ExecRequest::new(["true"]))
        .await
        .unwrap_err();
    assert!(err.is_connection(), "{err:?}");
}

#[tokio::test]
async fn request_timeout_is_reported() {
    let pebble = FakePebble::start();
    pebble.state().hang = true;
    let client = pebble
        .client()
        .with_request_timeout(Duration::from_millis(200));
    let err = client.system_info().await.unwrap_err();
    match err {
        Error::Timeout { operation, after } => {
            assert_eq!(operation, "GET /v1/system-info");
            assert_eq!(after, Duration::from_millis(200));
        }
        other => panic!("unexpected {other:?}"),
    }
}

fn pg_layer(command: &str) -> Layer {
    let mut layer = Layer::default();
    layer.services.insert(
        "pg".into(),
        Service {
            r#override: Some(Override::Replace),
            command: command.into(),
            startup: Some(Startup::Enabled),
            ..Service::default()
        },
    );
    layer
}

#[tokio::test]
async fn add_layer_sends_yaml_and_plan_reflects_it() {
    let pebble = FakePebble::start();
    let client = pebble.client();
    client
        .add_layer("postgresql", &pg_layer("postgres -D /data"), true)
        .await
        .unwrap();
    let body = &pebble.state().requests_to("/v1/layers")[0].body;
    assert_eq!(
        String::from_utf8_lossy(body),
        r#"{"action":"add","combine":true,"label":"postgresql","format":"yaml","layer":"services:\n  pg:\n    startup: enabled\n    override: replace\n    command: postgres -D /data\n"}"#
    );

    let plan = client.get_plan().await.unwrap();
    assert_eq!(plan.services["pg"].command, "postgres -D /data");
    assert_eq!(
        plan.with_layer("postgresql", &pg_layer("postgres -D /data"))
            .unwrap(),
        plan
    );
    assert_ne!(
        plan.with_layer("postgresql", &pg_layer("postgres -D /other"))
            .unwrap(),
        plan
    );
    assert_eq!(
        pebble.state().requests_to("/v1/plan")[0].query,
        "format=yaml"
    );
}

#[tokio::test]
async fn invalid_layer_is_a_400_with_pebbles_message() {
    let pebble = FakePebble::start();
    let err = pebble
        .client()
        .add_layer("postgresql", &pg_layer(""), false)
        .await
        .unwrap_err();
    match err {
        Error::Api {
            code,
            status,
            message,
            kind,
        } => {
            assert_eq!(code, 400);
            assert_eq!(status, "Bad Request");
            assert_eq!(message, r#"plan must define "command" for service "pg""#);
            assert_eq!(kind, None);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn get_plan_parses_pebbles_rendering() {
    let pebble = FakePebble::start();
    pebble.state().plan_yaml = Some(
        "services:\n    pg:\n        startup: enabled\n        override: replace\n        command: postgres\n        kill-delay: 1m0s\nchecks:\n    ready:\n        override: replace\n        level: ready\n        threshold: 3\n        tcp:\n            port: 5432\n"
            .into(),
    );
    let plan = pebble.client().get_plan().await.unwrap();
    assert_eq!(plan.services["pg"].kill_delay.as_deref(), Some("1m0s"));
    assert_eq!(plan.checks["ready"].level, Some(CheckLevel::Ready));
    assert_eq!(plan.checks["ready"].tcp.as_ref().unwrap().port, 5432);
}

#[tokio::test]
async fn list_services_with_and_without_names() {
    let pebble = FakePebble::start();
    let client = pebble.client();
    let all = client.list_services(&[]).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].name, "pg");
    assert!(all[1].is_running());
    assert_eq!(all[0].current, ServiceStatus::Inactive);
    assert_eq!(all[0].current_since, None);
    let some = client.list_services(&["pg", "ghost"]).await.unwrap();
    assert_eq!(some.len(), 1);
    assert_eq!(
        pebble.state().requests_to("/v1/services")[1].query,
        "names=pg%2Cghost"
    );
}

#[tokio::test]
async fn start_waits_for_the_async_change() {
    let pebble = FakePebble::start();
    let change = pebble.client().start(&["pg"]).await.unwrap();
    assert_eq!(change.kind, "start");
    assert_eq!(change.status, "Done");
    assert_eq!(change.summary, "Start service \"pg\"");
    let state = pebble.state();
    assert_eq!(
        String::from_utf8_lossy(&state.requests_to("/v1/services")[0].body),
        r#"{"action":"start","services":["pg"]}"#
    );
    let waits = state.requests_to(&format!("/v1/changes/{}/wait", change.id));
    assert_eq!(waits.len(), 1);
    assert_eq!(waits[0].query, "timeout=4.000s");
}

#[tokio::test]
async fn wait_loops_over_504_until_the_change_is_ready() {
    let pebble = FakePebble::start();
    pebble.state().next_wait_504 = 2;
    let change = pebble.client().replan().await.unwrap();
    assert_eq!(change.kind, "replan");
    let waits = pebble
        .state()
        .requests_to(&format!("/v1/changes/{}/wait", change.id));
    assert_eq!(waits.len(), 3, "two 504 answers, then the change");
}

#[tokio::test]
async fn wait_gives_up_at_its_deadline() {
    let pebble = FakePebble::start();
    let id = pebble
        .state()
        .add_change("start", "Start service \"pg\"", None, &[]);
    pebble
        .state()
        .changes
        .get_mut(&id)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .insert("ready".into(), false.into());
    let err = pebble
        .client()
        .wait_change(&id, Duration::from_millis(1500))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { operation, .. } if operation == &format!("waiting for change {id}")),
        "{err:?}"
    );
}

#[tokio::test]
async fn failed_start_is_a_change_error_with_task_logs() {
    let pebble = FakePebble::start();
    pebble.state().failing.insert("pg".into());
    let err = pebble.client().start(&["pg"]).await.unwrap_err();
    match &err {
        Error::Change { id, err, task_logs } => {
            assert!(!id.is_empty());
            assert_eq!(
                err,
                "cannot perform the following tasks:\n- Start service \"pg\" (service start attempt: exited quickly with code 1, will restart)"
            );
            assert_eq!(task_logs.len(), 2);
            assert!(task_logs[0].contains("FATAL: bad config"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("FATAL: bad config"));
}

#[tokio::test]
async fn unknown_service_is_a_400() {
    let pebble = FakePebble::start();
    let err = pebble.client().stop(&["ghost"]).await.unwrap_err();
    assert_eq!(err.status_code(), Some(400));
    assert_eq!(
        err.to_string(),
        "pebble returned 400 Bad Request: cannot stop services: service \"ghost\" does not exist"
    );
}

#[tokio::test]
async fn unknown_change_is_not_found() {
    let pebble = FakePebble::start();
    let client = pebble.client();
    let err = client.get_change("999").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        "pebble returned 404 Not Found: cannot find change with id \"999\""
    );
    let err = client
        .wait_change("999", Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn signals() {
    let pebble = FakePebble::start();
    let client = pebble.client();
    client.send_signal("SIGHUP", &["pg"]).await.unwrap();
    assert_eq!(
        pebble.state().signals[0],
        serde_json::json!({"signal": "SIGHUP", "services": ["pg"]})
    );
    let err = client
        .send_signal("SIGHUP", &["exporter"])
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), Some(500));
    assert!(
        err.to_string()
            .ends_with("cannot send signal to \"exporter\": service is not running")
    );
}

#[tokio::test]
async fn checks_list_start_and_stop() {
    let pebble = FakePebble::start();
    let client = pebble.client();
    let checks = client
        .list_checks(Some(CheckLevel::Ready), &["pg-ready"])
        .await
        .unwrap();
    assert_eq!(checks[0].status, CheckStatus::Up);
    assert_eq!(checks[0].successes, Some(12));
    assert_eq!(checks[1].startup, None, "old Pebble omits startup");
    assert_eq!(checks[1].failures, 4);
    assert_eq!(
        pebble.state().requests_to("/v1/checks")[0].query,
        "level=ready&names=pg-ready"
    );
    assert_eq!(
        client.start_checks(&["pg-ready"]).await.unwrap(),
        ["pg-ready"]
    );
    pebble.state().old_checks = true;
    assert!(client.stop_checks(&["pg-ready"]).await.unwrap().is_empty());
}

#[tokio::test]
async fn notices() {
    let pebble = FakePebble::start();
    let client = pebble.client();
    let data = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
    let id = client.add_notice("example.com/ready", &data).await.unwrap();
    assert!(!id.is_empty());
    assert_eq!(
        pebble.state().notices[0],
        serde_json::json!({"action": "add", "type": "custom", "key": "example.com/ready", "data": {"k": "v"}})
    );
    let listed = client
        .list_notices(&pebble::NoticeQuery {
            types: vec!["custom".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed[0].occurrences, 2);
    assert_eq!(listed[0].last_data["k"], "v");
}

#[tokio::test]
async fn old_pebble_without_wait_endpoint_is_polled() {
    let pebble = FakePebble::start();
    pebble.state().no_wait_endpoint = true;
    let change = pebble.client().restart(&["pg"]).await.unwrap();
    assert_eq!(change.kind, "restart");
    let state = pebble.state();
    assert_eq!(
        state
            .requests_to(&format!("/v1/changes/{}/wait", change.id))
            .len(),
        1
    );
    assert_eq!(
        state
            .requests_to(&format!("/v1/changes/{}", change.id))
            .len(),
        2
    );
}
