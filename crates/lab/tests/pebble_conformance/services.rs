//! Services with real processes: start/stop/restart, replan, requires, exit actions, backoff,
//! SIGTERM then SIGKILL, environment, working dir, users, logs and signals.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Pebble, alive, eventually, is_root, read_when_present, service, task_logs};

/// A service that records its pid in `file` and sleeps.
fn pid_service(name: &str, file: &std::path::Path, extra: &str) -> String {
    service(
        name,
        &format!("sh -c 'echo $$ > {}; exec sleep 1000'", file.display()),
        extra,
    )
}

async fn pid_of(file: &std::path::Path) -> u32 {
    read_when_present(file).await.trim().parse().expect("pid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_stop_restart_and_task_logs() {
    let pebble = Pebble::start().await;
    let pid_file = pebble.work().join("srv.pid");
    pebble
        .add_layer(
            "base",
            &format!("services:\n{}", pid_service("srv", &pid_file, "")),
        )
        .await;
    let id = pebble.services_action("stop", &["srv"]).await;
    let change = pebble.wait_change(&id).await;
    assert!(task_logs(&change)[0].ends_with(" INFO Service \"srv\" has never been started."));

    let client = pebble.client();
    let change = client.start(&["srv"]).await.unwrap();
    assert_eq!(change.kind, "start");
    assert_eq!(change.summary, "Start service \"srv\"");
    assert_eq!(change.status, "Done");
    assert_eq!(change.tasks[0].kind, "start");
    let first = pid_of(&pid_file).await;
    assert!(alive(first));
    assert_eq!(pebble.current("srv").await, "active");

    let again = client.start(&["srv"]).await.unwrap();
    assert!(again.task_logs()[0].ends_with("INFO Service \"srv\" already started."));

    std::fs::remove_file(&pid_file).unwrap();
    let restarted = client.restart(&["srv"]).await.unwrap();
    assert_eq!(restarted.tasks.len(), 2);
    assert_eq!(restarted.tasks[0].kind, "stop");
    assert_eq!(restarted.tasks[1].kind, "start");
    let second = pid_of(&pid_file).await;
    assert_ne!(first, second);
    assert!(!alive(first));

    let before = pebble.get("/v1/services").await.result()[0]["current-since"].clone();
    client.stop(&["srv"]).await.unwrap();
    let info = pebble.get("/v1/services").await.result();
    assert_eq!(info[0]["current"], "inactive");
    assert_ne!(info[0]["current-since"], before);
    assert!(!alive(second));
    let again = client.stop(&["srv"]).await.unwrap();
    assert!(again.task_logs()[0].ends_with("INFO Service \"srv\" already stopped."));

    pebble
        .post(
            "/v1/services",
            json!({"action": "start", "services": ["nope"]}),
        )
        .await
        .assert_error(
            400,
            "cannot start services: service \"nope\" does not exist",
        );
    pebble
        .post("/v1/services", json!({"action": "stop", "services": []}))
        .await
        .assert_error(400, "must specify services for stop action");
    pebble
        .post(
            "/v1/services",
            json!({"action": "frob", "services": ["srv"]}),
        )
        .await
        .assert_error(400, "invalid action \"frob\"");
    pebble
        .post(
            "/v1/services",
            json!({"action": "replan", "services": ["srv"]}),
        )
        .await
        .assert_error(400, "replan accepts no service names");
    let reply = pebble
        .request(
            "POST",
            "/v1/services",
            &[],
            Some(("application/json", b"{".to_vec())),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["result"]["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot decode data from request body: ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replan_restarts_only_changed_services() {
    let pebble = Pebble::start().await;
    let client = pebble.client();
    let replan = client.replan().await.unwrap();
    assert_eq!(replan.summary, "Replan - no services");
    assert_eq!(replan.status, "Done");

    let (a_file, b_file) = (pebble.work().join("a.pid"), pebble.work().join("b.pid"));
    let layer = |value: &str| {
        format!(
            "services:\n{}{}{}",
            pid_service(
                "a",
                &a_file,
                &format!("startup: enabled\nenvironment: {{V: '{value}'}}")
            ),
            pid_service("b", &b_file, "startup: enabled"),
            service("c", "sleep 1000", "startup: disabled")
        )
    };
    pebble.add_layer("base", &layer("1")).await;
    let change = client.replan().await.unwrap();
    assert_eq!(change.kind, "replan");
    assert_eq!(change.summary, "Replan service \"a\" and 1 more");
    let (a1, b1) = (pid_of(&a_file).await, pid_of(&b_file).await);
    assert_eq!(pebble.current("c").await, "inactive");

    std::fs::remove_file(&a_file).unwrap();
    pebble.add_layer("base", &layer("2")).await;
    assert!(alive(a1), "adding a layer restarts nothing");
    let change = client.replan().await.unwrap();
    let kinds: Vec<&str> = change.tasks.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, ["stop", "start", "start"], "{change:?}");
    let a2 = pid_of(&a_file).await;
    assert_ne!(a1, a2, "changed service restarted");
    assert!(alive(b1), "unchanged service untouched");
    assert!(!alive(a1));
    let unchanged = client.replan().await.unwrap();
    assert!(
        unchanged
            .task_logs()
            .iter()
            .all(|l| l.ends_with("already started."))
    );
    assert!(alive(a2) && alive(b1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requires_are_started_and_dependents_stopped() {
    let pebble = Pebble::start().await;
    let layer = format!(
        "services:\n{}{}{}",
        service("app", "sleep 1000", "requires: [db]\nafter: [db]"),
        service("db", "sleep 1000", ""),
        service("lone", "sleep 1000", "")
    );
    pebble.add_layer("base", &layer).await;
    let client = pebble.client();
    let change = client.start(&["app"]).await.unwrap();
    let summaries: Vec<&str> = change.tasks.iter().map(|t| t.summary.as_str()).collect();
    assert_eq!(summaries, ["Start service \"db\"", "Start service \"app\""]);
    assert_eq!(change.summary, "Start service \"app\" and 1 more");
    assert_eq!(pebble.current("db").await, "active");
    assert_eq!(pebble.current("lone").await, "inactive");
    let stop = client.stop(&["db"]).await.unwrap();
    let summaries: Vec<&str> = stop.tasks.iter().map(|t| t.summary.as_str()).collect();
    assert_eq!(summaries, ["Stop service \"app\"", "Stop service \"db\""]);
    assert_eq!(pebble.current("app").await, "inactive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_exit_is_a_start_error_then_backoff() {
    let pebble = Pebble::start().await;
    let layer = format!(
        "services:\n{}",
        service(
            "crash",
            "sh -c 'echo first line; echo boom >&2; exit 3'",
            "backoff-delay: 2s"
        )
    );
    pebble.add_layer("base", &layer).await;
    let id = pebble.services_action("start", &["crash"]).await;
    let change = pebble.wait_change(&id).await;
    assert_eq!(change["status"], "Error", "{change}");
    assert_eq!(
        change["err"],
        "cannot perform the following tasks:\n- Start service \"crash\" (service start attempt: exited quickly with code 3, will restart)"
    );
    let logs = task_logs(&change);
    assert!(
        logs.iter()
            .any(|l| l.ends_with(" INFO Most recent service output:\n    first line\n    boom")),
        "{logs:?}"
    );
    assert!(
        logs.last()
            .unwrap()
            .contains(" ERROR service start attempt: exited quickly")
    );
    assert_eq!(pebble.current("crash").await, "backoff");
    let error = pebble.client().start(&["crash"]).await;
    match error {
        Err(pebble::Error::Change { err, .. }) => {
            assert!(err.contains("exited quickly with code 3"))
        }
        other => panic!("expected a change error, got {other:?}"),
    }
    pebble.client().stop(&["crash"]).await.unwrap();
    assert_eq!(pebble.current("crash").await, "inactive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_actions_leave_error_or_inactive() {
    let pebble = Pebble::start().await;
    let layer = format!(
        "services:\n{}{}{}",
        service("fails", "sh -c 'exit 1'", "on-failure: ignore"),
        service("succeeds", "true", "on-success: ignore"),
        service("later", "sh -c 'sleep 0.5; exit 2'", "on-failure: ignore")
    );
    pebble.add_layer("base", &layer).await;
    let id = pebble.services_action("start", &["fails"]).await;
    let change = pebble.wait_change(&id).await;
    assert!(
        change["err"]
            .as_str()
            .unwrap()
            .contains("exited quickly with code 1, will ignore")
    );
    assert_eq!(pebble.current("fails").await, "error");
    let id = pebble.services_action("start", &["succeeds"]).await;
    let change = pebble.wait_change(&id).await;
    assert_eq!(change["status"], "Error");
    assert_eq!(pebble.current("succeeds").await, "inactive");
    let change = pebble.client().start(&["later"]).await.unwrap();
    assert_eq!(change.status, "Done");
    pebble
        .wait_current("later", "error", Duration::from_secs(5))
        .await;
    let stop = pebble.client().stop(&["later"]).await.unwrap();
    assert!(stop.task_logs()[0].ends_with("Service \"later\" had already exited."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_sends_sigkill_after_the_kill_delay() {
    let pebble = Pebble::start().await;
    let pid_file = pebble.work().join("stubborn.pid");
    let layer = format!(
        "services:\n{}",
        service(
            "stubborn",
            &format!(
                "sh -c 'trap \"\" TERM; echo $$ > {}; while true; do sleep 0.1; done'",
                pid_file.display()
            ),
            "kill-delay: 700ms"
        )
    );
    pebble.add_layer("base", &layer).await;
    let client = pebble.client();
    client.start(&["stubborn"]).await.unwrap();
    let pid = pid_of(&pid_file).await;
    let started = Instant::now();
    let change = client.stop(&["stubborn"]).await.unwrap();
    let took = started.elapsed();
    assert_eq!(change.status, "Done");
    assert!(took >= Duration::from_millis(650), "stopped after {took:?}");
    assert!(took < Duration::from_secs(4), "stopped after {took:?}");
    assert!(!alive(pid));
    assert_eq!(pebble.current("stubborn").await, "inactive");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_and_working_dir_reach_the_service() {
    let pebble = Pebble::start_with(crate::harness::Options {
        env: vec![("FROM_PEBBLE".into(), "inherited".into())],
        ..Default::default()
    })
    .await;
    let out = pebble.work().join("env.out");
    let layer = format!(
        "services:\n{}",
        service(
            "env",
            &format!(
                "sh -c 'echo \"$GREETING $FROM_PEBBLE $(pwd)\" > {}; exec sleep 1000' [ --ignored ]",
                out.display()
            ),
            &format!(
                "environment: {{GREETING: hello}}\nworking-dir: {}",
                pebble.work().display()
            )
        )
    );
    pebble.add_layer("base", &layer).await;
    pebble.client().start(&["env"]).await.unwrap();
    let text = read_when_present(&out).await;
    assert_eq!(
        text.trim(),
        format!("hello inherited {}", pebble.work().display())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_switch_user_when_root() {
    if !is_root() {
        println!("skipped: switching users needs root");
        return;
    }
    let pebble = Pebble::start().await;
    let out = pebble.work().join("id.out");
    use std::os::unix::fs::PermissionsExt;
    let root = pebble.work().parent().unwrap().to_owned();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(pebble.work(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let layer = format!(
        "services:\n{}",
        service(
            "as-nobody",
            &format!(
                "sh -c 'echo \"$(id -u) $(id -g) $(id -G) $USER $HOME\" > {}; exec sleep 1000'",
                out.display()
            ),
            "user: nobody"
        )
    );
    pebble.add_layer("base", &layer).await;
    pebble.client().start(&["as-nobody"]).await.unwrap();
    let text = read_when_present(&out).await;
    assert_eq!(text.trim(), "65534 65534 65534 nobody /nonexistent");

    let bad = format!(
        "services:\n{}",
        service("ghost", "sleep 1000", "user: no-such-user-here")
    );
    pebble.add_layer("bad", &bad).await;
    let id = pebble.services_action("start", &["ghost"]).await;
    let change = pebble.wait_change(&id).await;
    assert!(
        change["err"]
            .as_str()
            .unwrap()
            .contains("user: unknown user no-such-user-here"),
        "{change}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_endpoint_serves_recent_output() {
    let pebble = Pebble::start().await;
    let layer = format!(
        "services:\n{}",
        service(
            "talker",
            "sh -c 'echo one; echo two >&2; echo three; exec sleep 1000'",
            ""
        )
    );
    pebble.add_layer("base", &layer).await;
    pebble.client().start(&["talker"]).await.unwrap();
    let lines = eventually(Duration::from_secs(5), "three log lines", || async {
        let reply = pebble.get("/v1/logs?services=talker&n=2").await;
        assert_eq!(reply.content_type, "application/x-ndjson");
        let text = String::from_utf8(reply.body).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (lines.len() == 2 && lines[1]["message"] == "three").then_some(lines)
    })
    .await;
    assert_eq!(lines[0]["service"], "talker");
    assert_eq!(lines[0]["message"], "two");
    let all = pebble.get("/v1/logs?n=-1").await;
    assert_eq!(String::from_utf8(all.body).unwrap().lines().count(), 3);
    pebble
        .get("/v1/logs?n=-5")
        .await
        .assert_error(400, "n must be -1, 0, or a positive integer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_reach_running_services() {
    let pebble = Pebble::start().await;
    let out = pebble.work().join("hup.out");
    let layer = format!(
        "services:\n{}{}",
        service(
            "hup",
            &format!(
                "sh -c 'trap \"echo got-hup > {}\" HUP; while true; do sleep 0.1; done'",
                out.display()
            ),
            ""
        ),
        service("idle", "sleep 1000", "")
    );
    pebble.add_layer("base", &layer).await;
    let client = pebble.client();
    client.start(&["hup"]).await.unwrap();
    client.send_signal("SIGHUP", &["hup"]).await.unwrap();
    assert_eq!(read_when_present(&out).await.trim(), "got-hup");
    pebble
        .post(
            "/v1/signals",
            json!({"signal": "SIGHUP", "services": ["idle"]}),
        )
        .await
        .assert_error(
            500,
            "cannot send signal to \"idle\": service is not running",
        );
    pebble
        .post(
            "/v1/signals",
            json!({"signal": "SIGNOPE", "services": ["hup"]}),
        )
        .await
        .assert_error(
            500,
            "cannot send signal to \"hup\": invalid signal name \"SIGNOPE\"",
        );
    pebble
        .post("/v1/signals", json!({"signal": "SIGHUP", "services": []}))
        .await
        .assert_error(400, "must specify one or more services");
}
