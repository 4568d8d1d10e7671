//! An ops-based Python charm (ops from PyPI, unmodified), deployed twice in the lab and related
//! to itself: relation data, a secret granted across the relation, an action and a peer
//! relation, all through a Juju client we did not write.

use std::path::{Path, PathBuf};
use std::process::Command;

use lab::engine::{Isolation, Model, ModelOptions};

const OPS_VERSION: &str = "3.9.0";

/// A venv with ops, made once under the target directory.
fn ops_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ops-venv-{OPS_VERSION}"));
    let python = venv.join("bin/python3");
    let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
    #[allow(clippy::disallowed_methods)]
    let has_ops = python.exists()
        && ok(Command::new(&python).args([
            "-c",
            &format!("import ops, sys; sys.exit(ops.__version__ != '{OPS_VERSION}')"),
        ]));
    if !has_ops {
        #[allow(clippy::disallowed_methods)]
        let made = ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        assert!(made, "python3 -m venv failed");
        #[allow(clippy::disallowed_methods)]
        let installed = ok(Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("ops=={OPS_VERSION}"),
        ]));
        assert!(installed, "pip install ops=={OPS_VERSION} failed");
    }
    python
}

#[test]
fn an_ops_charm_runs_unmodified() {
    let python = ops_python();
    let tmp = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_jujuc")).parent().unwrap();
    let mut opts = ModelOptions::new(&tmp.path().join("model"), bin_dir);
    opts.isolation = Isolation::None;
    opts.env
        .insert("LAB_OPS_PYTHON".into(), python.display().to_string());
    let mut m = Model::new(opts).unwrap();
    let charm = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ops-charm");
    m.deploy(
        &charm,
        Some("alpha"),
        1,
        &[("greeting".into(), "hi".into())],
    )
    .unwrap();
    m.deploy(&charm, Some("beta"), 2, &[]).unwrap();
    let ran = m.settle().unwrap();
    let failed: Vec<_> = ran.iter().filter(|r| r.code != 0).collect();
    assert!(failed.is_empty(), "{failed:#?}");

    m.integrate("alpha:shared", "beta:other").unwrap();
    let ran = m.settle().unwrap();
    let failed: Vec<_> = ran.iter().filter(|r| r.code != 0).collect();
    let log: Vec<String> = m.state().log.iter().map(ToString::to_string).collect();
    assert!(
        failed.is_empty(),
        "{}\n{:#?}",
        log.join("\n"),
        failed.first().map(|f| &f.calls)
    );

    let state = m.state();
    for unit in ["beta/0", "beta/1"] {
        assert_eq!(
            state.units[unit].status.message, "got s3cr3t-from-alpha and hi",
            "{unit}: {:?}",
            state.units[unit].status
        );
    }
    let rel = state
        .relations
        .values()
        .find(|r| r.ends.len() == 2)
        .expect("the relation");
    assert_eq!(rel.unit_data["beta/1"]["got"], "s3cr3t-from-alpha");
    let secret = state.secrets.values().next().expect("the secret");
    assert_eq!(secret.label.as_deref(), Some("demo-token"));
    assert_eq!(
        secret.consumers["beta/0"].label.as_deref(),
        Some("their-token")
    );
    // Peers greeted each other through the peer relation.
    let peers = state
        .relations
        .values()
        .find(|r| r.ends.len() == 1 && r.ends[0].app == "beta")
        .unwrap();
    assert_eq!(peers.unit_data["beta/0"]["hello-from"], "beta/0");

    let mut params = serde_json::Map::new();
    params.insert("who".into(), serde_json::json!("lab"));
    let record = m.run_action("beta/1", "greet", params).unwrap();
    let run = record.action.unwrap();
    assert_eq!(record.code, 0, "{}", record.output);
    assert_eq!(run.results["message"], "hello lab");
    assert_eq!(run.results["by.unit"], "beta/1");
    assert_eq!(run.logs, ["greeting"]);
    // A new revision reaches the consumers as secret-changed; they refresh to it.
    let mut params = serde_json::Map::new();
    params.insert("token".into(), serde_json::json!("second-token"));
    let record = m.run_action("alpha/0", "rotate", params).unwrap();
    assert_eq!(record.code, 0, "{}", record.output);
    let state = m.state();
    for unit in ["beta/0", "beta/1"] {
        assert_eq!(
            state.units[unit].status.message,
            "token rotated to second-token"
        );
    }
    let secret = state.secrets.values().next().unwrap();
    assert_eq!(secret.latest(), 2);
    assert_eq!(secret.consumers["beta/1"].revision, 2);
    // A required parameter is enforced before the charm runs.
    assert!(m.run_action("beta/1", "greet", Default::default()).is_err());
}
