//! The Pebble layer (spec §4.3): Patroni as service `postgresql`, the exporter as
//! `metrics_server`, and the ready check on Patroni's `/health`.

use std::collections::BTreeMap;

use pebble::{
    Check, CheckLevel, ExecCheck, HttpCheck, Layer, LogTarget, Override, Service, ServiceAction,
    Startup,
};

use super::{
    EXPORTER_QUERIES_FILE, MONITORING_PASSWORD_FILE, PATRONI_CONF, PG_PORT, SOCKET_DIR,
    WORKLOAD_USER,
};

/// What the layer depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerInputs {
    /// Application name.
    pub app: String,
    /// This member's name (`<app>-<n>`).
    pub member: String,
    /// Kubernetes namespace (model name), used only in Kubernetes.
    pub namespace: String,
    /// Running in Kubernetes: Patroni gets its Kubernetes settings from the environment.
    pub in_kubernetes: bool,
    /// How Pebble tells that the database is up.
    pub ready_check: ReadyCheck,
    /// The exporter command, when the image has one.
    pub exporter: Option<String>,
    /// Whether the monitoring password exists (the exporter starts only then).
    pub monitoring_ready: bool,
    /// A restore is in progress: Pebble must not restart Patroni when its bootstrap fails (the
    /// charm reports the failure instead of retrying a restore that cannot succeed).
    pub restoring: bool,
    /// Pebble log targets (log forwarding to Loki), rendered by `relations::logging`.
    pub log_targets: BTreeMap<String, LogTarget>,
}

/// The `postgresql` ready check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadyCheck {
    /// GET Patroni's `/health` over plain HTTP (the reference's check, used while TLS is off).
    Http(String),
    /// Run this command as the workload user. With TLS on, Patroni's API answers only on https
    /// with a certificate from the charm's CA, which Pebble's HTTP checks cannot be told to
    /// trust (they use the system roots, read once per Pebble process), so the check asks
    /// PostgreSQL itself with `pg_isready` over the unix socket.
    Exec(String),
}

impl ReadyCheck {
    /// `pg_isready` against the local socket, from the server's `bin_dir`.
    pub fn pg_isready(bin_dir: &str) -> ReadyCheck {
        ReadyCheck::Exec(format!(
            "{bin_dir}/pg_isready --quiet --host {SOCKET_DIR} --port {PG_PORT}"
        ))
    }
}

/// The layer, added with label `postgresql` and `combine`.
pub fn render_layer(inputs: &LayerInputs) -> Layer {
    let scope = format!("patroni-{}", inputs.app);
    let mut env = BTreeMap::from([
        ("PATRONI_NAME".to_string(), inputs.member.clone()),
        ("PATRONI_SCOPE".to_string(), scope.clone()),
        (
            "PATRONI_REPLICATION_USERNAME".to_string(),
            "replication".to_string(),
        ),
        (
            "PATRONI_SUPERUSER_USERNAME".to_string(),
            "operator".to_string(),
        ),
    ]);
    if inputs.in_kubernetes {
        env.insert(
            "PATRONI_KUBERNETES_LABELS".into(),
            format!("{{application: patroni, cluster-name: {scope}}}"),
        );
        env.insert(
            "PATRONI_KUBERNETES_LEADER_LABEL_VALUE".into(),
            "primary".into(),
        );
        env.insert(
            "PATRONI_KUBERNETES_NAMESPACE".into(),
            inputs.namespace.clone(),
        );
        env.insert("PATRONI_KUBERNETES_USE_ENDPOINTS".into(), "true".into());
    }
    let mut layer = Layer {
        summary: "postgresql + patroni layer".into(),
        description: "pebble config layer for postgresql + patroni".into(),
        ..Layer::default()
    };
    layer.services.insert(
        "postgresql".into(),
        Service {
            r#override: Some(Override::Replace),
            summary: "entrypoint of the postgresql + patroni image".into(),
            command: format!("patroni {PATRONI_CONF}"),
            startup: Some(Startup::Enabled),
            user: WORKLOAD_USER.into(),
            group: WORKLOAD_USER.into(),
            on_failure: Some(if inputs.restoring {
                ServiceAction::Ignore
            } else {
                ServiceAction::Restart
            }),
            environment: env,
            ..Service::default()
        },
    );
    if let Some(exporter) = &inputs.exporter {
        let env = BTreeMap::from([
            // The exporter builds `postgresql://user:pass@<uri>`; the unix socket directory goes
            // in the query (a `/` in the host part would not parse), and the URL's host must be
            // empty: with one, lib/pq connects over TCP to it, which pg_hba refuses without TLS
            // once TLS is on (only `hostssl` lines), so the exporter would go blind.
            (
                "DATA_SOURCE_URI".to_string(),
                format!(
                    ":{PG_PORT}/postgres?sslmode=disable&host={}",
                    SOCKET_DIR.replace('/', "%2F")
                ),
            ),
            ("DATA_SOURCE_USER".to_string(), "monitoring".to_string()),
            (
                "DATA_SOURCE_PASS_FILE".to_string(),
                MONITORING_PASSWORD_FILE.to_string(),
            ),
            // Our queries (per-table vacuum state, invalid indexes, transaction ID age) run in
            // every database, which `monitoring` may connect to (the charm grants it each one).
            (
                "PG_EXPORTER_EXTEND_QUERY_PATH".to_string(),
                EXPORTER_QUERIES_FILE.to_string(),
            ),
            (
                "PG_EXPORTER_AUTO_DISCOVER_DATABASES".to_string(),
                "true".to_string(),
            ),
        ]);
        layer.services.insert(
            "metrics_server".into(),
            Service {
                r#override: Some(Override::Replace),
                summary: "postgresql metrics exporter".into(),
                command: exporter.clone(),
                startup: Some(if inputs.monitoring_ready {
                    Startup::Enabled
                } else {
                    Startup::Disabled
                }),
                user: WORKLOAD_USER.into(),
                group: WORKLOAD_USER.into(),
                after: vec!["postgresql".into()],
                environment: env,
                ..Service::default()
            },
        );
    }
    let mut check = Check {
        r#override: Some(Override::Replace),
        level: Some(CheckLevel::Ready),
        ..Check::default()
    };
    match &inputs.ready_check {
        ReadyCheck::Http(url) => {
            check.http = Some(HttpCheck {
                url: url.clone(),
                ..HttpCheck::default()
            });
        }
        ReadyCheck::Exec(command) => {
            check.exec = Some(ExecCheck {
                command: command.clone(),
                user: WORKLOAD_USER.into(),
                group: WORKLOAD_USER.into(),
                ..ExecCheck::default()
            });
        }
    }
    layer.checks.insert("postgresql".into(), check);
    layer.log_targets = inputs.log_targets.clone();
    layer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> LayerInputs {
        LayerInputs {
            app: "pg".into(),
            member: "pg-0".into(),
            namespace: "dev".into(),
            in_kubernetes: false,
            ready_check: ReadyCheck::Http("http://10.1.2.3:8008/health".into()),
            exporter: Some("/usr/bin/prometheus-postgres-exporter".into()),
            monitoring_ready: true,
            restoring: false,
            log_targets: BTreeMap::new(),
        }
    }

    #[test]
    fn services_and_check_as_the_reference() {
        let layer = render_layer(&inputs());
        let pg = &layer.services["postgresql"];
        assert_eq!(pg.command, "patroni /var/lib/postgresql/data/patroni.yml");
        assert_eq!(pg.user, "postgres");
        assert_eq!(pg.environment["PATRONI_SCOPE"], "patroni-pg");
        assert!(!pg.environment.contains_key("PATRONI_KUBERNETES_NAMESPACE"));
        let exporter = &layer.services["metrics_server"];
        assert_eq!(exporter.after, ["postgresql"]);
        assert_eq!(exporter.startup, Some(Startup::Enabled));
        // The local socket, never TCP (no host in the URL).
        assert_eq!(
            exporter.environment["DATA_SOURCE_URI"],
            ":5432/postgres?sslmode=disable&host=%2Fvar%2Frun%2Fpostgresql"
        );
        assert_eq!(
            exporter.environment["PG_EXPORTER_EXTEND_QUERY_PATH"],
            "/var/lib/postgresql/data/exporter-queries.yaml"
        );
        // The password reaches the exporter through a 0600 file, never the plan.
        assert!(
            exporter
                .environment
                .values()
                .all(|v| !v.contains("password="))
        );
        assert_eq!(layer.checks["postgresql"].level, Some(CheckLevel::Ready));
        layer.validate("postgresql").unwrap();
    }

    #[test]
    fn kubernetes_settings_and_a_disabled_exporter() {
        let layer = render_layer(&LayerInputs {
            in_kubernetes: true,
            monitoring_ready: false,
            restoring: false,
            ..inputs()
        });
        let env = &layer.services["postgresql"].environment;
        assert_eq!(env["PATRONI_KUBERNETES_NAMESPACE"], "dev");
        assert_eq!(
            env["PATRONI_KUBERNETES_LABELS"],
            "{application: patroni, cluster-name: patroni-pg}"
        );
        assert_eq!(
            layer.services["metrics_server"].startup,
            Some(Startup::Disabled)
        );
        let none = render_layer(&LayerInputs {
            exporter: None,
            ..inputs()
        });
        assert!(!none.services.contains_key("metrics_server"));
    }

    #[test]
    fn log_targets_go_into_the_layer() {
        let target = LogTarget {
            r#type: Some(pebble::LogTargetType::Loki),
            location: "http://loki:3100/loki/api/v1/push".into(),
            services: vec!["all".into()],
            r#override: Some(Override::Replace),
            labels: BTreeMap::from([("juju_unit".to_string(), "pg/0".to_string())]),
        };
        let layer = render_layer(&LayerInputs {
            log_targets: BTreeMap::from([("loki/0".to_string(), target.clone())]),
            ..inputs()
        });
        assert_eq!(layer.log_targets["loki/0"], target);
        layer.validate("postgresql").unwrap();
        assert!(render_layer(&inputs()).log_targets.is_empty());
    }

    #[test]
    fn with_tls_the_check_asks_postgresql_over_the_socket() {
        let layer = render_layer(&LayerInputs {
            ready_check: ReadyCheck::pg_isready("/usr/lib/postgresql/15/bin"),
            ..inputs()
        });
        let check = &layer.checks["postgresql"];
        assert!(check.http.is_none());
        let exec = check.exec.as_ref().unwrap();
        assert_eq!(
            exec.command,
            "/usr/lib/postgresql/15/bin/pg_isready --quiet --host /var/run/postgresql --port 5432"
        );
        assert_eq!(exec.user, "postgres");
        layer.validate("postgresql").unwrap();
    }
}
