//! Starting a daemon per test, raw HTTP over its socket, and small waiting helpers.

#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The okay delay the suite gives the double where the real 1 s is not under test.
pub const FAST_OKAY_DELAY: &str = "300ms";

/// How a test wants its daemon.
#[derive(Debug, Clone)]
pub struct Options {
    /// `PEBBLE_LAB_OKAY_DELAY` (None: the real 1 s).
    pub okay_delay: Option<&'static str>,
    /// Layer files written to `$PEBBLE/layers` before the start (`001-base.yaml`, text).
    pub layers: Vec<(&'static str, String)>,
    /// `--hold`.
    pub hold: bool,
    /// Extra environment for the daemon.
    pub env: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            okay_delay: Some(FAST_OKAY_DELAY),
            layers: Vec::new(),
            hold: false,
            env: Vec::new(),
        }
    }
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Content-Type header.
    pub content_type: String,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The envelope's `result`.
    pub fn result(&self) -> Value {
        self.json()["result"].clone()
    }

    /// Asserts an error envelope with this status and message.
    pub fn assert_error(&self, status: u16, message: &str) {
        let json = self.json();
        assert_eq!(self.status, status, "{json}");
        assert_eq!(json["type"], "error", "{json}");
        assert_eq!(json["status-code"], status, "{json}");
        assert_eq!(json["result"]["message"], message, "{json}");
    }
}

/// A running daemon, stopped when dropped.
pub struct Pebble {
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The API socket.
    pub socket: PathBuf,
    http: reqwest::Client,
}

/// The daemon binary: `LAB_PEBBLE_BIN` when set (a real Pebble), else the lab's double.
fn binary() -> PathBuf {
    // Tests choose the daemon under test once, here.
    #[allow(clippy::disallowed_methods)]
    let chosen = std::env::var_os("LAB_PEBBLE_BIN");
    chosen.map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_pebble")),
        PathBuf::from,
    )
}

/// Whether the tests run as root (user switching and ownership need it).
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    })
}

/// Sends `signal` (a `kill` name such as `TERM`) to `pid`.
pub fn send_signal(pid: u32, signal: &str) {
    // The suite signals the daemon under test through kill(1): no unsafe code in tests.
    #[allow(clippy::disallowed_methods)]
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Whether a process exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        })
        .unwrap_or(false)
}

impl Pebble {
    /// A daemon with the default options.
    pub async fn start() -> Pebble {
        Pebble::start_with(Options::default()).await
    }

    /// A daemon with `options`, ready to answer.
    pub async fn start_with(options: Options) -> Pebble {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path().join("pebble");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).expect("work dir");
        if !options.layers.is_empty() {
            std::fs::create_dir_all(state.join("layers")).expect("layers dir");
            for (name, text) in &options.layers {
                std::fs::write(state.join("layers").join(name), text).expect("layer file");
            }
        }
        let mut args = vec!["run", "--create-dirs"];
        if options.hold {
            args.push("--hold");
        }
        // The suite starts the daemon under test, here only.
        #[allow(clippy::disallowed_methods)]
        let mut command = std::process::Command::new(binary());
        command
            .args(&args)
            .env("PEBBLE", &state)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(delay) = options.okay_delay {
            command.env("PEBBLE_LAB_OKAY_DELAY", delay);
        }
        for (key, value) in &options.env {
            command.env(key, value);
        }
        let child = command.spawn().expect("start pebble");
        let socket = state.join(".pebble.socket");
        let http = reqwest::Client::builder()
            .unix_socket(socket.clone())
            .build()
            .expect("http client");
        let pebble = Pebble {
            dir,
            child: Some(child),
            socket,
            http,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if pebble.socket.exists()
                && let Ok(reply) = pebble
                    .try_request("GET", "/v1/system-info", &[], None)
                    .await
                && reply.status == 200
            {
                break;
            }
            assert!(Instant::now() < deadline, "pebble did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        pebble
    }

    /// A scratch directory for the test's files.
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// `$PEBBLE`.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("pebble")
    }

    /// The daemon's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    /// A client for the daemon.
    pub fn client(&self) -> pebble::Client {
        pebble::Client::with_socket_path(&self.socket)
            .expect("client")
            .with_change_timeout(Duration::from_secs(30))
    }

    async fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Reply, reqwest::Error> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self
            .http
            .request(method, format!("http://localhost{path}"))
            .timeout(Duration::from_secs(30));
        for (key, value) in headers {
            request = request.header(*key, *value);
        }
        if let Some((content_type, bytes)) = body {
            request = request.header("Content-Type", content_type).body(bytes);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.bytes().await?.to_vec();
        Ok(Reply {
            status,
            content_type,
            body,
        })
    }

    /// Any request.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        self.try_request(method, path, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], None).await
    }

    /// POST a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        let bytes = serde_json::to_vec(&body).expect("json");
        self.request("POST", path, &[], Some(("application/json", bytes)))
            .await
    }

    /// Adds (combines) a layer and asserts success.
    pub async fn add_layer(&self, label: &str, yaml: &str) {
        let reply = self
            .post(
                "/v1/layers",
                serde_json::json!({"action": "add", "label": label, "combine": true,
                                   "format": "yaml", "layer": yaml}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.json());
    }

    /// `POST /v1/services`: returns the change id after asserting 202.
    pub async fn services_action(&self, action: &str, names: &[&str]) -> String {
        let reply = self
            .post(
                "/v1/services",
                serde_json::json!({"action": action, "services": names}),
            )
            .await;
        let json = reply.json();
        assert_eq!(reply.status, 202, "{json}");
        assert_eq!(json["type"], "async", "{json}");
        json["change"].as_str().expect("change id").to_owned()
    }

    /// Waits for a change to be ready and returns it.
    pub async fn wait_change(&self, id: &str) -> Value {
        let reply = self
            .get(&format!("/v1/changes/{id}/wait?timeout=25s"))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.json());
        reply.result()
    }

    /// The `current` of a service.
    pub async fn current(&self, service: &str) -> String {
        let reply = self.get(&format!("/v1/services?names={service}")).await;
        reply.result()[0]["current"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until `service` reports `current`.
    pub async fn wait_current(&self, service: &str, current: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let now = self.current(service).await;
            if now == current {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "service {service} is {now}, expected {current}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Sends SIGTERM and waits for the daemon to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        send_signal(self.pid(), "TERM");
        self.wait_exit(Duration::from_secs(20))
            .expect("pebble exits after SIGTERM")
    }

    /// Waits for the daemon to exit by itself.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            send_signal(child.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `probe` until it returns `Some`, at most `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Reads a file written by a test service, waiting for it to appear.
pub async fn read_when_present(path: &Path) -> String {
    let path = path.to_owned();
    eventually(Duration::from_secs(10), "file", || {
        let path = path.clone();
        async move {
            std::fs::read_to_string(&path)
                .ok()
                .filter(|text| text.ends_with('\n'))
        }
    })
    .await
}

/// The task log lines of a change, all tasks.
pub fn task_logs(change: &Value) -> Vec<String> {
    change["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|task| task["log"].as_array().cloned().unwrap_or_default())
        .filter_map(|line| line.as_str().map(str::to_owned))
        .collect()
}

/// A service entry in layer YAML.
pub fn service(name: &str, command: &str, extra: &str) -> String {
    let command = serde_json::to_string(command).expect("json string");
    let mut text = format!("  {name}:\n    override: replace\n    command: {command}\n");
    for line in extra.lines().filter(|l| !l.trim().is_empty()) {
        text.push_str("    ");
        text.push_str(line.trim_start());
        text.push('\n');
    }
    text
}
