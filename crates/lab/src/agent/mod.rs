//! The unit agent's side of the hook tools: answers each tool call of a running hook exactly as
//! Juju's unit agent does (argv, JSON, error text, exit codes; spec §B), against the model state.
//!
//! A call arrives as a [`ToolCall`] for a [`HookContext`]. Writes that Juju buffers until the hook
//! succeeds go to the context's working copy of the model only; effects Juju applies at once
//! (status, logs, workload version) go to the committed state as well; action results go to the
//! context's [`ActionRun`].
//!
//! Modules, one per tool family: `flags` (gnuflag argv parsing and `juju/cmd` errors), `format`
//! and `yaml` (Go JSON, yaml.v2-style YAML, smart), `config`, `relation`, `status`, `action` and
//! `schema` (action parameters, `juju run` output), `secret`, `secret_access` and `secret_data`,
//! `network` (ports and `network-get`), `storage` (storage and `goal-state`), `state` (charm
//! state).
//!
//! Every call is recorded in [`HookContext::calls`] by [`handle`] itself.
//!
//! Pure functions for the engine and CLI: [`validate_action_params`], [`render_action_output`],
//! [`render_action_progress`], [`parse_config_value`], [`new_secret_id`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::state::{ModelState, Relation};

mod action;
mod config;
mod flags;
mod format;
mod network;
mod relation;
mod schema;
mod secret;
mod secret_access;
mod secret_data;
mod state;
mod status;
mod storage;
mod yaml;

pub use config::parse_config_value;
pub use schema::{render_action_output, render_action_progress, validate_action_params};
pub use secret_data::new_secret_id;
pub(crate) use secret_data::parse_rfc3339;

use flags::Fail;

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
    /// Files the call names (`--file <path>`, `key#file=<path>`), read by the client, by
    /// absolute path. Under Juju the agent shares the charm's filesystem; in the lab a hook may
    /// run in a pod whose files the controller cannot see, so the client sends them along.
    #[serde(default)]
    pub files: BTreeMap<String, Vec<u8>>,
}

impl ToolCall {
    /// The paths a call names as files to read (for `jujuc` to send along), absolute.
    pub fn file_args(args: &[String], cwd: &std::path::Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut it = args.iter().peekable();
        while let Some(arg) = it.next() {
            let path = if arg == "--file" {
                it.next().map(String::as_str)
            } else if let Some(p) = arg.strip_prefix("--file=") {
                Some(p)
            } else {
                arg.split_once("#file=").map(|(_, p)| p)
            };
            if let Some(p) = path.filter(|p| *p != "-" && !p.is_empty()) {
                out.push(cwd.join(p));
            }
        }
        out
    }

    /// Read a file the call names: what the client sent, else the controller's own filesystem.
    pub fn read_file(&self, path: &std::path::Path) -> std::io::Result<Vec<u8>> {
        match self.files.get(&path.display().to_string()) {
            Some(bytes) => Ok(bytes.clone()),
            None => std::fs::read(path),
        }
    }
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
    /// `action-fail` message, if called (Juju's default text when called without one:
    /// `action failed without reason given, check action for errors`).
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

/// Answer one tool call. `committed` receives the effects Juju applies at once. Every call is
/// appended to `ctx.calls` (with the time spent here).
pub fn handle(committed: &mut ModelState, ctx: &mut HookContext, call: &ToolCall) -> ToolAnswer {
    let started = std::time::Instant::now();
    let answer = {
        let mut cx = Cx {
            committed: &mut *committed,
            ctx: &mut *ctx,
            call,
        };
        match dispatch(&mut cx) {
            Ok(answer) => answer,
            Err(fail) => fail.answer(),
        }
    };
    ctx.calls.push(crate::replay::CallRecord {
        tool: call.tool.clone(),
        args: call.args.clone(),
        stdin: String::from_utf8_lossy(&call.stdin).into_owned(),
        micros: started.elapsed().as_micros() as u64,
    });
    answer
}

fn dispatch(cx: &mut Cx<'_>) -> Result<ToolAnswer, Fail> {
    let args = cx.call.args.clone();
    match cx.call.tool.as_str() {
        "config-get" => config::config_get(cx, &args),
        "is-leader" => config::is_leader(cx, &args),
        "leader-get" => config::leader_get(cx, &args),
        "leader-set" => config::leader_set(cx, &args),
        "credential-get" => config::credential_get(cx, &args),
        "resource-get" => config::resource_get(cx, &args),
        "relation-ids" => relation::relation_ids(cx, &args),
        "relation-list" => relation::relation_list(cx, &args),
        "relation-get" => relation::relation_get(cx, &args),
        "relation-set" => relation::relation_set(cx, &args),
        "relation-model-get" => relation::relation_model_get(cx, &args),
        "status-set" => status::status_set(cx, &args),
        "status-get" => status::status_get(cx, &args),
        "juju-log" => status::juju_log(cx, &args),
        "application-version-set" => status::application_version_set(cx, &args),
        "action-get" => action::action_get(cx, &args),
        "action-set" => action::action_set(cx, &args),
        "action-fail" => action::action_fail(cx, &args),
        "action-log" => action::action_log(cx, &args),
        "secret-add" => secret::secret_add(cx, &args),
        "secret-get" => secret::secret_get(cx, &args),
        "secret-set" => secret::secret_set(cx, &args),
        "secret-info-get" => secret_access::secret_info_get(cx, &args),
        "secret-remove" => secret::secret_remove(cx, &args),
        "secret-grant" => secret_access::secret_grant(cx, &args),
        "secret-revoke" => secret_access::secret_revoke(cx, &args),
        "secret-ids" => secret_access::secret_ids(cx, &args),
        "open-port" => network::open_port(cx, &args, true),
        "close-port" => network::open_port(cx, &args, false),
        "opened-ports" => network::opened_ports(cx, &args),
        "network-get" => network::network_get(cx, &args),
        "storage-list" => storage::storage_list(cx, &args),
        "storage-get" => storage::storage_get(cx, &args),
        "storage-add" => storage::storage_add(cx, &args),
        "goal-state" => storage::goal_state(cx, &args),
        "state-get" => state::state_get(cx, &args),
        "state-set" => state::state_set(cx, &args),
        "state-delete" => state::state_delete(cx, &args),
        // The jujuc server's answer for a command it does not have (guessed text).
        other => flags::run_err(format!("bad request: unknown command: {other}")),
    }
}

/// One call in flight: the model, the hook context and the call.
pub(crate) struct Cx<'a> {
    /// The committed model (immediate effects go here too).
    pub committed: &'a mut ModelState,
    /// The hook context (its working copy receives all writes).
    pub ctx: &'a mut HookContext,
    /// The call.
    pub call: &'a ToolCall,
}

impl Cx<'_> {
    /// The calling unit.
    pub(crate) fn unit(&self) -> String {
        self.ctx.unit.clone()
    }

    /// The calling unit's application.
    pub(crate) fn app(&self) -> String {
        self.ctx.app().to_string()
    }

    /// Whether the calling unit holds the leadership (from the committed model).
    pub(crate) fn is_leader(&self) -> bool {
        self.committed
            .applications
            .get(self.ctx.app())
            .and_then(|a| a.leader.as_deref())
            == Some(self.ctx.unit.as_str())
    }

    /// The calling unit's charm.
    pub(crate) fn charm(&self) -> Option<&crate::charm::Charm> {
        self.ctx
            .working
            .applications
            .get(self.ctx.app())
            .map(|a| &a.charm)
    }

    /// A relation this unit's context knows: its application is an end, and the relation is not
    /// broken (except the relation of a running relation-broken hook).
    pub(crate) fn relation(&self, id: i64) -> Option<&Relation> {
        let id = u64::try_from(id).ok()?;
        let r = self.ctx.working.relations.get(&id)?;
        r.end_of(self.ctx.app())?;
        (!r.dying || self.ctx.env.relation_id == Some(id)).then_some(r)
    }

    /// The check for `-r`/`--relation` values (Juju's relation-id flag `Set`).
    pub(crate) fn relation_check(&self) -> impl Fn(&str, &str) -> Result<(), String> + '_ {
        move |name, value| {
            if name != "r" {
                return Ok(());
            }
            let id = flags::relation_id_text(value)?;
            match self.relation(id) {
                Some(_) => Ok(()),
                None => Err("relation not found".into()),
            }
        }
    }

    /// The relation given by `-r`, else the hook's relation.
    pub(crate) fn relation_arg(&self, parsed: &flags::Parsed) -> Option<u64> {
        match parsed.value("r") {
            Some(v) => flags::relation_id_text(v)
                .ok()
                .and_then(|i| u64::try_from(i).ok()),
            None => self
                .ctx
                .env
                .relation_id
                .filter(|id| self.relation(*id as i64).is_some()),
        }
    }

    /// A path as the tool sees it (relative to the caller's working directory).
    pub(crate) fn abs_path(&self, p: &str) -> std::path::PathBuf {
        self.call.cwd.join(p)
    }

    /// Output options from parsed flags.
    pub(crate) fn out(&self, parsed: &flags::Parsed, default: format::Format) -> flags::Out {
        flags::Out::new(parsed, default, &self.call.cwd)
    }
}
