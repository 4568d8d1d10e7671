//! `patroni.yml` as the charm renders it passes Patroni's own validator (`patroni
//! --validate-config`, Patroni from Debian), for both stores: Kubernetes and etcd.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use juju::Secret;
use postgresql_k8s::config::{Config, Resources};
use postgresql_k8s::workload::{
    Dcs, EtcdStore, HbaInputs, PatroniInputs, PatroniPasswords, render_hba, render_patroni_yml,
};

fn inputs(dcs: Dcs, connect_host: &str) -> PatroniInputs {
    let config = Config::defaults();
    let resources = Resources {
        cpu_cores: 4,
        memory_bytes: 8 << 30,
    };
    PatroniInputs {
        scope: "patroni-postgresql-k8s".into(),
        name: "postgresql-k8s-0".into(),
        connect_host: connect_host.into(),
        dcs,
        bin_dir: "/usr/lib/postgresql/15/bin".into(),
        parameters: config.postgresql_parameters(&resources),
        dcs_parameters: config.dcs_parameters(&resources),
        synchronous_node_count: 0,
        maximum_lag_on_failover: 1_048_576,
        pg_hba: render_hba(&HbaInputs {
            tls: false,
            members: vec![connect_host.into()],
            users: vec![],
        }),
        passwords: PatroniPasswords {
            superuser: Secret::new("a"),
            replication: Secret::new("b"),
            rewind: Secret::new("c"),
            rest: Secret::new("d"),
        },
        tls: false,
        restore_command: None,
    }
}

fn validate(yml: &str) {
    assert!(
        Path::new("/usr/bin/patroni").exists(),
        "Patroni is not installed: apt-get install patroni (scripts/install-deps does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("patroni.yml");
    std::fs::write(&file, yml).unwrap();
    #[allow(clippy::disallowed_methods)] // running Patroni's validator
    let out = Command::new("patroni")
        .arg("--validate-config")
        .arg(&file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "patroni --validate-config refused:\n{text}\n---\n{yml}"
    );
}

#[test]
fn the_etcd_rendering_validates() {
    let yml = render_patroni_yml(&inputs(
        Dcs::Etcd(EtcdStore {
            hosts: vec!["10.64.0.10:2379".into()],
            protocol: "http".into(),
            cacert: None,
            client_cert: None,
        }),
        "10.64.0.11",
    ));
    validate(&yml);
}

#[test]
fn the_kubernetes_rendering_validates() {
    let host = "postgresql-k8s-0.postgresql-k8s-endpoints";
    let yml = render_patroni_yml(&inputs(
        Dcs::Kubernetes {
            pod_ip: "10.1.2.3".into(),
        },
        host,
    ));
    validate(&yml);
    let parameters: BTreeMap<String, serde_yaml::Value> = serde_yaml::from_value(
        serde_yaml::from_str::<serde_yaml::Value>(&yml).unwrap()["postgresql"]["parameters"]
            .clone(),
    )
    .unwrap();
    assert_eq!(parameters["password_encryption"], "scram-sha-256");
}
