//! Custom notices: add, get, filters, long-poll, and validation.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::Pebble;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_notices_add_get_filter_and_long_poll() {
    let pebble = Pebble::start().await;
    let client = pebble.client();
    let data = std::collections::BTreeMap::from([("k".to_owned(), "v".to_owned())]);
    let id = client.add_notice("example.com/ready", &data).await.unwrap();
    let again = client.add_notice("example.com/ready", &data).await.unwrap();
    assert_eq!(id, again, "the same key is the same notice");
    let notice = pebble.get(&format!("/v1/notices/{id}")).await.result();
    assert_eq!(notice["type"], "custom");
    assert_eq!(notice["key"], "example.com/ready");
    assert_eq!(notice["occurrences"], 2);
    assert_eq!(notice["last-data"], json!({"k": "v"}));
    assert!(notice["user-id"].is_null());
    for key in ["first-occurred", "last-occurred", "last-repeated"] {
        assert!(notice[key].is_string(), "{key}");
    }
    pebble
        .get("/v1/notices/999999")
        .await
        .assert_error(404, "cannot find notice with ID \"999999\"");

    let listed = client
        .list_notices(&pebble::NoticeQuery {
            types: vec!["custom".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let after = notice["last-repeated"].as_str().unwrap().to_owned();
    let none = pebble
        .get(&format!("/v1/notices?types=custom&after={after}"))
        .await
        .result();
    assert_eq!(none, json!([]));
    let by_key = pebble
        .get("/v1/notices?keys=example.com/other")
        .await
        .result();
    assert_eq!(by_key, json!([]));

    let waiter = {
        let socket = pebble.socket.clone();
        let after = after.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .unix_socket(socket)
                .build()
                .unwrap();
            let started = Instant::now();
            let body: serde_json::Value = http
                .get(format!(
                    "http://localhost/v1/notices?types=custom&after={after}&timeout=10s"
                ))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (body, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    client
        .add_notice("example.com/other", &Default::default())
        .await
        .unwrap();
    let (body, took) = waiter.await.unwrap();
    assert_eq!(body["result"][0]["key"], "example.com/other");
    // Answered by the notice, not by the 10 s timeout. (No lower bound: on a loaded machine the
    // waiter's request may only start after the notice was added, which is answered at once.)
    assert!(took < Duration::from_secs(9), "{took:?}");
    let timed_out = pebble
        .get("/v1/notices?types=custom&keys=x.com/never&timeout=200ms")
        .await;
    assert_eq!(timed_out.status, 200);
    assert_eq!(timed_out.result(), json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_notice_validation() {
    let pebble = Pebble::start().await;
    let add = |body| pebble.post("/v1/notices", body);
    add(json!({"action": "frob", "type": "custom", "key": "a.com/b"}))
        .await
        .assert_error(400, "invalid action \"frob\"");
    add(json!({"action": "add", "type": "warning", "key": "a.com/b"}))
        .await
        .assert_error(
            400,
            "invalid type \"warning\" (can only add \"custom\" notices)",
        );
    add(json!({"action": "add", "type": "custom", "key": "nodomain"}))
        .await
        .assert_error(
            400,
            "invalid key \"nodomain\" (must be in \"domain.com/key\" format)",
        );
    let long_key = format!("example.com/{}", "a".repeat(250));
    add(json!({"action": "add", "type": "custom", "key": long_key}))
        .await
        .assert_error(400, "key must be 256 bytes or less");
    let big: serde_json::Map<String, serde_json::Value> = (0..200)
        .map(|i| (format!("key{i}"), json!("x".repeat(20))))
        .collect();
    add(json!({"action": "add", "type": "custom", "key": "a.com/b", "data": big}))
        .await
        .assert_error(400, "total size of data must be 4096 bytes or less");
    let ok =
        add(json!({"action": "add", "type": "custom", "key": "a.com/b", "repeat-after": "1h"}))
            .await;
    assert_eq!(ok.status, 200);
    let id = ok.result()["id"].as_str().unwrap().to_owned();
    let notice = pebble.get(&format!("/v1/notices/{id}")).await.result();
    assert_eq!(notice["repeat-after"], "1h0m0s");
}
