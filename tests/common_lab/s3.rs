//! S3 for end-to-end tests: the `s3-provider` test charm (`tests/charms/s3-provider`, on ops and
//! the s3 provider library from PyPI), its shell requirer, and [`S3Server`], a real S3 endpoint
//! over verified TLS that pgBackRest 2.45 accepts.
//!
//! The server is moto (`moto[server]`, PyPI, pinned in `tests/s3/requirements.txt`) serving
//! plain HTTP on `127.0.0.1`, path-style URIs only, behind nginx (Debian's `nginx-light`)
//! terminating TLS with a certificate from a CA made here with rcgen: pgBackRest fails against
//! moto's own TLS, hence nginx. pgBackRest 2.45 matches only the DNS names of a certificate (not
//! its IP addresses, and with `repo1-storage-host` set it checks that host's name), so clients
//! use a name: the certificate names `localhost` and [`S3_HOST`] (`s3.lab`).
//!
//! Pods: with per-unit pods (root), a unit has its own network namespace, where `localhost` is
//! the pod itself. The pods' default route is the host's address on the model's bridge, so
//! nginx listens on every address (`0.0.0.0`: reachable from any interface while a test runs)
//! and a unit reaches it as `https://s3.lab:<port>` once [`S3Server::expose_to`] has added
//! `s3.lab` to the pod's `/etc/hosts`, naming the pod's default gateway. The pod's root is an
//! overlay with a writable layer of its own, so the line stays in that pod (hooks and Pebble
//! services both see it) and lasts as long as the unit's directory; call it for each unit that
//! talks to S3, once the unit is deployed and before its charm uses the endpoint.
//! [`S3Server::endpoint_in`] gives the endpoint a model's units use (for the provider's
//! `endpoint`): `https://s3.lab:<port>` in pods, `https://localhost:<port>` without them. The
//! lab needs no change for this; a lab option adding host names to every pod would spare the
//! per-unit step.
//!
//! Buckets are read from the host with boto3 (in the moto venv), through the same endpoint,
//! verified against the CA.

use std::fs;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use lab::engine::{Isolation, Model};

use super::{APP, Deployment};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use super::tls::{charms, test_charm, venv_for};

/// The variable `s3-provider`'s `dispatch` takes its interpreter from: put [`s3_python`] in
/// `ModelOptions.env` under it.
pub const S3_PYTHON_ENV: &str = "LAB_S3_PYTHON";

/// The name units in pods use for the server (see [`S3Server::expose_to`]); the certificate
/// names it besides `localhost`.
pub const S3_HOST: &str = "s3.lab";

/// The region moto is used with.
pub const S3_REGION: &str = "us-east-1";

/// Requests moto answers before it authenticates: the lab user's creation.
const IAM_SETUP_REQUESTS: u32 = 3;

/// Longest wait for moto or nginx to listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A venv with `tests/charms/s3-provider/requirements.txt` installed ([`venv_for`]), made once
/// per process. Its interpreter's path.
pub fn s3_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| venv_for("s3", &charms().join("s3-provider/requirements.txt")))
        .clone()
}

/// A venv with `tests/s3/requirements.txt` (moto's server and boto3) installed, made once per
/// process. Its interpreter's path.
pub fn moto_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3/requirements.txt");
            venv_for("moto", &file)
        })
        .clone()
}

/// The `s3-provider` charm, copied to `into/s3-provider` (a copy, so Python's bytecode and
/// anything else a unit writes stay out of the source tree). Its directory.
pub fn s3_provider_charm(into: &Path) -> PathBuf {
    test_charm(into, "s3-provider")
}

/// The shell `shell-s3-requirer` charm (asks for the bucket `relation-<id>`), copied to
/// `into/shell-s3-requirer`. Its directory.
pub fn s3_requirer_charm(into: &Path) -> PathBuf {
    test_charm(into, "shell-s3-requirer")
}

/// moto behind nginx: an S3 endpoint over TLS. Both processes are killed on drop (moto too when
/// nginx fails to start).
pub struct S3Server {
    /// The endpoint for clients on the host: `https://localhost:<port>`.
    pub endpoint: String,
    /// The TLS port (nginx, on every address).
    pub port: u16,
    /// The CA certificate (PEM) that signed the server's certificate.
    pub ca_pem: String,
    /// [`S3Server::ca_pem`] in a file.
    pub ca_file: PathBuf,
    /// The access key to use (moto takes any).
    pub access_key: String,
    /// The secret key to use (moto takes any).
    pub secret_key: String,
    /// The region, [`S3_REGION`].
    pub region: String,
    /// The directory with the server's files and logs.
    pub dir: PathBuf,
    python: PathBuf,
    // Dropped in this order: nginx, then moto.
    nginx: Process,
    moto: Process,
}

/// A child process killed (and reaped) on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl S3Server {
    /// Start moto and nginx with their files under `dir/s3-server`, each on a free port, and wait
    /// until both answer. Needs the Debian package `nginx-light` (`scripts/install-deps`).
    pub fn start(dir: &Path) -> S3Server {
        let dir = dir.join("s3-server");
        fs::create_dir_all(dir.join("nginx-tmp")).unwrap();
        let dir = dir.canonicalize().unwrap();
        let python = moto_python();

        let (ca_pem, cert_pem, key_pem) = certificates();
        let ca_file = dir.join("ca.pem");
        fs::write(&ca_file, &ca_pem).unwrap();
        fs::write(dir.join("server.pem"), &cert_pem).unwrap();
        fs::write(dir.join("server.key"), &key_pem).unwrap();

        let (moto, moto_port) =
            spawn_listening("moto", &dir.join("moto.log"), Ipv4Addr::LOCALHOST, |port| {
                #[allow(clippy::disallowed_methods)] // the test S3 server, owned by this struct
                let mut c = Command::new(&python);
                c.args([
                    "-m",
                    "moto.server",
                    "-H",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                ]);
                // Path-style whatever the Host: moto would otherwise take the `s3` of `s3.lab`
                // for a bucket (virtual-hosted style, which `<bucket>.s3.lab` could not resolve
                // to anyway).
                c.env("S3_IGNORE_SUBDOMAIN_BUCKETNAME", "true");
                // Requests are authenticated (keys and signatures checked, as a real S3 server
                // does) after the first three, which create the lab's user and its keys.
                c.env(
                    "INITIAL_NO_AUTH_ACTION_COUNT",
                    IAM_SETUP_REQUESTS.to_string(),
                );
                c
            });
        let nginx_bin = ["/usr/sbin/nginx", "/usr/bin/nginx"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("nginx is missing: run scripts/install-deps (nginx-light)"));
        let (nginx, port) = spawn_listening(
            "nginx",
            &dir.join("nginx.out"),
            Ipv4Addr::UNSPECIFIED,
            |port| {
                let conf = dir.join("nginx.conf");
                fs::write(&conf, nginx_conf(&dir, port, moto_port)).unwrap();
                #[allow(clippy::disallowed_methods)] // the S3 server's TLS terminator
                let mut c = Command::new(&nginx_bin);
                c.arg("-e")
                    .arg(dir.join("nginx-error.log"))
                    .arg("-p")
                    .arg(&dir)
                    .arg("-c")
                    .arg(&conf);
                c
            },
        );
        let mut server = S3Server {
            endpoint: format!("https://localhost:{port}"),
            port,
            ca_pem,
            ca_file,
            access_key: "setup".into(),
            secret_key: "setup".into(),
            region: S3_REGION.into(),
            dir,
            python,
            moto,
            nginx,
        };
        // The lab's user, allowed everything in S3, and its keys (IAM_SETUP_REQUESTS requests).
        let out = server.client(
            "iam",
            "iam.create_user(UserName='lab')\n\
             iam.put_user_policy(UserName='lab', PolicyName='s3', PolicyDocument=json.dumps(\n\
             \x20   {'Version': '2012-10-17', 'Statement': [\n\
             \x20       {'Effect': 'Allow', 'Action': 's3:*', 'Resource': '*'}]}))\n\
             key = iam.create_access_key(UserName='lab')['AccessKey']\n\
             print(json.dumps([key['AccessKeyId'], key['SecretAccessKey']]))",
            &[],
        );
        let [access, secret]: [String; 2] = serde_json::from_slice(&out.stdout).unwrap();
        server.access_key = access;
        server.secret_key = secret;
        // Through nginx to moto, TLS verified, signed with the keys: the server is whole.
        server.boto("s3.list_buckets()", &[]);
        server
    }

    /// The endpoint units of `model` use: `https://s3.lab:<port>` in pods (after
    /// [`S3Server::expose_to`]), `https://localhost:<port>` without.
    pub fn endpoint_in(&self, model: &Model) -> String {
        match model.isolation() {
            Isolation::Namespaces => format!("https://{S3_HOST}:{}", self.port),
            Isolation::None => self.endpoint.clone(),
        }
    }

    /// Let `unit`'s pod reach the server as [`S3_HOST`]: a line in the pod's `/etc/hosts` naming
    /// the pod's default gateway (the host's address on the model's bridge). Nothing to do
    /// without pods. The address given.
    pub fn expose_to(&self, model: &Model, unit: &str) -> Option<String> {
        // Without a pod the command would run on the host, whose /etc/hosts is not ours.
        model.pod_pid(unit).unwrap()?;
        let script = format!(
            "set -e\n\
             gw=$(ip -4 route show default | awk '{{print $3; exit}}')\n\
             [ -n \"$gw\" ]\n\
             sed -i '/[[:space:]]{pattern}$/d' /etc/hosts\n\
             echo \"$gw {S3_HOST}\" >> /etc/hosts\n\
             getent hosts {S3_HOST} | awk '{{print $1}}'\n",
            pattern = S3_HOST.replace('.', "\\.")
        );
        let out = model
            .pod_command(unit, Path::new("/bin/sh"))
            .unwrap()
            .args(["-c", &script])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            out.status.success() && !said.is_empty(),
            "adding {S3_HOST} to {unit}'s /etc/hosts: {said} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(said)
    }

    /// curl's arguments to sign a request with the lab user's keys (the server authenticates).
    /// curl signs the payload's hash only when the header names it.
    pub fn curl_auth(&self) -> Vec<String> {
        vec![
            "-H".into(),
            "x-amz-content-sha256: UNSIGNED-PAYLOAD".into(),
            "--aws-sigv4".into(),
            format!("aws:amz:{}:s3", self.region),
            "--user".into(),
            format!("{}:{}", self.access_key, self.secret_key),
        ]
    }

    /// Store `body` as `key` in `bucket`.
    pub fn put_object(&self, bucket: &str, key: &str, body: &str) {
        self.boto(
            "s3.put_object(Bucket=args[0], Key=args[1], Body=args[2].encode())",
            &[bucket, key, body],
        );
    }

    /// Create `bucket`.
    pub fn create_bucket(&self, bucket: &str) {
        self.boto("s3.create_bucket(Bucket=args[0])", &[bucket]);
    }

    /// The keys of every object in `bucket`, sorted.
    pub fn list_objects(&self, bucket: &str) -> Vec<String> {
        let out = self.boto(
            "keys = []\n\
             for page in s3.get_paginator('list_objects_v2').paginate(Bucket=args[0]):\n\
             \x20   keys += [o['Key'] for o in page.get('Contents', [])]\n\
             print(json.dumps(sorted(keys)))",
            &[bucket],
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The content of object `key` in `bucket`.
    pub fn get_object(&self, bucket: &str, key: &str) -> Vec<u8> {
        self.boto(
            "sys.stdout.buffer.write(s3.get_object(Bucket=args[0], Key=args[1])['Body'].read())",
            &[bucket, key],
        )
        .stdout
    }

    /// Run `code` with `s3` a boto3 client of this server (path-style, TLS verified against
    /// the CA) and `args` the given strings; panics with its error when it fails.
    fn boto(&self, code: &str, args: &[&str]) -> Output {
        self.client("s3", code, args)
    }

    /// Run `code` with `<service>` a boto3 client of this server (see [`S3Server::boto`]).
    fn client(&self, service: &str, code: &str, args: &[&str]) -> Output {
        let script = format!(
            "import json, sys\n\
             import boto3\n\
             from botocore.config import Config\n\
             endpoint, ca, region = sys.argv[1:4]\n\
             args = sys.argv[4:]\n\
             {service} = boto3.client('{service}', endpoint_url=endpoint, verify=ca,\n\
             \x20   region_name=region, config=Config(s3={{'addressing_style': 'path'}}))\n\
             {code}\n"
        );
        #[allow(clippy::disallowed_methods)] // boto3 from the test S3 server's venv
        let out = Command::new(&self.python)
            .arg("-c")
            .arg(&script)
            .arg(&self.endpoint)
            .arg(&self.ca_file)
            .arg(&self.region)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "boto3 against {}: {code}\n{}",
            self.endpoint,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// The end of the server's logs (moto's, nginx's errors), for failure messages.
    pub fn logs(&self) -> String {
        ["moto.log", "nginx-error.log"]
            .iter()
            .map(|f| {
                let text = fs::read_to_string(self.dir.join(f)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                format!(
                    "--- {f}\n{}",
                    lines[lines.len().saturating_sub(20)..].join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A CA, and a server certificate it signed for `localhost` and [`S3_HOST`] (DNS names, which
/// pgBackRest matches; `127.0.0.1` too, for other clients): their PEMs and the server's key.
fn certificates() -> (String, String, String) {
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name.push(DnType::CommonName, "lab S3 CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = (now - day).into();
    ca.not_after = (now + 30 * day).into();
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::default();
    server.distinguished_name = rcgen::DistinguishedName::new();
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.subject_alt_names = vec![
        SanType::DnsName("localhost".try_into().unwrap()),
        SanType::DnsName(S3_HOST.try_into().unwrap()),
        SanType::IpAddress(Ipv4Addr::LOCALHOST.into()),
    ];
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.not_before = (now - day).into();
    server.not_after = (now + 30 * day).into();
    let cert_pem = server.signed_by(&key, &issuer).unwrap().pem();
    (ca_pem, cert_pem, key.serialize_pem())
}

/// nginx's configuration: TLS on `0.0.0.0:port` in front of moto on `127.0.0.1:moto_port`, one
/// process in the foreground, every path under `dir`.
fn nginx_conf(dir: &Path, port: u16, moto_port: u16) -> String {
    let d = dir.display();
    format!(
        "daemon off;\n\
         master_process off;\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/nginx-error.log;\n\
         events {{}}\n\
         http {{\n\
         \x20 access_log {d}/nginx-access.log;\n\
         \x20 client_body_temp_path {d}/nginx-tmp/body;\n\
         \x20 proxy_temp_path {d}/nginx-tmp/proxy;\n\
         \x20 fastcgi_temp_path {d}/nginx-tmp/fastcgi;\n\
         \x20 uwsgi_temp_path {d}/nginx-tmp/uwsgi;\n\
         \x20 scgi_temp_path {d}/nginx-tmp/scgi;\n\
         \x20 server {{\n\
         \x20   listen 0.0.0.0:{port} ssl;\n\
         \x20   ssl_certificate {d}/server.pem;\n\
         \x20   ssl_certificate_key {d}/server.key;\n\
         \x20   location / {{\n\
         \x20     proxy_pass http://127.0.0.1:{moto_port};\n\
         \x20     proxy_set_header Host $http_host;\n\
         \x20     proxy_http_version 1.1;\n\
         \x20     proxy_request_buffering off;\n\
         \x20     client_max_body_size 0;\n\
         \x20   }}\n\
         \x20 }}\n\
         }}\n"
    )
}

/// A port nobody listens on at `addr` now.
fn free_port(addr: Ipv4Addr) -> u16 {
    TcpListener::bind((addr, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Spawn `command(port)` on a free port of `addr` (output to `log`) and wait until it accepts
/// connections; another port when it exits first (someone took that one), at most 5 times.
fn spawn_listening(
    name: &str,
    log: &Path,
    addr: Ipv4Addr,
    command: impl Fn(u16) -> Command,
) -> (Process, u16) {
    for _ in 0..5 {
        let port = free_port(addr);
        let out = fs::File::create(log).unwrap();
        let mut child = command(port)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                return (Process(child), port);
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{name} did not listen on port {port} within {START_TIMEOUT:?}:\n{}",
                    fs::read_to_string(log).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    panic!(
        "{name} did not start:\n{}",
        fs::read_to_string(log).unwrap_or_default()
    );
}

/// The s3-provider application in a [`BackupLab`].
pub const PROVIDER: &str = "s3-provider";
/// The bucket of a [`BackupLab`].
pub const BUCKET: &str = "pg-backups";
/// The path in the bucket of a [`BackupLab`].
pub const PATH: &str = "/cluster-a";
/// The charm's unit in a [`BackupLab`].
pub const UNIT: &str = "postgresql-k8s/0";

/// The charm, the s3-provider charm and the S3 server, related (backups end to end).
pub struct BackupLab {
    /// The deployment.
    pub d: Deployment,
    /// The S3 server.
    pub server: S3Server,
    _dir: tempfile::TempDir,
}

impl BackupLab {
    /// Deploy with `config` for the charm; the provider configured for the server (bucket
    /// created) and related; wait until the unit is active again.
    pub fn start(release: bool, config: &[(&str, &str)]) -> BackupLab {
        let python = s3_python();
        let dir = tempfile::tempdir().unwrap();
        let server = S3Server::start(dir.path());
        server.create_bucket(BUCKET);
        let mut d = super::deploy_in(
            release,
            config,
            &[(S3_PYTHON_ENV, python.display().to_string().as_str())],
        );
        server.expose_to(&d.model, UNIT).expect("a pod");
        let provider = s3_provider_charm(d.scratch());
        let endpoint = server.endpoint_in(&d.model);
        let config: Vec<(String, String)> = [
            ("bucket", BUCKET),
            ("access-key", server.access_key.as_str()),
            ("secret-key", server.secret_key.as_str()),
            ("endpoint", endpoint.as_str()),
            ("region", server.region.as_str()),
            ("path", PATH),
            ("s3-uri-style", "path"),
            ("tls-ca-chain", server.ca_pem.as_str()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        d.model.deploy(&provider, None, 1, &config).unwrap();
        super::settle_ok(&mut d.model);
        d.model
            .integrate(&format!("{APP}:s3-parameters"), PROVIDER)
            .unwrap();
        let mut lab = BackupLab {
            d,
            server,
            _dir: dir,
        };
        lab.wait_status("active", "Primary", 180);
        lab
    }

    /// Wait until the unit shows `status` with `message` (panics with the log otherwise).
    pub fn wait_status(&mut self, status: &str, message: &str, secs: u64) {
        let ok = self.d.wait_for_status(UNIT, status, message, secs);
        assert!(
            ok,
            "{UNIT} never showed {status} {message:?}: {:?}\n{}\n{}",
            self.d.model.unit_status(UNIT),
            self.d.log_tail(60),
            self.server.logs()
        );
    }

    /// Set the provider's option `key` (the relation data changes, the charm reacts).
    pub fn provider_config(&mut self, key: &str, value: &str) {
        self.d
            .model
            .config(PROVIDER, &[(key.to_string(), value.to_string())], &[])
            .unwrap();
    }

    /// A connection to the unit as `operator`.
    pub fn operator(&mut self) -> super::postgres_client::Client {
        let pw = self.d.password("operator");
        self.d.connect(0, "operator", &pw).unwrap_or_else(|e| {
            let hba = self.d.pull("/var/lib/postgresql/data/pgdata/pg_hba.conf");
            panic!(
                "connecting as operator: {e}\npg_hba.conf:\n{}\n{}",
                String::from_utf8_lossy(&hba),
                self.d.log_tail(60)
            )
        })
    }

    /// Run an action on the unit; its results, or its failure message.
    pub fn action(
        &mut self,
        name: &str,
        params: &[(&str, &str)],
    ) -> Result<std::collections::BTreeMap<String, String>, String> {
        let record = self.d.run(UNIT, name, params);
        let action = record.action.unwrap();
        match action.failed {
            None => Ok(action.results),
            Some(message) => Err(message),
        }
    }

    /// `create-backup type=<kind>`; the backup's id.
    pub fn backup(&mut self, kind: &str) -> String {
        let results = self
            .action("create-backup", &[("type", kind)])
            .unwrap_or_else(|e| panic!("{kind} backup: {e}\n{}", self.d.log_tail(40)));
        assert_eq!(results["backup-status"], "backup created");
        results["backup-id"].clone()
    }

    /// Restore with `params`, then wait for the cluster to serve again.
    pub fn restore(&mut self, params: &[(&str, &str)]) {
        let results = self
            .action("restore", params)
            .unwrap_or_else(|e| panic!("restore {params:?}: {e}\n{}", self.d.log_tail(60)));
        assert_eq!(results["restore-status"], "restore started");
        self.wait_status("active", "Primary", 300);
    }
}
