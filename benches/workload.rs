//! Workload benchmark: the release charm in the lab with real PostgreSQL, Patroni and etcd,
//! running hooks that have nothing to change (update-status, config-changed) and the
//! get-password action: median wall time, peak RSS and hook-tool calls per event.
//!
//! `sudo cargo bench --bench workload [-- RUNS]` (default 20 runs per event; needs root for the
//! lab's pods).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lab::engine::{Hook, HookRecord, Isolation, Model, ModelOptions};

const APP: &str = "postgresql-k8s";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn charm_dirs(into: &Path, bin_dir: &Path) -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pg = into.join("postgresql-k8s");
    fs::create_dir_all(pg.join("bin")).unwrap();
    for f in ["metadata.yaml", "config.yaml", "actions.yaml", "dispatch"] {
        fs::copy(root.join(f), pg.join(f)).unwrap();
    }
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_postgresql-k8s"),
        pg.join("bin/postgresql-k8s"),
    )
    .unwrap();
    let etcd = into.join("etcd-lab");
    fs::create_dir_all(etcd.join("bin")).unwrap();
    for f in ["metadata.yaml", "dispatch"] {
        fs::copy(root.join("crates/lab/charms/etcd").join(f), etcd.join(f)).unwrap();
    }
    std::os::unix::fs::symlink(
        bin_dir.join("lab-etcd-charm"),
        etcd.join("bin/lab-etcd-charm"),
    )
    .unwrap();
    (pg, etcd)
}

fn report(name: &str, records: &[HookRecord]) {
    let ms: Vec<f64> = records
        .iter()
        .map(|r| r.duration.as_secs_f64() * 1000.0)
        .collect();
    let rss = records.iter().map(|r| r.max_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
    let calls: Vec<usize> = records.iter().map(|r| r.calls.len()).collect();
    let server_ms: Vec<f64> = records
        .iter()
        .map(|r| r.calls.iter().map(|c| c.micros as f64).sum::<f64>() / 1000.0)
        .collect();
    println!(
        "{name:<16} median {:>7.1} ms  p90 {:>7.1} ms  peak RSS {:>5.1} MiB  hook-tool calls {:?}  (lab answering: {:.1} ms)",
        median(ms.clone()),
        {
            let mut s = ms.clone();
            s.sort_by(|a, b| a.partial_cmp(b).unwrap());
            s[((s.len() - 1) as f64 * 0.9).round() as usize]
        },
        rss,
        calls
            .iter()
            .min()
            .zip(calls.iter().max())
            .map(|(a, b)| if a == b {
                format!("{a}")
            } else {
                format!("{a}..{b}")
            })
            .unwrap_or_default(),
        median(server_ms)
    );
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20)
        .max(5);
    if Isolation::best_available() != Isolation::Namespaces {
        eprintln!("the workload benchmark needs root (the lab's pods)");
        return;
    }
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let bin_dir = lab::harness::lab_bin_dir(target, true).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (pg, etcd) = charm_dirs(tmp.path(), &bin_dir);
    let mut opts = ModelOptions::new(&tmp.path().join("model"), &bin_dir);
    opts.isolation = Isolation::Namespaces;
    let mut m = Model::new(opts).unwrap();
    m.deploy(&etcd, None, 1, &[]).unwrap();
    m.deploy(&pg, Some(APP), 1, &[]).unwrap();
    m.integrate(&format!("{APP}:etcd"), "etcd-lab").unwrap();
    let unit = format!("{APP}/0");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        m.settle().unwrap();
        if m.unit_status(&unit).is_some_and(|s| s.message == "Primary") {
            break;
        }
        if Instant::now() > deadline {
            let log = m.state().log;
            for l in &log[log.len().saturating_sub(30)..] {
                eprintln!("{} {} {}", l.unit, l.level, l.message);
            }
            panic!("never became Primary: {:?}", m.unit_status(&unit));
        }
        std::thread::sleep(Duration::from_millis(500));
        m.update_status(Some(&unit));
    }
    // Let follow-up hooks finish, then measure hooks that have nothing to change.
    m.settle().unwrap();
    println!(
        "\n{runs} runs per event, release build, 1 unit with its workload up (PostgreSQL 15 + Patroni + etcd)"
    );
    for name in ["update-status", "config-changed"] {
        let mut records = Vec::new();
        for _ in 0..runs {
            m.queue(Hook::plain(&unit, name));
            let ran = m.settle().unwrap();
            records.extend(ran.into_iter().filter(|r| r.unit == unit));
        }
        assert!(records.iter().all(|r| r.code == 0));
        report(name, &records);
    }
    let mut records = Vec::new();
    for _ in 0..runs {
        let mut params = serde_json::Map::new();
        params.insert("username".into(), serde_json::json!("operator"));
        records.push(m.run_action(&unit, "get-password", params).unwrap());
    }
    report("get-password", &records);
    m.destroy();
}
