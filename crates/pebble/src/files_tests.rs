use bytes::Bytes;

use super::*;
use crate::transport::Body;

const BOUNDARY: &str = "0123456789abcdef0123456789abcdef";

fn json_body(request: &ApiRequest) -> String {
    match &request.body {
        Body::Json(bytes) => String::from_utf8(bytes.clone()).unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

#[test]
fn push_request_exact_bytes() {
    let options = PushOptions {
        permissions: Some(0o600),
        user: Some("postgres".into()),
        user_id: Some(999),
        group: Some("postgres".into()),
        group_id: Some(999),
        make_dirs: true,
    };
    let request = push_request("/etc/pg/pg.conf", b"a = 1\n", &options, BOUNDARY).unwrap();
    assert_eq!(request.method, reqwest::Method::POST);
    assert_eq!(request.url().unwrap().as_str(), "http://localhost/v1/files");
    let Body::Multipart { boundary, bytes } = &request.body else {
        panic!("not multipart: {:?}", request.body);
    };
    assert_eq!(boundary, BOUNDARY);
    let want = concat!(
        "--0123456789abcdef0123456789abcdef\r\n",
        "Content-Type: application/json\r\n",
        "Content-Disposition: form-data; name=\"request\"\r\n",
        "\r\n",
        r#"{"action":"write","files":[{"path":"/etc/pg/pg.conf","make-dirs":true,"permissions":"600","#,
        r#""user-id":999,"user":"postgres","group-id":999,"group":"postgres"}]}"#,
        "\r\n",
        "--0123456789abcdef0123456789abcdef\r\n",
        "Content-Type: application/octet-stream\r\n",
        "Content-Disposition: form-data; name=\"files\"; filename=\"/etc/pg/pg.conf\"\r\n",
        "\r\n",
        "a = 1\n",
        "\r\n",
        "--0123456789abcdef0123456789abcdef--\r\n",
    );
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), want);
}

#[test]
fn push_request_minimal_metadata() {
    let request = push_request("/x", b"", &PushOptions::default(), BOUNDARY).unwrap();
    let Body::Multipart { bytes, .. } = &request.body else {
        panic!("not multipart");
    };
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains(r#"{"action":"write","files":[{"path":"/x"}]}"#));
}

#[test]
fn permissions_are_three_octal_digits() {
    assert_eq!(format_permissions(0o644), "644");
    assert_eq!(format_permissions(0o7), "007");
    assert_eq!(format_permissions(0o1777), "1777");
}

fn pull_response(body: &str) -> RawResponse {
    RawResponse {
        status: 200,
        content_type: Some(format!("multipart/form-data; boundary={BOUNDARY}")),
        body: Bytes::copy_from_slice(body.as_bytes()),
    }
}

#[test]
fn pull_reads_the_file_part() {
    let body = concat!(
        "--0123456789abcdef0123456789abcdef\r\n",
        "Content-Disposition: form-data; name=\"files\"; filename=\"/etc/a\"\r\n",
        "Content-Type: application/octet-stream\r\n",
        "\r\n",
        "hello\r\nworld",
        "\r\n--0123456789abcdef0123456789abcdef\r\n",
        "Content-Disposition: form-data; name=\"response\"\r\n",
        "Content-Type: application/json\r\n",
        "\r\n",
        r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/etc/a"}]}"#,
        "\r\n--0123456789abcdef0123456789abcdef--\r\n",
    );
    assert_eq!(
        parse_pull_response("/etc/a", &pull_response(body)).unwrap(),
        b"hello\r\nworld"
    );
}

#[test]
fn pull_reports_the_per_path_error() {
    let body = concat!(
        "--0123456789abcdef0123456789abcdef\r\n",
        "Content-Disposition: form-data; name=\"response\"\r\n",
        "Content-Type: application/json\r\n",
        "\r\n",
        r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/nope","error":{"message":"stat /nope: no such file or directory","kind":"not-found"}}]}"#,
        "\r\n--0123456789abcdef0123456789abcdef--\r\n",
    );
    let err = parse_pull_response("/nope", &pull_response(body)).unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    match err {
        Error::Path {
            path,
            kind,
            message,
        } => {
            assert_eq!(path, "/nope");
            assert_eq!(kind.as_deref(), Some("not-found"));
            assert_eq!(message, "stat /nope: no such file or directory");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn pull_response_with_a_file_part_and_a_per_path_error() {
    let body = concat!(
        "preamble is ignored\r\n",
        "--0123456789abcdef0123456789abcdef\r\n",
        "Content-Disposition: form-data; name=\"files\"; filename=\"/a\"\r\n",
        "\r\n",
        "content of a",
        "\r\n--0123456789abcdef0123456789abcdef\r\n",
        "Content-Disposition: form-data; name=\"response\"\r\n",
        "Content-Type: application/json\r\n",
        "\r\n",
        r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/a"},"#,
        r#"{"path":"/b","error":{"message":"can only read a regular file: \"/b\"","kind":"generic-file-error"}}]}"#,
        "\r\n--0123456789abcdef0123456789abcdef--\r\n",
    );
    let response = pull_response(body);
    assert_eq!(
        parse_pull_response("/a", &response).unwrap(),
        b"content of a"
    );
    let err = parse_pull_response("/b", &response).unwrap_err();
    assert_eq!(err.kind(), Some("generic-file-error"));
    assert_eq!(err.to_string(), "/b: can only read a regular file: \"/b\"");
    assert!(!err.is_not_found());
}

#[test]
fn pull_json_error_is_an_api_error() {
    let response = RawResponse {
        status: 400,
        content_type: Some("application/json".into()),
        body: Bytes::from_static(
            br#"{"type":"error","status-code":400,"status":"Bad Request","result":{"message":"must accept multipart/form-data"}}"#,
        ),
    };
    let err = parse_pull_response("/x", &response).unwrap_err();
    assert_eq!(err.status_code(), Some(400));
}

#[test]
fn pull_without_file_part_is_a_protocol_error() {
    let body = concat!(
        "--0123456789abcdef0123456789abcdef\r\n",
        "Content-Disposition: form-data; name=\"response\"\r\n",
        "\r\n",
        r#"{"type":"sync","status-code":200,"status":"OK","result":[{"path":"/a"}]}"#,
        "\r\n--0123456789abcdef0123456789abcdef--\r\n",
    );
    assert!(matches!(
        parse_pull_response("/a", &pull_response(body)),
        Err(Error::Protocol(_))
    ));
}

#[test]
fn pull_request_accepts_multipart() {
    let request = pull_request("/etc/a b");
    assert_eq!(request.accept, "multipart/form-data");
    assert_eq!(
        request.url().unwrap().as_str(),
        "http://localhost/v1/files?action=read&path=%2Fetc%2Fa+b"
    );
}

#[test]
fn list_request_query() {
    assert_eq!(
        list_request("/etc", Some("*.conf"), false)
            .url()
            .unwrap()
            .as_str(),
        "http://localhost/v1/files?action=list&path=%2Fetc&pattern=*.conf"
    );
    assert_eq!(
        list_request("/etc", None, true).url().unwrap().as_str(),
        "http://localhost/v1/files?action=list&path=%2Fetc&itself=true"
    );
}

#[test]
fn make_dir_and_remove_bodies() {
    let options = MakeDirOptions {
        make_parents: true,
        permissions: Some(0o700),
        user: Some("postgres".into()),
        group: Some("postgres".into()),
        ..MakeDirOptions::default()
    };
    assert_eq!(
        json_body(&make_dir_request("/var/lib/pg", &options).unwrap()),
        r#"{"action":"make-dirs","dirs":[{"path":"/var/lib/pg","make-parents":true,"permissions":"700","user":"postgres","group":"postgres"}]}"#
    );
    assert_eq!(
        json_body(&remove_request("/tmp/x", true).unwrap()),
        r#"{"action":"remove","paths":[{"path":"/tmp/x","recursive":true}]}"#
    );
}

#[test]
fn per_path_errors_surface() {
    let results: Vec<PathResult> = serde_json::from_str(
        r#"[{"path": "/a"}, {"path": "/b", "error": {"message": "directory not empty", "kind": "generic-file-error"}}]"#,
    )
    .unwrap();
    let err = check_path_results(results).unwrap_err();
    assert_eq!(err.kind(), Some("generic-file-error"));
    assert_eq!(err.to_string(), "/b: directory not empty");
}

#[test]
fn file_info_decoding() {
    let entries: Vec<FileInfo> = serde_json::from_str(
        r#"[{"path": "/etc/pg/pg.conf", "name": "pg.conf", "type": "file", "size": 1234, "permissions": "644",
             "last-modified": "2025-01-07T10:00:00Z", "user-id": 0, "user": "root", "group-id": 0, "group": "root"},
            {"path": "/etc/pg/d", "name": "d", "type": "directory", "permissions": "755", "last-modified": "2025-01-07T10:00:00Z",
             "user-id": 5, "user": "", "group-id": 5, "group": ""},
            {"path": "/etc/pg/w", "name": "w", "type": "whiteout", "permissions": "000", "last-modified": ""}]"#,
    )
    .unwrap();
    assert_eq!(entries[0].permissions, 0o644);
    assert_eq!(entries[0].size, Some(1234));
    assert_eq!(entries[1].file_type, FileType::Directory);
    assert_eq!(entries[1].size, None);
    assert_eq!(entries[2].file_type, FileType::Unknown);
}
