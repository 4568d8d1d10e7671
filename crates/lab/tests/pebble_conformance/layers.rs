//! Layers: append vs combine, merge rules, validation, and the plan's YAML.

use serde_json::json;

use crate::harness::Pebble;

fn add(label: &str, combine: bool, layer: &str) -> serde_json::Value {
    json!({"action": "add", "label": label, "combine": combine, "format": "yaml", "layer": layer})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_combine_and_merge_rules() {
    let pebble = Pebble::start().await;
    let base = "services:\n  a:\n    override: replace\n    command: sleep 100\n    environment: {A: '1'}\n    after: [x]\n";
    let reply = pebble.post("/v1/layers", add("base", false, base)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["result"], true);
    pebble
        .post("/v1/layers", add("base", false, base))
        .await
        .assert_error(400, "layer \"base\" already exists");

    let merge = "services:\n  a:\n    override: merge\n    environment: {B: '2'}\n    after: [y]\n";
    assert_eq!(
        pebble
            .post("/v1/layers", add("base", true, merge))
            .await
            .status,
        200
    );
    let plan = pebble.client().get_plan().await.unwrap();
    let a = &plan.services["a"];
    assert_eq!(a.command, "sleep 100");
    assert_eq!(a.environment.len(), 2);
    assert_eq!(a.after, ["x", "y"]);

    let upper = "services:\n  a:\n    override: replace\n    command: sleep 5\n";
    assert_eq!(
        pebble
            .post("/v1/layers", add("upper", true, upper))
            .await
            .status,
        200
    );
    let plan = pebble.client().get_plan().await.unwrap();
    assert!(
        plan.services["a"].environment.is_empty(),
        "replace drops earlier fields"
    );
    assert_eq!(plan.services["a"].override_kind(), "replace");

    let text = pebble.get("/v1/plan?format=yaml").await.result();
    let text = text.as_str().unwrap();
    assert!(
        text.starts_with(
            "services:\n    a:\n        override: replace\n        command: sleep 5\n"
        ),
        "{text}"
    );
    assert_eq!(pebble::Plan::from_yaml(text).unwrap(), plan);

    let checks = "checks:\n  c:\n    override: replace\n    period: 60s\n    tcp: {port: 1}\n";
    assert_eq!(
        pebble
            .post("/v1/layers", add("checks", true, checks))
            .await
            .status,
        200
    );
    let text = pebble.get("/v1/plan?format=yaml").await.result();
    let text = text.as_str().unwrap();
    assert!(text.contains("        period: 1m0s\n"), "{text}");
    assert!(text.contains("        threshold: 3\n"), "{text}");
}

trait OverrideKind {
    fn override_kind(&self) -> &'static str;
}

impl OverrideKind for pebble::Service {
    fn override_kind(&self) -> &'static str {
        match self.r#override {
            Some(pebble::Override::Replace) => "replace",
            Some(pebble::Override::Merge) => "merge",
            None => "",
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_layers_are_refused_and_leave_the_plan_unchanged() {
    let pebble = Pebble::start().await;
    pebble
        .add_layer(
            "base",
            "services:\n  a:\n    override: replace\n    command: sleep 100\n",
        )
        .await;
    let before = pebble.get("/v1/plan?format=yaml").await.result();

    let mut body = add("x", true, "");
    body["action"] = json!("bogus");
    pebble
        .post("/v1/layers", body)
        .await
        .assert_error(400, "invalid action \"bogus\"");
    pebble
        .post("/v1/layers", add("", true, ""))
        .await
        .assert_error(400, "label must be set");
    let mut body = add("x", true, "");
    body["format"] = json!("json");
    pebble
        .post("/v1/layers", body)
        .await
        .assert_error(400, "invalid format \"json\"");

    for broken in [
        "services: [",
        "services:\n  a:\n    override: replace\n    command: x\n    bogus-field: 1\n",
        "bogus-section: {}\n",
    ] {
        let reply = pebble.post("/v1/layers", add("x", true, broken)).await;
        assert_eq!(reply.status, 400, "{broken}");
        let message = reply.json()["result"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.starts_with("cannot parse layer YAML: "),
            "{message}"
        );
    }

    let reply = pebble
        .post(
            "/v1/layers",
            add("x", true, "services:\n  b:\n    command: x\n"),
        )
        .await;
    assert_eq!(reply.status, 400);
    let message = reply.json()["result"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("must define \"override\""), "{message}");

    pebble
        .post(
            "/v1/layers",
            add(
                "x",
                true,
                "services:\n  b:\n    override: merge\n    startup: enabled\n",
            ),
        )
        .await
        .assert_error(400, "plan must define \"command\" for service \"b\"");
    pebble
        .post(
            "/v1/layers",
            add(
                "x",
                true,
                "services:\n  p:\n    override: replace\n    command: x\n    after: [q]\n  q:\n    override: replace\n    command: x\n    after: [p]\n",
            ),
        )
        .await
        .assert_error(400, "services in before/after loop: p, q");
    let reply = pebble
        .post(
            "/v1/layers",
            add(
                "x",
                true,
                "services:\n  r:\n    override: replace\n    command: x\n    requires: [nope]\n",
            ),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.json());
    let reply = pebble
        .post(
            "/v1/layers",
            add("x", true, "checks:\n  c:\n    override: replace\n    tcp: {port: 1}\n    exec: {command: 'true'}\n"),
        )
        .await;
    reply.assert_error(
        400,
        "plan must specify one of \"http\", \"tcp\", or \"exec\" for check \"c\"",
    );
    assert_eq!(pebble.get("/v1/plan?format=yaml").await.result(), before);
    assert_eq!(
        pebble.post("/v1/layers", add("x", false, "")).await.status,
        200,
        "the label of a refused layer is still free"
    );
}
