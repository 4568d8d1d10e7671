//! Typed, validated charm config and its mapping to PostgreSQL and Patroni settings.
//!
//! Pure functions and plain data, no I/O. The flow in a hook:
//!
//! 1. [`Config::parse`] the map `config-get --format=json` returned: every option checked against
//!    its Juju type and its rule ([`options::OPTIONS`], one table for all 187 options). A missing
//!    option takes its `config.yaml` default; an unknown key is ignored. The first bad option, in
//!    option-name order, comes back as a [`ConfigError`] whose `Display` is the blocked status
//!    (`Configuration Error: <option>: <reason>`).
//! 2. [`Config::check_resources`] the rules that need the unit's [`Resources`] (worker options ≤
//!    10 × vCores, `memory_shared_buffers` ≤ 40 % of memory), or get everything at once with
//!    [`Config::parameters`], which checks and then splits the PostgreSQL parameters into the
//!    local ones (`patroni.yml`) and the Patroni-controlled ones (DCS, `PATCH /config`).
//! 3. [`Config::patroni_dcs`] for Patroni's synchronous-mode settings, [`Config::extensions`] and
//!    [`Config::unmet_plugin_dependencies`] for the leader's extension management, and
//!    [`Config::hash`] to notice that the config changed.
//!
//! ```
//! use postgresql_k8s::config::{Config, Resources};
//!
//! let mut map = serde_json::Map::new();
//! map.insert("vacuum_vacuum_cost_delay".into(), serde_json::json!(1.5));
//! let config = Config::parse(&map).unwrap();
//! let resources = Resources { cpu_cores: 4, memory_bytes: 8 << 30 };
//! let parameters = config.parameters(&resources).unwrap();
//! assert_eq!(parameters.postgresql["vacuum_cost_delay"], "1.5");
//! assert_eq!(parameters.dcs["max_connections"], "100");
//!
//! map.insert("instance_password_encryption".into(), serde_json::json!("md5"));
//! let error = Config::parse(&map).unwrap_err();
//! assert!(error.to_string().starts_with("Configuration Error: instance_password_encryption: "));
//! ```

pub mod options;
mod params;
mod plugins;
mod value;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use options::{OPTIONS, OptionSpec};
pub use params::{DCS_PARAMETERS, DcsSettings, Parameters, Resources, Workers};
pub use plugins::{Extension, PLUGINS, Plugin, REQUIRED_PLUGINS};
pub use value::{Value, render_float};

/// A config value the charm refuses: which option and why. `Display` is the unit's blocked status
/// message: `Configuration Error: <option>: <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Configuration Error: {option}: {reason}")]
pub struct ConfigError {
    /// The option's name in `config.yaml`.
    pub option: String,
    /// What is wrong with its value and what is allowed.
    pub reason: String,
}

impl ConfigError {
    fn new(option: &str, reason: impl Into<String>) -> Self {
        ConfigError {
            option: option.to_string(),
            reason: reason.into(),
        }
    }
}

/// `profile`: how much the charm tunes PostgreSQL to the unit's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `production` (default): `shared_buffers` and `effective_cache_size` sized from memory.
    Production,
    /// `testing`: no memory tuning.
    Testing,
}

/// `synchronous_node_count`: how many synchronous standbys Patroni keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncNodeCount {
    /// `all`: every other planned unit.
    All,
    /// `majority`: half the planned units, rounded down.
    Majority,
    /// A fixed number (≥ 1), used only while it is below the member count minus one.
    Count(u32),
}

/// The charm config: every option of `config.yaml`, typed and checked.
///
/// Values are kept in one store indexed like [`options::OPTIONS`]; the options the charm logic
/// needs have typed accessors of the same name, the others are read with [`Config::get`].
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    values: Vec<Option<Value>>,
}

impl Default for Config {
    fn default() -> Self {
        Config::defaults()
    }
}

impl Config {
    /// Every option at its `config.yaml` default (the four options without one unset).
    pub fn defaults() -> Self {
        Config {
            values: OPTIONS
                .iter()
                .map(|spec| spec.default.map(Value::from))
                .collect(),
        }
    }

    /// Parses and checks the map `config-get --format=json` returned. A missing option (or a JSON
    /// `null`) takes its default, an unknown key is ignored. The error is the first bad option in
    /// option-name order, so the status is the same whatever else is wrong.
    pub fn parse(map: &serde_json::Map<String, serde_json::Value>) -> Result<Self, ConfigError> {
        Self::parse_all_errors(map).map_err(|mut errors| errors.swap_remove(0))
    }

    /// As [`Config::parse`], but reports every bad option, sorted by option name (never empty on
    /// `Err`).
    pub fn parse_all_errors(
        map: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Self, Vec<ConfigError>> {
        let mut values = Vec::with_capacity(OPTIONS.len());
        let mut errors = Vec::new();
        for spec in OPTIONS {
            match map.get(spec.name) {
                None | Some(serde_json::Value::Null) => values.push(spec.default.map(Value::from)),
                Some(json) => match value::check(spec, json) {
                    Ok(value) => values.push(Some(value)),
                    Err(reason) => errors.push(ConfigError::new(spec.name, reason)),
                },
            }
        }
        if errors.is_empty() {
            Ok(Config { values })
        } else {
            errors.sort_by(|a, b| a.option.cmp(&b.option));
            Err(errors)
        }
    }

    /// The value of an option, or `None` when it is unset or not an option of the charm.
    pub fn get(&self, name: &str) -> Option<&Value> {
        options::index_of(name).and_then(|i| self.values[i].as_ref())
    }

    /// A `string` option's value (`None`: unset, unknown or not a string option).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// An `int` option's value (`None`: unset, unknown or not an int option).
    pub fn get_int(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    /// A `float` option's value (`None`: unset, unknown or not a float option).
    pub fn get_float(&self, name: &str) -> Option<f64> {
        match self.get(name) {
            Some(Value::Float(f)) => Some(*f),
            _ => None,
        }
    }

    /// A `boolean` option's value (`None`: unset, unknown or not a boolean option).
    pub fn get_bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// Every option with its table entry and value, in `config.yaml` order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static OptionSpec, Option<&Value>)> {
        OPTIONS.iter().zip(self.values.iter().map(Option::as_ref))
    }

    /// `profile`.
    pub fn profile(&self) -> Profile {
        match self.get_str("profile") {
            Some("testing") => Profile::Testing,
            _ => Profile::Production,
        }
    }

    /// `backup_encryption` (ours, on by default): the S3 repository is encrypted with a
    /// passphrase the charm generates.
    pub fn backup_encryption(&self) -> bool {
        self.get_bool("backup_encryption").unwrap_or(true)
    }

    /// `profile_limit_memory`: the memory cap in MB (10^6 bytes), if set.
    pub fn profile_limit_memory(&self) -> Option<u64> {
        self.get_int("profile_limit_memory").map(unsigned)
    }

    /// `memory_shared_buffers`: `shared_buffers` in 8 kB pages, if set.
    pub fn memory_shared_buffers(&self) -> Option<u64> {
        self.get_int("memory_shared_buffers").map(unsigned)
    }

    /// `experimental_max_connections`: overrides the computed `max_connections`, if set.
    pub fn experimental_max_connections(&self) -> Option<u32> {
        self.get_int("experimental_max_connections")
            .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
    }

    /// `synchronous_node_count`.
    pub fn synchronous_node_count(&self) -> SyncNodeCount {
        match self.get_str("synchronous_node_count") {
            Some("majority") => SyncNodeCount::Majority,
            Some(s) => value::parse_whole(s).map_or(SyncNodeCount::All, SyncNodeCount::Count),
            None => SyncNodeCount::All,
        }
    }

    /// `synchronous_mode_strict`.
    pub fn synchronous_mode_strict(&self) -> bool {
        self.get_bool("synchronous_mode_strict").unwrap_or(true)
    }

    /// `durability_maximum_lag_on_failover`, in bytes: Patroni's `maximum_lag_on_failover`.
    pub fn durability_maximum_lag_on_failover(&self) -> u64 {
        self.get_int("durability_maximum_lag_on_failover")
            .map_or(0, unsigned)
    }

    /// `durability_wal_keep_size`, in MB: PostgreSQL's `wal_keep_size`.
    pub fn durability_wal_keep_size(&self) -> u64 {
        self.get_int("durability_wal_keep_size").map_or(0, unsigned)
    }

    /// `instance_password_encryption` (always `scram-sha-256` once parsed).
    pub fn instance_password_encryption(&self) -> &str {
        self.get_str("instance_password_encryption")
            .unwrap_or("scram-sha-256")
    }

    /// `cpu_max_worker_processes`.
    pub fn cpu_max_worker_processes(&self) -> Workers {
        self.workers("cpu_max_worker_processes")
    }

    /// `cpu_max_parallel_workers`.
    pub fn cpu_max_parallel_workers(&self) -> Workers {
        self.workers("cpu_max_parallel_workers")
    }

    /// `cpu_max_parallel_maintenance_workers`.
    pub fn cpu_max_parallel_maintenance_workers(&self) -> Workers {
        self.workers("cpu_max_parallel_maintenance_workers")
    }

    /// `cpu_max_logical_replication_workers`.
    pub fn cpu_max_logical_replication_workers(&self) -> Workers {
        self.workers("cpu_max_logical_replication_workers")
    }

    /// `cpu_max_sync_workers_per_subscription`.
    pub fn cpu_max_sync_workers_per_subscription(&self) -> Workers {
        self.workers("cpu_max_sync_workers_per_subscription")
    }

    /// `cpu_wal_compression`: PostgreSQL's `wal_compression`.
    pub fn cpu_wal_compression(&self) -> bool {
        self.get_bool("cpu_wal_compression").unwrap_or(true)
    }

    /// `memory_max_prepared_transactions`: PostgreSQL's `max_prepared_transactions`.
    pub fn memory_max_prepared_transactions(&self) -> u32 {
        self.get_int("memory_max_prepared_transactions")
            .map_or(0, |i| u32::try_from(i).unwrap_or(0))
    }

    /// `ldap_map`: `ldap_group=pg_group,…` for the LDAP sync service, if set. Its syntax and the
    /// roles it names are checked against the database by the SQL module, not here.
    pub fn ldap_map(&self) -> Option<&str> {
        self.get_str("ldap_map")
    }

    /// `ldap_search_filter`: `ldapsearchfilter` of the LDAP `pg_hba` line.
    pub fn ldap_search_filter(&self) -> &str {
        self.get_str("ldap_search_filter")
            .unwrap_or("(uid=$username)")
    }

    /// Whether a `plugin_*_enable` option is on (`false` for any other name).
    pub fn plugin_enabled(&self, option: &str) -> bool {
        option.starts_with("plugin_") && self.get_bool(option).unwrap_or(false)
    }

    /// The typed values as canonical JSON: an object with every option (unset ones `null`), keys
    /// sorted. What [`Config::hash`] digests.
    pub fn canonical_json(&self) -> String {
        let map: BTreeMap<&str, serde_json::Value> = self
            .iter()
            .map(|(spec, value)| {
                (
                    spec.name,
                    value.map_or(serde_json::Value::Null, Value::to_json),
                )
            })
            .collect();
        serde_json::to_string(&map).unwrap_or_default()
    }

    /// A stable digest of the config (FNV-1a 64 of [`Config::canonical_json`], 16 hex digits):
    /// equal configs give equal hashes across runs, builds and machines.
    pub fn hash(&self) -> String {
        format!("{:016x}", fnv1a64(self.canonical_json().as_bytes()))
    }

    fn workers(&self, name: &str) -> Workers {
        match self.get_str(name).and_then(value::parse_whole) {
            Some(n) => Workers::Count(n),
            None => Workers::Auto,
        }
    }
}

/// A checked non-negative `int` as `u64` (negative values cannot pass the rules that lead here).
fn unsigned(i: i64) -> u64 {
    u64::try_from(i).unwrap_or(0)
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    })
}
