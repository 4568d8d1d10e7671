//! System info, envelopes, routing, boot behaviour and daemon shutdown.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Options, Pebble, alive, read_when_present, service};

fn looks_like_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_info_envelopes_and_routing() {
    let pebble = Pebble::start().await;
    let reply = pebble.get("/v1/system-info").await;
    assert_eq!(reply.status, 200);
    assert!(reply.content_type.starts_with("application/json"));
    let json = reply.json();
    assert_eq!(json["type"], "sync");
    assert_eq!(json["status-code"], 200);
    assert_eq!(json["status"], "OK");
    assert!(json["result"]["version"].as_str().unwrap().starts_with('v'));
    assert!(
        looks_like_uuid(json["result"]["boot-id"].as_str().unwrap()),
        "{json}"
    );
    let info = pebble.client().system_info().await.unwrap();
    assert_eq!(info.boot_id, json["result"]["boot-id"]);

    pebble
        .get("/v1/nope")
        .await
        .assert_error(404, "invalid API endpoint requested");
    pebble
        .request("PUT", "/v1/services", &[], None)
        .await
        .assert_error(405, "method \"PUT\" not allowed");
    pebble
        .get("/v1/layers")
        .await
        .assert_error(405, "method \"GET\" not allowed");
    let bad = pebble.get("/v1/plan").await;
    bad.assert_error(400, "invalid format \"\"");
    assert_eq!(bad.json()["status"], "Bad Request");
    pebble
        .get("/v1/changes?select=bogus")
        .await
        .assert_error(400, "select should be one of: all,in-progress,ready");
    pebble
        .get("/v1/services/x")
        .await
        .assert_error(400, "not implemented");
    let health = pebble.get("/v1/health").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.result(), json!({"healthy": true}));
    pebble
        .get("/v1/health?level=bogus")
        .await
        .assert_error(400, "level must be \"alive\" or \"ready\"");
    let empty = pebble.get("/v1/plan?format=yaml").await;
    assert_eq!(empty.result(), "{}\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_starts_default_services_as_change_1_with_the_real_okay_delay() {
    let layer = format!(
        "services:\n{}{}",
        service("srv", "sleep 1000", "startup: enabled"),
        service("other", "sleep 1000", "startup: disabled")
    );
    let pebble = Pebble::start_with(Options {
        okay_delay: None,
        layers: vec![("001-base.yaml", layer)],
        ..Options::default()
    })
    .await;
    let boot = pebble.wait_change("1").await;
    assert_eq!(boot["status"], "Done", "{boot}");
    assert_eq!(boot["kind"], "autostart");
    assert_eq!(pebble.current("srv").await, "active");
    assert_eq!(pebble.current("other").await, "inactive");
    let services = pebble.get("/v1/services").await.result();
    assert_eq!(services[0]["name"], "other");
    assert_eq!(services[0]["startup"], "disabled");
    assert!(services[0].get("current-since").is_none());
    assert_eq!(services[1]["startup"], "enabled");
    assert!(services[1]["current-since"].is_string());

    let started = Instant::now();
    let id = pebble.services_action("start", &["other"]).await;
    assert_eq!(id, "2", "the first client change follows the boot change");
    let change = pebble.wait_change(&id).await;
    assert_eq!(change["status"], "Done");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "a start waits the 1 s okay delay"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_starts_nothing_and_autostart_needs_default_services() {
    let pebble = Pebble::start_with(Options {
        hold: true,
        ..Options::default()
    })
    .await;
    let reply = pebble
        .post("/v1/services", json!({"action": "autostart"}))
        .await;
    reply.assert_error(400, "no default services");
    assert_eq!(reply.json()["result"]["kind"], "no-default-services");
    pebble
        .post(
            "/v1/services",
            json!({"action": "autostart", "services": ["x"]}),
        )
        .await
        .assert_error(400, "autostart accepts no service names");
    pebble
        .add_layer(
            "base",
            &format!(
                "services:\n{}",
                service("srv", "sleep 1000", "startup: enabled")
            ),
        )
        .await;
    assert_eq!(
        pebble.current("srv").await,
        "inactive",
        "adding a layer starts nothing"
    );
    let id = pebble.services_action("autostart", &[]).await;
    let change = pebble.wait_change(&id).await;
    assert_eq!(change["summary"], "Autostart service \"srv\"");
    assert_eq!(pebble.current("srv").await, "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_every_service_and_exits_zero() {
    let pebble_dir = tempfile::tempdir().unwrap();
    let pid_a = pebble_dir.path().join("a.pid");
    let pid_b = pebble_dir.path().join("b.pid");
    let layer = format!(
        "services:\n{}{}",
        service(
            "a",
            &format!("sh -c 'echo $$ > {}; exec sleep 1000'", pid_a.display()),
            "startup: enabled"
        ),
        service(
            "stubborn",
            &format!(
                "sh -c 'trap \"\" TERM; echo $$ > {}; while true; do sleep 0.1; done'",
                pid_b.display()
            ),
            "startup: enabled\nkill-delay: 300ms"
        )
    );
    let mut pebble = Pebble::start_with(Options {
        layers: vec![("001-base.yaml", layer)],
        ..Options::default()
    })
    .await;
    pebble.wait_change("1").await;
    let a: u32 = read_when_present(&pid_a).await.trim().parse().unwrap();
    let b: u32 = read_when_present(&pid_b).await.trim().parse().unwrap();
    assert!(alive(a) && alive(b));
    let status = pebble.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(!alive(a), "service a left running");
    assert!(!alive(b), "TERM-ignoring service left running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_action_makes_the_daemon_exit() {
    let layer = format!(
        "services:\n{}",
        service(
            "job",
            "sh -c 'sleep 0.5; exit 3'",
            "startup: enabled\non-failure: shutdown"
        )
    );
    let mut pebble = Pebble::start_with(Options {
        layers: vec![("001-base.yaml", layer)],
        ..Options::default()
    })
    .await;
    let status = pebble
        .wait_exit(Duration::from_secs(15))
        .expect("pebble exits after the shutdown action");
    assert_eq!(status.code(), Some(10), "failure shutdown exits 10");
}
