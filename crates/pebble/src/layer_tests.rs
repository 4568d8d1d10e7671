//! Tests of the layer schema, the merge rules and plan combination.

use std::collections::BTreeMap;

use crate::{Check, Layer, LogTarget, LogTargetType, Override, Plan, Service, Startup};

fn service(yaml: &str) -> Service {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

fn check(yaml: &str) -> Check {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

fn target(yaml: &str) -> LogTarget {
    serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

fn layer(yaml: &str) -> Layer {
    Layer::from_yaml(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

const FULL_LAYER: &str = r#"summary: pg layer
description: the database
services:
  pg:
    summary: postgres
    description: the server
    startup: enabled
    override: replace
    command: postgres -D /data [ -c x=1 ]
    after:
    - init
    before:
    - exporter
    requires:
    - init
    environment:
      PGDATA: /data
    user-id: 584788
    user: postgres
    group-id: 584788
    group: postgres
    working-dir: /data
    on-success: ignore
    on-failure: restart
    on-check-failure:
      pg-ready: restart
    backoff-delay: 1s
    backoff-factor: 1.5
    backoff-limit: 1m0s
    kill-delay: 30s
checks:
  pg-exec:
    override: merge
    exec:
      command: pg_isready
      service-context: pg
      environment:
        A: b
      user-id: 1
      user: postgres
      group-id: 1
      group: postgres
      working-dir: /tmp
  pg-ready:
    override: replace
    level: ready
    startup: enabled
    period: 10s
    timeout: 3s
    threshold: 5
    http:
      url: http://localhost:8008/health
      headers:
        X-A: b
  pg-tcp:
    override: merge
    tcp:
      port: 5432
      host: 10.0.0.1
log-targets:
  loki:
    type: loki
    location: http://loki:3100/loki/api/v1/push
    services:
    - all
    - -exporter
    override: merge
    labels:
      app: pg
"#;

#[test]
fn layer_yaml_round_trip_keeps_every_field() {
    let parsed = layer(FULL_LAYER);
    let pg = &parsed.services["pg"];
    assert_eq!(pg.user_id, Some(584788));
    assert_eq!(pg.backoff_factor, Some(1.5));
    assert_eq!(parsed.checks["pg-tcp"].tcp.as_ref().unwrap().port, 5432);
    assert_eq!(parsed.log_targets["loki"].r#type, Some(LogTargetType::Loki));
    // Serialising gives back the same text: field order follows Pebble's schema order.
    assert_eq!(parsed.to_yaml(), FULL_LAYER);
    assert_eq!(layer(&parsed.to_yaml()), parsed);
}

#[test]
fn unset_fields_are_left_out() {
    let mut minimal = Layer::default();
    minimal.services.insert(
        "pg".into(),
        Service {
            r#override: Some(Override::Replace),
            command: "postgres".into(),
            startup: Some(Startup::Enabled),
            ..Service::default()
        },
    );
    assert_eq!(
        minimal.to_yaml(),
        "services:\n  pg:\n    startup: enabled\n    override: replace\n    command: postgres\n"
    );
    assert_eq!(Layer::default().to_yaml(), "{}\n");
}

#[test]
fn decoding_is_strict() {
    let unknown_field = Layer::from_yaml("services:\n  pg:\n    override: replace\n    cmd: x\n");
    assert!(unknown_field.unwrap_err().contains("unknown field `cmd`"));
    assert!(Layer::from_yaml("workloads: {}\n").is_err());
    assert!(Layer::from_yaml("services:\n  pg:\n    startup: sometimes\n").is_err());
    assert!(
        Layer::from_yaml("checks:\n  c:\n    override: merge\n    http: {url: x, method: GET}\n")
            .is_err()
    );
}

#[test]
fn nulls_and_empty_documents_decode_as_unset() {
    assert_eq!(Layer::from_yaml("").unwrap(), Layer::default());
    assert_eq!(Layer::from_yaml("  \n").unwrap(), Layer::default());
    let parsed = layer(
        "summary: ~\nservices:\n  pg:\n    override: merge\n    after: ~\n    environment: ~\n",
    );
    assert_eq!(parsed.summary, "");
    assert!(parsed.services["pg"].after.is_empty());
    assert!(parsed.services["pg"].environment.is_empty());
}

/// (rule, earlier, later, expected) for `Service::merge_from`.
const SERVICE_MERGES: &[(&str, &str, &str, &str)] = &[
    (
        "scalars are replaced when set",
        "{summary: a, description: a, startup: disabled, command: a, user: a, user-id: 1, group: a, group-id: 1, working-dir: /a, on-success: restart, on-failure: restart, workload: a}",
        "{summary: b, description: b, startup: enabled, command: b, user: b, user-id: 2, group: b, group-id: 2, working-dir: /b, on-success: ignore, on-failure: shutdown, workload: b}",
        "{summary: b, description: b, startup: enabled, command: b, user: b, user-id: 2, group: b, group-id: 2, working-dir: /b, on-success: ignore, on-failure: shutdown, workload: b}",
    ),
    (
        "unset scalars keep the earlier value",
        "{summary: a, command: a, user: a, user-id: 1, startup: enabled, on-failure: ignore}",
        "{summary: '', command: ''}",
        "{summary: a, command: a, user: a, user-id: 1, startup: enabled, on-failure: ignore}",
    ),
    (
        "after, before and requires are appended, duplicates kept",
        "{after: [a], before: [b], requires: [c]}",
        "{after: [a, x], before: [y], requires: [c]}",
        "{after: [a, a, x], before: [b, y], requires: [c, c]}",
    ),
    (
        "environment is merged key by key",
        "{environment: {A: '1', B: '2'}}",
        "{environment: {B: '3', C: '4'}}",
        "{environment: {A: '1', B: '3', C: '4'}}",
    ),
    (
        "on-check-failure is merged key by key",
        "{on-check-failure: {a: restart, b: ignore}}",
        "{on-check-failure: {b: shutdown}}",
        "{on-check-failure: {a: restart, b: shutdown}}",
    ),
    (
        "durations and the factor are replaced when set",
        "{backoff-delay: 1s, backoff-factor: 2, backoff-limit: 10s, kill-delay: 5s}",
        "{backoff-delay: 2s, backoff-factor: 3.5, kill-delay: 0s}",
        "{backoff-delay: 2s, backoff-factor: 3.5, backoff-limit: 10s, kill-delay: 0s}",
    ),
    (
        "override stays the earlier entry's",
        "{override: replace, command: a}",
        "{override: merge, command: b}",
        "{override: replace, command: b}",
    ),
];

#[test]
fn service_merge_rules() {
    for (rule, earlier, later, want) in SERVICE_MERGES {
        let mut merged = service(earlier);
        merged.merge_from(&service(later));
        assert_eq!(merged, service(want), "{rule}");
    }
}

/// (rule, earlier, later, expected) for `Check::merge_from`.
const CHECK_MERGES: &[(&str, &str, &str, &str)] = &[
    (
        "level, startup, period and timeout are replaced when set",
        "{level: alive, startup: disabled, period: 10s, timeout: 1s}",
        "{level: ready, startup: enabled, period: 20s}",
        "{level: ready, startup: enabled, period: 20s, timeout: 1s}",
    ),
    (
        "threshold is replaced only when non-zero",
        "{threshold: 5}",
        "{threshold: 0}",
        "{threshold: 5}",
    ),
    (
        "a non-zero threshold wins",
        "{threshold: 5}",
        "{threshold: 1}",
        "{threshold: 1}",
    ),
    (
        "http is merged field by field",
        "{http: {url: http://a, headers: {A: '1', B: '2'}}}",
        "{http: {headers: {B: '3'}}}",
        "{http: {url: http://a, headers: {A: '1', B: '3'}}}",
    ),
    (
        "tcp port replaced when non-zero, host when set",
        "{tcp: {port: 5432, host: a}}",
        "{tcp: {host: b}}",
        "{tcp: {port: 5432, host: b}}",
    ),
    (
        "exec is merged field by field",
        "{exec: {command: a, service-context: s, environment: {A: '1'}, user: u, user-id: 1, group: g, group-id: 1, working-dir: /a}}",
        "{exec: {command: b, environment: {B: '2'}, group-id: 2}}",
        "{exec: {command: b, service-context: s, environment: {A: '1', B: '2'}, user: u, user-id: 1, group: g, group-id: 2, working-dir: /a}}",
    ),
    (
        "merging cannot switch the check type: both end up set",
        "{http: {url: http://a}}",
        "{tcp: {port: 1}}",
        "{http: {url: http://a}, tcp: {port: 1}}",
    ),
    (
        "a merge into a check without that type creates it",
        "{level: alive}",
        "{exec: {command: x}}",
        "{level: alive, exec: {command: x}}",
    ),
];

#[test]
fn check_merge_rules() {
    for (rule, earlier, later, want) in CHECK_MERGES {
        let mut merged = check(earlier);
        merged.merge_from(&check(later));
        assert_eq!(merged, check(want), "{rule}");
    }
}

/// (rule, earlier, later, expected) for `LogTarget::merge_from`.
const TARGET_MERGES: &[(&str, &str, &str, &str)] = &[
    (
        "type and location are replaced when set",
        "{type: loki, location: http://a}",
        "{type: syslog}",
        "{type: syslog, location: http://a}",
    ),
    (
        "services are appended",
        "{services: [all]}",
        "{services: [-pg, all]}",
        "{services: [all, -pg, all]}",
    ),
    (
        "labels are merged key by key",
        "{labels: {a: '1', b: '2'}}",
        "{labels: {b: '3'}}",
        "{labels: {a: '1', b: '3'}}",
    ),
];

#[test]
fn log_target_merge_rules() {
    for (rule, earlier, later, want) in TARGET_MERGES {
        let mut merged = target(earlier);
        merged.merge_from(&target(later));
        assert_eq!(merged, target(want), "{rule}");
    }
}

#[test]
fn combine_replace_merge_and_nothing_deleted() {
    let base = layer(
        "summary: base\nservices:\n  a: {override: replace, command: a, environment: {X: '1'}}\n  b: {override: replace, command: b}\nchecks:\n  c: {override: replace, threshold: 5, http: {url: http://a}}\n",
    );
    let top = layer(
        "services:\n  a: {override: replace, command: a2}\n  n: {override: merge, command: n}\nchecks:\n  c: {override: merge, period: 60s}\n",
    );
    let plan = Plan::combine([("base", &base), ("top", &top)]).unwrap();
    // Replace drops the earlier environment; b is untouched; a merge on first appearance copies.
    assert_eq!(
        plan.services["a"],
        service("{override: replace, command: a2}")
    );
    assert_eq!(plan.services["b"].command, "b");
    assert_eq!(plan.services["n"], service("{override: merge, command: n}"));
    // Durations in Go form, threshold kept.
    assert_eq!(
        plan.checks["c"],
        check("{override: replace, period: 1m0s, threshold: 5, http: {url: http://a}}")
    );
}

#[test]
fn combine_materialises_the_default_threshold() {
    let only = layer("checks:\n  c: {override: replace, tcp: {port: 1}}\n");
    let plan = Plan::combine([("l", &only)]).unwrap();
    assert_eq!(plan.checks["c"].threshold, 3);
    assert_eq!(
        plan.to_yaml(),
        "checks:\n  c:\n    override: replace\n    threshold: 3\n    tcp:\n      port: 1\n"
    );
}

#[test]
fn combine_requires_override_on_every_entry() {
    let cases = [
        (
            "services:\n  s: {command: x}\n",
            "layer \"L\" must define \"override\" for service \"s\"",
        ),
        (
            "checks:\n  c: {tcp: {port: 1}}\n",
            "layer \"L\" must define \"override\" for check \"c\"",
        ),
        (
            "log-targets:\n  t: {type: loki, location: x}\n",
            "layer \"L\" must define \"override\" for log target \"t\"",
        ),
    ];
    for (yaml, want) in cases {
        let bad = layer(yaml);
        assert_eq!(Plan::combine([("L", &bad)]), Err(want.to_owned()), "{yaml}");
    }
}

#[test]
fn layer_merge_from_is_combine_on_the_same_label() {
    let mut existing =
        layer("summary: old\nservices:\n  s: {override: merge, command: a, after: [x]}\n");
    let update = layer(
        "services:\n  s: {override: merge, after: [y]}\n  t: {override: replace, command: t}\n",
    );
    existing.merge_from("pg", &update).unwrap();
    assert_eq!(
        existing.summary, "",
        "the summary is the last layer's, even when empty"
    );
    assert_eq!(existing.services["s"].after, ["x", "y"]);
    assert_eq!(existing.services["t"].command, "t");

    let before = existing.clone();
    let bad = layer("services:\n  u: {command: u}\n");
    assert_eq!(
        existing.merge_from("pg", &bad),
        Err("layer \"pg\" must define \"override\" for service \"u\"".to_owned())
    );
    assert_eq!(existing, before, "a failed merge changes nothing");
}

/// A plan as Pebble renders it: 4-space indentation, override shown, threshold materialised.
const PEBBLE_PLAN: &str = "services:
    pg:
        startup: enabled
        override: replace
        command: postgres
        backoff-limit: 1m0s
checks:
    ready:
        override: replace
        level: ready
        threshold: 3
        http:
            url: http://localhost:8008/health
";

#[test]
fn with_layer_detects_no_change_and_change() {
    let plan = Plan::from_yaml(PEBBLE_PLAN).unwrap();
    let ours = layer(
        "services:\n  pg: {override: replace, startup: enabled, command: postgres, backoff-limit: 60s}\nchecks:\n  ready: {override: replace, level: ready, http: {url: 'http://localhost:8008/health'}}\n",
    );
    assert_eq!(plan.with_layer("pg", &ours).unwrap(), plan);

    let mut changed = ours.clone();
    changed.services.get_mut("pg").unwrap().command = "postgres -c x=1".into();
    assert_ne!(plan.with_layer("pg", &changed).unwrap(), plan);

    let mut added = ours;
    added.services.insert(
        "exporter".into(),
        service("{override: replace, command: exp}"),
    );
    let next = plan.with_layer("pg", &added).unwrap();
    assert_ne!(next, plan);
    assert_eq!(next.services.len(), 2);
}

#[test]
fn plan_yaml_edge_cases() {
    assert_eq!(Plan::from_yaml("{}\n").unwrap(), Plan::default());
    assert_eq!(Plan::from_yaml("").unwrap(), Plan::default());
    assert_eq!(Plan::default().to_yaml(), "{}\n");
    // Extension sections of newer Pebble are ignored; known sections stay strict.
    let with_extension = Plan::from_yaml(
        "services:\n    a: {override: replace, command: a}\nworkloads:\n    w: {}\n",
    )
    .unwrap();
    assert_eq!(with_extension.services.len(), 1);
    assert!(
        Plan::from_yaml("services:\n    a: {override: replace, command: a, bogus: 1}\n").is_err()
    );
    let _: BTreeMap<String, Service> = with_extension.services;
}
