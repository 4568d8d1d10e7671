//! Running commands in the container (`/v1/exec` plus the task websockets).
//!
//! Protocol: `POST /v1/exec` answers 202 with a change id and a task id; the client then opens
//! the task's `control`, `stdio` and `stderr` websockets (the process starts once `stdio` and
//! `stderr` are connected), sends stdin as binary frames followed by the text frame
//! `{"command":"end"}`, reads binary output frames on `stdio` and `stderr` until each sends
//! `{"command":"end"}`, and finally waits for the change, whose first task carries `exit-code`.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::changes::Change;
use crate::duration::format_seconds;
use crate::envelope::decode_result;
use crate::transport::{ApiRequest, WebSocket};
use crate::{Client, Error};

/// Largest stdin frame sent.
const STDIN_CHUNK: usize = 64 * 1024;

/// The text frame that ends a stream, in both directions.
const END_FRAME: &str = r#"{"command":"end"}"#;

/// A command to run in the container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    /// Program and arguments; the program is looked up in Pebble's `PATH` (not a shell).
    pub command: Vec<String>,
    /// Variables added to Pebble's environment (or the context service's).
    pub environment: BTreeMap<String, String>,
    /// Working directory (default: the user's home directory).
    pub working_dir: Option<String>,
    /// Run as this user.
    pub user: Option<String>,
    /// Run as this uid.
    pub user_id: Option<u32>,
    /// Run with this group (needs a user).
    pub group: Option<String>,
    /// Run with this gid (needs a user).
    pub group_id: Option<u32>,
    /// Take environment, user, group and working dir defaults from this plan service.
    pub service_context: Option<String>,
    /// Pebble kills the command after this long; the change then fails.
    pub timeout: Option<Duration>,
    /// Bytes written to the command's standard input (then end of input).
    pub stdin: Option<Vec<u8>>,
}

impl ExecRequest {
    /// A request to run `command` with every option unset.
    pub fn new<I, S>(command: I) -> ExecRequest
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ExecRequest {
            command: command.into_iter().map(Into::into).collect(),
            ..ExecRequest::default()
        }
    }
}

/// What a finished command produced. A non-zero exit code is not an error of
/// [`Client::exec`]; call [`ExecOutput::check`] to make it one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// The program that ran (first word of the command), for error messages.
    pub program: String,
    /// Exit code (-1 when Pebble did not report one).
    pub exit_code: i32,
    /// Everything written to standard output.
    pub stdout: Vec<u8>,
    /// Everything written to standard error.
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// The output itself if the command exited 0, else [`Error::Exec`] with its stderr.
    pub fn check(self) -> Result<ExecOutput, Error> {
        if self.exit_code == 0 {
            Ok(self)
        } else {
            Err(Error::Exec {
                program: self.program,
                exit_code: self.exit_code,
                stderr: String::from_utf8_lossy(&self.stderr).into_owned(),
            })
        }
    }

    /// Standard output as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct ExecBody<'a> {
    command: &'a [String],
    service_context: Option<&'a str>,
    environment: &'a BTreeMap<String, String>,
    working_dir: Option<&'a str>,
    timeout: Option<String>,
    user_id: Option<u32>,
    user: Option<&'a str>,
    group_id: Option<u32>,
    group: Option<&'a str>,
    split_stderr: bool,
}

#[derive(Deserialize)]
struct ExecStarted {
    #[serde(rename = "task-id")]
    task_id: String,
}

/// `POST /v1/exec` for `request`, always with split stderr and every key present.
pub(crate) fn exec_request(request: &ExecRequest) -> Result<ApiRequest, Error> {
    ApiRequest::post_json(
        "/v1/exec",
        &ExecBody {
            command: &request.command,
            service_context: request.service_context.as_deref(),
            environment: &request.environment,
            working_dir: request.working_dir.as_deref(),
            timeout: request.timeout.map(format_seconds),
            user_id: request.user_id,
            user: request.user.as_deref(),
            group_id: request.group_id,
            group: request.group.as_deref(),
            split_stderr: true,
        },
    )
}

/// The exit code recorded in the change's first task (`-1` when absent).
pub(crate) fn exit_code(change: &Change) -> i32 {
    change
        .tasks
        .first()
        .and_then(|task| task.data.get("exit-code"))
        .and_then(Value::as_i64)
        .and_then(|code| i32::try_from(code).ok())
        .unwrap_or(-1)
}

/// Whether a text frame is the end-of-stream marker.
fn is_end_frame(text: &str) -> bool {
    serde_json::from_str::<Value>(text)
        .is_ok_and(|value| value.get("command").and_then(Value::as_str) == Some("end"))
}

impl Client {
    /// Runs a command to completion and collects its output (stdout and stderr separately).
    ///
    /// Errors: [`Error::Api`] when Pebble refuses to start it (e.g. 400
    /// `cannot find executable "x"`), [`Error::Change`] when Pebble could not run or finish it
    /// (e.g. its `timeout` elapsed), connection/protocol errors for broken streams. A non-zero
    /// exit code is returned in [`ExecOutput`], not as an error.
    pub async fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, Error> {
        let (change_id, result) = self.start_change(&exec_request(request)?).await?;
        let started: ExecStarted = decode_result(result)?;
        let stdin = request.stdin.as_deref().unwrap_or_default();
        let io = self.exec_streams(&started.task_id, stdin);
        let io = match request.timeout {
            // Pebble ends the streams itself when the command times out; this only guards
            // against a daemon that never does.
            Some(timeout) => {
                let guard = timeout + self.request_timeout() + Duration::from_secs(1);
                tokio::time::timeout(guard, io).await.unwrap_or_else(|_| {
                    Err(Error::Timeout {
                        operation: format!("reading output of change {change_id}"),
                        after: guard,
                    })
                })
            }
            None => io.await,
        };
        let (stdout, stderr, control) = match io {
            Ok(streams) => streams,
            Err(io_error) => {
                // The change usually says why the streams failed (start failure, timeout).
                return match self.wait_change(&change_id, self.request_timeout()).await {
                    Ok(change) => Err(change.into_result().err().unwrap_or(io_error)),
                    Err(_) => Err(io_error),
                };
            }
        };
        let wait = request.timeout.map_or(self.change_timeout(), |t| {
            (t + Duration::from_secs(1)).max(self.change_timeout())
        });
        let change = self.wait_change_ok(&change_id, wait).await;
        close_quietly(control).await;
        let change = change?;
        Ok(ExecOutput {
            program: request.command.first().cloned().unwrap_or_default(),
            exit_code: exit_code(&change),
            stdout,
            stderr,
        })
    }

    /// Connects the task's websockets and runs stdin and both output streams concurrently, so
    /// a command that fills one pipe while we wait on the other cannot deadlock. Returns the
    /// still-open control socket, to be closed once the change is over.
    async fn exec_streams(
        &self,
        task_id: &str,
        stdin: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>, WebSocket), Error> {
        let base = format!("/v1/tasks/{task_id}/websocket");
        let control = self.websocket(&format!("{base}/control")).await?;
        let stdio = self.websocket(&format!("{base}/stdio")).await?;
        let mut stderr = self.websocket(&format!("{base}/stderr")).await?;
        let (mut stdio_tx, mut stdio_rx) = stdio.split();
        let (written, stdout, stderr_bytes) = tokio::join!(
            send_stdin(&mut stdio_tx, stdin),
            read_until_end(&mut stdio_rx, self, "stdio"),
            read_until_end(&mut stderr, self, "stderr"),
        );
        if let Err(error) = written {
            // The command may exit without reading its input; its output still counts.
            tracing::debug!(%error, "exec stdin not fully delivered");
        }
        let (stdout, stderr_bytes) = (stdout?, stderr_bytes?);
        if let Ok(stdio) = stdio_tx.reunite(stdio_rx) {
            close_quietly(stdio).await;
        }
        close_quietly(stderr).await;
        Ok((stdout, stderr_bytes, control))
    }

    fn stream_error(&self, stream: &str, error: tungstenite::Error) -> Error {
        match error {
            tungstenite::Error::Io(_)
            | tungstenite::Error::ConnectionClosed
            | tungstenite::Error::AlreadyClosed => Error::Connection {
                socket: self.socket_path().to_owned(),
                source: Box::new(error),
            },
            other => Error::Protocol(format!("exec {stream} websocket: {other}")),
        }
    }
}

/// Sends stdin in binary frames, then the end marker.
async fn send_stdin<S>(sink: &mut S, stdin: &[u8]) -> Result<(), tungstenite::Error>
where
    S: Sink<Message, Error = tungstenite::Error> + Unpin,
{
    for chunk in stdin.chunks(STDIN_CHUNK) {
        sink.send(Message::binary(Bytes::copy_from_slice(chunk)))
            .await?;
    }
    sink.send(Message::text(END_FRAME)).await
}

/// Collects binary frames until the end marker (or the peer closes the stream).
async fn read_until_end<S>(stream: &mut S, client: &Client, name: &str) -> Result<Vec<u8>, Error>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    let mut out = Vec::new();
    while let Some(message) = stream.next().await {
        match message.map_err(|e| client.stream_error(name, e))? {
            Message::Binary(bytes) => out.extend_from_slice(&bytes),
            Message::Text(text) if is_end_frame(&text) => return Ok(out),
            Message::Close(_) => return Ok(out),
            // Unknown text commands, pings and pongs carry no output.
            _ => {}
        }
    }
    Ok(out)
}

/// Sends a close frame, ignoring failures (the peer may already be gone).
async fn close_quietly(mut socket: WebSocket) {
    let _ = tokio::time::timeout(Duration::from_millis(500), socket.close(None)).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Body;

    #[test]
    fn exec_body_sends_every_key() {
        let mut request = ExecRequest::new(["pg_ctl", "status"]);
        request
            .environment
            .insert("PGDATA".into(), "/var/lib/pg".into());
        request.user = Some("postgres".into());
        request.timeout = Some(Duration::from_secs(30));
        let api = exec_request(&request).unwrap();
        assert_eq!(api.path, "/v1/exec");
        let Body::Json(bytes) = &api.body else {
            panic!("not json");
        };
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            concat!(
                r#"{"command":["pg_ctl","status"],"service-context":null,"environment":{"PGDATA":"/var/lib/pg"},"#,
                r#""working-dir":null,"timeout":"30.000s","user-id":null,"user":"postgres","group-id":null,"#,
                r#""group":null,"split-stderr":true}"#
            )
        );
    }

    #[test]
    fn exit_code_from_first_task() {
        let change: Change = serde_json::from_str(
            r#"{"id": "3", "ready": true, "status": "Done", "tasks": [{"id": "4", "data": {"exit-code": 3}}]}"#,
        )
        .unwrap();
        assert_eq!(exit_code(&change), 3);
        let no_data: Change =
            serde_json::from_str(r#"{"id": "3", "tasks": [{"id": "4"}]}"#).unwrap();
        assert_eq!(exit_code(&no_data), -1);
        let no_tasks: Change = serde_json::from_str(r#"{"id": "3"}"#).unwrap();
        assert_eq!(exit_code(&no_tasks), -1);
    }

    #[test]
    fn end_frame_detection() {
        assert!(is_end_frame(END_FRAME));
        assert!(is_end_frame(r#"{ "command" : "end" }"#));
        assert!(!is_end_frame(r#"{"command":"signal"}"#));
        assert!(!is_end_frame("end"));
    }

    #[test]
    fn check_turns_non_zero_into_exec_error() {
        let output = ExecOutput {
            program: "pg_ctl".into(),
            exit_code: 0,
            stdout: b"ok".to_vec(),
            stderr: Vec::new(),
        };
        assert_eq!(output.clone().check().unwrap(), output);
        let failed = ExecOutput {
            exit_code: 3,
            stderr: b"no server running".to_vec(),
            ..output
        };
        match failed.check().unwrap_err() {
            Error::Exec {
                program,
                exit_code,
                stderr,
            } => {
                assert_eq!(program, "pg_ctl");
                assert_eq!(exit_code, 3);
                assert_eq!(stderr, "no server running");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
