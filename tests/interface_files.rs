//! The charm's interface files (metadata.yaml, config.yaml, actions.yaml, dispatch) against the
//! interface of Charmed PostgreSQL K8s, 14 track (spec/reference-charm.md sections 1 to 3).
//!
//! The expected values below are transcribed from the spec, not read from the files under test,
//! so renaming an endpoint, an option or a parameter, or changing a type or a default, fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_yaml::Value;

/// Default of a config option as the spec gives it; `Unset` means the option has no `default`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum DefaultValue {
    Str(&'static str),
    Int(i64),
    Float(f64),
    Bool(bool),
    Unset,
}
use DefaultValue::{Bool, Float, Int, Str, Unset};

/// Every option of spec section 2.3 (133) followed by the 53 `plugin_*_enable` options (186),
/// then ours.
const OPTIONS: &[(&str, &str, DefaultValue)] = &[
    ("synchronous_node_count", "string", Str("all")),
    ("synchronous_mode_strict", "boolean", Bool(true)),
    ("connection_authentication_timeout", "int", Int(60)),
    ("connection_statement_timeout", "int", Int(0)),
    ("cpu_parallel_leader_participation", "boolean", Bool(true)),
    ("cpu_max_logical_replication_workers", "string", Str("auto")),
    (
        "cpu_max_parallel_maintenance_workers",
        "string",
        Str("auto"),
    ),
    ("cpu_max_parallel_workers", "string", Str("auto")),
    (
        "cpu_max_sync_workers_per_subscription",
        "string",
        Str("auto"),
    ),
    ("cpu_max_worker_processes", "string", Str("auto")),
    ("cpu_wal_compression", "boolean", Bool(true)),
    ("durability_maximum_lag_on_failover", "int", Int(1048576)),
    ("durability_synchronous_commit", "string", Str("on")),
    ("durability_wal_keep_size", "int", Int(4096)),
    ("experimental_max_connections", "int", Unset),
    (
        "instance_default_text_search_config",
        "string",
        Str("pg_catalog.simple"),
    ),
    ("instance_max_locks_per_transaction", "int", Int(64)),
    (
        "instance_password_encryption",
        "string",
        Str("scram-sha-256"),
    ),
    ("instance_synchronize_seqscans", "boolean", Bool(true)),
    ("ldap_map", "string", Unset),
    ("ldap_search_filter", "string", Str("(uid=$username)")),
    ("logging_client_min_messages", "string", Str("notice")),
    ("logging_log_connections", "boolean", Bool(true)),
    ("logging_log_disconnections", "boolean", Bool(true)),
    ("logging_log_lock_waits", "boolean", Bool(false)),
    ("logging_log_min_duration_statement", "int", Int(-1)),
    ("logging_track_functions", "string", Str("none")),
    ("memory_maintenance_work_mem", "int", Int(65536)),
    ("memory_max_prepared_transactions", "int", Int(0)),
    ("memory_shared_buffers", "int", Unset),
    ("memory_temp_buffers", "int", Int(1024)),
    ("memory_work_mem", "int", Int(4096)),
    ("optimizer_constraint_exclusion", "string", Str("partition")),
    ("optimizer_cpu_index_tuple_cost", "float", Float(0.005)),
    ("optimizer_cpu_operator_cost", "float", Float(0.0025)),
    ("optimizer_cpu_tuple_cost", "float", Float(0.01)),
    ("optimizer_cursor_tuple_fraction", "float", Float(0.1)),
    ("optimizer_default_statistics_target", "int", Int(100)),
    ("optimizer_enable_async_append", "boolean", Bool(true)),
    ("optimizer_enable_bitmapscan", "boolean", Bool(true)),
    ("optimizer_enable_gathermerge", "boolean", Bool(true)),
    ("optimizer_enable_hashagg", "boolean", Bool(true)),
    ("optimizer_enable_hashjoin", "boolean", Bool(true)),
    ("optimizer_enable_incremental_sort", "boolean", Bool(true)),
    ("optimizer_enable_indexonlyscan", "boolean", Bool(true)),
    ("optimizer_enable_indexscan", "boolean", Bool(true)),
    ("optimizer_enable_material", "boolean", Bool(true)),
    ("optimizer_enable_memoize", "boolean", Bool(true)),
    ("optimizer_enable_mergejoin", "boolean", Bool(true)),
    ("optimizer_enable_nestloop", "boolean", Bool(true)),
    ("optimizer_enable_parallel_append", "boolean", Bool(true)),
    ("optimizer_enable_parallel_hash", "boolean", Bool(true)),
    ("optimizer_enable_partition_pruning", "boolean", Bool(true)),
    (
        "optimizer_enable_partitionwise_aggregate",
        "boolean",
        Bool(false),
    ),
    (
        "optimizer_enable_partitionwise_join",
        "boolean",
        Bool(false),
    ),
    ("optimizer_enable_seqscan", "boolean", Bool(true)),
    ("optimizer_enable_sort", "boolean", Bool(true)),
    ("optimizer_enable_tidscan", "boolean", Bool(true)),
    ("optimizer_from_collapse_limit", "int", Int(8)),
    ("optimizer_geqo", "boolean", Bool(true)),
    ("optimizer_geqo_effort", "int", Int(5)),
    ("optimizer_geqo_generations", "int", Int(0)),
    ("optimizer_geqo_pool_size", "int", Int(0)),
    ("optimizer_geqo_seed", "float", Float(0.0)),
    ("optimizer_geqo_selection_bias", "float", Float(2.0)),
    ("optimizer_geqo_threshold", "int", Int(12)),
    ("optimizer_jit", "boolean", Bool(true)),
    ("optimizer_jit_above_cost", "float", Float(100000.0)),
    ("optimizer_jit_inline_above_cost", "float", Float(500000.0)),
    (
        "optimizer_jit_optimize_above_cost",
        "float",
        Float(500000.0),
    ),
    ("optimizer_join_collapse_limit", "int", Int(8)),
    ("optimizer_min_parallel_index_scan_size", "int", Int(64)),
    ("optimizer_min_parallel_table_scan_size", "int", Int(1024)),
    ("optimizer_parallel_setup_cost", "float", Float(1000.0)),
    ("optimizer_parallel_tuple_cost", "float", Float(0.1)),
    ("optimizer_pg_stat_statements_track", "string", Str("top")),
    (
        "optimizer_pg_stat_statements_track_utility",
        "boolean",
        Bool(true),
    ),
    ("optimizer_pg_stat_statements_save", "boolean", Bool(false)),
    ("optimizer_track_io_timing", "boolean", Bool(false)),
    ("optimizer_track_wal_io_timing", "boolean", Bool(false)),
    ("optimizer_track_functions", "string", Str("none")),
    ("profile", "string", Str("production")),
    ("profile_limit_memory", "int", Unset),
    ("request_array_nulls", "boolean", Bool(true)),
    ("request_backslash_quote", "string", Str("safe_encoding")),
    ("request_date_style", "string", Str("ISO, MDY")),
    ("request_deadlock_timeout", "int", Int(1000)),
    (
        "request_default_transaction_deferrable",
        "boolean",
        Bool(false),
    ),
    (
        "request_default_transaction_isolation",
        "string",
        Str("read committed"),
    ),
    (
        "request_default_transaction_read_only",
        "boolean",
        Bool(false),
    ),
    ("request_escape_string_warning", "boolean", Bool(true)),
    ("request_lock_timeout", "int", Int(0)),
    ("request_standard_conforming_strings", "boolean", Bool(true)),
    ("request_time_zone", "string", Str("UTC")),
    ("request_track_activity_query_size", "int", Int(1024)),
    ("request_transform_null_equals", "boolean", Bool(false)),
    ("request_xmlbinary", "string", Str("base64")),
    ("request_xmloption", "string", Str("content")),
    ("response_bytea_output", "string", Str("hex")),
    ("response_exit_on_error", "boolean", Bool(false)),
    ("response_extra_float_digits", "int", Int(1)),
    ("response_gin_fuzzy_search_limit", "int", Int(0)),
    ("response_lc_monetary", "string", Str("C")),
    ("response_lc_numeric", "string", Str("C")),
    ("response_lc_time", "string", Str("C")),
    ("session_idle_in_transaction_session_timeout", "int", Int(0)),
    ("storage_bgwriter_lru_maxpages", "int", Int(100)),
    ("storage_bgwriter_lru_multiplier", "float", Float(2.0)),
    ("storage_default_table_access_method", "string", Str("heap")),
    ("storage_gin_pending_list_limit", "int", Int(4096)),
    ("storage_hot_standby_feedback", "boolean", Bool(false)),
    ("storage_old_snapshot_threshold", "int", Int(-1)),
    (
        "vacuum_autovacuum_analyze_scale_factor",
        "float",
        Float(0.1),
    ),
    ("vacuum_autovacuum_analyze_threshold", "int", Int(50)),
    ("vacuum_autovacuum_freeze_max_age", "int", Int(200000000)),
    ("vacuum_autovacuum_naptime", "int", Int(60)),
    ("vacuum_autovacuum_vacuum_cost_delay", "float", Float(2.0)),
    ("vacuum_autovacuum_vacuum_cost_limit", "int", Int(-1)),
    (
        "vacuum_autovacuum_vacuum_insert_scale_factor",
        "float",
        Float(0.2),
    ),
    (
        "vacuum_autovacuum_vacuum_insert_threshold",
        "int",
        Int(1000),
    ),
    ("vacuum_autovacuum_vacuum_scale_factor", "float", Float(0.2)),
    ("vacuum_autovacuum_vacuum_threshold", "int", Int(50)),
    ("vacuum_vacuum_cost_delay", "float", Float(0.0)),
    ("vacuum_vacuum_cost_limit", "int", Int(200)),
    ("vacuum_vacuum_cost_page_dirty", "int", Int(20)),
    ("vacuum_vacuum_cost_page_hit", "int", Int(1)),
    ("vacuum_vacuum_cost_page_miss", "int", Int(2)),
    ("vacuum_vacuum_failsafe_age", "int", Int(1600000000)),
    ("vacuum_vacuum_freeze_min_age", "int", Int(50000000)),
    ("vacuum_vacuum_freeze_table_age", "int", Int(150000000)),
    (
        "vacuum_vacuum_multixact_failsafe_age",
        "int",
        Int(1600000000),
    ),
    (
        "vacuum_vacuum_multixact_freeze_min_age",
        "int",
        Int(5000000),
    ),
    (
        "vacuum_vacuum_multixact_freeze_table_age",
        "int",
        Int(150000000),
    ),
    (
        "plugin_address_standardizer_data_us_enable",
        "boolean",
        Bool(false),
    ),
    ("plugin_address_standardizer_enable", "boolean", Bool(false)),
    ("plugin_audit_enable", "boolean", Bool(true)),
    ("plugin_bloom_enable", "boolean", Bool(false)),
    ("plugin_bool_plperl_enable", "boolean", Bool(false)),
    ("plugin_btree_gin_enable", "boolean", Bool(false)),
    ("plugin_btree_gist_enable", "boolean", Bool(false)),
    ("plugin_citext_enable", "boolean", Bool(false)),
    ("plugin_cube_enable", "boolean", Bool(false)),
    ("plugin_debversion_enable", "boolean", Bool(false)),
    ("plugin_dict_int_enable", "boolean", Bool(false)),
    ("plugin_dict_xsyn_enable", "boolean", Bool(false)),
    ("plugin_earthdistance_enable", "boolean", Bool(false)),
    ("plugin_fuzzystrmatch_enable", "boolean", Bool(false)),
    ("plugin_hll_enable", "boolean", Bool(false)),
    ("plugin_hstore_enable", "boolean", Bool(false)),
    ("plugin_hypopg_enable", "boolean", Bool(false)),
    ("plugin_icu_ext_enable", "boolean", Bool(false)),
    ("plugin_intarray_enable", "boolean", Bool(false)),
    ("plugin_ip4r_enable", "boolean", Bool(false)),
    ("plugin_isn_enable", "boolean", Bool(false)),
    ("plugin_jsonb_plperl_enable", "boolean", Bool(false)),
    ("plugin_lo_enable", "boolean", Bool(false)),
    ("plugin_ltree_enable", "boolean", Bool(false)),
    ("plugin_old_snapshot_enable", "boolean", Bool(false)),
    ("plugin_orafce_enable", "boolean", Bool(false)),
    ("plugin_pg_freespacemap_enable", "boolean", Bool(false)),
    ("plugin_pg_similarity_enable", "boolean", Bool(false)),
    ("plugin_pg_trgm_enable", "boolean", Bool(false)),
    ("plugin_pg_visibility_enable", "boolean", Bool(false)),
    ("plugin_pgrowlocks_enable", "boolean", Bool(false)),
    ("plugin_pgstattuple_enable", "boolean", Bool(false)),
    ("plugin_pg_stat_statements_enable", "boolean", Bool(false)),
    ("plugin_plperl_enable", "boolean", Bool(false)),
    ("plugin_plpython3u_enable", "boolean", Bool(false)),
    ("plugin_pltcl_enable", "boolean", Bool(false)),
    ("plugin_postgis_enable", "boolean", Bool(false)),
    ("plugin_postgis_raster_enable", "boolean", Bool(false)),
    (
        "plugin_postgis_tiger_geocoder_enable",
        "boolean",
        Bool(false),
    ),
    ("plugin_postgis_topology_enable", "boolean", Bool(false)),
    ("plugin_prefix_enable", "boolean", Bool(false)),
    ("plugin_rdkit_enable", "boolean", Bool(false)),
    ("plugin_seg_enable", "boolean", Bool(false)),
    ("plugin_spi_enable", "boolean", Bool(false)),
    ("plugin_tablefunc_enable", "boolean", Bool(false)),
    ("plugin_tcn_enable", "boolean", Bool(false)),
    ("plugin_tds_fdw_enable", "boolean", Bool(false)),
    ("plugin_timescaledb_enable", "boolean", Bool(false)),
    ("plugin_tsm_system_rows_enable", "boolean", Bool(false)),
    ("plugin_tsm_system_time_enable", "boolean", Bool(false)),
    ("plugin_unaccent_enable", "boolean", Bool(false)),
    ("plugin_uuid_ossp_enable", "boolean", Bool(false)),
    ("plugin_vector_enable", "boolean", Bool(false)),
    // Ours, beyond the reference.
    ("backup_encryption", "boolean", Bool(true)),
];

/// `(endpoint, interface, limit, optional)` per section of metadata.yaml (spec section 1.2), plus
/// our one addition, the optional `etcd` requirer (Patroni's store outside Kubernetes).
type EndpointRow = (&'static str, &'static str, Option<u64>, Option<bool>);

const PEERS: &[EndpointRow] = &[
    ("database-peers", "postgresql_peers", None, None),
    ("restart", "rolling_op", None, None),
    ("upgrade", "upgrade", None, None),
];

const PROVIDES: &[EndpointRow] = &[
    ("replication-offer", "postgresql_async", Some(1), Some(true)),
    ("database", "postgresql_client", None, None),
    ("db", "pgsql", None, Some(true)),
    ("db-admin", "pgsql", None, Some(true)),
    ("metrics-endpoint", "prometheus_scrape", None, Some(true)),
    ("grafana-dashboard", "grafana_dashboard", None, Some(true)),
];

const REQUIRES: &[EndpointRow] = &[
    ("replication", "postgresql_async", Some(1), Some(true)),
    ("certificates", "tls-certificates", Some(1), Some(true)),
    ("receive-ca-cert", "certificate_transfer", None, Some(true)),
    ("s3-parameters", "s3", Some(1), Some(true)),
    ("ldap", "ldap", Some(1), Some(true)),
    ("logging", "loki_push_api", Some(1), Some(true)),
    ("tracing", "tracing", Some(1), Some(true)),
    ("etcd", "etcd", Some(1), Some(true)),
];

/// `(action, [(parameter, type)])` from spec section 3.
const ACTIONS: &[(&str, &[(&str, &str)])] = &[
    ("create-backup", &[("type", "string")]),
    ("create-replication", &[("name", "string")]),
    ("get-primary", &[]),
    ("get-password", &[("username", "string")]),
    ("list-backups", &[]),
    ("pre-upgrade-check", &[]),
    (
        "promote-to-primary",
        &[("scope", "string"), ("force", "boolean")],
    ),
    (
        "restore",
        &[("backup-id", "string"), ("restore-to-time", "string")],
    ),
    ("resume-upgrade", &[]),
    // Ours, beyond the reference.
    (
        "rotate-client-password",
        &[("relation-id", "integer"), ("retire-previous", "boolean")],
    ),
    (
        "set-password",
        &[("username", "string"), ("password", "string")],
    ),
    ("set-tls-private-key", &[("private-key", "string")]),
];

const IMAGE: &str = "ghcr.io/canonical/charmed-postgresql@sha256:e77fc5952a661ea8c4ecf1cc50989011e69925335e2cca85e3f4b70ceba41a47";
const DATA_DIR: &str = "/var/lib/postgresql/data";

fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parsing {name}: {e}"))
}

fn mapping<'a>(value: &'a Value, what: &str) -> &'a serde_yaml::Mapping {
    value
        .as_mapping()
        .unwrap_or_else(|| panic!("{what} is not a mapping"))
}

fn keys(value: &Value, what: &str) -> BTreeSet<String> {
    mapping(value, what)
        .keys()
        .map(|k| {
            k.as_str()
                .unwrap_or_else(|| panic!("{what}: non-string key"))
                .to_owned()
        })
        .collect()
}

fn check_endpoints(metadata: &Value, section: &str, expected: &[EndpointRow]) {
    let endpoints = &metadata[section];
    let want: BTreeSet<String> = expected.iter().map(|row| row.0.to_owned()).collect();
    assert_eq!(
        keys(endpoints, section),
        want,
        "endpoint names under {section}"
    );
    for &(name, interface, limit, optional) in expected {
        let endpoint = &endpoints[name];
        let here = format!("{section}.{name}");
        assert_eq!(
            endpoint["interface"].as_str(),
            Some(interface),
            "{here} interface"
        );
        assert_eq!(
            endpoint.get("limit").map(Value::as_u64),
            limit.map(Some),
            "{here} limit"
        );
        assert_eq!(
            endpoint.get("optional").map(Value::as_bool),
            optional.map(Some),
            "{here} optional"
        );
        let allowed: BTreeSet<String> = ["interface", "limit", "optional", "scope"]
            .map(String::from)
            .into();
        let extra: Vec<_> = keys(endpoint, &here)
            .difference(&allowed)
            .cloned()
            .collect();
        assert!(
            extra.is_empty(),
            "{here}: keys Juju does not know: {extra:?}"
        );
    }
}

#[test]
fn metadata_identity() {
    let metadata = load("metadata.yaml");
    assert_eq!(metadata["name"].as_str(), Some("postgresql-k8s"));
    assert_eq!(
        metadata["display-name"].as_str(),
        Some("Charmed PostgreSQL K8s")
    );
    for field in ["summary", "description"] {
        let text = metadata[field].as_str().unwrap_or_default();
        assert!(!text.trim().is_empty(), "metadata {field} is empty");
    }
}

#[test]
fn metadata_endpoints_match_the_reference() {
    let metadata = load("metadata.yaml");
    check_endpoints(&metadata, "peers", PEERS);
    check_endpoints(&metadata, "provides", PROVIDES);
    check_endpoints(&metadata, "requires", REQUIRES);
}

#[test]
fn metadata_container_resource_and_storage() {
    let metadata = load("metadata.yaml");

    assert_eq!(
        keys(&metadata["containers"], "containers"),
        BTreeSet::from(["postgresql".to_owned()])
    );
    let container = &metadata["containers"]["postgresql"];
    assert_eq!(container["resource"].as_str(), Some("postgresql-image"));
    let mounts = container["mounts"]
        .as_sequence()
        .expect("postgresql mounts is a list");
    assert_eq!(mounts.len(), 1, "one mount");
    assert_eq!(mounts[0]["storage"].as_str(), Some("pgdata"));
    assert_eq!(mounts[0]["location"].as_str(), Some(DATA_DIR));

    assert_eq!(
        keys(&metadata["resources"], "resources"),
        BTreeSet::from(["postgresql-image".to_owned()])
    );
    let image = &metadata["resources"]["postgresql-image"];
    assert_eq!(image["type"].as_str(), Some("oci-image"));
    assert_eq!(image["upstream-source"].as_str(), Some(IMAGE));

    assert_eq!(
        keys(&metadata["storage"], "storage"),
        BTreeSet::from(["pgdata".to_owned()])
    );
    let pgdata = &metadata["storage"]["pgdata"];
    assert_eq!(pgdata["type"].as_str(), Some("filesystem"));
    assert_eq!(pgdata["location"].as_str(), Some(DATA_DIR));
}

#[test]
fn metadata_assumes_matches_the_reference() {
    let metadata = load("metadata.yaml");
    let expected: Value = serde_yaml::from_str(
        "- k8s-api\n\
         - any-of:\n\
         \x20   - all-of: [juju >= 2.9.49, juju < 3]\n\
         \x20   - all-of: [juju >= 3.4.3, juju < 3.5]\n\
         \x20   - all-of: [juju >= 3.5.1, juju < 4]\n",
    )
    .expect("expected assumes parses");
    assert_eq!(metadata["assumes"], expected);
}

#[test]
fn config_has_exactly_the_reference_options() {
    assert_eq!(OPTIONS.len(), 187, "the expected table itself");
    let config = load("config.yaml");
    let options = &config["options"];
    let want: BTreeSet<String> = OPTIONS.iter().map(|row| row.0.to_owned()).collect();
    assert_eq!(
        want.len(),
        OPTIONS.len(),
        "duplicate names in the expected table"
    );
    let have = keys(options, "options");
    let missing: Vec<_> = want.difference(&have).collect();
    let unexpected: Vec<_> = have.difference(&want).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing {missing:?}, unexpected {unexpected:?}"
    );
}

#[test]
fn config_types_and_defaults_match_the_reference() {
    let config = load("config.yaml");
    let options = &config["options"];
    let mut wrong = BTreeMap::new();
    for &(name, typ, default) in OPTIONS {
        let option = &options[name];
        if option["type"].as_str() != Some(typ) {
            wrong.insert(name, format!("type {:?}, want {typ}", option["type"]));
            continue;
        }
        let have = option.get("default");
        let ok = match (default, have) {
            (Unset, None) => true,
            (Str(want), Some(Value::String(s))) => s == want,
            (Int(want), Some(v @ Value::Number(n))) => n.is_i64() && v.as_i64() == Some(want),
            (Float(want), Some(Value::Number(n))) => n.is_f64() && n.as_f64() == Some(want),
            (Bool(want), Some(Value::Bool(b))) => *b == want,
            _ => false,
        };
        if !ok {
            wrong.insert(name, format!("default {have:?}, want {default:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "options that differ from the reference: {wrong:#?}"
    );
}

/// Juju reads config.yaml with a YAML 1.1 parser, where unquoted `on`, `off`, `yes` or `no` are
/// booleans; our serde_yaml is YAML 1.2 and would not notice. So every string default must be
/// quoted in the file itself.
#[test]
fn string_defaults_are_quoted() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.yaml");
    let text = std::fs::read_to_string(&path).expect("config.yaml exists");
    let string_options: BTreeSet<&str> = OPTIONS
        .iter()
        .filter(|row| row.1 == "string")
        .map(|row| row.0)
        .collect();
    let mut current = "";
    let mut unquoted = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            current = name;
        }
        if let Some(raw) = line.strip_prefix("    default: ") {
            let quoted = (raw.starts_with('"') && raw.ends_with('"'))
                || (raw.starts_with('\'') && raw.ends_with('\''));
            if string_options.contains(current) && !quoted {
                unquoted.push(format!("{current}: {raw}"));
            }
        }
    }
    assert!(
        unquoted.is_empty(),
        "unquoted string defaults: {unquoted:?}"
    );
}

#[test]
fn every_option_is_described() {
    let config = load("config.yaml");
    for (name, option) in mapping(&config["options"], "options") {
        let text = option["description"].as_str().unwrap_or_default();
        assert!(
            !text.trim().is_empty(),
            "option {name:?} has no description"
        );
        let allowed: BTreeSet<String> = ["type", "default", "description"].map(String::from).into();
        let extra: Vec<_> = keys(option, "option")
            .difference(&allowed)
            .cloned()
            .collect();
        assert!(extra.is_empty(), "option {name:?}: unknown keys {extra:?}");
    }
}

#[test]
fn actions_match_the_reference() {
    let actions = load("actions.yaml");
    let want: BTreeSet<String> = ACTIONS.iter().map(|row| row.0.to_owned()).collect();
    assert_eq!(keys(&actions, "actions.yaml"), want, "action names");
    for &(name, params) in ACTIONS {
        let action = &actions[name];
        let text = action["description"].as_str().unwrap_or_default();
        assert!(!text.trim().is_empty(), "action {name} has no description");
        let have = match action.get("params") {
            None => BTreeSet::new(),
            Some(p) => keys(p, &format!("{name}.params")),
        };
        let want: BTreeSet<String> = params.iter().map(|p| p.0.to_owned()).collect();
        assert_eq!(have, want, "parameters of {name}");
        for &(param, typ) in params {
            let spec = &action["params"][param];
            assert_eq!(spec["type"].as_str(), Some(typ), "type of {name}.{param}");
            let text = spec["description"].as_str().unwrap_or_default();
            assert!(!text.trim().is_empty(), "{name}.{param} has no description");
        }
    }
}

#[test]
fn action_parameter_defaults() {
    let actions = load("actions.yaml");
    let backup_type = &actions["create-backup"]["params"]["type"];
    assert_eq!(backup_type["default"].as_str(), Some("full"));
    // No enum: the charm itself refuses a bad type with the reference's message
    // ("Invalid backup type: <t>. Possible values: full, differential, incremental.").
    assert!(backup_type.get("enum").is_none());
    assert_eq!(
        actions["create-replication"]["params"]["name"]["default"].as_str(),
        Some("default")
    );
    let get_password = actions["get-password"]["params"]["username"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        get_password.contains("monitoring"),
        "get-password must list the monitoring user"
    );
}

#[test]
fn dispatch_runs_the_binary() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("dispatch");
    let text = std::fs::read_to_string(&path).expect("dispatch exists");
    assert!(
        text.starts_with("#!/bin/sh\n"),
        "dispatch is a POSIX shell script"
    );
    assert!(
        text.contains(r#"exec "$(dirname "$0")/bin/postgresql-k8s""#),
        "dispatch execs the binary"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("dispatch metadata")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o111,
            0o111,
            "dispatch must be executable by everyone"
        );
    }
}
