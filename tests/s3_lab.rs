//! The S3 test infrastructure for backups: the S3 server (moto behind nginx's TLS) verifies with
//! its CA and only with it; pgBackRest 2.45 stores in it (a stanza and a full backup of a
//! throw-away cluster); and the s3-provider test charm (ops and the real s3 library from PyPI)
//! hands its config to a requirer in the library's wire format, with which pgBackRest inside
//! the requirer's pod reaches the server.

mod common_lab;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common_lab::s3::{self, S3_HOST, S3_PYTHON_ENV, S3Server};
use lab::engine::{Isolation, Model, ModelOptions};

const PROVIDER: &str = "s3-provider";
const REQUIRER: &str = "shell-s3-requirer";
const STANZA: &str = "lab";

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `curl` on `url` signed for `server`, verifying with `ca` when given (the system's roots
/// otherwise).
fn curl(server: &S3Server, url: &str, ca: Option<&Path>) -> Output {
    #[allow(clippy::disallowed_methods)] // curl: an independent TLS client
    let mut c = Command::new("curl");
    c.args(server.curl_auth());
    c.args(["-sS", "--fail", "--max-time", "20"]);
    if let Some(ca) = ca {
        c.arg("--cacert").arg(ca);
    }
    c.arg(url).output().unwrap()
}

/// Where pgBackRest keeps a repository in the server: host, port, CA, bucket, path, keys.
struct Repo<'a> {
    server: &'a S3Server,
    host: &'a str,
    ca_file: &'a Path,
    bucket: &'a str,
    path: &'a str,
}

impl Repo<'_> {
    /// pgBackRest's options for repo1 (the keys go in the environment: pgBackRest refuses them
    /// on the command line).
    fn options(&self) -> Vec<String> {
        vec![
            "--config=/dev/null".into(),
            "--log-level-console=warn".into(),
            "--log-level-file=off".into(),
            "--repo1-type=s3".into(),
            format!("--repo1-path={}", self.path),
            format!("--repo1-s3-bucket={}", self.bucket),
            format!("--repo1-s3-endpoint={}", self.host),
            format!("--repo1-storage-port={}", self.server.port),
            format!("--repo1-storage-ca-file={}", self.ca_file.display()),
            "--repo1-s3-uri-style=path".into(),
            format!("--repo1-s3-region={}", self.server.region),
        ]
    }

    /// Run `pgbackrest <command> <args>` through `base` (the host's or a pod's), `input` on
    /// its stdin.
    fn run(&self, mut base: Command, command: &str, args: &[&str], input: &[u8]) -> Output {
        use std::io::Write;
        base.args(self.options())
            .arg(command)
            .args(args)
            .env("PGBACKREST_REPO1_S3_KEY", &self.server.access_key)
            .env("PGBACKREST_REPO1_S3_KEY_SECRET", &self.server.secret_key)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = base.spawn().unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }
}

#[allow(clippy::disallowed_methods)] // pgBackRest 2.45, the client under test
fn host_pgbackrest() -> Command {
    Command::new("pgbackrest")
}

#[test]
fn the_server_verifies_with_its_ca_only() {
    if !common_lab::can_run() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let server = S3Server::start(tmp.path());
    assert!(server.endpoint.starts_with("https://localhost:"));
    assert!(server.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    server.create_bucket("lab-bucket");

    // With the CA: the bucket list, from moto through nginx.
    let out = curl(
        &server,
        &format!("{}/", server.endpoint),
        Some(&server.ca_file),
    );
    assert!(out.status.success(), "{}\n{}", text(&out), server.logs());
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.contains("<Name>lab-bucket</Name>"), "{body}");
    // The name pods use is in the certificate too (resolved here to the host's loopback).
    let out = {
        #[allow(clippy::disallowed_methods)] // curl: an independent TLS client
        let mut c = Command::new("curl");
        c.args(server.curl_auth())
            .args(["-sS", "--fail", "--max-time", "20", "--cacert"])
            .arg(&server.ca_file)
            .arg("--resolve")
            .arg(format!("{S3_HOST}:{}:127.0.0.1", server.port))
            .arg(format!("https://{S3_HOST}:{}/lab-bucket", server.port))
            .output()
            .unwrap()
    };
    assert!(out.status.success(), "{}", text(&out));

    // Without it (the system's roots): no issuer (curl's 60). With another server's CA, of the
    // same name but another key: the certificate's signature does not verify (35).
    let out = curl(&server, &format!("{}/", server.endpoint), None);
    assert_eq!(out.status.code(), Some(60), "{}", text(&out));
    assert!(text(&out).contains("unable to get local issuer certificate"));
    let other = tempfile::tempdir().unwrap();
    let stranger = S3Server::start(other.path());
    let out = curl(
        &server,
        &format!("{}/", server.endpoint),
        Some(&stranger.ca_file),
    );
    assert_eq!(out.status.code(), Some(35), "{}", text(&out));
    drop(stranger);

    // boto3 (the tests' window into buckets) writes nothing here: the bucket is empty.
    assert_eq!(server.list_objects("lab-bucket"), Vec::<String>::new());
}

/// A throw-away PostgreSQL 15 cluster run by the `postgres` user, stopped on drop.
struct Cluster {
    data: PathBuf,
    socket: PathBuf,
    port: u16,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

#[allow(clippy::disallowed_methods)] // the throw-away cluster and pgBackRest, as postgres
fn as_postgres(program: &str) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--", program]);
    c
}

impl Cluster {
    /// initdb in `dir/pg`, started on a free port with its socket and log in `dir/pg-run`, WAL
    /// archived by `archive_command`.
    fn start(dir: &Path, archive_command: &str) -> Cluster {
        let data = dir.join("pg");
        let socket = dir.join("pg-run");
        for d in [&data, &socket] {
            fs::create_dir_all(d).unwrap();
            chown_postgres(d);
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = as_postgres(&format!("{PG_BIN}/initdb"))
            .args(["-D", data.to_str().unwrap(), "-U", "postgres", "--no-sync"])
            .output()
            .unwrap();
        assert!(out.status.success(), "initdb: {}", text(&out));
        let conf = format!(
            "port = {port}\nlisten_addresses = ''\nunix_socket_directories = '{}'\n\
             archive_mode = on\narchive_command = '{archive_command}'\nwal_level = replica\n\
             max_wal_senders = 3\nfsync = off\n",
            socket.display()
        );
        let auto = data.join("postgresql.auto.conf");
        fs::write(&auto, conf).unwrap();
        chown_postgres(&auto);
        let out = as_postgres(&format!("{PG_BIN}/pg_ctl"))
            .args(["-D", data.to_str().unwrap(), "-w", "-t", "60", "-l"])
            .arg(socket.join("pg.log"))
            .arg("start")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}\n{}",
            text(&out),
            fs::read_to_string(socket.join("pg.log")).unwrap_or_default()
        );
        Cluster { data, socket, port }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(&format!("{PG_BIN}/pg_ctl"))
            .args(["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}

fn chown_postgres(path: &Path) {
    #[allow(clippy::disallowed_methods)] // files the postgres user must own
    let ok = Command::new("chown")
        .arg("postgres:postgres")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "chown postgres {}", path.display());
}

#[test]
fn pgbackrest_stores_in_the_server() {
    if !common_lab::can_run() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // The postgres user reaches the cluster and pgBackRest's files under it.
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    let server = S3Server::start(tmp.path());
    server.create_bucket("lab-backups");
    let repo = Repo {
        server: &server,
        host: "localhost",
        ca_file: &server.ca_file,
        bucket: "lab-backups",
        path: "/probe",
    };

    // Storage alone: put (a multi-megabyte file too), get, list; a client without the CA is
    // refused.
    let small = b"written by pgBackRest\n".to_vec();
    let big: Vec<u8> = (0..6_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for (name, content) in [("small.txt", &small), ("dir/big.bin", &big)] {
        let out = repo.run(host_pgbackrest(), "repo-put", &[name], content);
        assert!(
            out.status.success(),
            "repo-put {name}: {}\n{}",
            text(&out),
            server.logs()
        );
        let out = repo.run(host_pgbackrest(), "repo-get", &[name], b"");
        assert!(out.status.success(), "repo-get {name}: {}", text(&out));
        assert!(out.stdout == *content, "repo-get {name}: other bytes");
    }
    let out = repo.run(host_pgbackrest(), "repo-ls", &["--recurse"], b"");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .collect::<Vec<_>>(),
        ["dir", "dir/big.bin", "small.txt"]
    );
    assert_eq!(
        server.list_objects("lab-backups"),
        ["probe/dir/big.bin", "probe/small.txt"]
    );
    assert_eq!(server.get_object("lab-backups", "probe/dir/big.bin"), big);
    let mut without = repo.options();
    without.retain(|o| !o.starts_with("--repo1-storage-ca-file"));
    // pgBackRest retries failed requests until its I/O timeout (60 s by default).
    without.push("--io-timeout=1".into());
    let out = host_pgbackrest()
        .args(&without)
        .arg("repo-ls")
        .env("PGBACKREST_REPO1_S3_KEY", &server.access_key)
        .env("PGBACKREST_REPO1_S3_KEY_SECRET", &server.secret_key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unable to verify certificate presented by 'localhost:"),
        "{}",
        text(&out)
    );

    // A stanza and a full backup of a real cluster, WAL archived through archive-push: what the
    // backups feature will do. pgBackRest reads its settings from a file only postgres reads.
    let ca = tmp.path().join("s3-ca.pem");
    fs::write(&ca, &server.ca_pem).unwrap();
    fs::set_permissions(&ca, fs::Permissions::from_mode(0o644)).unwrap();
    let conf = tmp.path().join("pgbackrest.conf");
    let spool = tmp.path().join("pgbackrest");
    fs::create_dir_all(&spool).unwrap();
    chown_postgres(&spool);
    let archive = format!(
        "pgbackrest --config={} --stanza={STANZA} archive-push %p",
        conf.display()
    );
    let pg = Cluster::start(tmp.path(), &archive);
    let settings = format!(
        "[global]\n\
         repo1-type=s3\nrepo1-path=/lab\nrepo1-s3-bucket=lab-backups\nrepo1-s3-endpoint=localhost\n\
         repo1-storage-port={port}\nrepo1-storage-ca-file={ca}\nrepo1-s3-uri-style=path\n\
         repo1-s3-region={region}\nrepo1-s3-key={key}\nrepo1-s3-key-secret={secret}\n\
         repo1-retention-full=2\nstart-fast=y\nlog-level-console=info\nlog-level-file=off\n\
         lock-path={spool}/lock\nspool-path={spool}\n\
         [{STANZA}]\npg1-path={data}\npg1-port={pgport}\npg1-socket-path={socket}\n",
        port = server.port,
        ca = ca.display(),
        region = server.region,
        key = server.access_key,
        secret = server.secret_key,
        spool = spool.display(),
        data = pg.data.display(),
        pgport = pg.port,
        socket = pg.socket.display(),
    );
    fs::write(&conf, settings).unwrap();
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o600)).unwrap();
    chown_postgres(&conf);
    let config = format!("--config={}", conf.display());
    let stanza = format!("--stanza={STANZA}");
    for command in ["stanza-create", "check", "backup"] {
        let mut c = as_postgres("pgbackrest");
        c.args([config.as_str(), stanza.as_str(), command]);
        if command == "backup" {
            c.arg("--type=full");
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "pgbackrest {command}: {}\n{}",
            text(&out),
            server.logs()
        );
    }
    let out = as_postgres("pgbackrest")
        .args([config.as_str(), stanza.as_str(), "--output=json", "info"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info[0]["status"]["code"], 0, "{info:#}");
    assert_eq!(info[0]["backup"][0]["type"], "full", "{info:#}");
    let label = info[0]["backup"][0]["label"].as_str().unwrap().to_string();

    // The bucket, seen with boto3: the stanza's info files, the backup's manifest and WAL.
    let keys = server.list_objects("lab-backups");
    for key in [
        format!("lab/archive/{STANZA}/archive.info"),
        format!("lab/backup/{STANZA}/backup.info"),
        format!("lab/backup/{STANZA}/{label}/backup.manifest"),
    ] {
        assert!(keys.contains(&key), "{key} not in {keys:#?}");
    }
    assert!(
        keys.iter()
            .any(|k| k.starts_with(&format!("lab/archive/{STANZA}/15-1/"))),
        "no WAL in {keys:#?}"
    );
    let backup_info = server.get_object("lab-backups", &format!("lab/backup/{STANZA}/backup.info"));
    assert!(
        String::from_utf8_lossy(&backup_info).contains(&format!("\n{label}={{")),
        "{}",
        String::from_utf8_lossy(&backup_info)
    );
}

/// The provider's application databag on the s3 relation.
fn published(m: &Model) -> BTreeMap<String, String> {
    let state = m.state();
    let rel = state
        .relations
        .values()
        .find(|r| r.interface == "s3")
        .expect("the s3 relation");
    rel.app_data
        .get(PROVIDER)
        .map(|d| d.clone().into_iter().collect())
        .unwrap_or_default()
}

#[test]
fn the_provider_charm_hands_out_a_server_pods_reach() {
    if !common_lab::can_run() {
        return;
    }
    let python = s3::s3_python();
    let tmp = tempfile::tempdir().unwrap();
    let server = S3Server::start(tmp.path());
    let bin_dir = lab::harness::lab_bin_dir(&common_lab::target_dir(), false).unwrap();
    let provider = s3::s3_provider_charm(tmp.path());
    let requirer = s3::s3_requirer_charm(tmp.path());
    let mut opts = ModelOptions::new(&tmp.path().join("model"), &bin_dir);
    opts.isolation = Isolation::Namespaces;
    opts.env
        .insert(S3_PYTHON_ENV.into(), python.display().to_string());
    let mut m = Model::new(opts).unwrap();
    let endpoint = server.endpoint_in(&m);
    assert_eq!(endpoint, format!("https://{S3_HOST}:{}", server.port));
    let config: Vec<(String, String)> = [
        ("access-key", server.access_key.as_str()),
        ("secret-key", server.secret_key.as_str()),
        ("endpoint", endpoint.as_str()),
        ("region", server.region.as_str()),
        ("path", "/postgresql"),
        ("s3-uri-style", "path"),
        ("tls-ca-chain", server.ca_pem.as_str()),
        ("delete-older-than-days", "7"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    m.deploy(&provider, None, 1, &config).unwrap();
    m.deploy(&requirer, None, 1, &[]).unwrap();
    common_lab::settle_ok(&mut m);
    assert_eq!(
        m.unit_status(&format!("{PROVIDER}/0")).unwrap().status,
        "active"
    );
    let id = m
        .integrate(&format!("{REQUIRER}:s3-parameters"), PROVIDER)
        .unwrap();
    common_lab::settle_ok(&mut m);

    // What the library wrote: strings as given, the CA chain as a JSON list of PEMs, the
    // retention as a string, and its own note of the requirer's data under `data`.
    let bucket = format!("relation-{id}");
    let data = published(&m);
    eprintln!("the provider's application databag: {data:#?}");
    let chain: Vec<String> = serde_json::from_str(&data["tls-ca-chain"]).unwrap();
    assert_eq!(chain, [server.ca_pem.trim_end().to_string()]);
    // Python's json.dumps of a one-PEM list: `["-----BEGIN...\n...-----END CERTIFICATE-----"]`.
    let chain_json = format!("[{}]", serde_json::to_string(&chain[0]).unwrap());
    let expected: BTreeMap<String, String> = [
        ("bucket", bucket.as_str()),
        ("access-key", server.access_key.as_str()),
        ("secret-key", server.secret_key.as_str()),
        ("endpoint", endpoint.as_str()),
        ("region", "us-east-1"),
        ("path", "/postgresql"),
        ("s3-uri-style", "path"),
        ("tls-ca-chain", chain_json.as_str()),
        ("delete-older-than-days", "7"),
        ("data", &format!("{{\"bucket\": \"{bucket}\"}}")),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(data, expected);
    let log = common_lab::model_log(&m);
    assert!(log.contains(&format!("requested bucket {bucket}")), "{log}");
    assert!(
        log.lines().any(|l| l.contains("provider published: ")
            && l.contains("access-key")
            && l.contains("tls-ca-chain")),
        "{log}"
    );

    // From the requirer's pod, with only what it was given: the CA from the databag (in the
    // model directory, which pods share), the endpoint's name through /etc/hosts.
    let unit = format!("{REQUIRER}/0");
    let gateway = server.expose_to(&m, &unit).expect("a pod");
    assert!(gateway.ends_with(".1"), "{gateway}");
    let ca = m.dir().join("s3-ca.pem");
    fs::write(&ca, chain.join("\n") + "\n").unwrap();
    server.create_bucket(&bucket);
    let url = format!("{endpoint}/{bucket}");
    let out = m
        .pod_command(&unit, Path::new("/usr/bin/curl"))
        .unwrap()
        .args(server.curl_auth())
        .args(["-sS", "--fail", "--max-time", "20", "--cacert"])
        .arg(&ca)
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {url} in the pod: {}",
        text(&out)
    );
    // localhost in a pod is the pod: nothing listens there.
    let out = m
        .pod_command(&unit, Path::new("/usr/bin/curl"))
        .unwrap()
        .args(["-sS", "--fail", "--max-time", "5", "--cacert"])
        .arg(&ca)
        .arg(&server.endpoint)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    let repo = Repo {
        server: &server,
        host: S3_HOST,
        ca_file: &ca,
        bucket: &bucket,
        path: &data["path"],
    };
    let pod = || {
        m.pod_command(&unit, Path::new("/usr/bin/pgbackrest"))
            .unwrap()
    };
    let out = repo.run(
        pod(),
        "repo-put",
        &["from-the-pod.txt"],
        b"hello from a pod\n",
    );
    assert!(out.status.success(), "{}\n{}", text(&out), server.logs());
    let out = repo.run(pod(), "repo-ls", &[], b"");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "from-the-pod.txt"
    );
    assert_eq!(
        server.get_object(&bucket, "postgresql/from-the-pod.txt"),
        b"hello from a pod\n"
    );

    // config-changed republishes: a bucket of the provider's own replaces the requested one,
    // and cleared options disappear.
    m.config(
        PROVIDER,
        &[("bucket".into(), "lab-backups".into())],
        &[
            "path".into(),
            "tls-ca-chain".into(),
            "delete-older-than-days".into(),
        ],
    )
    .unwrap();
    common_lab::settle_ok(&mut m);
    let data = published(&m);
    assert_eq!(data["bucket"], "lab-backups");
    for gone in ["path", "tls-ca-chain", "delete-older-than-days"] {
        assert!(!data.contains_key(gone), "{gone} still in {data:#?}");
    }
    assert_eq!(data["endpoint"], endpoint);
}
