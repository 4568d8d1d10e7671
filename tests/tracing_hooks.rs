//! State tests of the `tracing` relation and the export of hook spans: the real charm binary
//! runs one hook against recorded hook-tool answers (the lab's replay `jujuc`), and an OTLP
//! receiver on 127.0.0.1 (a plain socket here; tests/tracing.rs runs the lab end to end).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

mod common_replay;

use common_replay::unit;
use lab::harness::{Harness, HookRun};

const RELATION: &[(&str, &str)] = &[
    ("JUJU_RELATION", "tracing"),
    ("JUJU_RELATION_ID", "tracing:7"),
    ("JUJU_REMOTE_APP", "tempo"),
    ("JUJU_REMOTE_UNIT", "tempo/0"),
];

/// A unit with its passwords stored, an etcd provider related, a tracing provider related, and
/// no workload socket; `state` is what `state-get` answers.
fn harness(leader: bool, state: &str) -> Harness {
    let mut h = unit(leader, state);
    h.answer(
        "relation-list --format=json --app -r tracing:7",
        "\"tempo\"\n",
    )
    // Our own application bag on the tracing relation: empty.
    .answer(
        "relation-get --format=json -r tracing:7 --app - postgresql-k8s",
        "{}\n",
    );
    h
}

/// The provider's application bag publishing `receivers`.
fn provider_bag(h: &mut Harness, receivers: &str) {
    let bag = serde_json::json!({ "receivers": receivers }).to_string();
    h.answer(
        "relation-get --format=json -r tracing:7 --app - tempo",
        &format!("{bag}\n"),
    );
}

fn receivers(url: &str) -> String {
    serde_json::json!([
        {"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo:4317"},
        {"protocol": {"name": "otlp_http", "type": "http"}, "url": url},
    ])
    .to_string()
}

fn everything_sent(run: &HookRun) -> String {
    run.calls
        .iter()
        .map(|c| format!("{} {:?} {}", c.tool, c.args, c.stdin))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn malformed_receivers_are_refused_without_crashing_and_the_leader_asks() {
    for bad in [
        "not json".to_string(),
        r#"[{"protocol": "otlp_http"}]"#.to_string(),
        receivers("http://admin:hunter2@tempo:4318"),
        receivers("gopher://tempo:4318"),
    ] {
        let mut h = harness(true, "{}");
        provider_bag(&mut h, &bad);
        let run = h.run("hooks/tracing-relation-changed", RELATION).unwrap();
        assert_eq!(run.code, 0, "{bad}: {run:?}");
        // The request, in the library's format, in our application bag.
        let sets = run.calls_to("relation-set");
        assert_eq!(sets.len(), 1, "{sets:?}");
        assert_eq!(sets[0].args, ["-r", "tracing:7", "--app", "--file", "-"]);
        let written: serde_json::Value = serde_json::from_str(&sets[0].stdin).unwrap();
        assert_eq!(written, serde_json::json!({"receivers": "[\"otlp_http\"]"}));
        // Refused, said so, nothing kept, no credential repeated anywhere.
        let logs = run.calls_to("juju-log");
        assert!(
            logs.iter()
                .any(|c| c.args.iter().any(|a| a.contains("hook spans are not sent"))),
            "{bad}: {logs:?}"
        );
        assert!(
            run.calls_to("state-set")
                .iter()
                .all(|c| !c.stdin.contains("tracing-receiver")),
            "{bad}"
        );
        assert!(!everything_sent(&run).contains("hunter2"));
    }
}

#[test]
fn a_follower_keeps_the_receiver_and_does_not_write_the_request() {
    let mut h = harness(false, "{}");
    provider_bag(&mut h, &receivers("http://tempo.lab:4318/"));
    let run = h.run("hooks/tracing-relation-changed", RELATION).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.calls_to("relation-set").is_empty(), "{run:?}");
    let kept = run
        .calls_to("state-set")
        .into_iter()
        .find(|c| c.stdin.contains("tracing-receiver"))
        .expect("the receiver is kept");
    let kept: serde_json::Value = serde_json::from_str(&kept.stdin).unwrap();
    assert_eq!(kept["tracing-receiver"], "http://tempo.lab:4318");
}

#[test]
fn relation_broken_forgets_the_receiver() {
    let state = serde_json::json!({"tracing-receiver": "http://127.0.0.1:9"}).to_string();
    let h = harness(true, &state);
    let run = h.run("hooks/tracing-relation-broken", RELATION).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let deletes = run.calls_to("state-delete");
    assert!(
        deletes.iter().any(|c| c.args == ["tracing-receiver"]),
        "{deletes:?}"
    );
    assert!(run.calls_to("relation-set").is_empty());
}

/// One HTTP request, read from `listener`: request line, headers (lower-cased), body. Answers
/// `200 {}`.
fn serve_one(listener: TcpListener) -> (String, Vec<(String, String)>, Vec<u8>) {
    let (stream, _) = listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.push((k.to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    let mut stream = reader.into_inner();
    stream
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
        .unwrap();
    (line.trim_end().to_string(), headers, body)
}

#[test]
fn a_kept_receiver_gets_the_hook_spans_without_extra_hook_tool_calls() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(serve_one(listener)).unwrap());
    let steady = serde_json::json!({
        "etcd-store": "{\"hosts\":[\"10.1.2.9:2379\"],\"protocol\":\"http\",\"ca\":null,\"client_secret\":null}",
        "peers": "{\"relation\":0,\"members\":{}}",
    });
    let mut traced = steady.clone();
    traced["tracing-receiver"] = format!("http://127.0.0.1:{port}").into();
    let h = harness(true, &traced.to_string());
    let run = h.run("hooks/update-status", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let (line, headers, body) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(line, "POST /v1/traces HTTP/1.1");
    assert!(headers.contains(&("content-type".into(), "application/json".into())));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let resource = &v["resourceSpans"][0]["resource"]["attributes"];
    let attr = |key: &str| {
        resource
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == key)
            .map(|a| a["value"]["stringValue"].clone())
    };
    assert_eq!(attr("service.name"), Some("postgresql-k8s".into()));
    assert_eq!(attr("juju_unit"), Some("postgresql-k8s/0".into()));
    let spans = v["resourceSpans"][0]["scopeSpans"][0]["spans"]
        .as_array()
        .unwrap();
    let root = spans
        .iter()
        .find(|s| s["parentSpanId"] == "")
        .expect("a root span");
    assert_eq!(root["name"], "update-status");
    let observe = spans.iter().find(|s| s["name"] == "observe").unwrap();
    assert_eq!(observe["parentSpanId"], root["spanId"]);
    assert!(spans.iter().all(|s| s["traceId"] == root["traceId"]));
    // No password of the peer secret in any attribute.
    for s in spans {
        let text = s["attributes"].to_string();
        assert!(!text.contains("-password"), "{text}");
    }

    // The same hook without a receiver: the same hook-tool calls.
    let plain = harness(true, &steady.to_string())
        .run("hooks/update-status", &[])
        .unwrap();
    assert_eq!(plain.code, 0);
    let tools = |r: &HookRun| r.calls.iter().map(|c| c.tool.clone()).collect::<Vec<_>>();
    assert_eq!(tools(&run), tools(&plain));
}

#[test]
fn an_unreachable_receiver_does_not_fail_the_hook() {
    // Nothing listens on this port (bound, then closed).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let state = serde_json::json!({"tracing-receiver": format!("http://127.0.0.1:{port}")});
    let h = harness(true, &state.to_string());
    let run = h.run("hooks/update-status", &[]).unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    let logs = run.calls_to("juju-log");
    assert!(
        logs.iter()
            .any(|c| c.args.iter().any(|a| a.contains("spans were not sent"))),
        "{logs:?}"
    );
}
