//! The hook-tool agent answering as Juju's unit agent does: argv parsing, exact stdout and
//! stderr, exit codes and the commit-on-success split between the working copy and the
//! committed model. In-process: every test builds a model and calls `lab::agent::handle`.

#[path = "agent/action.rs"]
mod action;
#[path = "agent/fixture.rs"]
mod fixture;
#[path = "agent/misc.rs"]
mod misc;
#[path = "agent/relation.rs"]
mod relation;
#[path = "agent/secret.rs"]
mod secret;
#[path = "agent/secret_args.rs"]
mod secret_args;

use fixture::{call, call_in, ctx, err, model, ok, rel_ctx};

#[test]
fn config_get_json_smart_and_keys() {
    let mut m = model();
    let mut c = ctx(&m, "pg/1");
    // Defaults overlaid with the operator's value; unset options left out; Go number text.
    assert_eq!(
        ok(call(&mut m, &mut c, "config-get", &["--format=json"])),
        "{\"max-connections\":100,\"plugin-audit-enable\":true,\"profile\":\"testing\",\"ratio\":0.5}\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "config-get",
            &["--format=json", "profile"]
        )),
        "\"testing\"\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "config-get",
            &["--format=json", "nope"]
        )),
        "null\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "config-get",
            &["--format=json", "unset"]
        )),
        "null\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut c, "config-get", &["profile"])),
        "testing\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut c, "config-get", &["plugin-audit-enable"])),
        "True\n"
    );
    assert_eq!(ok(call(&mut m, &mut c, "config-get", &["nope"])), "");
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "config-get",
            &["--all", "--format", "json"]
        )),
        "{\"max-connections\":100,\"plugin-audit-enable\":true,\"profile\":\"testing\",\"ratio\":0.5,\"unset\":null}\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut c, "config-get", &[])),
        "max-connections: 100\nplugin-audit-enable: true\nprofile: testing\nratio: 0.5\n"
    );
    assert_eq!(
        err(call(&mut m, &mut c, "config-get", &["-a", "profile"])),
        (
            2,
            "ERROR cannot use argument --all together with key \"profile\"\n".into()
        )
    );
    assert_eq!(
        err(call(&mut m, &mut c, "config-get", &["a", "b"])),
        (2, "ERROR unrecognized args: [\"b\"]\n".into())
    );
}

#[test]
fn is_leader_in_every_format() {
    let mut m = model();
    let mut leader = ctx(&m, "pg/0");
    let mut other = ctx(&m, "pg/1");
    assert_eq!(
        ok(call(&mut m, &mut leader, "is-leader", &["--format=json"])),
        "true\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut other, "is-leader", &["--format=json"])),
        "false\n"
    );
    assert_eq!(ok(call(&mut m, &mut leader, "is-leader", &[])), "True\n");
    assert_eq!(
        ok(call(&mut m, &mut other, "is-leader", &["--format", "yaml"])),
        "false\n"
    );
    assert_eq!(
        err(call(&mut m, &mut other, "is-leader", &["--format=xml"])),
        (
            2,
            "ERROR invalid value \"xml\" for option --format: unknown format \"xml\"\n".into()
        )
    );
}

#[test]
fn argv_errors_are_gnuflag_errors() {
    let mut m = model();
    let mut c = ctx(&m, "pg/0");
    assert_eq!(
        err(call(&mut m, &mut c, "config-get", &["-x"])),
        (2, "ERROR option provided but not defined: -x\n".into())
    );
    assert_eq!(
        err(call(&mut m, &mut c, "relation-get", &["--bogus=1"])),
        (2, "ERROR option provided but not defined: --bogus\n".into())
    );
    assert_eq!(
        err(call(&mut m, &mut c, "relation-list", &["-r"])),
        (2, "ERROR option needs an argument: -r\n".into())
    );
    assert_eq!(
        err(call(
            &mut m,
            &mut c,
            "status-set",
            &["--application=maybe", "active"]
        ))
        .0,
        2
    );
    assert_eq!(
        err(call(&mut m, &mut c, "no-such-tool", &[])),
        (
            1,
            "ERROR bad request: unknown command: no-such-tool\n".into()
        )
    );
    let help = call(&mut m, &mut c, "relation-get", &["--help"]);
    assert_eq!(help.code, 0);
    // Every call is recorded, failures too.
    assert_eq!(c.calls.len(), 6);
    assert_eq!(c.calls[0].tool, "config-get");
    assert_eq!(c.calls[0].args, ["-x"]);
}

#[test]
fn status_set_and_get_for_unit_and_application() {
    let mut m = model();
    let mut c = ctx(&m, "pg/1");
    // Our Rust client's argv: --application=false <status> -- <message>.
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "status-set",
            &["--application=false", "blocked", "--", "-x: bad"]
        )),
        ""
    );
    assert_eq!(m.units["pg/1"].status.status, "blocked");
    assert_eq!(m.units["pg/1"].status.message, "-x: bad");
    assert_eq!(c.working.units["pg/1"].status.message, "-x: bad");
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "status-get",
            &["--include-data", "--format=json", "--application=false"]
        )),
        "{\"message\":\"-x: bad\",\"status\":\"blocked\",\"status-data\":{}}\n"
    );
    assert_eq!(ok(call(&mut m, &mut c, "status-get", &[])), "blocked\n");
    assert_eq!(
        ok(call(&mut m, &mut c, "status-get", &["--format=json"])),
        "{\"status\":\"blocked\"}\n"
    );
    // ops' argv: --application=True; a non-leader may not set the application status.
    assert_eq!(
        err(call(
            &mut m,
            &mut c,
            "status-set",
            &["--application=True", "active", ""]
        )),
        (1, "ERROR this unit is not the leader\n".into())
    );
    assert_eq!(
        err(call(
            &mut m,
            &mut c,
            "status-get",
            &["--application", "--format=json"]
        )),
        (
            1,
            "ERROR finding application status: this unit is not the leader\n".into()
        )
    );
    assert_eq!(
        err(call(&mut m, &mut c, "status-set", &["error", "x"])),
        (2, "ERROR invalid status \"error\", expected one of [maintenance blocked waiting active]\n".into())
    );
    assert_eq!(
        err(call(&mut m, &mut c, "status-set", &[])),
        (
            2,
            "ERROR invalid args, require <status> [message] [data]\n".into()
        )
    );
    assert_eq!(
        err(call(&mut m, &mut c, "status-set", &["active", "a", "b"])),
        (2, "ERROR unrecognized args: [\"b\"]\n".into())
    );
    let mut leader = ctx(&m, "pg/0");
    assert_eq!(
        ok(call(
            &mut m,
            &mut leader,
            "status-set",
            &["--application=True", "active", "Primary"]
        )),
        ""
    );
    assert_eq!(
        m.applications["pg"].status.as_ref().unwrap().message,
        "Primary"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut leader,
            "status-get",
            &["--include-data", "--format=json", "--application=true"]
        )),
        "{\"application-status\":{\"message\":\"Primary\",\"status\":\"active\",\"status-data\":{},\"units\":{\"pg/0\":{\"message\":\"\",\"status\":\"waiting\",\"status-data\":{}},\"pg/1\":{\"message\":\"-x: bad\",\"status\":\"blocked\",\"status-data\":{}}}}}\n"
    );
}

#[test]
fn juju_log_levels_and_relation_prefix() {
    let mut m = model();
    let mut c = rel_ctx(&m, "pg/0", 2, Some("app/0"));
    // Our Rust client and ops: --log-level LEVEL -- message.
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "juju-log",
            &["--log-level", "WARNING", "--", "-starts with a dash"]
        )),
        ""
    );
    ok(call(
        &mut m,
        &mut c,
        "juju-log",
        &["-l", "critical", "boom"],
    ));
    ok(call(
        &mut m,
        &mut c,
        "juju-log",
        &["--debug", "two", "words"],
    ));
    ok(call(
        &mut m,
        &mut c,
        "juju-log",
        &["--log-level=NOPE", "hello"],
    ));
    let lines: Vec<(String, String)> = m
        .log
        .iter()
        .map(|l| (l.level.clone(), l.message.clone()))
        .collect();
    assert_eq!(
        lines,
        [
            (
                "WARNING".to_string(),
                "database:2: -starts with a dash".to_string()
            ),
            ("ERROR".into(), "database:2: boom".into()),
            ("DEBUG".into(), "database:2: two words".into()),
            (
                "WARNING".into(),
                "Specified log level of \"NOPE\" is not valid".into()
            ),
            ("INFO".into(), "database:2: hello".into()),
        ]
    );
    assert!(m.log.iter().all(|l| l.unit == "pg/0"));
    assert_eq!(c.working.log.len(), 5);
    assert_eq!(
        err(call(&mut m, &mut c, "juju-log", &[])),
        (2, "ERROR no message specified\n".into())
    );
    // The deprecated --format flag is accepted with a warning.
    let a = call(&mut m, &mut c, "juju-log", &["--format", "json", "x"]);
    assert_eq!(
        (a.code, String::from_utf8(a.stderr).unwrap()),
        (
            0,
            "--format flag deprecated for command \"juju-log\"".into()
        )
    );
}

#[test]
fn application_version_is_immediate() {
    let mut m = model();
    let mut c = ctx(&m, "pg/1");
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "application-version-set",
            &["--", "-16.4"]
        )),
        ""
    );
    assert_eq!(m.applications["pg"].workload_version, "-16.4");
    assert_eq!(c.working.applications["pg"].workload_version, "-16.4");
    assert_eq!(
        err(call(&mut m, &mut c, "application-version-set", &[])),
        (2, "ERROR no version specified\n".into())
    );
}

#[test]
fn writes_stay_in_the_working_copy() {
    let mut m = model();
    let before = m.clone();
    let mut c = rel_ctx(&m, "pg/0", 2, Some("app/0"));
    ok(call_in(
        &mut m,
        &mut c,
        "relation-set",
        &["--file", "-"],
        br#"{"endpoints": "pg:5432"}"#,
        "/",
    ));
    ok(call(&mut m, &mut c, "secret-add", &["password=s3cret"]));
    ok(call(&mut m, &mut c, "state-set", &["k=v"]));
    ok(call(&mut m, &mut c, "open-port", &["5432"]));
    ok(call(&mut m, &mut c, "storage-add", &["pgdata=1"]));
    assert_eq!(
        m, before,
        "nothing reaches the committed model before the hook succeeds"
    );
    let w = &c.working;
    assert_eq!(w.relations[&2].unit_data["pg/0"]["endpoints"], "pg:5432");
    assert_eq!(w.secrets.len(), 1);
    assert_eq!(w.units["pg/0"].state["k"], "v");
    assert!(w.units["pg/0"].ports.contains_key("5432/tcp"));
    assert!(w.units["pg/0"].storage.contains_key("pgdata/1"));
    // Immediate effects reach both.
    ok(call(&mut m, &mut c, "status-set", &["active"]));
    assert_eq!(m.units["pg/0"].status.status, "active");
    assert_eq!(c.working.units["pg/0"].status.status, "active");
}
