//! The etcd-lab provider charm (crates/lab/charms/etcd, binary `lab-etcd-charm`) deployed in a
//! lab model with a small shell requirer: the requirer receives `endpoints`, and the endpoint
//! really serves etcd (put and get with `etcdctl` from the host).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lab::engine::{Isolation, Model, ModelOptions};

const ETCD: &str = "/usr/bin/etcd";
const ETCDCTL: &str = "/usr/bin/etcdctl";

/// The etcd-lab charm assembled in `dir`: its metadata.yaml and dispatch, and
/// `bin/lab-etcd-charm` linked to the binary cargo built for this test.
fn etcd_charm(dir: &Path) -> PathBuf {
    lab::charm::assemble(
        &dir.join("etcd-lab"),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("charms/etcd"),
        &["metadata.yaml", "dispatch"],
        Path::new(env!("CARGO_BIN_EXE_lab-etcd-charm")),
    )
    .unwrap()
}

const REQUIRER_META: &str =
    "name: etcd-user\nrequires:\n  etcd:\n    interface: etcd\n    limit: 1\n";

/// Reads the provider's `endpoints`, keeps them in `$JUJU_CHARM_DIR/etcd-endpoints`, and says so.
const REQUIRER: &str = r#"#!/bin/sh
set -e
case "$JUJU_DISPATCH_PATH" in
  hooks/etcd-relation-changed)
    endpoints=$(relation-get --app endpoints "$JUJU_REMOTE_APP")
    if [ -n "$endpoints" ]; then
      printf '%s' "$endpoints" > "$JUJU_CHARM_DIR/etcd-endpoints"
      status-set active "etcd at $endpoints"
    else
      status-set waiting "waiting for etcd endpoints"
    fi ;;
  hooks/install)
    status-set blocked "needs an etcd relation" ;;
esac
"#;

fn requirer_charm(dir: &Path) -> PathBuf {
    let charm = dir.join("etcd-user");
    fs::create_dir_all(&charm).unwrap();
    fs::write(charm.join("metadata.yaml"), REQUIRER_META).unwrap();
    fs::write(charm.join("dispatch"), REQUIRER).unwrap();
    fs::set_permissions(charm.join("dispatch"), fs::Permissions::from_mode(0o755)).unwrap();
    charm
}

/// `etcdctl` (v3 API) against `endpoint`, from the host.
fn etcdctl(endpoint: &str, args: &[&str]) -> String {
    #[allow(clippy::disallowed_methods)] // the test's one outside client
    let out = Command::new(ETCDCTL)
        .env("ETCDCTL_API", "3")
        .args([
            "--endpoints",
            endpoint,
            "--dial-timeout=3s",
            "--command-timeout=5s",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "etcdctl {args:?} against {endpoint} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Settle, and ask for update-status, until the provider is active (at most `secs` seconds).
fn settle_until_active(m: &mut Model, unit: &str, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let ran = m.settle().unwrap();
        let failed: Vec<_> = ran.iter().filter(|r| r.code != 0).collect();
        assert!(failed.is_empty(), "hooks failed: {failed:#?}");
        if m.unit_status(unit).is_some_and(|s| s.status == "active") {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
        m.update_status(Some(unit));
    }
}

#[test]
fn etcd_lab_serves_etcd_to_a_requirer() {
    for (path, package) in [(ETCD, "etcd-server"), (ETCDCTL, "etcd-client")] {
        assert!(
            Path::new(path).exists(),
            "{path} is missing: install the Debian package {package} (scripts/install-deps)"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_jujuc")).parent().unwrap();
    let mut opts = ModelOptions::new(&tmp.path().join("model"), bin_dir);
    opts.isolation = Isolation::best_available();
    opts.max_attempts = 2;
    let mut m = Model::new(opts).unwrap();

    let provider = m.deploy(&etcd_charm(tmp.path()), None, 1, &[]).unwrap();
    let requirer = m.deploy(&requirer_charm(tmp.path()), None, 1, &[]).unwrap();
    assert_eq!(
        (provider.as_str(), requirer.as_str()),
        ("etcd-lab", "etcd-user")
    );
    let id = m.integrate("etcd-user", "etcd-lab").unwrap();
    assert!(
        settle_until_active(&mut m, "etcd-lab/0", 30),
        "etcd-lab/0 is not active: {:?}\n{}",
        m.unit_status("etcd-lab/0"),
        m.state().log_text()
    );
    m.settle().unwrap();

    let address = m.address("etcd-lab/0").unwrap();
    let url = format!("http://{address}:2379");
    let state = m.state();
    assert_eq!(
        state.units["etcd-lab/0"].status.message,
        format!("serving {url}")
    );
    assert_eq!(state.relations[&id].app_data["etcd-lab"]["endpoints"], url);
    assert_eq!(
        state.units["etcd-user/0"].status.message,
        format!("etcd at {url}")
    );
    let seen = fs::read_to_string(m.dir().join("units/etcd-user-0/charm/etcd-endpoints")).unwrap();
    assert_eq!(seen, url);

    // The endpoint is a working etcd.
    assert_eq!(etcdctl(&url, &["put", "lab-key", "lab-value"]).trim(), "OK");
    assert_eq!(
        etcdctl(&url, &["get", "lab-key", "--print-value-only"]).trim(),
        "lab-value"
    );

    // Hooks that change nothing keep etcd running as it is: no second replan.
    let services = m.block_on(async {
        m.pebble("etcd-lab/0", "etcd")
            .unwrap()
            .list_services(&["etcd"])
            .await
            .unwrap()
    });
    let since = services[0].current_since.clone();
    m.update_status(None);
    m.settle().unwrap();
    let services = m.block_on(async {
        m.pebble("etcd-lab/0", "etcd")
            .unwrap()
            .list_services(&["etcd"])
            .await
            .unwrap()
    });
    assert!(services[0].is_running());
    assert_eq!(services[0].current_since, since);
    assert_eq!(
        etcdctl(&url, &["get", "lab-key", "--print-value-only"]).trim(),
        "lab-value"
    );

    // etcd-lab is one unit: a second one runs no etcd and says why.
    m.add_unit("etcd-lab", 1).unwrap();
    m.settle().unwrap();
    let status = m.unit_status("etcd-lab/1").unwrap();
    assert_eq!(status.status, "blocked", "{status:?}");
    assert!(
        status.message.starts_with("etcd-lab runs one unit"),
        "{status:?}"
    );
    assert_eq!(
        m.state().relations[&id].app_data["etcd-lab"]["endpoints"],
        url
    );
    m.destroy();
}
