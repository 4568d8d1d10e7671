//! relation-ids, relation-list, relation-get, relation-set, relation-model-get.

use crate::fixture::{UUID, call, call_in, ctx, err, model, ok, rel_ctx};

#[test]
fn relation_ids_by_endpoint() {
    let mut m = model();
    let mut c = ctx(&m, "pg/0");
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-ids",
            &["database", "--format=json"]
        )),
        "[\"database:2\"]\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-ids",
            &["database-peers", "--format=json"]
        )),
        "[\"database-peers:1\"]\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut c, "relation-ids", &["database"])),
        "database:2\n"
    );
    // Juju answers an empty list for an endpoint without relations, known or not.
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-ids",
            &["nope", "--format=json"]
        )),
        "[]\n"
    );
    assert_eq!(ok(call(&mut m, &mut c, "relation-ids", &["nope"])), "");
    assert_eq!(
        err(call(&mut m, &mut c, "relation-ids", &[])),
        (2, "ERROR no relation name specified\n".into())
    );
    // In a relation hook the endpoint defaults to the hook's; broken relations are left out.
    m.relations.get_mut(&2).unwrap().dying = true;
    let mut h = rel_ctx(&m, "pg/0", 2, None);
    assert_eq!(
        ok(call(&mut m, &mut h, "relation-ids", &["--format=json"])),
        "[]\n"
    );
}

#[test]
fn relation_list_units_and_app() {
    let mut m = model();
    let mut c = ctx(&m, "pg/0");
    // Our Rust client: --format=json -r endpoint:id; ops: --format=json --app -r id.
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-list",
            &["--format=json", "-r", "database:2"]
        )),
        "[\"app/0\",\"app/1\"]\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-list",
            &["--format=json", "--app", "-r", "2"]
        )),
        "\"app\"\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut c, "relation-list", &["-r", "1"])),
        "pg/1\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut c, "relation-list", &["--app", "-r", "1"])),
        "pg\n"
    );
    assert_eq!(
        err(call(
            &mut m,
            &mut c,
            "relation-list",
            &["--format=json", "-r", "database:99"]
        )),
        (
            2,
            "ERROR invalid value \"database:99\" for option -r: relation not found\n".into()
        )
    );
    assert_eq!(
        err(call(&mut m, &mut c, "relation-list", &["--relation=db:x"])),
        (
            2,
            "ERROR invalid value \"db:x\" for option --relation: invalid relation id\n".into()
        )
    );
    assert_eq!(
        err(call(&mut m, &mut c, "relation-list", &[])),
        (2, "ERROR no relation id specified\n".into())
    );
    let mut h = rel_ctx(&m, "app/1", 2, Some("pg/0"));
    assert_eq!(
        ok(call(&mut m, &mut h, "relation-list", &["--format=json"])),
        "[\"pg/0\",\"pg/1\"]\n"
    );
}

#[test]
fn relation_get_reads_by_the_rules() {
    let mut m = model();
    let mut c = rel_ctx(&m, "pg/1", 2, Some("app/0"));
    // ops: --format=json -r database:2 - app/0 (all keys of a remote unit).
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-get",
            &["--format=json", "-r", "database:2", "-", "app/0"]
        )),
        "{\"egress\":\"10.1.9.1/32\"}\n"
    );
    // Our Rust client: --format=json -r database:2 --app - app.
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-get",
            &["--format=json", "-r", "database:2", "--app", "-", "app"]
        )),
        "{\"database\":\"mydb\"}\n"
    );
    // --app with a unit name reads that unit's application.
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-get",
            &["--format=json", "--app", "database", "app/1"]
        )),
        "\"mydb\"\n"
    );
    // Defaults: all keys of JUJU_REMOTE_UNIT.
    assert_eq!(
        ok(call(&mut m, &mut c, "relation-get", &["--format=json"])),
        "{\"egress\":\"10.1.9.1/32\"}\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut c, "relation-get", &["egress"])),
        "10.1.9.1/32\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-get",
            &["--format=json", "missing"]
        )),
        "null\n"
    );
    assert_eq!(ok(call(&mut m, &mut c, "relation-get", &["missing"])), "");
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-get",
            &["--format=json", "-", "app/1"]
        )),
        "{}\n"
    );
    // A non-leader reading its own application bag, and units or apps outside the relation.
    assert_eq!(
        err(call(
            &mut m,
            &mut c,
            "relation-get",
            &["--format=json", "--app", "-", "pg"]
        )),
        (1, "ERROR permission denied\n".into())
    );
    // ... but a peer relation's application bag is readable by every unit (ops reads it).
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-get",
            &[
                "--format=json",
                "-r",
                "database-peers:1",
                "--app",
                "-",
                "pg"
            ]
        )),
        "{\"leader\":\"pg/0\"}\n"
    );
    assert_eq!(
        err(call(&mut m, &mut c, "relation-get", &["-", "other/0"])),
        (1, "ERROR permission denied\n".into())
    );
    assert_eq!(
        err(call(
            &mut m,
            &mut c,
            "relation-get",
            &["--app", "-", "other"]
        )),
        (1, "ERROR permission denied\n".into())
    );
    // Reading peers' bags over the peer relation.
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-get",
            &["--format=json", "-r", "1", "state", "pg/1"]
        )),
        "\"replica\"\n"
    );
    // No unit and no default.
    let mut plain = ctx(&m, "pg/1");
    assert_eq!(
        err(call(
            &mut m,
            &mut plain,
            "relation-get",
            &["-r", "2", "egress"]
        )),
        (2, "ERROR no unit or application specified\n".into())
    );
    assert_eq!(
        err(call(&mut m, &mut plain, "relation-get", &[])),
        (2, "ERROR no relation id specified\n".into())
    );
    // Without a remote unit (relation-created, app-level changed) the remote app is read.
    let mut created = rel_ctx(&m, "pg/1", 2, None);
    assert_eq!(
        ok(call(
            &mut m,
            &mut created,
            "relation-get",
            &["--format=json"]
        )),
        "{\"database\":\"mydb\"}\n"
    );
}

#[test]
fn relation_set_merges_in_the_working_copy() {
    let mut m = model();
    let mut c = rel_ctx(&m, "pg/0", 2, Some("app/0"));
    // ops and our client: JSON on stdin through --file -.
    let a = call_in(
        &mut m,
        &mut c,
        "relation-set",
        &["-r", "database:2", "--app", "--file", "-"],
        br#"{"endpoints": "pg-0:5432", "version": "16"}"#,
        "/",
    );
    ok(a);
    ok(call_in(
        &mut m,
        &mut c,
        "relation-set",
        &["--file", "-"],
        b"address: 10.1.2.3\nport: 5432\n",
        "/",
    ));
    ok(call(
        &mut m,
        &mut c,
        "relation-set",
        &["-r", "2", "extra=1", "port="],
    ));
    // Own bags show the uncommitted writes; the committed model is untouched.
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-get",
            &["--format=json", "-", "pg/0"]
        )),
        "{\"address\":\"10.1.2.3\",\"extra\":\"1\"}\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-get",
            &["--format=json", "--app", "-", "pg"]
        )),
        "{\"endpoints\":\"pg-0:5432\",\"version\":\"16\"}\n"
    );
    assert!(m.relations[&2].unit_data["pg/0"].is_empty());
    assert!(m.relations[&2].app_data["pg"].is_empty());
    // A leader reading `- pg` without --app gets its own unit bag, as Juju does.
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-get",
            &["--format=json", "-", "pg"]
        )),
        "{\"address\":\"10.1.2.3\",\"extra\":\"1\"}\n"
    );
    // Pairs override the file; a relative --file is read from the caller's directory.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.yaml"), "a: from-file\nb: kept\n").unwrap();
    let cwd = dir.path().to_str().unwrap();
    ok(call_in(
        &mut m,
        &mut c,
        "relation-set",
        &["--file", "data.yaml", "a=override"],
        b"",
        cwd,
    ));
    let bag = &c.working.relations[&2].unit_data["pg/0"];
    assert_eq!((bag["a"].as_str(), bag["b"].as_str()), ("override", "kept"));
    let missing = call_in(
        &mut m,
        &mut c,
        "relation-set",
        &["--file", "nope.yaml"],
        b"",
        cwd,
    );
    assert_eq!(
        err(missing),
        (
            1,
            format!("ERROR open {cwd}/nope.yaml: no such file or directory\n")
        )
    );
    assert_eq!(
        err(call(&mut m, &mut c, "relation-set", &["novalue"])),
        (2, "ERROR expected \"key=value\", got \"novalue\"\n".into())
    );
    assert_eq!(
        err(call(&mut m, &mut c, "relation-set", &["a=1", "a=2"])),
        (2, "ERROR key \"a\" specified more than once\n".into())
    );
    assert_eq!(
        err(call_in(
            &mut m,
            &mut c,
            "relation-set",
            &["--file", "-"],
            b"a: {b: c}\n",
            "/"
        ))
        .0,
        1
    );
}

#[test]
fn relation_set_app_bag_needs_leadership() {
    let mut m = model();
    let mut c = rel_ctx(&m, "pg/1", 2, Some("app/0"));
    assert_eq!(
        err(call_in(
            &mut m,
            &mut c,
            "relation-set",
            &["-r", "database:2", "--app", "--file", "-"],
            br#"{"a": "b"}"#,
            "/"
        )),
        (1, "ERROR cannot write relation settings\n".into())
    );
    assert!(c.working.relations[&2].app_data["pg"].is_empty());
    let mut plain = ctx(&m, "pg/1");
    assert_eq!(
        err(call(&mut m, &mut plain, "relation-set", &["a=b"])),
        (2, "ERROR no relation id specified\n".into())
    );
    assert_eq!(
        err(call(
            &mut m,
            &mut plain,
            "relation-set",
            &["-r", "7", "a=b"]
        )),
        (
            2,
            "ERROR invalid value \"7\" for option -r: relation not found\n".into()
        )
    );
}

#[test]
fn relation_model_get_answers_the_model_uuid() {
    let mut m = model();
    let mut c = rel_ctx(&m, "pg/0", 2, Some("app/0"));
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "relation-model-get",
            &["--format=json"]
        )),
        format!("{{\"uuid\":\"{UUID}\"}}\n")
    );
    assert_eq!(
        ok(call(&mut m, &mut c, "relation-model-get", &["-r", "1"])),
        format!("uuid: {UUID}\n")
    );
}
