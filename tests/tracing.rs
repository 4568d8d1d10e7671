//! Tracing end to end in the lab (root, real PostgreSQL, Patroni and etcd): the charm related to
//! the `tracing-provider` test charm, which hands out the OTLP/HTTP receiver this test runs (on
//! hyper); the spans of later hooks reach it, one trace per hook, rooted at a span named after
//! the hook, with the unit's Juju topology; none after the relation is removed.

mod common_lab;

use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common_lab::{APP, Deployment, can_run, deploy, model_log, settle_ok};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;

const PROVIDER: &str = "tracing-provider";
const UNIT: &str = "postgresql-k8s/0";

/// An OTLP/HTTP receiver: every `POST /v1/traces` body (JSON) is kept.
struct Receiver {
    port: u16,
    bodies: Arc<Mutex<Vec<(String, Value)>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    /// Listening on every address (the pods reach the host through the model's bridge).
    fn start() -> Receiver {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("0.0.0.0:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = bodies.clone();
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let kept = kept.clone();
                    async move {
                        let path = request.uri().path().to_string();
                        let body = request
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        kept.lock().unwrap().push((path, value));
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(200)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from_static(b"{}")))
                                .unwrap(),
                        )
                    }
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            }
        });
        Receiver {
            port,
            bodies,
            _runtime: runtime,
        }
    }

    fn count(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }

    fn bodies(&self) -> Vec<(String, Value)> {
        self.bodies.lock().unwrap().clone()
    }
}

/// The provider charm, copied out of the source tree.
fn provider_charm(into: &Path) -> std::path::PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charms/tracing-provider");
    let dst = into.join(PROVIDER);
    std::fs::create_dir_all(&dst).unwrap();
    for file in ["metadata.yaml", "config.yaml", "dispatch"] {
        std::fs::copy(src.join(file), dst.join(file)).unwrap();
    }
    dst
}

/// The host's address as the pods see it (the model bridge's gateway, `.1` of the unit's /24).
fn host_address(d: &Deployment) -> String {
    let unit = d.address(0);
    let (net, _) = unit.rsplit_once('.').unwrap();
    format!("{net}.1")
}

/// One exported request's spans, with the resource attributes.
struct Export {
    resource: Vec<(String, String)>,
    spans: Vec<Value>,
}

fn export_of(body: &Value) -> Export {
    let rs = &body["resourceSpans"][0];
    let resource = rs["resource"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["key"].as_str().unwrap().to_string(),
                a["value"]["stringValue"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let spans = rs["scopeSpans"][0]["spans"].as_array().unwrap().clone();
    Export { resource, spans }
}

fn root_name(e: &Export) -> String {
    e.spans
        .iter()
        .find(|s| s["parentSpanId"] == "")
        .map(|s| s["name"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

fn wait_for(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn hook_spans_reach_the_related_otlp_receiver_until_the_relation_is_removed() {
    if !can_run() {
        return;
    }
    let receiver = Receiver::start();
    let mut d = deploy(&[]);
    assert_eq!(receiver.count(), 0, "spans were sent before any relation");
    let url = format!("http://{}:{}", host_address(&d), receiver.port);
    let provider = provider_charm(d.scratch());
    d.model
        .deploy(&provider, None, 1, &[("otlp-http-url".into(), url.clone())])
        .unwrap();
    settle_ok(&mut d.model);
    let relation = d
        .model
        .integrate(&format!("{APP}:tracing"), PROVIDER)
        .unwrap();
    settle_ok(&mut d.model);
    // The provider saw our request in the library's format.
    let log = model_log(&d.model);
    assert!(
        log.contains(r#"asked for receivers: ["otlp_http"]"#),
        "{log}"
    );

    // Later hooks send their spans.
    let before = receiver.count();
    d.model.update_status(Some(UNIT));
    settle_ok(&mut d.model);
    d.model
        .config(
            APP,
            &[("logging_log_connections".into(), "true".into())],
            &[],
        )
        .unwrap();
    settle_ok(&mut d.model);
    wait_for(10, "the spans of update-status and config-changed", || {
        let roots: Vec<String> = receiver.bodies()[before..]
            .iter()
            .map(|(_, b)| root_name(&export_of(b)))
            .collect();
        roots.iter().any(|r| r == "update-status") && roots.iter().any(|r| r == "config-changed")
    });
    // An action that converges SQL (the new password reaches PostgreSQL as a SCRAM verifier).
    let new_password = "Tr4cing-never-in-a-span-0451";
    let record = d.run(
        UNIT,
        "set-password",
        &[("username", "monitoring"), ("password", new_password)],
    );
    assert_eq!(record.action.unwrap().failed, None, "{}", record.output);
    settle_ok(&mut d.model);
    wait_for(10, "the spans of set-password", || {
        receiver.bodies()[before..]
            .iter()
            .any(|(_, b)| root_name(&export_of(b)) == "set-password")
    });
    let bodies = receiver.bodies();
    let exports: Vec<Export> = bodies[before..].iter().map(|(_, b)| export_of(b)).collect();
    assert!(bodies.iter().all(|(path, _)| path == "/v1/traces"));
    let model_name = d.model.state().name.clone();
    let mut names = std::collections::BTreeSet::new();
    for e in &exports {
        let attr = |k: &str| {
            e.resource
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(attr("service.name").as_deref(), Some(APP));
        assert_eq!(attr("juju_application").as_deref(), Some(APP));
        assert_eq!(attr("juju_unit").as_deref(), Some(UNIT));
        assert_eq!(attr("juju_model").as_deref(), Some(model_name.as_str()));
        // One trace per hook: one root, every other span's parent in the same export.
        let roots: Vec<&Value> = e.spans.iter().filter(|s| s["parentSpanId"] == "").collect();
        assert_eq!(roots.len(), 1, "{:?}", e.spans);
        let ids: std::collections::HashSet<&str> = e
            .spans
            .iter()
            .map(|s| s["spanId"].as_str().unwrap())
            .collect();
        for s in &e.spans {
            assert_eq!(s["traceId"], roots[0]["traceId"]);
            let parent = s["parentSpanId"].as_str().unwrap();
            assert!(parent.is_empty() || ids.contains(parent), "{s}");
            names.insert(s["name"].as_str().unwrap().to_string());
        }
    }
    let config_changed = exports
        .iter()
        .find(|e| root_name(e) == "config-changed")
        .unwrap();
    let root = config_changed
        .spans
        .iter()
        .find(|s| s["parentSpanId"] == "")
        .unwrap();
    let observe = config_changed
        .spans
        .iter()
        .find(|s| s["name"] == "observe")
        .expect("an observe span");
    assert_eq!(observe["parentSpanId"], root["spanId"]);
    for phase in [
        "observe", "tls", "clients", "apply", "status", "pebble", "patroni",
    ] {
        assert!(names.contains(phase), "no {phase} span in {names:?}");
    }
    assert!(
        names.iter().any(|n| n.starts_with("sql.")),
        "no SQL span in {names:?}"
    );
    // No password or secret value in any attribute or name.
    let operator = d.password("operator");
    let monitoring = d.password("monitoring");
    let all = serde_json::to_string(&bodies.iter().map(|(_, b)| b).collect::<Vec<_>>()).unwrap();
    assert_eq!(monitoring, new_password);
    assert!(!all.contains(&operator) && !all.contains(new_password));

    // Removed: no more spans.
    d.model.remove_relation(relation).unwrap();
    settle_ok(&mut d.model);
    let after = receiver.count();
    d.model.update_status(Some(UNIT));
    settle_ok(&mut d.model);
    d.model
        .config(
            APP,
            &[("logging_log_connections".into(), "false".into())],
            &[],
        )
        .unwrap();
    settle_ok(&mut d.model);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        receiver.count(),
        after,
        "spans after the relation was removed: {:?}",
        receiver.bodies()[after..]
            .iter()
            .map(|(_, b)| root_name(&export_of(b)))
            .collect::<Vec<_>>()
    );
    let log = model_log(&d.model);
    assert!(!log.contains("spans were not sent"), "{log}");
}
