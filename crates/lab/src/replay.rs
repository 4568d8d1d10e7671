//! Recorded hook-tool answers: the simplest stand-in for a Juju unit agent.
//!
//! A *script* maps each hook tool name to the answer Juju would give (stdout, stderr, exit code).
//! The `jujuc` binary, installed under every tool name, looks its own name up in the script named
//! by `LAB_REPLAY_SCRIPT`, prints the answer, and appends a [`CallRecord`] to the file named by
//! `LAB_REPLAY_CALLS`. Tests and benchmarks then read back what the charm called.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The environment variable naming the script file.
pub const SCRIPT_VAR: &str = "LAB_REPLAY_SCRIPT";
/// The environment variable naming the calls file (JSON lines, appended).
pub const CALLS_VAR: &str = "LAB_REPLAY_CALLS";

/// Every hook tool name `jujuc` is installed under.
pub const HOOK_TOOLS: &[&str] = &[
    "action-fail",
    "action-get",
    "action-log",
    "action-set",
    "application-version-set",
    "close-port",
    "config-get",
    "credential-get",
    "goal-state",
    "is-leader",
    "juju-log",
    "leader-get",
    "leader-set",
    "network-get",
    "open-port",
    "opened-ports",
    "relation-get",
    "relation-ids",
    "relation-list",
    "relation-model-get",
    "relation-set",
    "resource-get",
    "secret-add",
    "secret-get",
    "secret-grant",
    "secret-ids",
    "secret-info-get",
    "secret-remove",
    "secret-revoke",
    "secret-set",
    "state-delete",
    "state-get",
    "state-set",
    "status-get",
    "status-set",
    "storage-add",
    "storage-get",
    "storage-list",
];

/// What one tool answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Printed on stdout.
    #[serde(default)]
    pub stdout: String,
    /// Printed on stderr.
    #[serde(default)]
    pub stderr: String,
    /// Exit code.
    #[serde(default)]
    pub code: i32,
}

/// A script: tool name → answer. A key `"<tool> <args…>"` overrides `"<tool>"` for calls whose
/// first arguments are those (e.g. `"relation-ids database-peers"`, `"relation-list --format=json
/// -r database-peers:0"`); the longest matching key wins.
pub type Script = BTreeMap<String, Answer>;

/// One recorded invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Tool name.
    pub tool: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// What it read on stdin.
    pub stdin: String,
    /// Wall time inside the tool, in microseconds.
    pub micros: u64,
}

/// Pick the answer for a call: the most specific matching key, or an error answer when the
/// script has none (so a missing recording fails loudly instead of answering nonsense).
pub fn answer_for(script: &Script, tool: &str, args: &[String]) -> Answer {
    let call = format!("{tool} {}", args.join(" "));
    if let Some((_, answer)) = script
        .iter()
        .filter(|(key, _)| {
            key.starts_with(&format!("{tool} "))
                && (call == **key || call.starts_with(&format!("{key} ")))
        })
        .max_by_key(|(key, _)| key.len())
    {
        return answer.clone();
    }
    script.get(tool).cloned().unwrap_or_else(|| Answer {
        stdout: String::new(),
        stderr: format!("ERROR lab replay: no recorded answer for {tool}\n"),
        code: 1,
    })
}

/// Read a script file.
pub fn load_script(path: &Path) -> io::Result<Script> {
    let text = fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Append one record to a calls file.
pub fn append_call(path: &Path, record: &CallRecord) -> io::Result<()> {
    let mut line = serde_json::to_string(record).map_err(io::Error::other)?;
    line.push('\n');
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(line.as_bytes())
}

/// Read every record of a calls file (none when it does not exist).
pub fn read_calls(path: &Path) -> io::Result<Vec<CallRecord>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    text.lines()
        .map(|l| serde_json::from_str(l).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)))
        .collect()
}

/// Make `dir` a tools directory: one symlink per hook tool name pointing at `jujuc`.
pub fn install_tools(dir: &Path, jujuc: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for tool in HOOK_TOOLS {
        let link = dir.join(tool);
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(jujuc, &link)?;
    }
    Ok(())
}

impl From<Answer> for crate::agent::ToolAnswer {
    fn from(a: Answer) -> crate::agent::ToolAnswer {
        crate::agent::ToolAnswer {
            stdout: a.stdout.into_bytes(),
            stderr: a.stderr.into_bytes(),
            code: a.code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_keys_win_and_missing_answers_fail() {
        let mut script = Script::new();
        script.insert(
            "relation-ids".into(),
            Answer {
                stdout: "[]\n".into(),
                ..Answer::default()
            },
        );
        script.insert(
            "relation-ids database-peers".into(),
            Answer {
                stdout: "[\"database-peers:0\"]\n".into(),
                ..Answer::default()
            },
        );
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            answer_for(
                &script,
                "relation-ids",
                &args(&["database-peers", "--format=json"])
            )
            .stdout,
            "[\"database-peers:0\"]\n"
        );
        assert_eq!(
            answer_for(&script, "relation-ids", &args(&["database"])).stdout,
            "[]\n"
        );
        // The longest matching key wins; a key never matches part of an argument.
        script.insert(
            "relation-ids database-peers --format=json".into(),
            Answer {
                stdout: "[\"database-peers:9\"]\n".into(),
                ..Answer::default()
            },
        );
        assert_eq!(
            answer_for(
                &script,
                "relation-ids",
                &args(&["database-peers", "--format=json"])
            )
            .stdout,
            "[\"database-peers:9\"]\n"
        );
        assert_eq!(
            answer_for(&script, "relation-ids", &args(&["database-peersx"])).stdout,
            "[]\n"
        );
        let missing = answer_for(&script, "config-get", &[]);
        assert_eq!(missing.code, 1);
        assert!(missing.stderr.starts_with("ERROR "));
    }

    #[test]
    fn calls_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls.jsonl");
        assert!(read_calls(&path).unwrap().is_empty());
        let record = CallRecord {
            tool: "status-set".into(),
            args: vec!["--application=false".into(), "waiting".into()],
            stdin: String::new(),
            micros: 12,
        };
        append_call(&path, &record).unwrap();
        append_call(&path, &record).unwrap();
        assert_eq!(read_calls(&path).unwrap(), vec![record.clone(), record]);
    }
}
