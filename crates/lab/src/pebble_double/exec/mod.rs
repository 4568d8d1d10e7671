//! `POST /v1/exec`: validation, the command's environment and working directory, and the
//! `exec` change whose task runs the command once its websockets are connected.

mod run;
mod session;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::changes::NewTask;
use super::process;
use super::service_context::{self, ContextOptions};
use super::state::Daemon;
use super::sys;
use super::users::{self, Identity};
pub use session::{ConnectError, ExecRegistry};

/// The request body (unknown fields ignored, as Go does).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct ExecPayload {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Plan service whose settings are the defaults.
    pub service_context: Option<String>,
    /// Extra environment.
    pub environment: Option<BTreeMap<String, String>>,
    /// Working directory.
    pub working_dir: Option<String>,
    /// Go duration after which the command is killed.
    pub timeout: Option<String>,
    /// Run as this uid.
    pub user_id: Option<u32>,
    /// Run as this user.
    pub user: Option<String>,
    /// Run with this gid.
    pub group_id: Option<u32>,
    /// Run with this group.
    pub group: Option<String>,
    /// Allocate a terminal (not supported: the command gets pipes).
    pub terminal: bool,
    /// Forward stdin interactively (needs a terminal).
    pub interactive: bool,
    /// Separate stderr websocket.
    pub split_stderr: bool,
    /// Terminal width.
    pub width: u32,
    /// Terminal height.
    pub height: u32,
}

/// Everything the runner needs to start the command.
#[derive(Debug, Clone)]
pub struct ExecSetup {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// The complete environment.
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub working_dir: String,
    /// Kill after this long.
    pub timeout: Option<Duration>,
    /// uid and gid to switch to.
    pub credentials: Option<(u32, u32)>,
}

/// An exec request refused: HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    /// 400 or 500.
    pub status: u16,
    /// Pebble's message.
    pub message: String,
}

fn bad(message: impl Into<String>) -> ExecError {
    ExecError {
        status: 400,
        message: message.into(),
    }
}

fn internal(message: impl Into<String>) -> ExecError {
    ExecError {
        status: 500,
        message: format!("cannot call exec: {}", message.into()),
    }
}

/// Validates the request and works out the environment and working directory.
pub fn prepare(daemon: &Daemon, payload: ExecPayload) -> Result<ExecSetup, ExecError> {
    let Some(program) = payload.command.first() else {
        return Err(bad("must specify command"));
    };
    let timeout = match payload.timeout.as_deref().filter(|t| !t.is_empty()) {
        Some(text) => Some(
            pebble::parse_go_duration(text)
                .map_err(|e| bad(format!("invalid timeout: time: {e}")))?,
        )
        .filter(|t| !t.is_zero()),
        None => None,
    };
    if process::look_path(program, &daemon.search_path()).is_none() {
        return Err(bad(format!("cannot find executable {program:?}")));
    }
    let overrides = ContextOptions {
        environment: payload.environment.unwrap_or_default(),
        identity: Identity {
            user_id: payload.user_id,
            user: payload.user.unwrap_or_default(),
            group_id: payload.group_id,
            group: payload.group.unwrap_or_default(),
        },
        working_dir: payload.working_dir.unwrap_or_default(),
    };
    let context = payload.service_context.unwrap_or_default();
    let merged = service_context::merge(&daemon.plan.plan(), &context, overrides).map_err(bad)?;
    let credentials = users::normalize(&merged.identity).map_err(bad)?;
    if payload.interactive && !payload.terminal {
        return Err(internal("cannot use interactive mode without a terminal"));
    }
    let mut env = daemon.config.env.clone();
    if let Some((uid, _)) = credentials
        && uid != sys::uid()
    {
        env.remove("HOME");
        env.remove("USER");
    }
    env.extend(merged.environment);
    env.entry("PATH".to_owned())
        .or_insert_with(|| process::DEFAULT_PATH.to_owned());
    let home_missing = env.get("HOME").is_none_or(String::is_empty);
    let user_missing = env.get("USER").is_none_or(String::is_empty);
    if home_missing || user_missing {
        let uid = credentials.map_or_else(sys::uid, |(uid, _)| uid);
        if let Some(user) = users::user_by_id(uid) {
            if home_missing {
                env.insert("HOME".to_owned(), user.home);
            }
            if user_missing {
                env.insert("USER".to_owned(), user.name);
            }
        }
    }
    env.entry("LANG".to_owned())
        .or_insert_with(|| "C.UTF-8".to_owned());
    let working_dir = working_dir(
        &merged.working_dir,
        env.get("HOME").map_or("", String::as_str),
    )
    .map_err(internal)?;
    Ok(ExecSetup {
        argv: payload.command,
        env,
        working_dir,
        timeout,
        credentials,
    })
}

/// The request's directory, else `$HOME`, else `/`; it must exist.
fn working_dir(requested: &str, home: &str) -> Result<String, String> {
    let (dir, what) = match (requested, home) {
        ("", "") => return Ok("/".to_owned()),
        ("", home) => (home, "home directory"),
        (dir, _) => (dir, "working directory"),
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(dir.to_owned()),
        Ok(_) => Err(format!("{what} {dir:?} not a directory")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("{what} {dir:?} does not exist"))
        }
        Err(e) => Err(format!(
            "cannot stat {what} {dir:?}: {}",
            super::goerr::path_error("stat", dir, &e)
        )),
    }
}

/// Creates the exec change and starts its task; returns the change id and the API result.
pub fn start(daemon: &Arc<Daemon>, payload: ExecPayload) -> Result<(String, Value), ExecError> {
    let split_stderr = payload.split_stderr;
    let setup = prepare(daemon, payload)?;
    let summary = format!("Execute command {:?}", setup.argv[0]);
    let (change, tasks) = daemon.changes.create(
        "exec",
        &summary,
        vec![NewTask::new("exec", summary.clone())],
        Vec::new(),
    );
    let task = tasks.into_iter().next().unwrap_or_default();
    let execution = daemon.execs.register(&task, split_stderr);
    let result = json!({
        "environment": setup.env,
        "task-id": task,
        "working-dir": setup.working_dir,
    });
    tokio::spawn(run::run(
        daemon.clone(),
        change.clone(),
        task,
        execution,
        setup,
    ));
    Ok((change, result))
}
