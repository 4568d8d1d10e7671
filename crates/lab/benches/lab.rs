//! Lab benchmark: time to deploy one unit of a trivial charm (with one container, so its Pebble
//! starts), the cost of one hook-tool call through the lab compared with spawning a trivial
//! binary, and the controller's peak memory after a small model's life.
//!
//! `cargo bench -p lab --bench lab [-- RUNS]` (default 10 deploys).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lab::engine::{Isolation, Model, ModelOptions};

const CALLS: usize = 200;

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_jujuc"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn trivial_charm(dir: &Path) -> PathBuf {
    let c = dir.join("trivial");
    fs::create_dir_all(&c).unwrap();
    fs::write(
        c.join("metadata.yaml"),
        "name: trivial\ncontainers:\n  work:\n    resource: img\npeers:\n  peers:\n    interface: t\n",
    )
    .unwrap();
    fs::write(
        c.join("actions.yaml"),
        "calls:\n  description: many hook-tool calls\nspawns:\n  description: as many trivial processes\n",
    )
    .unwrap();
    fs::write(
        c.join("dispatch"),
        format!(
            r#"#!/bin/sh
case "$JUJU_DISPATCH_PATH" in
  actions/calls) i=0; while [ $i -lt {CALLS} ]; do is-leader --format=json >/dev/null; i=$((i+1)); done ;;
  actions/spawns) i=0; while [ $i -lt {CALLS} ]; do /bin/true; i=$((i+1)); done ;;
  *) status-set active ready ;;
esac
"#
        ),
    )
    .unwrap();
    fs::set_permissions(c.join("dispatch"), fs::Permissions::from_mode(0o755)).unwrap();
    c
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10)
        .max(3);
    let tmp = tempfile::tempdir().unwrap();
    let charm = trivial_charm(tmp.path());
    let mut isolations = vec![Isolation::None];
    if Isolation::best_available() == Isolation::Namespaces {
        isolations.push(Isolation::Namespaces);
    }
    println!("\n{runs} deploys per row");
    for isolation in isolations {
        let mut times = Vec::new();
        for i in 0..runs {
            let mut opts =
                ModelOptions::new(&tmp.path().join(format!("m-{isolation:?}-{i}")), &bin_dir());
            opts.isolation = isolation;
            let mut m = Model::new(opts).unwrap();
            let start = Instant::now();
            m.deploy(&charm, None, 1, &[]).unwrap();
            let ran = m.settle().unwrap();
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            assert!(ran.iter().all(|r| r.code == 0));
            m.destroy();
        }
        println!(
            "deploy 1 unit, settle ({isolation:?}): median {:.1} ms (min {:.1}, max {:.1}); 7 hooks",
            median(times.clone()),
            times.iter().cloned().fold(f64::MAX, f64::min),
            times.iter().cloned().fold(0.0, f64::max)
        );
    }

    let mut opts = ModelOptions::new(&tmp.path().join("calls"), &bin_dir());
    opts.isolation = Isolation::None;
    let mut m = Model::new(opts).unwrap();
    m.deploy(&charm, None, 1, &[]).unwrap();
    m.settle().unwrap();
    let mut per_call = Vec::new();
    let mut per_spawn = Vec::new();
    let mut server = Vec::new();
    for _ in 0..5 {
        let calls = m
            .run_action("trivial/0", "calls", Default::default())
            .unwrap();
        let spawns = m
            .run_action("trivial/0", "spawns", Default::default())
            .unwrap();
        assert_eq!(calls.calls.len(), CALLS);
        per_call.push(calls.duration.as_secs_f64() * 1e6 / CALLS as f64);
        per_spawn.push(spawns.duration.as_secs_f64() * 1e6 / CALLS as f64);
        server.extend(calls.calls.iter().map(|c| c.micros as f64));
    }
    let (call, spawn) = (median(per_call), median(per_spawn));
    println!(
        "one hook-tool call (is-leader) from a hook: median {call:.0} µs; spawning /bin/true: {spawn:.0} µs; \
         lab overhead per call: {:.0} µs (of which answering in the controller: {:.0} µs median)",
        call - spawn,
        median(server)
    );
    drop(m);

    // The controller process's peak memory after 3 units, a relation and 20 actions.
    let dir = tmp.path().join("cli");
    fs::create_dir_all(&dir).unwrap();
    let lab = |args: &[&str]| {
        #[allow(clippy::disallowed_methods)]
        let out = Command::new(env!("CARGO_BIN_EXE_lab"))
            .args(args)
            .env("LAB_DIR", dir.join("model"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    lab(&["deploy", charm.to_str().unwrap(), "-n", "3"]);
    for _ in 0..20 {
        lab(&["run", "trivial/1", "spawns"]);
    }
    let pid = fs::read_to_string(dir.join("model/controller.pid")).unwrap();
    let status = fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?")
        .to_string();
    lab(&["destroy"]);
    println!(
        "lab controller peak memory after 3 units and 20 actions: {}",
        hwm.trim()
    );
    std::thread::sleep(Duration::from_millis(10));
}
