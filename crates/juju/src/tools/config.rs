//! `config-get`, `is-leader`, `application-version-set`.

use serde::de::DeserializeOwned;

use super::{HookTools, argv, parse_json};
use crate::error::{Error, Result};

pub(crate) fn config_get_args() -> Vec<String> {
    argv(["--format=json"])
}

pub(crate) fn is_leader_args() -> Vec<String> {
    argv(["--format=json"])
}

pub(crate) fn application_version_set_args(version: &str) -> Vec<String> {
    argv(["--", version])
}

impl HookTools {
    /// `config-get --format=json`: every option that is set or has a default, typed as declared.
    pub fn config_get(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        if let Some(config) = &self.cache().config {
            return Ok(config.clone());
        }
        let config: serde_json::Map<String, serde_json::Value> =
            self.call_json("config-get", &config_get_args(), None)?;
        self.cache().config = Some(config.clone());
        Ok(config)
    }

    /// The config deserialised into the charm's own type (a parse error names the bad option).
    pub fn config<T: DeserializeOwned>(&self) -> Result<T> {
        let map = self.config_get()?;
        let bytes = serde_json::to_vec(&map).map_err(|e| Error::Invalid(e.to_string()))?;
        parse_json("config-get", &bytes)
    }

    /// `is-leader --format=json`. Cached for the hook: Juju guarantees the lease for 30 s, longer
    /// than a hook should take.
    pub fn is_leader(&self) -> Result<bool> {
        if let Some(leader) = self.cache().leader {
            return Ok(leader);
        }
        let leader: bool = self.call_json("is-leader", &is_leader_args(), None)?;
        self.cache().leader = Some(leader);
        Ok(leader)
    }

    /// `application-version-set -- <version>`: the workload version `juju status` shows.
    /// Takes effect at once. Not sent again within a hook for the same value.
    pub fn application_version_set(&self, version: &str) -> Result<()> {
        if self.cache().app_version.as_deref() == Some(version) {
            return Ok(());
        }
        self.call(
            "application-version-set",
            &application_version_set_args(version),
            None,
        )?;
        self.cache().app_version = Some(version.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_matches_the_spec() {
        assert_eq!(config_get_args(), ["--format=json"]);
        assert_eq!(is_leader_args(), ["--format=json"]);
        assert_eq!(application_version_set_args("-15.4"), ["--", "-15.4"]);
    }
}
