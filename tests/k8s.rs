//! The Kubernetes client against a fake API server (see `k8s/fake.rs`): the exact request of
//! every call, and how 403/404/other statuses and transport failures are reported. The
//! in-cluster (HTTPS, service account) path is in `k8s/in_cluster.rs`.

#[path = "k8s/fake.rs"]
mod fake;
#[path = "k8s/in_cluster.rs"]
mod in_cluster;

use fake::{FakeApi, assert_common_headers, install_crypto, owner, pod, status};
use postgresql_k8s::k8s::{
    Error, KubeClient, ObjectKind, OwnerReference, Resources, ServiceRole,
    insufficient_permissions_message,
};
use serde_json::json;

#[tokio::test]
async fn apply_services_copies_pod_0_owners_and_applies_both() {
    let api = FakeApi::start(|r| match r.method.as_str() {
        "GET" => (200, pod("pg-0")),
        _ => (200, r.json()),
    })
    .await;
    api.client().apply_services("pg").await.unwrap();
    let requests = api.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/api/v1/namespaces/model/pods/pg-0")
    );
    for (request, (name, role)) in requests[1..]
        .iter()
        .zip([("pg-primary", "primary"), ("pg-replicas", "replica")])
    {
        assert_common_headers(request);
        assert_eq!(request.method, "PATCH");
        assert_eq!(
            request.path,
            format!("/api/v1/namespaces/model/services/{name}")
        );
        assert_eq!(request.query.as_deref(), Some("fieldManager=pg&force=true"));
        assert_eq!(
            request.header("content-type"),
            Some("application/apply-patch+yaml")
        );
        let expected = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "model",
                         "labels": {"app.kubernetes.io/name": "pg"}, "ownerReferences": [owner()]},
            "spec": {"type": "ClusterIP",
                     "selector": {"app.kubernetes.io/name": "pg", "cluster-name": "patroni-pg", "role": role},
                     "ports": [{"name": "api", "port": 8008, "targetPort": 8008, "protocol": "TCP"},
                               {"name": "database", "port": 5432, "targetPort": 5432, "protocol": "TCP"}]}});
        assert_eq!(request.json(), expected);
    }
}

#[tokio::test]
async fn apply_services_without_pod_0_is_not_found() {
    let api = FakeApi::start(|_| status(404, "NotFound", "pods \"pg-0\" not found")).await;
    let error = api.client().apply_services("pg").await.unwrap_err();
    assert_eq!(
        error,
        Error::NotFound {
            request: "GET /api/v1/namespaces/model/pods/pg-0".to_owned(),
            message: "pods \"pg-0\" not found".to_owned(),
        }
    );
    assert_eq!(api.requests().len(), 1);
}

#[tokio::test]
async fn forbidden_maps_to_the_trust_message() {
    let message = "services \"pg-primary\" is forbidden: User \"system:serviceaccount:model:pg\" \
                   cannot patch resource \"services\" in API group \"\" in the namespace \"model\"";
    let api = FakeApi::start(move |_| status(403, "Forbidden", message)).await;
    let client = api.client();
    let error = client
        .apply_service("pg", ServiceRole::Primary, &[])
        .await
        .unwrap_err();
    assert!(error.is_forbidden(), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("PATCH /api/v1/namespaces/model/services/pg-primary: forbidden: {message}")
    );
    assert_eq!(
        insufficient_permissions_message("pg"),
        "Insufficient permissions, try: `juju trust pg --scope=cluster`"
    );
    // Every call maps 403 the same way, including the cluster-scoped node read.
    assert!(client.get_node("node-1").await.unwrap_err().is_forbidden());
    assert!(
        client
            .set_partition("pg", 1)
            .await
            .unwrap_err()
            .is_forbidden()
    );
}

#[tokio::test]
async fn patch_pod_labels_request() {
    let api = FakeApi::start(|_| (200, pod("pg-1"))).await;
    api.client().patch_pod_labels("pg-1", "pg").await.unwrap();
    let [request] = api.requests().try_into().unwrap();
    assert_common_headers(&request);
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("PATCH", "/api/v1/namespaces/model/pods/pg-1")
    );
    assert_eq!(request.query, None);
    assert_eq!(
        request.header("content-type"),
        Some("application/merge-patch+json")
    );
    assert_eq!(
        request.json(),
        json!({"metadata": {"labels": {"application": "patroni", "cluster-name": "patroni-pg"}}})
    );
}

#[tokio::test]
async fn set_partition_request() {
    let api = FakeApi::start(|_| (200, json!({"kind": "StatefulSet"}))).await;
    api.client().set_partition("pg", 2).await.unwrap();
    let [request] = api.requests().try_into().unwrap();
    assert_common_headers(&request);
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("PATCH", "/apis/apps/v1/namespaces/model/statefulsets/pg")
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/merge-patch+json")
    );
    assert_eq!(
        request.json(),
        json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 2}}}})
    );
}

#[tokio::test]
async fn get_and_delete_endpoints_and_services() {
    let api = FakeApi::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("GET", "/api/v1/namespaces/model/endpoints/patroni-pg") => (200, json!({
            "kind": "Endpoints", "metadata": {"name": "patroni-pg", "annotations": {"leader": "pg-0"},
            "labels": {"application": "patroni", "cluster-name": "patroni-pg"}}})),
        ("DELETE", "/api/v1/namespaces/model/services/patroni-pg") => (200, json!({"kind": "Status", "status": "Success"})),
        _ => status(404, "NotFound", "not found"),
    })
    .await;
    let client = api.client();
    let endpoints = client
        .get(ObjectKind::Endpoints, "patroni-pg")
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(
        endpoints
            .metadata
            .annotations
            .get("leader")
            .map(String::as_str),
        Some("pg-0")
    );
    assert_eq!(endpoints.metadata.labels.len(), 2);
    assert_eq!(
        client
            .get(ObjectKind::Service, "patroni-pg-sync")
            .await
            .unwrap(),
        None
    );
    assert!(
        client
            .delete(ObjectKind::Service, "patroni-pg")
            .await
            .unwrap()
    );
    assert!(
        !client
            .delete(ObjectKind::Endpoints, "patroni-pg-config")
            .await
            .unwrap()
    );
    let seen: Vec<(String, String)> = api
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path))
        .collect();
    let expected = [
        ("GET", "/api/v1/namespaces/model/endpoints/patroni-pg"),
        ("GET", "/api/v1/namespaces/model/services/patroni-pg-sync"),
        ("DELETE", "/api/v1/namespaces/model/services/patroni-pg"),
        (
            "DELETE",
            "/api/v1/namespaces/model/endpoints/patroni-pg-config",
        ),
    ];
    assert_eq!(seen, expected.map(|(m, p)| (m.to_owned(), p.to_owned())));
    assert!(
        api.requests()
            .iter()
            .all(|r| r.body.is_empty() && r.header("content-type").is_none())
    );
}

#[tokio::test]
async fn list_annotate_and_reown() {
    let api = FakeApi::start(|r| match r.method.as_str() {
        "GET" => (
            200,
            json!({"kind": "EndpointsList", "items": [
            {"metadata": {"name": "patroni-pg"}}, {"metadata": {"name": "patroni-pg-config"}}]}),
        ),
        _ => (200, json!({})),
    })
    .await;
    let client = api.client();
    let items = client
        .list(
            ObjectKind::Endpoints,
            "application=patroni,cluster-name=patroni-pg",
        )
        .await
        .unwrap();
    let names: Vec<&str> = items.iter().map(|o| o.metadata.name.as_str()).collect();
    assert_eq!(names, ["patroni-pg", "patroni-pg-config"]);
    client
        .set_annotation(ObjectKind::Endpoints, "patroni-pg", "leader", "pg-1")
        .await
        .unwrap();
    let owners: Vec<OwnerReference> = serde_json::from_value(json!([owner()])).unwrap();
    client
        .set_owner_references(ObjectKind::Service, "patroni-pg", &owners)
        .await
        .unwrap();

    let requests = api.requests();
    assert_eq!(requests[0].path, "/api/v1/namespaces/model/endpoints");
    assert_eq!(
        requests[0].query.as_deref(),
        Some("labelSelector=application%3Dpatroni%2Ccluster-name%3Dpatroni-pg")
    );
    assert_eq!(
        (requests[1].method.as_str(), requests[1].path.as_str()),
        ("PATCH", "/api/v1/namespaces/model/endpoints/patroni-pg")
    );
    assert_eq!(
        requests[1].json(),
        json!({"metadata": {"annotations": {"leader": "pg-1"}}})
    );
    assert_eq!(
        requests[2].path,
        "/api/v1/namespaces/model/services/patroni-pg"
    );
    assert_eq!(
        requests[2].header("content-type"),
        Some("application/merge-patch+json")
    );
    assert_eq!(
        requests[2].json(),
        json!({"metadata": {"ownerReferences": [owner()]}})
    );
}

#[tokio::test]
async fn available_resources_reads_the_pod_then_its_node() {
    let api = FakeApi::start(|r| match r.path.as_str() {
        "/api/v1/namespaces/model/pods/pg-1" => (200, pod("pg-1")),
        "/api/v1/nodes/node-1" => (
            200,
            json!({"kind": "Node", "metadata": {"name": "node-1"},
            "status": {"allocatable": {"cpu": "3920m", "memory": "16264940Ki", "pods": "110"}}}),
        ),
        _ => status(404, "NotFound", "not found"),
    })
    .await;
    let resources = api
        .client()
        .available_resources("pg-1", "postgresql")
        .await
        .unwrap();
    assert_eq!(
        resources,
        Resources {
            cpu_cores: 3,
            memory_bytes: 2 << 30
        }
    );
    let paths: Vec<String> = api.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        ["/api/v1/namespaces/model/pods/pg-1", "/api/v1/nodes/node-1"]
    );
}

#[tokio::test]
async fn other_statuses_keep_the_kubernetes_message() {
    let api = FakeApi::start(|r| match r.method.as_str() {
        "PATCH" => status(
            409,
            "Conflict",
            "Apply failed with 1 conflict: conflict with \"kubectl\"",
        ),
        _ => (200, json!("not a pod")),
    })
    .await;
    let client = api.client();
    let error = client.patch_pod_labels("pg-0", "pg").await.unwrap_err();
    assert_eq!(
        error,
        Error::Other {
            request: "PATCH /api/v1/namespaces/model/pods/pg-0".to_owned(),
            status: 409,
            message: "Apply failed with 1 conflict: conflict with \"kubectl\"".to_owned(),
        }
    );
    assert!(matches!(
        client.get_pod("pg-0").await,
        Err(Error::Decode { .. })
    ));
}

#[tokio::test]
async fn no_token_means_no_authorization_header() {
    install_crypto();
    let api = FakeApi::start(|_| (200, pod("pg-0"))).await;
    let client = KubeClient::with_base_url(&api.url, "other", None, None).unwrap();
    assert_eq!(client.namespace(), "other");
    client.get_pod("pg-0").await.unwrap();
    let [request] = api.requests().try_into().unwrap();
    assert_eq!(request.path, "/api/v1/namespaces/other/pods/pg-0");
    assert_eq!(request.header("authorization"), None);
}

#[tokio::test]
async fn unreachable_server_is_a_transport_error() {
    install_crypto();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client =
        KubeClient::with_base_url(&format!("http://127.0.0.1:{port}"), "model", None, None)
            .unwrap();
    let error = client.get_pod("pg-0").await.unwrap_err();
    assert!(
        matches!(&error, Error::Transport { request, .. } if request == "GET /api/v1/namespaces/model/pods/pg-0"),
        "{error:?}"
    );
}
