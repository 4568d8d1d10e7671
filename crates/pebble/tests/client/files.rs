//! Files: multipart push and pull, list, exists/is_dir, make-dirs, remove, per-path errors.

use pebble::{Error, FileType, MakeDirOptions, PushOptions};
use serde_json::json;

use crate::common::FakePebble;

#[tokio::test]
async fn push_sends_metadata_and_bytes() {
    let pebble = FakePebble::start();
    let content = b"listen_addresses = '*'\n\x00\xff binary too\r\n--not a boundary\r\n".to_vec();
    let options = PushOptions {
        permissions: Some(0o600),
        user: Some("postgres".into()),
        user_id: Some(584788),
        group: Some("postgres".into()),
        group_id: Some(584788),
        make_dirs: true,
    };
    pebble
        .client()
        .push("/var/lib/pg/data/postgresql.conf", &content, &options)
        .await
        .unwrap();
    let state = pebble.state();
    let stored = &state.files["/var/lib/pg/data/postgresql.conf"];
    assert_eq!(stored.content, content);
    assert_eq!(
        stored.metadata,
        json!({"path": "/var/lib/pg/data/postgresql.conf", "make-dirs": true, "permissions": "600",
               "user-id": 584788, "user": "postgres", "group-id": 584788, "group": "postgres"})
    );
    assert!(
        state.dirs.contains_key("/var/lib/pg/data"),
        "make-dirs created the parents"
    );
}

#[tokio::test]
async fn push_without_make_dirs_reports_the_per_path_error() {
    let pebble = FakePebble::start();
    let err = pebble
        .client()
        .push("/nodir/x.conf", "x", &PushOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "/nodir/x.conf: open /nodir/.x.conf.tmp: no such file or directory"
    );
    assert_eq!(pebble.state().requests_to("/v1/files")[0].method, "POST");
}

#[tokio::test]
async fn pull_reads_content_and_reports_missing_files() {
    let pebble = FakePebble::start();
    let client = pebble.client();
    assert_eq!(client.pull("/etc/pg/pg.conf").await.unwrap(), b"a = 1\n");

    let err = client.pull("/etc/pg/missing.conf").await.unwrap_err();
    match &err {
        Error::Path {
            path,
            kind,
            message,
        } => {
            assert_eq!(path, "/etc/pg/missing.conf");
            assert_eq!(kind.as_deref(), Some("not-found"));
            assert_eq!(
                message,
                "stat /etc/pg/missing.conf: no such file or directory"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_not_found());

    let err = client.pull("/etc").await.unwrap_err();
    assert_eq!(err.kind(), Some("generic-file-error"));
    assert!(!err.is_not_found());
}

#[tokio::test]
async fn push_then_pull_round_trips_binary_content() {
    let pebble = FakePebble::start();
    let client = pebble.client();
    let content: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    client
        .push("/etc/pg/blob", &content, &PushOptions::default())
        .await
        .unwrap();
    assert_eq!(client.pull("/etc/pg/blob").await.unwrap(), content);
}

#[tokio::test]
async fn list_files_exists_and_is_dir() {
    let pebble = FakePebble::start();
    let client = pebble.client();
    let entries = client.list_files("/etc/pg", None, false).await.unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["hba.conf", "pg.conf"]);
    assert_eq!(entries[1].file_type, FileType::File);
    assert_eq!(entries[1].permissions, 0o644);
    assert_eq!(entries[1].size, Some(6));

    let filtered = client
        .list_files("/etc", Some("*.conf"), false)
        .await
        .unwrap();
    assert!(filtered.is_empty());
    let itself = client.list_files("/etc/pg", None, true).await.unwrap();
    assert_eq!(itself.len(), 1);
    assert_eq!(itself[0].file_type, FileType::Directory);

    assert!(client.exists("/etc/pg/pg.conf").await.unwrap());
    assert!(!client.exists("/nope").await.unwrap());
    assert!(client.is_dir("/etc/pg").await.unwrap());
    assert!(!client.is_dir("/etc/pg/pg.conf").await.unwrap());
    assert!(!client.is_dir("/nope").await.unwrap());

    let err = client.list_files("/nope", None, false).await.unwrap_err();
    assert_eq!(err.status_code(), Some(404));
    assert_eq!(err.kind(), Some("not-found"));

    let queries: Vec<String> = pebble
        .state()
        .requests_to("/v1/files")
        .into_iter()
        .map(|r| r.query)
        .collect();
    assert_eq!(queries[0], "action=list&path=%2Fetc%2Fpg");
    assert_eq!(queries[1], "action=list&path=%2Fetc&pattern=*.conf");
    assert_eq!(queries[2], "action=list&path=%2Fetc%2Fpg&itself=true");
}

#[tokio::test]
async fn bad_request_carries_pebbles_kind() {
    let pebble = FakePebble::start();
    let err = pebble
        .client()
        .list_files("relative/path", None, false)
        .await
        .unwrap_err();
    match err {
        Error::Api {
            code,
            status,
            message,
            kind,
        } => {
            assert_eq!(code, 400);
            assert_eq!(status, "Bad Request");
            assert_eq!(message, "path must be absolute, got \"relative/path\"");
            assert_eq!(kind.as_deref(), Some("generic-file-error"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn make_dir_sends_options_and_reports_existing_dirs() {
    let pebble = FakePebble::start();
    let client = pebble.client();
    let options = MakeDirOptions {
        make_parents: true,
        permissions: Some(0o700),
        user: Some("postgres".into()),
        group: Some("postgres".into()),
        ..MakeDirOptions::default()
    };
    client
        .make_dir("/var/lib/pg/archive", &options)
        .await
        .unwrap();
    assert_eq!(
        pebble.state().dirs["/var/lib/pg/archive"],
        json!({"path": "/var/lib/pg/archive", "make-parents": true, "permissions": "700",
               "user": "postgres", "group": "postgres"})
    );
    let err = client
        .make_dir("/etc/pg", &MakeDirOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), Some("generic-file-error"));
    assert_eq!(err.to_string(), "/etc/pg: mkdir /etc/pg: file exists");
}

#[tokio::test]
async fn remove_path_recursive_and_missing() {
    let pebble = FakePebble::start();
    let client = pebble.client();
    client.remove_path("/etc/pg/pg.conf", false).await.unwrap();
    assert!(!pebble.state().files.contains_key("/etc/pg/pg.conf"));
    client.remove_path("/not/there", true).await.unwrap();
    let err = client.remove_path("/not/there", false).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        pebble.state().removed,
        [
            json!({"path": "/etc/pg/pg.conf", "recursive": false}),
            json!({"path": "/not/there", "recursive": true}),
            json!({"path": "/not/there", "recursive": false}),
        ]
    );
}
