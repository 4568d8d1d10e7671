//! Files: push (permissions, ownership, make-dirs), pull, list, make-dirs and remove, with
//! their per-path errors.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use pebble::{FileType, MakeDirOptions, PushOptions};
use serde_json::{Value, json};

use crate::harness::{Pebble, is_root};

fn path(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

async fn files_post(pebble: &Pebble, body: Value) -> Value {
    let reply = pebble.post("/v1/files", body).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    reply.result()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_pull_and_list() {
    let pebble = Pebble::start().await;
    let client = pebble.client();
    let target = pebble.work().join("etc/app/app.conf");
    let options = PushOptions {
        permissions: Some(0o600),
        make_dirs: true,
        ..PushOptions::default()
    };
    client
        .push(&path(&target), b"port = 1\n", &options)
        .await
        .unwrap();
    let meta = std::fs::metadata(&target).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let parent = std::fs::metadata(target.parent().unwrap()).unwrap();
    assert_eq!(parent.permissions().mode() & 0o777, 0o755);
    assert_eq!(client.pull(&path(&target)).await.unwrap(), b"port = 1\n");

    client
        .push(&path(&target), b"port = 2\n", &PushOptions::default())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"port = 2\n");
    assert_eq!(
        std::fs::metadata(&target).unwrap().permissions().mode() & 0o777,
        0o644,
        "a push without permissions writes 0644"
    );
    let leftovers: Vec<_> = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .collect();
    assert_eq!(leftovers.len(), 1, "atomic write leaves no temporary file");

    let dir = pebble.work().join("etc/app");
    std::fs::write(dir.join("b.yaml"), "x").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let entries = client.list_files(&path(&dir), None, false).await.unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["app.conf", "b.yaml", "sub"]);
    assert_eq!(entries[0].path, path(&target));
    assert_eq!(entries[0].file_type, FileType::File);
    assert_eq!(entries[0].size, Some(9));
    assert_eq!(entries[0].permissions, 0o644);
    assert_eq!(entries[2].file_type, FileType::Directory);
    assert_eq!(entries[2].size, None);
    let raw = pebble
        .get(&format!("/v1/files?action=list&path={}", path(&dir)))
        .await
        .result();
    let first = &raw[0];
    assert_eq!(first["permissions"], "644");
    assert_eq!(first["user-id"], meta.uid());
    assert!(first["last-modified"].as_str().unwrap().ends_with('Z'));
    for key in ["user", "group", "group-id"] {
        assert!(first.get(key).is_some(), "{key}");
    }
    let conf = client
        .list_files(&path(&dir), Some("*.conf"), false)
        .await
        .unwrap();
    assert_eq!(conf.len(), 1);
    let itself = client.list_files(&path(&dir), None, true).await.unwrap();
    assert_eq!(itself.len(), 1);
    assert_eq!(itself[0].file_type, FileType::Directory);
    assert_eq!(itself[0].name, "app");
    assert!(client.is_dir(&path(&dir)).await.unwrap());
    assert!(client.exists(&path(&target)).await.unwrap());
    assert!(!client.exists(&path(&dir.join("missing"))).await.unwrap());

    let missing = path(&pebble.work().join("missing"));
    let reply = pebble
        .get(&format!("/v1/files?action=list&path={missing}"))
        .await;
    reply.assert_error(404, &format!("stat {missing}: no such file or directory"));
    assert_eq!(reply.json()["result"]["kind"], "not-found");
    pebble
        .get("/v1/files?action=list&path=relative")
        .await
        .assert_error(400, "path must be absolute, got \"relative\"");
    pebble
        .get("/v1/files?action=list")
        .await
        .assert_error(400, "must specify path");
    pebble
        .get(&format!(
            "/v1/files?action=list&path={}&itself=maybe",
            path(&dir)
        ))
        .await
        .assert_error(400, "itself parameter must be \"true\" or \"false\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_reports_errors_per_path() {
    let pebble = Pebble::start().await;
    let good = pebble.work().join("good");
    std::fs::write(&good, "content").unwrap();
    let missing = path(&pebble.work().join("missing"));
    let dir = path(&pebble.work());
    let query = format!(
        "/v1/files?action=read&path={}&path={missing}&path={dir}&path=relative",
        path(&good)
    );
    let reply = pebble
        .request("GET", &query, &[("Accept", "multipart/form-data")], None)
        .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .content_type
            .starts_with("multipart/form-data; boundary=")
    );
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    assert!(text.contains(&format!("name=\"files\"; filename=\"{}\"", path(&good))));
    assert!(text.contains("content"));
    let envelope_start = text.find("{\"").unwrap();
    let envelope_end = text.rfind('}').unwrap();
    let envelope: Value = serde_json::from_str(&text[envelope_start..=envelope_end]).unwrap();
    assert_eq!(envelope["type"], "sync");
    let results = envelope["result"].as_array().unwrap();
    assert_eq!(results[0], json!({"path": path(&good)}));
    assert_eq!(
        results[1]["error"],
        json!({"kind": "not-found", "message": format!("stat {missing}: no such file or directory")})
    );
    assert_eq!(
        results[2]["error"],
        json!({"kind": "generic-file-error", "message": format!("can only read a regular file: {dir:?}")})
    );
    assert_eq!(
        results[3]["error"],
        json!({"kind": "generic-file-error", "message": "paths must be absolute, got \"relative\""})
    );
    match pebble.client().pull(&missing).await {
        Err(pebble::Error::Path { kind, .. }) => assert_eq!(kind.as_deref(), Some("not-found")),
        other => panic!("expected a path error, got {other:?}"),
    }
    pebble
        .get(&format!("/v1/files?action=read&path={}", path(&good)))
        .await
        .assert_error(400, "must accept multipart/form-data");
    pebble
        .request(
            "GET",
            "/v1/files?action=read",
            &[("Accept", "multipart/form-data")],
            None,
        )
        .await
        .assert_error(400, "must specify one or more paths");
    pebble
        .get("/v1/files?action=frob")
        .await
        .assert_error(400, "invalid action \"frob\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_dirs_rules() {
    let pebble = Pebble::start().await;
    let nested = path(&pebble.work().join("a/b/c"));
    let result = files_post(
        &pebble,
        json!({"action": "make-dirs", "dirs": [{"path": nested}]}),
    )
    .await;
    assert_eq!(
        result[0]["error"],
        json!({"kind": "not-found", "message": format!("mkdir {nested}.mkdir-new: no such file or directory")})
    );
    let client = pebble.client();
    let options = MakeDirOptions {
        make_parents: true,
        permissions: Some(0o700),
        ..MakeDirOptions::default()
    };
    client.make_dir(&nested, &options).await.unwrap();
    for dir in ["a", "a/b", "a/b/c"] {
        let mode = std::fs::metadata(pebble.work().join(dir)).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700, "{dir} gets the leaf's mode");
    }
    client
        .make_dir(
            &nested,
            &MakeDirOptions {
                make_parents: true,
                ..MakeDirOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        std::fs::metadata(&nested).unwrap().mode() & 0o777,
        0o700,
        "an existing directory is left unchanged"
    );
    let result = files_post(
        &pebble,
        json!({"action": "make-dirs", "dirs": [{"path": nested}]}),
    )
    .await;
    assert_eq!(
        result[0]["error"],
        json!({"kind": "generic-file-error", "message": format!("mkdir {nested}: file exists")})
    );
    let file = pebble.work().join("file");
    std::fs::write(&file, "x").unwrap();
    let result = files_post(
        &pebble,
        json!({"action": "make-dirs", "dirs": [{"path": path(&file), "make-parents": true}]}),
    )
    .await;
    assert_eq!(
        result[0]["error"]["message"],
        format!("mkdir {}: not a directory", path(&file))
    );
    let plain = path(&pebble.work().join("plain"));
    let result = files_post(
        &pebble,
        json!({"action": "make-dirs", "dirs": [{"path": plain}, {"path": "rel"}, {"path": "/x", "permissions": "0755"}]}),
    )
    .await;
    assert_eq!(result[0], json!({"path": plain}));
    assert_eq!(std::fs::metadata(&plain).unwrap().mode() & 0o777, 0o755);
    assert_eq!(
        result[1]["error"]["message"],
        "paths must be absolute, got \"rel\""
    );
    assert_eq!(
        result[2]["error"]["message"],
        "permissions must be a 3-digit octal string, got \"0755\""
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_rules() {
    let pebble = Pebble::start().await;
    let dir = pebble.work().join("d");
    std::fs::create_dir_all(dir.join("e")).unwrap();
    std::fs::write(dir.join("e/f"), "x").unwrap();
    let missing = path(&pebble.work().join("missing"));
    let result = files_post(
        &pebble,
        json!({"action": "remove", "paths": [
            {"path": path(&dir)},
            {"path": missing},
            {"path": missing, "recursive": true},
            {"path": "rel"}
        ]}),
    )
    .await;
    assert_eq!(
        result[0]["error"],
        json!({"kind": "generic-file-error", "message": format!("remove {}: directory not empty", path(&dir))})
    );
    assert_eq!(
        result[1]["error"],
        json!({"kind": "not-found", "message": format!("remove {missing}: no such file or directory")})
    );
    assert_eq!(result[2], json!({"path": missing}));
    assert_eq!(result[3]["error"]["kind"], "generic-file-error");
    pebble
        .client()
        .remove_path(&path(&dir), true)
        .await
        .unwrap();
    assert!(!dir.exists());
    match pebble.client().remove_path(&missing, false).await {
        Err(e) => assert!(e.is_not_found(), "{e}"),
        Ok(()) => panic!("removing a missing path succeeded"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_ownership_permissions_and_bad_requests() {
    let pebble = Pebble::start().await;
    let client = pebble.client();
    let target = path(&pebble.work().join("f"));
    let bad = PushOptions {
        permissions: Some(0o7777),
        ..PushOptions::default()
    };
    match client.push(&target, b"x", &bad).await {
        Err(pebble::Error::Path { message, .. }) => {
            assert_eq!(
                message,
                "permissions must be a 3-digit octal string, got \"7777\""
            )
        }
        other => panic!("{other:?}"),
    }
    let group_only = PushOptions {
        group: Some("root".into()),
        ..PushOptions::default()
    };
    match client.push(&target, b"x", &group_only).await {
        Err(pebble::Error::Path { message, kind, .. }) => {
            assert_eq!(
                message,
                "cannot look up user and group: must specify user, not just group"
            );
            assert_eq!(kind.as_deref(), Some("generic-file-error"));
        }
        other => panic!("{other:?}"),
    }
    let nowhere = path(&pebble.work().join("no/such/dir/f"));
    match client.push(&nowhere, b"x", &PushOptions::default()).await {
        Err(e) => assert!(e.is_not_found(), "{e}"),
        Ok(()) => panic!("push without make-dirs into a missing directory succeeded"),
    }
    if is_root() {
        let owned = pebble.work().join("owned/f");
        let options = PushOptions {
            user: Some("nobody".into()),
            make_dirs: true,
            ..PushOptions::default()
        };
        client.push(&path(&owned), b"x", &options).await.unwrap();
        let meta = std::fs::metadata(&owned).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
        let dir = std::fs::metadata(owned.parent().unwrap()).unwrap();
        assert_eq!(dir.uid(), 65534, "make-dirs parents get the owner");
        let listed = client.list_files(&path(&owned), None, false).await.unwrap();
        assert_eq!(listed[0].user, "nobody");
        let mismatch = PushOptions {
            user: Some("nobody".into()),
            user_id: Some(1),
            ..PushOptions::default()
        };
        match client.push(&target, b"x", &mismatch).await {
            Err(pebble::Error::Path { message, .. }) => assert_eq!(
                message,
                "cannot look up user and group: user \"nobody\" UID (65534) does not match user-id (1)"
            ),
            other => panic!("{other:?}"),
        }
    } else {
        println!("skipped ownership checks: they need root");
    }

    let short = "multipart/form-data; boundary=short";
    pebble
        .request("POST", "/v1/files", &[], Some((short, b"x".to_vec())))
        .await
        .assert_error(400, "invalid boundary \"short\"");
    pebble
        .request(
            "POST",
            "/v1/files",
            &[],
            Some(("text/plain", b"x".to_vec())),
        )
        .await
        .assert_error(400, "invalid media type \"text/plain\"");
    pebble
        .post("/v1/files", json!({"action": "write"}))
        .await
        .assert_error(400, "must use multipart with \"write\" action");
    pebble
        .post("/v1/files", json!({"action": "frob"}))
        .await
        .assert_error(400, "invalid action \"frob\"");
    let boundary = "0123456789abcdef0123456789abcdef";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"request\"\r\n\r\n{{\"action\":\"write\",\"files\":[{{\"path\":\"{target}\"}},{{\"path\":\"/other\"}}]}}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{target}\"\r\n\r\nhello\r\n--{boundary}--\r\n"
    );
    let reply = pebble
        .request(
            "POST",
            "/v1/files",
            &[],
            Some((
                &format!("multipart/form-data; boundary={boundary}"),
                body.into_bytes(),
            )),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.result(),
        json!([{"path": target}, {"path": "/other", "error": {"kind": "generic-file-error", "message": "no file content for path \"/other\""}}])
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "hello");
}
