//! Plugins → extensions, their dependency check, and Patroni's synchronous-mode settings.

use serde_json::json;

use super::super::{Config, DcsSettings};
use super::config;

fn enabled(config: &Config) -> Vec<&'static str> {
    config
        .extensions()
        .into_iter()
        .filter(|e| e.enabled)
        .map(|e| e.name)
        .collect()
}

#[test]
fn extensions_come_in_dependency_order() {
    let extensions = Config::defaults().extensions();
    let names: Vec<&str> = extensions.iter().map(|e| e.name).collect();
    // 53 plugin options, plugin_spi_enable standing for four extensions.
    assert_eq!(names.len(), 56);
    assert_eq!(
        names[..4],
        [
            "postgis",
            "fuzzystrmatch",
            "plperl",
            "address_standardizer_data_us"
        ]
    );
    let spi = names.iter().position(|n| *n == "refint").unwrap();
    assert_eq!(
        names[spi..spi + 4],
        ["refint", "autoinc", "insert_username", "moddatetime"]
    );
    assert!(names.contains(&"uuid-ossp"));
    assert!(names.contains(&"pgaudit"));
    assert_eq!(names.last(), Some(&"vector"));
    let unique: std::collections::BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len());
    // Only pgaudit is on by default.
    assert_eq!(enabled(&Config::defaults()), ["pgaudit"]);
}

#[test]
fn spi_and_dependencies_enable_their_extensions() {
    let config = config(&[
        ("plugin_spi_enable", json!(true)),
        ("plugin_postgis_topology_enable", json!(true)),
        ("plugin_postgis_enable", json!(true)),
        ("plugin_audit_enable", json!(false)),
    ]);
    assert_eq!(
        enabled(&config),
        [
            "postgis",
            "postgis_topology",
            "refint",
            "autoinc",
            "insert_username",
            "moddatetime"
        ]
    );
    assert!(!config.pgaudit_enabled());
}

/// Plugin options turned on, and the unmet dependencies expected.
type UnmetCase = (
    &'static [&'static str],
    &'static [(&'static str, &'static [&'static str])],
);

#[test]
fn unmet_plugin_dependencies_are_listed() {
    let cases: &[UnmetCase] = &[
        (&[], &[]),
        (&["plugin_postgis_enable"], &[]),
        (
            &["plugin_address_standardizer_enable"],
            &[(
                "plugin_address_standardizer_enable",
                &["plugin_postgis_enable"],
            )],
        ),
        (
            &[
                "plugin_address_standardizer_enable",
                "plugin_postgis_enable",
            ],
            &[],
        ),
        (
            &["plugin_postgis_tiger_geocoder_enable"],
            &[(
                "plugin_postgis_tiger_geocoder_enable",
                &["plugin_postgis_enable", "plugin_fuzzystrmatch_enable"],
            )],
        ),
        (
            &[
                "plugin_postgis_tiger_geocoder_enable",
                "plugin_postgis_enable",
            ],
            &[(
                "plugin_postgis_tiger_geocoder_enable",
                &["plugin_fuzzystrmatch_enable"],
            )],
        ),
        (
            &[
                "plugin_postgis_tiger_geocoder_enable",
                "plugin_postgis_enable",
                "plugin_fuzzystrmatch_enable",
            ],
            &[],
        ),
        (
            &["plugin_jsonb_plperl_enable", "plugin_postgis_raster_enable"],
            &[
                ("plugin_jsonb_plperl_enable", &["plugin_plperl_enable"]),
                ("plugin_postgis_raster_enable", &["plugin_postgis_enable"]),
            ],
        ),
        (
            &[
                "plugin_address_standardizer_data_us_enable",
                "plugin_postgis_topology_enable",
            ],
            &[
                (
                    "plugin_address_standardizer_data_us_enable",
                    &["plugin_postgis_enable"],
                ),
                ("plugin_postgis_topology_enable", &["plugin_postgis_enable"]),
            ],
        ),
    ];
    for (on, expected) in cases {
        let pairs: Vec<(&str, serde_json::Value)> = on.iter().map(|o| (*o, json!(true))).collect();
        let unmet = config(&pairs).unmet_plugin_dependencies();
        let expected: Vec<(String, Vec<String>)> = expected
            .iter()
            .map(|(o, needs)| (o.to_string(), needs.iter().map(|n| n.to_string()).collect()))
            .collect();
        assert_eq!(unmet, expected, "{on:?}");
    }
}

#[test]
fn synchronous_node_count_and_strict_mode() {
    // (synchronous_node_count, synchronous_mode_strict, planned units, members) ->
    // (count, strict)
    let cases = [
        ("all", true, 3, 3, 2, true),
        ("all", true, 1, 1, 0, false),
        ("all", true, 0, 0, 0, false),
        ("all", false, 3, 3, 2, false),
        ("majority", true, 5, 5, 2, true),
        ("majority", true, 4, 4, 2, true),
        ("majority", true, 1, 1, 0, false),
        // N is used while N < members - 1, else planned - 1.
        ("1", true, 3, 3, 1, true),
        ("2", true, 3, 3, 2, true),
        ("2", true, 5, 5, 2, true),
        ("5", true, 3, 3, 2, true),
        ("1", true, 3, 2, 2, true),
        ("1", true, 3, 1, 2, false),
    ];
    for (count, strict, planned, members, want_count, want_strict) in cases {
        let config = config(&[
            ("synchronous_node_count", json!(count)),
            ("synchronous_mode_strict", json!(strict)),
        ]);
        assert_eq!(
            config.patroni_dcs(planned, members),
            DcsSettings {
                synchronous_node_count: want_count,
                synchronous_mode_strict: want_strict,
                maximum_lag_on_failover: 1_048_576,
            },
            "{count} strict={strict} planned={planned} members={members}"
        );
    }
    let lag = config(&[("durability_maximum_lag_on_failover", json!(0))]);
    assert_eq!(lag.patroni_dcs(3, 3).maximum_lag_on_failover, 0);
}
