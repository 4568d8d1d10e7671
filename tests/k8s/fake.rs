//! The fake Kubernetes API server: a hyper server on a localhost port (plain HTTP, reached
//! through `KubeClient::with_base_url`) that records every request and answers with canned
//! objects or `Status` errors.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use juju::Secret;
use postgresql_k8s::k8s::KubeClient;
use serde_json::{Value, json};

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// One request as the fake server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

type Answer = dyn Fn(&Recorded) -> (u16, Value) + Send + Sync;

/// The fake API server: records requests, answers with `answer`.
pub struct FakeApi {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeApi {
    pub async fn start(
        answer: impl Fn(&Recorded) -> (u16, Value) + Send + Sync + 'static,
    ) -> FakeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let log = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (answer, log) = (answer.clone(), log.clone());
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let (answer, log) = (answer.clone(), log.clone());
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let recorded = Recorded {
                            method: parts.method.to_string(),
                            path: parts.uri.path().to_owned(),
                            query: parts.uri.query().map(str::to_owned),
                            headers: parts
                                .headers
                                .iter()
                                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                                .collect(),
                            body: String::from_utf8_lossy(&body).into_owned(),
                        };
                        let (status, value) = answer(&recorded);
                        log.lock().unwrap().push(recorded);
                        let response = hyper::Response::builder()
                            .status(status)
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(value.to_string())))
                            .unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            }
        });
        FakeApi { url, requests }
    }

    pub fn client(&self) -> KubeClient {
        install_crypto();
        KubeClient::with_base_url(&self.url, "model", Some(Secret::new("t0ken")), None).unwrap()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// A Kubernetes `Status` error body.
pub fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": message, "reason": reason, "code": code});
    (code, body)
}

pub fn owner() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "pg", "uid": "5e1c-uid",
           "controller": true, "blockOwnerDeletion": true})
}

pub fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "model", "ownerReferences": [owner()],
                        "labels": {"app.kubernetes.io/name": "pg"}},
           "spec": {"nodeName": "node-1", "containers": [
               {"name": "charm", "resources": {}},
               {"name": "postgresql", "resources": {"limits": {"memory": "2Gi"}}}]},
           "status": {"phase": "Running"}})
}

/// Every request carries the bearer token and asks for JSON.
pub fn assert_common_headers(request: &Recorded) {
    assert_eq!(
        request.header("authorization"),
        Some("Bearer t0ken"),
        "{request:?}"
    );
    assert_eq!(
        request.header("accept"),
        Some("application/json"),
        "{request:?}"
    );
}
