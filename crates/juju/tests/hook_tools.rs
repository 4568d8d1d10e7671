//! The typed hook tools against fake tools that answer exactly as spec §B says Juju does, and
//! record every argv, stdin and `#file=` value they receive.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use juju::{
    Error, HookTools, LogLevel, Port, ProcessRunner, RelationRef, SecretContent, SecretGetMode,
    SecretOptions, SecretOwner, Status, StatusName, Target,
};

const FAKE_TOOL: &str = r#"#!/bin/sh
d=$(cd "$(dirname "$0")" && pwd)
t=$(basename "$0")
n=$(( $(cat "$d/log/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$d/log/count"
c="$d/log/$n"
mkdir -p "$c"
printf '%s' "$t" > "$c/tool"
i=0
for a in "$@"; do
  printf '%s' "$a" > "$c/arg.$i"
  case "$a" in
    *'#file='*) f=${a#*#file=}; cp "$f" "$c/file.$i"; stat -c %a "$f" > "$c/mode.$i";;
  esac
  i=$((i+1))
done
cat > "$c/stdin"
a="$d/answers/$t"
[ -f "$a.stdout" ] && cat "$a.stdout"
[ -f "$a.stderr" ] && cat "$a.stderr" >&2
[ -f "$a.exit" ] && exit "$(cat "$a.exit")"
exit 0
"#;

const TOOLS: &[&str] = &[
    "config-get",
    "is-leader",
    "relation-ids",
    "relation-list",
    "relation-get",
    "relation-set",
    "status-get",
    "status-set",
    "application-version-set",
    "juju-log",
    "action-get",
    "action-set",
    "action-fail",
    "action-log",
    "secret-add",
    "secret-get",
    "secret-set",
    "secret-grant",
    "secret-revoke",
    "secret-remove",
    "secret-ids",
    "secret-info-get",
    "open-port",
    "close-port",
    "opened-ports",
    "network-get",
    "storage-get",
    "storage-list",
    "storage-add",
    "goal-state",
    "state-get",
    "state-set",
    "state-delete",
];

/// One recorded invocation.
#[derive(Debug, Clone)]
struct Call {
    tool: String,
    args: Vec<String>,
    stdin: String,
    /// `#file=` values: (argument index, content, octal mode).
    files: Vec<(usize, String, String)>,
}

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("log")).unwrap();
        fs::create_dir(dir.path().join("answers")).unwrap();
        for tool in TOOLS {
            let path = dir.path().join(tool);
            fs::write(&path, FAKE_TOOL).unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        Fake { dir }
    }

    fn tools(&self) -> HookTools {
        HookTools::new(
            ProcessRunner::with_bin_dir(self.dir.path()),
            "postgresql-k8s/0",
        )
    }

    fn answer(&self, tool: &str, stdout: &str) {
        fs::write(self.answers().join(format!("{tool}.stdout")), stdout).unwrap();
    }

    fn fail(&self, tool: &str, code: i32, stderr: &str) {
        fs::write(self.answers().join(format!("{tool}.stderr")), stderr).unwrap();
        fs::write(
            self.answers().join(format!("{tool}.exit")),
            code.to_string(),
        )
        .unwrap();
    }

    fn answers(&self) -> PathBuf {
        self.dir.path().join("answers")
    }

    fn calls(&self) -> Vec<Call> {
        let log = self.dir.path().join("log");
        let count: usize = fs::read_to_string(log.join("count"))
            .map(|s| s.trim().parse().unwrap())
            .unwrap_or(0);
        (1..=count)
            .map(|n| read_call(&log.join(n.to_string())))
            .collect()
    }
}

fn read_call(dir: &Path) -> Call {
    let mut args = Vec::new();
    let mut files = Vec::new();
    for i in 0.. {
        let Ok(arg) = fs::read_to_string(dir.join(format!("arg.{i}"))) else {
            break;
        };
        args.push(arg);
        if let Ok(content) = fs::read_to_string(dir.join(format!("file.{i}"))) {
            let mode = fs::read_to_string(dir.join(format!("mode.{i}"))).unwrap();
            files.push((i, content, mode.trim().to_string()));
        }
    }
    Call {
        tool: fs::read_to_string(dir.join("tool")).unwrap(),
        args,
        stdin: fs::read_to_string(dir.join("stdin")).unwrap(),
        files,
    }
}

fn rel(endpoint: &str, id: u64) -> RelationRef {
    RelationRef {
        endpoint: endpoint.into(),
        id,
    }
}

fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn config_get_is_read_once_and_typed() {
    let fake = Fake::new();
    fake.answer(
        "config-get",
        r#"{"max-connections": 100, "profile": "production", "plugin-audit-enable": true}"#,
    );
    let tools = fake.tools();
    let config = tools.config_get().unwrap();
    assert_eq!(config["max-connections"], 100);
    #[derive(serde::Deserialize)]
    struct Cfg {
        profile: String,
        #[serde(rename = "plugin-audit-enable")]
        audit: bool,
    }
    let typed: Cfg = tools.config().unwrap();
    assert_eq!((typed.profile.as_str(), typed.audit), ("production", true));
    let calls = fake.calls();
    assert_eq!(calls.len(), 1, "config-get must be cached: {calls:?}");
    assert_eq!(calls[0].args, ["--format=json"]);
}

#[test]
fn leadership_is_cached() {
    let fake = Fake::new();
    fake.answer("is-leader", "true\n");
    let tools = fake.tools();
    assert!(tools.is_leader().unwrap());
    assert!(tools.is_leader().unwrap());
    assert_eq!(fake.calls().len(), 1);
}

#[test]
fn relations_read_cache_and_merge_writes() {
    let fake = Fake::new();
    fake.answer("relation-ids", r#"["database:5", "database:9"]"#);
    fake.answer("relation-list", r#"["app/0", "app/1"]"#);
    fake.answer("relation-get", r#"{"database": "mydb", "data": "{}"}"#);
    let tools = fake.tools();
    let ids = tools.relation_ids("database").unwrap();
    assert_eq!(ids, [rel("database", 5), rel("database", 9)]);
    assert_eq!(tools.relation_list(&ids[0]).unwrap(), ["app/0", "app/1"]);
    let remote = tools
        .relation_get(&ids[0], &Target::App("app".into()))
        .unwrap();
    assert_eq!(remote["database"], "mydb");
    // Own app bag: read once, then only real changes are written, as JSON on stdin.
    tools
        .relation_set(
            &ids[0],
            true,
            &data(&[("database", "mydb"), ("endpoints", "pg:5432"), ("gone", "")]),
        )
        .unwrap();
    // The same write again changes nothing and is not sent.
    tools
        .relation_set(&ids[0], true, &data(&[("endpoints", "pg:5432")]))
        .unwrap();
    // Reading our own bag shows our uncommitted write, without a call.
    let own = tools
        .relation_get(&ids[0], &Target::App("postgresql-k8s".into()))
        .unwrap();
    assert_eq!(own["endpoints"], "pg:5432");
    let calls = fake.calls();
    let names: Vec<&str> = calls.iter().map(|c| c.tool.as_str()).collect();
    assert_eq!(
        names,
        [
            "relation-ids",
            "relation-list",
            "relation-get",
            "relation-get",
            "relation-set"
        ]
    );
    assert_eq!(calls[0].args, ["database", "--format=json"]);
    assert_eq!(calls[1].args, ["--format=json", "-r", "database:5"]);
    assert_eq!(
        calls[2].args,
        ["--format=json", "-r", "database:5", "--app", "-", "app"]
    );
    assert_eq!(
        calls[3].args,
        [
            "--format=json",
            "-r",
            "database:5",
            "--app",
            "-",
            "postgresql-k8s"
        ]
    );
    assert_eq!(calls[4].args, ["-r", "database:5", "--app", "--file", "-"]);
    // "database" already had that value and "gone" did not exist: only the new key is sent.
    let sent: BTreeMap<String, String> = serde_json::from_str(&calls[4].stdin).unwrap();
    assert_eq!(sent, data(&[("endpoints", "pg:5432")]));
}

#[test]
fn remote_app_of_a_vanished_relation_is_none() {
    let fake = Fake::new();
    fake.fail(
        "relation-list",
        2,
        "ERROR invalid value \"database:99\" for option -r: relation not found\n",
    );
    let tools = fake.tools();
    assert_eq!(
        tools.relation_remote_app(&rel("database", 99)).unwrap(),
        None
    );
    let err = tools.relation_list(&rel("database", 99)).unwrap_err();
    assert!(err.is_relation_not_found(), "{err:?}");
}

#[test]
fn errors_are_classified() {
    let fake = Fake::new();
    fake.fail("relation-set", 1, "ERROR cannot write relation settings\n");
    fake.answer("relation-get", "{}");
    fake.fail("secret-get", 1, "ERROR secret \"cuh0n7\" not found\n");
    fake.fail("config-get", 1, "ERROR something odd\n");
    let tools = fake.tools();
    let err = tools
        .relation_set(&rel("database-peers", 1), true, &data(&[("a", "b")]))
        .unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
    let err = tools
        .secret_get(Some("secret:cuh0n7"), None, SecretGetMode::Tracked)
        .unwrap_err();
    assert!(err.is_secret_not_found(), "{err:?}");
    match tools.config_get().unwrap_err() {
        Error::Tool { tool, code, stderr } => {
            assert_eq!((tool.as_str(), code), ("config-get", 1));
            assert_eq!(stderr, "something odd");
        }
        other => panic!("{other:?}"),
    }
    // A tool that is not there at all (not running under Juju).
    let missing = HookTools::new(
        ProcessRunner::with_bin_dir(fake.dir.path().join("nowhere")),
        "a/0",
    );
    assert!(matches!(missing.is_leader(), Err(Error::Spawn { .. })));
    // Malformed JSON from a tool is a parse error, not a panic.
    fake.answer("goal-state", "not json");
    assert!(matches!(tools.goal_state(), Err(Error::Parse { .. })));
}

#[test]
fn status_is_set_once_per_value() {
    let fake = Fake::new();
    fake.answer(
        "status-get",
        r#"{"status": "waiting", "message": "x", "status-data": {}}"#,
    );
    let tools = fake.tools();
    assert_eq!(tools.status_get(false).unwrap().status, StatusName::Waiting);
    tools.status_set(false, &Status::waiting("x")).unwrap(); // same as read: not sent
    tools.status_set(false, &Status::active("Primary")).unwrap();
    tools.status_set(false, &Status::active("Primary")).unwrap();
    tools.status_set(true, &Status::active("")).unwrap();
    tools.application_version_set("15.4").unwrap();
    tools.application_version_set("15.4").unwrap();
    let calls = fake.calls();
    let summary: Vec<(String, Vec<String>)> = calls
        .iter()
        .map(|c| (c.tool.clone(), c.args.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "status-get".to_string(),
                vec!["--include-data", "--format=json", "--application=false"]
                    .into_iter()
                    .map(String::from)
                    .collect()
            ),
            (
                "status-set".to_string(),
                ["--application=false", "active", "--", "Primary"]
                    .map(String::from)
                    .to_vec()
            ),
            (
                "status-set".to_string(),
                ["--application=true", "active", "--", ""]
                    .map(String::from)
                    .to_vec()
            ),
            (
                "application-version-set".to_string(),
                ["--", "15.4"].map(String::from).to_vec()
            ),
        ]
    );
}

#[test]
fn actions() {
    let fake = Fake::new();
    fake.answer(
        "action-get",
        r#"{"username": "operator", "nested": {"a": 1}}"#,
    );
    let tools = fake.tools();
    let params = tools.action_get().unwrap();
    assert_eq!(params["username"], "operator");
    tools
        .action_set(&data(&[("password", "pw"), ("nested.key", "v")]))
        .unwrap();
    tools.action_log("rotating").unwrap();
    tools.action_fail("-it failed").unwrap();
    assert!(matches!(
        tools.action_set(&data(&[("Bad_Key", "v")])),
        Err(Error::Invalid(_))
    ));
    let calls = fake.calls();
    assert_eq!(
        calls.len(),
        4,
        "the invalid key must not be sent: {calls:?}"
    );
    assert_eq!(calls[0].args, ["--format=json"]);
    assert_eq!(calls[1].args, ["nested.key=v", "password=pw"]);
    assert_eq!(calls[2].args, ["--", "rotating"]);
    assert_eq!(calls[3].args, ["--", "-it failed"]);
}

#[test]
fn secrets_go_through_private_files() {
    let fake = Fake::new();
    fake.answer("secret-add", "secret://model/cuh0n7lmp25c7bgqtgsg\n");
    fake.answer(
        "secret-get",
        r#"{"operator-password": "abc", "patroni-password": "def"}"#,
    );
    fake.answer(
        "secret-info-get",
        r#"{"cuh0n7lmp25c7bgqtgsg": {"revision": 2, "label": "database-peers.postgresql-k8s.app", "owner": "application"}}"#,
    );
    fake.answer("secret-ids", r#"["secret:cuh0n7lmp25c7bgqtgsg"]"#);
    let tools = fake.tools();
    let content: SecretContent = [
        ("operator-password".to_string(), "S3NT1NEL-a".into()),
        ("patroni-password".to_string(), "S3NT1NEL-b".into()),
    ]
    .into();
    let id = tools
        .secret_add(
            &content,
            &SecretOptions {
                label: Some("database-peers.postgresql-k8s.app".into()),
                ..SecretOptions::default()
            },
        )
        .unwrap();
    assert_eq!(id, "secret://model/cuh0n7lmp25c7bgqtgsg");
    // The same content again is not a new revision.
    tools
        .secret_set(
            &id,
            Some(&content),
            &SecretOptions::owned_by(SecretOwner::Application),
        )
        .unwrap();
    let read = tools
        .secret_get(
            None,
            Some("database-peers.postgresql-k8s.app"),
            SecretGetMode::Peek,
        )
        .unwrap();
    assert_eq!(read["operator-password"].expose(), "abc");
    assert_eq!(format!("{read:?}").matches("redacted").count(), 2);
    tools
        .secret_get(
            None,
            Some("database-peers.postgresql-k8s.app"),
            SecretGetMode::Peek,
        )
        .unwrap();
    let mut changed = content.clone();
    changed.insert("rewind-password".into(), "S3NT1NEL-c".into());
    tools
        .secret_set(
            &id,
            Some(&changed),
            &SecretOptions::owned_by(SecretOwner::Application),
        )
        .unwrap();
    let info = tools
        .secret_info_get(Some("cuh0n7lmp25c7bgqtgsg"), None)
        .unwrap();
    assert_eq!(
        (info.id.as_str(), info.revision),
        ("cuh0n7lmp25c7bgqtgsg", 2)
    );
    tools.secret_grant(&id, 7, None).unwrap();
    tools.secret_revoke(&id, 7, Some("client"), None).unwrap();
    assert_eq!(tools.secret_ids().unwrap(), ["secret:cuh0n7lmp25c7bgqtgsg"]);
    tools.secret_remove(&id, Some(1)).unwrap();

    let calls = fake.calls();
    let names: Vec<&str> = calls.iter().map(|c| c.tool.as_str()).collect();
    assert_eq!(
        names,
        [
            "secret-add",
            "secret-get",
            "secret-set",
            "secret-info-get",
            "secret-grant",
            "secret-revoke",
            "secret-ids",
            "secret-remove"
        ]
    );
    let add = &calls[0];
    assert_eq!(
        &add.args[..4],
        [
            "--label",
            "database-peers.postgresql-k8s.app",
            "--owner",
            "application"
        ]
    );
    assert_eq!(add.files.len(), 2);
    for (i, value, mode) in &add.files {
        assert!(add.args[*i].contains("#file="), "{}", add.args[*i]);
        assert!(value.starts_with("S3NT1NEL-"));
        assert_eq!(mode, "600");
    }
    // The staged files are gone once the tool returned.
    for (i, _, _) in &add.files {
        let path = add.args[*i].split_once("#file=").unwrap().1;
        assert!(!Path::new(path).exists(), "{path} left behind");
    }
    assert_eq!(
        calls[1].args,
        [
            "--format=json",
            "--label",
            "database-peers.postgresql-k8s.app",
            "--peek"
        ]
    );
    let set = &calls[2];
    assert_eq!(&set.args[..3], ["--owner", "application", id.as_str()]);
    assert_eq!(set.files.len(), 3);
    assert_eq!(calls[3].args, ["--format=json", "cuh0n7lmp25c7bgqtgsg"]);
    assert_eq!(calls[4].args, ["--relation", "7", id.as_str()]);
    assert_eq!(
        calls[5].args,
        ["--relation", "7", "--app", "client", id.as_str()]
    );
    assert_eq!(calls[7].args, [id.as_str(), "--revision", "1"]);
}

#[test]
fn no_secret_reaches_argv_except_through_action_set() {
    const SENTINEL: &str = "S3NT1NEL-do-not-leak";
    let fake = Fake::new();
    fake.answer("secret-add", "secret:abc\n");
    fake.answer("relation-get", "{}");
    fake.answer("state-get", "null");
    let tools = fake.tools();
    let content: SecretContent = [("password".to_string(), SENTINEL.into())].into();
    let id = tools
        .secret_add(&content, &SecretOptions::default())
        .unwrap();
    let mut next = content.clone();
    next.insert("private-key".into(), format!("{SENTINEL}-key").into());
    tools
        .secret_set(
            &id,
            Some(&next),
            &SecretOptions::owned_by(SecretOwner::Application),
        )
        .unwrap();
    // Relation data (e.g. the legacy db relation's password) goes on stdin.
    tools
        .relation_set(&rel("db", 3), false, &data(&[("password", SENTINEL)]))
        .unwrap();
    tools.state_set(&data(&[("pending", SENTINEL)])).unwrap();
    tools.action_set(&data(&[("password", SENTINEL)])).unwrap();

    let calls = fake.calls();
    let mut seen_in_stdin_or_files = 0;
    for call in &calls {
        let in_argv = call.args.iter().any(|a| a.contains(SENTINEL));
        assert_eq!(
            in_argv,
            call.tool == "action-set",
            "{} carried the secret in argv: {:?}",
            call.tool,
            call.args
        );
        if call.stdin.contains(SENTINEL) || call.files.iter().any(|f| f.1.contains(SENTINEL)) {
            seen_in_stdin_or_files += 1;
        }
    }
    // secret-add, secret-set, relation-set and state-set all delivered it another way.
    assert_eq!(seen_in_stdin_or_files, 4, "{calls:?}");
}

#[test]
fn ports_network_storage_goal_state_and_state() {
    let fake = Fake::new();
    fake.answer("opened-ports", r#"["5432/tcp"]"#);
    fake.answer(
        "network-get",
        r#"{"bind-addresses": [{"mac-address": "", "interface-name": "eth0", "addresses": [{"hostname": "", "value": "10.1.2.3", "cidr": "10.1.0.0/16"}]}], "egress-subnets": ["10.1.2.3/32"], "ingress-addresses": ["10.1.2.3"]}"#,
    );
    fake.answer(
        "storage-get",
        r#"{"kind": "filesystem", "location": "/var/lib/postgresql/data"}"#,
    );
    fake.answer("storage-list", r#"["pgdata/0"]"#);
    fake.answer(
        "goal-state",
        r#"{"units": {"postgresql-k8s/0": {"status": "active", "since": "2026-01-01T00:00:00Z"}}, "relations": {}}"#,
    );
    fake.answer("state-get", r#"{"a": "1"}"#);
    let tools = fake.tools();
    assert_eq!(tools.opened_ports().unwrap(), [Port::tcp(5432)]);
    tools.open_port(&Port::tcp(5432), None).unwrap(); // already open: not sent
    tools.open_port(&Port::tcp(8008), None).unwrap();
    tools.close_port(&Port::tcp(9999), None).unwrap(); // not open: not sent
    assert_eq!(
        tools
            .network_get("database-peers", None)
            .unwrap()
            .bind_address(),
        Some("10.1.2.3")
    );
    assert_eq!(
        tools.storage_get(Some("pgdata/0")).unwrap().location,
        "/var/lib/postgresql/data"
    );
    assert_eq!(tools.storage_list(Some("pgdata")).unwrap(), ["pgdata/0"]);
    assert_eq!(tools.goal_state().unwrap().planned_units(), 1);
    tools.state_set(&data(&[("a", "1"), ("b", "2")])).unwrap();
    tools.state_delete("zzz").unwrap(); // absent: not sent
    tools.state_delete("a").unwrap();
    let calls = fake.calls();
    let summary: Vec<String> = calls
        .iter()
        .map(|c| format!("{} {}", c.tool, c.args.join(" ")))
        .collect();
    assert_eq!(
        summary,
        [
            "opened-ports --format=json",
            "open-port 8008/tcp",
            "network-get --format=json database-peers",
            "storage-get --format=json -s pgdata/0",
            "storage-list --format=json pgdata",
            "goal-state --format=json",
            "state-get --format=json",
            "state-set --file -",
            "state-delete a",
        ]
    );
    let sent: BTreeMap<String, String> = serde_json::from_str(&calls[7].stdin).unwrap();
    assert_eq!(sent, data(&[("b", "2")]));
}

#[test]
fn juju_log_sends_levels_and_splits_long_lines() {
    let fake = Fake::new();
    let tools = fake.tools();
    tools.juju_log(LogLevel::Warning, "-dash first").unwrap();
    tools
        .juju_log(LogLevel::Info, &"x".repeat(131_072))
        .unwrap();
    let calls = fake.calls();
    assert_eq!(
        calls[0].args,
        ["--log-level", "WARNING", "--", "-dash first"]
    );
    assert_eq!(calls.len(), 4, "notice + two chunks");
    assert!(calls[1].args[3].starts_with("Log string greater than 131071"));
    assert_eq!(calls[2].args[3].len(), 131_071);
    assert_eq!(calls[3].args[3], "x");
}
