//! The option table against config.yaml and the §2.2 naming rule.

use serde_yaml::Value as Yaml;

use super::super::options::{Kind, Literal, OPTIONS, Rule};
use super::super::{Config, PLUGINS, Profile, SyncNodeCount, Value, Workers};

const CONFIG_YAML: &str = include_str!("../../../config.yaml");

#[test]
fn table_matches_config_yaml_names_types_and_defaults() {
    let yaml: Yaml = serde_yaml::from_str(CONFIG_YAML).expect("config.yaml parses");
    let declared = yaml["options"].as_mapping().expect("options mapping");
    assert_eq!(declared.len(), 187);
    assert_eq!(OPTIONS.len(), declared.len());
    for (spec, (name, option)) in OPTIONS.iter().zip(declared) {
        let name = name.as_str().expect("option name");
        assert_eq!(spec.name, name, "option order or name");
        assert_eq!(
            spec.kind.juju_type(),
            option["type"].as_str().unwrap(),
            "{name}"
        );
        let default = option.get("default");
        match (spec.default, default) {
            (None, None) => {}
            (Some(Literal::Str(s)), Some(Yaml::String(d))) => assert_eq!(s, d, "{name}"),
            (Some(Literal::Bool(b)), Some(Yaml::Bool(d))) => assert_eq!(b, *d, "{name}"),
            (Some(Literal::Int(i)), Some(d)) => assert_eq!(Some(i), d.as_i64(), "{name}"),
            (Some(Literal::Float(f)), Some(d)) => assert_eq!(Some(f), d.as_f64(), "{name}"),
            (ours, theirs) => panic!("{name}: default {ours:?} vs config.yaml {theirs:?}"),
        }
    }
}

#[test]
fn four_options_have_no_default() {
    let unset: Vec<&str> = OPTIONS
        .iter()
        .filter(|spec| spec.default.is_none())
        .map(|spec| spec.name)
        .collect();
    assert_eq!(
        unset,
        [
            "experimental_max_connections",
            "ldap_map",
            "memory_shared_buffers",
            "profile_limit_memory"
        ]
    );
}

/// §2.2: strip the first `_`-word of options with a PostgreSQL prefix; DateStyle, TimeZone,
/// pg_stat_statements.<x>; durability_maximum_lag_on_failover is not a parameter.
fn derived_pg_name(option: &str) -> Option<String> {
    const PREFIXES: [&str; 12] = [
        "connection",
        "cpu",
        "durability",
        "instance",
        "logging",
        "memory",
        "optimizer",
        "request",
        "response",
        "session",
        "storage",
        "vacuum",
    ];
    let (prefix, rest) = option.split_once('_')?;
    if !PREFIXES.contains(&prefix) || rest == "maximum_lag_on_failover" {
        return None;
    }
    Some(match rest {
        "date_style" => "DateStyle".to_string(),
        "time_zone" => "TimeZone".to_string(),
        _ => match rest.strip_prefix("pg_stat_statements_") {
            Some(x) => format!("pg_stat_statements.{x}"),
            None => rest.to_string(),
        },
    })
}

#[test]
fn pg_names_follow_the_naming_rule() {
    for spec in OPTIONS {
        assert_eq!(
            spec.pg.map(str::to_string),
            derived_pg_name(spec.name),
            "{}",
            spec.name
        );
    }
}

#[test]
fn rules_fit_their_kinds_and_defaults_pass_them() {
    for spec in OPTIONS {
        let fits = match spec.rule {
            Rule::Any => true,
            Rule::IntRange { .. } => spec.kind == Kind::Int,
            Rule::FloatRange { .. } => spec.kind == Kind::Float,
            Rule::OneOf(_) | Rule::SyncNodeCount | Rule::Workers | Rule::ScramOnly => {
                spec.kind == Kind::String
            }
        };
        assert!(
            fits,
            "{}: rule {:?} on a {:?}",
            spec.name, spec.rule, spec.kind
        );
        if let Some(default) = spec.default {
            let json = Value::from(default).to_json();
            let parsed = super::parse(&[(spec.name, json)]);
            assert!(parsed.is_ok(), "{}: {parsed:?}", spec.name);
        }
    }
}

#[test]
fn plugins_cover_exactly_the_plugin_options() {
    let plugin_options: Vec<&str> = OPTIONS
        .iter()
        .map(|spec| spec.name)
        .filter(|name| name.starts_with("plugin_"))
        .collect();
    let listed: Vec<&str> = PLUGINS.iter().map(|plugin| plugin.option).collect();
    assert_eq!(plugin_options, listed);
    for spec in OPTIONS.iter().filter(|s| s.name.starts_with("plugin_")) {
        assert_eq!(spec.kind, Kind::Boolean, "{}", spec.name);
        assert_eq!(spec.pg, None, "{}", spec.name);
    }
}

#[test]
fn empty_answer_gives_the_defaults() {
    let config = super::config(&[]);
    assert_eq!(config, Config::defaults());
    assert_eq!(config, Config::default());
    assert_eq!(
        config.get_int("connection_authentication_timeout"),
        Some(60)
    );
    assert_eq!(
        config.get_float("optimizer_cpu_operator_cost"),
        Some(0.0025)
    );
    assert_eq!(config.get_str("request_date_style"), Some("ISO, MDY"));
    assert_eq!(config.get_bool("plugin_audit_enable"), Some(true));
    assert_eq!(config.get("ldap_map"), None);
    assert_eq!(config.get("no_such_option"), None);
    // A getter of the wrong type says None rather than converting.
    assert_eq!(config.get_str("connection_authentication_timeout"), None);
}

#[test]
fn typed_accessors_at_defaults() {
    let config = Config::defaults();
    assert_eq!(config.profile(), Profile::Production);
    assert_eq!(config.profile_limit_memory(), None);
    assert_eq!(config.memory_shared_buffers(), None);
    assert_eq!(config.experimental_max_connections(), None);
    assert_eq!(config.synchronous_node_count(), SyncNodeCount::All);
    assert!(config.synchronous_mode_strict());
    assert_eq!(config.durability_maximum_lag_on_failover(), 1_048_576);
    assert_eq!(config.durability_wal_keep_size(), 4096);
    assert_eq!(config.instance_password_encryption(), "scram-sha-256");
    assert_eq!(config.cpu_max_worker_processes(), Workers::Auto);
    assert_eq!(config.cpu_max_parallel_workers(), Workers::Auto);
    assert_eq!(config.cpu_max_parallel_maintenance_workers(), Workers::Auto);
    assert_eq!(config.cpu_max_logical_replication_workers(), Workers::Auto);
    assert_eq!(
        config.cpu_max_sync_workers_per_subscription(),
        Workers::Auto
    );
    assert!(config.cpu_wal_compression());
    assert_eq!(config.memory_max_prepared_transactions(), 0);
    assert_eq!(config.ldap_map(), None);
    assert_eq!(config.ldap_search_filter(), "(uid=$username)");
    assert!(config.pgaudit_enabled());
    assert!(!config.plugin_enabled("plugin_postgis_enable"));
    assert!(!config.plugin_enabled("synchronous_mode_strict"));
}

#[test]
fn typed_accessors_with_values() {
    use serde_json::json;
    let config = super::config(&[
        ("profile", json!("testing")),
        ("profile_limit_memory", json!(2048)),
        ("memory_shared_buffers", json!(1024)),
        ("experimental_max_connections", json!(300)),
        ("synchronous_node_count", json!("2")),
        ("synchronous_mode_strict", json!(false)),
        ("cpu_max_worker_processes", json!("12")),
        ("memory_max_prepared_transactions", json!(7)),
        ("ldap_map", json!("devs=admin")),
        ("plugin_postgis_enable", json!(true)),
    ]);
    assert_eq!(config.profile(), Profile::Testing);
    assert_eq!(config.profile_limit_memory(), Some(2048));
    assert_eq!(config.memory_shared_buffers(), Some(1024));
    assert_eq!(config.experimental_max_connections(), Some(300));
    assert_eq!(config.synchronous_node_count(), SyncNodeCount::Count(2));
    assert!(!config.synchronous_mode_strict());
    assert_eq!(config.cpu_max_worker_processes(), Workers::Count(12));
    assert_eq!(config.memory_max_prepared_transactions(), 7);
    assert_eq!(config.ldap_map(), Some("devs=admin"));
    assert!(config.plugin_enabled("plugin_postgis_enable"));
    let majority = super::config(&[("synchronous_node_count", json!("majority"))]);
    assert_eq!(majority.synchronous_node_count(), SyncNodeCount::Majority);
}
