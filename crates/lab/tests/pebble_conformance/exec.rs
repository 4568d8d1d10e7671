//! Exec: streams, exit codes, validation, environment, users, timeouts, and the raw websocket
//! protocol (merged stderr, control, double connects).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pebble::ExecRequest;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::harness::{Options, Pebble, is_root, service};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_and_exit_codes() {
    let pebble = Pebble::start().await;
    let client = pebble.client();
    let mut cat = ExecRequest::new(["cat"]);
    cat.stdin = Some(b"hello\nworld\n".to_vec());
    let out = client.exec(&cat).await.unwrap();
    assert_eq!(out.exit_code, 0);
    assert_eq!(out.stdout, b"hello\nworld\n");
    let out = client
        .exec(&ExecRequest::new([
            "sh",
            "-c",
            "echo out; echo err >&2; exit 3",
        ]))
        .await
        .unwrap();
    assert_eq!(out.exit_code, 3, "a non-zero exit is not a change error");
    assert_eq!(out.stdout_text(), "out\n");
    assert_eq!(out.stderr_text(), "err\n");
    let big = client
        .exec(&ExecRequest::new(["sh", "-c", "head -c 300000 /dev/zero"]))
        .await
        .unwrap();
    assert_eq!(big.stdout.len(), 300_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_errors_and_result_shape() {
    let pebble = Pebble::start().await;
    pebble
        .post("/v1/exec", json!({"command": ["no-such-command-xyz"]}))
        .await
        .assert_error(400, "cannot find executable \"no-such-command-xyz\"");
    pebble
        .post("/v1/exec", json!({"command": []}))
        .await
        .assert_error(400, "must specify command");
    let reply = pebble
        .post("/v1/exec", json!({"command": ["true"], "timeout": "soon"}))
        .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.json()["result"]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid timeout: ")
    );
    pebble
        .post(
            "/v1/exec",
            json!({"command": ["true"], "working-dir": "/no/such/dir"}),
        )
        .await
        .assert_error(
            500,
            "cannot call exec: working directory \"/no/such/dir\" does not exist",
        );
    pebble
        .post(
            "/v1/exec",
            json!({"command": ["true"], "service-context": "nope"}),
        )
        .await
        .assert_error(400, "context service \"nope\" not found");
    pebble
        .post(
            "/v1/exec",
            json!({"command": ["true"], "interactive": true}),
        )
        .await
        .assert_error(
            500,
            "cannot call exec: cannot use interactive mode without a terminal",
        );
    pebble
        .post("/v1/exec", json!({"command": ["true"], "group": "root"}))
        .await
        .assert_error(400, "must specify user, not just group");

    let reply = pebble
        .post(
            "/v1/exec",
            json!({"command": ["true"], "working-dir": "/", "environment": {"X": "1"}, "split-stderr": true}),
        )
        .await;
    assert_eq!(reply.status, 202);
    let json = reply.json();
    assert_eq!(json["type"], "async");
    assert_eq!(json["status"], "Accepted");
    let result = &json["result"];
    assert!(result["task-id"].is_string());
    assert_eq!(result["working-dir"], "/");
    assert_eq!(result["environment"]["X"], "1");
    assert_eq!(result["environment"]["LANG"], "C.UTF-8");
    assert!(result["environment"]["PATH"].is_string());
    let change = pebble
        .get(&format!("/v1/changes/{}", json["change"].as_str().unwrap()))
        .await
        .result();
    assert_eq!(change["kind"], "exec");
    assert_eq!(change["summary"], "Execute command \"true\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environment_working_dir_context_and_user() {
    let pebble = Pebble::start_with(Options {
        env: vec![("FROM_PEBBLE".into(), "inherited".into())],
        ..Options::default()
    })
    .await;
    let client = pebble.client();
    let work = pebble.work().to_string_lossy().into_owned();
    let mut request = ExecRequest::new(["sh", "-c", "echo $FROM_PEBBLE $LANG $GREETING $(pwd)"]);
    request.environment.insert("GREETING".into(), "hi".into());
    request.working_dir = Some(work.clone());
    let out = client.exec(&request).await.unwrap().check().unwrap();
    assert_eq!(
        out.stdout_text().trim(),
        format!("inherited C.UTF-8 hi {work}")
    );

    pebble
        .add_layer(
            "base",
            &format!(
                "services:\n{}",
                service(
                    "ctx",
                    "sleep 1000",
                    &format!("environment: {{CTX: from-service}}\nworking-dir: {work}")
                )
            ),
        )
        .await;
    let mut request = ExecRequest::new(["sh", "-c", "echo $CTX $(pwd)"]);
    request.service_context = Some("ctx".into());
    let out = client.exec(&request).await.unwrap();
    assert_eq!(out.stdout_text().trim(), format!("from-service {work}"));

    if !is_root() {
        println!("skipped user switching: it needs root");
        return;
    }
    let reply = pebble
        .post("/v1/exec", json!({"command": ["id"], "user": "nobody"}))
        .await;
    reply.assert_error(
        500,
        "cannot call exec: home directory \"/nonexistent\" does not exist",
    );
    let mut request = ExecRequest::new(["sh", "-c", "echo $(id -u) $(id -G) $USER $HOME"]);
    request.user = Some("nobody".into());
    request.working_dir = Some("/".into());
    let out = client.exec(&request).await.unwrap();
    assert_eq!(out.stdout_text().trim(), "65534 65534 nobody /nonexistent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_kills_the_command_and_fails_the_change() {
    let pebble = Pebble::start().await;
    let mut request = ExecRequest::new(["sleep", "30"]);
    request.timeout = Some(Duration::from_millis(500));
    let started = std::time::Instant::now();
    match pebble.client().exec(&request).await {
        Err(pebble::Error::Change { id, err, .. }) => {
            assert!(
                err.ends_with("(timed out after 500ms: context deadline exceeded)"),
                "{err}"
            );
            let change = pebble.get(&format!("/v1/changes/{id}")).await.result();
            assert_eq!(change["status"], "Error");
            assert_eq!(change["tasks"][0]["data"]["exit-code"], -1);
        }
        other => panic!("expected a change error, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

async fn connect(
    pebble: &Pebble,
    task: &str,
    id: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio::net::UnixStream>,
    tokio_tungstenite::tungstenite::Error,
> {
    let stream = tokio::net::UnixStream::connect(&pebble.socket)
        .await
        .unwrap();
    let url = format!("ws://localhost/v1/tasks/{task}/websocket/{id}");
    tokio_tungstenite::client_async(url.as_str(), stream)
        .await
        .map(|(ws, _)| ws)
}

fn http_status(error: tokio_tungstenite::tungstenite::Error) -> u16 {
    match error {
        tokio_tungstenite::tungstenite::Error::Http(response) => response.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_websockets_with_merged_stderr_and_control() {
    let pebble = Pebble::start().await;
    let reply = pebble
        .post(
            "/v1/exec",
            json!({"command": ["sh", "-c", "echo out; echo err >&2; read line; echo got $line; exit 4"],
                   "working-dir": "/", "split-stderr": false}),
        )
        .await;
    assert_eq!(reply.status, 202);
    let json = reply.json();
    let change = json["change"].as_str().unwrap().to_owned();
    let task = json["result"]["task-id"].as_str().unwrap().to_owned();
    let mut control = connect(&pebble, &task, "control").await.unwrap();
    assert_eq!(
        http_status(connect(&pebble, &task, "stderr").await.unwrap_err()),
        404
    );
    assert_eq!(
        http_status(connect(&pebble, "999999", "stdio").await.unwrap_err()),
        404
    );
    let mut stdio = connect(&pebble, &task, "stdio").await.unwrap();
    assert_eq!(
        http_status(connect(&pebble, &task, "stdio").await.unwrap_err()),
        500
    );
    stdio
        .send(Message::binary(b"input\n".to_vec()))
        .await
        .unwrap();
    stdio
        .send(Message::text(r#"{"command":"end"}"#))
        .await
        .unwrap();
    let mut output = Vec::new();
    loop {
        match stdio.next().await {
            Some(Ok(Message::Binary(data))) => output.extend_from_slice(&data),
            Some(Ok(Message::Text(text))) => {
                let command: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(command["command"], "end");
                break;
            }
            Some(Ok(_)) => {}
            other => panic!("stdio ended without the end marker: {other:?}"),
        }
    }
    assert_eq!(String::from_utf8(output).unwrap(), "out\nerr\ngot input\n");
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match control.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "control is closed when the command exits");
    let done = pebble.wait_change(&change).await;
    assert_eq!(done["status"], "Done");
    assert_eq!(done["tasks"][0]["data"]["exit-code"], 4);
    let _ = stdio.close(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_signals_reach_the_command() {
    let pebble = Pebble::start().await;
    let reply = pebble
        .post(
            "/v1/exec",
            json!({"command": ["sleep", "30"], "working-dir": "/", "split-stderr": true}),
        )
        .await;
    let json = reply.json();
    let change = json["change"].as_str().unwrap().to_owned();
    let task = json["result"]["task-id"].as_str().unwrap().to_owned();
    let mut control = connect(&pebble, &task, "control").await.unwrap();
    let _stdio = connect(&pebble, &task, "stdio").await.unwrap();
    let _stderr = connect(&pebble, &task, "stderr").await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    control
        .send(Message::text(
            r#"{"command":"signal","signal":{"name":"SIGTERM"}}"#,
        ))
        .await
        .unwrap();
    let done = pebble.wait_change(&change).await;
    assert_eq!(done["status"], "Done");
    assert_eq!(done["tasks"][0]["data"]["exit-code"], 143);
}
