//! Helpers for end-to-end tests: the charm and an etcd provider deployed in a lab model with real
//! PostgreSQL, Patroni and etcd, each unit in its own pod (as root; CI runs as root).

#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lab::engine::{HookRecord, Isolation, Model, ModelOptions};
pub mod clients;
pub mod cos;
pub mod s3;
pub mod tls;

/// The application name used in these tests.
pub const APP: &str = "postgresql-k8s";

/// Cargo's target directory (the lab's binaries are built there).
pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// True when units can get their own pods here (root); the tests say so and stop otherwise.
pub fn can_run() -> bool {
    if Isolation::best_available() != Isolation::Namespaces {
        eprintln!("skipped: needs root for per-unit pods (CI runs as root)");
        return false;
    }
    true
}

/// A model with etcd-lab and the charm, integrated.
pub struct Deployment {
    /// The model.
    pub model: Model,
    _tmp: tempfile::TempDir,
}

/// The charm (with the binary under test) and etcd-lab, assembled in `into`.
pub fn charm_dirs(into: &Path, bin_dir: &Path) -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pg = lab::charm::assemble(
        &into.join("postgresql-k8s"),
        root,
        &["metadata.yaml", "config.yaml", "actions.yaml", "dispatch"],
        Path::new(env!("CARGO_BIN_EXE_postgresql-k8s")),
    )
    .unwrap();
    let etcd = lab::charm::assemble(
        &into.join("etcd-lab"),
        &root.join("crates/lab/charms/etcd"),
        &["metadata.yaml", "dispatch"],
        &bin_dir.join("lab-etcd-charm"),
    )
    .unwrap();
    (pg, etcd)
}

/// Deploy etcd-lab and the charm (with `config`), integrate them, and wait until the charm's
/// unit 0 is active `Primary`.
pub fn deploy(config: &[(&str, &str)]) -> Deployment {
    deploy_with(false, config)
}

/// [`deploy`] with the lab's release binaries (benchmarks) or debug ones (tests).
pub fn deploy_with(release: bool, config: &[(&str, &str)]) -> Deployment {
    deploy_in(release, config, &[])
}

/// [`deploy_with`], with extra environment for every hook and workload of the model (e.g. the
/// interpreter of a Python test charm deployed later).
pub fn deploy_in(release: bool, config: &[(&str, &str)], env: &[(&str, &str)]) -> Deployment {
    let bin_dir = lab::harness::lab_bin_dir(&target_dir(), release).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (pg, etcd) = charm_dirs(tmp.path(), &bin_dir);
    let mut opts = ModelOptions::new(&tmp.path().join("model"), &bin_dir);
    opts.isolation = Isolation::Namespaces;
    for (k, v) in env {
        opts.env.insert(k.to_string(), v.to_string());
    }
    let mut model = Model::new(opts).unwrap();
    model.deploy(&etcd, None, 1, &[]).unwrap();
    let config: Vec<(String, String)> = config
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    model.deploy(&pg, Some(APP), 1, &config).unwrap();
    model.integrate(&format!("{APP}:etcd"), "etcd-lab").unwrap();
    let mut d = Deployment { model, _tmp: tmp };
    assert!(
        d.wait_for_status(&format!("{APP}/0"), "active", "Primary", 120),
        "never became Primary: {:?}\n{}",
        d.model.unit_status(&format!("{APP}/0")),
        d.log_tail(40)
    );
    d
}

impl Deployment {
    /// Settle and fire update-status until `unit` shows `status` with `message`.
    pub fn wait_for_status(&mut self, unit: &str, status: &str, message: &str, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            self.model.settle().unwrap();
            if let Some(s) = self.model.unit_status(unit)
                && s.status == status
                && s.message == message
            {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(500));
            self.model.update_status(Some(unit));
        }
    }

    /// The last `n` lines of the model's log (without the lines of update-status hooks that
    /// changed nothing).
    pub fn log_tail(&self, n: usize) -> String {
        let mut log = self.model.state().log;
        log.retain(|l| !l.message.starts_with("ran update-status (exit 0)"));
        log[log.len().saturating_sub(n)..]
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Settle, then fire update-status (on `unit`, or on every unit) and settle again, until
    /// `done` holds; false after `secs` seconds.
    pub fn wait_until(
        &mut self,
        unit: Option<&str>,
        secs: u64,
        done: impl Fn(&Deployment) -> bool,
    ) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            self.model.settle().unwrap();
            if done(self) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(500));
            self.model.update_status(unit);
        }
    }

    /// A scratch directory that lives as long as the deployment.
    pub fn scratch(&self) -> &Path {
        self._tmp.path()
    }

    /// The address of unit `n`.
    pub fn address(&self, n: u32) -> String {
        self.model.address(&format!("{APP}/{n}")).unwrap()
    }

    /// Run an action; its record.
    pub fn run(&mut self, unit: &str, action: &str, params: &[(&str, &str)]) -> HookRecord {
        let map = params
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        self.model.run_action(unit, action, map).unwrap()
    }

    /// `get-password username=<user>`.
    pub fn password(&mut self, user: &str) -> String {
        let record = self.run(&format!("{APP}/0"), "get-password", &[("username", user)]);
        let action = record.action.unwrap();
        assert_eq!(action.failed, None, "{}", record.output);
        action.results["password"].clone()
    }

    /// A connection to unit `n` as `user` over TCP (scram-sha-256).
    pub fn connect(
        &self,
        n: u32,
        user: &str,
        password: &str,
    ) -> Result<postgres_client::Client, String> {
        postgres_client::connect(&self.address(n), user, password)
    }

    /// Read a file from unit 0's workload.
    pub fn pull(&self, path: &str) -> Vec<u8> {
        let client = self
            .model
            .pebble(&format!("{APP}/0"), "postgresql")
            .unwrap();
        self.model.block_on(client.pull(path)).unwrap()
    }
}

/// A model's whole log, one `<unit> <level> <message>` line per entry.
pub fn model_log(m: &Model) -> String {
    m.state().log_text()
}

/// Settle; every hook must have succeeded (the model's log and the failed hooks' output
/// otherwise).
pub fn settle_ok(m: &mut Model) {
    let ran = m.settle().unwrap();
    let failed: Vec<_> = ran.iter().filter(|r| r.code != 0).collect();
    assert!(
        failed.is_empty(),
        "{}\nfailed: {:#?}",
        model_log(m),
        failed
            .iter()
            .map(|r| (&r.unit, &r.dispatch_path, &r.output))
            .collect::<Vec<_>>()
    );
}

/// A blocking PostgreSQL client for tests (tokio-postgres on a private runtime).
pub mod postgres_client {
    use tokio_postgres::NoTls;

    /// A connection and its runtime.
    pub struct Client {
        runtime: tokio::runtime::Runtime,
        client: tokio_postgres::Client,
    }

    fn config(user: &str, password: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .port(5432)
            .user(user)
            .password(password)
            .dbname("postgres")
            .connect_timeout(std::time::Duration::from_secs(5));
        config
    }

    fn open<T>(config: &tokio_postgres::Config, tls: T) -> Result<Client, String>
    where
        T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket> + 'static,
        T::Stream: Send + 'static,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = runtime.block_on(async {
            let (client, connection) =
                config
                    .connect(tls)
                    .await
                    .map_err(|e| match e.as_db_error() {
                        Some(db) => db.message().to_string(),
                        None => e.to_string(),
                    })?;
            tokio::spawn(async move {
                let _ = connection.await;
            });
            Ok::<_, String>(client)
        })?;
        Ok(Client { runtime, client })
    }

    /// Connect to `host:5432` as `user`, without TLS.
    pub fn connect(host: &str, user: &str, password: &str) -> Result<Client, String> {
        connect_db(host, user, password, "postgres")
    }

    /// Run `sql` with psql (real libpq) on a libpq `key=value` connection string, as legacy
    /// pgsql clients use it; its unaligned output, or psql's error.
    pub fn psql(conninfo: &str, sql: &str) -> Result<String, String> {
        #[allow(clippy::disallowed_methods)] // psql: libpq's own parser of the connection string
        let out = std::process::Command::new("psql")
            .args([
                "-X",
                "-tA",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                conninfo,
                "-c",
                sql,
            ])
            .env("PGCONNECT_TIMEOUT", "5")
            .output()
            .map_err(|e| format!("running psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    /// [`connect`] to database `dbname`.
    pub fn connect_db(
        host: &str,
        user: &str,
        password: &str,
        dbname: &str,
    ) -> Result<Client, String> {
        let mut config = config(user, password);
        config.host(host).dbname(dbname);
        open(&config, NoTls)
    }

    /// Connect to `ip:5432` as `user` over TLS, verifying the server against `ca` and
    /// `server_name` (`sslmode=verify-full`).
    pub fn connect_verified(
        ip: &str,
        server_name: &str,
        ca: &str,
        user: &str,
        password: &str,
    ) -> Result<Client, String> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );
        let mut config = config(user, password);
        config
            .host(server_name)
            .hostaddr(ip.parse().unwrap())
            .ssl_mode(tokio_postgres::config::SslMode::Require);
        open(&config, tls)
    }

    impl Client {
        /// The first column of the first row, as text.
        pub fn value(&self, sql: &str) -> String {
            self.runtime.block_on(async {
                let row = self.client.query_one(sql, &[]).await.unwrap();
                row.get::<_, String>(0)
            })
        }

        /// The first column of the first row as text, or the server's error.
        pub fn try_value(&self, sql: &str) -> Result<String, String> {
            self.runtime.block_on(async {
                match self.client.query_one(sql, &[]).await {
                    Ok(row) => Ok(row.get::<_, String>(0)),
                    Err(e) => Err(e
                        .as_db_error()
                        .map_or_else(|| e.to_string(), |d| d.message().to_string())),
                }
            })
        }

        /// Run statements.
        pub fn execute(&self, sql: &str) {
            if let Err(e) = self.runtime.block_on(self.client.batch_execute(sql)) {
                let detail = e.as_db_error().map(|d| d.message().to_string());
                panic!("{sql}: {e} {detail:?}");
            }
        }

        /// The value of `sql` once it equals `want`, polling for up to `secs` seconds (settings
        /// reach the server asynchronously after Patroni reloads).
        pub fn wait_value(&self, sql: &str, want: &str, secs: u64) -> String {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
            loop {
                let got = self.value(sql);
                if got == want || std::time::Instant::now() > deadline {
                    return got;
                }
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
        }
    }
}
