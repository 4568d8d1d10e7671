//! The charm deployed in the lab with `lab deploy`, as an operator would: its hooks run in
//! Juju's order against the lab's unit agent and a Pebble double, and `lab status` shows the
//! result.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// An unpacked charm directory: the interface files, dispatch, and the binary under test.
fn charm_dir(into: &Path) -> PathBuf {
    lab::charm::assemble(
        &into.join("postgresql-k8s"),
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["metadata.yaml", "config.yaml", "actions.yaml", "dispatch"],
        Path::new(env!("CARGO_BIN_EXE_postgresql-k8s")),
    )
    .unwrap()
}

fn lab(bin: &Path, dir: &Path, args: &[&str]) -> Output {
    #[allow(clippy::disallowed_methods)]
    Command::new(bin.join("lab"))
        .args(args)
        .env("LAB_DIR", dir.join("model"))
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn lab_deploy_runs_the_charm_in_juju_order() {
    let bin = lab::harness::lab_bin_dir(&target_dir(), false).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    charm_dir(tmp.path());
    let out = lab(&bin, tmp.path(), &["deploy", "./postgresql-k8s"]);
    let say = |o: &Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert!(out.status.success(), "{}", say(&out));

    let log = say(&lab(&bin, tmp.path(), &["debug-log"]));
    let ran: Vec<&str> = log
        .lines()
        .filter_map(|l| l.split(" HOOK ran ").nth(1))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert_eq!(
        ran,
        [
            "pgdata-storage-attached",
            "install",
            "database-peers-relation-created",
            "restart-relation-created",
            "upgrade-relation-created",
            "leader-elected",
            "config-changed",
            "start",
            "postgresql-pebble-ready",
        ],
        "{log}"
    );

    // Without Kubernetes and without an etcd relation Patroni has no store: the unit says what
    // to relate, and nothing starts.
    let status = say(&lab(&bin, tmp.path(), &["status"]));
    let blocked = "Patroni needs a store outside Kubernetes";
    assert!(status.contains("postgresql-k8s/0*  blocked"), "{status}");
    assert!(status.contains(blocked), "{status}");
    let json: serde_json::Value =
        serde_json::from_slice(&lab(&bin, tmp.path(), &["status", "--format=json"]).stdout)
            .unwrap();
    let app = &json["applications"]["postgresql-k8s"];
    assert_eq!(app["application-status"]["current"], "blocked");
    let message = app["units"]["postgresql-k8s/0"]["workload-status"]["message"]
        .as_str()
        .unwrap();
    assert!(message.starts_with(blocked), "{message}");

    // The leader created the system passwords all the same.
    let out = lab(
        &bin,
        tmp.path(),
        &["run", "postgresql-k8s/0", "get-password"],
    );
    assert!(out.status.success(), "{}", say(&out));
    let password = say(&out)
        .lines()
        .find_map(|l| l.trim().strip_prefix("password: ").map(str::to_string))
        .unwrap_or_default();
    assert_eq!(password.len(), 32, "{}", say(&out));
    assert!(lab(&bin, tmp.path(), &["destroy"]).status.success());
}
