//! `patroni.yml` (spec §5.1 layout): rendered from a plain input struct, keys sorted, values
//! escaped by the YAML serialiser. It holds passwords, so it is written with mode 0600.

use std::collections::BTreeMap;

use juju::Secret;
use serde_json::{Value, json};

use super::{
    DATA_DIR, PATRONI_PORT, PG_PORT, PGPASS, SOCKET_DIR, TLS_CA_FILE, TLS_CERT_FILE, TLS_KEY_FILE,
};

/// Patroni's distributed configuration store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dcs {
    /// Kubernetes Endpoints (the reference's store), used when the charm runs in Kubernetes.
    Kubernetes {
        /// The pod's IP address, which Patroni writes into the leader Endpoints.
        pod_ip: String,
    },
    /// An etcd v3 cluster from the `etcd` relation.
    Etcd(EtcdStore),
}

/// Where etcd is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdStore {
    /// `host:port` of each member.
    pub hosts: Vec<String>,
    /// `http` or `https`.
    pub protocol: String,
    /// CA file in the workload (https only).
    pub cacert: Option<String>,
    /// Client certificate and key files in the workload (mutual TLS only).
    pub client_cert: Option<(String, String)>,
}

/// The passwords `patroni.yml` carries.
#[derive(Debug, Clone)]
pub struct PatroniPasswords {
    /// `operator`, Patroni's superuser.
    pub superuser: Secret,
    /// `replication`.
    pub replication: Secret,
    /// `rewind`.
    pub rewind: Secret,
    /// The REST API's basic-auth user `patroni`.
    pub rest: Secret,
}

/// Everything `patroni.yml` depends on.
#[derive(Debug, Clone)]
pub struct PatroniInputs {
    /// `patroni-<app>`.
    pub scope: String,
    /// This member's name (`<app>-<n>`).
    pub name: String,
    /// Host name or address other members and clients use for this member.
    pub connect_host: String,
    /// The store.
    pub dcs: Dcs,
    /// PostgreSQL binaries.
    pub bin_dir: String,
    /// Local PostgreSQL parameters (`postgresql.parameters`).
    pub parameters: BTreeMap<String, String>,
    /// Cluster-wide parameters Patroni keeps in the store (`bootstrap.dcs.postgresql.parameters`).
    pub dcs_parameters: BTreeMap<String, String>,
    /// Synchronous standbys to keep.
    pub synchronous_node_count: u32,
    /// Bytes a replica may lag and still be promoted.
    pub maximum_lag_on_failover: u64,
    /// `pg_hba` rules.
    pub pg_hba: Vec<String>,
    /// Passwords.
    pub passwords: PatroniPasswords,
    /// TLS is on: the key, certificate and CA files are in place, PostgreSQL serves TLS (1.2 at
    /// least) and Patroni's REST API answers on https only.
    pub tls: bool,
    /// A restore is in progress: Patroni bootstraps the cluster with this command (pgBackRest's
    /// `restore`, spec §5.1) instead of `initdb`.
    pub restore_command: Option<String>,
}

/// Parameters every member gets regardless of config (spec §5.1 bootstrap parameters).
fn fixed_parameters() -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        ("archive_command", json!("/bin/true")),
        ("archive_mode", json!("on")),
        ("autovacuum", json!(true)),
        ("fsync", json!(true)),
        ("full_page_writes", json!(true)),
        ("log_autovacuum_min_duration", json!(60000)),
        ("log_checkpoints", json!("on")),
        // PostgreSQL logs to its standard error, which Patroni passes on to its own and Pebble
        // keeps as the `postgresql` service's output (forwarded to Loki when related): no
        // logging collector, no files (the reference writes /var/log/postgresql/*.log).
        ("log_destination", json!("stderr")),
        ("log_error_verbosity", json!("verbose")),
        (
            "log_line_prefix",
            json!("%t [%p]: user=%u,db=%d,app=%a,client=%h,line=%l "),
        ),
        ("log_min_error_statement", json!("warning")),
        ("log_statement", json!("ddl")),
        ("log_timezone", json!("UTC")),
        ("logging_collector", json!("off")),
        ("password_encryption", json!("scram-sha-256")),
        ("unix_socket_directories", json!(SOCKET_DIR)),
        ("wal_level", json!("logical")),
    ])
}

/// Render `patroni.yml`.
pub fn render_patroni_yml(inputs: &PatroniInputs) -> String {
    let mut parameters = serde_json::Map::new();
    for (k, v) in fixed_parameters() {
        parameters.insert(k.to_string(), v);
    }
    for (k, v) in &inputs.parameters {
        parameters.insert(k.clone(), json!(v));
    }
    let mut dcs_parameters = serde_json::Map::new();
    dcs_parameters.insert("synchronous_standby_names".into(), json!("*"));
    for (k, v) in &inputs.dcs_parameters {
        dcs_parameters.insert(k.clone(), json!(v));
    }
    if inputs.tls {
        for (k, v) in [
            ("ssl", "on"),
            ("ssl_ca_file", TLS_CA_FILE),
            ("ssl_cert_file", TLS_CERT_FILE),
            ("ssl_key_file", TLS_KEY_FILE),
            ("ssl_min_protocol_version", "TLSv1.2"),
        ] {
            parameters.insert(k.to_string(), json!(v));
        }
    } else {
        parameters.insert("ssl".to_string(), json!("off"));
    }
    let p = &inputs.passwords;
    let mut doc = json!({
        "scope": inputs.scope,
        "name": inputs.name,
        // No `dir`: Patroni logs to its standard error, the service's output (see above).
        "log": {
            "dateformat": "%Y-%m-%d %H:%M:%S %Z",
            "format": "%(asctime)s [%(process)d]: %(levelname)s: %(message)s ",
        },
        "bootstrap": {
            "dcs": {
                "failsafe_mode": true,
                "synchronous_mode": true,
                "synchronous_mode_strict": false,
                "synchronous_node_count": inputs.synchronous_node_count,
                "maximum_lag_on_failover": inputs.maximum_lag_on_failover,
                "max_timelines_history": 50,
                "postgresql": {
                    "use_pg_rewind": true,
                    "remove_data_directory_on_rewind_failure": false,
                    "remove_data_directory_on_diverged_timelines": false,
                    "parameters": dcs_parameters,
                },
            },
            "initdb": [
                {"auth-host": "scram-sha-256"},
                {"auth-local": "peer"},
                {"encoding": "UTF8"},
                "data-checksums",
            ],
            "pg_hba": inputs.pg_hba,
        },
        "restapi": {
            "listen": format!("0.0.0.0:{PATRONI_PORT}"),
            "connect_address": format!("{}:{PATRONI_PORT}", inputs.connect_host),
            "authentication": {"username": "patroni", "password": p.rest.expose()},
        },
        "postgresql": {
            "listen": format!("0.0.0.0:{PG_PORT}"),
            "connect_address": format!("{}:{PG_PORT}", inputs.connect_host),
            "data_dir": DATA_DIR,
            "bin_dir": inputs.bin_dir,
            "pgpass": PGPASS,
            "use_unix_socket": true,
            "parameters": parameters,
            "pg_hba": inputs.pg_hba,
            "pg_ident": ["operator postgres backup"],
            "authentication": {
                "superuser": {"username": "operator", "password": p.superuser.expose()},
                "replication": {"username": "replication", "password": p.replication.expose()},
                "rewind": {"username": "rewind", "password": p.rewind.expose()},
            },
        },
    });
    if let Some(command) = &inputs.restore_command {
        let bootstrap = doc["bootstrap"]
            .as_object_mut()
            .expect("bootstrap is a map");
        bootstrap.remove("initdb");
        bootstrap.insert("method".into(), json!("pgbackrest"));
        bootstrap.insert(
            "pgbackrest".into(),
            json!({
                "command": command,
                "keep_existing_recovery_conf": true,
                "no_params": true,
            }),
        );
    }
    if inputs.tls {
        doc["restapi"]["certfile"] = json!(TLS_CERT_FILE);
        doc["restapi"]["keyfile"] = json!(TLS_KEY_FILE);
        doc["restapi"]["cafile"] = json!(TLS_CA_FILE);
        doc["ctl"] = json!({
            "cacert": TLS_CA_FILE,
            "certfile": TLS_CERT_FILE,
            "keyfile": TLS_KEY_FILE,
        });
    }
    match &inputs.dcs {
        Dcs::Kubernetes { pod_ip } => {
            doc["kubernetes"] = json!({
                "bypass_api_service": true,
                "use_endpoints": true,
                "pod_ip": pod_ip,
                "leader_label_value": "primary",
                "labels": {"application": "patroni", "cluster-name": inputs.scope},
            });
        }
        Dcs::Etcd(etcd) => {
            let mut section = json!({"hosts": etcd.hosts, "protocol": etcd.protocol});
            if let Some(ca) = &etcd.cacert {
                section["cacert"] = json!(ca);
            }
            if let Some((cert, key)) = &etcd.client_cert {
                section["cert"] = json!(cert);
                section["key"] = json!(key);
            }
            doc["etcd3"] = section;
        }
    }
    serde_yaml::to_string(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn inputs(dcs: Dcs) -> PatroniInputs {
        PatroniInputs {
            scope: "patroni-pg".into(),
            name: "pg-0".into(),
            connect_host: "10.1.2.3".into(),
            dcs,
            bin_dir: "/usr/lib/postgresql/15/bin".into(),
            parameters: BTreeMap::from([("work_mem".into(), "4096".into())]),
            dcs_parameters: BTreeMap::from([("max_connections".into(), "100".into())]),
            synchronous_node_count: 0,
            maximum_lag_on_failover: 1_048_576,
            pg_hba: vec!["local all operator scram-sha-256".into()],
            passwords: PatroniPasswords {
                superuser: Secret::new("su'per\"pw: x"),
                replication: Secret::new("repl"),
                rewind: Secret::new("rew"),
                rest: Secret::new("rest"),
            },
            tls: false,
            restore_command: None,
        }
    }

    #[test]
    fn a_restore_bootstraps_with_pgbackrest_instead_of_initdb() {
        let dcs = Dcs::Kubernetes {
            pod_ip: "10.1.2.3".into(),
        };
        let doc: serde_yaml::Value = serde_yaml::from_str(&render_patroni_yml(&PatroniInputs {
            restore_command: Some("pgbackrest --stanza=m.patroni-pg restore".into()),
            ..inputs(dcs)
        }))
        .unwrap();
        let bootstrap = &doc["bootstrap"];
        assert!(bootstrap.get("initdb").is_none());
        assert_eq!(bootstrap["method"], "pgbackrest");
        assert_eq!(
            bootstrap["pgbackrest"]["command"],
            "pgbackrest --stanza=m.patroni-pg restore"
        );
        assert_eq!(bootstrap["pgbackrest"]["keep_existing_recovery_conf"], true);
        assert_eq!(bootstrap["pgbackrest"]["no_params"], true);
        assert!(bootstrap["dcs"].get("postgresql").is_some());
    }

    #[test]
    fn tls_turns_on_ssl_and_https_with_the_three_files() {
        let dcs = || Dcs::Kubernetes {
            pod_ip: "10.1.2.3".into(),
        };
        let plain: serde_yaml::Value =
            serde_yaml::from_str(&render_patroni_yml(&inputs(dcs()))).unwrap();
        assert_eq!(plain["postgresql"]["parameters"]["ssl"], "off");
        assert!(plain["restapi"].get("certfile").is_none());
        assert!(plain.get("ctl").is_none());
        let tls: serde_yaml::Value = serde_yaml::from_str(&render_patroni_yml(&PatroniInputs {
            tls: true,
            ..inputs(dcs())
        }))
        .unwrap();
        let params = &tls["postgresql"]["parameters"];
        assert_eq!(params["ssl"], "on");
        assert_eq!(params["ssl_min_protocol_version"], "TLSv1.2");
        assert_eq!(params["ssl_key_file"], "/var/lib/postgresql/data/key.pem");
        assert_eq!(params["ssl_cert_file"], "/var/lib/postgresql/data/cert.pem");
        assert_eq!(params["ssl_ca_file"], "/var/lib/postgresql/data/ca.pem");
        assert_eq!(
            tls["restapi"]["certfile"],
            "/var/lib/postgresql/data/cert.pem"
        );
        assert_eq!(
            tls["restapi"]["keyfile"],
            "/var/lib/postgresql/data/key.pem"
        );
        assert_eq!(tls["ctl"]["cacert"], "/var/lib/postgresql/data/ca.pem");
    }

    #[test]
    fn renders_the_reference_layout_with_etcd() {
        let yml = render_patroni_yml(&inputs(Dcs::Etcd(EtcdStore {
            hosts: vec!["10.64.0.10:2379".into()],
            protocol: "http".into(),
            cacert: None,
            client_cert: None,
        })));
        let doc: serde_yaml::Value = serde_yaml::from_str(&yml).unwrap();
        assert_eq!(doc["scope"], "patroni-pg");
        assert_eq!(doc["name"], "pg-0");
        assert_eq!(doc["etcd3"]["hosts"][0], "10.64.0.10:2379");
        assert!(doc.get("kubernetes").is_none());
        assert_eq!(doc["postgresql"]["connect_address"], "10.1.2.3:5432");
        assert_eq!(
            doc["postgresql"]["data_dir"],
            "/var/lib/postgresql/data/pgdata"
        );
        assert_eq!(doc["postgresql"]["parameters"]["work_mem"], "4096");
        assert_eq!(
            doc["postgresql"]["parameters"]["password_encryption"],
            "scram-sha-256"
        );
        assert_eq!(
            doc["bootstrap"]["dcs"]["postgresql"]["parameters"]["max_connections"],
            "100"
        );
        assert_eq!(doc["bootstrap"]["initdb"][0]["auth-host"], "scram-sha-256");
        // Hostile characters in a password survive the round trip exactly.
        assert_eq!(
            doc["postgresql"]["authentication"]["superuser"]["password"],
            "su'per\"pw: x"
        );
        assert_eq!(
            render_patroni_yml(&inputs(Dcs::Kubernetes { pod_ip: "x".into() }))
                .matches("trust")
                .count(),
            0
        );
    }

    #[test]
    fn postgresql_and_patroni_log_to_the_service_output() {
        let yml = render_patroni_yml(&inputs(Dcs::Kubernetes {
            pod_ip: "10.1.2.3".into(),
        }));
        let doc: serde_yaml::Value = serde_yaml::from_str(&yml).unwrap();
        let params = &doc["postgresql"]["parameters"];
        assert_eq!(params["logging_collector"], "off");
        assert_eq!(params["log_destination"], "stderr");
        for file_setting in ["log_directory", "log_filename", "log_rotation_age"] {
            assert!(params.get(file_setting).is_none(), "{file_setting}");
        }
        // Patroni without a log directory writes to its standard error.
        assert!(doc["log"].get("dir").is_none());
        assert!(doc["log"].get("format").is_some());
    }

    #[test]
    fn kubernetes_store_as_the_reference() {
        let yml = render_patroni_yml(&inputs(Dcs::Kubernetes {
            pod_ip: "10.1.2.3".into(),
        }));
        let doc: serde_yaml::Value = serde_yaml::from_str(&yml).unwrap();
        assert_eq!(doc["kubernetes"]["use_endpoints"], true);
        assert_eq!(doc["kubernetes"]["bypass_api_service"], true);
        assert_eq!(doc["kubernetes"]["pod_ip"], "10.1.2.3");
        assert_eq!(doc["kubernetes"]["labels"]["cluster-name"], "patroni-pg");
        assert!(doc.get("etcd3").is_none());
    }
}
