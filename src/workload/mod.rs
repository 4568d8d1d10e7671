//! The `postgresql` workload container: its name, the paths the charm uses in it, what is
//! installed there, and the files and Pebble layer the charm renders for it.

mod detect;
mod hba;
mod layer;
mod patroni_yml;
pub mod pgbackrest;

pub use detect::{EXPORTER_CANDIDATES, Installed, detect_installed};
pub use hba::{HbaInputs, render_hba};
pub use layer::{LayerInputs, ReadyCheck, render_layer};
pub use patroni_yml::{Dcs, EtcdStore, PatroniInputs, PatroniPasswords, render_patroni_yml};

/// The workload container's name in metadata.yaml; its Pebble socket is
/// `<containers dir>/postgresql/pebble.socket`.
pub const CONTAINER: &str = "postgresql";

/// Where Juju mounts the workload containers' Pebble sockets inside the charm container.
pub const DEFAULT_CONTAINERS_DIR: &str = "/charm/containers";

/// The OS user (and group) PostgreSQL and Patroni run as in the image.
pub const WORKLOAD_USER: &str = "postgres";

/// Where the `pgdata` storage is mounted.
pub const STORAGE_DIR: &str = "/var/lib/postgresql/data";

/// PGDATA, inside the storage.
pub const DATA_DIR: &str = "/var/lib/postgresql/data/pgdata";

/// Patroni's configuration (holds passwords: mode 0600, owned by the workload user).
pub const PATRONI_CONF: &str = "/var/lib/postgresql/data/patroni.yml";

/// The unit's TLS private key (PKCS#8 PEM, 0400, workload user), as the reference names it.
pub const TLS_KEY_FILE: &str = "/var/lib/postgresql/data/key.pem";

/// The unit's certificate followed by any intermediates (0400, workload user).
pub const TLS_CERT_FILE: &str = "/var/lib/postgresql/data/cert.pem";

/// The CA that issued the unit's certificate (0400, workload user).
pub const TLS_CA_FILE: &str = "/var/lib/postgresql/data/ca.pem";

/// Where CAs the workload should trust system-wide go (`update-ca-certificates` reads it).
pub const SYSTEM_CA_DIR: &str = "/usr/local/share/ca-certificates";

/// The monitoring user's password, read by the exporter (mode 0600).
pub const MONITORING_PASSWORD_FILE: &str = "/var/lib/postgresql/data/.monitoring-password";

/// The exporter's queries beyond its default collectors (`cos/exporter/queries.yaml`).
pub const EXPORTER_QUERIES_FILE: &str = "/var/lib/postgresql/data/exporter-queries.yaml";

/// A custom parameter holding the served certificate's expiry, seconds since the epoch (set only
/// with TLS on), which the exporter reads with `current_setting`.
pub const TLS_NOT_AFTER_PARAMETER: &str = "postgresql_k8s.tls_certificate_not_after";

/// Cluster-wide custom parameters (in Patroni's store) holding when `create-backup` last
/// finished a backup, and last saw one fail, seconds since the epoch; read by the exporter.
pub const LAST_BACKUP_PARAMETER: &str = "postgresql_k8s.last_backup_time";
/// See [`LAST_BACKUP_PARAMETER`].
pub const LAST_BACKUP_ERROR_PARAMETER: &str = "postgresql_k8s.last_backup_error_time";

/// The content of [`EXPORTER_QUERIES_FILE`].
pub const EXPORTER_QUERIES: &str = include_str!("../../cos/exporter/queries.yaml");

/// PostgreSQL's unix socket directory.
pub const SOCKET_DIR: &str = "/var/run/postgresql";

/// PostgreSQL and Patroni logs.
pub const LOG_DIR: &str = "/var/log/postgresql";

/// The `.pgpass` file Patroni writes and uses.
pub const PGPASS: &str = "/var/lib/postgresql/data/.pgpass";

/// The libraries the reference preloads (`shared_preload_libraries`), in its order. Only those
/// the image has are preloaded: a missing one would stop PostgreSQL from starting.
pub const PRELOAD_LIBRARIES: [&str; 3] = ["timescaledb", "pgaudit", "pg_stat_statements"];

/// PostgreSQL's port.
pub const PG_PORT: u16 = 5432;

/// Patroni's REST API port.
pub const PATRONI_PORT: u16 = 8008;

/// The postgres exporter's port.
pub const EXPORTER_PORT: u16 = 9187;
