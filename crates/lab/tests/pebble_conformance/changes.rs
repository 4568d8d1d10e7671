//! Changes: listing, waiting (504 on timeout, 404 unknown), abort rules.

use std::time::Duration;

use serde_json::json;

use crate::harness::{Pebble, service};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_times_out_and_unknown_changes_are_not_found() {
    let pebble = Pebble::start().await;
    pebble
        .get("/v1/changes/999")
        .await
        .assert_error(404, "cannot find change with id \"999\"");
    pebble
        .get("/v1/changes/999/wait")
        .await
        .assert_error(404, "cannot find change with id \"999\"");
    pebble
        .post("/v1/changes/999", json!({"action": "abort"}))
        .await
        .assert_error(404, "cannot find change with id \"999\"");

    // An exec whose websockets never connect stays in progress for 5 s, then fails.
    let reply = pebble
        .post(
            "/v1/exec",
            json!({"command": ["true"], "split-stderr": true}),
        )
        .await;
    assert_eq!(reply.status, 202);
    let id = reply.json()["change"].as_str().unwrap().to_owned();
    pebble
        .get(&format!("/v1/changes/{id}/wait?timeout=200ms"))
        .await
        .assert_error(504, "timed out waiting for change after 200ms");
    let in_progress = pebble.get("/v1/changes").await.result();
    assert!(
        in_progress
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id.as_str())
    );
    let change = pebble.wait_change(&id).await;
    assert_eq!(change["status"], "Error");
    assert_eq!(change["ready"], true);
    let task = change["tasks"][0]["id"].as_str().unwrap();
    assert_eq!(
        change["err"],
        format!(
            "cannot perform the following tasks:\n- Execute command \"true\" (exec {task}: timeout waiting for websocket connections: context deadline exceeded)"
        )
    );
    assert!(change["tasks"][0].get("data").is_none());
    pebble
        .post(&format!("/v1/changes/{id}"), json!({"action": "abort"}))
        .await
        .assert_error(
            400,
            &format!("cannot abort change {id} with nothing pending"),
        );
    pebble
        .post(&format!("/v1/changes/{id}"), json!({"action": "frob"}))
        .await
        .assert_error(400, "change action \"frob\" is unsupported");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_by_readiness_and_service_and_change_objects() {
    let pebble = Pebble::start().await;
    pebble
        .add_layer(
            "base",
            &format!(
                "services:\n{}{}",
                service("a", "sleep 1000", ""),
                service("b", "sleep 1000", "")
            ),
        )
        .await;
    let id = pebble.services_action("start", &["a"]).await;
    let change = pebble.wait_change(&id).await;
    for key in [
        "id",
        "kind",
        "summary",
        "status",
        "ready",
        "spawn-time",
        "ready-time",
        "tasks",
    ] {
        assert!(change.get(key).is_some(), "{key} in {change}");
    }
    assert!(change.get("err").is_none());
    let task = &change["tasks"][0];
    assert_eq!(
        task["progress"],
        json!({"label": "", "done": 1, "total": 1})
    );
    assert_eq!(task["status"], "Done");
    let b = pebble.services_action("start", &["b"]).await;
    pebble.wait_change(&b).await;
    let all = pebble.get("/v1/changes?select=all").await.result();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let ready = pebble.get("/v1/changes?select=ready&for=a").await.result();
    let ids: Vec<&str> = ready
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    assert_eq!(pebble.get("/v1/changes").await.result(), json!([]));
    let fetched = pebble.client().get_change(&b).await.unwrap();
    assert_eq!(fetched.summary, "Start service \"b\"");
    let waited = pebble
        .client()
        .wait_change(&b, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(waited.ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_or_stop_during_the_okay_delay_fails_the_start() {
    let pebble = Pebble::start_with(crate::harness::Options {
        okay_delay: Some("3s"),
        ..Default::default()
    })
    .await;
    pebble
        .add_layer(
            "base",
            &format!(
                "services:\n{}{}",
                service("a", "sleep 1000", ""),
                service("b", "sleep 1000", "")
            ),
        )
        .await;
    let start = pebble.services_action("start", &["a"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reply = pebble
        .post(&format!("/v1/changes/{start}"), json!({"action": "abort"}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    assert_eq!(reply.result()["id"], start.as_str());
    let change = pebble.wait_change(&start).await;
    assert_eq!(change["status"], "Error", "{change}");
    assert!(
        change["err"]
            .as_str()
            .unwrap()
            .contains("(start aborted, sent SIGKILL to process)"),
        "{change}"
    );
    assert_eq!(pebble.current("a").await, "inactive");

    let start = pebble.services_action("start", &["b"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stop = pebble.services_action("stop", &["b"]).await;
    let change = pebble.wait_change(&start).await;
    assert!(
        change["err"]
            .as_str()
            .unwrap()
            .contains("(service start attempt: stopped before the 3s okay delay)"),
        "{change}"
    );
    assert_eq!(pebble.wait_change(&stop).await["status"], "Done");
    assert_eq!(pebble.current("b").await, "inactive");
}
