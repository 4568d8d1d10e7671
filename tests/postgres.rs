//! The SQL layer against a real PostgreSQL 15: each test starts its own throwaway cluster
//! (`common_pg`), so they run in parallel.

mod common_pg;

use std::time::{Duration, Instant};

use common_pg::{Cluster, OPERATOR_PASSWORD, decode_b64, roles_of, stored_verifier};
use juju::Secret;
use postgresql_k8s::passwords::{SystemPasswords, SystemUser, generate_password};
use postgresql_k8s::postgres::{
    self, ExtensionError, RoleChange, RoleSpec, connect, ensure_extensions, ensure_role,
    ensure_system_users, password_works, scram_verifier, set_password, verifier_matches,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

#[tokio::test]
async fn verifiers_are_stored_as_computed_and_logins_work() {
    let pg = Cluster::start();
    let mut client = connect(&pg.operator()).await.unwrap();
    let pw = Secret::new("Sup3r s'cret \"pässword\" \\ $$");
    let change = ensure_role(&mut client, "app_user", &RoleSpec::login(&pw))
        .await
        .unwrap();
    assert!(change.created && change.password_set);

    let stored = stored_verifier(&client, "app_user").await.unwrap();
    let (head, _) = stored.rsplit_once('$').unwrap();
    let (_, salt_b64) = head.split_once(':').unwrap();
    assert!(stored.starts_with("SCRAM-SHA-256$4096:"), "{stored}");
    assert!(verifier_matches(&stored, pw.expose()));
    // The same computation with the stored salt gives the stored string, byte for byte.
    let salt = decode_b64(salt_b64);
    assert_eq!(salt.len(), 16);
    assert_eq!(scram_verifier(pw.expose(), &salt, 4096), stored);

    assert!(
        password_works("127.0.0.1", pg.port, "app_user", &pw)
            .await
            .unwrap()
    );
    let wrong = Secret::new("Sup3r s'cret");
    assert!(
        !password_works("127.0.0.1", pg.port, "app_user", &wrong)
            .await
            .unwrap()
    );
    assert!(
        !password_works("127.0.0.1", pg.port, "nobody", &pw)
            .await
            .unwrap()
    );

    // A verifier the server computed itself (as when Patroni sends a plain password) is
    // recognised: no ALTER ROLE.
    pg.psql_as_postgres("CREATE ROLE by_server LOGIN PASSWORD 'plain-Pw1'");
    let by_server = stored_verifier(&client, "by_server").await.unwrap();
    assert!(verifier_matches(&by_server, "plain-Pw1"));
    let same = Secret::new("plain-Pw1");
    let change = ensure_role(&mut client, "by_server", &RoleSpec::login(&same))
        .await
        .unwrap();
    assert_eq!(change, RoleChange::default());

    // A NOLOGIN role cannot log in with the right password; a role without CONNECT on
    // `postgres` authenticates all the same.
    let group_pw = Secret::new("group-pw");
    let spec = RoleSpec {
        login: false,
        ..RoleSpec::login(&group_pw)
    };
    ensure_role(&mut client, "a_group", &spec).await.unwrap();
    assert!(
        !password_works("127.0.0.1", pg.port, "a_group", &group_pw)
            .await
            .unwrap()
    );
    client
        .batch_execute("REVOKE ALL ON DATABASE postgres FROM PUBLIC")
        .await
        .unwrap();
    assert!(
        password_works("127.0.0.1", pg.port, "app_user", &pw)
            .await
            .unwrap()
    );
    // Nobody listening: an error, not "wrong password".
    drop(pg);
    assert!(
        password_works("127.0.0.1", 1, "app_user", &pw)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn ensure_role_is_idempotent_and_writes_only_differences() {
    let pg = Cluster::start();
    let mut client = connect(&pg.operator()).await.unwrap();
    let name = "we\"ird'; DROP ROLE operator; --";
    let pw = Secret::new("first-password");
    let spec = RoleSpec {
        replication: true,
        member_of: vec!["pg_monitor".into()],
        ..RoleSpec::login(&pw)
    };
    let first = ensure_role(&mut client, name, &spec).await.unwrap();
    assert_eq!(first.writes(), 3, "{first:?}"); // CREATE, GRANT, password
    let verifier = stored_verifier(&client, name).await.unwrap();

    let second = ensure_role(&mut client, name, &spec).await.unwrap();
    assert_eq!(second, RoleChange::default());
    assert!(!second.changed());
    assert_eq!(stored_verifier(&client, name).await.unwrap(), verifier);

    let row = client
        .query_one(
            "SELECT rolcanlogin, rolreplication, rolsuper, rolcreatedb FROM pg_roles \
             WHERE rolname = $1",
            &[&name],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get(0), row.get(1), row.get(2), row.get(3)),
        (true, true, false, false)
    );
    assert_eq!(roles_of(&client, name).await, ["pg_monitor"]);
    assert!(stored_verifier(&client, "operator").await.is_some());

    // One attribute and one membership more: exactly those are written.
    let more = RoleSpec {
        createdb: true,
        member_of: vec!["pg_monitor".into(), "pg_read_all_data".into()],
        ..spec.clone()
    };
    let third = ensure_role(&mut client, name, &more).await.unwrap();
    assert_eq!(third.altered, ["CREATEDB"]);
    assert_eq!(third.granted, ["pg_read_all_data"]);
    assert!(!third.created && !third.password_set);
    assert_eq!(stored_verifier(&client, name).await.unwrap(), verifier);

    // Names are checked before any SQL is built.
    assert!(
        ensure_role(&mut client, &"x".repeat(64), &spec)
            .await
            .is_err()
    );
    let missing_group = RoleSpec {
        member_of: vec!["no_such_group".into()],
        ..RoleSpec::group()
    };
    let err = ensure_role(&mut client, "lonely", &missing_group)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("no_such_group"), "{err:#}");
    // The failed transaction left nothing behind.
    assert!(
        client
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = 'lonely'", &[])
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn set_password_replaces_the_old_one_without_logging_it() {
    let pg = Cluster::start();
    let mut client = connect(&pg.operator()).await.unwrap();
    let old = generate_password(&mut StdRng::seed_from_u64(1), 32);
    let new = generate_password(&mut StdRng::seed_from_u64(2), 32);
    ensure_role(&mut client, "monitoring", &RoleSpec::login(&old))
        .await
        .unwrap();
    assert!(set_password(&mut client, "monitoring", &new).await.unwrap());
    assert!(
        password_works("127.0.0.1", pg.port, "monitoring", &new)
            .await
            .unwrap()
    );
    assert!(
        !password_works("127.0.0.1", pg.port, "monitoring", &old)
            .await
            .unwrap()
    );
    // The same password again: nothing written.
    let verifier = stored_verifier(&client, "monitoring").await.unwrap();
    assert!(!set_password(&mut client, "monitoring", &new).await.unwrap());
    assert_eq!(
        stored_verifier(&client, "monitoring").await.unwrap(),
        verifier
    );
    assert!(set_password(&mut client, "ghost", &new).await.is_err());

    // log_statement = 'all' logged our other statements, but neither password nor any part of
    // the verifier reached the log.
    let log = pg.log();
    assert!(log.contains("SET LOCAL log_statement = 'none'"), "{log}");
    assert!(log.contains("pg_authid"), "reads are logged: {log}");
    for needle in [old.expose(), new.expose()] {
        assert!(!log.contains(needle), "a password is in the server log");
    }
    for part in verifier.split(['$', ':']).skip(2) {
        assert!(!log.contains(part), "part of the verifier is in the log");
    }
    assert!(!log.contains(OPERATOR_PASSWORD));
}

#[tokio::test]
async fn system_users_are_set_up_once() {
    let pg = Cluster::start();
    let mut client = connect(&pg.operator()).await.unwrap();
    let mut passwords = SystemPasswords::generate(&mut StdRng::seed_from_u64(9));
    passwords.operator = Secret::new(OPERATOR_PASSWORD);

    let report = ensure_system_users(&mut client, &passwords).await.unwrap();
    let changed: Vec<&str> = report
        .roles
        .iter()
        .filter(|(_, c)| c.created)
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        changed,
        [
            "identity_access",
            "internal_access",
            "relation_access",
            "admin",
            "backup",
            "replication",
            "rewind",
            "monitoring"
        ]
    );
    let operator = &report
        .roles
        .iter()
        .find(|(n, _)| n == "operator")
        .unwrap()
        .1;
    assert_eq!(operator.granted, ["internal_access"]);
    assert!(!operator.password_set && operator.altered.is_empty());
    assert!(
        report
            .privileges
            .contains(&"REVOKE ALL PRIVILEGES ON DATABASE \"postgres\" FROM PUBLIC".to_owned()),
        "{:?}",
        report.privileges
    );

    let attrs = |name: &'static str| {
        let client = &client;
        async move {
            let row = client
                .query_one(
                    "SELECT rolcanlogin, rolsuper, rolreplication, rolcreatedb, rolcreaterole \
                     FROM pg_roles WHERE rolname = $1",
                    &[&name],
                )
                .await
                .unwrap();
            let attrs: [bool; 5] = [row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)];
            attrs
        }
    };
    // [login, superuser, replication, createdb, createrole]
    assert_eq!(attrs("operator").await, [true, true, true, true, true]);
    assert_eq!(attrs("backup").await, [true, true, false, false, false]);
    assert_eq!(
        attrs("replication").await,
        [true, false, true, false, false]
    );
    assert_eq!(attrs("rewind").await, [true, false, false, false, false]);
    assert_eq!(
        attrs("monitoring").await,
        [true, false, false, false, false]
    );
    for group in [
        "identity_access",
        "internal_access",
        "relation_access",
        "admin",
    ] {
        assert_eq!(attrs(group).await, [false; 5], "{group}");
    }
    assert_eq!(
        roles_of(&client, "admin").await,
        ["pg_read_all_data", "pg_write_all_data"]
    );
    assert_eq!(
        roles_of(&client, "monitoring").await,
        ["internal_access", "pg_monitor"]
    );
    for user in SystemUser::ALL {
        let name = user.username();
        assert!(
            roles_of(&client, name)
                .await
                .contains(&"internal_access".to_owned())
        );
        assert!(
            password_works("127.0.0.1", pg.port, name, passwords.get(user))
                .await
                .unwrap(),
            "{name} cannot log in"
        );
    }

    let privileges = client
        .query_one(
            "SELECT has_function_privilege('rewind', 'pg_catalog.pg_ls_dir(text, boolean, boolean)', 'EXECUTE') \
               AND has_function_privilege('rewind', 'pg_catalog.pg_stat_file(text, boolean)', 'EXECUTE') \
               AND has_function_privilege('rewind', 'pg_catalog.pg_read_binary_file(text)', 'EXECUTE') \
               AND has_function_privilege('rewind', 'pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)', 'EXECUTE'), \
             has_database_privilege('admin', 'postgres', 'CONNECT'), \
             has_database_privilege('replication', 'postgres', 'CREATE'), \
             (SELECT datacl::text FROM pg_database WHERE datname = 'postgres')",
            &[],
        )
        .await
        .unwrap();
    assert!(privileges.get::<_, bool>(0), "rewind grants");
    assert!(privileges.get::<_, bool>(1) && privileges.get::<_, bool>(2));
    let acl: String = privileges.get(3);
    assert!(
        !acl.contains("{=") && !acl.contains(",="),
        "PUBLIC keeps {acl}"
    );
    // A role with no grants of its own can no longer connect to `postgres`.
    pg.psql_as_postgres("CREATE ROLE outsider LOGIN PASSWORD 'outsider-pw'");
    let err = connect(&postgres::ConnParams::new(
        "127.0.0.1",
        pg.port,
        "outsider",
        &Secret::new("outsider-pw"),
        "postgres",
    ))
    .await
    .unwrap_err();
    assert!(format!("{err:#}").contains("permission denied"), "{err:#}");

    let again = ensure_system_users(&mut client, &passwords).await.unwrap();
    assert_eq!(again.writes(), 0, "{again:?}");
    assert!(!again.changed());

    // The privileges are those of `postgres`: another database is refused.
    client.batch_execute("CREATE DATABASE other").await.unwrap();
    let mut other = connect(&pg.operator().with_dbname("other")).await.unwrap();
    assert!(ensure_system_users(&mut other, &passwords).await.is_err());
}

#[tokio::test]
async fn extensions_are_created_and_dropped_in_every_database() {
    let pg = Cluster::start();
    let client = connect(&pg.operator()).await.unwrap();
    client.batch_execute("CREATE DATABASE app").await.unwrap();
    let available = postgres::available_extensions(&client).await.unwrap();
    assert!(available.contains("pg_trgm") && available.contains("uuid-ossp"));
    let databases = postgres::non_template_databases(&client).await.unwrap();
    assert_eq!(databases, ["app", "postgres"]);
    let params = pg.operator();
    let installed = |db: &'static str| {
        let params = params.with_dbname(db);
        async move {
            let c = connect(&params).await.unwrap();
            c.query("SELECT extname::text FROM pg_extension ORDER BY 1", &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };

    let on = [
        ("pg_trgm", true),
        ("uuid-ossp", true),
        ("no_such_ext", false),
    ];
    let report = ensure_extensions(&params, &databases, &on).await.unwrap();
    assert_eq!(report.created.len(), 4, "{report:?}");
    assert!(report.dropped.is_empty());
    assert_eq!(installed("app").await, ["pg_trgm", "plpgsql", "uuid-ossp"]);
    let again = ensure_extensions(&params, &databases, &on).await.unwrap();
    assert_eq!(again.writes(), 0);

    // An unavailable extension is refused by name, before anything changes.
    let bad = [
        ("citext", true),
        ("no_such_ext", true),
        ("also_missing", true),
    ];
    match ensure_extensions(&params, &databases, &bad).await {
        Err(ExtensionError::Unavailable { names }) => {
            assert_eq!(names, ["also_missing", "no_such_ext"])
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(!installed("postgres").await.contains(&"citext".to_owned()));

    // Something depends on pg_trgm in `app`: dropping it there is its own error.
    let app = connect(&params.with_dbname("app")).await.unwrap();
    app.batch_execute(
        "CREATE TABLE t (s text); CREATE INDEX t_trgm ON t USING gin (s gin_trgm_ops)",
    )
    .await
    .unwrap();
    let off = [("pg_trgm", false), ("uuid-ossp", false)];
    match ensure_extensions(&params, &databases, &off).await {
        Err(ExtensionError::DependentObjects {
            name,
            database,
            detail,
        }) => {
            assert_eq!((name.as_str(), database.as_str()), ("pg_trgm", "app"));
            assert!(detail.contains("t_trgm"), "{detail}");
        }
        other => panic!("expected DependentObjects, got {other:?}"),
    }
    // uuid-ossp came later in the list, so it was dropped first (reverse order).
    assert_eq!(installed("app").await, ["pg_trgm", "plpgsql"]);
    app.batch_execute("DROP TABLE t").await.unwrap();
    let report = ensure_extensions(&params, &databases, &off).await.unwrap();
    assert_eq!(
        report.dropped,
        [
            ("app".to_owned(), "pg_trgm".to_owned()),
            ("postgres".to_owned(), "uuid-ossp".to_owned()),
            ("postgres".to_owned(), "pg_trgm".to_owned()),
        ]
    );
    assert_eq!(installed("postgres").await, ["plpgsql"]);
}

#[tokio::test]
async fn server_facts() {
    let pg = Cluster::start();
    let client = connect(&pg.operator()).await.unwrap();
    let (major, full) = postgres::server_version(&client).await.unwrap();
    assert_eq!(major, 15);
    assert!(full.starts_with("15."), "{full}");
    assert!(!postgres::is_in_recovery(&client).await.unwrap());
    let show = |name: &'static str| postgres::show(&client, name);
    assert_eq!(show("password_encryption").await.unwrap(), "scram-sha-256");
    assert_eq!(show("log_statement").await.unwrap(), "all");
    assert!(show("no_such_setting").await.is_err());
    assert!(
        postgres::pending_restart_settings(&client)
            .await
            .unwrap()
            .is_empty()
    );
    client
        .batch_execute("ALTER SYSTEM SET shared_buffers = '24MB'")
        .await
        .unwrap();
    client
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    // The reload is asynchronous: wait (briefly) for the server to notice.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let fresh = connect(&pg.operator()).await.unwrap();
        let pending = postgres::pending_restart_settings(&fresh).await.unwrap();
        if pending == ["shared_buffers"] {
            break;
        }
        assert!(Instant::now() < deadline, "still pending: {pending:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Client databases: created once, owned by the only client or shared by grants, private to
/// their clients; a dropped client's objects go to `operator` and the data stays.
#[tokio::test]
async fn client_databases_are_owned_shared_and_survive_their_roles() {
    let pg = Cluster::start();
    let mut admin = connect(&pg.operator()).await.unwrap();
    let system = SystemPasswords::generate(&mut StdRng::seed_from_u64(7));
    ensure_system_users(&mut admin, &system).await.unwrap();
    let params = postgres::ConnParams::new(
        "127.0.0.1",
        pg.port,
        "operator",
        system.get(SystemUser::Operator),
        "postgres",
    );
    let pw1 = Secret::new("client-one-password");
    let pw2 = Secret::new("client-two-password");
    for (user, pw) in [("relation_id_1", &pw1), ("relation_id_2", &pw2)] {
        let mut spec = RoleSpec::login(pw);
        spec.member_of.push("relation_access".into());
        ensure_role(&mut admin, user, &spec).await.unwrap();
    }
    // The only client owns what is in its database.
    let writes = postgres::ensure_client_database(&admin, &params, "app-db", "relation_id_1", true)
        .await
        .unwrap();
    assert!(writes >= 2, "{writes}");
    let again = postgres::ensure_client_database(&admin, &params, "app-db", "relation_id_1", true)
        .await
        .unwrap();
    assert_eq!(again, 0, "a second run writes nothing");
    let client_params = |user: &str, pw: &Secret| {
        postgres::ConnParams::new("127.0.0.1", pg.port, user, pw, "app-db")
    };
    let one = connect(&client_params("relation_id_1", &pw1))
        .await
        .unwrap();
    one.batch_execute(
        "CREATE TABLE notes (id serial PRIMARY KEY, body text); \
         INSERT INTO notes (body) VALUES ('kept');",
    )
    .await
    .unwrap();
    // Another client is refused until it is given the database.
    assert!(
        connect(&client_params("relation_id_2", &pw2))
            .await
            .is_err()
    );
    postgres::ensure_client_database(&admin, &params, "app-db", "relation_id_2", false)
        .await
        .unwrap();
    let two = connect(&client_params("relation_id_2", &pw2))
        .await
        .unwrap();
    let count: i64 = two
        .query_one("SELECT count(*) FROM notes", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1, "shared by grants");
    two.batch_execute(
        "CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text); \
         CREATE TABLE theirs (x int); INSERT INTO notes (body) VALUES ('two');",
    )
    .await
    .expect("the second client creates and writes in the shared schema");
    drop((one, two));
    // Dropping the owner keeps the data, now owned by operator.
    assert!(
        postgres::drop_client_role(&admin, &params, "relation_id_1")
            .await
            .unwrap()
    );
    assert!(
        !postgres::drop_client_role(&admin, &params, "relation_id_1")
            .await
            .unwrap()
    );
    assert!(
        !postgres::role_exists(&admin, "relation_id_1")
            .await
            .unwrap()
    );
    let inside = connect(&params.with_dbname("app-db")).await.unwrap();
    const NOTES_OWNER: &str = "SELECT tableowner::text FROM pg_tables WHERE tablename = 'notes'";
    let owner: String = inside.query_one(NOTES_OWNER, &[]).await.unwrap().get(0);
    assert_eq!(owner, "operator");
    // A new only client of the database takes ownership again.
    let pw3 = Secret::new("client-three-password");
    ensure_role(&mut admin, "relation_id_3", &RoleSpec::login(&pw3))
        .await
        .unwrap();
    postgres::ensure_client_database(&admin, &params, "app-db", "relation_id_3", true)
        .await
        .unwrap();
    let three = connect(&client_params("relation_id_3", &pw3))
        .await
        .unwrap();
    three
        .batch_execute("INSERT INTO notes (body) VALUES ('mine now')")
        .await
        .unwrap();
    let owner: String = inside.query_one(NOTES_OWNER, &[]).await.unwrap().get(0);
    assert_eq!(owner, "relation_id_3");
}
