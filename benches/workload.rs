//! Workload benchmark: the release charm in the lab with real PostgreSQL, Patroni and etcd,
//! running hooks that have nothing to change (update-status, config-changed) and the
//! get-password action: median wall time, peak RSS and hook-tool calls per event. Then TLS:
//! the time from `integrate` with the tls-certificates provider to Patroni serving https, the
//! certificates-relation-changed hooks, and update-status with TLS on.
//!
//! `sudo cargo bench --bench workload [-- RUNS]` (default 20 runs per event; needs root for the
//! lab's pods).

use lab::engine::{Hook, HookRecord, Isolation};

use common_lab::APP;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
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
    let python = common_lab::tls::tls_python();
    let mut d = common_lab::deploy_in(
        true,
        &[],
        &[(common_lab::tls::TLS_PYTHON_ENV, python.to_str().unwrap())],
    );
    let provider = common_lab::tls::provider_charm(&d.scratch().join("charms"));
    let m = &mut d.model;
    let unit = format!("{APP}/0");
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

    m.deploy(&provider, Some("tls"), 1, &[]).unwrap();
    m.settle().unwrap();
    let start = std::time::Instant::now();
    m.integrate(&format!("{APP}:certificates"), "tls").unwrap();
    let mut changed = Vec::new();
    loop {
        let ran = m.settle().unwrap();
        changed.extend(ran.into_iter().filter(|r| {
            r.unit == unit && r.dispatch_path == "hooks/certificates-relation-changed"
        }));
        if m.state().units[&unit].state.contains_key("patroni-api-ca") {
            break;
        }
        assert!(start.elapsed().as_secs() < 120, "TLS never came on");
        std::thread::sleep(std::time::Duration::from_millis(50));
        m.update_status(Some(&unit));
    }
    println!(
        "integrate → TLS on (Patroni on https, PostgreSQL ssl on): {:.2} s",
        start.elapsed().as_secs_f64()
    );
    report("cert-rel-changed", &changed);
    let mut records = Vec::new();
    for _ in 0..runs {
        m.queue(Hook::plain(&unit, "update-status"));
        let ran = m.settle().unwrap();
        records.extend(ran.into_iter().filter(|r| r.unit == unit));
    }
    assert!(records.iter().all(|r| r.code == 0));
    report("update-status+TLS", &records);
    m.destroy();
}

#[path = "../tests/common_lab/mod.rs"]
mod common_lab;
