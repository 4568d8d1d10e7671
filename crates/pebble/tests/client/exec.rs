//! Exec over websockets: stdin, split stdout/stderr, exit codes, change errors.

use std::time::Duration;

use pebble::{Error, ExecRequest};
use serde_json::json;

use crate::common::FakePebble;

#[tokio::test]
async fn exec_streams_stdin_and_splits_output() {
    let pebble = FakePebble::start();
    let mut request = ExecRequest::new(["cat", "-"]);
    request.stdin = Some(b"hello\nworld\n".to_vec());
    request
        .environment
        .insert("PGDATA".into(), "/var/lib/pg".into());
    request.user = Some("postgres".into());
    request.group_id = Some(584788);
    request.working_dir = Some("/tmp".into());
    request.timeout = Some(Duration::from_secs(30));
    let output = pebble.client().exec(&request).await.unwrap();
    assert_eq!(output.exit_code, 0);
    assert_eq!(output.stdout, b"hello\nworld\n");
    assert_eq!(output.stderr_text(), "cat: note\n");
    assert_eq!(output.program, "cat");

    let state = pebble.state();
    assert_eq!(
        state.exec_requests[0],
        json!({"command": ["cat", "-"], "service-context": null, "environment": {"PGDATA": "/var/lib/pg"},
               "working-dir": "/tmp", "timeout": "30.000s", "user-id": null, "user": "postgres",
               "group-id": 584788, "group": null, "split-stderr": true})
    );
    let sockets: Vec<String> = state
        .requests_to("/v1/tasks/")
        .into_iter()
        .map(|r| r.path.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(sockets, ["control", "stdio", "stderr"]);
}

#[tokio::test]
async fn exec_without_stdin_or_output() {
    let pebble = FakePebble::start();
    let output = pebble
        .client()
        .exec(&ExecRequest::new(["true"]))
        .await
        .unwrap();
    assert_eq!(output.exit_code, 0);
    assert!(output.stdout.is_empty() && output.stderr.is_empty());
    assert_eq!(pebble.state().exec_requests[0]["timeout"], json!(null));
}

#[tokio::test]
async fn non_zero_exit_is_output_not_error() {
    let pebble = FakePebble::start();
    let output = pebble
        .client()
        .exec(&ExecRequest::new(["fail"]))
        .await
        .unwrap();
    assert_eq!(output.exit_code, 3);
    assert_eq!(output.stdout_text(), "partial\n");
    match output.check().unwrap_err() {
        err @ Error::Exec { .. } => {
            assert_eq!(
                err.to_string(),
                "\"fail\" exited with code 3: fatal: no server running"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn large_output_on_both_streams_does_not_deadlock() {
    let pebble = FakePebble::start();
    let mut request = ExecRequest::new(["big"]);
    request.stdin = Some(vec![b'i'; 1 << 20]);
    let output = tokio::time::timeout(Duration::from_secs(20), pebble.client().exec(&request))
        .await
        .expect("exec must not deadlock")
        .unwrap();
    assert_eq!(output.stdout.len(), 2 << 20);
    assert_eq!(output.stderr.len(), 2 << 20);
    assert!(output.stdout.iter().all(|b| *b == b'o'));
    assert!(output.stderr.iter().all(|b| *b == b'e'));
}

#[tokio::test]
async fn timeout_is_a_change_error() {
    let pebble = FakePebble::start();
    let mut request = ExecRequest::new(["slow"]);
    request.timeout = Some(Duration::from_secs(1));
    let err = pebble.client().exec(&request).await.unwrap_err();
    match err {
        Error::Change { err, task_logs, .. } => {
            assert_eq!(
                err,
                "cannot perform the following tasks:\n- Execute command \"slow\" (timed out after 1s: context deadline exceeded)"
            );
            assert_eq!(task_logs.len(), 1);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn missing_executable_is_a_400() {
    let pebble = FakePebble::start();
    let err = pebble
        .client()
        .exec(&ExecRequest::new(["missing"]))
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), Some(400));
    assert_eq!(
        err.to_string(),
        "pebble returned 400 Bad Request: cannot find executable \"missing\""
    );
}
