//! Typed wrappers for every hook tool, with per-hook read caching.
//!
//! Each family of tools lives in its own file. Every wrapper builds its argv with a pure function
//! (unit-tested byte for byte against spec §B), runs it through the [`Runner`], and parses the
//! answer with a pure function. Values that must stay secret travel through stdin or through
//! files of mode 0600 (`key#file=`), never through argv; the one exception is `action-set`, whose
//! only form is `key=value`.

mod action;
mod config;
mod log;
mod network;
mod relation;
mod secret;
mod state;
mod status;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use serde::de::DeserializeOwned;

pub use action::validate_action_key;
pub use log::LogLevel;
pub use network::{
    Address, BindAddress, GoalState, GoalStatus, NetworkInfo, Port, Protocol, StorageInfo,
};
pub use relation::{RelationData, Target};
pub use secret::{
    RotatePolicy, SecretContent, SecretGetMode, SecretInfo, SecretOptions, SecretOwner,
    validate_secret_key,
};
pub use status::{Status, StatusInfo, StatusName};

use crate::error::{Error, Result};
use crate::runner::Runner;

/// The hook tools of one hook, with what has been read so far.
///
/// Reads are cached for the life of this value (one hook): the second `config_get` or
/// `relation_get` of the same thing costs no process. Writes that would change nothing (setting a
/// relation key to the value it already has, the same status twice) are not sent. Writes keep the
/// cache coherent, so reading your own bag after `relation_set` shows your change, as Juju does.
pub struct HookTools {
    runner: Box<dyn Runner>,
    unit: String,
    app: String,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    config: Option<serde_json::Map<String, serde_json::Value>>,
    leader: Option<bool>,
    relation_ids: HashMap<String, Vec<crate::RelationRef>>,
    relation_units: HashMap<u64, Vec<String>>,
    remote_apps: HashMap<u64, Option<String>>,
    relation_data: HashMap<(u64, Target), RelationData>,
    status: HashMap<bool, StatusInfo>,
    app_version: Option<String>,
    action_params: Option<serde_json::Value>,
    secrets: HashMap<(String, SecretGetMode), SecretContent>,
    secret_latest: HashMap<String, SecretContent>,
    secret_ids: Option<Vec<String>>,
    secret_info: HashMap<String, SecretInfo>,
    opened_ports: Option<Vec<Port>>,
    network: HashMap<(String, Option<u64>), NetworkInfo>,
    storage: HashMap<Option<String>, StorageInfo>,
    storage_list: HashMap<Option<String>, Vec<String>>,
    goal_state: Option<GoalState>,
    state: Option<BTreeMap<String, String>>,
}

impl HookTools {
    /// Hook tools for `unit` (`app/0`), run through `runner`.
    pub fn new(runner: impl Runner + 'static, unit: &str) -> HookTools {
        let app = unit.split('/').next().unwrap_or(unit).to_string();
        HookTools {
            runner: Box::new(runner),
            unit: unit.to_string(),
            app,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// This unit's name.
    pub fn unit_name(&self) -> &str {
        &self.unit
    }

    /// This application's name.
    pub fn app_name(&self) -> &str {
        &self.app
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Run a tool; non-zero exit becomes a classified [`Error`].
    fn call(&self, tool: &str, args: &[String], stdin: Option<&[u8]>) -> Result<Vec<u8>> {
        let out = self
            .runner
            .run(tool, args, stdin)
            .map_err(|source| Error::Spawn {
                tool: tool.to_string(),
                source,
            })?;
        if out.code != 0 {
            return Err(Error::from_tool_failure(tool, out.code, &out.stderr));
        }
        Ok(out.stdout)
    }

    /// Run a tool and parse its `--format=json` answer.
    fn call_json<T: DeserializeOwned>(
        &self,
        tool: &str,
        args: &[String],
        stdin: Option<&[u8]>,
    ) -> Result<T> {
        let stdout = self.call(tool, args, stdin)?;
        parse_json(tool, &stdout)
    }
}

/// Parse a hook tool's JSON answer.
pub(crate) fn parse_json<T: DeserializeOwned>(tool: &str, stdout: &[u8]) -> Result<T> {
    serde_json::from_slice(stdout).map_err(|e| Error::Parse {
        tool: tool.to_string(),
        message: e.to_string(),
    })
}

/// Turn a list of `&str` into owned argv.
pub(crate) fn argv<const N: usize>(items: [&str; N]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}
