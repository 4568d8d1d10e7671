//! State tests: the real charm binary runs one hook against recorded hook-tool answers (the lab's
//! replay `jujuc`), and the test checks what it did: exit code, status, calls.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use lab::harness::{Harness, HookRun, jujuc_binary};

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn harness(leader: bool) -> Harness {
    let jujuc = jujuc_binary(&target_dir(), false).unwrap();
    let mut h = Harness::new(
        Path::new(env!("CARGO_BIN_EXE_postgresql-k8s")),
        &jujuc,
        "postgresql-k8s/0",
    )
    .unwrap();
    h.answer("is-leader", if leader { "true\n" } else { "false\n" })
        .accept_writes();
    let sockets = h.charm_dir().join("no-containers");
    h.env("CHARM_CONTAINERS_DIR", sockets.to_str().unwrap());
    h
}

fn statuses(run: &HookRun) -> Vec<Vec<String>> {
    run.calls_to("status-set")
        .into_iter()
        .map(|c| c.args.clone())
        .collect()
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn update_status_without_the_workload_waits() {
    let h = harness(true);
    let run = h.run("hooks/update-status", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let waiting = "waiting for the postgresql container to start";
    assert_eq!(
        statuses(&run),
        vec![
            args(&["--application=false", "waiting", "--", waiting]),
            args(&["--application=true", "waiting", "--", waiting]),
        ]
    );
    assert!(
        run.calls.len() <= 6,
        "too many hook-tool calls: {:?}",
        run.calls
    );
}

#[test]
fn a_non_leader_does_not_touch_the_application_status() {
    let h = harness(false);
    let run = h.run("hooks/config-changed", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let s = statuses(&run);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0][0], "--application=false");
}

#[test]
fn unbuilt_relations_say_so_in_the_log() {
    let h = harness(true);
    let run = h
        .run(
            "hooks/database-relation-changed",
            &[
                ("JUJU_RELATION", "database"),
                ("JUJU_RELATION_ID", "database:4"),
                ("JUJU_REMOTE_APP", "app"),
                ("JUJU_REMOTE_UNIT", "app/0"),
            ],
        )
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let logs = run.calls_to("juju-log");
    assert!(
        logs.iter().any(|c| c
            .args
            .last()
            .unwrap()
            .contains("database relation is not implemented")),
        "{logs:?}"
    );
    // Nothing pretends to work: no relation data is written.
    assert!(run.calls_to("relation-set").is_empty());
}

#[test]
fn unbuilt_actions_fail_plainly() {
    let h = harness(true);
    let run = h.run("actions/get-password", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let fails = run.calls_to("action-fail");
    assert_eq!(fails.len(), 1);
    assert!(fails[0].args[1].starts_with("get-password is not implemented"));
    assert!(run.calls_to("action-set").is_empty());

    let run = h.run("actions/frobnicate", &[]).unwrap();
    assert!(run.calls_to("action-fail")[0].args[1].contains("unknown action"));
}

#[test]
fn unknown_hooks_are_no_ops() {
    let h = harness(true);
    let run = h.run("hooks/some-future-hook", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.calls.is_empty(), "{:?}", run.calls);
    assert!(run.stderr.contains("ignoring unknown event"));
}

#[test]
fn a_broken_environment_fails_the_hook() {
    let h = harness(true);
    // A relation hook without its relation id is not something Juju sends: refuse, do nothing.
    let run = h.run("hooks/database-relation-changed", &[]).unwrap();
    assert_eq!(run.code, 1);
    assert!(run.calls.is_empty());
    assert!(run.stderr.contains("JUJU_RELATION_ID"), "{}", run.stderr);
}

#[test]
fn a_failing_hook_tool_asks_juju_to_retry() {
    let mut h = harness(true);
    h.fail("is-leader", 1, "ERROR connection to the unit agent lost\n");
    let run = h.run("hooks/update-status", &[]).unwrap();
    assert_eq!(run.code, 1, "{run:?}");
    let logs = run.calls_to("juju-log");
    assert!(
        logs.iter()
            .any(|c| c.args[1] == "ERROR" && c.args[3].contains("Juju will retry")),
        "{logs:?}"
    );
}

#[test]
fn the_disable_file_blocks() {
    let h = harness(false);
    std::fs::write(h.charm_dir().join("disable"), "").unwrap();
    let run = h.run("hooks/update-status", &[]).unwrap();
    assert_eq!(
        statuses(&run),
        vec![args(&["--application=false", "blocked", "--", "Disabled"])]
    );
}

/// A Pebble that only answers system-info, enough for "can connect".
fn fake_pebble(socket: &Path) -> std::thread::JoinHandle<()> {
    std::fs::create_dir_all(socket.parent().unwrap()).unwrap();
    let listener = UnixListener::bind(socket).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            let mut request = Vec::new();
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let body = r#"{"type":"sync","status-code":200,"status":"OK","result":{"version":"v1.32.1","boot-id":"b"}}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    })
}

#[test]
fn with_the_workload_up_it_says_bring_up_is_not_built() {
    let mut h = harness(false);
    let dir = h.charm_dir().join("containers");
    fake_pebble(&dir.join("postgresql").join("pebble.socket"));
    h.env("CHARM_CONTAINERS_DIR", dir.to_str().unwrap());
    let run = h
        .run(
            "hooks/postgresql-pebble-ready",
            &[("JUJU_WORKLOAD_NAME", "postgresql")],
        )
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let s = statuses(&run);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0][1], "blocked");
    assert!(s[0][3].contains("not implemented"), "{s:?}");
}
