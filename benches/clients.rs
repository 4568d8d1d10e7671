//! Client-relation scale benchmark: the release charm in the lab (real PostgreSQL, Patroni,
//! etcd) serving 1, then 50 client applications (the shell data-interfaces requirer); each time,
//! one client changes its request (extra-user-roles toggles `createdb`, so the role is altered)
//! and the charm's database-relation-changed is timed. A hook touches only its own relation, so
//! its time should not grow with the number of clients.
//!
//! `sudo cargo bench --bench clients [-- RUNS]` (default 10 changes per size; needs root for the
//! lab's pods).

use std::path::Path;

use lab::engine::{HookRecord, Isolation};

use common_lab::APP;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn report(clients: usize, records: &[HookRecord]) {
    let ms: Vec<f64> = records
        .iter()
        .map(|r| r.duration.as_secs_f64() * 1000.0)
        .collect();
    let max = ms.iter().cloned().fold(0.0, f64::max);
    let calls: Vec<usize> = records.iter().map(|r| r.calls.len()).collect();
    let rss = records.iter().map(|r| r.max_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
    println!(
        "{clients:>3} clients: database-relation-changed median {:>6.1} ms  max {max:>6.1} ms  peak RSS {rss:.1} MiB  hook-tool calls {:?}..{:?}",
        median(ms),
        calls.iter().min().unwrap_or(&0),
        calls.iter().max().unwrap_or(&0),
    );
}

/// Toggle `extra-user-roles` of `app` `runs` times; the charm's hooks for it.
fn measure(d: &mut common_lab::Deployment, app: &str, runs: usize) -> Vec<HookRecord> {
    let unit = format!("{APP}/0");
    let mut records = Vec::new();
    for i in 0..runs {
        let value = if i % 2 == 0 { "createdb" } else { "" };
        d.model
            .config(app, &[("extra-user-roles".into(), value.into())], &[])
            .unwrap();
        let ran = d.model.settle().unwrap();
        records
            .extend(ran.into_iter().filter(|r| {
                r.unit == unit && r.dispatch_path == "hooks/database-relation-changed"
            }));
    }
    assert!(records.iter().all(|r| r.code == 0));
    records
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10)
        .max(4);
    if Isolation::best_available() != Isolation::Namespaces {
        eprintln!("the clients benchmark needs root (the lab's pods)");
        return;
    }
    let mut d = common_lab::deploy_with(true, &[]);
    let shell = d.scratch().join("charms/shell-db-client");
    common_lab::tls::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charms/shell-db-client"),
        &shell,
    )
    .unwrap();
    let add = |d: &mut common_lab::Deployment, n: usize| {
        let app = format!("client-{n:02}");
        d.model.deploy(&shell, Some(&app), 1, &[]).unwrap();
        d.model.integrate(&format!("{APP}:database"), &app).unwrap();
        d.model.settle().unwrap();
    };
    add(&mut d, 0);
    println!(
        "\n{runs} request changes per size, release build, 1 unit (PostgreSQL 15 + Patroni + etcd)"
    );
    let one = measure(&mut d, "client-00", runs);
    report(1, &one);
    let start = std::time::Instant::now();
    for n in 1..50 {
        add(&mut d, n);
    }
    println!(
        "49 more clients served in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let served = d
        .model
        .state()
        .relations
        .values()
        .filter(|r| {
            r.app_data
                .get(APP)
                .is_some_and(|b| b.contains_key("secret-user"))
        })
        .count();
    assert_eq!(served, 50, "every client got its credentials");
    let fifty = measure(&mut d, "client-00", runs);
    report(50, &fifty);
    d.model.destroy();
}

#[path = "../tests/common_lab/mod.rs"]
mod common_lab;
