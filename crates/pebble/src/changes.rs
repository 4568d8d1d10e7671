//! Changes and tasks (`/v1/changes`): how asynchronous operations report completion.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::duration::format_seconds;
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// Pause between polls when Pebble is too old to have the wait endpoint.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// An asynchronous operation Pebble is running or has run (service start, exec, ...).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Change {
    /// The change id (a decimal string).
    pub id: String,
    /// What kind of operation: `start`, `stop`, `restart`, `replan`, `exec`, ...
    #[serde(default)]
    pub kind: String,
    /// Human summary, e.g. `Start service "pg"`.
    #[serde(default)]
    pub summary: String,
    /// `Do`, `Doing`, `Done`, `Error`, ... (see the Pebble API).
    #[serde(default)]
    pub status: String,
    /// Whether the change has finished (`Done`, `Undone`, `Hold` or `Error`).
    #[serde(default)]
    pub ready: bool,
    /// Why the change failed: `cannot perform the following tasks:\n- ...`.
    #[serde(default)]
    pub err: Option<String>,
    /// When the change was created (RFC 3339).
    #[serde(default)]
    pub spawn_time: Option<String>,
    /// When the change finished (RFC 3339).
    #[serde(default)]
    pub ready_time: Option<String>,
    /// The change's tasks, in order.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Extra data (e.g. `service-names`).
    #[serde(default)]
    pub data: Map<String, Value>,
}

/// One step of a change.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Task {
    /// The task id; exec websockets are addressed by it.
    pub id: String,
    /// Task kind (`start`, `exec`, ...).
    #[serde(default)]
    pub kind: String,
    /// Human summary.
    #[serde(default)]
    pub summary: String,
    /// Same values as [`Change::status`].
    #[serde(default)]
    pub status: String,
    /// Log lines, `<RFC 3339 time> INFO|ERROR <text>` (at most 10 kept by Pebble).
    #[serde(default)]
    pub log: Vec<String>,
    /// Progress counters.
    #[serde(default)]
    pub progress: Option<TaskProgress>,
    /// When the task was created.
    #[serde(default)]
    pub spawn_time: Option<String>,
    /// When the task finished.
    #[serde(default)]
    pub ready_time: Option<String>,
    /// Task results, e.g. `{"exit-code": 0}` for exec.
    #[serde(default)]
    pub data: Map<String, Value>,
}

/// How far a task has got.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TaskProgress {
    /// What is being counted.
    #[serde(default)]
    pub label: String,
    /// Units done.
    #[serde(default)]
    pub done: u64,
    /// Units in total.
    #[serde(default)]
    pub total: u64,
}

impl Change {
    /// All task log lines, in task order.
    pub fn task_logs(&self) -> Vec<String> {
        self.tasks
            .iter()
            .flat_map(|t| t.log.iter().cloned())
            .collect()
    }

    /// The change itself if it succeeded, or [`Error::Change`] (with the task logs) if Pebble set
    /// its `err`.
    pub fn into_result(self) -> Result<Change, Error> {
        match self.err.as_deref() {
            Some(err) if !err.is_empty() => Err(Error::Change {
                id: self.id.clone(),
                err: err.to_owned(),
                task_logs: self.task_logs(),
            }),
            _ => Ok(self),
        }
    }
}

/// The wait request for one slice of a longer wait. The HTTP timeout leaves Pebble `margin` to
/// answer after its own `timeout` elapses.
pub(crate) fn wait_request(id: &str, chunk: Duration, margin: Duration) -> ApiRequest {
    let mut request =
        ApiRequest::get(format!("/v1/changes/{id}/wait")).query("timeout", format_seconds(chunk));
    request.timeout = Some(chunk + margin);
    request
}

/// How long one wait request may block: the rest of the deadline, but at most a little under the
/// per-request timeout (ops uses `timeout - 1 s`), and never under one second.
pub(crate) fn wait_chunk(remaining: Duration, request_timeout: Duration) -> Duration {
    let slice = request_timeout
        .saturating_sub(Duration::from_secs(1))
        .max(Duration::from_secs(1));
    remaining.min(slice)
}

impl Client {
    /// Fetches a change by id. Unknown id => [`Error::Api`] 404.
    pub async fn get_change(&self, id: &str) -> Result<Change, Error> {
        self.sync(&ApiRequest::get(format!("/v1/changes/{id}")))
            .await
    }

    /// Waits until change `id` is ready, for at most `timeout`, and returns it (successful or
    /// not: see [`Change::into_result`]).
    ///
    /// Long-polls `/v1/changes/{id}/wait` in slices shorter than the request timeout and loops on
    /// its 504 answers; falls back to polling `/v1/changes/{id}` when the wait endpoint answers
    /// 404 (very old Pebble; an unknown id then still fails with 404). Past the deadline the result
    /// is [`Error::Timeout`].
    pub async fn wait_change(&self, id: &str, timeout: Duration) -> Result<Change, Error> {
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < Duration::from_millis(1) {
                return Err(change_timeout(id, timeout));
            }
            let chunk = wait_chunk(remaining, self.request_timeout());
            let request = wait_request(id, chunk, self.request_timeout());
            match self.sync::<Change>(&request).await {
                Ok(change) if change.ready => return Ok(change),
                // Pebble only answers when the change is ready; don't spin if something else does.
                Ok(_) => tokio::time::sleep(POLL_INTERVAL.min(remaining)).await,
                Err(e) if e.status_code() == Some(504) => {}
                Err(Error::Timeout { .. }) => {}
                Err(e) if e.status_code() == Some(404) => {
                    return self.poll_change(id, deadline, timeout).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Waits for change `id` and turns a failed change into [`Error::Change`].
    pub(crate) async fn wait_change_ok(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<Change, Error> {
        self.wait_change(id, timeout).await?.into_result()
    }

    async fn poll_change(
        &self,
        id: &str,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Change, Error> {
        loop {
            let change = self.get_change(id).await?;
            if change.ready {
                return Ok(change);
            }
            if Instant::now() + POLL_INTERVAL > deadline {
                return Err(change_timeout(id, timeout));
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

fn change_timeout(id: &str, timeout: Duration) -> Error {
    Error::Timeout {
        operation: format!("waiting for change {id}"),
        after: timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ERROR_CHANGE: &str = r#"{
        "id": "7", "kind": "start", "summary": "Start service \"pg\"", "status": "Error",
        "ready": true, "err": "cannot perform the following tasks:\n- Start service \"pg\" (exited quickly)",
        "spawn-time": "2025-01-07T10:00:00.123456789+00:00",
        "ready-time": "2025-01-07T10:00:01Z",
        "tasks": [{"id": "12", "kind": "start", "summary": "Start service \"pg\"", "status": "Error",
                   "log": ["2025-01-07T10:00:00Z INFO Most recent service output:", "2025-01-07T10:00:01Z ERROR exited quickly"],
                   "progress": {"label": "", "done": 1, "total": 1},
                   "spawn-time": "2025-01-07T10:00:00Z", "ready-time": "2025-01-07T10:00:01Z"}],
        "data": {"service-names": ["pg"]}
    }"#;

    #[test]
    fn change_with_err_becomes_change_error_with_logs() {
        let change: Change = serde_json::from_str(ERROR_CHANGE).unwrap();
        assert_eq!(change.tasks[0].progress.as_ref().unwrap().done, 1);
        match change.into_result().unwrap_err() {
            Error::Change { id, err, task_logs } => {
                assert_eq!(id, "7");
                assert!(err.starts_with("cannot perform the following tasks:\n- Start service"));
                assert_eq!(task_logs.len(), 2);
                assert!(task_logs[1].ends_with("ERROR exited quickly"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn done_change_is_ok_even_with_minimal_fields() {
        let change: Change =
            serde_json::from_str(r#"{"id": "3", "status": "Done", "ready": true}"#).unwrap();
        assert!(change.tasks.is_empty());
        assert_eq!(change.into_result().unwrap().id, "3");
    }

    #[test]
    fn wait_slices_stay_under_the_request_timeout() {
        let five = Duration::from_secs(5);
        assert_eq!(
            wait_chunk(Duration::from_secs(30), five),
            Duration::from_secs(4)
        );
        assert_eq!(
            wait_chunk(Duration::from_millis(1500), five),
            Duration::from_millis(1500)
        );
        // A tiny request timeout still long-polls for a second.
        assert_eq!(
            wait_chunk(Duration::from_secs(30), Duration::from_millis(200)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn wait_request_shape() {
        let request = wait_request("7", Duration::from_millis(4000), Duration::from_secs(5));
        assert_eq!(
            request.url().unwrap().as_str(),
            "http://localhost/v1/changes/7/wait?timeout=4.000s"
        );
        assert_eq!(request.timeout, Some(Duration::from_secs(9)));
    }
}
