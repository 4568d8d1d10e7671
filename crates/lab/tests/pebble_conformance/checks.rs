//! Health checks: TCP, exec and HTTP checks going down and up with their thresholds, the
//! perform-check/recover-check changes and change-update notices, on-check-failure restarts,
//! and the checks API.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Pebble, eventually, read_when_present, service};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn check(pebble: &Pebble, name: &str) -> Value {
    let list = pebble
        .get(&format!("/v1/checks?names={name}"))
        .await
        .result();
    list[0].clone()
}

async fn wait_status(pebble: &Pebble, name: &str, status: &str) -> Value {
    eventually(
        Duration::from_secs(10),
        &format!("check {name} {status}"),
        || async {
            let info = check(pebble, name).await;
            (info["status"] == status).then_some(info)
        },
    )
    .await
}

/// A tiny HTTP server answering every request with the current status code.
async fn http_server(status: Arc<AtomicU16>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let code = status.load(Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let reply = format!(
                    "HTTP/1.1 {code} Whatever\r\nContent-Length: 5\r\nConnection: close\r\n\r\nsorry"
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_check_goes_down_and_recovers_through_changes_and_notices() {
    let pebble = Pebble::start().await;
    let port = free_port();
    pebble
        .add_layer(
            "checks",
            &format!(
                "checks:\n  db:\n    override: replace\n    level: ready\n    period: 200ms\n    threshold: 2\n    tcp: {{port: {port}, host: 127.0.0.1}}\n"
            ),
        )
        .await;
    let info = check(&pebble, "db").await;
    assert_eq!(info["status"], "up");
    assert_eq!(info["level"], "ready");
    assert_eq!(info["startup"], "enabled");
    assert_eq!(info["threshold"], 2);
    assert!(info.get("failures").is_none());
    let perform = info["change-id"].as_str().unwrap().to_owned();
    let change = pebble.get(&format!("/v1/changes/{perform}")).await.result();
    assert_eq!(change["kind"], "perform-check");
    assert_eq!(change["summary"], "Perform TCP check \"db\"");

    let down = wait_status(&pebble, "db", "down").await;
    assert_eq!(down["failures"], 2);
    let recover = down["change-id"].as_str().unwrap().to_owned();
    assert_ne!(recover, perform);
    let failed = pebble.get(&format!("/v1/changes/{perform}")).await.result();
    assert_eq!(failed["status"], "Error");
    let err = failed["err"].as_str().unwrap();
    assert!(
        err.starts_with("cannot perform the following tasks:\n- Perform TCP check \"db\" ("),
        "{err}"
    );
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    let recovering = pebble.get(&format!("/v1/changes/{recover}")).await.result();
    assert_eq!(recovering["kind"], "recover-check");
    assert_eq!(recovering["summary"], "Recover TCP check \"db\"");
    assert_eq!(recovering["ready"], false);
    let health = pebble.get("/v1/health?level=ready").await;
    assert_eq!(health.status, 502);
    assert_eq!(health.json()["type"], "sync");
    assert_eq!(health.result(), json!({"healthy": false}));
    assert_eq!(pebble.get("/v1/health?level=alive").await.status, 200);
    let notices = pebble
        .get(&format!("/v1/notices?types=change-update&keys={perform}"))
        .await
        .result();
    assert_eq!(notices[0]["last-data"]["kind"], "perform-check");

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let up = wait_status(&pebble, "db", "up").await;
    assert!(up.get("failures").is_none());
    assert_eq!(up["successes"], 1);
    let recovered = pebble.get(&format!("/v1/changes/{recover}")).await.result();
    assert_eq!(recovered["status"], "Done");
    let next = up["change-id"].as_str().unwrap();
    assert_ne!(next, recover);
    let performing = pebble.get(&format!("/v1/changes/{next}")).await.result();
    assert_eq!(performing["kind"], "perform-check");
    let notices = pebble
        .get(&format!("/v1/notices?types=change-update&keys={recover}"))
        .await
        .result();
    assert_eq!(notices[0]["last-data"]["kind"], "recover-check");
    assert_eq!(pebble.get("/v1/health").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_and_http_checks() {
    let pebble = Pebble::start().await;
    let flag = pebble.work().join("flag");
    let status = Arc::new(AtomicU16::new(500));
    let port = http_server(status.clone()).await;
    pebble
        .add_layer(
            "checks",
            &format!(
                "checks:\n  file:\n    override: replace\n    period: 200ms\n    threshold: 1\n    exec:\n      command: test -f {}\n  web:\n    override: replace\n    period: 200ms\n    threshold: 1\n    http:\n      url: http://127.0.0.1:{port}/health\n",
                flag.display()
            ),
        )
        .await;
    let down = wait_status(&pebble, "file", "down").await;
    let perform = pebble
        .get(&format!(
            "/v1/changes/{}",
            down["prev-change-id"].as_str().unwrap_or("0")
        ))
        .await;
    if perform.status == 200 {
        assert_eq!(perform.result()["kind"], "perform-check");
    }
    let changes = pebble.get("/v1/changes?select=all").await.result();
    let failed: Vec<&Value> = changes
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "perform-check" && c["status"] == "Error")
        .collect();
    let errs: Vec<&str> = failed.iter().filter_map(|c| c["err"].as_str()).collect();
    assert!(
        errs.iter()
            .any(|e| e.contains("Perform exec check \"file\" (exit status 1)")),
        "{errs:?}"
    );
    std::fs::write(&flag, "").unwrap();
    wait_status(&pebble, "file", "up").await;

    wait_status(&pebble, "web", "down").await;
    let changes = pebble.get("/v1/changes?select=all").await.result();
    assert!(
        changes.as_array().unwrap().iter().any(|c| c["err"]
            .as_str()
            .is_some_and(|e| e.contains("Perform HTTP check \"web\" (non-2xx status code 500)"))),
        "{changes}"
    );
    status.store(204, Ordering::SeqCst);
    wait_status(&pebble, "web", "up").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_failure_restarts_the_service() {
    let pebble = Pebble::start().await;
    let pid_file = pebble.work().join("srv.pid");
    let flag = pebble.work().join("healthy");
    let layer = format!(
        "services:\n{}",
        service(
            "srv",
            &format!("sh -c 'echo $$ > {}; exec sleep 1000'", pid_file.display()),
            "on-check-failure: {alive: restart}\nbackoff-delay: 100ms"
        )
    );
    pebble.add_layer("base", &layer).await;
    pebble.client().start(&["srv"]).await.unwrap();
    let first: u32 = read_when_present(&pid_file).await.trim().parse().unwrap();
    std::fs::remove_file(&pid_file).unwrap();
    pebble
        .add_layer(
            "checks",
            &format!(
                "checks:\n  alive:\n    override: replace\n    period: 300ms\n    threshold: 1\n    exec:\n      command: test -f {}\n",
                flag.display()
            ),
        )
        .await;
    let second: u32 = read_when_present(&pid_file).await.trim().parse().unwrap();
    assert_ne!(first, second, "the check failure restarted the service");
    pebble
        .wait_current("srv", "active", Duration::from_secs(5))
        .await;
    std::fs::write(&flag, "").unwrap();
    wait_status(&pebble, "alive", "up").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_api_start_stop_replan_and_errors() {
    let pebble = Pebble::start().await;
    let port = free_port();
    pebble
        .add_layer(
            "checks",
            &format!(
                "checks:\n  a:\n    override: replace\n    level: alive\n    period: 30s\n    tcp: {{port: {port}}}\n  b:\n    override: replace\n    startup: disabled\n    period: 30s\n    tcp: {{port: {port}}}\n"
            ),
        )
        .await;
    let list = pebble.get("/v1/checks").await.result();
    assert_eq!(list[0]["name"], "a");
    assert_eq!(list[0]["status"], "up");
    assert_eq!(list[0]["level"], "alive");
    assert_eq!(list[1]["status"], "inactive");
    assert_eq!(list[1]["startup"], "disabled");
    assert!(list[1].get("change-id").is_none());
    assert!(list[1].get("level").is_none());
    let client = pebble.client();
    assert_eq!(client.start_checks(&["b"]).await.unwrap(), ["b"]);
    assert_eq!(check(&pebble, "b").await["status"], "up");
    assert!(client.start_checks(&["a", "b"]).await.unwrap().is_empty());
    assert_eq!(client.stop_checks(&["a"]).await.unwrap(), ["a"]);
    let stopped = check(&pebble, "a").await;
    assert_eq!(stopped["status"], "inactive");
    assert!(stopped.get("change-id").is_none());
    let listed = client.list_checks(None, &[]).await.unwrap();
    assert_eq!(listed[0].status, pebble::CheckStatus::Inactive);
    client.replan().await.unwrap();
    assert_eq!(
        check(&pebble, "a").await["status"],
        "up",
        "replan starts enabled checks"
    );
    assert_eq!(
        check(&pebble, "b").await["status"],
        "up",
        "replan leaves running checks"
    );

    pebble
        .post("/v1/checks", json!({"action": "stop", "checks": []}))
        .await
        .assert_error(400, "must specify checks for stop action");
    pebble
        .post(
            "/v1/checks",
            json!({"action": "start", "checks": ["zz", "nope", "a"]}),
        )
        .await
        .assert_error(
            400,
            "cannot start checks: cannot find checks in plan: nope, zz",
        );
    pebble
        .post("/v1/checks", json!({"action": "frob", "checks": ["a"]}))
        .await
        .assert_error(400, "invalid action \"frob\"");
    pebble
        .get("/v1/checks?level=bogus")
        .await
        .assert_error(400, "level must be \"alive\" or \"ready\"");
    assert_eq!(
        pebble.get("/v1/checks?level=ready").await.result(),
        json!([])
    );
    let only_b = pebble.get("/v1/checks?names=b").await.result();
    assert_eq!(only_b.as_array().unwrap().len(), 1);
}
