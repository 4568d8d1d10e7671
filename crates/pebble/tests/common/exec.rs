//! `/v1/exec` and the task websockets of the fake, with scripted commands:
//! - `cat`: echoes stdin to stdout, writes a note to stderr, exits 0;
//! - `fail`: writes to both streams and exits 3;
//! - `big`: writes 2 MiB to each stream, interleaved, so a client reading one stream at a time
//!   deadlocks;
//! - `slow`: times out (change `Error`, exit code -1);
//! - `missing`: is not found (400);
//! - anything else: exits 0 silently.

use std::fmt;

use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::upgrade::Upgraded;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::{Reply, Shared, accepted, error};

type Ws = WebSocketStream<TokioIo<Upgraded>>;

const END: &str = r#"{"command":"end"}"#;
const CHUNK: usize = 16 * 1024;

/// An exec task waiting for (or running with) its websockets.
#[derive(Default)]
pub struct Task {
    change_id: String,
    command: Vec<String>,
    control: Option<Ws>,
    stdio: Option<Ws>,
    stderr: Option<Ws>,
    started: bool,
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("change_id", &self.change_id)
            .field("command", &self.command)
            .field("started", &self.started)
            .finish()
    }
}

pub fn start(state: &Shared, body: &Value) -> Reply {
    let command: Vec<String> = body["command"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let Some(program) = command.first() else {
        return error(400, "must specify command", None);
    };
    if program == "missing" {
        return error(400, &format!("cannot find executable {program:?}"), None);
    }
    let mut s = state.lock().unwrap();
    s.exec_requests.push(body.clone());
    let change_id = s.new_id();
    let task_id = s.new_id();
    let summary = format!("Execute command {program:?}");
    s.changes.insert(
        change_id.clone(),
        json!({"id": change_id, "kind": "exec", "summary": summary, "status": "Doing", "ready": false,
               "spawn-time": "2025-01-07T10:11:12Z",
               "tasks": [{"id": task_id, "kind": "exec", "summary": summary, "status": "Doing",
                          "progress": {"label": "", "done": 0, "total": 1}, "spawn-time": "2025-01-07T10:11:12Z"}]}),
    );
    s.exec_tasks.insert(
        task_id.clone(),
        Task {
            change_id: change_id.clone(),
            command,
            ..Task::default()
        },
    );
    let working_dir = body["working-dir"].as_str().unwrap_or("/root");
    accepted(
        &change_id,
        json!({"task-id": task_id, "environment": {"PATH": "/usr/bin:/bin"}, "working-dir": working_dir}),
    )
}

/// Answers the websocket upgrade and attaches the socket to its task once hyper hands it over.
pub fn upgrade(state: Shared, req: Request<Incoming>, path: &str) -> Reply {
    let rest = path.trim_start_matches("/v1/tasks/");
    let Some((task_id, socket)) = rest.split_once("/websocket/") else {
        return error(404, "invalid API endpoint requested", None);
    };
    let (task_id, socket) = (task_id.to_owned(), socket.to_owned());
    if !state.lock().unwrap().exec_tasks.contains_key(&task_id) {
        return error(404, &format!("cannot find task with id {task_id:?}"), None);
    }
    if !["control", "stdio", "stderr"].contains(&socket.as_str()) {
        return error(404, &format!("websocket {socket:?} not found"), None);
    }
    let Some(key) = req.headers().get("sec-websocket-key") else {
        return error(400, "missing Sec-WebSocket-Key", None);
    };
    let accept = derive_accept_key(key.as_bytes());
    tokio::spawn(async move {
        let upgraded = hyper::upgrade::on(req).await.expect("upgrade");
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        attach(state, &task_id, &socket, ws);
    });
    Response::builder()
        .status(101)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Accept", accept)
        .body(Default::default())
        .unwrap()
}

fn attach(state: Shared, task_id: &str, socket: &str, ws: Ws) {
    let mut s = state.lock().unwrap();
    let task = s.exec_tasks.get_mut(task_id).unwrap();
    match socket {
        "control" => task.control = Some(ws),
        "stdio" => task.stdio = Some(ws),
        _ => task.stderr = Some(ws),
    }
    // Like Pebble, the process starts once stdio and stderr are connected.
    if task.started || task.stdio.is_none() || task.stderr.is_none() {
        return;
    }
    task.started = true;
    let (stdio, stderr, control) = (
        task.stdio.take().unwrap(),
        task.stderr.take().unwrap(),
        task.control.take(),
    );
    let (change_id, command) = (task.change_id.clone(), task.command.clone());
    drop(s);
    tokio::spawn(run(state, change_id, command, stdio, stderr, control));
}

struct Outcome {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit_code: i64,
    err: Option<String>,
}

fn script(command: &[String], stdin: Vec<u8>) -> Outcome {
    let ok = |stdout: Vec<u8>, stderr: &[u8]| Outcome {
        stdout,
        stderr: stderr.to_vec(),
        exit_code: 0,
        err: None,
    };
    match command[0].as_str() {
        "cat" => ok(stdin, b"cat: note\n"),
        "fail" => Outcome {
            stdout: b"partial\n".to_vec(),
            stderr: b"fatal: no server running\n".to_vec(),
            exit_code: 3,
            err: None,
        },
        "big" => Outcome {
            stdout: b"o".repeat(2 << 20),
            stderr: b"e".repeat(2 << 20),
            exit_code: 0,
            err: None,
        },
        "slow" => Outcome {
            stdout: Vec::new(),
            stderr: Vec::new(),
            exit_code: -1,
            err: Some(
                "cannot perform the following tasks:\n- Execute command \"slow\" (timed out after 1s: context deadline exceeded)"
                    .to_owned(),
            ),
        },
        _ => ok(Vec::new(), b""),
    }
}

async fn run(
    state: Shared,
    change_id: String,
    command: Vec<String>,
    mut stdio: Ws,
    mut stderr: Ws,
    control: Option<Ws>,
) {
    let mut stdin = Vec::new();
    while let Some(Ok(message)) = stdio.next().await {
        match message {
            Message::Binary(bytes) => stdin.extend_from_slice(&bytes),
            Message::Text(text) if text.as_str() == END => break,
            Message::Close(_) => break,
            _ => {}
        }
    }
    let outcome = script(&command, stdin);
    // Alternate between the streams so that output on one blocks until the client reads it.
    let mut out = outcome.stdout.chunks(CHUNK);
    let mut err = outcome.stderr.chunks(CHUNK);
    loop {
        let (a, b) = (out.next(), err.next());
        if a.is_none() && b.is_none() {
            break;
        }
        if let Some(chunk) = a {
            stdio.send(Message::binary(chunk.to_vec())).await.unwrap();
        }
        if let Some(chunk) = b {
            stderr.send(Message::binary(chunk.to_vec())).await.unwrap();
        }
    }
    stdio.send(Message::text(END)).await.unwrap();
    stderr.send(Message::text(END)).await.unwrap();
    {
        let mut s = state.lock().unwrap();
        let change = s.changes.get_mut(&change_id).unwrap();
        let status = if outcome.err.is_some() {
            "Error"
        } else {
            "Done"
        };
        change["status"] = json!(status);
        change["ready"] = json!(true);
        change["ready-time"] = json!("2025-01-07T10:11:13Z");
        change["tasks"][0]["status"] = json!(status);
        change["tasks"][0]["data"] = json!({"exit-code": outcome.exit_code});
        if let Some(err) = outcome.err {
            change["err"] = json!(err);
            change["tasks"][0]["log"] =
                json!(["2025-01-07T10:11:13Z ERROR timed out after 1s: context deadline exceeded"]);
        }
    }
    if let Some(mut control) = control {
        let _ = control.close(None).await;
    }
}
