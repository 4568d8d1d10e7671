//! Config → PostgreSQL parameters: names, rendering, resource-derived values, the DCS split.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::super::options::OPTIONS;
use super::super::{Config, DCS_PARAMETERS, Resources, render_float};
use super::{EIGHT_GIB_FOUR_CORES, config};

fn cores(cpu_cores: u32) -> Resources {
    Resources {
        cpu_cores,
        memory_bytes: EIGHT_GIB_FOUR_CORES.memory_bytes,
    }
}

fn owned(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn option_names_become_postgresql_names() {
    let config = config(&[
        ("vacuum_vacuum_cost_delay", json!(1.5)),
        ("request_date_style", json!("SQL, DMY")),
        ("request_time_zone", json!("Europe/Paris")),
        ("optimizer_pg_stat_statements_track", json!("all")),
        ("optimizer_pg_stat_statements_save", json!(true)),
        ("logging_log_lock_waits", json!(true)),
        ("logging_log_connections", json!(false)),
        ("response_extra_float_digits", json!(-3)),
    ]);
    let p = config.postgresql_parameters(&EIGHT_GIB_FOUR_CORES);
    for (name, value) in [
        ("vacuum_cost_delay", "1.5"),
        ("DateStyle", "SQL, DMY"),
        ("TimeZone", "Europe/Paris"),
        ("pg_stat_statements.track", "all"),
        ("pg_stat_statements.save", "on"),
        ("pg_stat_statements.track_utility", "on"),
        ("log_lock_waits", "on"),
        ("log_connections", "off"),
        ("extra_float_digits", "-3"),
        ("authentication_timeout", "60"),
        ("cpu_operator_cost", "0.0025"),
        ("jit_above_cost", "100000"),
        ("geqo_seed", "0"),
        ("password_encryption", "scram-sha-256"),
        ("default_transaction_isolation", "read committed"),
        ("wal_compression", "on"),
    ] {
        assert_eq!(p.get(name).map(String::as_str), Some(value), "{name}");
    }
    for absent in [
        "maximum_lag_on_failover",
        "durability_maximum_lag_on_failover",
        "vacuum_vacuum_cost_delay",
        "date_style",
        "synchronous_node_count",
        "ldap_search_filter",
        "profile",
    ] {
        assert!(!p.contains_key(absent), "{absent}");
    }
    let off = super::config(&[("cpu_wal_compression", json!(false))]);
    assert_eq!(
        off.postgresql_parameters(&EIGHT_GIB_FOUR_CORES)["wal_compression"],
        "off"
    );
}

#[test]
fn floats_render_without_needless_exponent() {
    for (value, text) in [
        (0.0, "0"),
        (2.0, "2"),
        (-1.0, "-1"),
        (0.005, "0.005"),
        (0.0025, "0.0025"),
        (1.5, "1.5"),
        (100_000.0, "100000"),
        (1e15, "1000000000000000"),
        (1e16, "1e16"),
        (0.000_001, "1e-6"),
        (f64::MAX, "1.7976931348623157e308"),
    ] {
        assert_eq!(render_float(value), text, "{value}");
        assert_eq!(text.parse::<f64>().unwrap(), value, "{text} reads back");
    }
}

#[test]
fn production_sizes_memory_from_resources() {
    let config = Config::defaults();
    let p = config.postgresql_parameters(&EIGHT_GIB_FOUR_CORES);
    // memory = 8 GiB = 8_589_934_592 bytes.
    // shared_buffers: 25 % = 2_147_483_648 bytes; * 128 / 10^6 = 274_877.9 -> 274_877 pages.
    assert_eq!(p["shared_buffers"], "274877");
    // effective_cache_size: (8_589_934_592 - 2_147_483_648) / 10^6 = 6442.45 -> 6442 MB;
    // * 128 = 824_576 pages.
    assert_eq!(p["effective_cache_size"], "824576");
    // The computed shared_buffers is per unit: local, not in the DCS.
    assert!(
        !config
            .dcs_parameters(&EIGHT_GIB_FOUR_CORES)
            .contains_key("shared_buffers")
    );
}

#[test]
fn configured_shared_buffers_goes_to_the_dcs() {
    let config = config(&[("memory_shared_buffers", json!(100_000))]);
    let p = config.postgresql_parameters(&EIGHT_GIB_FOUR_CORES);
    let dcs = config.dcs_parameters(&EIGHT_GIB_FOUR_CORES);
    assert_eq!(dcs["shared_buffers"], "100000");
    assert!(!p.contains_key("shared_buffers"));
    // 100_000 pages * 8 * 1000 = 800_000_000 bytes; (8_589_934_592 - 800_000_000) / 10^6 =
    // 7789.93 -> 7789 MB; * 128 = 996_992 pages.
    assert_eq!(p["effective_cache_size"], "996992");
}

#[test]
fn profile_limit_memory_caps_the_memory() {
    let config = config(&[("profile_limit_memory", json!(2048))]);
    let p = config.postgresql_parameters(&EIGHT_GIB_FOUR_CORES);
    // memory = min(8 GiB, 2048 * 10^6) = 2_048_000_000 bytes; 25 % = 512_000_000 bytes;
    // * 128 / 10^6 = 65_536 pages.
    assert_eq!(p["shared_buffers"], "65536");
    // (2_048_000_000 - 512_000_000) / 10^6 = 1536 MB; * 128 = 196_608 pages.
    assert_eq!(p["effective_cache_size"], "196608");
    assert_eq!(
        config.available_memory(&EIGHT_GIB_FOUR_CORES),
        2_048_000_000
    );
    // A cap above the memory changes nothing.
    let loose = super::config(&[("profile_limit_memory", json!(9_999_999))]);
    assert_eq!(
        loose.available_memory(&EIGHT_GIB_FOUR_CORES),
        EIGHT_GIB_FOUR_CORES.memory_bytes
    );
}

#[test]
fn testing_does_no_memory_tuning() {
    let config = config(&[("profile", json!("testing"))]);
    let p = config.postgresql_parameters(&EIGHT_GIB_FOUR_CORES);
    let dcs = config.dcs_parameters(&EIGHT_GIB_FOUR_CORES);
    for name in ["shared_buffers", "effective_cache_size"] {
        assert!(!p.contains_key(name) && !dcs.contains_key(name), "{name}");
    }
    // A configured shared_buffers still applies.
    let set = super::config(&[
        ("profile", json!("testing")),
        ("memory_shared_buffers", json!(4096)),
    ]);
    assert_eq!(
        set.dcs_parameters(&EIGHT_GIB_FOUR_CORES)["shared_buffers"],
        "4096"
    );
    assert!(
        !set.postgresql_parameters(&EIGHT_GIB_FOUR_CORES)
            .contains_key("effective_cache_size")
    );
}

#[test]
fn dcs_parameters_at_defaults() {
    let dcs = Config::defaults().dcs_parameters(&EIGHT_GIB_FOUR_CORES);
    assert_eq!(
        dcs,
        owned(&[
            ("max_connections", "100"),
            ("max_locks_per_transaction", "64"),
            ("max_logical_replication_workers", "8"),
            ("max_prepared_transactions", "0"),
            ("max_replication_slots", "25"),
            ("max_wal_senders", "25"),
            ("max_worker_processes", "8"),
            ("wal_keep_size", "4096"),
        ])
    );
}

#[test]
fn local_and_dcs_parameters_split_every_parameter_once() {
    for config in [
        Config::defaults(),
        config(&[("memory_shared_buffers", json!(1000))]),
        config(&[("profile", json!("testing"))]),
    ] {
        let local = config.postgresql_parameters(&EIGHT_GIB_FOUR_CORES);
        let dcs = config.dcs_parameters(&EIGHT_GIB_FOUR_CORES);
        let local_keys: BTreeSet<&String> = local.keys().collect();
        let dcs_keys: BTreeSet<&String> = dcs.keys().collect();
        assert!(local_keys.is_disjoint(&dcs_keys));
        assert!(dcs.keys().all(|k| DCS_PARAMETERS.contains(&k.as_str())));
        // Every mapped option is somewhere, under its PostgreSQL name.
        for spec in OPTIONS {
            if let (Some(pg), Some(_)) = (spec.pg, config.get(spec.name)) {
                assert!(local.contains_key(pg) || dcs.contains_key(pg), "{pg}");
            }
        }
        let both = config.parameters(&EIGHT_GIB_FOUR_CORES).unwrap();
        assert_eq!(both.postgresql, local);
        assert_eq!(both.dcs, dcs);
    }
}

#[test]
fn max_connections_from_cores_or_the_experimental_option() {
    for (cpu_cores, expected) in [
        (1, "100"),
        (4, "100"),
        (25, "100"),
        (26, "104"),
        (64, "256"),
    ] {
        let dcs = Config::defaults().dcs_parameters(&cores(cpu_cores));
        assert_eq!(dcs["max_connections"], expected, "{cpu_cores} cores");
    }
    let set = config(&[("experimental_max_connections", json!(500))]);
    assert_eq!(set.dcs_parameters(&cores(64))["max_connections"], "500");
}

#[test]
fn worker_counts_resolve_auto_and_caps() {
    let all = [
        "max_worker_processes",
        "max_parallel_workers",
        "max_parallel_maintenance_workers",
        "max_logical_replication_workers",
        "max_sync_workers_per_subscription",
    ];
    // auto: max_worker_processes = min(8, 2 * vCores); the others follow it.
    for (cpu_cores, expected) in [(0, 2), (1, 2), (2, 4), (3, 6), (4, 8), (16, 8)] {
        let workers = Config::defaults().worker_parameters(&cores(cpu_cores));
        for name in all {
            assert_eq!(workers[name], expected, "{name} with {cpu_cores} cores");
        }
    }
    let explicit = config(&[
        ("cpu_max_worker_processes", json!("6")),
        ("cpu_max_parallel_workers", json!("10")),
        ("cpu_max_parallel_maintenance_workers", json!("10")),
        ("cpu_max_logical_replication_workers", json!("12")),
    ]);
    let workers = explicit.worker_parameters(&EIGHT_GIB_FOUR_CORES);
    assert_eq!(workers["max_worker_processes"], 6);
    // An explicit max_parallel_workers is capped at max_worker_processes.
    assert_eq!(workers["max_parallel_workers"], 6);
    assert_eq!(workers["max_parallel_maintenance_workers"], 10);
    assert_eq!(workers["max_logical_replication_workers"], 12);
    assert_eq!(workers["max_sync_workers_per_subscription"], 6);
    let p = explicit.postgresql_parameters(&EIGHT_GIB_FOUR_CORES);
    let dcs = explicit.dcs_parameters(&EIGHT_GIB_FOUR_CORES);
    assert_eq!(p["max_parallel_workers"], "6");
    assert_eq!(dcs["max_worker_processes"], "6");
    assert_eq!(dcs["max_logical_replication_workers"], "12");
}

#[test]
fn track_functions_takes_the_changed_option_and_optimizer_on_a_tie() {
    for (logging, optimizer, expected) in [
        ("none", "none", "none"),
        ("pl", "none", "pl"),
        ("all", "none", "all"),
        ("none", "pl", "pl"),
        ("pl", "all", "all"),
        ("all", "pl", "pl"),
    ] {
        let config = config(&[
            ("logging_track_functions", json!(logging)),
            ("optimizer_track_functions", json!(optimizer)),
        ]);
        assert_eq!(config.track_functions(), expected, "{logging} {optimizer}");
        assert_eq!(
            config.postgresql_parameters(&EIGHT_GIB_FOUR_CORES)["track_functions"],
            expected
        );
    }
}

#[test]
fn hash_is_stable_and_follows_values() {
    let a = config(&[
        ("profile", json!("testing")),
        ("vacuum_vacuum_cost_delay", json!(1.5)),
    ]);
    // Same values in another order, plus an unknown key: same config, same hash.
    let b = config(&[
        ("no_such_option", json!(1)),
        ("vacuum_vacuum_cost_delay", json!(1.5)),
        ("profile", json!("testing")),
    ]);
    assert_eq!(a.hash(), b.hash());
    assert_eq!(a.hash().len(), 16);
    assert_ne!(a.hash(), Config::defaults().hash());
    // Setting an option to its default changes nothing; setting an unset option does.
    assert_eq!(
        config(&[("profile", json!("production"))]).hash(),
        Config::defaults().hash()
    );
    assert_ne!(
        config(&[("ldap_map", json!(""))]).hash(),
        Config::defaults().hash()
    );
    let canonical = Config::defaults().canonical_json();
    assert!(
        canonical
            .starts_with("{\"backup_encryption\":true,\"connection_authentication_timeout\":60,")
    );
    assert!(canonical.contains("\"ldap_map\":null"));
}

#[test]
fn fnv1a64_test_vectors() {
    assert_eq!(super::super::fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(super::super::fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(super::super::fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
}
