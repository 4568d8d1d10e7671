//! The one table of the charm's 187 options (the reference's 186 and one of ours), transcribed
//! from `config.yaml` (names, Juju types, defaults, in the file's order) and from the reference's
//! option table (spec/reference-charm.md §2.3: the PostgreSQL parameter each option becomes and
//! its validation rule).
//!
//! Pure data: a unit test compares every name, type and default with `config.yaml`, another checks
//! each PostgreSQL name against the §2.2 naming rule, so the table cannot drift from either.

/// A Juju option type, as declared in `config.yaml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `type: string`.
    String,
    /// `type: int` (64-bit signed).
    Int,
    /// `type: float`.
    Float,
    /// `type: boolean`.
    Boolean,
}

impl Kind {
    /// The type's name in `config.yaml`.
    pub fn juju_type(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Boolean => "boolean",
        }
    }
}

/// A default value as written in `config.yaml`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Literal {
    /// A string default.
    Str(&'static str),
    /// An integer default.
    Int(i64),
    /// A float default.
    Float(f64),
    /// A boolean default.
    Bool(bool),
}

/// What a value must satisfy beyond its Juju type (reference §2.3's validation column, plus the
/// stricter rules of DESIGN §6 noted on each variant).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Any value of the Juju type. Strings must not contain control characters (stricter than the
    /// reference: a newline would break the rendered `postgresql.conf` or `pg_hba` line).
    Any,
    /// An integer in `min..=max`.
    IntRange {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value (`i64::MAX`: no upper bound).
        max: i64,
    },
    /// A float in `min..=max`.
    FloatRange {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value (`f64::MAX`: no upper bound).
        max: f64,
    },
    /// One of these strings, compared case-sensitively as the reference does.
    OneOf(&'static [&'static str]),
    /// `all`, `majority` or a whole number ≥ 1 (`synchronous_node_count`).
    SyncNodeCount,
    /// `auto` or a whole number ≥ 2 (the `cpu_max_*` worker options).
    Workers,
    /// `scram-sha-256` only: the reference also accepts `md5`, which DESIGN §6 refuses.
    ScramOnly,
}

/// One option: its name, Juju type, default, the PostgreSQL parameter it sets and its rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionSpec {
    /// The option's name in `config.yaml`.
    pub name: &'static str,
    /// Its Juju type.
    pub kind: Kind,
    /// Its default, or `None` for the four options declared without one.
    pub default: Option<Literal>,
    /// The PostgreSQL parameter it becomes (§2.2), or `None` for Patroni, LDAP, profile and
    /// plugin options.
    pub pg: Option<&'static str>,
    /// Its validation rule.
    pub rule: Rule,
}

/// The position of an option in [`OPTIONS`], or `None` for a name the charm does not declare.
pub fn index_of(name: &str) -> Option<usize> {
    OPTIONS.iter().position(|spec| spec.name == name)
}

/// The table entry of an option, or `None` for a name the charm does not declare.
pub fn spec(name: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|spec| spec.name == name)
}

const MAX: i64 = i64::MAX;
/// The reference's upper bound for cost-like floats is `1.80e308`, beyond `f64::MAX` (Python reads
/// it as infinity): any finite number up to `f64::MAX` passes.
const PG_HUGE: f64 = f64::MAX;

const ENUM_SYNCHRONOUS_COMMIT: &[&str] = &["on", "remote_apply", "remote_write"];
const ENUM_CONSTRAINT_EXCLUSION: &[&str] = &["on", "off", "partition"];
const ENUM_BACKSLASH_QUOTE: &[&str] = &["safe_encoding", "on", "off"];
const ENUM_ISOLATION: &[&str] = &[
    "serializable",
    "repeatable read",
    "read committed",
    "read uncommitted",
];
const ENUM_XMLBINARY: &[&str] = &["base64", "hex"];
const ENUM_XMLOPTION: &[&str] = &["content", "document"];
const ENUM_BYTEA_OUTPUT: &[&str] = &["escape", "hex"];
const ENUM_CLIENT_MIN_MESSAGES: &[&str] = &[
    "debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error",
];
const ENUM_TRACK_FUNCTIONS: &[&str] = &["none", "pl", "all"];
const ENUM_PGSS_TRACK: &[&str] = &["none", "top", "all"];
const ENUM_PROFILE: &[&str] = &["testing", "production"];

const fn string(
    name: &'static str,
    d: &'static str,
    pg: Option<&'static str>,
    rule: Rule,
) -> OptionSpec {
    OptionSpec {
        name,
        kind: Kind::String,
        default: Some(Literal::Str(d)),
        pg,
        rule,
    }
}

const fn string_unset(name: &'static str, pg: Option<&'static str>, rule: Rule) -> OptionSpec {
    OptionSpec {
        name,
        kind: Kind::String,
        default: None,
        pg,
        rule,
    }
}

const fn int(
    name: &'static str,
    d: i64,
    pg: Option<&'static str>,
    min: i64,
    max: i64,
) -> OptionSpec {
    let rule = Rule::IntRange { min, max };
    OptionSpec {
        name,
        kind: Kind::Int,
        default: Some(Literal::Int(d)),
        pg,
        rule,
    }
}

const fn int_unset(name: &'static str, pg: Option<&'static str>, min: i64, max: i64) -> OptionSpec {
    let rule = Rule::IntRange { min, max };
    OptionSpec {
        name,
        kind: Kind::Int,
        default: None,
        pg,
        rule,
    }
}

const fn float(
    name: &'static str,
    d: f64,
    pg: Option<&'static str>,
    min: f64,
    max: f64,
) -> OptionSpec {
    let rule = Rule::FloatRange { min, max };
    OptionSpec {
        name,
        kind: Kind::Float,
        default: Some(Literal::Float(d)),
        pg,
        rule,
    }
}

const fn boolean(name: &'static str, d: bool, pg: Option<&'static str>) -> OptionSpec {
    OptionSpec {
        name,
        kind: Kind::Boolean,
        default: Some(Literal::Bool(d)),
        pg,
        rule: Rule::Any,
    }
}

const fn plugin(name: &'static str, d: bool) -> OptionSpec {
    boolean(name, d, None)
}

/// Every option of `config.yaml`, in the file's order.
///
/// `experimental_max_connections` has no range in the reference; here it must be 25..=262143
/// (Patroni silently replaces a DCS `max_connections` below 25 with 100, and PostgreSQL refuses
/// more than 262143).
#[rustfmt::skip]
pub static OPTIONS: &[OptionSpec] = &[
    string("synchronous_node_count", "all", None, Rule::SyncNodeCount),
    boolean("synchronous_mode_strict", true, None),
    int("connection_authentication_timeout", 60, Some("authentication_timeout"), 1, 600),
    int("connection_statement_timeout", 0, Some("statement_timeout"), 0, 2_147_483_647),
    boolean("cpu_parallel_leader_participation", true, Some("parallel_leader_participation")),
    string("cpu_max_logical_replication_workers", "auto", Some("max_logical_replication_workers"), Rule::Workers),
    string("cpu_max_parallel_maintenance_workers", "auto", Some("max_parallel_maintenance_workers"), Rule::Workers),
    string("cpu_max_parallel_workers", "auto", Some("max_parallel_workers"), Rule::Workers),
    string("cpu_max_sync_workers_per_subscription", "auto", Some("max_sync_workers_per_subscription"), Rule::Workers),
    string("cpu_max_worker_processes", "auto", Some("max_worker_processes"), Rule::Workers),
    boolean("cpu_wal_compression", true, Some("wal_compression")),
    int("durability_maximum_lag_on_failover", 1_048_576, None, 0, MAX),
    string("durability_synchronous_commit", "on", Some("synchronous_commit"), Rule::OneOf(ENUM_SYNCHRONOUS_COMMIT)),
    int("durability_wal_keep_size", 4096, Some("wal_keep_size"), 0, 2_147_483_647),
    int_unset("experimental_max_connections", None, 25, 262_143),
    string("instance_default_text_search_config", "pg_catalog.simple", Some("default_text_search_config"), Rule::Any),
    int("instance_max_locks_per_transaction", 64, Some("max_locks_per_transaction"), 64, 2_147_483_647),
    string("instance_password_encryption", "scram-sha-256", Some("password_encryption"), Rule::ScramOnly),
    boolean("instance_synchronize_seqscans", true, Some("synchronize_seqscans")),
    string_unset("ldap_map", None, Rule::Any),
    string("ldap_search_filter", "(uid=$username)", None, Rule::Any),
    string("logging_client_min_messages", "notice", Some("client_min_messages"), Rule::OneOf(ENUM_CLIENT_MIN_MESSAGES)),
    boolean("logging_log_connections", true, Some("log_connections")),
    boolean("logging_log_disconnections", true, Some("log_disconnections")),
    boolean("logging_log_lock_waits", false, Some("log_lock_waits")),
    int("logging_log_min_duration_statement", -1, Some("log_min_duration_statement"), -1, 2_147_483_647),
    string("logging_track_functions", "none", Some("track_functions"), Rule::OneOf(ENUM_TRACK_FUNCTIONS)),
    int("memory_maintenance_work_mem", 65536, Some("maintenance_work_mem"), 1024, 2_147_483_647),
    int("memory_max_prepared_transactions", 0, Some("max_prepared_transactions"), 0, 262_143),
    int_unset("memory_shared_buffers", Some("shared_buffers"), 16, 1_073_741_823),
    int("memory_temp_buffers", 1024, Some("temp_buffers"), 100, 1_073_741_823),
    int("memory_work_mem", 4096, Some("work_mem"), 64, 2_147_483_647),
    string("optimizer_constraint_exclusion", "partition", Some("constraint_exclusion"), Rule::OneOf(ENUM_CONSTRAINT_EXCLUSION)),
    float("optimizer_cpu_index_tuple_cost", 0.005, Some("cpu_index_tuple_cost"), 0.0, PG_HUGE),
    float("optimizer_cpu_operator_cost", 0.0025, Some("cpu_operator_cost"), 0.0, PG_HUGE),
    float("optimizer_cpu_tuple_cost", 0.01, Some("cpu_tuple_cost"), 0.0, PG_HUGE),
    float("optimizer_cursor_tuple_fraction", 0.1, Some("cursor_tuple_fraction"), 0.0, 1.0),
    int("optimizer_default_statistics_target", 100, Some("default_statistics_target"), 1, 10000),
    boolean("optimizer_enable_async_append", true, Some("enable_async_append")),
    boolean("optimizer_enable_bitmapscan", true, Some("enable_bitmapscan")),
    boolean("optimizer_enable_gathermerge", true, Some("enable_gathermerge")),
    boolean("optimizer_enable_hashagg", true, Some("enable_hashagg")),
    boolean("optimizer_enable_hashjoin", true, Some("enable_hashjoin")),
    boolean("optimizer_enable_incremental_sort", true, Some("enable_incremental_sort")),
    boolean("optimizer_enable_indexonlyscan", true, Some("enable_indexonlyscan")),
    boolean("optimizer_enable_indexscan", true, Some("enable_indexscan")),
    boolean("optimizer_enable_material", true, Some("enable_material")),
    boolean("optimizer_enable_memoize", true, Some("enable_memoize")),
    boolean("optimizer_enable_mergejoin", true, Some("enable_mergejoin")),
    boolean("optimizer_enable_nestloop", true, Some("enable_nestloop")),
    boolean("optimizer_enable_parallel_append", true, Some("enable_parallel_append")),
    boolean("optimizer_enable_parallel_hash", true, Some("enable_parallel_hash")),
    boolean("optimizer_enable_partition_pruning", true, Some("enable_partition_pruning")),
    boolean("optimizer_enable_partitionwise_aggregate", false, Some("enable_partitionwise_aggregate")),
    boolean("optimizer_enable_partitionwise_join", false, Some("enable_partitionwise_join")),
    boolean("optimizer_enable_seqscan", true, Some("enable_seqscan")),
    boolean("optimizer_enable_sort", true, Some("enable_sort")),
    boolean("optimizer_enable_tidscan", true, Some("enable_tidscan")),
    int("optimizer_from_collapse_limit", 8, Some("from_collapse_limit"), 1, 2_147_483_647),
    boolean("optimizer_geqo", true, Some("geqo")),
    int("optimizer_geqo_effort", 5, Some("geqo_effort"), 1, 10),
    int("optimizer_geqo_generations", 0, Some("geqo_generations"), 0, 2_147_483_647),
    int("optimizer_geqo_pool_size", 0, Some("geqo_pool_size"), 0, 2_147_483_647),
    float("optimizer_geqo_seed", 0.0, Some("geqo_seed"), 0.0, 1.0),
    float("optimizer_geqo_selection_bias", 2.0, Some("geqo_selection_bias"), 1.5, 2.0),
    int("optimizer_geqo_threshold", 12, Some("geqo_threshold"), 2, 2_147_483_647),
    boolean("optimizer_jit", true, Some("jit")),
    float("optimizer_jit_above_cost", 100_000.0, Some("jit_above_cost"), -1.0, PG_HUGE),
    float("optimizer_jit_inline_above_cost", 500_000.0, Some("jit_inline_above_cost"), -1.0, PG_HUGE),
    float("optimizer_jit_optimize_above_cost", 500_000.0, Some("jit_optimize_above_cost"), -1.0, PG_HUGE),
    int("optimizer_join_collapse_limit", 8, Some("join_collapse_limit"), 1, 2_147_483_647),
    int("optimizer_min_parallel_index_scan_size", 64, Some("min_parallel_index_scan_size"), 0, 715_827_882),
    int("optimizer_min_parallel_table_scan_size", 1024, Some("min_parallel_table_scan_size"), 0, 715_827_882),
    float("optimizer_parallel_setup_cost", 1000.0, Some("parallel_setup_cost"), 0.0, PG_HUGE),
    float("optimizer_parallel_tuple_cost", 0.1, Some("parallel_tuple_cost"), 0.0, PG_HUGE),
    string("optimizer_pg_stat_statements_track", "top", Some("pg_stat_statements.track"), Rule::OneOf(ENUM_PGSS_TRACK)),
    boolean("optimizer_pg_stat_statements_track_utility", true, Some("pg_stat_statements.track_utility")),
    boolean("optimizer_pg_stat_statements_save", false, Some("pg_stat_statements.save")),
    boolean("optimizer_track_io_timing", false, Some("track_io_timing")),
    boolean("optimizer_track_wal_io_timing", false, Some("track_wal_io_timing")),
    string("optimizer_track_functions", "none", Some("track_functions"), Rule::OneOf(ENUM_TRACK_FUNCTIONS)),
    string("profile", "production", None, Rule::OneOf(ENUM_PROFILE)),
    int_unset("profile_limit_memory", None, 128, 9_999_999),
    boolean("request_array_nulls", true, Some("array_nulls")),
    string("request_backslash_quote", "safe_encoding", Some("backslash_quote"), Rule::OneOf(ENUM_BACKSLASH_QUOTE)),
    string("request_date_style", "ISO, MDY", Some("DateStyle"), Rule::Any),
    int("request_deadlock_timeout", 1000, Some("deadlock_timeout"), 1, 2_147_483_647),
    boolean("request_default_transaction_deferrable", false, Some("default_transaction_deferrable")),
    string("request_default_transaction_isolation", "read committed", Some("default_transaction_isolation"), Rule::OneOf(ENUM_ISOLATION)),
    boolean("request_default_transaction_read_only", false, Some("default_transaction_read_only")),
    boolean("request_escape_string_warning", true, Some("escape_string_warning")),
    int("request_lock_timeout", 0, Some("lock_timeout"), 0, 2_147_483_647),
    boolean("request_standard_conforming_strings", true, Some("standard_conforming_strings")),
    string("request_time_zone", "UTC", Some("TimeZone"), Rule::Any),
    int("request_track_activity_query_size", 1024, Some("track_activity_query_size"), 100, 1_048_576),
    boolean("request_transform_null_equals", false, Some("transform_null_equals")),
    string("request_xmlbinary", "base64", Some("xmlbinary"), Rule::OneOf(ENUM_XMLBINARY)),
    string("request_xmloption", "content", Some("xmloption"), Rule::OneOf(ENUM_XMLOPTION)),
    string("response_bytea_output", "hex", Some("bytea_output"), Rule::OneOf(ENUM_BYTEA_OUTPUT)),
    boolean("response_exit_on_error", false, Some("exit_on_error")),
    int("response_extra_float_digits", 1, Some("extra_float_digits"), -15, 3),
    int("response_gin_fuzzy_search_limit", 0, Some("gin_fuzzy_search_limit"), 0, 2_147_483_647),
    string("response_lc_monetary", "C", Some("lc_monetary"), Rule::Any),
    string("response_lc_numeric", "C", Some("lc_numeric"), Rule::Any),
    string("response_lc_time", "C", Some("lc_time"), Rule::Any),
    int("session_idle_in_transaction_session_timeout", 0, Some("idle_in_transaction_session_timeout"), 0, 2_147_483_647),
    int("storage_bgwriter_lru_maxpages", 100, Some("bgwriter_lru_maxpages"), 0, 1_073_741_823),
    float("storage_bgwriter_lru_multiplier", 2.0, Some("bgwriter_lru_multiplier"), 0.0, 10.0),
    string("storage_default_table_access_method", "heap", Some("default_table_access_method"), Rule::Any),
    int("storage_gin_pending_list_limit", 4096, Some("gin_pending_list_limit"), 64, 2_147_483_647),
    boolean("storage_hot_standby_feedback", false, Some("hot_standby_feedback")),
    int("storage_old_snapshot_threshold", -1, Some("old_snapshot_threshold"), -1, 86400),
    float("vacuum_autovacuum_analyze_scale_factor", 0.1, Some("autovacuum_analyze_scale_factor"), 0.0, 100.0),
    int("vacuum_autovacuum_analyze_threshold", 50, Some("autovacuum_analyze_threshold"), 0, 2_147_483_647),
    int("vacuum_autovacuum_freeze_max_age", 200_000_000, Some("autovacuum_freeze_max_age"), 100_000, 2_000_000_000),
    int("vacuum_autovacuum_naptime", 60, Some("autovacuum_naptime"), 1, 2_147_483),
    float("vacuum_autovacuum_vacuum_cost_delay", 2.0, Some("autovacuum_vacuum_cost_delay"), -1.0, 100.0),
    int("vacuum_autovacuum_vacuum_cost_limit", -1, Some("autovacuum_vacuum_cost_limit"), -1, 10000),
    float("vacuum_autovacuum_vacuum_insert_scale_factor", 0.2, Some("autovacuum_vacuum_insert_scale_factor"), 0.0, 100.0),
    int("vacuum_autovacuum_vacuum_insert_threshold", 1000, Some("autovacuum_vacuum_insert_threshold"), -1, 2_147_483_647),
    float("vacuum_autovacuum_vacuum_scale_factor", 0.2, Some("autovacuum_vacuum_scale_factor"), 0.0, 100.0),
    int("vacuum_autovacuum_vacuum_threshold", 50, Some("autovacuum_vacuum_threshold"), 0, 2_147_483_647),
    float("vacuum_vacuum_cost_delay", 0.0, Some("vacuum_cost_delay"), 0.0, 100.0),
    int("vacuum_vacuum_cost_limit", 200, Some("vacuum_cost_limit"), 1, 10000),
    int("vacuum_vacuum_cost_page_dirty", 20, Some("vacuum_cost_page_dirty"), 0, 10000),
    int("vacuum_vacuum_cost_page_hit", 1, Some("vacuum_cost_page_hit"), 0, 10000),
    int("vacuum_vacuum_cost_page_miss", 2, Some("vacuum_cost_page_miss"), 0, 10000),
    int("vacuum_vacuum_failsafe_age", 1_600_000_000, Some("vacuum_failsafe_age"), 0, 2_100_000_000),
    int("vacuum_vacuum_freeze_min_age", 50_000_000, Some("vacuum_freeze_min_age"), 0, 1_000_000_000),
    int("vacuum_vacuum_freeze_table_age", 150_000_000, Some("vacuum_freeze_table_age"), 0, 2_000_000_000),
    int("vacuum_vacuum_multixact_failsafe_age", 1_600_000_000, Some("vacuum_multixact_failsafe_age"), 0, 2_100_000_000),
    int("vacuum_vacuum_multixact_freeze_min_age", 5_000_000, Some("vacuum_multixact_freeze_min_age"), 0, 1_000_000_000),
    int("vacuum_vacuum_multixact_freeze_table_age", 150_000_000, Some("vacuum_multixact_freeze_table_age"), 0, 2_000_000_000),
    plugin("plugin_address_standardizer_data_us_enable", false),
    plugin("plugin_address_standardizer_enable", false),
    plugin("plugin_audit_enable", true),
    plugin("plugin_bloom_enable", false),
    plugin("plugin_bool_plperl_enable", false),
    plugin("plugin_btree_gin_enable", false),
    plugin("plugin_btree_gist_enable", false),
    plugin("plugin_citext_enable", false),
    plugin("plugin_cube_enable", false),
    plugin("plugin_debversion_enable", false),
    plugin("plugin_dict_int_enable", false),
    plugin("plugin_dict_xsyn_enable", false),
    plugin("plugin_earthdistance_enable", false),
    plugin("plugin_fuzzystrmatch_enable", false),
    plugin("plugin_hll_enable", false),
    plugin("plugin_hstore_enable", false),
    plugin("plugin_hypopg_enable", false),
    plugin("plugin_icu_ext_enable", false),
    plugin("plugin_intarray_enable", false),
    plugin("plugin_ip4r_enable", false),
    plugin("plugin_isn_enable", false),
    plugin("plugin_jsonb_plperl_enable", false),
    plugin("plugin_lo_enable", false),
    plugin("plugin_ltree_enable", false),
    plugin("plugin_old_snapshot_enable", false),
    plugin("plugin_orafce_enable", false),
    plugin("plugin_pg_freespacemap_enable", false),
    plugin("plugin_pg_similarity_enable", false),
    plugin("plugin_pg_trgm_enable", false),
    plugin("plugin_pg_visibility_enable", false),
    plugin("plugin_pgrowlocks_enable", false),
    plugin("plugin_pgstattuple_enable", false),
    plugin("plugin_pg_stat_statements_enable", false),
    plugin("plugin_plperl_enable", false),
    plugin("plugin_plpython3u_enable", false),
    plugin("plugin_pltcl_enable", false),
    plugin("plugin_postgis_enable", false),
    plugin("plugin_postgis_raster_enable", false),
    plugin("plugin_postgis_tiger_geocoder_enable", false),
    plugin("plugin_postgis_topology_enable", false),
    plugin("plugin_prefix_enable", false),
    plugin("plugin_rdkit_enable", false),
    plugin("plugin_seg_enable", false),
    plugin("plugin_spi_enable", false),
    plugin("plugin_tablefunc_enable", false),
    plugin("plugin_tcn_enable", false),
    plugin("plugin_tds_fdw_enable", false),
    plugin("plugin_timescaledb_enable", false),
    plugin("plugin_tsm_system_rows_enable", false),
    plugin("plugin_tsm_system_time_enable", false),
    plugin("plugin_unaccent_enable", false),
    plugin("plugin_uuid_ossp_enable", false),
    plugin("plugin_vector_enable", false),
    // Ours, beyond the reference.
    boolean("backup_encryption", true, None),
];
