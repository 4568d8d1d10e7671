//! The engine end to end with small shell charms: hooks in Juju's order, relation data and
//! commit-on-success through the real hook tools, actions, config, scaling, refresh, pods.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use lab::engine::{HookRecord, Isolation, Model, ModelOptions};

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_jujuc"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A charm whose dispatch is `script` (POSIX sh).
fn charm(dir: &Path, metadata: &str, actions: &str, config: &str, script: &str) -> PathBuf {
    let c = dir.join(format!("charm-{}", fs::read_dir(dir).unwrap().count()));
    fs::create_dir_all(&c).unwrap();
    fs::write(c.join("metadata.yaml"), metadata).unwrap();
    fs::write(c.join("actions.yaml"), actions).unwrap();
    fs::write(c.join("config.yaml"), config).unwrap();
    fs::write(c.join("dispatch"), format!("#!/bin/sh\n{script}")).unwrap();
    fs::set_permissions(c.join("dispatch"), fs::Permissions::from_mode(0o755)).unwrap();
    c
}

fn model(dir: &Path, isolation: Isolation) -> Model {
    let mut opts = ModelOptions::new(&dir.join("model"), &bin_dir());
    opts.isolation = isolation;
    opts.max_attempts = 2;
    Model::new(opts).unwrap()
}

fn names(history: &[HookRecord], unit: &str) -> Vec<String> {
    history
        .iter()
        .filter(|r| r.unit == unit)
        .map(|r| r.name().to_string())
        .collect()
}

const DB_META: &str = "name: db\ncontainers:\n  work:\n    resource: img\nstorage:\n  data:\n    type: filesystem\n    location: /srv/data\npeers:\n  cluster:\n    interface: db_peers\nprovides:\n  db:\n    interface: demo\n";
const APP_META: &str = "name: app\nrequires:\n  backend:\n    interface: demo\n";
const CONFIG: &str = "options:\n  greeting:\n    type: string\n    default: hello\n  port:\n    type: int\n    default: 80\n";
const ACTIONS: &str = "greet:\n  params:\n    who:\n      type: string\n      default: world\n  additionalProperties: false\nbreak:\n  description: fails\n";

/// Sets a status naming the hook; writes relation data on joins; answers the actions.
const SCRIPT: &str = r#"
set -e
hook=${JUJU_DISPATCH_PATH#*/}
case "$JUJU_DISPATCH_PATH" in
  hooks/*-relation-joined)
    relation-set "seen-by-$(echo $JUJU_UNIT_NAME | tr / -)=$JUJU_REMOTE_UNIT" ;;
  hooks/*-relation-changed)
    if [ -n "$JUJU_REMOTE_UNIT" ]; then
      relation-get --format=json - "$JUJU_REMOTE_UNIT" > "$JUJU_CHARM_DIR/last-remote-data.json"
    fi ;;
  actions/greet)
    action-log "greeting now"
    action-set "greeting=$(config-get greeting) $(action-get who)" ;;
  actions/break)
    action-fail "it broke" ;;
esac
status-set active "$hook"
"#;

#[test]
fn deploy_runs_hooks_in_juju_order_and_peers_meet() {
    let tmp = tempfile::tempdir().unwrap();
    let db = charm(tmp.path(), DB_META, ACTIONS, CONFIG, SCRIPT);
    let mut m = model(tmp.path(), Isolation::None);
    m.deploy(&db, None, 2, &[]).unwrap();
    let ran = m.settle().unwrap();
    assert!(ran.iter().all(|r| r.code == 0), "{ran:#?}");
    let history = m.history().to_vec();
    let expected0 = [
        "data-storage-attached",
        "install",
        "cluster-relation-created",
        "leader-elected",
        "config-changed",
        "start",
        "work-pebble-ready",
        "cluster-relation-joined",
        "cluster-relation-changed",
    ];
    assert_eq!(names(&history, "db/0")[..expected0.len()], expected0);
    let mut expected1 = expected0.to_vec();
    expected1[0] = "data-storage-attached";
    expected1[3] = "leader-settings-changed";
    assert_eq!(names(&history, "db/1")[..expected1.len()], expected1[..]);
    // Storage ids are numbered per model, as Juju does.
    let state = m.state();
    assert!(state.units["db/1"].storage.contains_key("data/1"));
    assert_eq!(state.applications["db"].leader.as_deref(), Some("db/0"));
    // Each unit wrote its peer's name into its own bag during relation-joined, and the other
    // read it in relation-changed.
    let rel = state.relations.values().next().unwrap();
    assert_eq!(rel.unit_data["db/0"]["seen-by-db-0"], "db/1");
    let read: BTreeMap<String, String> = serde_json::from_slice(
        &fs::read(m.dir().join("units/db-1/charm/last-remote-data.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(read["seen-by-db-0"], "db/1");
    let status = lab::status::render(&state);
    assert!(status.contains("db/0*"), "{status}");
    assert!(status.contains("db:cluster"), "{status}");
}

#[test]
fn relations_created_joined_changed_departed_broken() {
    let tmp = tempfile::tempdir().unwrap();
    let db = charm(tmp.path(), DB_META, ACTIONS, CONFIG, SCRIPT);
    let app = charm(tmp.path(), APP_META, "", "options: {}\n", SCRIPT);
    let mut m = model(tmp.path(), Isolation::None);
    m.deploy(&db, None, 1, &[]).unwrap();
    m.deploy(&app, None, 1, &[]).unwrap();
    m.settle().unwrap();
    let id = m.integrate("app", "db").unwrap();
    m.settle().unwrap();
    let after_integrate = m.history().len();
    let h = m.history().to_vec();
    let app_hooks = names(&h, "app/0");
    assert!(
        app_hooks.ends_with(&[
            "backend-relation-created".to_string(),
            "backend-relation-joined".to_string(),
            "backend-relation-changed".to_string(),
            // db/0 wrote its bag in its own relation-joined: one more changed for app/0.
            "backend-relation-changed".to_string(),
        ]),
        "{app_hooks:?}"
    );
    let state = m.state();
    assert_eq!(
        state.relations[&id].unit_data["app/0"]["seen-by-app-0"],
        "db/0"
    );
    assert!(
        m.integrate("app", "db").is_err(),
        "duplicate relation refused"
    );
    m.remove_relation(id).unwrap();
    m.settle().unwrap();
    let tail = names(&m.history()[after_integrate..], "app/0");
    assert_eq!(
        tail,
        ["backend-relation-departed", "backend-relation-broken"]
    );
    assert!(!m.state().relations.contains_key(&id));
}

#[test]
fn a_failing_hook_commits_nothing_and_leaves_the_unit_in_error() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
case "$JUJU_DISPATCH_PATH" in
  hooks/config-changed)
    relation-set -r "$(relation-ids cluster --format=json | tr -d '[]"')" broken=yes
    status-set maintenance "about to fail"
    exit 3 ;;
esac
"#;
    let db = charm(tmp.path(), DB_META, ACTIONS, CONFIG, script);
    let mut m = model(tmp.path(), Isolation::None);
    m.deploy(&db, None, 1, &[]).unwrap();
    m.settle().unwrap();
    let state = m.state();
    let rel = state.relations.values().next().unwrap();
    assert!(
        rel.unit_data
            .get("db/0")
            .is_none_or(|b| !b.contains_key("broken")),
        "the write of a failed hook must be discarded"
    );
    // Status is not rolled back... but the failure then marks the unit in error.
    assert_eq!(state.units["db/0"].status.status, "error");
    assert_eq!(
        state.units["db/0"].status.message,
        "hook failed: \"config-changed\""
    );
    assert_eq!(
        m.errors(),
        [("db/0".to_string(), "config-changed".to_string())]
    );
    let attempts = names(m.history(), "db/0")
        .iter()
        .filter(|n| *n == "config-changed")
        .count();
    assert_eq!(attempts, 2, "retried up to max_attempts");
    assert!(
        !names(m.history(), "db/0").contains(&"start".to_string()),
        "later hooks wait"
    );
}

#[test]
fn actions_config_and_leadership() {
    let tmp = tempfile::tempdir().unwrap();
    let db = charm(tmp.path(), DB_META, ACTIONS, CONFIG, SCRIPT);
    let mut m = model(tmp.path(), Isolation::None);
    m.deploy(&db, None, 2, &[("greeting".into(), "hi".into())])
        .unwrap();
    m.settle().unwrap();
    let record = m.run_action("db/1", "greet", Default::default()).unwrap();
    let run = record.action.clone().unwrap();
    assert_eq!(run.results["greeting"], "hi world");
    assert_eq!(run.logs, ["greeting now"]);
    let mut params = serde_json::Map::new();
    params.insert("who".into(), serde_json::json!("operators"));
    let run = m
        .run_action("db/0", "greet", params)
        .unwrap()
        .action
        .unwrap();
    assert_eq!(run.results["greeting"], "hi operators");
    let mut bad = serde_json::Map::new();
    bad.insert("nope".into(), serde_json::json!(1));
    assert!(
        m.run_action("db/0", "greet", bad).is_err(),
        "unknown parameter"
    );
    let failed = m.run_action("db/0", "break", Default::default()).unwrap();
    assert_eq!(failed.action.unwrap().failed.as_deref(), Some("it broke"));

    assert!(
        m.config("db", &[("port".into(), "eighty".into())], &[])
            .is_err()
    );
    assert!(m.config("db", &[("nope".into(), "1".into())], &[]).is_err());
    let before = m.history().len();
    assert!(
        m.config("db", &[("port".into(), "8080".into())], &[])
            .unwrap()
    );
    m.settle().unwrap();
    let ran: Vec<String> = m.history()[before..]
        .iter()
        .map(|r| r.name().to_string())
        .collect();
    assert_eq!(ran, ["config-changed", "config-changed"]);
    assert_eq!(m.config_values("db").unwrap()["port"], 8080);
    assert!(
        !m.config("db", &[("port".into(), "8080".into())], &[])
            .unwrap(),
        "no change"
    );

    let before = m.history().len();
    m.set_leader("db/1").unwrap();
    m.settle().unwrap();
    let ran: Vec<(String, String)> = m.history()[before..]
        .iter()
        .map(|r| (r.unit.clone(), r.name().to_string()))
        .collect();
    assert!(ran.contains(&("db/1".into(), "leader-elected".into())));
    assert!(ran.contains(&("db/0".into(), "leader-settings-changed".into())));
}

#[test]
fn scaling_down_moves_leadership_and_refresh_upgrades() {
    let tmp = tempfile::tempdir().unwrap();
    let db = charm(tmp.path(), DB_META, ACTIONS, CONFIG, SCRIPT);
    let mut m = model(tmp.path(), Isolation::None);
    m.deploy(&db, None, 2, &[]).unwrap();
    m.settle().unwrap();
    let before = m.history().len();
    m.remove_unit("db/0").unwrap();
    m.settle().unwrap();
    let h = m.history()[before..].to_vec();
    assert_eq!(
        names(&h, "db/0"),
        [
            "cluster-relation-departed",
            "cluster-relation-broken",
            "data-storage-detaching",
            "stop",
            "remove"
        ]
    );
    assert!(names(&h, "db/1").contains(&"cluster-relation-departed".to_string()));
    assert!(names(&h, "db/1").contains(&"leader-elected".to_string()));
    let state = m.state();
    assert!(!state.units.contains_key("db/0"));
    assert_eq!(state.applications["db"].leader.as_deref(), Some("db/1"));

    let before = m.history().len();
    m.refresh("db", &db).unwrap();
    m.settle().unwrap();
    assert_eq!(
        names(&m.history()[before..], "db/1"),
        [
            "upgrade-charm",
            "config-changed",
            "start",
            "work-pebble-ready"
        ]
    );
    assert_eq!(m.state().applications["db"].charm_revision, 2);
}

#[test]
fn units_get_their_own_pods_as_root() {
    if !lab_can_isolate() {
        eprintln!("skipped: namespaces need root (CI runs as root)");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
case "$JUJU_DISPATCH_PATH" in
  hooks/install)
    echo "$(network-get --format=json db)" > "$JUJU_CHARM_DIR/net.json"
    mkdir -p /srv/lab-test && echo "$JUJU_UNIT_NAME" > /srv/lab-test/whoami
    echo "containers dir: ${CHARM_CONTAINERS_DIR:-none}" > "$JUJU_CHARM_DIR/env.txt" ;;
esac
"#;
    let db = charm(tmp.path(), DB_META, "", CONFIG, script);
    let mut m = model(tmp.path(), Isolation::Namespaces);
    m.deploy(&db, None, 2, &[]).unwrap();
    m.settle().unwrap();
    let (a0, a1) = (m.address("db/0").unwrap(), m.address("db/1").unwrap());
    assert_ne!(a0, a1);
    assert!(a0.starts_with("10."));
    let net = fs::read_to_string(m.dir().join("units/db-0/charm/net.json")).unwrap();
    assert!(net.contains(&a0), "{net}");
    // Hooks and workloads run in the pod: what they write outside the model directory lands
    // in the unit's own overlay, not on the host.
    for unit in ["db/0", "db/1"] {
        let out = m
            .pod_command(unit, Path::new("sh"))
            .unwrap()
            .args([
                "-c",
                "ip -4 -o addr show dev eth0; cat /srv/lab-test/whoami; \
                 test -S /charm/containers/work/pebble.socket && echo socket-at-juju-path",
            ])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(&m.address(unit).unwrap()), "{text}");
        assert!(text.contains(unit), "{text}");
        assert!(text.contains("socket-at-juju-path"), "{text}");
    }
    assert!(!Path::new("/srv/lab-test").exists(), "leaked onto the host");
    let env = fs::read_to_string(m.dir().join("units/db-0/charm/env.txt")).unwrap();
    assert_eq!(
        env, "containers dir: none\n",
        "pods use Juju's own socket path"
    );
    m.destroy();
}

fn lab_can_isolate() -> bool {
    Isolation::best_available() == Isolation::Namespaces
}

/// Settle until `pred` holds for the history, polling the workloads (at most `secs` seconds).
fn settle_until(m: &mut Model, secs: u64, pred: impl Fn(&[HookRecord]) -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        m.settle().unwrap();
        if pred(m.history()) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

#[test]
fn pebble_checks_and_notices_become_hooks() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
case "$JUJU_DISPATCH_PATH" in
  hooks/*-pebble-check-*) status-set active "$JUJU_PEBBLE_CHECK_NAME ${JUJU_DISPATCH_PATH##*-}" ;;
  hooks/*-pebble-custom-notice) status-set active "notice $JUJU_NOTICE_KEY" ;;
esac
"#;
    let db = charm(tmp.path(), DB_META, "", CONFIG, script);
    let mut m = model(tmp.path(), Isolation::None);
    m.deploy(&db, None, 1, &[]).unwrap();
    m.settle().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let layer = pebble::Layer::from_yaml(&format!(
        "checks:\n  listening:\n    override: replace\n    period: 100ms\n    threshold: 1\n    tcp:\n      port: {port}\n      host: 127.0.0.1\n"
    ))
    .unwrap();
    let client = m.pebble("db/0", "work").unwrap();
    m.block_on(client.add_layer("test", &layer, true)).unwrap();
    let saw = |h: &[HookRecord], name: &str| h.iter().any(|r| r.name() == name);
    assert!(
        settle_until(&mut m, 10, |h| saw(h, "work-pebble-check-failed")),
        "no check-failed hook"
    );
    assert_eq!(m.unit_status("db/0").unwrap().message, "listening failed");
    let _listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    assert!(
        settle_until(&mut m, 10, |h| saw(h, "work-pebble-check-recovered")),
        "no check-recovered hook"
    );
    assert_eq!(
        m.unit_status("db/0").unwrap().message,
        "listening recovered"
    );

    let data = BTreeMap::from([("k".to_string(), "v".to_string())]);
    m.block_on(client.add_notice("lab.test/ping", &data))
        .unwrap();
    assert!(settle_until(&mut m, 5, |h| saw(
        h,
        "work-pebble-custom-notice"
    )));
    assert_eq!(
        m.unit_status("db/0").unwrap().message,
        "notice lab.test/ping"
    );
}

#[test]
fn secret_rotation_and_expiry_fire_on_the_owner() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
case "$JUJU_DISPATCH_PATH" in
  hooks/install)
    secret-add --owner unit --label tok --rotate hourly --expire 2h password=x >/dev/null ;;
  hooks/secret-rotate|hooks/secret-expired)
    status-set active "${JUJU_DISPATCH_PATH#hooks/} $JUJU_SECRET_LABEL ${JUJU_SECRET_REVISION:-}" ;;
esac
"#;
    let db = charm(tmp.path(), DB_META, "", CONFIG, script);
    let mut m = model(tmp.path(), Isolation::None);
    m.deploy(&db, None, 1, &[]).unwrap();
    m.settle().unwrap();
    assert_eq!(m.state().secrets.len(), 1);
    m.advance_clock(std::time::Duration::from_secs(3_700));
    m.settle().unwrap();
    assert_eq!(m.unit_status("db/0").unwrap().message, "secret-rotate tok ");
    m.advance_clock(std::time::Duration::from_secs(3_700));
    m.settle().unwrap();
    let expired: Vec<&HookRecord> = m
        .history()
        .iter()
        .filter(|r| r.name() == "secret-expired")
        .collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(
        m.unit_status("db/0").unwrap().message,
        "secret-expired tok 1"
    );
}
