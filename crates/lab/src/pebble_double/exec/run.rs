//! The exec task: wait (5 s at most) for the I/O websockets, start the command with pipes,
//! forward stdin from `stdio`, output to `stdio`/`stderr` as binary frames ending with
//! `{"command":"end"}`, serve signals on `control` and close it when the command exits, then
//! record `exit-code` (-1 and an error on timeout).

use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::{self, Message};

use super::ExecSetup;
use super::session::{CONTROL, Execution, STDERR, STDIO, WebSocket};
use crate::pebble_double::changes;
use crate::pebble_double::process::{self, Launch};
use crate::pebble_double::state::Daemon;
use crate::pebble_double::{logger, signals, sys};

/// How long the I/O websockets have to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a finished stream waits for the client to close its websocket.
const LINGER: Duration = Duration::from_secs(5);

/// The text frame that ends a stream.
const END: &str = r#"{"command":"end"}"#;

/// How the command ended, when it did not end normally.
struct Failure {
    message: String,
    exit_code: Option<i32>,
}

/// Runs the exec task to the end and records its result.
pub async fn run(
    daemon: Arc<Daemon>,
    change: String,
    task: String,
    execution: Arc<Execution>,
    setup: ExecSetup,
) {
    daemon.changes.start_task(&task);
    let outcome = execute(&daemon, &change, &task, &execution, setup).await;
    daemon.execs.remove(&task);
    match outcome {
        Ok(code) => {
            daemon
                .changes
                .set_task_data(&task, json!({"exit-code": code}));
            daemon.changes.finish_task(&task, Ok(()));
        }
        Err(failure) => {
            if let Some(code) = failure.exit_code {
                daemon
                    .changes
                    .set_task_data(&task, json!({"exit-code": code}));
            }
            daemon.changes.finish_task(&task, Err(failure.message));
        }
    }
}

enum Ending {
    Exited(std::io::Result<std::process::ExitStatus>),
    TimedOut,
    Canceled,
}

async fn execute(
    daemon: &Arc<Daemon>,
    change: &str,
    task: &str,
    execution: &Arc<Execution>,
    setup: ExecSetup,
) -> Result<i32, Failure> {
    let mut abort = daemon.changes.aborted(change);
    let split = execution.split_stderr();
    let io: &[&str] = if split { &[STDIO, STDERR] } else { &[STDIO] };
    tokio::select! {
        _ = execution.wait_connected(io) => {}
        _ = tokio::time::sleep(CONNECT_TIMEOUT) => {
            logger::notice(format!("Exec {task}: timeout waiting for websocket connections: context deadline exceeded"));
            return Err(Failure {
                message: format!("exec {task}: timeout waiting for websocket connections: context deadline exceeded"),
                exit_code: None,
            });
        }
        true = changes::raised(&mut abort) => {
            return Err(Failure { message: "context canceled".to_owned(), exit_code: None });
        }
    }
    let failed = |message: String| Failure {
        message,
        exit_code: Some(-1),
    };
    let stdio = execution
        .take(STDIO)
        .ok_or_else(|| failed("stdio websocket lost".to_owned()))?;
    let stderr_ws = if split { execution.take(STDERR) } else { None };

    let pipe = || std::io::pipe().map_err(|e| failed(e.to_string()));
    let (stdin_read, stdin_write) = pipe()?;
    let (out_read, out_write) = pipe()?;
    let (err_read, err_write) = if split {
        let (read, write) = pipe()?;
        (Some(read), write)
    } else {
        (
            None,
            out_write.try_clone().map_err(|e| failed(e.to_string()))?,
        )
    };
    let spawned = process::spawn(Launch {
        argv: setup.argv,
        env: setup.env,
        working_dir: Some(setup.working_dir),
        credentials: setup.credentials,
        search_path: daemon.search_path(),
        stdin: Stdio::from(stdin_read),
        stdout: Stdio::from(out_write),
        stderr: Stdio::from(err_write),
    });

    let (sink, stream) = stdio.split();
    let stdin = tokio::net::unix::pipe::Sender::from_owned_fd(OwnedFd::from(stdin_write)).ok();
    let stdin_task = tokio::spawn(forward_stdin(stream, stdin));
    let stdout_task = tokio::spawn(forward_output(out_read.into(), sink));
    let stderr_task = match (err_read, stderr_ws) {
        (Some(read), Some(ws)) => Some(tokio::spawn(forward_output(read.into(), ws))),
        _ => None,
    };

    let (exited_tx, exited_rx) = watch::channel(false);
    let mut child = match spawned {
        Ok(child) => child,
        Err(message) => {
            let _ = exited_tx.send(true);
            finish_streams(stdout_task, stderr_task, stdin_task).await;
            return Err(failed(message));
        }
    };
    let pid = child.id().map(|p| p as i32);
    execution.set_pid(pid);
    let control_task = tokio::spawn(control(execution.clone(), pid, exited_rx));

    let timer = async {
        match setup.timeout {
            Some(timeout) => tokio::time::sleep(timeout).await,
            None => std::future::pending().await,
        }
    };
    let ending = tokio::select! {
        status = child.wait() => Ending::Exited(status),
        _ = timer => Ending::TimedOut,
        true = changes::raised(&mut abort) => Ending::Canceled,
    };
    let (status, outcome) = match ending {
        Ending::Exited(status) => (status, None),
        other => {
            if let Some(pid) = pid {
                let _ = sys::kill_group(pid, libc::SIGKILL);
            }
            (child.wait().await, Some(other))
        }
    };
    execution.set_pid(None);
    let _ = exited_tx.send(true);
    let _ = control_task.await;
    finish_streams(stdout_task, stderr_task, stdin_task).await;
    match outcome {
        Some(Ending::TimedOut) => Err(failed(format!(
            "timed out after {}: context deadline exceeded",
            pebble::format_go_duration(setup.timeout.unwrap_or_default())
        ))),
        Some(_) => Err(failed("context canceled".to_owned())),
        None => match status {
            Ok(status) => Ok(process::exit_code(status)),
            Err(e) => Err(failed(e.to_string())),
        },
    }
}

type OutputTask<S> = tokio::task::JoinHandle<S>;

/// Waits until all output was sent; lets stdin linger until the client closes.
async fn finish_streams(
    stdout: OutputTask<SplitSink<WebSocket, Message>>,
    stderr: Option<OutputTask<WebSocket>>,
    stdin: tokio::task::JoinHandle<SplitStream<WebSocket>>,
) {
    let sink = stdout.await.ok();
    let stderr = match stderr {
        Some(task) => task.await.ok(),
        None => None,
    };
    tokio::spawn(async move {
        let lingering = async {
            if let Some(mut ws) = stderr {
                while let Some(Ok(message)) = ws.next().await {
                    if message.is_close() {
                        break;
                    }
                }
            }
            if let Ok(stream) = stdin.await
                && let Some(sink) = sink
                && let Ok(mut ws) = sink.reunite(stream)
            {
                let _ = ws.close(None).await;
            }
        };
        let _ = tokio::time::timeout(LINGER, lingering).await;
    });
}

fn is_end(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .is_ok_and(|v| v.get("command").and_then(Value::as_str) == Some("end"))
}

/// stdin: binary frames are written to the command; the `end` frame closes its input. Keeps
/// reading (to see the client close) until the websocket ends.
async fn forward_stdin(
    mut stream: SplitStream<WebSocket>,
    mut stdin: Option<tokio::net::unix::pipe::Sender>,
) -> SplitStream<WebSocket> {
    while let Some(Ok(message)) = stream.next().await {
        match message {
            Message::Binary(data) => {
                if let Some(pipe) = stdin.as_mut()
                    && pipe.write_all(&data).await.is_err()
                {
                    stdin = None;
                }
            }
            Message::Text(text) if is_end(&text) => stdin = None,
            Message::Close(_) => break,
            _ => {}
        }
    }
    stream
}

/// Output: pipe data as binary frames, then the `end` frame. Keeps draining the pipe if the
/// client went away so the command never blocks on a full pipe.
async fn forward_output<S>(read: OwnedFd, mut sink: S) -> S
where
    S: futures_util::Sink<Message, Error = tungstenite::Error> + Unpin,
{
    let mut sending = true;
    if let Ok(mut pipe) = tokio::net::unix::pipe::Receiver::from_owned_fd(read) {
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if sending
                && sink
                    .send(Message::Binary(Bytes::copy_from_slice(&buf[..n])))
                    .await
                    .is_err()
            {
                sending = false;
            }
        }
    }
    if sending {
        let _ = sink.send(Message::text(END)).await;
    }
    sink
}

/// The control websocket: `signal` commands go to the command; closed when it exits.
async fn control(execution: Arc<Execution>, pid: Option<i32>, mut exited: watch::Receiver<bool>) {
    let connected = tokio::select! {
        _ = execution.wait_connected(&[CONTROL]) => execution.take(CONTROL),
        _ = changes::raised(&mut exited) => None,
    };
    let Some(mut ws) = connected else {
        return;
    };
    loop {
        tokio::select! {
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => handle_control(pid, &text),
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {}
                Some(Err(_)) => {
                    if let Some(pid) = pid {
                        let _ = sys::kill(pid, libc::SIGKILL);
                    }
                    break;
                }
            },
            _ = changes::raised(&mut exited) => {
                let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                break;
            }
        }
    }
}

fn handle_control(pid: Option<i32>, text: &str) {
    let Ok(command) = serde_json::from_str::<Value>(text) else {
        logger::notice("Exec: cannot decode control websocket command");
        return;
    };
    if command.get("command").and_then(Value::as_str) != Some("signal") {
        return;
    }
    let name = command
        .pointer("/signal/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match (signals::number(name), pid) {
        (Some(number), Some(pid)) => {
            if let Err(e) = sys::kill(pid, number) {
                logger::notice(format!("Exec: cannot forward {name} to PID {pid}: {e}"));
            }
        }
        (None, _) => logger::notice(format!("Exec: invalid signal name {name:?}")),
        _ => {}
    }
}
