//! `state-get`, `state-set`, `state-delete`: the charm's own key-value state kept by Juju.

use std::collections::BTreeMap;

use super::{HookTools, argv};
use crate::error::{Error, Result};

impl HookTools {
    /// `state-get --format=json`: everything the charm stored (`{}` when nothing).
    pub fn state_get(&self) -> Result<BTreeMap<String, String>> {
        if let Some(state) = &self.cache().state {
            return Ok(state.clone());
        }
        let state: Option<BTreeMap<String, String>> =
            self.call_json("state-get", &argv(["--format=json"]), None)?;
        let state = state.unwrap_or_default();
        self.cache().state = Some(state.clone());
        Ok(state)
    }

    /// The state as this hook already read it (with its own writes), without calling
    /// `state-get`: `None` when it has not been read (or the read failed).
    pub fn state_if_read(&self) -> Option<BTreeMap<String, String>> {
        self.cache().state.clone()
    }

    /// `state-set --file -` with the changed keys as JSON on stdin. Keys that already hold the
    /// value are not sent. Committed when the hook succeeds.
    pub fn state_set(&self, values: &BTreeMap<String, String>) -> Result<()> {
        let current = self.state_get()?;
        let diff: BTreeMap<&String, &String> = values
            .iter()
            .filter(|(k, v)| current.get(*k) != Some(*v))
            .collect();
        if diff.is_empty() {
            return Ok(());
        }
        let body = serde_json::to_vec(&diff).map_err(|e| Error::Invalid(e.to_string()))?;
        self.call("state-set", &argv(["--file", "-"]), Some(&body))?;
        if let Some(state) = &mut self.cache().state {
            for (k, v) in diff {
                state.insert(k.clone(), v.clone());
            }
        }
        Ok(())
    }

    /// `state-delete <key>`. Not sent when the key is absent.
    pub fn state_delete(&self, key: &str) -> Result<()> {
        if !self.state_get()?.contains_key(key) {
            return Ok(());
        }
        self.call("state-delete", &argv([key]), None)?;
        if let Some(state) = &mut self.cache().state {
            state.remove(key);
        }
        Ok(())
    }
}
