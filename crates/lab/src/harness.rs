//! Run a charm binary for one hook against recorded hook-tool answers, and read back what it did.
//!
//! Any charm binary works: the harness sets the hook environment Juju would set (spec §A.4), puts
//! a directory of `jujuc` links first on `PATH`, and records every hook-tool call.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::replay::{self, Answer, CallRecord, Script};

/// A unit of a charm, run hook by hook against a [`Script`] of answers.
pub struct Harness {
    charm: PathBuf,
    unit: String,
    dir: PathBuf,
    script: Script,
    env: BTreeMap<String, String>,
    _temp: Option<tempfile::TempDir>,
}

/// What one hook run did.
#[derive(Debug)]
pub struct HookRun {
    /// Exit code of the charm process (-1 when killed).
    pub code: i32,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
    /// The hook-tool calls it made, in order.
    pub calls: Vec<CallRecord>,
}

impl HookRun {
    /// The calls to one tool.
    pub fn calls_to(&self, tool: &str) -> Vec<&CallRecord> {
        self.calls.iter().filter(|c| c.tool == tool).collect()
    }
}

impl Harness {
    /// A harness for `charm` (the binary `dispatch` would exec) as unit `unit`, in a fresh
    /// temporary directory. `jujuc` is the lab's hook-tool binary (see [`jujuc_binary`]).
    pub fn new(charm: &Path, jujuc: &Path, unit: &str) -> io::Result<Harness> {
        let temp = tempfile::tempdir()?;
        let mut harness = Harness::in_dir(charm, jujuc, unit, temp.path())?;
        harness._temp = Some(temp);
        Ok(harness)
    }

    /// Like [`Harness::new`], in a directory the caller owns (kept after the run).
    pub fn in_dir(charm: &Path, jujuc: &Path, unit: &str, dir: &Path) -> io::Result<Harness> {
        // The charm runs with its charm directory as working directory: absolute paths only.
        let (charm, jujuc) = (charm.canonicalize()?, jujuc.canonicalize()?);
        replay::install_tools(&dir.join("tools"), &jujuc)?;
        std::fs::create_dir_all(dir.join("charm"))?;
        Ok(Harness {
            charm,
            unit: unit.to_string(),
            dir: dir.to_path_buf(),
            script: Script::new(),
            env: BTreeMap::new(),
            _temp: None,
        })
    }

    /// Record the answer for `key` (a tool name, or `"<tool> <first arg>"`).
    pub fn answer(&mut self, key: &str, stdout: &str) -> &mut Harness {
        self.script.insert(
            key.to_string(),
            Answer {
                stdout: stdout.to_string(),
                ..Answer::default()
            },
        );
        self
    }

    /// Record a failure for `key`.
    pub fn fail(&mut self, key: &str, code: i32, stderr: &str) -> &mut Harness {
        self.script.insert(
            key.to_string(),
            Answer {
                stdout: String::new(),
                stderr: stderr.to_string(),
                code,
            },
        );
        self
    }

    /// Answer every write-only tool (status-set, juju-log, action-*, ...) with success, as Juju does.
    pub fn accept_writes(&mut self) -> &mut Harness {
        for tool in [
            "status-set",
            "juju-log",
            "application-version-set",
            "action-set",
            "action-fail",
            "action-log",
            "relation-set",
            "open-port",
            "close-port",
            "state-set",
            "state-delete",
            "secret-set",
            "secret-grant",
            "secret-revoke",
            "secret-remove",
        ] {
            self.script.entry(tool.to_string()).or_default();
        }
        self
    }

    /// Set an extra environment variable for every hook (e.g. where the Pebble sockets are).
    pub fn env(&mut self, key: &str, value: &str) -> &mut Harness {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// The charm directory (`JUJU_CHARM_DIR`).
    pub fn charm_dir(&self) -> PathBuf {
        self.dir.join("charm")
    }

    /// The process that runs one event (`hooks/<name>` or `actions/<name>`), ready to spawn,
    /// with `event_env` added (e.g. `JUJU_RELATION_ID`). For callers that measure the process.
    pub fn command(&self, dispatch_path: &str, event_env: &[(&str, &str)]) -> io::Result<Command> {
        self.command_for(&self.charm, dispatch_path, event_env)
    }

    /// One hook tool run directly, in the hook environment of `dispatch_path` (for measuring a
    /// tool's own cost).
    pub fn tool_command(&self, tool: &str, dispatch_path: &str) -> io::Result<Command> {
        self.command_for(&self.dir.join("tools").join(tool), dispatch_path, &[])
    }

    fn command_for(
        &self,
        program: &Path,
        dispatch_path: &str,
        event_env: &[(&str, &str)],
    ) -> io::Result<Command> {
        let script_path = self.dir.join("script.json");
        std::fs::write(
            &script_path,
            serde_json::to_vec_pretty(&self.script).map_err(io::Error::other)?,
        )?;
        let calls = self.calls_path();
        let _ = std::fs::remove_file(&calls);
        let hook_name = dispatch_path.strip_prefix("hooks/").unwrap_or("");
        #[allow(clippy::disallowed_methods)] // the harness owns the charm process
        let mut command = Command::new(program);
        let system_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        command
            .env_clear()
            .current_dir(self.charm_dir())
            .env(
                "PATH",
                format!("{}:{system_path}", self.dir.join("tools").display()),
            )
            .env("JUJU_DISPATCH_PATH", dispatch_path)
            .env("JUJU_HOOK_NAME", hook_name)
            .env("JUJU_UNIT_NAME", &self.unit)
            .env("JUJU_MODEL_NAME", "lab")
            .env("JUJU_MODEL_UUID", "5a1b4d6e-0000-4000-8000-00000000beef")
            .env("JUJU_VERSION", "3.6.4")
            .env("JUJU_CHARM_DIR", self.charm_dir())
            .env("CHARM_DIR", self.charm_dir())
            .env("JUJU_CONTEXT_ID", format!("{}-{hook_name}", self.unit))
            .env(replay::SCRIPT_VAR, &script_path)
            .env(replay::CALLS_VAR, &calls);
        if let Some(action) = dispatch_path.strip_prefix("actions/") {
            command
                .env("JUJU_ACTION_NAME", action)
                .env("JUJU_ACTION_UUID", "1")
                .env("JUJU_ACTION_TAG", "action-1");
        }
        for (k, v) in &self.env {
            command.env(k, v);
        }
        for (k, v) in event_env {
            command.env(k, v);
        }
        Ok(command)
    }

    /// Run one event and collect what it did.
    pub fn run(&self, dispatch_path: &str, event_env: &[(&str, &str)]) -> io::Result<HookRun> {
        let output: Output = self.command(dispatch_path, event_env)?.output()?;
        Ok(HookRun {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            calls: self.calls()?,
        })
    }

    /// The calls recorded by the last run.
    pub fn calls(&self) -> io::Result<Vec<CallRecord>> {
        replay::read_calls(&self.calls_path())
    }

    fn calls_path(&self) -> PathBuf {
        self.dir.join("calls.jsonl")
    }
}

/// The directory holding the lab's binaries (`jujuc`, `pebble`, `lab`), built once per process
/// with the same profile as the caller (`cargo build -p lab --bins`). `target_dir` is the cargo
/// target directory.
pub fn lab_bin_dir(target_dir: &Path, release: bool) -> io::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let profile = if release { "release" } else { "debug" };
            let dir = target_dir.join(profile);
            // `cargo test --workspace` has built them already; building again from inside a
            // test would unify features differently and rebuild the crate every run.
            if binaries_fresh(&dir) {
                return Ok(dir);
            }
            let mut args = vec!["build", "--quiet", "-p", "lab", "--bins"];
            if release {
                args.push("--release");
            }
            #[allow(clippy::disallowed_methods)] // building the helper binaries
            let status = Command::new(env!("CARGO"))
                .args(&args)
                .env("CARGO_TARGET_DIR", target_dir)
                .status()
                .map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("cargo build of the lab binaries failed: {status}"));
            }
            Ok(target_dir.join(profile))
        })
        .clone()
        .map_err(io::Error::other)
}

/// True when `lab`, `jujuc` and `pebble` in `dir` are newer than every source file of the lab
/// and of the crates it builds on.
fn binaries_fresh(dir: &Path) -> bool {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let newest_source = ["lab", "pebble", "juju"]
        .iter()
        .filter_map(|c| newest_mtime(&crates.join(c)))
        .max();
    let oldest_binary = ["lab", "jujuc", "pebble", "lab-etcd-charm"]
        .iter()
        .map(|b| {
            std::fs::metadata(dir.join(b))
                .and_then(|m| m.modified())
                .ok()
        })
        .collect::<Option<Vec<_>>>()
        .and_then(|times| times.into_iter().min());
    matches!((newest_source, oldest_binary), (Some(src), Some(bin)) if bin > src)
}

fn newest_mtime(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = std::fs::metadata(dir).and_then(|m| m.modified()).ok();
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            newest_mtime(&path)
        } else {
            entry.metadata().and_then(|m| m.modified()).ok()
        };
        newest = newest.max(t);
    }
    newest
}

/// The lab's `jujuc` (see [`lab_bin_dir`]).
pub fn jujuc_binary(target_dir: &Path, release: bool) -> io::Result<PathBuf> {
    Ok(lab_bin_dir(target_dir, release)?.join("jujuc"))
}
