//! The `database` client test charm (ops and the data-platform requirer library, from PyPI)
//! against a shell stand-in provider that answers as data_interfaces providers do: credentials
//! in a Juju secret granted to the relation, `secret-user` pointing to it, and endpoints where no
//! PostgreSQL listens. The library must write the request, pick up the secret, and the charm
//! must try to connect with what the secret held. This checks the client before it meets the
//! real charm.

mod common_lab;

use std::time::Instant;

use common_lab::clients;
use lab::engine::{Isolation, Model, ModelOptions};
use serde_json::Value;

const CLIENT: &str = "db-client";
const CLIENT_UNIT: &str = "db-client/0";
const PROVIDER: &str = "fake-db-provider";
const DATABASE: &str = "lab_orders";
const ROLES: &str = "CREATEDB";
const ENDPOINT: &str = "127.0.0.1:5999";

#[test]
fn the_client_requests_through_the_library_and_uses_the_secret() {
    let started = Instant::now();
    let python = clients::db_python();
    let venv_ready = started.elapsed();

    let bin_dir = lab::harness::lab_bin_dir(&common_lab::target_dir(), false).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let client = clients::db_client_charm(tmp.path());
    let provider = clients::fake_db_provider_charm(tmp.path());
    let mut opts = ModelOptions::new(&tmp.path().join("model"), &bin_dir);
    opts.isolation = Isolation::None;
    opts.env
        .insert(clients::DB_PYTHON_ENV.into(), python.display().to_string());
    let mut m = Model::new(opts).unwrap();
    m.deploy(&provider, None, 1, &[]).unwrap();
    m.deploy(
        &client,
        None,
        1,
        &[
            ("database".into(), DATABASE.into()),
            ("extra-user-roles".into(), ROLES.into()),
        ],
    )
    .unwrap();
    common_lab::settle_ok(&mut m);
    let rid = m
        .integrate(
            &format!("{CLIENT}:database"),
            &format!("{PROVIDER}:database"),
        )
        .unwrap();
    common_lab::settle_ok(&mut m);
    let model_ready = started.elapsed();

    let state = m.state();
    let rel = &state.relations[&rid];
    let log = common_lab::model_log(&m);

    // (a) The library wrote the request: the configured database and roles, and the fields it
    // wants in secrets, as a JSON list (in the application bag and the unit bag).
    let request = &rel.app_data[CLIENT];
    assert_eq!(request.get("database").map(String::as_str), Some(DATABASE));
    assert_eq!(
        request.get("extra-user-roles").map(String::as_str),
        Some(ROLES)
    );
    let requested: Vec<String> =
        serde_json::from_str(&request["requested-secrets"]).expect("requested-secrets is JSON");
    for field in ["username", "password", "tls", "tls-ca", "uris"] {
        assert!(
            requested.iter().any(|f| f == field),
            "{field} in {requested:?}"
        );
    }
    let unit_bag = &rel.unit_data[CLIENT_UNIT];
    assert_eq!(
        unit_bag.get("requested-secrets"),
        request.get("requested-secrets")
    );

    // The stand-in answered, with a secret the library bound a consumer label to.
    let answer = &rel.app_data[PROVIDER];
    let pointer = answer
        .get("secret-user")
        .unwrap_or_else(|| panic!("no answer: {answer:?}\n{log}"));
    let id = pointer.rsplit('/').next().unwrap();
    let secret = &state.secrets[id];
    let content = &secret.revisions[&secret.latest()];
    let password = content["password"].clone();
    assert_eq!(
        secret.consumers[CLIENT_UNIT].label.as_deref(),
        Some(format!("database.{rid}.user.secret").as_str()),
        "{secret:?}"
    );
    // The library keeps its last view of the provider's bag in the unit bag (`data`).
    let seen: Value = serde_json::from_str(&unit_bag["data"]).unwrap();
    assert_eq!(seen["secret-user"], pointer.as_str());

    // (b) It logged that it got credentials (never the password)...
    let username = format!("relation_id_{rid}");
    assert!(
        log.contains(&format!(
            "received credentials on relation {rid}: username {username}, endpoints {ENDPOINT}"
        )),
        "{log}"
    );
    assert!(!log.contains(&password), "the password is in the log");

    // ... reads them back through the library ...
    let record = m
        .run_action(CLIENT_UNIT, "get-credentials-info", Default::default())
        .unwrap();
    assert_eq!(record.code, 0, "{}", record.output);
    let results = record.action.unwrap().results;
    assert_eq!(results["username"], username, "{results:?}");
    assert_eq!(results["endpoints"], ENDPOINT, "{results:?}");
    assert_eq!(results["database"], DATABASE, "{results:?}");
    assert_eq!(&results["secret-user"], pointer, "{results:?}");
    assert!(!results.values().any(|v| v.contains(&password)));

    // ... and tried to connect with them, where nothing listens.
    let status = m.unit_status(CLIENT_UNIT).unwrap();
    assert_eq!(status.status, "blocked", "{status:?}\n{log}");
    assert!(
        status.message.starts_with("cannot connect: ") && status.message.contains("5999"),
        "{status:?}"
    );
    assert!(!status.message.contains(&password));
    let record = m
        .run_action(
            CLIENT_UNIT,
            "write",
            [("note".to_string(), Value::from("hi"))]
                .into_iter()
                .collect(),
        )
        .unwrap();
    let failed = record.action.unwrap().failed.unwrap_or_default();
    assert!(
        failed.starts_with("cannot write: ") && failed.contains("5999"),
        "{failed}"
    );

    eprintln!(
        "venv ready in {venv_ready:?}, model settled in {:?}, all in {:?}",
        model_ready - venv_ready,
        started.elapsed()
    );
}
