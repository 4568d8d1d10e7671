//! COS for end-to-end tests: the consumer test charms (`tests/charms/prometheus-consumer` and
//! `tests/charms/grafana-consumer`, on ops and the real COS libraries from PyPI), what they
//! derived from a provider's relation data, and [`Prometheus`], a real Prometheus (Debian's
//! `/usr/bin/prometheus`, installed by `scripts/install-deps`) configured from those jobs and
//! rules, queried through its HTTP API.
//!
//! The consumers' `derived` action returns what the library derived on the relation's last
//! event (the charms write it in their own directory: a unit's files stay in its pod, an action
//! reaches them wherever they are). Prometheus runs on the host, on a free loopback port; it
//! scrapes the units at their pod addresses (the host is on the model's bridge).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use lab::engine::Model;
use serde_json::Value;

use super::tls::{test_charm, venv_for};

/// The variable the consumers' `dispatch` takes its interpreter from: put [`cos_python`] in
/// `ModelOptions.env` under it.
pub const COS_PYTHON_ENV: &str = "LAB_COS_PYTHON";

/// The Prometheus consumer's application name.
pub const PROMETHEUS_CONSUMER: &str = "prometheus-consumer";

/// The Grafana consumer's application name.
pub const GRAFANA_CONSUMER: &str = "grafana-consumer";

/// How often Prometheus evaluates rules: short, so that a rule's `for` is what the tests wait
/// for.
pub const INTERVAL: &str = "1s";

/// How often Prometheus scrapes, and its scrape timeout: short, with room for an exporter that
/// answers slowly while the database is down.
pub const SCRAPE_INTERVAL: &str = "2s";

/// Longest wait for Prometheus to be ready.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A venv with `tests/cos/requirements.txt` installed ([`venv_for`]): the COS libraries the
/// prometheus-consumer, grafana-consumer and loki-provider test charms and `tests/cos_format.rs`
/// run, made once per process. Its interpreter's path.
pub fn cos_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let requirements =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cos/requirements.txt");
            venv_for("cos", &requirements)
        })
        .clone()
}

/// Test charm `name` (one of the constants above), copied to `into/<name>`. Its directory.
pub fn cos_charm(into: &Path, name: &str) -> PathBuf {
    test_charm(into, name)
}

/// Run `derived` on `unit` (a consumer); its results, the action's failure message otherwise.
fn derived(
    model: &mut Model,
    unit: &str,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let record = model
        .run_action(unit, "derived", Default::default())
        .map_err(|e| e.to_string())?;
    let action = record.action.ok_or_else(|| record.output.clone())?;
    match action.failed {
        None => Ok(action.results),
        Some(why) => Err(format!("{why}\n{}", record.output)),
    }
}

/// What `prometheus-consumer`'s library derived: the scrape jobs and the alert rule files
/// (by topology identifier).
#[derive(Debug, Clone)]
pub struct Derived {
    /// `MetricsEndpointConsumer.jobs()`.
    pub jobs: Vec<Value>,
    /// `MetricsEndpointConsumer.alerts`: identifier → `{"groups": [...]}`.
    pub alerts: serde_json::Map<String, Value>,
}

impl Derived {
    /// The alert rules of every file, as (alert name, rule).
    pub fn rules(&self) -> Vec<(String, Value)> {
        let mut rules = vec![];
        for file in self.alerts.values() {
            for group in file["groups"].as_array().into_iter().flatten() {
                for rule in group["rules"].as_array().into_iter().flatten() {
                    let name = rule["alert"].as_str().unwrap_or_default().to_string();
                    rules.push((name, rule.clone()));
                }
            }
        }
        rules
    }

    /// Every static target of every job, as (job name, target).
    pub fn targets(&self) -> Vec<(String, String)> {
        let mut targets = vec![];
        for job in &self.jobs {
            let name = job["job_name"].as_str().unwrap_or_default().to_string();
            for config in job["static_configs"].as_array().into_iter().flatten() {
                for target in config["targets"].as_array().into_iter().flatten() {
                    targets.push((name.clone(), target.as_str().unwrap_or_default().into()));
                }
            }
        }
        targets
    }
}

/// [`Derived`] from `unit` of the Prometheus consumer.
pub fn prometheus_derived(model: &mut Model, unit: &str) -> Result<Derived, String> {
    let results = derived(model, unit)?;
    let jobs = serde_json::from_str(&results["jobs"]).map_err(|e| e.to_string())?;
    let alerts = serde_json::from_str(&results["alerts"]).map_err(|e| e.to_string())?;
    Ok(Derived { jobs, alerts })
}

/// The dashboards `grafana-consumer`'s library decoded: `{id, title, uid, content}` each, with
/// `content` parsed.
pub fn grafana_derived(model: &mut Model, unit: &str) -> Result<Vec<Value>, String> {
    let results = derived(model, unit)?;
    let mut dashboards: Vec<Value> =
        serde_json::from_str(&results["dashboards"]).map_err(|e| e.to_string())?;
    for d in &mut dashboards {
        let content: Value = serde_json::from_str(d["content"].as_str().unwrap_or("null"))
            .map_err(|e| e.to_string())?;
        d["content"] = content;
    }
    Ok(dashboards)
}

/// The Prometheus configuration for `derived`: every job as the library gave it (scheme,
/// metrics path, TLS settings, targets and topology labels kept), scraped every
/// [`SCRAPE_INTERVAL`];
/// rules evaluated every [`INTERVAL`] from `rule_files`.
pub fn prometheus_config(derived: &Derived, rule_files: &[PathBuf]) -> Value {
    let jobs: Vec<Value> = derived
        .jobs
        .iter()
        .map(|job| {
            let mut job = job.clone();
            job["scrape_interval"] = SCRAPE_INTERVAL.into();
            job["scrape_timeout"] = SCRAPE_INTERVAL.into();
            job
        })
        .collect();
    serde_json::json!({
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": INTERVAL},
        "rule_files": rule_files,
        "scrape_configs": jobs,
    })
}

/// A real Prometheus scraping what a consumer derived; killed on drop (its storage is in the
/// directory it was started in).
pub struct Prometheus {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its files: configuration, rules, storage, log.
    pub dir: PathBuf,
    child: Child,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Write the configuration and one rules file per alert file of `derived` under
    /// `dir/prometheus`, check them with `promtool`, start Prometheus on a free loopback port
    /// and wait until it is ready.
    pub fn start(dir: &Path, derived: &Derived) -> Prometheus {
        let dir = dir.join("prometheus");
        fs::create_dir_all(dir.join("data")).unwrap();
        let mut rule_files = vec![];
        for (n, file) in derived.alerts.values().enumerate() {
            // JSON is YAML: Prometheus reads the library's rule file as it is.
            let path = dir.join(format!("rules-{n}.yaml"));
            fs::write(&path, serde_json::to_string_pretty(file).unwrap()).unwrap();
            rule_files.push(path);
        }
        let config = dir.join("prometheus.yml");
        let text = serde_json::to_string_pretty(&prometheus_config(derived, &rule_files)).unwrap();
        fs::write(&config, &text).unwrap();
        #[allow(clippy::disallowed_methods)] // promtool: Prometheus' own checker
        let check = Command::new("promtool")
            .args(["check", "config"])
            .arg(&config)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "promtool check config:\n{}{}\n{text}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let log = fs::File::create(dir.join("prometheus.log")).unwrap();
            #[allow(clippy::disallowed_methods)] // the real Prometheus, owned by this struct
            let child = Command::new("/usr/bin/prometheus")
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("/usr/bin/prometheus (scripts/install-deps installs it)");
            let mut prometheus = Prometheus {
                url: format!("http://127.0.0.1:{port}"),
                dir: dir.clone(),
                child,
            };
            while Instant::now() < deadline {
                if prometheus.child.try_wait().unwrap().is_some() {
                    break; // the port was taken meanwhile: another one
                }
                if curl(&format!("{}/-/ready", prometheus.url)).is_ok() {
                    return prometheus;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus never got ready:\n{}",
                prometheus.log()
            );
        }
    }

    /// Its log.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// GET `path` of the HTTP API (e.g. `/api/v1/targets`); its `data`.
    pub fn api(&self, path: &str) -> Value {
        let body = curl(&format!("{}{path}", self.url)).unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "success", "{path}: {v}");
        v["data"].clone()
    }

    /// `/api/v1/query` of `expr`: the result vector.
    pub fn query(&self, expr: &str) -> Vec<Value> {
        let encoded: String = form_urlencoded(expr);
        self.api(&format!("/api/v1/query?query={encoded}"))["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The active targets (`/api/v1/targets`).
    pub fn targets(&self) -> Vec<Value> {
        self.api("/api/v1/targets")["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Every loaded rule (`/api/v1/rules`), flattened over groups.
    pub fn rules(&self) -> Vec<Value> {
        let data = self.api("/api/v1/rules");
        data["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// The active alerts (`/api/v1/alerts`).
    pub fn alerts(&self) -> Vec<Value> {
        self.api("/api/v1/alerts")["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Poll `done` on this server every 500 ms for up to `secs` seconds; its last value.
    pub fn wait<T>(&self, secs: u64, done: impl Fn(&Prometheus) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = done(self) {
                return Some(v);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// Percent-encoding of a query parameter's value.
fn form_urlencoded(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GET `url` with curl (HTTPS without verification: the unit's self-made certificates); the
/// body, or curl's error.
pub fn curl(url: &str) -> Result<String, String> {
    curl_timed(url).map(|(body, _)| body)
}

/// [`curl`], with the transfer's total time in seconds (curl's `time_total`).
pub fn curl_timed(url: &str) -> Result<(String, f64), String> {
    #[allow(clippy::disallowed_methods)] // curl: an independent HTTP client
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--insecure", "--max-time", "10"])
        .args(["-w", "\n%{time_total}"])
        .arg(url)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let (body, time) = text.rsplit_once('\n').unwrap_or((&text, "0"));
    Ok((body.to_string(), time.trim().parse().unwrap_or(0.0)))
}

/// The metric names of a Prometheus text exposition (comments and blank lines skipped).
pub fn metric_names(exposition: &str) -> std::collections::BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}
