//! The unit every replay test starts from: the real charm binary runs one hook against recorded
//! hook-tool answers (the lab's replay `jujuc`). Each test file adds the answers of the
//! relations it is about (the longest matching key wins, so order does not matter).

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};

use lab::harness::{Harness, jujuc_binary};

/// The peer secret's content: every system password.
pub const APP_SECRET: &str = r#"{"operator-password": "o", "replication-password": "r", "rewind-password": "w", "monitoring-password": "m", "backup-password": "b", "patroni-password": "p"}"#;

/// `network-get`'s answer: the unit at 10.1.2.3.
pub const NETWORK: &str = r#"{"bind-addresses": [{"mac-address": "", "interface-name": "eth0", "addresses": [{"hostname": "", "value": "10.1.2.3", "cidr": "10.1.2.0/24"}]}], "egress-subnets": ["10.1.2.3/32"], "ingress-addresses": ["10.1.2.3"]}"#;

/// Cargo's target directory (where the replay `jujuc` is built).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A unit with its passwords stored, an etcd provider related, no other unit and no workload
/// socket; `state` is what `state-get` answers (JSON).
pub fn unit(leader: bool, state: &str) -> Harness {
    let jujuc = jujuc_binary(&target_dir(), false).unwrap();
    let mut h = Harness::new(
        Path::new(env!("CARGO_BIN_EXE_postgresql-k8s")),
        &jujuc,
        "postgresql-k8s/0",
    )
    .unwrap();
    h.answer("is-leader", if leader { "true\n" } else { "false\n" })
        .answer("config-get", "{}\n")
        .answer("state-get", &format!("{state}\n"))
        .answer("secret-get", &format!("{APP_SECRET}\n"))
        .answer("relation-ids database-peers", "[\"database-peers:0\"]\n")
        .answer("relation-ids etcd", "[\"etcd:3\"]\n")
        .answer("relation-list", "\"etcd-lab\"\n")
        // No other unit yet; the peer bags hold nothing of ours.
        .answer("relation-list --format=json -r database-peers:0", "[]\n")
        .answer("relation-get --format=json -r database-peers:0", "{}\n")
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
    let sockets = h.charm_dir().join("no-containers");
    h.env("CHARM_CONTAINERS_DIR", sockets.to_str().unwrap());
    h
}
