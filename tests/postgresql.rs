//! The charm end to end in the lab with real PostgreSQL 15, Patroni and etcd: bring-up, access
//! rules, password rotation, config, idempotence and durability.

mod common_lab;

use common_lab::{APP, Deployment, deploy};
use lab::engine::Hook;

#[test]
fn deploy_reaches_primary_and_only_scram_gets_in() {
    if !common_lab::can_run() {
        return;
    }
    let mut d = deploy(&[]);
    let operator = d.password("operator");
    assert_eq!(operator.len(), 32);
    let db = d
        .connect(0, "operator", &operator)
        .expect("operator logs in over TCP");
    assert_eq!(db.value("SELECT 1::text"), "1");
    assert_eq!(db.value("SHOW password_encryption"), "scram-sha-256");
    // A wrong password, and no password at all, are refused.
    assert!(d.connect(0, "operator", "wrong").is_err());
    assert!(d.connect(0, "operator", "").is_err());
    // A role whose password is stored as md5 cannot log in: every rule demands scram-sha-256.
    db.execute(
        "SET password_encryption = 'md5'; CREATE ROLE legacy LOGIN PASSWORD 'legacy-pw'; \
         GRANT internal_access TO legacy;",
    );
    let err = d.connect(0, "legacy", "legacy-pw").err().unwrap();
    assert!(err.contains("password authentication failed"), "{err}");
    // pg_hba on disk: no md5, trust or plain-password lines for network connections.
    let hba = String::from_utf8(d.pull("/var/lib/postgresql/data/pgdata/pg_hba.conf")).unwrap();
    let rules: Vec<&str> = hba
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    assert!(!rules.is_empty());
    for rule in &rules {
        assert!(
            !rule.contains(" md5") && !rule.contains(" trust") && !rule.ends_with(" password"),
            "weak rule: {rule}"
        );
        if rule.starts_with("host") {
            assert!(rule.ends_with("scram-sha-256"), "{rule}");
        }
    }
    // The workload version is PostgreSQL's.
    let version = d.model.state().applications[APP].workload_version.clone();
    assert_eq!(
        version,
        db.value("SELECT current_setting('server_version')")
            .split(' ')
            .next()
            .unwrap()
    );
    // get-primary names this unit.
    let record = d.run(&format!("{APP}/0"), "get-primary", &[]);
    assert_eq!(
        record.action.unwrap().results["primary"],
        format!("{APP}/0")
    );
    // The system users exist with their roles.
    assert_eq!(
        db.value(
            "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles \
             WHERE rolname IN ('operator','replication','rewind','monitoring','backup','admin')"
        ),
        "admin,backup,monitoring,operator,replication,rewind"
    );
    assert_eq!(
        db.value("SELECT pg_has_role('monitoring', 'pg_monitor', 'member')::text"),
        "true"
    );
}

fn exporter_up(d: &Deployment) -> bool {
    let url = format!("http://{}:9187/metrics", d.address(0));
    for _ in 0..20 {
        #[allow(clippy::disallowed_methods)] // curl as an independent HTTP client
        if let Ok(out) = std::process::Command::new("curl")
            .args(["-s", &url])
            .output()
            && String::from_utf8_lossy(&out.stdout).contains("\npg_up 1")
        {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    false
}

#[test]
fn set_password_rotates_each_system_user_without_leaking_it() {
    if !common_lab::can_run() {
        return;
    }
    let mut d = deploy(&[]);
    assert!(exporter_up(&d), "the exporter does not reach PostgreSQL");
    let unit = format!("{APP}/0");
    for user in ["operator", "replication", "rewind", "monitoring", "backup"] {
        let old = d.password(user);
        let new = format!("N3w-{user}-S3NT1NEL-pw");
        let before = d.model.history().len();
        let record = d.run(
            &unit,
            "set-password",
            &[("username", user), ("password", &new)],
        );
        let action = record.action.clone().unwrap();
        assert_eq!(
            action.failed,
            None,
            "{user}: {}\n{}",
            record.output,
            d.log_tail(30)
        );
        assert_eq!(action.results["password"], new);
        assert_eq!(d.password(user), new);
        d.connect(0, user, &new)
            .unwrap_or_else(|e| panic!("{user} with the new password: {e}"));
        assert!(
            d.connect(0, user, &old).is_err(),
            "{user}: the old password still works"
        );
        // Patroni and the exporter keep working.
        assert!(
            d.wait_for_status(&unit, "active", "Primary", 30),
            "{}",
            d.log_tail(20)
        );
        assert!(exporter_up(&d), "exporter after rotating {user}");
        // The password went nowhere but the secret, PostgreSQL's verifier and action-set.
        for record in &d.model.history()[before..] {
            for call in &record.calls {
                let carries =
                    call.args.iter().any(|a| a.contains(&new)) || call.stdin.contains(&new);
                assert!(
                    !carries || call.tool == "action-set",
                    "{} carried the password: {:?}",
                    call.tool,
                    call.args
                );
            }
            assert!(
                !record.output.contains(&new),
                "hook output has the password"
            );
        }
    }
    // Nothing under the workload's log directory holds any of the passwords.
    let client = d.model.pebble(&unit, "postgresql").unwrap();
    let files = d
        .model
        .block_on(client.list_files("/var/log/postgresql", None, false))
        .unwrap();
    assert!(!files.is_empty());
    for f in files {
        let text =
            String::from_utf8_lossy(&d.model.block_on(client.pull(&f.path)).unwrap()).into_owned();
        assert!(!text.contains("S3NT1NEL"), "{} contains a password", f.path);
    }
    // Unknown users and patroni are refused with the reference's messages.
    let refused = d.run(&unit, "set-password", &[("username", "patroni")]);
    assert!(refused.action.unwrap().failed.unwrap().starts_with(
        "The action can be run only for system users: backup, replication, rewind, operator, monitoring not patroni"
    ));
}

#[test]
fn config_changes_reach_the_server_and_bad_values_block() {
    if !common_lab::can_run() {
        return;
    }
    let mut d = deploy(&[]);
    let unit = format!("{APP}/0");
    let operator = d.password("operator");
    let db = d.connect(0, "operator", &operator).unwrap();
    let started = db.value("SELECT pg_postmaster_start_time()::text");
    // One option per category; none of these needs a restart.
    let changes = [
        (
            "connection_statement_timeout",
            "12345",
            "statement_timeout",
            "12345ms",
        ),
        (
            "cpu_parallel_leader_participation",
            "false",
            "parallel_leader_participation",
            "off",
        ),
        (
            "durability_synchronous_commit",
            "remote_write",
            "synchronous_commit",
            "remote_write",
        ),
        (
            "instance_synchronize_seqscans",
            "false",
            "synchronize_seqscans",
            "off",
        ),
        ("logging_log_lock_waits", "true", "log_lock_waits", "on"),
        ("memory_work_mem", "8192", "work_mem", "8MB"),
        (
            "optimizer_enable_hashjoin",
            "false",
            "enable_hashjoin",
            "off",
        ),
        ("request_lock_timeout", "777", "lock_timeout", "777ms"),
        (
            "response_extra_float_digits",
            "2",
            "extra_float_digits",
            "2",
        ),
        (
            "session_idle_in_transaction_session_timeout",
            "60000",
            "idle_in_transaction_session_timeout",
            "1min",
        ),
        (
            "storage_bgwriter_lru_maxpages",
            "200",
            "bgwriter_lru_maxpages",
            "200",
        ),
        (
            "vacuum_vacuum_cost_delay",
            "5.5",
            "vacuum_cost_delay",
            "5500us",
        ),
    ];
    let set: Vec<(String, String)> = changes
        .iter()
        .map(|(k, v, _, _)| (k.to_string(), v.to_string()))
        .collect();
    d.model.config(APP, &set, &[]).unwrap();
    assert!(
        d.wait_for_status(&unit, "active", "Primary", 60),
        "{}",
        d.log_tail(20)
    );
    let operator = d.password("operator");
    let db = d.connect(0, "operator", &operator).unwrap();
    for (option, _, parameter, shown) in changes {
        assert_eq!(
            db.wait_value(&format!("SHOW {parameter}"), shown, 30),
            shown,
            "{option}"
        );
    }
    assert_eq!(
        db.value("SELECT pg_postmaster_start_time()::text"),
        started,
        "reloadable settings must not restart PostgreSQL"
    );
    // A setting that needs a restart gets one.
    d.model
        .config(
            APP,
            &[("instance_max_locks_per_transaction".into(), "128".into())],
            &[],
        )
        .unwrap();
    // The restart happens in the hook that applied the change.
    d.model.settle().unwrap();
    let db = d.connect(0, "operator", &operator).unwrap();
    assert_eq!(
        db.wait_value("SHOW max_locks_per_transaction", "128", 30),
        "128",
        "{}",
        d.log_tail(30)
    );
    assert_ne!(db.value("SELECT pg_postmaster_start_time()::text"), started);
    assert!(
        d.wait_for_status(&unit, "active", "Primary", 30),
        "{}",
        d.log_tail(20)
    );
    // An invalid value blocks, names the option, and changes nothing live.
    d.model
        .config(APP, &[("memory_work_mem".into(), "1".into())], &[])
        .unwrap();
    d.model.settle().unwrap();
    let status = d.model.unit_status(&unit).unwrap();
    assert_eq!(status.status, "blocked");
    assert!(
        status.message.starts_with("Configuration Error")
            && status.message.contains("memory_work_mem"),
        "{}",
        status.message
    );
    let operator = d.password("operator");
    let db = d.connect(0, "operator", &operator).unwrap();
    assert_eq!(db.value("SHOW work_mem"), "8MB");
    d.model
        .config(APP, &[("memory_work_mem".into(), "16384".into())], &[])
        .unwrap();
    assert!(
        d.wait_for_status(&unit, "active", "Primary", 60),
        "{}",
        d.log_tail(20)
    );
    assert_eq!(db.wait_value("SHOW work_mem", "16MB", 30), "16MB");
}

#[test]
fn a_settled_unit_changes_nothing_and_loses_no_data() {
    if !common_lab::can_run() {
        return;
    }
    let mut d = deploy(&[]);
    let unit = format!("{APP}/0");
    // Let the first hooks' follow-ups finish.
    assert!(d.wait_for_status(&unit, "active", "Primary", 30));
    let operator = d.password("operator");
    let db = d.connect(0, "operator", &operator).unwrap();
    db.execute("CREATE TABLE kept (n int); INSERT INTO kept SELECT generate_series(1, 500);");
    let started = db.value("SELECT pg_postmaster_start_time()::text");
    let verifier = db.value("SELECT rolpassword FROM pg_authid WHERE rolname = 'monitoring'");
    let client = d.model.pebble(&unit, "postgresql").unwrap();
    let stat = |d: &Deployment| {
        d.model
            .block_on(client.list_files("/var/lib/postgresql/data/patroni.yml", None, true))
            .unwrap()[0]
            .last_modified
            .clone()
    };
    let modified = stat(&d);
    let before = d.model.history().len();
    for name in ["config-changed", "update-status"] {
        d.model.queue(Hook::plain(&unit, name));
    }
    d.model
        .queue(Hook::workload(&unit, "postgresql", "pebble-ready"));
    d.model.settle().unwrap();
    let ran: Vec<String> = d.model.history()[before..]
        .iter()
        .filter(|r| r.unit == unit)
        .map(|r| r.name().to_string())
        .collect();
    assert_eq!(
        ran,
        ["config-changed", "update-status", "postgresql-pebble-ready"]
    );
    for record in &d.model.history()[before..] {
        assert_eq!(record.code, 0, "{}", record.output);
        for call in record.calls.iter().filter(|c| c.tool == "juju-log") {
            assert!(
                !call.args.iter().any(|a| a.starts_with("applied:")),
                "{} changed something: {:?}",
                record.name(),
                call.args
            );
        }
        assert!(
            !record
                .calls
                .iter()
                .any(|c| c.tool == "secret-set" || c.tool == "secret-add"),
            "{} wrote a secret",
            record.name()
        );
    }
    assert_eq!(stat(&d), modified, "patroni.yml was rewritten");
    assert_eq!(db.value("SELECT pg_postmaster_start_time()::text"), started);
    assert_eq!(
        db.value("SELECT rolpassword FROM pg_authid WHERE rolname = 'monitoring'"),
        verifier
    );
    // A stopped service is started again by the next hook.
    d.model.block_on(client.stop(&["postgresql"])).unwrap();
    d.model.update_status(Some(&unit));
    d.model.settle().unwrap();
    let status = d.model.unit_status(&unit).unwrap();
    assert_eq!(
        (status.status.as_str(), status.message.as_str()),
        ("maintenance", "Database service inactive, restarting")
    );
    assert!(
        d.wait_for_status(&unit, "active", "Primary", 120),
        "{}",
        d.log_tail(30)
    );
    drop(db);
    // The workload container restarts (Pebble and every process in it): the data survives.
    d.model.restart_pod(&unit);
    assert!(
        d.wait_for_status(&unit, "active", "Primary", 120),
        "{}",
        d.log_tail(30)
    );
    let db = d.connect(0, "operator", &operator).unwrap();
    assert_eq!(db.value("SELECT count(*)::text FROM kept"), "500");
    assert_ne!(db.value("SELECT pg_postmaster_start_time()::text"), started);
}
