//! The one error type of the crate, grouped by where a failure happens.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong when talking to Pebble.
///
/// Variants are named by failure domain so that a caller can decide what to do without parsing
/// messages: a [`Error::Connection`] means "the workload container is not up, try again in a later
/// hook", an [`Error::Api`] or [`Error::Path`] carries Pebble's own `kind`, an [`Error::Change`] is an
/// operation Pebble accepted but could not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The HTTP client could not be built (for example no rustls crypto provider is installed).
    #[error("cannot set up the pebble client: {0}")]
    Setup(String),

    /// The socket is missing, refuses connections, or the connection broke mid-request. This is
    /// what a restarting workload container looks like.
    #[error(
        "cannot reach pebble at {}: the workload's pebble is not up (container starting or restarting)",
        socket.display()
    )]
    Connection {
        /// The unix socket that was dialled.
        socket: PathBuf,
        /// The underlying I/O or HTTP failure.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Pebble answered with an error envelope (HTTP 4xx/5xx).
    #[error("pebble returned {code} {status}: {message}")]
    Api {
        /// HTTP status code, e.g. 400.
        code: u16,
        /// HTTP reason phrase as Pebble sent it, e.g. `Bad Request`.
        status: String,
        /// `result.message` of the envelope.
        message: String,
        /// `result.kind` of the envelope (`not-found`, `permission-denied`, ...), when present.
        kind: Option<String>,
    },

    /// Pebble answered something this client does not understand (wrong content type, bad JSON,
    /// missing fields).
    #[error("unexpected answer from pebble: {0}")]
    Protocol(String),

    /// A file operation failed for one path (Pebble reports these per path inside a 200 answer).
    #[error("{path}: {message}")]
    Path {
        /// The path the error is about.
        path: String,
        /// Pebble's error kind, e.g. `not-found`, `permission-denied`, `generic-file-error`.
        kind: Option<String>,
        /// Pebble's message.
        message: String,
    },

    /// A change (service start/stop, exec, ...) finished in error.
    #[error("change {id} failed: {err}{}", format_task_logs(task_logs))]
    Change {
        /// The change id.
        id: String,
        /// The change's `err` text (`cannot perform the following tasks:\n- ...`).
        err: String,
        /// Log lines of the change's tasks, in task order.
        task_logs: Vec<String>,
    },

    /// A request or a wait did not finish in time.
    #[error("{operation} timed out after {after:?}")]
    Timeout {
        /// What was being done, e.g. `GET /v1/services` or `waiting for change 7`.
        operation: String,
        /// How long was waited.
        after: Duration,
    },

    /// A command run by exec exited with a non-zero code (returned by [`crate::ExecOutput::check`]).
    #[error("{program:?} exited with code {exit_code}{}", format_stderr(stderr))]
    Exec {
        /// The program that was run (the first word of the command).
        program: String,
        /// Its exit code.
        exit_code: i32,
        /// Its standard error, lossily decoded.
        stderr: String,
    },
}

impl Error {
    /// Whether the thing asked for does not exist (HTTP 404 or Pebble kind `not-found`).
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Api { code, kind, .. } => *code == 404 || kind.as_deref() == Some("not-found"),
            Error::Path { kind, .. } => kind.as_deref() == Some("not-found"),
            _ => false,
        }
    }

    /// Whether Pebble could not be reached at all (the container is not up or restarting).
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection { .. })
    }

    /// The HTTP status code of an API error.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Pebble's error kind (`not-found`, `permission-denied`, ...) of an API or path error.
    pub fn kind(&self) -> Option<&str> {
        match self {
            Error::Api { kind, .. } | Error::Path { kind, .. } => kind.as_deref(),
            _ => None,
        }
    }
}

fn format_task_logs(logs: &[String]) -> String {
    if logs.is_empty() {
        String::new()
    } else {
        format!("\ntask logs:\n{}", logs.join("\n"))
    }
}

/// Longest stderr excerpt shown in an exec error message.
const STDERR_EXCERPT: usize = 1024;

fn format_stderr(stderr: &str) -> String {
    let trimmed = stderr.trim();
    if trimmed.is_empty() {
        return String::new();
    }
    if trimmed.len() <= STDERR_EXCERPT {
        return format!(": {trimmed}");
    }
    let mut start = trimmed.len() - STDERR_EXCERPT;
    while !trimmed.is_char_boundary(start) {
        start += 1;
    }
    format!(": ...{}", &trimmed[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16, kind: Option<&str>) -> Error {
        Error::Api {
            code,
            status: "Bad Request".into(),
            message: "boom".into(),
            kind: kind.map(str::to_owned),
        }
    }

    #[test]
    fn predicates() {
        assert!(api(404, None).is_not_found());
        assert!(api(400, Some("not-found")).is_not_found());
        assert!(!api(400, Some("generic-file-error")).is_not_found());
        assert_eq!(api(400, None).status_code(), Some(400));
        assert_eq!(
            api(400, Some("permission-denied")).kind(),
            Some("permission-denied")
        );
        let path = Error::Path {
            path: "/x".into(),
            kind: Some("not-found".into()),
            message: "stat /x: no such file or directory".into(),
        };
        assert!(path.is_not_found());
        assert_eq!(path.status_code(), None);
        let conn = Error::Connection {
            socket: "/s".into(),
            source: "refused".into(),
        };
        assert!(conn.is_connection());
        assert!(!conn.is_not_found());
    }

    #[test]
    fn messages() {
        assert_eq!(
            api(400, None).to_string(),
            "pebble returned 400 Bad Request: boom"
        );
        let change = Error::Change {
            id: "7".into(),
            err: "cannot perform the following tasks:\n- Start service \"pg\" (exited)".into(),
            task_logs: vec!["2025-01-07T10:00:00Z ERROR exited".into()],
        };
        assert_eq!(
            change.to_string(),
            "change 7 failed: cannot perform the following tasks:\n- Start service \"pg\" (exited)\n\
             task logs:\n2025-01-07T10:00:00Z ERROR exited"
        );
        let exec = Error::Exec {
            program: "pg_ctl".into(),
            exit_code: 3,
            stderr: "no server running\n".into(),
        };
        assert_eq!(
            exec.to_string(),
            "\"pg_ctl\" exited with code 3: no server running"
        );
        let conn = Error::Connection {
            socket: "/charm/containers/pg/pebble.socket".into(),
            source: "No such file or directory".into(),
        };
        // The cause is a source, not part of the message.
        assert!(!conn.to_string().contains("No such file"));
        assert!(conn.to_string().contains("not up"));
    }

    #[test]
    fn long_stderr_is_cut_to_its_tail() {
        let stderr = format!("{}END", "x".repeat(5000));
        let msg = Error::Exec {
            program: "p".into(),
            exit_code: 1,
            stderr,
        }
        .to_string();
        assert!(msg.ends_with("END"));
        assert!(msg.len() < 1100);
    }
}
