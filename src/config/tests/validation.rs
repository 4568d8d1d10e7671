//! Per-option rules (types, ranges, enums, the stricter ones) and the resource rules.

use serde_json::{Value as Json, json};

use super::super::options::{Kind, OPTIONS, Rule};
use super::super::{Config, Resources};
use super::{EIGHT_GIB_FOUR_CORES, config, map, parse};

/// Parses one option's value and returns the refusal's reason, checking that the error names it.
fn refused(name: &str, value: Json) -> String {
    let error = parse(&[(name, value.clone())]).expect_err(&format!("{name}={value} refused"));
    assert_eq!(error.option, name);
    assert_eq!(
        error.to_string(),
        format!("Configuration Error: {name}: {}", error.reason)
    );
    error.reason
}

fn accepted(name: &str, value: Json) {
    let parsed = parse(&[(name, value.clone())]);
    assert!(parsed.is_ok(), "{name}={value}: {parsed:?}");
}

#[test]
fn every_int_range_accepts_its_bounds_and_refuses_just_outside() {
    let mut checked = 0;
    for spec in OPTIONS {
        let Rule::IntRange { min, max } = spec.rule else {
            continue;
        };
        accepted(spec.name, json!(min));
        let reason = refused(spec.name, json!(min - 1));
        assert!(
            reason.contains(&format!("{min}")),
            "{}: {reason}",
            spec.name
        );
        if max != i64::MAX {
            accepted(spec.name, json!(max));
            let reason = refused(spec.name, json!(max + 1));
            assert_eq!(
                reason,
                format!("must be between {min} and {max}, got {}", max + 1)
            );
        } else {
            assert_eq!(reason, format!("must be at least {min}, got {}", min - 1));
        }
        checked += 1;
    }
    assert_eq!(checked, 47);
}

#[test]
fn every_float_range_accepts_its_bounds_and_refuses_just_outside() {
    let mut checked = 0;
    for spec in OPTIONS {
        let Rule::FloatRange { min, max } = spec.rule else {
            continue;
        };
        accepted(spec.name, json!(min));
        accepted(spec.name, json!(max));
        let below = min - 0.001;
        let reason = refused(spec.name, json!(below));
        assert!(reason.starts_with("must be "), "{}: {reason}", spec.name);
        if max != f64::MAX {
            refused(spec.name, json!(max + 0.001));
        }
        checked += 1;
    }
    assert_eq!(checked, 17);
    assert_eq!(
        refused("optimizer_cursor_tuple_fraction", json!(1.5)),
        "must be between 0 and 1, got 1.5"
    );
    assert_eq!(
        refused("optimizer_geqo_selection_bias", json!(1.4)),
        "must be between 1.5 and 2, got 1.4"
    );
    assert_eq!(
        refused("optimizer_jit_above_cost", json!(-2.0)),
        "must be at least -1, got -2"
    );
}

#[test]
fn every_enum_accepts_its_values_and_refuses_others() {
    let mut checked = Vec::new();
    for spec in OPTIONS {
        let Rule::OneOf(allowed) = spec.rule else {
            continue;
        };
        for value in allowed {
            accepted(spec.name, json!(value));
        }
        let reason = refused(spec.name, json!("bogus"));
        assert!(reason.starts_with("must be one of '"), "{reason}");
        assert!(reason.ends_with(", got 'bogus'"), "{reason}");
        // Case matters, as in the reference.
        refused(spec.name, json!(allowed[0].to_uppercase()));
        checked.push(spec.name);
    }
    assert_eq!(
        checked,
        [
            "durability_synchronous_commit",
            "logging_client_min_messages",
            "logging_track_functions",
            "optimizer_constraint_exclusion",
            "optimizer_pg_stat_statements_track",
            "optimizer_track_functions",
            "profile",
            "request_backslash_quote",
            "request_default_transaction_isolation",
            "request_xmlbinary",
            "request_xmloption",
            "response_bytea_output",
        ]
    );
    assert_eq!(
        refused("durability_synchronous_commit", json!("off")),
        "must be one of 'on', 'remote_apply' or 'remote_write', got 'off'"
    );
    assert_eq!(
        refused("profile", json!("staging")),
        "must be one of 'testing' or 'production', got 'staging'"
    );
    accepted(
        "request_default_transaction_isolation",
        json!("repeatable read"),
    );
    accepted("logging_client_min_messages", json!("debug5"));
    refused("logging_client_min_messages", json!("debug6"));
    refused("logging_client_min_messages", json!("info"));
}

#[test]
fn synchronous_node_count_is_all_majority_or_a_positive_number() {
    for ok in ["all", "majority", "1", "2", "17"] {
        accepted("synchronous_node_count", json!(ok));
    }
    for bad in ["0", "-1", "two", "", " 2", "+2", "1.5", "ALL"] {
        let reason = refused("synchronous_node_count", json!(bad));
        assert!(
            reason.starts_with("must be 'all', 'majority' or a whole number of at least 1"),
            "{bad}: {reason}"
        );
    }
    // A Juju string option: a JSON number is a type error.
    assert_eq!(
        refused("synchronous_node_count", json!(2)),
        "must be of type string, got 2"
    );
}

#[test]
fn worker_options_are_auto_or_at_least_two() {
    let workers: Vec<&str> = OPTIONS
        .iter()
        .filter(|s| s.rule == Rule::Workers)
        .map(|s| s.name)
        .collect();
    assert_eq!(workers.len(), 5);
    for name in workers {
        accepted(name, json!("auto"));
        accepted(name, json!("2"));
        for bad in ["1", "0", "-3", "Auto", "many", ""] {
            let reason = refused(name, json!(bad));
            assert!(
                reason.starts_with("must be 'auto' or a whole number of at least 2, got '"),
                "{name}={bad}: {reason}"
            );
        }
    }
}

#[test]
fn md5_is_refused_in_favour_of_scram() {
    let reason = refused("instance_password_encryption", json!("md5"));
    assert_eq!(
        reason,
        "md5 is refused: scram-sha-256 is required (md5 password hashes are weak and md5 \
         authentication is deprecated)"
    );
    assert_eq!(
        refused("instance_password_encryption", json!("password")),
        "must be 'scram-sha-256', got 'password'"
    );
    accepted("instance_password_encryption", json!("scram-sha-256"));
}

#[test]
fn types_are_checked_and_whole_floats_pass_as_ints() {
    assert_eq!(
        refused("connection_authentication_timeout", json!("60")),
        "must be of type int, got '60'"
    );
    assert_eq!(
        refused("connection_authentication_timeout", json!(60.5)),
        "must be a whole number, got 60.5"
    );
    let config = config(&[("connection_authentication_timeout", json!(60.0))]);
    assert_eq!(
        config.get_int("connection_authentication_timeout"),
        Some(60)
    );
    // Juju may write a float option's whole value without a fraction.
    let config = super::config(&[("optimizer_geqo_selection_bias", json!(2))]);
    assert_eq!(config.get_float("optimizer_geqo_selection_bias"), Some(2.0));
    assert_eq!(
        refused("cpu_wal_compression", json!("true")),
        "must be of type boolean, got 'true'"
    );
    assert_eq!(
        refused("request_time_zone", json!(true)),
        "must be of type string, got true"
    );
    for spec in OPTIONS {
        let wrong = match spec.kind {
            Kind::String => json!(1),
            Kind::Int | Kind::Float | Kind::Boolean => json!([]),
        };
        refused(spec.name, wrong);
    }
}

#[test]
fn strings_refuse_control_characters() {
    for name in ["request_time_zone", "ldap_search_filter", "ldap_map"] {
        assert_eq!(
            refused(name, json!("UTC\nlisten_addresses = '*'")),
            "must not contain control characters such as newlines"
        );
    }
}

#[test]
fn long_values_are_cut_in_messages() {
    let reason = refused("profile", json!("x".repeat(100)));
    assert_eq!(
        reason,
        format!(
            "must be one of 'testing' or 'production', got '{}…'",
            "x".repeat(40)
        )
    );
}

#[test]
fn unknown_keys_are_ignored_and_null_means_default() {
    let config = config(&[
        ("no_such_option", json!("whatever")),
        ("connection_authentication_timeout", Json::Null),
        ("memory_shared_buffers", Json::Null),
    ]);
    assert_eq!(config, Config::defaults());
}

#[test]
fn first_error_in_option_name_order_and_all_errors() {
    let answer = map(&[
        ("vacuum_vacuum_cost_limit", json!(0)),
        ("profile", json!("staging")),
        ("connection_authentication_timeout", json!(0)),
    ]);
    let first = Config::parse(&answer).unwrap_err();
    assert_eq!(first.option, "connection_authentication_timeout");
    assert_eq!(
        first.to_string(),
        "Configuration Error: connection_authentication_timeout: must be between 1 and 600, got 0"
    );
    let all = Config::parse_all_errors(&answer).unwrap_err();
    let options: Vec<&str> = all.iter().map(|e| e.option.as_str()).collect();
    assert_eq!(
        options,
        [
            "connection_authentication_timeout",
            "profile",
            "vacuum_vacuum_cost_limit"
        ]
    );
}

/// The reference's message: `<name> value <v> exceeds maximum allowed of <cap> (10 * vCores).
/// Please set a value <= <cap>.`
fn reference_worker_message(name: &str, value: u32, cap: u32) -> String {
    format!(
        "{name} value {value} exceeds maximum allowed of {cap} (10 * vCores). \
         Please set a value <= {cap}."
    )
}

#[test]
fn worker_counts_above_ten_per_core_are_refused_with_the_reference_message() {
    for spec in OPTIONS.iter().filter(|s| s.rule == Rule::Workers) {
        // 4 cores: the cap is 40.
        let ok = config(&[(spec.name, json!("40"))]);
        assert_eq!(ok.check_resources(&EIGHT_GIB_FOUR_CORES), Ok(()));
        let over = config(&[(spec.name, json!("41"))]);
        let error = over.check_resources(&EIGHT_GIB_FOUR_CORES).unwrap_err();
        assert_eq!(error.option, spec.name);
        assert_eq!(
            format!("{} {}", error.option, error.reason),
            reference_worker_message(spec.name, 41, 40)
        );
        assert!(over.parameters(&EIGHT_GIB_FOUR_CORES).is_err());
    }
    // No core (a pod limited below 1000m) counts as one: the cap is 10.
    let zero = Resources {
        cpu_cores: 0,
        memory_bytes: 1 << 30,
    };
    let error = config(&[("cpu_max_worker_processes", json!("11"))])
        .check_resources(&zero)
        .unwrap_err();
    assert_eq!(
        error.reason,
        "value 11 exceeds maximum allowed of 10 (10 * vCores). Please set a value <= 10."
    );
    // Several at once: the first in option-name order.
    let both = config(&[
        ("cpu_max_worker_processes", json!("50")),
        ("cpu_max_parallel_workers", json!("50")),
    ]);
    let errors = both.resource_errors(&EIGHT_GIB_FOUR_CORES);
    assert_eq!(errors.len(), 2);
    assert_eq!(
        both.check_resources(&EIGHT_GIB_FOUR_CORES)
            .unwrap_err()
            .option,
        "cpu_max_parallel_workers"
    );
}

#[test]
fn shared_buffers_above_forty_percent_is_refused_with_the_reference_message() {
    // 8 GiB = 8_589_934_592 bytes; 40 % = 3_435.97 MB -> 3435 MB -> 3435 * 1000 / 8 = 429_375
    // pages of 8 kB at most.
    let ok = config(&[("memory_shared_buffers", json!(429_375))]);
    assert_eq!(ok.check_resources(&EIGHT_GIB_FOUR_CORES), Ok(()));
    let over = config(&[("memory_shared_buffers", json!(429_376))]);
    let error = over.check_resources(&EIGHT_GIB_FOUR_CORES).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Configuration Error: memory_shared_buffers: Shared buffers config option should be at \
         most 40% of the available memory, which is 3435MB"
    );
    // profile_limit_memory=1000 MB caps memory at 10^9 bytes: 400 MB -> 50_000 pages; also in the
    // testing profile.
    for profile in ["production", "testing"] {
        let capped = config(&[
            ("profile", json!(profile)),
            ("profile_limit_memory", json!(1000)),
            ("memory_shared_buffers", json!(50_001)),
        ]);
        let error = capped.check_resources(&EIGHT_GIB_FOUR_CORES).unwrap_err();
        assert!(error.reason.ends_with("which is 400MB"), "{error}");
    }
}
