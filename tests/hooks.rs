//! State tests: the real charm binary runs one hook against recorded hook-tool answers (the lab's
//! replay `jujuc`), and the test checks what it did: exit code, status, calls. Fast, and exact
//! about the hook-tool traffic; the lab's end-to-end tests cover the workload.

mod common_replay;

use common_replay::unit;
use lab::harness::{Harness, HookRun};

/// A unit with its passwords stored, an etcd provider related, and no workload socket.
fn harness(leader: bool) -> Harness {
    unit(leader, "{}")
}

fn statuses(run: &HookRun) -> Vec<Vec<String>> {
    run.calls_to("status-set")
        .into_iter()
        .map(|c| c.args.clone())
        .collect()
}

fn args(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn update_status_without_the_workload_waits() {
    let mut h = harness(true);
    // Steady state: the store and the peer relation as the last hook kept them.
    h.answer(
        "state-get",
        &format!(
            "{}\n",
            serde_json::json!({
                "etcd-store": "{\"hosts\":[\"10.1.2.9:2379\"],\"protocol\":\"http\",\"ca\":null,\"client_secret\":null}",
                "peers": "{\"relation\":0,\"members\":{}}",
            })
        ),
    );
    let run = h.run("hooks/update-status", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let waiting = "waiting for the postgresql container to start";
    assert_eq!(
        statuses(&run),
        vec![
            args(&["--application=false", "waiting", "--", waiting]),
            args(&["--application=true", "waiting", "--", waiting]),
        ]
    );
    assert!(
        run.calls.iter().all(|c| !c.tool.starts_with("relation-")),
        "update-status read relation data it keeps: {:?}",
        run.calls
    );
    assert!(
        run.calls.len() <= 8,
        "too many hook-tool calls: {:?}",
        run.calls
    );
    assert!(run.calls_to("secret-add").is_empty() && run.calls_to("secret-set").is_empty());
}

#[test]
fn the_leader_creates_the_passwords_through_files() {
    let mut h = harness(true);
    h.fail("secret-get", 1, "ERROR secret \"x\" not found\n")
        .answer("secret-add", "secret://model/d4ngcnvmp25c7bgqtgsg\n");
    let run = h.run("hooks/leader-elected", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let adds = run.calls_to("secret-add");
    assert_eq!(adds.len(), 1);
    let argv = &adds[0].args;
    assert!(
        argv.windows(2)
            .any(|w| w == ["--label", "database-peers.postgresql-k8s.app"])
    );
    let keys: Vec<&str> = argv
        .iter()
        .filter_map(|a| a.split_once("#file=").map(|(k, _)| k))
        .collect();
    assert_eq!(
        keys,
        [
            "backup-password",
            "monitoring-password",
            "operator-password",
            "patroni-password",
            "replication-password",
            "rewind-password"
        ]
    );
}

#[test]
fn a_non_leader_waits_for_the_passwords_and_leaves_the_application_status() {
    let mut h = harness(false);
    h.fail("secret-get", 1, "ERROR secret \"x\" not found\n");
    let run = h.run("hooks/config-changed", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        statuses(&run),
        vec![args(&[
            "--application=false",
            "waiting",
            "--",
            "waiting for the leader to create the system passwords"
        ])]
    );
    assert!(run.calls_to("secret-add").is_empty());
}

#[test]
fn without_a_store_the_unit_says_what_to_relate() {
    let mut h = harness(true);
    h.answer("relation-ids etcd", "[]\n");
    let run = h.run("hooks/update-status", &[]).unwrap();
    let s = statuses(&run);
    assert_eq!(s[0][1], "blocked");
    assert!(s[0][3].contains("integrate with an etcd provider"), "{s:?}");
}

#[test]
fn malformed_etcd_data_is_refused_without_failing_the_hook() {
    let mut h = harness(true);
    h.answer("relation-get", "{\"endpoints\": \"http://x:1;rm -rf /\"}\n");
    let run = h
        .run(
            "hooks/etcd-relation-changed",
            &[
                ("JUJU_RELATION", "etcd"),
                ("JUJU_RELATION_ID", "etcd:3"),
                ("JUJU_REMOTE_APP", "etcd-lab"),
                ("JUJU_REMOTE_UNIT", "etcd-lab/0"),
            ],
        )
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let s = statuses(&run);
    assert_eq!(s[0][1], "waiting");
    assert!(
        s[0][3].starts_with("the etcd relation's endpoints are invalid"),
        "{s:?}"
    );
}

#[test]
fn invalid_config_blocks_naming_the_option() {
    let mut h = harness(true);
    h.answer("config-get", "{\"memory_work_mem\": 1}\n");
    let run = h.run("hooks/config-changed", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let s = statuses(&run);
    assert_eq!(s[0][1], "blocked");
    assert!(
        s[0][3].starts_with("Configuration Error: memory_work_mem"),
        "{s:?}"
    );
    assert!(run.calls_to("secret-add").is_empty() && run.calls_to("relation-set").is_empty());
}

#[test]
fn unbuilt_relations_say_so_in_the_log() {
    let h = harness(true);
    let run = h
        .run(
            "hooks/ldap-relation-changed",
            &[
                ("JUJU_RELATION", "ldap"),
                ("JUJU_RELATION_ID", "ldap:4"),
                ("JUJU_REMOTE_APP", "glauth"),
                ("JUJU_REMOTE_UNIT", "glauth/0"),
            ],
        )
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let logs = run.calls_to("juju-log");
    assert!(
        logs.iter().any(|c| c
            .args
            .last()
            .unwrap()
            .contains("ldap relation is not implemented")),
        "{logs:?}"
    );
    assert!(run.calls_to("relation-set").is_empty());
}

/// `s3-parameters-relation-changed` on the leader, the provider publishing keys (which contain
/// `seekrit`) and `endpoint`.
fn s3_relation_changed(endpoint: &str) -> HookRun {
    let mut h = harness(true);
    h.answer("relation-ids s3-parameters", "[\"s3-parameters:4\"]\n")
        .answer("relation-list --format=json --app -r s3-parameters:4", "\"s3\"\n")
        .answer(
            "relation-get --format=json -r s3-parameters:4",
            &format!(
                "{{\"bucket\": \"b\", \"access-key\": \"AKIA-SEEKRIT\", \"secret-key\": \"very-seekrit-key\", \"endpoint\": \"{endpoint}\"}}\n"
            ),
        );
    let run = h
        .run(
            "hooks/s3-parameters-relation-changed",
            &[
                ("JUJU_RELATION", "s3-parameters"),
                ("JUJU_RELATION_ID", "s3-parameters:4"),
                ("JUJU_REMOTE_APP", "s3"),
                ("JUJU_REMOTE_UNIT", "s3/0"),
            ],
        )
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    // No key in any hook-tool call: not in arguments, not in what was written.
    for call in &run.calls {
        let text = format!("{:?} {}", call.args, call.stdin);
        assert!(!text.contains("seekrit"), "a key leaked: {text}");
    }
    run
}

#[test]
fn s3_parameters_read_before_the_workload_runs_are_kept_without_keys() {
    // A bundle relates S3 before the database is up: the hook stops early, and the relation
    // must still be remembered (to be read again once the workload can take its configuration).
    let run = s3_relation_changed("https://s3.example");
    let sets = run.calls_to("state-set");
    let kept = sets
        .iter()
        .find(|c| c.stdin.contains("\"s3\""))
        .unwrap_or_else(|| panic!("the S3 view is not kept: {sets:?}"));
    assert!(
        kept.stdin.contains("\\\"conf\\\":\\\"\\\""),
        "{}",
        kept.stdin
    );
}

#[test]
fn malformed_s3_parameters_are_refused_without_echoing_the_keys() {
    let run = s3_relation_changed("http://s3.example");
    let logs = run.calls_to("juju-log");
    assert!(
        logs.iter().any(|c| c
            .args
            .last()
            .unwrap()
            .contains("the S3 provider's data is refused: S3 endpoint must use https")),
        "{logs:?}"
    );
}

#[test]
fn a_malformed_client_request_is_refused_without_echoing_it() {
    let mut h = harness(true);
    h.answer(
        "relation-get",
        "{\"database\": \"x'; DROP DATABASE postgres; --\", \"requested-secrets\": \"[]\"}\n",
    );
    let run = h
        .run(
            "hooks/database-relation-changed",
            &[
                ("JUJU_RELATION", "database"),
                ("JUJU_RELATION_ID", "database:4"),
                ("JUJU_REMOTE_APP", "app"),
                ("JUJU_REMOTE_UNIT", "app/0"),
            ],
        )
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let logs = run.calls_to("juju-log");
    assert!(
        logs.iter()
            .any(|c| c.args.last().unwrap().contains("database name refused")),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .all(|c| !c.args.last().unwrap().contains("DROP"))
    );
    // Nothing is told to the client; the refusal is only recorded in the peer client map.
    let sets = run.calls_to("relation-set");
    assert!(
        sets.iter().all(
            |c| c.args.windows(2).any(|w| w == ["-r", "database-peers:0"])
                && !c.stdin.contains("DROP")
        ),
        "{sets:?}"
    );
    assert!(run.calls_to("secret-add").is_empty());
}

#[test]
fn actions_fail_plainly_when_they_cannot_run() {
    let mut h = harness(true);
    h.answer("action-get", "{\"username\": \"postgres\"}\n");
    let run = h.run("actions/get-password", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.calls_to("action-fail")[0].args[1],
        "The action can be run only for system users or Patroni: backup, replication, rewind, operator, monitoring, patroni not postgres"
    );
    let run = h.run("actions/create-backup", &[]).unwrap();
    assert_eq!(
        run.calls_to("action-fail")[0].args[1],
        "Relation with s3-integrator charm missing, cannot create/restore backup."
    );
    let run = h.run("actions/resume-upgrade", &[]).unwrap();
    assert!(
        run.calls_to("action-fail")[0].args[1].starts_with("resume-upgrade is not implemented")
    );
    let run = h.run("actions/frobnicate", &[]).unwrap();
    assert!(run.calls_to("action-fail")[0].args[1].contains("unknown action"));

    let mut follower = harness(false);
    follower.answer("action-get", "{\"username\": \"operator\"}\n");
    let run = follower.run("actions/set-password", &[]).unwrap();
    assert_eq!(
        run.calls_to("action-fail")[0].args[1],
        "The action can be run only on leader unit"
    );
}

#[test]
fn get_password_returns_the_stored_one() {
    let mut h = harness(false);
    h.answer("action-get", "{\"username\": \"monitoring\"}\n");
    let run = h.run("actions/get-password", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.calls_to("action-set")[0].args, ["password=m"]);
}

#[test]
fn unknown_hooks_are_no_ops() {
    let h = harness(true);
    let run = h.run("hooks/some-future-hook", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.calls.is_empty(), "{:?}", run.calls);
    assert!(run.stderr.contains("ignoring unknown event"));
}

#[test]
fn a_broken_environment_fails_the_hook() {
    let h = harness(true);
    let run = h.run("hooks/database-relation-changed", &[]).unwrap();
    assert_eq!(run.code, 1);
    assert!(run.calls.is_empty());
    assert!(run.stderr.contains("JUJU_RELATION_ID"), "{}", run.stderr);
}

#[test]
fn a_failing_hook_tool_asks_juju_to_retry() {
    let mut h = harness(true);
    h.fail("is-leader", 1, "ERROR connection to the unit agent lost\n");
    let run = h.run("hooks/update-status", &[]).unwrap();
    assert_eq!(run.code, 1, "{run:?}");
    let logs = run.calls_to("juju-log");
    assert!(
        logs.iter()
            .any(|c| c.args[1] == "ERROR" && c.args[3].contains("Juju will retry")),
        "{logs:?}"
    );
}

#[test]
fn the_disable_file_blocks() {
    let h = harness(false);
    std::fs::write(h.charm_dir().join("disable"), "").unwrap();
    let run = h.run("hooks/update-status", &[]).unwrap();
    assert_eq!(
        statuses(&run),
        vec![args(&["--application=false", "blocked", "--", "Disabled"])]
    );
}
