//! Secrets across two applications: add, grant, consume, label, revisions, tracking, revoke.

use crate::fixture::{UUID, call, call_in, commit, ctx, err, model, ok, rel_ctx};

fn xid(uri: &str) -> String {
    uri.trim().rsplit('/').next().unwrap().to_string()
}

#[test]
fn full_lifecycle_between_two_applications() {
    let mut m = model();
    // The owner (pg leader) adds an app-owned secret, ops style (key#file=path).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("password"), "s3cret").unwrap();
    let mut c = rel_ctx(&m, "pg/0", 2, Some("app/0"));
    let out = ok(call_in(
        &mut m,
        &mut c,
        "secret-add",
        &[
            "--label",
            "db-creds",
            "--description",
            "creds",
            "--owner",
            "application",
            "username=admin",
            "password#file=password",
        ],
        b"",
        dir.path().to_str().unwrap(),
    ));
    assert!(
        out.starts_with(&format!("secret://{UUID}/")) && out.ends_with('\n'),
        "{out}"
    );
    let id = xid(&out);
    assert_eq!(id.len(), 20);
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
    );
    // Usable at once in the same hook, by id or label.
    assert_eq!(
        ok(call(&mut m, &mut c, "secret-get", &["--format=json", &id])),
        "{\"password\":\"s3cret\",\"username\":\"admin\"}\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut c, "secret-get", &["--label", "db-creds"])),
        "password: s3cret\nusername: admin\n"
    );
    // The first positional is always the id: a key needs one.
    assert_eq!(
        err(call(
            &mut m,
            &mut c,
            "secret-get",
            &["--label", "db-creds", "password"]
        )),
        (2, "ERROR secret URI \"password\" not valid\n".into())
    );
    // Grant to the remote application through the relation (ops: --relation <int> <id>).
    ok(call(
        &mut m,
        &mut c,
        "secret-grant",
        &["--relation", "2", out.trim()],
    ));
    assert!(m.secrets.is_empty(), "buffered until the hook succeeds");
    commit(&mut m, c);

    // The consumer reads by id and binds its own label.
    let mut app = rel_ctx(&m, "app/0", 2, Some("pg/0"));
    assert_eq!(
        ok(call(
            &mut m,
            &mut app,
            "secret-get",
            &[
                "--format=json",
                &format!("secret:{id}"),
                "--label",
                "pg-creds"
            ]
        )),
        "{\"password\":\"s3cret\",\"username\":\"admin\"}\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut app,
            "secret-get",
            &["--format=json", "--label", "pg-creds"]
        )),
        "{\"password\":\"s3cret\",\"username\":\"admin\"}\n"
    );
    commit(&mut m, app);
    assert_eq!(
        m.secrets[&id].consumers["app/0"].label.as_deref(),
        Some("pg-creds")
    );
    assert_eq!(m.secrets[&id].consumers["app/0"].revision, 1);

    // The owner sets new content: revision 2; identical content makes no revision.
    let mut owner = ctx(&m, "pg/0");
    ok(call(
        &mut m,
        &mut owner,
        "secret-set",
        &[
            "--owner",
            "application",
            &id,
            "username=admin",
            "password=n3w",
        ],
    ));
    ok(call(
        &mut m,
        &mut owner,
        "secret-set",
        &[&id, "username=admin", "password=n3w"],
    ));
    assert_eq!(owner.working.secrets[&id].latest(), 2);
    // The owner tracks revision 1 until it refreshes.
    assert_eq!(
        ok(call(&mut m, &mut owner, "secret-get", &[&id, "password"])),
        "s3cret\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut owner,
            "secret-info-get",
            &["--format=json", &id]
        )),
        format!(
            "{{\"{id}\":{{\"revision\":2,\"label\":\"db-creds\",\"owner\":\"application\",\"description\":\"creds\",\"access\":[{{\"target\":\"application-app\",\"scope\":\"relation-app.database#pg.database\",\"role\":\"view\"}}]}}}}\n"
        )
    );
    commit(&mut m, owner);

    // The consumer still sees its tracked revision; --peek shows the latest without moving;
    // --refresh moves the tracking.
    let mut app = ctx(&m, "app/0");
    assert_eq!(
        ok(call(
            &mut m,
            &mut app,
            "secret-get",
            &["--label", "pg-creds", "--format=json"]
        )),
        "{\"password\":\"s3cret\",\"username\":\"admin\"}\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut app,
            "secret-get",
            &["--format=json", &id, "--peek"]
        )),
        "{\"password\":\"n3w\",\"username\":\"admin\"}\n"
    );
    assert_eq!(app.working.secrets[&id].consumers["app/0"].revision, 1);
    assert_eq!(
        ok(call(&mut m, &mut app, "secret-get", &[&id, "password"])),
        "s3cret\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut app,
            "secret-get",
            &[&id, "--refresh", "password"]
        )),
        "n3w\n"
    );
    assert_eq!(app.working.secrets[&id].consumers["app/0"].revision, 2);
    assert_eq!(
        ok(call(&mut m, &mut app, "secret-get", &[&id, "password"])),
        "n3w\n"
    );
    assert_eq!(
        m.secrets[&id].consumers["app/0"].revision, 1,
        "tracking moves at commit"
    );
    assert_eq!(
        err(call(
            &mut m,
            &mut app,
            "secret-get",
            &[&id, "--peek", "--refresh"]
        )),
        (
            2,
            "ERROR specify one of --peek or --refresh but not both\n".into()
        )
    );
    // A consumer cannot manage the secret.
    assert_eq!(
        err(call(&mut m, &mut app, "secret-info-get", &[&id])),
        (1, format!("ERROR secret \"{id}\" not found\n"))
    );
    assert_eq!(
        err(call(&mut m, &mut app, "secret-set", &[&id, "abc=def"])),
        (1, "ERROR permission denied\n".into())
    );
    commit(&mut m, app);

    // Revoke: the consumer loses access.
    let mut owner = rel_ctx(&m, "pg/0", 2, Some("app/0"));
    ok(call(&mut m, &mut owner, "secret-revoke", &[&id]));
    commit(&mut m, owner);
    let mut app = ctx(&m, "app/0");
    assert_eq!(
        err(call(&mut m, &mut app, "secret-get", &[&id])),
        (
            1,
            "ERROR \"app/0\" is not allowed to read this secret\n".into()
        )
    );
    // A unit that never bound a label gets Juju's not-found text.
    let mut app1 = ctx(&m, "app/1");
    assert_eq!(
        err(call(
            &mut m,
            &mut app1,
            "secret-get",
            &["--label", "pg-creds"]
        )),
        (1, "ERROR consumer label \"pg-creds\" not found\n".into())
    );
    // Removal: the owner's next read finds nothing.
    let mut owner = ctx(&m, "pg/0");
    ok(call(&mut m, &mut owner, "secret-remove", &[&id]));
    assert_eq!(
        err(call(&mut m, &mut owner, "secret-get", &[&id])),
        (1, format!("ERROR secret \"{id}\" not found\n"))
    );
}

#[test]
fn ownership_and_leadership_rules() {
    let mut m = model();
    // A non-leader may not add an application secret, but may add its own unit secret.
    let mut c = ctx(&m, "pg/1");
    assert_eq!(
        err(call(&mut m, &mut c, "secret-add", &["token=abc"])),
        (1, "ERROR this unit is not the leader\n".into())
    );
    let uri = ok(call(
        &mut m,
        &mut c,
        "secret-add",
        &["--owner", "unit", "--label", "mine", "token=abc"],
    ));
    let unit_id = xid(&uri);
    assert_eq!(
        ok(call(&mut m, &mut c, "secret-ids", &["--format=json"])),
        format!("[\"{unit_id}\"]\n")
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "secret-info-get",
            &["--label", "mine", "--format", "json"]
        )),
        format!("{{\"{unit_id}\":{{\"revision\":1,\"label\":\"mine\",\"owner\":\"unit\"}}}}\n")
    );
    ok(call(&mut m, &mut c, "secret-set", &[&unit_id, "token=def"]));
    commit(&mut m, c);
    // The leader adds an application secret; a non-leader may read it but not change it.
    let mut leader = ctx(&m, "pg/0");
    let app_id = xid(&ok(call(
        &mut m,
        &mut leader,
        "secret-add",
        &["--label", "shared", "token=xyz"],
    )));
    assert_eq!(
        ok(call(&mut m, &mut leader, "secret-ids", &[])),
        format!("{app_id}\n")
    );
    commit(&mut m, leader);
    let mut other = ctx(&m, "pg/1");
    assert_eq!(
        ok(call(
            &mut m,
            &mut other,
            "secret-get",
            &["--label", "shared"]
        )),
        "token: xyz\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut other, "secret-get", &[&app_id, "token"])),
        "xyz\n"
    );
    assert_eq!(
        err(call(
            &mut m,
            &mut other,
            "secret-set",
            &[&app_id, "token=new"]
        )),
        (1, "ERROR permission denied\n".into())
    );
    assert_eq!(
        err(call(&mut m, &mut other, "secret-remove", &[&app_id])),
        (1, "ERROR permission denied\n".into())
    );
    assert_eq!(
        err(call(
            &mut m,
            &mut other,
            "secret-grant",
            &["-r", "2", &app_id]
        )),
        (1, format!("ERROR secret \"{app_id}\" not found\n"))
    );
    // Its unit secret is not readable by its peer without a grant.
    let mut leader = ctx(&m, "pg/0");
    assert_eq!(
        err(call(&mut m, &mut leader, "secret-get", &[&unit_id])),
        (
            1,
            "ERROR \"pg/0\" is not allowed to read this secret\n".into()
        )
    );
    // Owner labels are unique per owner.
    assert_eq!(
        err(call(
            &mut m,
            &mut leader,
            "secret-add",
            &["--label", "shared", "token=x2y"]
        )),
        (
            1,
            "ERROR secret with label \"shared\" already exists\n".into()
        )
    );
}

#[test]
fn unit_grants_revisions_and_metadata() {
    let mut m = model();
    let mut owner = ctx(&m, "pg/0");
    let id = xid(&ok(call(
        &mut m,
        &mut owner,
        "secret-add",
        &[
            "--expire",
            "2030-01-02T03:04:05+01:00",
            "--rotate",
            "daily",
            "tls-key#base64=aGVsbG8=",
        ],
    )));
    // Our Rust client's grant argv: --relation <id> --unit <unit> <id>.
    ok(call(
        &mut m,
        &mut owner,
        "secret-grant",
        &["--relation", "2", "--unit", "app/1", &id],
    ));
    ok(call(&mut m, &mut owner, "secret-set", &[&id, "tls-key=v2"]));
    ok(call(&mut m, &mut owner, "secret-set", &[&id, "tls-key=v3"]));
    // Our Rust client's remove argv: <id> --revision <n> (flags after positionals).
    ok(call(
        &mut m,
        &mut owner,
        "secret-remove",
        &[&id, "--revision", "2"],
    ));
    let rec = &owner.working.secrets[&id];
    assert_eq!(rec.revisions.keys().copied().collect::<Vec<_>>(), [1, 3]);
    assert_eq!(rec.expire.as_deref(), Some("2030-01-02T02:04:05Z"));
    assert_eq!(
        ok(call(&mut m, &mut owner, "secret-info-get", &[&id])),
        format!(
            "{id}:\n  revision: 3\n  label: \"\"\n  owner: application\n  rotation: daily\n  expiry: 2030-01-02T02:04:05Z\n  access:\n  - target: unit-app-1\n    scope: relation-app.database#pg.database\n    role: view\n"
        )
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut owner,
            "secret-get",
            &[&id, "tls-key#base64"]
        )),
        "aGVsbG8=\n"
    );
    commit(&mut m, owner);
    // app/1 was granted; app/0 was not.
    let mut a1 = ctx(&m, "app/1");
    assert_eq!(
        ok(call(&mut m, &mut a1, "secret-get", &[&id])),
        "tls-key: v3\n"
    );
    let mut a0 = ctx(&m, "app/0");
    assert_eq!(err(call(&mut m, &mut a0, "secret-get", &[&id])).0, 1);
    // A unit grant does not stop an app grant's refusal rule.
    let mut owner = ctx(&m, "pg/0");
    assert_eq!(
        err(call(&mut m, &mut owner, "secret-grant", &["-r", "2", &id])),
        (1, "ERROR any unit level grants need to be revoked before granting access to the corresponding application\n".into())
    );
    ok(call(
        &mut m,
        &mut owner,
        "secret-revoke",
        &[&id, "--unit", "app/1"],
    ));
    ok(call(&mut m, &mut owner, "secret-grant", &["-r", "2", &id]));
    assert_eq!(owner.working.secrets[&id].grants.len(), 1);
}
