//! The `lab` CLI end to end: deploy starts a controller, commands named after Juju's drive it,
//! `status` prints like `juju status`, `destroy` removes everything.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn lab(dir: &Path, args: &[&str]) -> Output {
    #[allow(clippy::disallowed_methods)]
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .env("LAB_DIR", dir.join("model"))
        .env("LAB_ISOLATION", "none")
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn deploy_status_run_config_integrate_destroy() {
    let tmp = tempfile::tempdir().unwrap();
    let charm = tmp.path().join("hello");
    fs::create_dir_all(&charm).unwrap();
    fs::write(
        charm.join("metadata.yaml"),
        "name: hello\nprovides:\n  api:\n    interface: hello\nrequires:\n  upstream:\n    interface: hello\n",
    )
    .unwrap();
    fs::write(
        charm.join("config.yaml"),
        "options:\n  name:\n    type: string\n    default: world\n",
    )
    .unwrap();
    fs::write(
        charm.join("actions.yaml"),
        "say:\n  params:\n    times:\n      type: integer\n      default: 1\n",
    )
    .unwrap();
    fs::write(
        charm.join("dispatch"),
        r#"#!/bin/sh
case "$JUJU_DISPATCH_PATH" in
  actions/say) action-set "said=hello $(config-get name) x$(action-get times)" ;;
esac
status-set active "hello $(config-get name)"
"#,
    )
    .unwrap();
    fs::set_permissions(charm.join("dispatch"), fs::Permissions::from_mode(0o755)).unwrap();

    let out = lab(tmp.path(), &["deploy", "./hello", "-n", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = lab(tmp.path(), &["deploy", "./hello", "other"]);
    assert!(out.status.success(), "{}", text(&out));

    let out = lab(tmp.path(), &["status"]);
    let status = text(&out);
    assert!(out.status.success(), "{status}");
    assert!(status.contains("hello/0*  active    idle"), "{status}");
    assert!(status.contains("hello world"), "{status}");

    let out = lab(tmp.path(), &["integrate", "hello:api", "other:upstream"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = lab(tmp.path(), &["config", "hello", "name=lab"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = lab(tmp.path(), &["config", "hello", "name"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "lab\n");
    let out = lab(tmp.path(), &["config", "hello", "nope=1"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("ERROR"), "{}", text(&out));

    let out = lab(tmp.path(), &["status", "--format=json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let unit = &json["applications"]["hello"]["units"]["hello/1"];
    assert_eq!(unit["workload-status"]["current"], "active");
    assert_eq!(unit["workload-status"]["message"], "hello lab");
    assert_eq!(
        json["applications"]["hello"]["units"]["hello/0"]["leader"],
        true
    );
    assert_eq!(
        json["applications"]["hello"]["relations"]["api"][0]["related-application"],
        "other"
    );

    let out = lab(tmp.path(), &["run", "hello/1", "say", "times=3"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("said: hello lab x3"),
        "{}",
        text(&out)
    );
    let out = lab(tmp.path(), &["run", "hello/1", "nope"]);
    assert!(!out.status.success(), "{}", text(&out));

    let out = lab(tmp.path(), &["remove-unit", "hello/0"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = lab(tmp.path(), &["status", "--format=json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["applications"]["hello"]["units"]["hello/1"]["leader"],
        true
    );

    let out = lab(tmp.path(), &["debug-log"]);
    assert!(text(&out).contains("ran install"), "{}", text(&out));

    let out = lab(tmp.path(), &["destroy"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !tmp.path().join("model").exists(),
        "destroy removes the model directory"
    );
    let out = lab(tmp.path(), &["status"]);
    assert!(!out.status.success());
}
