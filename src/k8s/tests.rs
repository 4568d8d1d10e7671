//! Unit tests of the pure parts: request builders, Status mapping, quantities.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::json;

use super::client::status_error;
use super::request::segment;
use super::*;

fn statefulset_owner() -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".to_owned(),
        kind: "StatefulSet".to_owned(),
        name: "pg".to_owned(),
        uid: "0b3d4a4e-1111-2222-3333-444455556666".to_owned(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

#[test]
fn apply_primary_service_matches_the_reference() {
    let request =
        Request::apply_service("model", "pg", ServiceRole::Primary, &[statefulset_owner()]);
    assert_eq!(request.method, Method::PATCH);
    assert_eq!(request.path, "/api/v1/namespaces/model/services/pg-primary");
    assert_eq!(
        request.query,
        vec![
            ("fieldManager", "pg".to_owned()),
            ("force", "true".to_owned())
        ]
    );
    assert_eq!(request.content_type, Some("application/apply-patch+yaml"));
    let expected = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "pg-primary",
            "namespace": "model",
            "labels": {"app.kubernetes.io/name": "pg"},
            "ownerReferences": [{
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "name": "pg",
                "uid": "0b3d4a4e-1111-2222-3333-444455556666",
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": {
            "type": "ClusterIP",
            "selector": {
                "app.kubernetes.io/name": "pg",
                "cluster-name": "patroni-pg",
                "role": "primary",
            },
            "ports": [
                {"name": "api", "port": 8008, "targetPort": 8008, "protocol": "TCP"},
                {"name": "database", "port": 5432, "targetPort": 5432, "protocol": "TCP"},
            ],
        },
    });
    assert_eq!(request.body, Some(expected));
}

#[test]
fn apply_replica_service_selects_replicas() {
    let request = Request::apply_service("model", "pg", ServiceRole::Replica, &[]);
    assert_eq!(
        request.path,
        "/api/v1/namespaces/model/services/pg-replicas"
    );
    let body = request.body.expect("body");
    assert_eq!(body["metadata"]["name"], "pg-replicas");
    assert_eq!(body["spec"]["selector"]["role"], "replica");
    assert_eq!(body["metadata"]["ownerReferences"], json!([]));
}

#[test]
fn owner_reference_omits_unset_flags() {
    let owner = OwnerReference {
        controller: None,
        block_owner_deletion: None,
        ..statefulset_owner()
    };
    let value = serde_json::to_value(&owner).expect("serialise");
    assert_eq!(
        value,
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "pg",
               "uid": "0b3d4a4e-1111-2222-3333-444455556666"})
    );
}

#[test]
fn pod_labels_patch() {
    let request = Request::patch_pod_labels("model", "pg-1", "pg");
    assert_eq!(request.method, Method::PATCH);
    assert_eq!(request.path, "/api/v1/namespaces/model/pods/pg-1");
    assert!(request.query.is_empty());
    assert_eq!(request.content_type, Some("application/merge-patch+json"));
    assert_eq!(
        request.body,
        Some(
            json!({"metadata": {"labels": {"application": "patroni", "cluster-name": "patroni-pg"}}})
        )
    );
}

#[test]
fn partition_patch() {
    let request = Request::patch_partition("model", "pg", 2);
    assert_eq!(request.method, Method::PATCH);
    assert_eq!(
        request.path,
        "/apis/apps/v1/namespaces/model/statefulsets/pg"
    );
    assert_eq!(request.content_type, Some("application/merge-patch+json"));
    assert_eq!(
        request.body,
        Some(json!({"spec": {"updateStrategy": {"rollingUpdate": {"partition": 2}}}}))
    );
}

#[test]
fn get_delete_and_list_paths() {
    let get = Request::get("model", ObjectKind::Endpoints, "patroni-pg");
    assert_eq!(get.method, Method::GET);
    assert_eq!(get.path, "/api/v1/namespaces/model/endpoints/patroni-pg");
    assert_eq!((get.content_type, get.body), (None, None));

    let delete = Request::delete("model", ObjectKind::Service, "patroni-pg-config");
    assert_eq!(delete.method, Method::DELETE);
    assert_eq!(
        delete.path,
        "/api/v1/namespaces/model/services/patroni-pg-config"
    );
    assert_eq!(delete.body, None);

    let list = Request::list("model", ObjectKind::Endpoints, "application=patroni");
    assert_eq!(list.path, "/api/v1/namespaces/model/endpoints");
    assert_eq!(
        list.query,
        vec![("labelSelector", "application=patroni".to_owned())]
    );

    assert_eq!(
        Request::get_pod("model", "pg-0").path,
        "/api/v1/namespaces/model/pods/pg-0"
    );
    assert_eq!(
        Request::get_node("node-1.example").path,
        "/api/v1/nodes/node-1.example"
    );
    assert_eq!(
        Request::get_pod("model", "pg-0").describe(),
        "GET /api/v1/namespaces/model/pods/pg-0"
    );
}

#[test]
fn annotation_and_owner_patches() {
    let annotate = Request::patch_annotation(
        "model",
        ObjectKind::Endpoints,
        "patroni-pg",
        "leader",
        "pg-0",
    );
    assert_eq!(
        annotate.path,
        "/api/v1/namespaces/model/endpoints/patroni-pg"
    );
    assert_eq!(annotate.content_type, Some("application/merge-patch+json"));
    assert_eq!(
        annotate.body,
        Some(json!({"metadata": {"annotations": {"leader": "pg-0"}}}))
    );

    let owners = Request::patch_owner_references(
        "model",
        ObjectKind::Service,
        "patroni-pg",
        &[statefulset_owner()],
    );
    assert_eq!(owners.path, "/api/v1/namespaces/model/services/patroni-pg");
    let body = owners.body.expect("body");
    assert_eq!(
        body["metadata"]["ownerReferences"][0]["uid"],
        statefulset_owner().uid
    );
}

#[test]
fn names_cannot_change_the_path() {
    assert_eq!(segment("pg-0.x_y~z"), "pg-0.x_y~z");
    assert_eq!(segment("a/b?c#d e"), "a%2Fb%3Fc%23d%20e");
    let request = Request::get_pod("ns/../kube-system", "x");
    assert_eq!(
        request.path,
        "/api/v1/namespaces/ns%2F..%2Fkube-system/pods/x"
    );
}

#[test]
fn service_role_names() {
    assert_eq!(ServiceRole::Primary.service_name("pg"), "pg-primary");
    assert_eq!(ServiceRole::Replica.service_name("pg"), "pg-replicas");
    assert_eq!(
        ServiceRole::ALL,
        [ServiceRole::Primary, ServiceRole::Replica]
    );
}

#[test]
fn blocked_message_is_the_references() {
    assert_eq!(
        insufficient_permissions_message("postgresql-k8s"),
        "Insufficient permissions, try: `juju trust postgresql-k8s --scope=cluster`"
    );
}

#[test]
fn status_errors_map_by_code() {
    let status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure",
        "message":"pods \"pg-0\" is forbidden: User \"system:serviceaccount:m:pg\" cannot get resource \"pods\"",
        "reason":"Forbidden","code":403}"#;
    let error = status_error("GET /x".to_owned(), 403, status);
    assert!(error.is_forbidden());
    assert_eq!(
        error,
        Error::Forbidden {
            request: "GET /x".to_owned(),
            message: "pods \"pg-0\" is forbidden: User \"system:serviceaccount:m:pg\" cannot get resource \"pods\"".to_owned(),
        }
    );
    let error = status_error(
        "GET /x".to_owned(),
        404,
        br#"{"kind":"Status","message":"gone"}"#,
    );
    assert!(error.is_not_found());
    let error = status_error(
        "PATCH /x".to_owned(),
        422,
        br#"{"kind":"Status","reason":"Invalid"}"#,
    );
    assert_eq!(
        error,
        Error::Other {
            request: "PATCH /x".to_owned(),
            status: 422,
            message: "Invalid".to_owned()
        }
    );
    let error = status_error("GET /x".to_owned(), 502, b"  bad gateway\n");
    assert_eq!(error.to_string(), "GET /x: HTTP 502: bad gateway");
    let error = status_error("GET /x".to_owned(), 500, b"");
    assert_eq!(error.to_string(), "GET /x: HTTP 500: Internal Server Error");
    let long = "x".repeat(1000);
    match status_error("GET /x".to_owned(), 500, long.as_bytes()) {
        Error::Other { message, .. } => assert_eq!(message.len(), 300),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn cpu_quantities() {
    for (text, cores) in [
        ("4", 4),
        ("3920m", 3),
        ("500m", 0),
        ("1000m", 1),
        ("1.5", 1),
        ("2k", 2000),
        (" 8 ", 8),
        ("1e1", 10),
    ] {
        assert_eq!(parse_cpu_cores(text), Ok(cores), "{text}");
    }
    for bad in ["", "m", "-1", "1.2.3", "4x", "1..", "1e", "1e-3", "abc"] {
        assert!(parse_cpu_cores(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn memory_quantities() {
    for (text, bytes) in [
        ("1024", 1024),
        ("16264940Ki", 16_264_940 * 1024),
        ("512Mi", 512 << 20),
        ("2Gi", 2 << 30),
        ("1Ti", 1 << 40),
        ("1K", 1000),
        ("1k", 1000),
        ("100M", 100_000_000),
        ("3G", 3_000_000_000),
        ("2T", 2_000_000_000_000),
        ("1.5Gi", 3 << 29),
        (".5Ki", 512),
        ("1e9", 1_000_000_000),
        ("1E", 1_000_000_000_000_000_000),
        ("1Ei", 1 << 60),
        ("1500m", 1),
    ] {
        assert_eq!(parse_memory_bytes(text), Ok(bytes), "{text}");
    }
    for bad in [
        "",
        "Gi",
        "1GB",
        "1gi",
        "16Ei",
        "99999999999999999999999999999999",
        "1e99",
    ] {
        assert!(parse_memory_bytes(bad).is_err(), "{bad:?} accepted");
    }
    let error = parse_memory_bytes("1GB").expect_err("invalid");
    assert!(
        error
            .to_string()
            .starts_with("invalid resource quantity \"1GB\": unknown suffix")
    );
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn resources_are_the_lower_of_node_and_limits() {
    let node = map(&[("cpu", "3920m"), ("memory", "16264940Ki"), ("pods", "110")]);
    let node_only = available_resources(&node, &BTreeMap::new()).expect("node");
    assert_eq!(
        node_only,
        Resources {
            cpu_cores: 3,
            memory_bytes: 16_264_940 * 1024
        }
    );

    let lower = map(&[("cpu", "2"), ("memory", "4Gi")]);
    assert_eq!(
        available_resources(&node, &lower),
        Ok(Resources {
            cpu_cores: 2,
            memory_bytes: 4 << 30
        })
    );
    let higher = map(&[("cpu", "64"), ("memory", "1Ti")]);
    assert_eq!(available_resources(&node, &higher), Ok(node_only));
    let memory_only = map(&[("memory", "1Gi")]);
    assert_eq!(
        available_resources(&node, &memory_only),
        Ok(Resources {
            cpu_cores: 3,
            memory_bytes: 1 << 30
        })
    );

    let error =
        available_resources(&map(&[("cpu", "4")]), &BTreeMap::new()).expect_err("no memory");
    assert!(
        error
            .to_string()
            .contains("the node has no allocatable memory")
    );
    assert!(available_resources(&node, &map(&[("cpu", "lots")])).is_err());
}

#[test]
fn pod_limits_of_a_container() {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "pg-0", "ownerReferences": [{"apiVersion": "apps/v1",
            "kind": "StatefulSet", "name": "pg", "uid": "u", "controller": true}]},
        "spec": {"nodeName": "n1", "containers": [
            {"name": "charm", "resources": {}},
            {"name": "postgresql", "resources": {"limits": {"cpu": "2", "memory": "1Gi"}}}
        ]},
        "status": {"phase": "Running"}
    }))
    .expect("pod");
    assert_eq!(pod.spec.node_name, "n1");
    assert_eq!(
        pod.container_limits("postgresql"),
        map(&[("cpu", "2"), ("memory", "1Gi")])
    );
    assert!(pod.container_limits("charm").is_empty());
    assert!(pod.container_limits("missing").is_empty());
    assert_eq!(pod.metadata.owner_references[0].block_owner_deletion, None);
}

#[test]
fn test_urls_must_be_https_or_loopback() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    for ok in [
        "http://127.0.0.1:1",
        "http://localhost:1",
        "http://[::1]:1",
        "https://10.0.0.1:443",
    ] {
        assert!(
            KubeClient::with_base_url(ok, "ns", None, None).is_ok(),
            "{ok}"
        );
    }
    for bad in ["http://10.0.0.1:80", "ftp://127.0.0.1", "not a url"] {
        let error = KubeClient::with_base_url(bad, "ns", None, None).expect_err(bad);
        assert!(matches!(error, Error::Config(_)), "{bad}: {error:?}");
    }
    let error = KubeClient::with_base_url("https://h", "ns", None, Some(b"junk")).expect_err("ca");
    assert!(error.to_string().contains("no certificate"), "{error}");
}
