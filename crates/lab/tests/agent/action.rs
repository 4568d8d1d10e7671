//! action-get/set/fail/log, parameter validation and `juju run` output.

use lab::agent::{
    ActionRun, HookContext, HookEnv, render_action_output, render_action_progress,
    validate_action_params,
};
use serde_json::{Map, Value, json};

use crate::fixture::{call, ctx, err, model, ok};

fn params(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn action_ctx(m: &lab::state::ModelState) -> HookContext {
    let env = HookEnv {
        dispatch_path: "actions/backup".into(),
        ..HookEnv::default()
    };
    let mut c = HookContext::new("ctx-a", "pg/0", env, m);
    let spec = &m.applications["pg"].charm.actions["backup"];
    let p = validate_action_params(spec, params(json!({"target": {"bucket": "b1"}}))).unwrap();
    c.action = Some(ActionRun {
        id: "7".into(),
        name: "backup".into(),
        params: p,
        ..ActionRun::default()
    });
    c
}

#[test]
fn action_tools_outside_an_action() {
    let mut m = model();
    let mut c = ctx(&m, "pg/0");
    for (tool, args) in [
        ("action-get", vec![]),
        ("action-set", vec!["a=1"]),
        ("action-fail", vec![]),
        ("action-log", vec!["x"]),
    ] {
        assert_eq!(
            err(call(&mut m, &mut c, tool, &args)),
            (1, "ERROR not running an action\n".into()),
            "{tool}"
        );
    }
    // Usage errors come first.
    assert_eq!(err(call(&mut m, &mut c, "action-set", &["A=1"])).0, 2);
}

#[test]
fn action_get_returns_params_with_defaults() {
    let mut m = model();
    let mut c = action_ctx(&m);
    assert_eq!(
        ok(call(&mut m, &mut c, "action-get", &["--format=json"])),
        "{\"target\":{\"bucket\":\"b1\"},\"type\":\"full\"}\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "action-get",
            &["--format=json", "target.bucket"]
        )),
        "\"b1\"\n"
    );
    assert_eq!(ok(call(&mut m, &mut c, "action-get", &["type"])), "full\n");
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "action-get",
            &["--format=json", "target.nope"]
        )),
        "null\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut c, "action-get", &[])),
        "target:\n  bucket: b1\ntype: full\n"
    );
}

#[test]
fn action_set_keys_nesting_and_overwrites() {
    let mut m = model();
    let mut c = action_ctx(&m);
    // ops: action-set a.b=1 (one pair per argument); values keep '=' and spaces.
    ok(call(
        &mut m,
        &mut c,
        "action-set",
        &["a.b=1", "a.c=2", "password=p=q", "msg=hello world", "e="],
    ));
    // Juju's addValueToMap: a value replaces a map, a map replaces a value.
    ok(call(
        &mut m,
        &mut c,
        "action-set",
        &["x=1", "x.y=2", "a.c.d=3"],
    ));
    let results = &c.action.as_ref().unwrap().results;
    let keys: Vec<&str> = results.keys().map(String::as_str).collect();
    assert_eq!(keys, ["a.b", "a.c.d", "e", "msg", "password", "x.y"]);
    assert_eq!(results["password"], "p=q");
    let errors = [
        (
            "result",
            "ERROR argument \"result\" must be of the form key...=value\n",
        ),
        (
            "result-Value=5",
            "ERROR key \"result-Value\" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods\n",
        ),
        (
            "a..b=1",
            "ERROR key \"\" must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods\n",
        ),
        ("-a=1", "ERROR option provided but not defined: -a\n"),
        (
            "stdout=1",
            "ERROR cannot set reserved action key \"stdout\"\n",
        ),
        (
            "a.stderr-encoding=1",
            "ERROR cannot set reserved action key \"stderr-encoding\"\n",
        ),
    ];
    for (arg, text) in errors {
        assert_eq!(
            err(call(&mut m, &mut c, "action-set", &["ok=1", arg])),
            (2, text.to_string()),
            "{arg}"
        );
        assert!(
            !c.action.as_ref().unwrap().results.contains_key("ok"),
            "nothing set when one pair is bad"
        );
    }
    ok(call(&mut m, &mut c, "action-log", &["--", "step", "1/3"]));
    ok(call(&mut m, &mut c, "action-fail", &[]));
    let run = c.action.as_ref().unwrap();
    assert_eq!(run.logs, ["step 1/3"]);
    assert_eq!(
        run.failed.as_deref(),
        Some("action failed without reason given, check action for errors")
    );
    ok(call(&mut m, &mut c, "action-fail", &["--", "-disk full"]));
    assert_eq!(
        c.action.as_ref().unwrap().failed.as_deref(),
        Some("-disk full")
    );
    // Action results are not part of the model.
    assert!(m.log.is_empty());
}

#[test]
fn validate_action_params_like_juju() {
    let m = model();
    let spec = &m.applications["pg"].charm.actions["backup"];
    assert_eq!(
        validate_action_params(spec, Map::new()).unwrap(),
        params(json!({"type": "full"}))
    );
    assert_eq!(
        validate_action_params(spec, params(json!({"type": "incremental"}))),
        Err("validation failed: type: type must be one of the following: \"full\", \"differential\"".into())
    );
    assert_eq!(
        validate_action_params(spec, params(json!({"count": "3"}))),
        Err("validation failed: count: Invalid type. Expected: integer, given: string".into())
    );
    assert_eq!(
        validate_action_params(spec, params(json!({"count": 2.5}))),
        Err("validation failed: count: Invalid type. Expected: integer, given: number".into())
    );
    assert!(validate_action_params(spec, params(json!({"count": 3.0}))).is_ok());
    assert_eq!(
        validate_action_params(spec, params(json!({"count": 0}))),
        Err("validation failed: count: Must be greater than or equal to 1".into())
    );
    assert_eq!(
        validate_action_params(spec, params(json!({"bogus": 1}))),
        Err("validation failed: (root): Additional property bogus is not allowed".into())
    );
    assert_eq!(
        validate_action_params(spec, params(json!({"target": {"region": "x"}}))),
        Err("validation failed: target: bucket is required; target: Additional property region is not allowed".into())
    );
    let mut required = spec.clone();
    required.required = vec!["count".into()];
    required.additional_properties = true;
    assert_eq!(
        validate_action_params(&required, params(json!({"other": true}))),
        Err("validation failed: (root): count is required".into())
    );
}

#[test]
fn juju_run_output() {
    let mut run = ActionRun {
        id: "7".into(),
        name: "backup".into(),
        ..ActionRun::default()
    };
    assert_eq!(
        render_action_output(&run, "pg/0", None),
        "Task 7 completed\n\n"
    );
    run.results.insert("backup.id".into(), "2026-01-01".into());
    run.results.insert("size".into(), "10".into());
    run.results.insert("stdout".into(), "ignored".into());
    assert_eq!(
        render_action_output(&run, "pg/0", None),
        "backup:\n  id: \"2026-01-01\"\nsize: \"10\"\n\n"
    );
    run.failed = Some("disk full".into());
    assert_eq!(
        render_action_output(&run, "pg/0", None),
        "Action id 7 failed: disk full\nbackup:\n  id: \"2026-01-01\"\nsize: \"10\"\n\n"
    );
    run.results.clear();
    assert_eq!(
        render_action_output(&run, "pg/0", Some("exit status 1")),
        "Action id 7 failed: exit status 1\nTask 7 failed\n\n"
    );
    assert_eq!(
        render_action_progress("6", "7", "pg/0"),
        "Running operation 6 with 1 task\n  - task 7 on unit-pg-0\n\nWaiting for task 7...\n\n"
    );
}
