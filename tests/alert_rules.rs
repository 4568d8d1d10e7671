//! The Prometheus alert rules in `cos/alert_rules/`: promtool (Debian's `prometheus` package,
//! installed by `scripts/install-deps`) accepts every rule file and passes every unit test in
//! `cos/alert_rules/tests/`; every alert name of the reference charm's groups exists, unless it
//! is listed as left out (with the reason, also in `cos/alert_rules/README.md`); every rule has a
//! `for`, a severity and an actionable summary and description; every alert has a promtool test
//! where it fires and one where it stays quiet; and every metric an expression names is one our
//! stack exposes: the postgres exporter 0.11.1's with the charm's queries
//! (`tests/exporter-metrics.txt`, scraped from a throw-away PostgreSQL 15 cluster) or Patroni
//! 3.0.2's (`tests/patroni-metrics.txt`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;

mod common_promql;

use common_promql::{is_name_char, metric_names};

/// The reference charm's alert names by group (spec/reference-charm.md section 10.2), without
/// the pgbouncer group: this charm runs no pgbouncer.
const REFERENCE: &[(&str, &[&str])] = &[
    (
        "PostgresqlExporterK8s",
        &[
            "PostgresqlDown",
            "PostgresqlRestarted",
            "PostgresqlExporterError",
            "PostgresqlTableNotAutoVacuumed",
            "PostgresqlTableNotAutoAnalyzed",
            "PostgresqlTooManyConnections",
            "PostgresqlNotEnoughConnections",
            "PostgresqlDeadLocks",
            "PostgresqlHighRollbackRate",
            "PostgresqlCommitRateLow",
            "PostgresqlLowXidConsumption",
            "PostgresqlHighRateStatementTimeout",
            "PostgresqlHighRateDeadlock",
            "PostgresqlUnusedReplicationSlot",
            "PostgresqlTooManyDeadTuples",
            "PostgresqlConfigurationChanged",
            "PostgresqlSslCompressionActive",
            "PostgresqlTooManyLocksAcquired",
            "PostgresqlBloatIndexHigh(>80%)",
            "PostgresqlBloatTableHigh(>80%)",
            "PostgresqlInvalidIndex",
        ],
    ),
    (
        "PatroniExporterK8s",
        &[
            "PatroniPostgresqlDown",
            "PatroniMultipleLeaders",
            "PatroniPrimaryAndStandbyLeader",
            "PatroniHasNoLeader",
        ],
    ),
    (
        "PgbackrestExporterK8s",
        &[
            "PgBackRestBackupError",
            "PgBackRestBackupTooOld",
            "PgBackRestStanzaError",
            "PgBackRestRepoError",
            "PgBackRestExporterError",
        ],
    ),
];

/// Reference alerts we do not ship, because the metric they need does not exist in our stack
/// (the postgres exporter with its default collectors and the charm's queries in
/// `cos/exporter/queries.yaml`, and Patroni).
/// The README lists the same names with the same reasons.
const LEFT_OUT: &[(&str, &str)] = &[
    (
        "PostgresqlHighRateStatementTimeout",
        "needs a count of statement timeouts, which only a log-based exporter provides",
    ),
    (
        "PostgresqlSslCompressionActive",
        "PostgreSQL 14 and later removed SSL compression (and pg_stat_ssl.compression): it cannot be active",
    ),
    (
        "PostgresqlBloatIndexHigh(>80%)",
        "a bloat estimate reads pg_stats (samples of client data) or needs pgstattuple; monitoring gets neither",
    ),
    (
        "PostgresqlBloatTableHigh(>80%)",
        "a bloat estimate reads pg_stats (samples of client data) or needs pgstattuple; monitoring gets neither",
    ),
    (
        "PgBackRestStanzaError",
        "needs the pgBackRest exporter, which our image does not run",
    ),
    (
        "PgBackRestRepoError",
        "needs the pgBackRest exporter, which our image does not run",
    ),
    (
        "PgBackRestExporterError",
        "needs the pgBackRest exporter, which our image does not run",
    ),
];

/// The rule files and their groups.
const RULE_FILES: &[(&str, &str)] = &[
    ("postgresql_rules.yaml", "PostgresqlExporterK8s"),
    ("patroni_rules.yaml", "PatroniExporterK8s"),
    ("pgbackrest_rules.yaml", "PgbackrestExporterK8s"),
    ("postgresql_operator_rules.yaml", "PostgresqlOperatorK8s"),
];

const SEVERITIES: &[&str] = &["critical", "warning", "info"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    groups: Vec<Group>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Group {
    name: String,
    rules: Vec<Rule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    alert: Option<String>,
    record: Option<String>,
    expr: String,
    #[serde(rename = "for")]
    for_: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct TestFile {
    rule_files: Vec<String>,
    #[serde(default)]
    tests: Vec<TestGroup>,
}

#[derive(Debug, Deserialize)]
struct TestGroup {
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
}

#[derive(Debug, Deserialize)]
struct AlertTest {
    alertname: String,
    eval_time: String,
    #[serde(default)]
    exp_alerts: Vec<serde_yaml::Value>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn rules_dir() -> PathBuf {
    root().join("cos/alert_rules")
}

/// The `*.yaml` files of `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.yaml in {}", dir.display());
    files
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every rule of every rule file, with its file and group.
fn all_rules() -> Vec<(String, String, Rule)> {
    let mut out = Vec::new();
    for path in yaml_files(&rules_dir()) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let file: RuleFile = serde_yaml::from_str(&read(&path))
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        for group in file.groups {
            for rule in group.rules {
                out.push((name.clone(), group.name.clone(), rule));
            }
        }
    }
    out
}

fn alert_names() -> BTreeSet<String> {
    all_rules()
        .into_iter()
        .filter_map(|(_, _, rule)| rule.alert)
        .collect()
}

/// Runs promtool from the repository root; a missing promtool fails with how to install it.
fn promtool(args: &[&str]) -> Output {
    #[allow(clippy::disallowed_methods)] // promtool, the checker and test runner under test
    let out = Command::new("promtool")
        .args(args)
        .current_dir(root())
        .output();
    out.unwrap_or_else(|e| {
        panic!(
            "cannot run promtool ({e}): it comes with Debian's `prometheus` package; \
             run scripts/install-deps (as root) or apt-get install prometheus"
        )
    })
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn promtool_succeeds(subcommand: &[&str], files: &[PathBuf]) {
    let mut failures = Vec::new();
    for file in files {
        let file = relative(file);
        let mut args = subcommand.to_vec();
        args.push(&file);
        let out = promtool(&args);
        if !out.status.success() {
            failures.push(format!(
                "promtool {} {file} failed ({}):\n{}{}",
                subcommand.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn promtool_accepts_every_rule_file() {
    promtool_succeeds(&["check", "rules"], &yaml_files(&rules_dir()));
}

#[test]
fn promtool_unit_tests_pass() {
    promtool_succeeds(&["test", "rules"], &yaml_files(&rules_dir().join("tests")));
}

#[test]
fn the_rule_files_hold_their_groups() {
    let files: BTreeSet<String> = yaml_files(&rules_dir())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = RULE_FILES.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(files, expected, "rule files in cos/alert_rules");
    for (file, group) in RULE_FILES {
        let parsed: RuleFile = serde_yaml::from_str(&read(&rules_dir().join(file))).unwrap();
        let groups: Vec<&str> = parsed.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(groups, [*group], "groups of {file}");
    }
}

#[test]
fn every_reference_alert_exists_or_is_documented_as_left_out() {
    let rules = all_rules();
    let readme = read(&rules_dir().join("README.md"));
    let left_out: BTreeMap<&str, &str> = LEFT_OUT.iter().copied().collect();
    assert_eq!(left_out.len(), LEFT_OUT.len(), "LEFT_OUT has duplicates");
    let reference: BTreeSet<&str> = REFERENCE
        .iter()
        .flat_map(|(_, n)| n.iter().copied())
        .collect();
    let mut problems = Vec::new();
    for name in left_out.keys() {
        if !reference.contains(name) {
            problems.push(format!("{name} is left out but is no reference alert"));
        }
    }
    for (group, names) in REFERENCE {
        for name in *names {
            let found: Vec<&(String, String, Rule)> = rules
                .iter()
                .filter(|(_, _, r)| r.alert.as_deref() == Some(name))
                .collect();
            match (found.as_slice(), left_out.get(name)) {
                ([], Some(_)) => {
                    if !readme.contains(name) {
                        problems.push(format!("{name} is left out but README.md does not say so"));
                    }
                }
                ([], None) => problems.push(format!("reference alert {name} ({group}) is missing")),
                (_, Some(_)) => {
                    problems.push(format!("{name} is both defined and listed as left out"));
                }
                ([(_, g, _)], None) if g == group => {}
                ([(file, g, _)], None) => problems.push(format!(
                    "{name} is in group {g} ({file}), the reference has it in {group}"
                )),
                (_, None) => problems.push(format!("{name} is defined more than once")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_rule_is_an_actionable_alert() {
    let rules = all_rules();
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for (file, group, rule) in &rules {
        let Some(name) = &rule.alert else {
            problems.push(format!(
                "{file} {group}: recording rule {:?}: only alerts belong here",
                rule.record
            ));
            continue;
        };
        let at = format!("{file} {group} {name}");
        if !seen.insert(name.clone()) {
            problems.push(format!("{at}: duplicate alert name"));
        }
        if rule.expr.trim().is_empty() {
            problems.push(format!("{at}: empty expr"));
        }
        if rule.for_.as_deref().is_none_or(|f| f.trim().is_empty()) {
            problems.push(format!("{at}: no `for`"));
        }
        match rule.labels.get("severity") {
            Some(s) if SEVERITIES.contains(&s.as_str()) => {}
            other => problems.push(format!(
                "{at}: severity {other:?}, expected one of {SEVERITIES:?}"
            )),
        }
        for key in ["summary", "description"] {
            if rule
                .annotations
                .get(key)
                .is_none_or(|v| v.trim().is_empty())
            {
                problems.push(format!("{at}: no {key} annotation"));
            }
        }
        // The prometheus_scrape library adds the topology to rules at run time: an expression
        // may aggregate by or without a topology label, but not match one.
        if matches_topology_label(&rule.expr) {
            problems.push(format!("{at}: expr hard-codes Juju topology labels"));
        }
    }
    assert!(!rules.is_empty(), "no rules found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_alert_has_a_firing_and_a_quiet_promtool_test() {
    let alerts = alert_names();
    let mut firing = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    let mut problems = Vec::new();
    for path in yaml_files(&rules_dir().join("tests")) {
        let file: TestFile = serde_yaml::from_str(&read(&path))
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        for rule_file in &file.rule_files {
            let target = path.parent().unwrap().join(rule_file);
            if !target.is_file() {
                problems.push(format!(
                    "{}: rule file {rule_file} not found",
                    relative(&path)
                ));
            }
        }
        for case in file.tests.iter().flat_map(|t| &t.alert_rule_test) {
            if !alerts.contains(&case.alertname) {
                problems.push(format!(
                    "{}: test at {} for unknown alert {}",
                    relative(&path),
                    case.eval_time,
                    case.alertname
                ));
            }
            if case.exp_alerts.is_empty() {
                quiet.insert(case.alertname.clone());
            } else {
                firing.insert(case.alertname.clone());
            }
        }
    }
    for alert in &alerts {
        if !firing.contains(alert) {
            problems.push(format!("{alert}: no promtool test where it fires"));
        }
        if !quiet.contains(alert) {
            problems.push(format!("{alert}: no promtool test where it stays quiet"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Whether `expr` has a label matcher (`=`, `!=`, `=~`, `!~`) on a `juju_*` label.
fn matches_topology_label(expr: &str) -> bool {
    expr.match_indices("juju_").any(|(at, _)| {
        let rest = expr[at..].trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_');
        rest.trim_start().starts_with(['=', '!'])
    })
}

#[test]
fn topology_matchers_are_told_from_aggregation_labels() {
    assert!(matches_topology_label(r#"up{juju_unit="pg/0"} == 0"#));
    assert!(matches_topology_label(r#"up{juju_model !~ "x"}"#));
    assert!(!matches_topology_label(
        "max without (instance, juju_unit) (pg_up) == 0"
    ));
}

/// A metric-name list: one name a line, sorted and unique.
fn metric_list(name: &str) -> BTreeSet<String> {
    let text = read(&rules_dir().join("tests").join(name));
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty(), "{name} is empty");
    let set: BTreeSet<String> = lines.iter().map(|l| l.to_string()).collect();
    assert_eq!(
        set.iter().map(String::as_str).collect::<Vec<_>>(),
        lines,
        "{name} must be sorted and unique"
    );
    for line in &lines {
        assert!(
            !line.is_empty()
                && line.chars().all(is_name_char)
                && !line.starts_with(|c: char| c.is_ascii_digit()),
            "{name}: {line:?} is not a metric name"
        );
    }
    set
}

/// The regular expressions of `__name__=~"..."` matchers in `expr`.
fn name_regexes(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("__name__=~\"") {
        rest = &rest[at + "__name__=~\"".len()..];
        let end = rest.find('"').expect("unterminated __name__ matcher");
        out.push(rest[..end].to_string());
        rest = &rest[end..];
    }
    out
}

#[test]
fn the_metric_name_extraction_skips_promql_syntax() {
    let expr = "sum without (datname, state) (rate(pg_a_total[5m] offset 1h)) > 0.8 * \
                (pg_b{state=~\"idle in transaction.*\"} - ignoring (x) group_left () pg_c) \
                and on (instance) max by (scope) (patroni_d) > 1e6 or pg_e";
    let names: Vec<String> = metric_names(expr).into_iter().collect();
    assert_eq!(names, ["patroni_d", "pg_a_total", "pg_b", "pg_c", "pg_e"]);
    assert_eq!(
        name_regexes("{__name__=~\"pg_settings_.+\", __name__!~\"x\"}"),
        ["pg_settings_.+"]
    );
}

#[test]
fn expressions_use_only_metrics_our_stack_exposes() {
    let exporter = metric_list("exporter-metrics.txt");
    let patroni = metric_list("patroni-metrics.txt");
    assert!(
        exporter.contains("pg_up"),
        "exporter-metrics.txt lacks pg_up"
    );
    assert!(
        patroni.iter().all(|m| m.starts_with("patroni_")),
        "patroni-metrics.txt holds names that are not Patroni's"
    );
    let mut problems = Vec::new();
    for (file, group, rule) in all_rules() {
        let at = format!("{file} {group} {}", rule.alert.as_deref().unwrap_or("?"));
        let names = metric_names(&rule.expr);
        let regexes = name_regexes(&rule.expr);
        if names.is_empty() && regexes.is_empty() {
            problems.push(format!("{at}: no metric found in {:?}", rule.expr));
        }
        for name in names {
            if !exporter.contains(&name) && !patroni.contains(&name) {
                problems.push(format!(
                    "{at}: {name} is neither in tests/exporter-metrics.txt nor in \
                     tests/patroni-metrics.txt"
                ));
            }
        }
        // A `__name__` regex must start with a literal prefix some exposed metric has.
        for regex in regexes {
            let prefix: String = regex.chars().take_while(|c| is_name_char(*c)).collect();
            if prefix.is_empty()
                || !exporter
                    .iter()
                    .chain(patroni.iter())
                    .any(|m| m.starts_with(&prefix))
            {
                problems.push(format!("{at}: no exposed metric matches {regex:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn metric_names_are_told_from_functions_labels_and_durations() {
    let names = |e: &str| metric_names(e).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            "sum by (juju_unit, state) (rate(pg_up{a=~\"$b\",c=\"}\"}[$__rate_interval])) / on (scope) group_right max(x_y)"
        ),
        ["pg_up", "x_y"]
    );
    assert_eq!(
        names("time() - patroni_dcs_last_seen{a=\"b\"}"),
        ["patroni_dcs_last_seen"]
    );
    assert_eq!(
        names(
            r#"sum by (instance, job) (rate(pg_stat_database_xact_commit{datname=~"$db", juju_unit="x"}[5m])) / on(instance) group_left(a) pg_up"#
        ),
        ["pg_stat_database_xact_commit", "pg_up"]
    );
    assert_eq!(
        names(
            "histogram_quantile(0.9, rate(x_bucket[$__rate_interval])) > 1e3 and time() - y offset 5m"
        ),
        ["x_bucket", "y"]
    );
}
