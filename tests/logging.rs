//! Log forwarding end to end, in the lab (root, real PostgreSQL, Patroni and etcd): the charm
//! related to `loki-provider` (ops and the real loki_push_api library from PyPI) renders a
//! Pebble `loki` log target for the advertised endpoint; the lab's Pebble double pushes the
//! services' output there, and a push receiver run by this test stores what arrives.
//!
//! Checked: PostgreSQL's and Patroni's lines arrive from the `postgresql` service with the Juju
//! topology labels; neither a new operator password, nor a client relation's password, nor
//! their SCRAM verifiers are ever forwarded; once the relation is removed, nothing more is
//! forwarded.

mod common_lab;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common_lab::tls::test_charm;
use common_lab::{APP, settle_ok};
use lab::engine::Isolation;

const LOKI: &str = "loki-provider";
const LOKI_PYTHON_ENV: &str = "LAB_LOKI_PYTHON";

/// One forwarded line: its stream's labels and its text.
#[derive(Debug, Clone)]
struct Line {
    labels: BTreeMap<String, String>,
    text: String,
}

/// A Loki push receiver: stores the lines of every `POST` body (`{"streams": [...]}`) and
/// answers 204.
struct Receiver {
    port: u16,
    lines: Arc<Mutex<Vec<Line>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let lines: Arc<Mutex<Vec<Line>>> = Arc::default();
        let store = lines.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let store = store.clone();
                std::thread::spawn(move || serve(stream, &store));
            }
        });
        Receiver { port, lines }
    }

    fn lines(&self) -> Vec<Line> {
        self.lines.lock().unwrap().clone()
    }

    fn wait_for(&self, secs: u64, what: impl Fn(&Line) -> bool) -> Option<Line> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Some(line) = self.lines().into_iter().find(&what) {
                return Some(line);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        None
    }
}

/// Serve one connection (keep-alive): each request's body is parsed as a push.
fn serve(stream: TcpStream, store: &Mutex<Vec<Line>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        if request_line.starts_with("POST ")
            && let Ok(push) = serde_json::from_slice::<serde_json::Value>(&body)
        {
            let mut lines = store.lock().unwrap();
            for stream in push["streams"].as_array().into_iter().flatten() {
                let labels: BTreeMap<String, String> = stream["stream"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                for value in stream["values"].as_array().into_iter().flatten() {
                    lines.push(Line {
                        labels: labels.clone(),
                        text: value[1].as_str().unwrap_or_default().to_string(),
                    });
                }
            }
        }
        if writer
            .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// The address the units' pods reach the host on (their default gateway), or loopback without
/// pods.
fn host_address(model: &lab::engine::Model, unit: &str) -> String {
    if model.isolation() == Isolation::None {
        return "127.0.0.1".into();
    }
    let out = model
        .pod_command(unit, Path::new("/bin/sh"))
        .unwrap()
        .args(["-c", "ip -4 route show default | awk '{print $3; exit}'"])
        .output()
        .unwrap();
    let address = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!address.is_empty(), "no default route in {unit}'s pod");
    address
}

#[test]
fn service_output_reaches_loki_with_labels_and_without_passwords() {
    if !common_lab::can_run() {
        return;
    }
    let python = common_lab::cos::cos_python();
    let mut d = common_lab::deploy_in(false, &[], &[(LOKI_PYTHON_ENV, python.to_str().unwrap())]);
    let unit = format!("{APP}/0");
    let receiver = Receiver::start();
    let url = format!("http://{}:{}", host_address(&d.model, &unit), receiver.port);
    let loki_dir = test_charm(d.scratch(), LOKI);
    d.model
        .deploy(&loki_dir, None, 1, &[("url".to_string(), url.clone())])
        .unwrap();
    let relation = d.model.integrate(&format!("{APP}:logging"), LOKI).unwrap();
    settle_ok(&mut d.model);

    // The plan holds one enabled loki target for loki-provider/0.
    let pebble = d.model.pebble(&unit, "postgresql").unwrap();
    let plan = d.model.block_on(pebble.get_plan()).unwrap();
    let target = &plan.log_targets[&format!("{LOKI}/0")];
    assert_eq!(target.location, format!("{url}/loki/api/v1/push"));
    assert_eq!(target.services, ["all"]);

    // The consumer published its topology and (empty) rules, as LokiPushApiConsumer does.
    let loki_status = d.model.unit_status(&format!("{LOKI}/0")).unwrap();
    assert!(
        loki_status
            .message
            .contains(&format!("{APP}(metadata={APP},rules=yes)")),
        "{loki_status:?}"
    );

    // PostgreSQL's own lines (a checkpoint asked for now, a connection) and Patroni's.
    let operator = d.password("operator");
    let client = d.connect(0, "operator", &operator).unwrap();
    client.execute("CHECKPOINT");
    let checkpoint = receiver
        .wait_for(60, |l| l.text.contains("checkpoint starting: immediate"))
        .unwrap_or_else(|| panic!("no checkpoint line: {:#?}", receiver.lines()));
    let labels = &checkpoint.labels;
    assert_eq!(labels["pebble_service"], "postgresql");
    assert_eq!(labels["juju_application"], APP);
    assert_eq!(labels["juju_unit"], unit);
    assert_eq!(labels["charm"], "postgresql-k8s");
    assert_eq!(labels["product"], "Juju");
    assert!(!labels["juju_model"].is_empty());
    assert!(!labels["juju_model_uuid"].is_empty());
    receiver
        .wait_for(30, |l| {
            l.text.contains("connection authorized: user=operator")
                && l.labels["pebble_service"] == "postgresql"
        })
        .unwrap_or_else(|| panic!("no connection line: {:#?}", receiver.lines()));
    // Patroni's HA loop reports every loop_wait (10 s) in its own format.
    receiver
        .wait_for(60, |l| {
            l.text.contains("INFO: no action. I am") && l.labels["pebble_service"] == "postgresql"
        })
        .unwrap_or_else(|| panic!("no Patroni line: {:#?}", receiver.lines()));
    drop(client);

    // A new operator password: neither it nor its verifier is forwarded.
    let new_password = "Lab-Logging-Pw-7f3a9c21e5d84b60";
    let record = d.run(
        &unit,
        "set-password",
        &[("username", "operator"), ("password", new_password)],
    );
    assert_eq!(record.action.unwrap().failed, None, "{}", record.output);
    settle_ok(&mut d.model);
    // A client relation: its role is created with a password of its own.
    let shell = test_charm(d.scratch(), "shell-db-client");
    d.model
        .deploy(
            &shell,
            Some("app-client"),
            1,
            &[("database".to_string(), "app_db".to_string())],
        )
        .unwrap();
    settle_ok(&mut d.model);
    let client_relation = d
        .model
        .integrate(&format!("{APP}:database"), "app-client")
        .unwrap();
    let label = format!("database.{client_relation}.user.secret");
    let client_secret = |d: &common_lab::Deployment| {
        let state = d.model.state();
        state
            .secrets
            .values()
            .find(|s| s.label.as_deref() == Some(label.as_str()))
            .map(|s| s.revisions[&s.latest()]["password"].clone())
    };
    assert!(
        d.wait_until(None, 90, |d| client_secret(d).is_some()),
        "no client credentials\n{}",
        d.log_tail(40)
    );
    let client_password = client_secret(&d).unwrap();
    let role = format!("relation_id_{client_relation}");

    let client = d.connect(0, "operator", new_password).unwrap();
    let verifier_of = |role: &str| {
        client.value(&format!(
            "SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = '{role}'"
        ))
    };
    let verifier = verifier_of("operator");
    assert!(verifier.starts_with("SCRAM-SHA-256$"), "{verifier}");
    let client_verifier = verifier_of(&role);
    assert!(
        client_verifier.starts_with("SCRAM-SHA-256$"),
        "{client_verifier}"
    );
    // A line written after the change has arrived: everything before it has too.
    let before = receiver
        .lines()
        .iter()
        .filter(|l| l.text.contains("checkpoint starting: immediate"))
        .count();
    client.execute("CHECKPOINT");
    assert!(
        receiver
            .wait_for(60, |_| {
                receiver
                    .lines()
                    .iter()
                    .filter(|l| l.text.contains("checkpoint starting: immediate"))
                    .count()
                    > before
            })
            .is_some(),
        "the last checkpoint's line never arrived: {:#?}",
        receiver.lines()
    );
    // The passwords, the verifiers, and every long part of a verifier (salt, keys).
    let mut secrets: Vec<&str> = vec![new_password, &client_password];
    for v in [&verifier, &client_verifier] {
        secrets.push(v);
        let (_, parts) = v.split_once('$').unwrap();
        secrets.extend(parts.split([':', '$']).filter(|p| p.len() >= 16));
    }
    let lines = receiver.lines();
    for line in &lines {
        for secret in &secrets {
            assert!(
                !line.text.contains(secret),
                "a password or verifier was forwarded: {line:?}"
            );
        }
    }
    drop(client);

    // The relation goes: the target stays in the plan, disabled, and nothing more arrives.
    d.model.remove_relation(relation).unwrap();
    settle_ok(&mut d.model);
    let plan = d.model.block_on(pebble.get_plan()).unwrap();
    assert_eq!(plan.log_targets[&format!("{LOKI}/0")].services, ["-all"]);
    std::thread::sleep(Duration::from_secs(3));
    let count = receiver.lines().len();
    let client = d.connect(0, "operator", new_password).unwrap();
    client.execute("CHECKPOINT");
    drop(client);
    std::thread::sleep(Duration::from_secs(4));
    let after = receiver.lines();
    assert_eq!(
        after.len(),
        count,
        "lines forwarded after the relation was removed: {:#?}",
        &after[count..]
    );
}
