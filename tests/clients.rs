//! Client applications end to end in the lab: a client charm on ops and the real data-interfaces
//! requirer library (PyPI) gets a database from the charm (real PostgreSQL, Patroni, etcd),
//! reads its credentials from the Juju secret, connects with SCRAM and writes; a second client
//! shares the database; bad requests are refused without harming the others; removing a client
//! drops its role and keeps its data; the password never leaks.

mod common_lab;

use common_lab::clients::{DB_PYTHON_ENV, db_client_charm, db_python};
use common_lab::tls::{TLS_PYTHON_ENV, copy_tree, provider_charm, tls_python};
use common_lab::{APP, Deployment, deploy_in};

const UNIT: &str = "postgresql-k8s/0";

fn deploy() -> Deployment {
    let python = db_python();
    let tls = tls_python();
    deploy_in(
        false,
        &[],
        &[
            (DB_PYTHON_ENV, python.to_str().unwrap()),
            (TLS_PYTHON_ENV, tls.to_str().unwrap()),
        ],
    )
}

/// Settle and fire update-status until `done` holds (at most `secs` seconds).
fn wait(d: &mut Deployment, secs: u64, done: impl Fn(&Deployment) -> bool) -> bool {
    d.wait_until(None, secs, done)
}

fn status_of(d: &Deployment, unit: &str) -> (String, String) {
    d.model
        .unit_status(unit)
        .map(|s| (s.status, s.message))
        .unwrap_or_default()
}

fn shell_client(d: &Deployment) -> std::path::PathBuf {
    let dir = d.scratch().join("charms/shell-db-client");
    if !dir.exists() {
        copy_tree(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charms/shell-db-client"),
            &dir,
        )
        .unwrap();
    }
    dir
}

/// Deploy the library client as `app` with `config`, relate it, return the relation id.
fn add_client(d: &mut Deployment, app: &str, config: &[(&str, &str)]) -> u64 {
    let charm = db_client_charm(&d.scratch().join("charms"));
    let config: Vec<(String, String)> = config
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    d.model.deploy(&charm, Some(app), 1, &config).unwrap();
    d.model.settle().unwrap();
    d.model.integrate(&format!("{APP}:database"), app).unwrap()
}

fn write(d: &mut Deployment, unit: &str, note: &str) -> Result<String, String> {
    let record = d.run(unit, "write", &[("note", note)]);
    let action = record.action.unwrap();
    match action.failed {
        Some(f) => Err(f),
        None => Ok(action.results["rows"].clone()),
    }
}

#[test]
fn clients_get_databases_share_them_and_bad_requests_are_refused() {
    if !common_lab::can_run() {
        return;
    }
    let mut d = deploy();
    let operator = d.password("operator");

    // The library client gets its database and writes.
    let rel_a = add_client(&mut d, "client-a", &[("database", "app_db")]);
    let role_a = format!("relation_id_{rel_a}");
    assert!(
        wait(&mut d, 60, |d| status_of(d, "client-a/0")
            == ("active".into(), format!("connected as {role_a}"))),
        "{:?} {:?}\n{}",
        status_of(&d, "client-a/0"),
        status_of(&d, UNIT),
        d.log_tail(40)
    );
    assert_eq!(write(&mut d, "client-a/0", "first").unwrap(), "2");
    // What the client was told: pointers and endpoints in the databag, credentials in a secret
    // granted to it, and no password anywhere in plain data.
    let state = d.model.state();
    let rel = &state.relations[&rel_a];
    let ours = &rel.app_data[APP];
    let pointer = ours["secret-user"].clone();
    assert!(
        state.secrets.values().any(|s| s.id.ends_with(&pointer)),
        "{ours:?}"
    );
    assert_eq!(ours["database"], "app_db");
    assert!(ours["endpoints"].ends_with(":5432"));
    assert!(!ours.contains_key("password") && !ours.contains_key("username"));
    let secret = state
        .secrets
        .values()
        .find(|s| s.label.as_deref() == Some(&format!("database.{rel_a}.user.secret")))
        .expect("the user secret");
    let content = &secret.revisions[&secret.latest()];
    let password = content["password"].clone();
    assert_eq!(content["username"], role_a);
    assert!(password.len() >= 16);
    assert!(
        secret
            .grants
            .iter()
            .any(|g| format!("{g:?}").contains(&rel_a.to_string()))
    );
    assert_not_leaked(&d, &password);

    // A second client on the same database, with extra-user-roles admin, sees the first one's rows.
    let rel_b = add_client(
        &mut d,
        "client-b",
        &[("database", "app_db"), ("extra-user-roles", "admin")],
    );
    let role_b = format!("relation_id_{rel_b}");
    assert!(
        wait(&mut d, 60, |d| status_of(d, "client-b/0")
            == ("active".into(), format!("connected as {role_b}"))),
        "{:?} {:?}\n{}",
        status_of(&d, "client-b/0"),
        status_of(&d, UNIT),
        d.log_tail(40)
    );
    assert_eq!(write(&mut d, "client-b/0", "second").unwrap(), "4");
    let db = d.connect(0, "operator", &operator).unwrap();
    assert_eq!(
        db.value(&format!(
            "SELECT pg_has_role('{role_b}', 'admin', 'member')::text"
        )),
        "true"
    );

    // Refused requests: a role the client may not have, and hostile database names. Each
    // blocks with a reason, gets nothing published, and leaves the others working.
    let shell = shell_client(&d);
    let long = "x".repeat(10_000);
    for (app, config, reason) in [
        (
            "bad-role",
            vec![("database", "other_db"), ("extra-user-roles", "superuser")],
            "invalid role(s) for extra user roles",
        ),
        (
            "bad-quote",
            vec![("database", "x\"; DROP TABLE lab_check; --")],
            "database name refused",
        ),
        (
            "bad-postgres",
            vec![("database", "postgres")],
            "database name refused",
        ),
        (
            "bad-template",
            vec![("database", "template1")],
            "database name refused",
        ),
        (
            "bad-unicode",
            vec![("database", "naïve_db")],
            "database name refused",
        ),
        ("bad-long", vec![("database", long.as_str())], "longer than"),
    ] {
        let config: Vec<(String, String)> = config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        d.model.deploy(&shell, Some(app), 1, &config).unwrap();
        d.model.settle().unwrap();
        let rel = d.model.integrate(&format!("{APP}:database"), app).unwrap();
        assert!(
            wait(&mut d, 30, |d| {
                let (s, m) = status_of(d, UNIT);
                s == "blocked" && m.contains(reason)
            }),
            "{app}: {:?}\n{}",
            status_of(&d, UNIT),
            d.log_tail(20)
        );
        let state = d.model.state();
        assert!(
            state.relations[&rel]
                .app_data
                .get(APP)
                .is_none_or(|b| b.is_empty()),
            "{app} got data"
        );
        assert!(
            state.log.iter().all(|l| !l.message.contains("DROP TABLE")),
            "the hostile value is echoed in the log"
        );
        assert!(
            write(&mut d, "client-a/0", app).is_ok(),
            "{app} broke client-a"
        );
        d.model.remove_relation(rel).unwrap();
        assert!(
            wait(&mut d, 30, |d| status_of(d, UNIT).0 == "active"),
            "{app}: {:?}",
            status_of(&d, UNIT)
        );
    }
    assert_eq!(
        db.value("SELECT count(*)::text FROM pg_database WHERE datname <> 'app_db' AND NOT datistemplate AND datname <> 'postgres'"),
        "0",
        "no database was created for a refused request"
    );

    // Removing a client drops its role and keeps the data.
    d.model.remove_relation(rel_a).unwrap();
    assert!(
        wait(&mut d, 30, |d| d
            .connect(0, "operator", &operator)
            .unwrap()
            .value(&format!(
                "SELECT count(*)::text FROM pg_roles WHERE rolname = '{role_a}'"
            ))
            == "0"),
        "{}",
        d.log_tail(20)
    );
    assert!(
        !d.model
            .state()
            .secrets
            .values()
            .any(|s| s.label.as_deref() == Some(&format!("database.{rel_a}.user.secret"))),
        "the secret of a removed relation is removed"
    );
    write(&mut d, "client-b/0", "after a left").expect("client-b keeps working");

    // TLS: the remaining client is told (tls, tls-ca in its TLS secret) and connects verifying
    // the server against that CA.
    let provider = provider_charm(&d.scratch().join("charms"));
    d.model.deploy(&provider, Some("tls"), 1, &[]).unwrap();
    d.model.settle().unwrap();
    d.model
        .integrate(&format!("{APP}:certificates"), "tls")
        .unwrap();
    let tls_secret = |d: &Deployment| {
        d.model
            .state()
            .secrets
            .values()
            .find(|s| s.label.as_deref() == Some(&format!("database.{rel_b}.tls.secret")))
            .map(|s| s.revisions[&s.latest()].clone())
    };
    assert!(
        wait(&mut d, 60, |d| tls_secret(d)
            .is_some_and(
                |c| c.get("tls").map(String::as_str) == Some("True")
            )),
        "the client was not told about TLS: {:?}\n{}",
        tls_secret(&d),
        d.log_tail(30)
    );
    let told = tls_secret(&d).unwrap();
    assert!(told["tls-ca"].starts_with("-----BEGIN CERTIFICATE-----"));
    write(&mut d, "client-b/0", "over tls").expect("client-b connects with verify-ca");
    // Plain connections are refused now, so the write went over TLS.
    assert!(d.connect(0, "operator", &operator).is_err());
}

/// `password` is in no log line, no hook tool's argv and no plain relation data.
fn assert_not_leaked(d: &Deployment, password: &str) {
    let state = d.model.state();
    for line in &state.log {
        assert!(!line.message.contains(password), "{}", line.message);
    }
    for record in d.model.history() {
        for call in &record.calls {
            assert!(
                call.args.iter().all(|a| !a.contains(password)),
                "{} {:?}",
                call.tool,
                call.args
            );
        }
    }
    for relation in state.relations.values() {
        for bag in relation
            .app_data
            .values()
            .chain(relation.unit_data.values())
        {
            assert!(bag.values().all(|v| !v.contains(password)));
        }
    }
}

/// The user secret's latest content for relation `rel`.
fn user_secret(d: &Deployment, rel: u64) -> std::collections::BTreeMap<String, String> {
    let state = d.model.state();
    let secret = state
        .secrets
        .values()
        .find(|s| s.label.as_deref() == Some(&format!("database.{rel}.user.secret")))
        .expect("the user secret")
        .clone();
    secret.revisions[&secret.latest()].clone()
}

/// Run `name` with typed parameters (`relation-id` as a number, flags as booleans).
fn action(
    d: &mut Deployment,
    unit: &str,
    name: &str,
    params: serde_json::Value,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let map = params.as_object().cloned().unwrap_or_default();
    let action = d.model.run_action(unit, name, map).unwrap().action.unwrap();
    match action.failed {
        Some(f) => Err(f),
        None => Ok(action.results),
    }
}

#[test]
fn credentials_wait_for_every_unit_and_rotate_without_downtime() {
    if !common_lab::can_run() {
        return;
    }
    let mut d = deploy();
    d.model.add_unit(APP, 1).unwrap();
    let replica = format!("{APP}/1");
    assert!(
        wait(&mut d, 180, |d| status_of(d, &replica).0 == "active"),
        "the second unit never became active: {:?}\n{}",
        status_of(&d, &replica),
        d.log_tail(40)
    );

    // A new client's credentials wait until the other unit's pg_hba lets its role in.
    let rel = add_client(&mut d, "client-a", &[("database", "app_db")]);
    let role = format!("relation_id_{rel}");
    assert!(
        wait(&mut d, 90, |d| status_of(d, "client-a/0")
            == ("active".into(), format!("connected as {role}"))),
        "{:?}\n{}",
        status_of(&d, "client-a/0"),
        d.log_tail(40)
    );
    let log = d.model.state().log;
    let waited = log
        .iter()
        .position(|l| {
            l.message
                .contains(&format!("relation(s) {rel} wait until {replica}"))
        })
        .unwrap_or_else(|| panic!("the leader did not wait for {replica}\n{}", d.log_tail(60)));
    let served = log
        .iter()
        .position(|l| {
            l.message
                .contains(&format!("relation {rel}: credentials in a secret"))
        })
        .expect("the credentials were published");
    assert!(
        waited < served,
        "published before {replica} allowed the role"
    );
    let first = user_secret(&d, rel);
    let old_password = first["password"].clone();
    // The replica's pg_hba lets the role in (a read on the replica).
    let on_replica =
        common_lab::postgres_client::connect_db(&d.address(1), &role, &old_password, "app_db")
            .expect("the replica lets the client in");
    assert_eq!(
        on_replica.value("SELECT count(*)::text FROM lab_check"),
        "1"
    );

    // Rotation: the other login gets a new password and is published; the old one keeps working.
    let leader = UNIT;
    let long_lived =
        common_lab::postgres_client::connect_db(&d.address(0), &role, &old_password, "app_db")
            .unwrap();
    let rotated = action(
        &mut d,
        leader,
        "rotate-client-password",
        serde_json::json!({"relation-id": rel}),
    )
    .expect("rotation");
    let alt = format!("{role}_alt");
    assert_eq!(rotated["username"], alt);
    assert_eq!(rotated["previous-username"], role);
    assert!(rotated.values().all(|v| !v.contains(&old_password)));
    let second = user_secret(&d, rel);
    assert_eq!(second["username"], alt);
    assert_ne!(second["password"], old_password);
    assert!(second["uris"].contains(&alt));
    // The client reads its secret again on its next connection and writes as the new login.
    assert_eq!(write(&mut d, "client-a/0", "after rotation").unwrap(), "2");
    let as_alt =
        common_lab::postgres_client::connect_db(&d.address(0), &alt, &second["password"], "app_db")
            .unwrap();
    as_alt.execute("CREATE TABLE made_by_alt (x int)");
    assert_eq!(
        as_alt.value("SELECT tableowner::text FROM pg_tables WHERE tablename = 'made_by_alt'"),
        role,
        "the alternate login acts as the relation's role"
    );
    assert!(
        common_lab::postgres_client::connect_db(&d.address(0), &role, &old_password, "app_db")
            .is_ok(),
        "the previous login keeps working until retired"
    );
    assert_eq!(long_lived.value("SELECT current_user::text"), role);

    // Retiring the previous login ends it, sessions included; the client is unaffected.
    let retired = action(
        &mut d,
        leader,
        "rotate-client-password",
        serde_json::json!({"relation-id": rel, "retire-previous": true}),
    )
    .expect("retire");
    assert_eq!(retired["retired"], role);
    assert!(
        retired["sessions-ended"].parse::<u64>().unwrap() >= 1,
        "{retired:?}"
    );
    let refused =
        common_lab::postgres_client::connect_db(&d.address(0), &role, &old_password, "app_db")
            .err()
            .expect("the retired login is refused");
    assert!(!refused.contains(&old_password));
    assert!(
        long_lived.try_value("SELECT 1::text").is_err(),
        "its session was ended"
    );
    assert_eq!(write(&mut d, "client-a/0", "after retire").unwrap(), "3");
    // Hooks after the rotation keep it: the published login and the retired one stay as they are.
    d.model.update_status(None);
    d.model.settle().unwrap();
    assert_eq!(user_secret(&d, rel)["username"], alt);
    assert!(
        common_lab::postgres_client::connect_db(&d.address(0), &role, &old_password, "app_db")
            .is_err()
    );

    // The next rotation goes back to the relation's own role, with a new password.
    let again = action(
        &mut d,
        leader,
        "rotate-client-password",
        serde_json::json!({"relation-id": rel}),
    )
    .expect("second rotation");
    assert_eq!(again["username"], role);
    let third = user_secret(&d, rel);
    assert_ne!(third["password"], old_password);
    assert_eq!(
        write(&mut d, "client-a/0", "back to the own role").unwrap(),
        "4"
    );
    // Bad input changes nothing.
    assert!(
        action(
            &mut d,
            leader,
            "rotate-client-password",
            serde_json::json!({"relation-id": 9999})
        )
        .unwrap_err()
        .contains("not a database relation")
    );
    assert!(
        action(
            &mut d,
            &replica,
            "rotate-client-password",
            serde_json::json!({"relation-id": rel})
        )
        .unwrap_err()
        .contains("leader")
    );
    assert_eq!(user_secret(&d, rel), third);

    // Failover: with the leader (unit 0) a replica, clients are still served, on the primary.
    let patroni = d.password("patroni");
    #[allow(clippy::disallowed_methods)] // curl as an independent HTTP client of Patroni's API
    let switched = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-u",
            &format!("patroni:{patroni}"),
            "-H",
            "Content-Type: application/json",
            "-d",
            &format!(r#"{{"leader": "{APP}-0", "candidate": "{APP}-1"}}"#),
            &format!("http://{}:8008/switchover", d.address(0)),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&switched.stdout), "200");
    assert!(
        wait(&mut d, 90, |d| status_of(d, &replica)
            == ("active".into(), "Primary".into())
            && status_of(d, UNIT).1 != "Primary"),
        "no switchover: {:?} {:?}\n{}",
        status_of(&d, UNIT),
        status_of(&d, &replica),
        d.log_tail(30)
    );
    let primary_endpoint = format!("{}:5432", d.address(1));
    // Every client is told where the primary is now, and keeps writing.
    assert!(
        wait(&mut d, 60, |d| d.model.state().relations[&rel].app_data
            [APP]["endpoints"]
            == primary_endpoint),
        "client-a was not told: {:?}\n{}",
        d.model.state().relations[&rel].app_data[APP].get("endpoints"),
        d.log_tail(30)
    );
    // (The client's endpoints-changed handler adds a row of its own when it reconnects.)
    let rows: u32 = write(&mut d, "client-a/0", "after failover")
        .expect("client-a writes on the new primary")
        .parse()
        .unwrap();
    assert!(rows >= 5, "{rows}");
    // A new client is served by the leader, on the primary it does not run.
    let rel_b = add_client(&mut d, "client-b", &[("database", "other_db")]);
    assert!(
        wait(&mut d, 90, |d| status_of(d, "client-b/0")
            == (
                "active".into(),
                format!("connected as relation_id_{rel_b}")
            )),
        "{:?}\n{}",
        status_of(&d, "client-b/0"),
        d.log_tail(40)
    );
    assert_eq!(
        d.model.state().relations[&rel_b].app_data[APP]["endpoints"],
        primary_endpoint
    );

    for password in [&old_password, &second["password"], &third["password"]] {
        assert_not_leaked(&d, password);
    }
}

fn pgsql_client(d: &Deployment) -> std::path::PathBuf {
    let dir = d.scratch().join("charms/shell-pgsql-client");
    if !dir.exists() {
        copy_tree(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/charms/shell-pgsql-client"),
            &dir,
        )
        .unwrap();
    }
    dir
}

#[test]
fn legacy_db_clients_are_served_and_mixing_endpoints_blocks() {
    if !common_lab::can_run() {
        return;
    }
    let mut d = deploy();
    let operator = d.password("operator");
    let charm = pgsql_client(&d);
    d.model
        .deploy(
            &charm,
            Some("legacy"),
            1,
            &[("database".into(), "legacy_db".into())],
        )
        .unwrap();
    d.model.settle().unwrap();
    let rel = d.model.integrate(&format!("{APP}:db"), "legacy").unwrap();
    let ours = |d: &Deployment| {
        d.model.state().relations[&rel]
            .app_data
            .get(APP)
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        wait(&mut d, 60, |d| ours(d).contains_key("master")),
        "nothing published: {:?}\n{}",
        status_of(&d, UNIT),
        d.log_tail(30)
    );
    let published = ours(&d);
    let role = format!("relation_id_{rel}");
    assert_eq!(published["user"], role);
    assert_eq!(published["database"], "legacy_db");
    assert_eq!(published["port"], "5432");
    assert_eq!(published["allowed-units"], "legacy/0");
    let client_address = d.model.address("legacy/0").unwrap();
    assert_eq!(published["allowed-subnets"], format!("{client_address}/32"));
    assert_eq!(published["host"], d.address(0));
    assert!(published["version"].starts_with("15."));
    assert_eq!(
        d.model.state().relations[&rel].unit_data[UNIT]
            .iter()
            .filter(|(k, _)| published.contains_key(*k))
            .count(),
        published.len(),
        "the unit bag carries the same data"
    );
    // The libpq string works as given (psql parses it), and the role is not a superuser on `db`.
    let master = published["master"].clone();
    let psql = common_lab::postgres_client::psql;
    psql(
        &master,
        "CREATE TABLE legacy_check (x int); INSERT INTO legacy_check VALUES (1)",
    )
    .unwrap();
    assert_eq!(
        psql(&master, "SELECT current_database()").unwrap(),
        "legacy_db"
    );
    let superuser = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user";
    assert_eq!(psql(&master, superuser).unwrap(), "f");
    assert!(d.model.state().log.iter().any(|l| {
        l.message
            .contains("DEPRECATION WARNING - `db` is a legacy interface")
    }));

    // db-admin gives a superuser (the reference's behaviour for that endpoint).
    d.model
        .deploy(
            &charm,
            Some("legacy-admin"),
            1,
            &[("database".into(), "admin_db".into())],
        )
        .unwrap();
    d.model.settle().unwrap();
    let admin_rel = d
        .model
        .integrate(&format!("{APP}:db-admin"), "legacy-admin")
        .unwrap();
    let admin_master = |d: &Deployment| {
        d.model.state().relations[&admin_rel]
            .app_data
            .get(APP)
            .and_then(|b| b.get("master").cloned())
    };
    assert!(
        wait(&mut d, 60, |d| admin_master(d).is_some()),
        "{}",
        d.log_tail(30)
    );
    assert_eq!(psql(&admin_master(&d).unwrap(), superuser).unwrap(), "t");

    // A database client next to legacy ones: blocked until one kind is removed.
    let shell = shell_client(&d);
    d.model.deploy(&shell, Some("modern"), 1, &[]).unwrap();
    d.model.settle().unwrap();
    let modern = d
        .model
        .integrate(&format!("{APP}:database"), "modern")
        .unwrap();
    let choose = "Please choose one endpoint to use. No need to relate all of them simultaneously!";
    assert!(
        wait(&mut d, 30, |d| status_of(d, UNIT)
            == ("blocked".into(), choose.into())),
        "{:?}\n{}",
        status_of(&d, UNIT),
        d.log_tail(20)
    );
    d.model.remove_relation(modern).unwrap();
    assert!(
        wait(&mut d, 30, |d| status_of(d, UNIT).0 == "active"),
        "{:?}",
        status_of(&d, UNIT)
    );

    // Requests the reference refuses: roles, and extensions the config does not enable.
    for (key, value, reason) in [
        (
            "roles",
            "admin",
            "roles requested through relation, use postgresql_client interface instead",
        ),
        (
            "extensions",
            "bloom,citext:1.6",
            "extensions requested through relation",
        ),
    ] {
        d.model
            .config("legacy", &[(key.to_string(), value.to_string())], &[])
            .unwrap();
        assert!(
            wait(&mut d, 30, |d| status_of(d, UNIT)
                == ("blocked".into(), reason.into())),
            "{key}: {:?}\n{}",
            status_of(&d, UNIT),
            d.log_tail(20)
        );
        assert!(
            psql(&master, "SELECT x FROM legacy_check").is_ok(),
            "the client still works"
        );
        d.model.config("legacy", &[], &[key.to_string()]).unwrap();
        assert!(
            wait(&mut d, 30, |d| status_of(d, UNIT).0 == "active"),
            "{key}: {:?}",
            status_of(&d, UNIT)
        );
    }
    // Enabled in the config, the extension request is served.
    d.model
        .config(APP, &[("plugin_bloom_enable".into(), "true".into())], &[])
        .unwrap();
    d.model
        .config("legacy", &[("extensions".into(), "bloom".into())], &[])
        .unwrap();
    assert!(
        wait(&mut d, 60, |d| ours(d)
            .get("extensions")
            .map(String::as_str)
            == Some("bloom")
            && status_of(d, UNIT).0 == "active"),
        "{:?} {:?}\n{}",
        ours(&d).get("extensions"),
        status_of(&d, UNIT),
        d.log_tail(20)
    );

    // Removed: the role goes, the data stays.
    d.model.remove_relation(rel).unwrap();
    let as_operator = d.connect(0, "operator", &operator).unwrap();
    assert!(
        wait(&mut d, 30, |_| as_operator.value(&format!(
            "SELECT count(*)::text FROM pg_roles WHERE rolname = '{role}'"
        )) == "0"),
        "{}",
        d.log_tail(20)
    );
    let kept =
        common_lab::postgres_client::connect_db(&d.address(0), "operator", &operator, "legacy_db")
            .unwrap();
    assert_eq!(kept.value("SELECT count(*)::text FROM legacy_check"), "1");
}
