//! `/v1/files` of the fake: an in-memory tree with Pebble's per-path errors and multipart in and
//! out. The multipart parser here is deliberately independent of the crate's.

use hyper::HeaderMap;
use serde_json::{Value, json};

use super::{Reply, Shared, State, error, param, reply, sync};

/// Boundary of pull answers (Go uses 60 random hex characters).
const BOUNDARY: &str = "9c3b1f0e4d2a7b6c5e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b";

/// A pushed (or seeded) file: its bytes and the metadata entry it was written with.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub content: Vec<u8>,
    pub metadata: Value,
}

pub fn seed(state: &mut State) {
    for dir in ["/", "/etc", "/etc/pg"] {
        state.dirs.insert(dir.to_owned(), json!({"path": dir}));
    }
    for (path, content) in [
        ("/etc/pg/pg.conf", "a = 1\n"),
        ("/etc/pg/hba.conf", "local all all trust\n"),
    ] {
        state.files.insert(
            path.to_owned(),
            StoredFile {
                content: content.as_bytes().to_vec(),
                metadata: json!({"path": path, "permissions": "644"}),
            },
        );
    }
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => "",
    }
}

fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn path_error(path: &str, kind: &str, message: &str) -> Value {
    json!({"path": path, "error": {"kind": kind, "message": message}})
}

fn entry(path: &str, file: Option<&StoredFile>) -> Value {
    let mut info = json!({
        "path": path, "name": base(path), "type": if file.is_some() { "file" } else { "directory" },
        "permissions": if file.is_some() { "644" } else { "755" },
        "last-modified": "2025-01-07T10:00:00Z",
        "user-id": 0, "user": "root", "group-id": 0, "group": "root",
    });
    if let Some(file) = file {
        info["size"] = json!(file.content.len());
        if let Some(perms) = file.metadata.get("permissions") {
            info["permissions"] = perms.clone();
        }
    }
    info
}

pub fn get(state: &Shared, headers: &HeaderMap, query: &[(String, String)]) -> Reply {
    let s = state.lock().unwrap();
    match param(query, "action").as_deref() {
        Some("read") => {
            let accept = headers
                .get("accept")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !accept.contains("multipart/form-data") {
                return error(400, "must accept multipart/form-data", None);
            }
            let paths: Vec<&str> = query
                .iter()
                .filter(|(k, _)| k == "path")
                .map(|(_, v)| v.as_str())
                .collect();
            if paths.is_empty() {
                return error(400, "must specify one or more paths", None);
            }
            let mut body = Vec::new();
            let mut results = Vec::new();
            for path in paths {
                if let Some(file) = s.files.get(path) {
                    body.extend_from_slice(
                        format!(
                            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path}\"\r\n\
                             Content-Type: application/octet-stream\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    body.extend_from_slice(&file.content);
                    body.extend_from_slice(b"\r\n");
                    results.push(json!({"path": path}));
                } else if s.dirs.contains_key(path) {
                    results.push(path_error(
                        path,
                        "generic-file-error",
                        &format!("can only read a regular file: {path:?}"),
                    ));
                } else {
                    results.push(path_error(
                        path,
                        "not-found",
                        &format!("stat {path}: no such file or directory"),
                    ));
                }
            }
            let envelope =
                json!({"type": "sync", "status-code": 200, "status": "OK", "result": results});
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"response\"\r\n\
                     Content-Type: application/json\r\n\r\n{envelope}\r\n--{BOUNDARY}--\r\n"
                )
                .as_bytes(),
            );
            reply(
                200,
                &format!("multipart/form-data; boundary={BOUNDARY}"),
                body,
            )
        }
        Some("list") => {
            let path = param(query, "path").unwrap_or_default();
            if path.is_empty() {
                return error(400, "must specify path", None);
            }
            if !path.starts_with('/') {
                return error(
                    400,
                    &format!("path must be absolute, got {path:?}"),
                    Some("generic-file-error"),
                );
            }
            let itself = param(query, "itself").as_deref() == Some("true");
            let pattern = param(query, "pattern");
            if let Some(file) = s.files.get(&path) {
                return sync(json!([entry(&path, Some(file))]));
            }
            if !s.dirs.contains_key(&path) {
                return error(
                    404,
                    &format!("stat {path}: no such file or directory"),
                    Some("not-found"),
                );
            }
            if itself {
                return sync(json!([entry(&path, None)]));
            }
            let matches = |p: &str| match &pattern {
                Some(glob) => glob
                    .strip_prefix('*')
                    .is_some_and(|suffix| base(p).ends_with(suffix)),
                None => true,
            };
            let mut entries: Vec<(String, Value)> = Vec::new();
            for (p, file) in &s.files {
                if parent(p) == path && matches(p) {
                    entries.push((base(p).to_owned(), entry(p, Some(file))));
                }
            }
            for p in s.dirs.keys() {
                if p != "/" && parent(p) == path && matches(p) {
                    entries.push((base(p).to_owned(), entry(p, None)));
                }
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            sync(json!(
                entries.into_iter().map(|(_, v)| v).collect::<Vec<_>>()
            ))
        }
        other => error(
            400,
            &format!("invalid action {:?}", other.unwrap_or("")),
            None,
        ),
    }
}

pub fn post(state: &Shared, headers: &HeaderMap, body: &[u8]) -> Reply {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut s = state.lock().unwrap();
    if content_type.starts_with("multipart/form-data") {
        let Some(boundary) = content_type.split("boundary=").nth(1) else {
            return error(400, "invalid boundary \"\"", None);
        };
        if boundary.len() < 32 {
            return error(400, &format!("invalid boundary {boundary:?}"), None);
        }
        let parts = parse_multipart(boundary, body);
        let Some((_, request)) = parts.iter().find(|(h, _)| h.contains("name=\"request\"")) else {
            return error(400, "must include a request part", None);
        };
        let request: Value = serde_json::from_slice(request).unwrap();
        if request["action"] != "write" {
            return error(
                400,
                &format!("invalid action {:?}", request["action"]),
                None,
            );
        }
        let mut results = Vec::new();
        for meta in request["files"].as_array().unwrap() {
            let path = meta["path"].as_str().unwrap();
            let wanted = format!("name=\"files\"; filename=\"{path}\"");
            let Some((_, content)) = parts.iter().find(|(h, _)| h.contains(&wanted)) else {
                results.push(path_error(
                    path,
                    "generic-file-error",
                    &format!("no file content for path {path:?}"),
                ));
                continue;
            };
            if !s.dirs.contains_key(parent(path)) {
                if meta["make-dirs"] != true {
                    results.push(path_error(
                        path,
                        "not-found",
                        &format!(
                            "open {}/.{}.tmp: no such file or directory",
                            parent(path),
                            base(path)
                        ),
                    ));
                    continue;
                }
                let mut dir = parent(path);
                while !s.dirs.contains_key(dir) {
                    s.dirs.insert(
                        dir.to_owned(),
                        json!({"path": dir, "created-by": "make-dirs"}),
                    );
                    dir = parent(dir);
                }
            }
            s.files.insert(
                path.to_owned(),
                StoredFile {
                    content: content.clone(),
                    metadata: meta.clone(),
                },
            );
            results.push(json!({"path": path}));
        }
        return sync(json!(results));
    }
    if !content_type.starts_with("application/json") {
        return error(400, &format!("invalid media type {content_type:?}"), None);
    }
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return error(400, &format!("cannot decode request body: {e}"), None),
    };
    let mut results = Vec::new();
    match request["action"].as_str() {
        Some("make-dirs") => {
            for dir in request["dirs"].as_array().unwrap() {
                let path = dir["path"].as_str().unwrap();
                let parents = dir["make-parents"] == true;
                if s.dirs.contains_key(path) && !parents {
                    results.push(path_error(
                        path,
                        "generic-file-error",
                        &format!("mkdir {path}: file exists"),
                    ));
                } else if !s.dirs.contains_key(parent(path)) && !parents {
                    results.push(path_error(
                        path,
                        "not-found",
                        &format!("mkdir {path}: no such file or directory"),
                    ));
                } else {
                    let mut p = path;
                    while !s.dirs.contains_key(p) {
                        s.dirs.insert(p.to_owned(), dir.clone());
                        p = parent(p);
                    }
                    results.push(json!({"path": path}));
                }
            }
        }
        Some("remove") => {
            for item in request["paths"].as_array().unwrap() {
                let path = item["path"].as_str().unwrap();
                s.removed.push(item.clone());
                let existed = s.files.remove(path).is_some() || s.dirs.remove(path).is_some();
                if !existed && item["recursive"] != true {
                    results.push(path_error(
                        path,
                        "not-found",
                        &format!("remove {path}: no such file or directory"),
                    ));
                } else {
                    results.push(json!({"path": path}));
                }
            }
        }
        Some("write") => return error(400, "must use multipart with \"write\" action", None),
        other => {
            return error(
                400,
                &format!("invalid action {:?}", other.unwrap_or("")),
                None,
            );
        }
    }
    sync(json!(results))
}

/// (headers, content) of each part.
fn parse_multipart(boundary: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let delimiter = format!("\r\n--{boundary}").into_bytes();
    let first = format!("--{boundary}\r\n").into_bytes();
    assert!(
        body.starts_with(&first),
        "body must start with the boundary"
    );
    let mut parts = Vec::new();
    let mut pos = first.len();
    loop {
        let end = pos
            + body[pos..]
                .windows(delimiter.len())
                .position(|w| w == delimiter.as_slice())
                .expect("unterminated part");
        let part = &body[pos..end];
        let split = part
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("part without headers");
        let headers = String::from_utf8(part[..split].to_vec()).unwrap();
        parts.push((headers, part[split + 4..].to_vec()));
        let after = end + delimiter.len();
        if body[after..].starts_with(b"--") {
            return parts;
        }
        assert!(
            body[after..].starts_with(b"\r\n"),
            "delimiter must end its line"
        );
        pos = after + 2;
    }
}
