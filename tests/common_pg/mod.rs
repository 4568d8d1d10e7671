//! A throwaway PostgreSQL 15 cluster per test: initdb in a temporary directory as the `postgres`
//! OS user, listening on 127.0.0.1 on a free port, with `password_encryption = scram-sha-256`,
//! `log_statement = 'all'` and SCRAM-only TCP logins. Stopped and removed when dropped.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use juju::Secret;
use postgresql_k8s::postgres::{ConnParams, scram_verifier};
use tokio_postgres::Client;

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// The password of the `operator` superuser every cluster is bootstrapped with.
pub const OPERATOR_PASSWORD: &str = "operator-bootstrap-pw";

/// A running cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
}

impl Cluster {
    /// initdb, configure, start, and create the `operator` superuser through the local socket.
    pub fn start() -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("pg-test-")
            .tempdir()
            .expect("temporary directory");
        if running_as_root() {
            let (uid, gid) = postgres_ids();
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).expect("chown");
        }
        let data = dir.path().join("data");
        let data_str = data.to_str().unwrap();
        run(&[
            &format!("{BIN}/initdb"),
            "-D",
            data_str,
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "-N",
            "--auth-local=peer",
            "--auth-host=scram-sha-256",
        ]);
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all postgres peer\nhost all all 127.0.0.1/32 scram-sha-256\n",
        )
        .unwrap();
        // A port nobody listens on now; another test could take it before the server does, so
        // starting is retried with a new one.
        for _ in 0..5 {
            let port = free_port();
            let mut conf = String::new();
            writeln!(
                conf,
                "listen_addresses = '127.0.0.1'\nport = {port}\n\
                 unix_socket_directories = '{}'\n\
                 password_encryption = 'scram-sha-256'\nlog_statement = 'all'\n\
                 fsync = off\nshared_buffers = 16MB\nmax_connections = 30",
                dir.path().display()
            )
            .unwrap();
            std::fs::write(data.join("postgresql.auto.conf"), conf).unwrap();
            let log = dir.path().join("server.log");
            let started = try_run(&[
                &format!("{BIN}/pg_ctl"),
                "-D",
                data_str,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "30",
                "start",
            ]);
            if started.status.success() {
                let cluster = Cluster { dir, port };
                cluster.bootstrap_operator();
                return cluster;
            }
        }
        panic!("PostgreSQL did not start on any of 5 ports");
    }

    /// Create `operator` as Patroni's bootstrap superuser is (SUPERUSER CREATEDB CREATEROLE
    /// REPLICATION LOGIN) as `postgres` over the local socket, with a verifier computed by the
    /// charm's code.
    fn bootstrap_operator(&self) {
        let verifier = scram_verifier(OPERATOR_PASSWORD, b"bootstrap-salt16", 4096);
        self.psql_as_postgres(&format!(
            "CREATE ROLE operator SUPERUSER CREATEDB CREATEROLE REPLICATION LOGIN PASSWORD '{verifier}'"
        ));
    }

    /// Run one SQL command with psql as the `postgres` superuser over the unix socket.
    pub fn psql_as_postgres(&self, sql: &str) -> String {
        let out = run(&[
            &format!("{BIN}/psql"),
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            self.dir.path().to_str().unwrap(),
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            sql,
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Connection parameters for `operator` over TCP, database `postgres`.
    pub fn operator(&self) -> ConnParams {
        ConnParams::new(
            "127.0.0.1",
            self.port,
            "operator",
            &Secret::new(OPERATOR_PASSWORD),
            "postgres",
        )
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = try_run(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            data.to_str().unwrap(),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]);
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

fn running_as_root() -> bool {
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

fn postgres_ids() -> (u32, u32) {
    let passwd = std::fs::read_to_string(Path::new("/etc/passwd")).unwrap();
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .expect("a postgres OS user (the postgresql package creates it)");
    let fields: Vec<&str> = line.split(':').collect();
    (fields[2].parse().unwrap(), fields[3].parse().unwrap())
}

fn run(argv: &[&str]) -> Output {
    let out = try_run(argv);
    assert!(
        out.status.success(),
        "{argv:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Run `argv` as the `postgres` OS user (through `runuser` when we are root: initdb and the
/// server refuse to run as root).
#[allow(clippy::disallowed_methods)] // the test cluster's one process spawner
fn try_run(argv: &[&str]) -> Output {
    let mut command = if running_as_root() {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).args(argv);
        c
    } else {
        let mut c = std::process::Command::new(argv[0]);
        c.args(&argv[1..]);
        c
    };
    command
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawning {argv:?}: {e}"))
}

/// `pg_authid.rolpassword` of `role`.
pub async fn stored_verifier(client: &Client, role: &str) -> Option<String> {
    client
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
            &[&role],
        )
        .await
        .unwrap()
        .get(0)
}

/// The roles `role` is a direct member of, sorted.
pub async fn roles_of(client: &Client, role: &str) -> Vec<String> {
    client
        .query(
            "SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid \
             JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1 ORDER BY 1",
            &[&role],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// Standard base64, written independently of the library's (a cross-check).
pub fn decode_b64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::new();
    let mut bits = 0u32;
    let mut n = 0;
    for d in digits {
        bits = bits << 6 | u32::from(d);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}
