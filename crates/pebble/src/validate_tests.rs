use crate::{Layer, Plan};

fn layer(yaml: &str) -> Layer {
    Layer::from_yaml(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

fn plan(yaml: &str) -> Plan {
    Plan::from_yaml(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

#[test]
fn layer_validation_messages() {
    let cases = [
        (
            "pebble-x",
            "{}",
            r#"cannot use reserved label prefix "pebble-""#,
        ),
        (
            "l",
            "services:\n  '': {override: replace, command: x}\n",
            "cannot use empty string as service name",
        ),
        (
            "l",
            "services:\n  pebble: {override: replace, command: x}\n",
            r#"cannot use reserved service name "pebble""#,
        ),
        (
            "l",
            "services:\n  -x: {override: replace, command: x}\n",
            r#"cannot use service name "-x": starting with "-" not allowed"#,
        ),
        (
            "l",
            "services:\n  s: {override: replace, command: '[ x ] y'}\n",
            r#"plan service "s" command invalid: cannot parse service "s" command: cannot start command with [ ... ] group"#,
        ),
        (
            "l",
            "services:\n  s: {override: replace, command: x, on-success: success-shutdown}\n",
            r#"plan service "s" on-success action "success-shutdown" invalid"#,
        ),
        (
            "l",
            "services:\n  s: {override: replace, command: x, on-failure: failure-shutdown}\n",
            r#"plan service "s" on-failure action "failure-shutdown" invalid"#,
        ),
        (
            "l",
            "services:\n  s: {override: replace, command: x, on-check-failure: {c: failure-shutdown}}\n",
            r#"plan service "s" on-check-failure action "failure-shutdown" invalid"#,
        ),
        (
            "l",
            "services:\n  s: {override: replace, command: x, backoff-factor: 0.5}\n",
            r#"plan service "s" backoff-factor must be 1.0 or greater, not 0.5"#,
        ),
        (
            "l",
            "services:\n  s: {override: replace, command: x, kill-delay: soon}\n",
            r#"cannot parse layer "l" section "services": invalid duration "soon""#,
        ),
        (
            "l",
            "checks:\n  '': {override: replace, tcp: {port: 1}}\n",
            "cannot use empty string as check name",
        ),
        (
            "l",
            "checks:\n  c: {override: replace, period: 0s, tcp: {port: 1}}\n",
            r#"plan check "c" period must not be zero"#,
        ),
        (
            "l",
            "checks:\n  c: {override: replace, timeout: '0', tcp: {port: 1}}\n",
            r#"plan check "c" timeout must not be zero"#,
        ),
        (
            "l",
            "checks:\n  c: {override: replace, period: 10x, tcp: {port: 1}}\n",
            r#"cannot parse layer "l" section "checks": invalid duration "10x""#,
        ),
        (
            "l",
            "checks:\n  c: {override: replace, exec: {command: \"a 'b\"}}\n",
            r#"plan check "c" command invalid: EOF found when expecting closing quote"#,
        ),
        (
            "l",
            "checks:\n  c: {override: replace, exec: {command: a, group: g}}\n",
            r#"plan check "c" has invalid user/group: must specify user, not just group"#,
        ),
        (
            "l",
            "log-targets:\n  t: {override: replace, type: loki, location: x, labels: {pebble_service: x}}\n",
            r#"log target "t": label "pebble_service" uses reserved prefix "pebble_""#,
        ),
    ];
    for (label, yaml, want) in cases {
        assert_eq!(layer(yaml).validate(label), Err(want.to_owned()), "{yaml}");
    }
}

#[test]
fn valid_layer_passes() {
    let ok = layer(
        "services:\n  s: {override: merge, on-success: failure-shutdown, on-failure: success-shutdown, backoff-factor: 1, kill-delay: 1m}\nchecks:\n  c: {override: merge, exec: {command: a, user: u, group: g}}\n",
    );
    assert_eq!(ok.validate("l"), Ok(()));
}

#[test]
fn plan_validation_messages() {
    let cases = [
        (
            "services:\n  s: {override: merge}\n",
            r#"plan must define "command" for service "s""#,
        ),
        (
            "checks:\n  c: {override: replace, threshold: 3}\n",
            r#"plan must specify one of "http", "tcp", or "exec" for check "c""#,
        ),
        (
            "checks:\n  c: {override: replace, http: {url: x}, tcp: {port: 1}}\n",
            r#"plan must specify one of "http", "tcp", or "exec" for check "c""#,
        ),
        (
            "checks:\n  c: {override: replace, http: {headers: {a: b}}}\n",
            r#"plan must set "url" for http check "c""#,
        ),
        (
            "checks:\n  c: {override: replace, tcp: {host: h}}\n",
            r#"plan must set "port" for tcp check "c""#,
        ),
        (
            "checks:\n  c: {override: replace, exec: {user: u}}\n",
            r#"plan must set "command" for exec check "c""#,
        ),
        (
            "checks:\n  c: {override: replace, exec: {command: a, service-context: nope}}\n",
            r#"plan check "c" service context specifies non-existent service "nope""#,
        ),
        (
            "log-targets:\n  t: {override: replace, location: x}\n",
            r#"plan must define "type" ("loki", "opentelemetry" or "syslog") for log target "t""#,
        ),
        (
            "log-targets:\n  t: {override: replace, type: loki}\n",
            r#"plan must define "location" for log target "t""#,
        ),
        (
            "log-targets:\n  t: {override: replace, type: loki, location: x, services: [all, -ghost]}\n",
            r#"log target "t" specifies unknown service "ghost""#,
        ),
        (
            "services:\n  a: {override: replace, command: a, requires: [x]}\n",
            r#"service "x" does not exist"#,
        ),
        (
            "services:\n  a: {override: replace, command: a, after: [b]}\n  b: {override: replace, command: b, after: [a]}\n",
            "services in before/after loop: a, b",
        ),
        (
            "services:\n  a: {override: replace, command: a, before: [b]}\n  b: {override: replace, command: b, before: [a]}\n",
            "services in before/after loop: a, b",
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(plan(yaml).validate(), Err(want.to_owned()), "{yaml}");
    }
}

#[test]
fn valid_plan_passes() {
    let ok = plan(
        "services:\n  a: {override: replace, command: a, after: [ghost]}\n  b: {override: replace, command: b, requires: [a]}\nchecks:\n  c: {override: replace, exec: {command: x, service-context: a}}\nlog-targets:\n  t: {override: replace, type: opentelemetry, location: http://o:4318, services: [all, -a, b]}\n",
    );
    assert_eq!(ok.validate(), Ok(()));
}

#[test]
fn start_and_stop_order() {
    let p = plan(
        "services:
  a: {override: replace, command: a, requires: [b, c], after: [b, c]}
  b: {override: replace, command: b, after: [c]}
  c: {override: replace, command: c}
  d: {override: replace, command: d}
",
    );
    assert_eq!(p.start_order(&["a"]).unwrap(), ["c", "b", "a"]);
    assert_eq!(p.start_order(&["d", "b"]).unwrap(), ["b", "d"]);
    // Stopping c also stops a, which requires it, and a goes first.
    assert_eq!(p.stop_order(&["c"]).unwrap(), ["a", "c"]);
    assert_eq!(
        p.start_order(&["ghost"]),
        Err(r#"service "ghost" does not exist"#.to_owned())
    );
}
