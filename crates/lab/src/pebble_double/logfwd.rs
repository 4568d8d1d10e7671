//! Log forwarding to the plan's `loki` log targets, as Pebble's log manager does it: one
//! gatherer per target, fed with the new output lines of every service the target's
//! `services` list selects, flushed every second (and whenever 1000 lines are buffered) as one
//! push request: `{"streams":[{"stream":{<target labels>,"pebble_service":<name>},
//! "values":[["<unix ns>","<line>"],...]}, ...]}`, one stream per service in name order,
//! `Content-Type: application/json; charset=utf-8`.
//!
//! Answers as Pebble treats them: 2xx drops the sent lines; 429 and 5xx keep them for the next
//! flush; other 4xx drop them (retrying cannot help); a failed connection keeps them. The
//! buffer is bounded: past [`MAX_BUFFERED`] lines, the oldest go. A target whose services list
//! selects nothing (`[-all]`) gets no gatherer; a target that leaves the plan, or stops
//! selecting a service, is flushed one last time. Only lines written after a gatherer attached
//! are sent. Other target types (opentelemetry, syslog) are not forwarded by the double.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use pebble::{LogTarget, LogTargetType, Plan};
use tokio::sync::broadcast::{self, error::TryRecvError};

use super::logbuf::{LogBuffer, LogEntry};
use super::logger;
use super::state::Daemon;

/// How often buffered lines are sent.
pub const FLUSH_PERIOD: Duration = Duration::from_secs(1);

/// Lines that make a request on their own.
const MAX_REQUEST_ENTRIES: usize = 1000;

/// Lines kept while the target does not accept them.
const MAX_BUFFERED: usize = 10 * MAX_REQUEST_ENTRIES;

/// How often subscriptions are drained while a target is followed (lines arrive in between).
const POLL_PERIOD: Duration = Duration::from_millis(100);

/// One request's timeout (Pebble's: 10 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `service` logs to a target with this `services` list: the list is read from its
/// end and the first entry naming the service (or `all`) decides; `-` means no.
pub fn logs_to(services: &[String], service: &str) -> bool {
    for entry in services.iter().rev() {
        let (negated, name) = match entry.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, entry.as_str()),
        };
        if name == "all" || name == service {
            return !negated;
        }
    }
    false
}

/// The push request body for `entries` (by service), with `labels` on every stream.
pub fn push_body(
    labels: &BTreeMap<String, String>,
    entries: &BTreeMap<String, Vec<LogEntry>>,
) -> serde_json::Value {
    let streams: Vec<serde_json::Value> = entries
        .iter()
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(service, lines)| {
            let mut stream: serde_json::Map<String, serde_json::Value> = labels
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            stream.insert("pebble_service".into(), service.clone().into());
            let values: Vec<serde_json::Value> = lines
                .iter()
                .map(|e| {
                    let ns = e
                        .time
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_nanos())
                        .unwrap_or(0);
                    serde_json::json!([ns.to_string(), e.message.trim_end_matches('\n')])
                })
                .collect();
            serde_json::json!({"stream": stream, "values": values})
        })
        .collect();
    serde_json::json!({ "streams": streams })
}

/// What one flush did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Nothing was buffered.
    Nothing,
    /// The target took the lines (2xx).
    Accepted,
    /// The target refused them for good (4xx other than 429): dropped.
    Dropped,
    /// Not delivered (429, 5xx, no connection): kept for the next flush.
    Kept,
}

/// One log target's gatherer: its subscriptions and buffered lines.
struct Gatherer {
    target: LogTarget,
    subscriptions: BTreeMap<String, (Arc<LogBuffer>, broadcast::Receiver<LogEntry>)>,
    entries: BTreeMap<String, Vec<LogEntry>>,
    count: usize,
}

impl Gatherer {
    fn push(&mut self, entry: LogEntry) {
        self.entries
            .entry(entry.service.clone())
            .or_default()
            .push(entry);
        self.count += 1;
        if self.count > MAX_BUFFERED {
            // Drop the oldest line of the service that holds it.
            if let Some(oldest) = self
                .entries
                .iter()
                .filter_map(|(s, lines)| lines.first().map(|l| (l.time, s.clone())))
                .min()
                .map(|(_, s)| s)
                && let Some(lines) = self.entries.get_mut(&oldest)
            {
                lines.remove(0);
                self.count -= 1;
            }
        }
    }

    fn drain(&mut self) {
        let mut received = Vec::new();
        for (_, receiver) in self.subscriptions.values_mut() {
            loop {
                match receiver.try_recv() {
                    Ok(entry) => received.push(entry),
                    Err(TryRecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
        }
        for entry in received {
            self.push(entry);
        }
    }
}

/// Every `loki` target of the plan and its gatherer.
pub struct Forwarder {
    http: reqwest::Client,
    user_agent: String,
    gatherers: BTreeMap<String, Gatherer>,
}

impl Forwarder {
    /// A forwarder with no targets yet; requests say `pebble/<version>`.
    pub fn new(version: &str) -> Forwarder {
        Forwarder {
            http: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()
                .unwrap_or_default(),
            user_agent: format!("pebble/{version}"),
            gatherers: BTreeMap::new(),
        }
    }

    /// Follow `plan`: a gatherer per `loki` target that selects a service, subscribed to the
    /// output of each selected service that has run (`buffer_of`). Gatherers and subscriptions
    /// that are not wanted any more are flushed one last time and dropped.
    pub async fn follow(
        &mut self,
        plan: &Plan,
        buffer_of: &(dyn Fn(&str) -> Option<Arc<LogBuffer>> + Sync),
    ) {
        let mut wanted: BTreeMap<String, (LogTarget, Vec<String>)> = BTreeMap::new();
        for (name, target) in &plan.log_targets {
            if target.r#type != Some(LogTargetType::Loki) {
                continue;
            }
            let services: Vec<String> = plan
                .services
                .keys()
                .filter(|s| logs_to(&target.services, s))
                .cloned()
                .collect();
            if !services.is_empty() {
                wanted.insert(name.clone(), (target.clone(), services));
            }
        }
        let gone: Vec<String> = self
            .gatherers
            .keys()
            .filter(|name| !wanted.contains_key(*name))
            .cloned()
            .collect();
        for name in gone {
            if let Some(mut gatherer) = self.gatherers.remove(&name) {
                gatherer.drain();
                self.send(&name, &mut gatherer).await;
            }
        }
        for (name, (target, services)) in wanted {
            let gatherer = self.gatherers.entry(name).or_insert_with(|| Gatherer {
                target: target.clone(),
                subscriptions: BTreeMap::new(),
                entries: BTreeMap::new(),
                count: 0,
            });
            gatherer.drain();
            gatherer.target = target;
            gatherer
                .subscriptions
                .retain(|service, _| services.contains(service));
            for service in services {
                let Some(buffer) = buffer_of(&service) else {
                    continue;
                };
                let current = gatherer
                    .subscriptions
                    .get(&service)
                    .is_some_and(|(b, _)| Arc::ptr_eq(b, &buffer));
                if !current {
                    let receiver = buffer.subscribe();
                    gatherer.subscriptions.insert(service, (buffer, receiver));
                }
            }
        }
    }

    /// Take the lines written since the last call.
    pub fn collect(&mut self) {
        for gatherer in self.gatherers.values_mut() {
            gatherer.drain();
        }
    }

    /// Whether a target buffers enough lines for a request of its own.
    pub fn full(&self) -> bool {
        self.gatherers
            .values()
            .any(|g| g.count >= MAX_REQUEST_ENTRIES)
    }

    /// Send every target's buffered lines; what each target's flush did.
    pub async fn flush(&mut self) -> BTreeMap<String, Sent> {
        let mut gatherers = std::mem::take(&mut self.gatherers);
        let mut results = BTreeMap::new();
        for (name, gatherer) in gatherers.iter_mut() {
            gatherer.drain();
            results.insert(name.clone(), self.send(name, gatherer).await);
        }
        self.gatherers = gatherers;
        results
    }

    async fn send(&self, name: &str, gatherer: &mut Gatherer) -> Sent {
        if gatherer.count == 0 {
            return Sent::Nothing;
        }
        let body = push_body(&gatherer.target.labels, &gatherer.entries);
        let answer = self
            .http
            .post(&gatherer.target.location)
            .header("Content-Type", "application/json; charset=utf-8")
            .header("User-Agent", &self.user_agent)
            .body(body.to_string())
            .send()
            .await;
        let outcome = match answer {
            Ok(response) => {
                let code = response.status().as_u16();
                match code {
                    200..=299 => Sent::Accepted,
                    429 | 500..=599 => Sent::Kept,
                    _ => {
                        logger::notice(format!(
                            "Target {name:?}: request failed with status {code}, dropping {} logs",
                            gatherer.count
                        ));
                        Sent::Dropped
                    }
                }
            }
            Err(e) => {
                logger::notice(format!("Error sending logs to target {name:?}: {e}"));
                Sent::Kept
            }
        };
        if outcome != Sent::Kept {
            gatherer.entries.clear();
            gatherer.count = 0;
        }
        outcome
    }
}

/// The daemon's forwarding loop: follows the plan and the services' output, flushing every
/// [`FLUSH_PERIOD`]. With no loki target it only reads the plan once a period, so an unrelated
/// workload pays nothing measurable. Runs until the runtime stops.
pub async fn run(daemon: Arc<Daemon>) {
    let mut forwarder = Forwarder::new(super::config::VERSION);
    let mut last_flush = std::time::Instant::now();
    loop {
        let plan = daemon.plan.plan();
        forwarder
            .follow(&plan, &|service| daemon.services.log_buffer(service))
            .await;
        forwarder.collect();
        if forwarder.full() || last_flush.elapsed() >= FLUSH_PERIOD {
            forwarder.flush().await;
            last_flush = std::time::Instant::now();
        }
        // Without a target there is nothing to drain: look at the plan once a flush period.
        let idle = forwarder.gatherers.is_empty();
        tokio::time::sleep(if idle { FLUSH_PERIOD } else { POLL_PERIOD }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::mpsc;

    #[test]
    fn services_lists_read_from_the_end() {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(logs_to(&list(&["all"]), "pg"));
        assert!(!logs_to(&list(&["-all"]), "pg"));
        assert!(!logs_to(&list(&[]), "pg"));
        assert!(logs_to(&list(&["-all", "pg"]), "pg"));
        assert!(!logs_to(&list(&["-all", "pg"]), "other"));
        assert!(!logs_to(&list(&["all", "-pg"]), "pg"));
        assert!(logs_to(&list(&["all", "-pg"]), "other"));
        assert!(!logs_to(&list(&["all", "-all"]), "pg"));
    }

    /// A push receiver on 127.0.0.1: answers each request with `status`, hands its body over.
    async fn receiver(status: u16) -> (String, mpsc::UnboundedReceiver<(String, String)>) {
        // As `pebble_double::main` does for the daemon.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/loki/api/v1/push", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut data = Vec::new();
                    let mut buf = [0u8; 4096];
                    loop {
                        let n = socket.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        data.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&data).to_string();
                        let Some(end) = text.find("\r\n\r\n") else {
                            continue;
                        };
                        let head = text[..end].to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if data.len() < end + 4 + length {
                            continue;
                        }
                        let body = text[end + 4..end + 4 + length].to_string();
                        let _ = tx.send((head, body));
                        let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                        let _ = socket.write_all(answer.as_bytes()).await;
                        data.clear();
                    }
                });
            }
        });
        (url, rx)
    }

    fn plan(url: &str, services: &[&str]) -> Plan {
        let yaml = format!(
            "services:\n  pg:\n    override: replace\n    command: sleep 1\n  \
             other:\n    override: replace\n    command: sleep 1\n\
             log-targets:\n  loki/0:\n    override: replace\n    type: loki\n    \
             location: {url}\n    services: [{}]\n    labels:\n      juju_unit: pg/0\n",
            services.join(", ")
        );
        let layer = pebble::Layer::from_yaml(&yaml).unwrap();
        Plan::combine([("base", &layer)]).unwrap()
    }

    #[tokio::test]
    async fn pushes_selected_services_lines_in_lokis_json_form() {
        let (url, mut bodies) = receiver(204).await;
        let pg = LogBuffer::new("pg");
        let other = LogBuffer::new("other");
        let buffers = {
            let (pg, other) = (pg.clone(), other.clone());
            move |s: &str| match s {
                "pg" => Some(pg.clone()),
                "other" => Some(other.clone()),
                _ => None,
            }
        };
        pg.write(b"before the target\n");
        let mut forwarder = Forwarder::new("v-test");
        forwarder
            .follow(&plan(&url, &["all", "-other"]), &buffers)
            .await;
        pg.write(b"one\ntwo\n");
        other.write(b"not selected\n");
        let sent = forwarder.flush().await;
        assert_eq!(sent["loki/0"], Sent::Accepted);
        let (head, body) = bodies.recv().await.unwrap();
        assert!(head.starts_with("post /loki/api/v1/push"));
        assert!(head.contains("content-type: application/json; charset=utf-8"));
        assert!(head.contains("user-agent: pebble/v-test"));
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        let streams = body["streams"].as_array().unwrap();
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0]["stream"]["pebble_service"], "pg");
        assert_eq!(streams[0]["stream"]["juju_unit"], "pg/0");
        let values = streams[0]["values"].as_array().unwrap();
        let lines: Vec<&str> = values.iter().map(|v| v[1].as_str().unwrap()).collect();
        assert_eq!(lines, ["one", "two"]);
        let ns: u128 = values[0][0].as_str().unwrap().parse().unwrap();
        assert!(ns > 1_600_000_000_000_000_000);
        // Nothing new: nothing sent.
        assert_eq!(forwarder.flush().await["loki/0"], Sent::Nothing);

        // Disabled with -all: no gatherer, nothing forwarded.
        forwarder.follow(&plan(&url, &["-all"]), &buffers).await;
        pg.write(b"after disabling\n");
        assert!(forwarder.flush().await.is_empty());
        assert!(bodies.try_recv().is_err());
    }

    #[tokio::test]
    async fn server_errors_keep_lines_and_client_errors_drop_them() {
        let pg = LogBuffer::new("pg");
        let buffers = {
            let pg = pg.clone();
            move |s: &str| (s == "pg").then(|| pg.clone())
        };
        let (url, mut bodies) = receiver(503).await;
        let mut forwarder = Forwarder::new("v-test");
        forwarder.follow(&plan(&url, &["pg"]), &buffers).await;
        pg.write(b"kept\n");
        assert_eq!(forwarder.flush().await["loki/0"], Sent::Kept);
        assert_eq!(forwarder.flush().await["loki/0"], Sent::Kept);
        bodies.recv().await.unwrap();
        let (_, again) = bodies.recv().await.unwrap();
        assert!(again.contains("kept"));

        let (url, _bodies) = receiver(400).await;
        forwarder.follow(&plan(&url, &["pg"]), &buffers).await;
        assert_eq!(forwarder.flush().await["loki/0"], Sent::Dropped);
        assert_eq!(forwarder.flush().await["loki/0"], Sent::Nothing);
    }
}
