//! Hook benchmark: wall time, peak RSS and hook-tool calls of the release charm binary, with
//! recorded hook-tool answers (the lab's replay `jujuc`, which answers at once) and no workload
//! socket. Baselines measured in the same run: spawning `/bin/true`, and one `jujuc` call.
//!
//! `cargo bench --bench hooks [-- RUNS]` (default 50 runs per event).

#![allow(unsafe_code)] // wait4(2) is the only way to read one child's peak RSS

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lab::harness::{Harness, jujuc_binary};

const APP_SECRET: &str = r#"{"operator-password": "o", "replication-password": "r", "rewind-password": "w", "monitoring-password": "m", "backup-password": "b", "patroni-password": "p"}"#;
const NETWORK: &str = r#"{"bind-addresses": [{"mac-address": "", "interface-name": "eth0", "addresses": [{"hostname": "", "value": "10.1.2.3", "cidr": "10.1.2.0/24"}]}], "egress-subnets": ["10.1.2.3/32"], "ingress-addresses": ["10.1.2.3"]}"#;

struct Sample {
    wall: Duration,
    max_rss_kib: i64,
}

/// Spawn, then reap with wait4 to get this child's resource usage.
#[allow(clippy::zombie_processes)] // reaped by wait4, not by Child::wait
fn measure(mut command: Command) -> Sample {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let child = command.spawn().expect("spawn");
    let mut status = 0;
    // SAFETY: rusage is a plain C struct that wait4 fills; the pid is our unreaped child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(pid, child.id() as i32, "wait4 failed");
    Sample {
        wall,
        max_rss_kib: usage.ru_maxrss,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let idx = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[idx]
}

struct Row {
    name: String,
    median_ms: f64,
    p90_ms: f64,
    rss_mib: f64,
    calls: Option<usize>,
}

fn run_many(name: &str, runs: usize, mut make: impl FnMut() -> Command) -> Row {
    let samples: Vec<Sample> = (0..runs).map(|_| measure(make())).collect();
    let ms: Vec<f64> = samples
        .iter()
        .map(|s| s.wall.as_secs_f64() * 1000.0)
        .collect();
    let rss = samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
    Row {
        name: name.to_string(),
        median_ms: median(ms.clone()),
        p90_ms: percentile(ms, 0.9),
        rss_mib: rss,
        calls: None,
    }
}

/// Answers for a unit in steady state: passwords stored, etcd and the peer relation kept in the
/// charm's state, and (when given) a tracing receiver.
fn steady(h: &mut Harness, receiver: Option<&str>) {
    let mut state = serde_json::json!({
        "etcd-store": "{\"hosts\":[\"10.1.2.9:2379\"],\"protocol\":\"http\",\"ca\":null,\"client_secret\":null}",
        "peers": "{\"relation\":0,\"members\":{}}",
    });
    if let Some(url) = receiver {
        state["tracing-receiver"] = url.into();
    }
    h.answer("is-leader", "true\n")
        .answer("config-get", "{}\n")
        .answer("state-get", &format!("{state}\n"))
        .answer(
            "secret-get",
            "{\"operator-password\": \"o\", \"replication-password\": \"r\", \"rewind-password\": \"w\", \"monitoring-password\": \"m\", \"backup-password\": \"b\", \"patroni-password\": \"p\"}\n",
        )
        .answer(
            "network-get",
            "{\"bind-addresses\": [{\"mac-address\": \"\", \"interface-name\": \"eth0\", \"addresses\": [{\"hostname\": \"\", \"value\": \"10.1.2.3\", \"cidr\": \"10.1.2.0/24\"}]}], \"egress-subnets\": [\"10.1.2.3/32\"], \"ingress-addresses\": [\"10.1.2.3\"]}\n",
        )
        .answer(
            "goal-state",
            "{\"units\": {\"postgresql-k8s/0\": {\"status\": \"active\"}}, \"relations\": {}}\n",
        )
        .accept_writes();
}

/// An OTLP/HTTP receiver on 127.0.0.1 answering `200 {}` to every request (a thread, one
/// connection at a time); its base url.
fn otlp_receiver() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end().to_ascii_lowercase();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            let _ = reader
                .into_inner()
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}");
        }
    });
    url
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50)
        .max(20);
    let charm = PathBuf::from(env!("CARGO_BIN_EXE_postgresql-k8s"));
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let jujuc = jujuc_binary(target, true).expect("build jujuc");

    let mut h = Harness::new(&charm, &jujuc, "postgresql-k8s/0").unwrap();
    h.answer("is-leader", "true\n")
        .answer("action-get", "{}\n")
        .accept_writes();
    let no_sockets = h.charm_dir().join("no-containers");
    h.env("CHARM_CONTAINERS_DIR", no_sockets.to_str().unwrap());

    let mut rows = Vec::new();
    rows.push(run_many("baseline: /bin/true", runs, || {
        #[allow(clippy::disallowed_methods)]
        Command::new("/bin/true")
    }));
    rows.push(run_many("baseline: one jujuc call", runs, || {
        h.tool_command("is-leader", "hooks/update-status").unwrap()
    }));
    for (name, path, env) in [
        ("update-status", "hooks/update-status", vec![]),
        ("install", "hooks/install", vec![]),
        ("config-changed", "hooks/config-changed", vec![]),
        (
            "database-relation-changed",
            "hooks/database-relation-changed",
            vec![
                ("JUJU_RELATION", "database"),
                ("JUJU_RELATION_ID", "database:4"),
                ("JUJU_REMOTE_APP", "app"),
                ("JUJU_REMOTE_UNIT", "app/0"),
            ],
        ),
        ("action get-password", "actions/get-password", vec![]),
    ] {
        let mut row = run_many(name, runs, || h.command(path, &env).unwrap());
        row.calls = Some(h.calls().unwrap().len());
        rows.push(row);
    }

    // COS: a leader with its passwords, store and peers kept, one Prometheus and one Grafana
    // related, and no workload socket. The relation hook writes both bags (the replayed
    // relation-get answers empty bags, so every run writes as a first join does); update-status
    // with the same relations kept shows the steady state.
    let mut cos = Harness::new(&charm, &jujuc, "postgresql-k8s/0").unwrap();
    let store =
        "{\"hosts\":[\"10.1.2.9:2379\"],\"protocol\":\"http\",\"ca\":null,\"client_secret\":null}";
    let peers = "{\"relation\":0,\"members\":{}}";
    let state = |extra: &[(&str, &str)]| {
        let mut s = std::collections::BTreeMap::from([("etcd-store", store), ("peers", peers)]);
        s.extend(extra.iter().copied());
        format!("{}\n", serde_json::to_string(&s).unwrap())
    };
    cos.answer("is-leader", "true\n")
        .answer("config-get", "{}\n")
        .answer("state-get", &state(&[]))
        .answer("secret-get", &format!("{APP_SECRET}\n"))
        .fail(
            "secret-get --format=json --label database-peers.postgresql-k8s.unit --peek",
            1,
            "ERROR secret not found\n",
        )
        .answer("relation-ids database-peers", "[\"database-peers:0\"]\n")
        .answer("relation-ids etcd", "[\"etcd:3\"]\n")
        .answer(
            "relation-ids metrics-endpoint",
            "[\"metrics-endpoint:7\"]\n",
        )
        .answer(
            "relation-ids grafana-dashboard",
            "[\"grafana-dashboard:8\"]\n",
        )
        .answer("relation-list", "\"etcd-lab\"\n")
        .answer("relation-list --format=json -r database-peers:0", "[]\n")
        .answer("relation-get --format=json -r database-peers:0", "{}\n")
        .answer("relation-get --format=json -r metrics-endpoint:7", "{}\n")
        .answer("relation-get --format=json -r grafana-dashboard:8", "{}\n")
        .answer(
            "relation-get",
            "{\"endpoints\": \"http://10.1.2.9:2379\"}\n",
        )
        .answer("network-get", &format!("{NETWORK}\n"))
        .answer(
            "goal-state",
            "{\"units\": {\"postgresql-k8s/0\": {\"status\": \"active\"}}, \"relations\": {}}\n",
        )
        .accept_writes();
    cos.env("CHARM_CONTAINERS_DIR", no_sockets.to_str().unwrap());
    let env = [
        ("JUJU_RELATION", "metrics-endpoint"),
        ("JUJU_RELATION_ID", "metrics-endpoint:7"),
        ("JUJU_REMOTE_APP", "prometheus"),
        ("JUJU_REMOTE_UNIT", "prometheus/0"),
    ];
    let path = "hooks/metrics-endpoint-relation-changed";
    let mut row = run_many("metrics-endpoint-rel-changed", runs, || {
        cos.command(path, &env).unwrap()
    });
    let calls = cos.calls().unwrap();
    row.calls = Some(calls.len());
    let written: Vec<(String, usize)> = calls
        .iter()
        .filter(|c| c.tool == "relation-set")
        .map(|c| (c.args.join(" "), c.stdin.len()))
        .collect();
    let kept = calls
        .iter()
        .filter(|c| c.tool == "state-set")
        .find_map(|c| {
            serde_json::from_str::<std::collections::BTreeMap<String, String>>(&c.stdin)
                .ok()?
                .remove("cos")
        })
        .expect("the relation hook records what it wrote");
    rows.push(row);
    cos.answer("state-get", &state(&[("cos", &kept)]));
    let mut row = run_many("update-status (COS kept)", runs, || {
        cos.command("hooks/update-status", &[]).unwrap()
    });
    row.calls = Some(cos.calls().unwrap().len());
    rows.push(row);

    // A steady-state update-status (every read answered, no workload socket), without and with
    // a tracing receiver kept in the charm's state: the cost of recording and sending the spans.
    let receiver = otlp_receiver();
    for (name, traced) in [
        ("update-status steady", false),
        ("update-status steady+tracing", true),
    ] {
        let mut s = Harness::new(&charm, &jujuc, "postgresql-k8s/0").unwrap();
        steady(&mut s, traced.then_some(receiver.as_str()));
        s.env("CHARM_CONTAINERS_DIR", no_sockets.to_str().unwrap());
        let mut row = run_many(name, runs, || {
            s.command("hooks/update-status", &[]).unwrap()
        });
        row.calls = Some(s.calls().unwrap().len());
        rows.push(row);
    }

    let baseline = rows[0].median_ms;
    println!(
        "\n{runs} runs per event; charm binary {} ({:.2} MiB stripped)",
        charm.display(),
        std::fs::metadata(&charm).unwrap().len() as f64 / (1024.0 * 1024.0)
    );
    println!(
        "{:<28} {:>10} {:>10} {:>14} {:>12} {:>10}",
        "event", "median ms", "p90 ms", "peak RSS MiB", "tool calls", "x /bin/true"
    );
    for row in &rows {
        println!(
            "{:<28} {:>10.2} {:>10.2} {:>14.2} {:>12} {:>10.1}",
            row.name,
            row.median_ms,
            row.p90_ms,
            row.rss_mib,
            row.calls
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            row.median_ms / baseline
        );
    }
    println!("\nrelation data written by metrics-endpoint-relation-changed (bytes of JSON):");
    for (args, bytes) in &written {
        println!("  relation-set {args}: {bytes}");
    }
    println!(
        "\npeak RSS is wait4's ru_maxrss: the largest of the process and the children it waited \
         for; the jujuc baseline row shows a hook tool's own peak, so a charm figure above it is \
         the charm's."
    );
}
