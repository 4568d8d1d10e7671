//! From the config and the unit's resources to PostgreSQL parameters (reference §2.2): the
//! options' own parameters, the resource-derived ones (worker counts, memory sizing,
//! `max_connections`), the checks that need resources, and the split between the local
//! parameters (`patroni.yml`) and the Patroni-controlled ones (DCS).

use std::collections::BTreeMap;

use super::{Config, ConfigError, Profile, SyncNodeCount, Value};

/// What the unit may use: the node's allocatable CPU and memory, reduced to the `postgresql`
/// container's limits when lower (reading them is the Kubernetes module's job).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// Whole vCores (millicores divided by 1000, rounded down). Counted as at least 1: a pod
    /// limited to less than one core still runs PostgreSQL, and the reference's 0 would give
    /// `max_worker_processes = 0` and refuse every explicit worker count.
    pub cpu_cores: u32,
    /// Memory in bytes.
    pub memory_bytes: u64,
}

impl Resources {
    fn cores(self) -> u32 {
        self.cpu_cores.max(1)
    }
}

/// A `cpu_max_*` worker option: `auto` or an explicit count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    /// `auto`: `min(8, 2 × vCores)` for `cpu_max_worker_processes`, the effective
    /// `max_worker_processes` for the others.
    Auto,
    /// An explicit count (≥ 2; ≤ 10 × vCores is checked with the resources).
    Count(u32),
}

/// The parameters Patroni takes only from its DCS (`PATCH /config`), so that every member runs
/// with the same values: a key absent from [`Config::dcs_parameters`] should be sent as `null`,
/// which removes an earlier value from the DCS.
///
/// `max_locks_per_transaction` is here although the reference renders it into `patroni.yml`:
/// Patroni ignores it there (it is one of Patroni's command-line parameters), so the reference's
/// `instance_max_locks_per_transaction` never took effect.
pub const DCS_PARAMETERS: [&str; 9] = [
    "max_connections",
    "max_locks_per_transaction",
    "max_logical_replication_workers",
    "max_prepared_transactions",
    "max_replication_slots",
    "max_wal_senders",
    "max_worker_processes",
    "shared_buffers",
    "wal_keep_size",
];

/// The PostgreSQL parameters of one config on one unit, split by where they go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameters {
    /// `postgresql.parameters` of `patroni.yml` (unit-local). Of [`DCS_PARAMETERS`] it holds only
    /// a computed `shared_buffers` (production profile, `memory_shared_buffers` unset), sized from
    /// this unit's memory; `dcs` then has none.
    pub postgresql: BTreeMap<String, String>,
    /// `postgresql.parameters` of Patroni's `PATCH /config` (only keys of [`DCS_PARAMETERS`]).
    pub dcs: BTreeMap<String, String>,
}

/// Patroni's synchronous-replication and failover settings (the top level of `PATCH /config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DcsSettings {
    /// `synchronous_node_count`.
    pub synchronous_node_count: u32,
    /// `synchronous_mode_strict`.
    pub synchronous_mode_strict: bool,
    /// `maximum_lag_on_failover`, in bytes.
    pub maximum_lag_on_failover: u64,
}

/// The worker options in option-name order (the order their errors are reported in), with the
/// PostgreSQL parameter each sets.
const WORKER_OPTIONS: [(&str, &str); 5] = [
    (
        "cpu_max_logical_replication_workers",
        "max_logical_replication_workers",
    ),
    (
        "cpu_max_parallel_maintenance_workers",
        "max_parallel_maintenance_workers",
    ),
    ("cpu_max_parallel_workers", "max_parallel_workers"),
    (
        "cpu_max_sync_workers_per_subscription",
        "max_sync_workers_per_subscription",
    ),
    ("cpu_max_worker_processes", "max_worker_processes"),
];

const MB: u64 = 1_000_000;

impl Config {
    /// The rules that need the unit's resources; the first failure in option-name order.
    ///
    /// - A worker option's explicit count above 10 × vCores: the reason is the reference's
    ///   message without its leading option name, so that `"<option> <reason>"` is exactly the
    ///   reference's `<name> value <v> exceeds maximum allowed of <cap> (10 * vCores). Please set a
    ///   value <= <cap>.`
    /// - `memory_shared_buffers` above 40 % of the available memory (after
    ///   `profile_limit_memory`): the reference's `Shared buffers config option should be at most
    ///   40% of the available memory, which is <N>MB`.
    pub fn check_resources(&self, resources: &Resources) -> Result<(), ConfigError> {
        match self.resource_errors(resources).into_iter().next() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Every failure of [`Config::check_resources`], in option-name order.
    pub fn resource_errors(&self, resources: &Resources) -> Vec<ConfigError> {
        let cap = 10 * resources.cores();
        let mut errors = Vec::new();
        for (option, _) in WORKER_OPTIONS {
            if let Workers::Count(value) = self.workers(option)
                && value > cap
            {
                errors.push(ConfigError::new(
                    option,
                    format!(
                        "value {value} exceeds maximum allowed of {cap} (10 * vCores). \
                         Please set a value <= {cap}."
                    ),
                ));
            }
        }
        let memory = self.available_memory(resources);
        let max_mb = u64::try_from(u128::from(memory) * 4 / 10 / u128::from(MB)).unwrap_or(0);
        if let Some(pages) = self.memory_shared_buffers()
            && pages > max_mb * 1000 / 8
        {
            errors.push(ConfigError::new(
                "memory_shared_buffers",
                format!(
                    "Shared buffers config option should be at most 40% of the available \
                     memory, which is {max_mb}MB"
                ),
            ));
        }
        errors
    }

    /// The memory PostgreSQL is sized for: the unit's, capped at `profile_limit_memory` MB.
    pub fn available_memory(&self, resources: &Resources) -> u64 {
        match self.profile_limit_memory() {
            Some(limit_mb) => resources.memory_bytes.min(limit_mb.saturating_mul(MB)),
            None => resources.memory_bytes,
        }
    }

    /// Checks the resource rules, then computes both parameter sets: what the charm renders and
    /// PATCHes on every config change.
    pub fn parameters(&self, resources: &Resources) -> Result<Parameters, ConfigError> {
        self.check_resources(resources)?;
        Ok(self.split_parameters(resources))
    }

    /// The unit-local PostgreSQL parameters (`patroni.yml`): every option of §2.2's prefixes under
    /// its PostgreSQL name, worker counts resolved, `wal_compression`, and in the production
    /// profile `effective_cache_size` and, when `memory_shared_buffers` is unset, a
    /// `shared_buffers` of 25 % of the unit's memory. Never a key of [`DCS_PARAMETERS`] except
    /// that computed `shared_buffers` (per unit, as the reference does), which is then absent from
    /// [`Config::dcs_parameters`].
    ///
    /// Values are rendered as configured: call [`Config::check_resources`] first (or use
    /// [`Config::parameters`]).
    pub fn postgresql_parameters(&self, resources: &Resources) -> BTreeMap<String, String> {
        self.split_parameters(resources).postgresql
    }

    /// The Patroni-controlled parameters (DCS): `max_connections` (`experimental_max_connections`
    /// or `max(4 × vCores, 100)`), `max_prepared_transactions`, `max_replication_slots` 25,
    /// `max_wal_senders` 25, `shared_buffers` when `memory_shared_buffers` is set, `wal_keep_size`,
    /// `max_worker_processes`, `max_logical_replication_workers`, `max_locks_per_transaction`.
    pub fn dcs_parameters(&self, resources: &Resources) -> BTreeMap<String, String> {
        self.split_parameters(resources).dcs
    }

    /// Patroni's synchronous-mode settings for `planned_units` units of which `members` are
    /// cluster members (reference §2.3, "Meanings of the non-PG options"):
    /// `all` → planned − 1, `majority` → planned ÷ 2, N → N if N < members − 1 else planned − 1;
    /// strict only with more than one member, the option on and a count above 0.
    pub fn patroni_dcs(&self, planned_units: u32, members: u32) -> DcsSettings {
        let all = planned_units.saturating_sub(1);
        let count = match self.synchronous_node_count() {
            SyncNodeCount::All => all,
            SyncNodeCount::Majority => planned_units / 2,
            SyncNodeCount::Count(n) if n < members.saturating_sub(1) => n,
            SyncNodeCount::Count(_) => all,
        };
        DcsSettings {
            synchronous_node_count: count,
            synchronous_mode_strict: members > 1 && self.synchronous_mode_strict() && count > 0,
            maximum_lag_on_failover: self.durability_maximum_lag_on_failover(),
        }
    }

    /// Which option sets `track_functions`, which both `logging_track_functions` and
    /// `optimizer_track_functions` map to: the one that is not at its default (`none`); when both
    /// are changed, `optimizer_track_functions`, as the reference most likely does: its "last one
    /// wins" loop follows `config-get`'s answer, whose keys Juju sorts, so the optimizer option
    /// comes last.
    pub fn track_functions(&self) -> &str {
        let logging = self.get_str("logging_track_functions").unwrap_or("none");
        let optimizer = self.get_str("optimizer_track_functions").unwrap_or("none");
        if optimizer == "none" {
            logging
        } else {
            optimizer
        }
    }

    /// The effective worker counts, by PostgreSQL parameter name.
    pub fn worker_parameters(&self, resources: &Resources) -> BTreeMap<&'static str, u32> {
        let cores = resources.cores();
        let base = match self.cpu_max_worker_processes() {
            Workers::Auto => 8.min(2 * cores),
            Workers::Count(n) => n,
        };
        WORKER_OPTIONS
            .iter()
            .map(|(option, parameter)| {
                let value = match (self.workers(option), *option) {
                    (_, "cpu_max_worker_processes") => base,
                    (Workers::Auto, _) => base,
                    (Workers::Count(n), "cpu_max_parallel_workers") => n.min(base),
                    (Workers::Count(n), _) => n,
                };
                (*parameter, value)
            })
            .collect()
    }

    /// Every parameter, split: the DCS gets [`DCS_PARAMETERS`] except a computed
    /// `shared_buffers`, which is sized from this unit's memory and so stays local.
    fn split_parameters(&self, resources: &Resources) -> Parameters {
        let computed_shared_buffers = self.memory_shared_buffers().is_none();
        let (dcs, postgresql) =
            self.all_parameters(resources)
                .into_iter()
                .partition(|(name, _)| {
                    DCS_PARAMETERS.contains(&name.as_str())
                        && !(name == "shared_buffers" && computed_shared_buffers)
                });
        Parameters { postgresql, dcs }
    }

    fn all_parameters(&self, resources: &Resources) -> BTreeMap<String, String> {
        let mut parameters = BTreeMap::new();
        for (spec, value) in self.iter() {
            let (Some(pg), Some(value)) = (spec.pg, value) else {
                continue;
            };
            parameters.insert(pg.to_string(), value.render());
        }
        parameters.insert(
            "track_functions".to_string(),
            self.track_functions().to_string(),
        );
        for (parameter, value) in self.worker_parameters(resources) {
            parameters.insert(parameter.to_string(), value.to_string());
        }
        let wal_compression = Value::Bool(self.cpu_wal_compression()).render();
        parameters.insert("wal_compression".to_string(), wal_compression);
        for (parameter, value) in self.memory_parameters(resources) {
            parameters.insert(parameter.to_string(), value.to_string());
        }
        let max_connections = match self.experimental_max_connections() {
            Some(n) => n,
            None => (4 * resources.cores()).max(100),
        };
        parameters.insert("max_connections".to_string(), max_connections.to_string());
        parameters.insert("max_replication_slots".to_string(), "25".to_string());
        parameters.insert("max_wal_senders".to_string(), "25".to_string());
        parameters
    }

    /// `shared_buffers` (8 kB pages) and `effective_cache_size` (8 kB pages) as the reference
    /// computes them, with its mix of 10^6-byte MB and 128 pages per MB. The configured
    /// `shared_buffers` is always used; the production profile adds `effective_cache_size` and,
    /// when it is unset, a `shared_buffers` of 25 % of memory (at least PostgreSQL's minimum, 16).
    fn memory_parameters(&self, resources: &Resources) -> Vec<(&'static str, u64)> {
        let configured = self.memory_shared_buffers();
        let mut out = Vec::new();
        if let Some(pages) = configured {
            out.push(("shared_buffers", pages));
        }
        if self.profile() == Profile::Testing {
            return out;
        }
        let memory = self.available_memory(resources);
        let shared_buffers_bytes = match configured {
            Some(pages) => pages.saturating_mul(8 * 1000),
            None => {
                let bytes = memory / 4;
                let pages = u64::try_from(u128::from(bytes) * 128 / u128::from(MB)).unwrap_or(0);
                out.push(("shared_buffers", pages.max(16)));
                bytes
            }
        };
        let cache_mb = memory.saturating_sub(shared_buffers_bytes) / MB;
        out.push(("effective_cache_size", (cache_mb * 128).max(1)));
        out
    }
}
