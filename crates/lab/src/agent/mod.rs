//! The unit agent's side of the hook tools: answers each tool call of a running hook exactly as
//! Juju does (argv, JSON, error text, exit codes; spec §B), against the model state.
//!
//! A call arrives as a [`ToolCall`] for a [`HookContext`]. Writes go to the context's working
//! copy of the model (committed by the engine only if the hook exits 0); effects Juju applies at
//! once (status, logs, workload version, action results) go to the committed state as well.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::state::ModelState;

/// One hook-tool invocation, as `jujuc` forwards it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// `JUJU_CONTEXT_ID` of the calling process.
    pub context: String,
    /// Tool name (`relation-get`).
    pub tool: String,
    /// Arguments after the tool name.
    pub args: Vec<String>,
    /// Everything the tool read on stdin.
    #[serde(default)]
    pub stdin: Vec<u8>,
    /// The caller's working directory (relative `--file` paths resolve against it).
    #[serde(default)]
    pub cwd: PathBuf,
}

/// What the tool prints and its exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolAnswer {
    /// Stdout bytes.
    pub stdout: Vec<u8>,
    /// Stderr bytes.
    pub stderr: Vec<u8>,
    /// Exit code.
    pub code: i32,
}

impl ToolAnswer {
    /// Success with this stdout.
    pub fn ok(stdout: impl Into<Vec<u8>>) -> ToolAnswer {
        ToolAnswer {
            stdout: stdout.into(),
            stderr: Vec::new(),
            code: 0,
        }
    }

    /// Success with a JSON document on stdout (followed by a newline, as Juju prints it).
    pub fn json(value: &serde_json::Value) -> ToolAnswer {
        let mut out = serde_json::to_vec(value).unwrap_or_default();
        out.push(b'\n');
        ToolAnswer::ok(out)
    }

    /// Failure: `ERROR <message>` on stderr, with Juju's exit code (1 run-time, 2 usage).
    pub fn error(code: i32, message: &str) -> ToolAnswer {
        ToolAnswer {
            stdout: Vec::new(),
            stderr: format!("ERROR {message}\n").into_bytes(),
            code,
        }
    }
}

/// The facts of the event a hook runs for (what Juju puts in its environment).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookEnv {
    /// `JUJU_DISPATCH_PATH` (`hooks/install`, `actions/backup`).
    pub dispatch_path: String,
    /// The relation of a relation hook.
    pub relation_id: Option<u64>,
    /// `JUJU_REMOTE_UNIT`.
    pub remote_unit: Option<String>,
    /// `JUJU_REMOTE_APP`.
    pub remote_app: Option<String>,
    /// `JUJU_DEPARTING_UNIT`.
    pub departing_unit: Option<String>,
    /// `JUJU_SECRET_ID`.
    pub secret_id: Option<String>,
    /// `JUJU_SECRET_LABEL`.
    pub secret_label: Option<String>,
    /// `JUJU_SECRET_REVISION`.
    pub secret_revision: Option<u64>,
    /// `JUJU_STORAGE_ID`.
    pub storage_id: Option<String>,
    /// `JUJU_WORKLOAD_NAME`.
    pub workload: Option<String>,
    /// `JUJU_NOTICE_ID`, `JUJU_NOTICE_TYPE`, `JUJU_NOTICE_KEY`.
    pub notice: Option<(String, String, String)>,
    /// `JUJU_PEBBLE_CHECK_NAME`.
    pub check: Option<String>,
}

/// An action being run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionRun {
    /// Juju's action id (`JUJU_ACTION_UUID`).
    pub id: String,
    /// Action name.
    pub name: String,
    /// Validated parameters with defaults filled in.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Results so far, by dotted key (`a.b` → nested in the output).
    pub results: BTreeMap<String, String>,
    /// `action-log` lines.
    pub logs: Vec<String>,
    /// `action-fail` message, if called (`Some("")` when called without one).
    pub failed: Option<String>,
}

/// One hook or action execution in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct HookContext {
    /// `JUJU_CONTEXT_ID`.
    pub id: String,
    /// The unit running it.
    pub unit: String,
    /// The event facts.
    pub env: HookEnv,
    /// The action, for `actions/<name>`.
    pub action: Option<ActionRun>,
    /// The working copy of the model; committed if the hook exits 0.
    pub working: ModelState,
    /// Every call made so far (tool, argv, stdin, duration), for tests and benchmarks.
    pub calls: Vec<crate::replay::CallRecord>,
}

impl HookContext {
    /// A context for `unit`, starting from the committed state.
    pub fn new(id: &str, unit: &str, env: HookEnv, committed: &ModelState) -> HookContext {
        HookContext {
            id: id.to_string(),
            unit: unit.to_string(),
            env,
            action: None,
            working: committed.clone(),
            calls: Vec::new(),
        }
    }

    /// The calling unit's application.
    pub fn app(&self) -> &str {
        self.unit.split('/').next().unwrap_or_default()
    }
}

/// Answer one tool call. `committed` receives the effects Juju applies at once.
pub fn handle(committed: &mut ModelState, ctx: &mut HookContext, call: &ToolCall) -> ToolAnswer {
    let _ = (committed, ctx);
    ToolAnswer::error(1, &format!("{}: not implemented by the lab yet", call.tool))
}
