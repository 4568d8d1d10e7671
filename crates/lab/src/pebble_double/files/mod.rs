//! The files API (`/v1/files`): pull, push, list, make-dirs and remove, with Pebble's per-path
//! results, error kinds and defaults (files 0644, directories 0755, owner = Pebble's user).

mod glob;
mod multipart;
mod ops;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::users::{self, Identity};
pub use multipart::parameters;
use ops::MkdirOptions;

/// A file error with Pebble's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// `not-found`, `permission-denied` or `generic-file-error`.
    pub kind: &'static str,
    /// Go's message.
    pub message: String,
}

impl FileError {
    /// A `generic-file-error`.
    pub fn generic(message: impl Into<String>) -> FileError {
        FileError {
            kind: "generic-file-error",
            message: message.into(),
        }
    }

    /// The kind Go's `errors.Is` would give the system error behind `message`.
    pub fn from_io(message: String, error: &std::io::Error) -> FileError {
        let kind = match error.raw_os_error() {
            Some(libc::ENOENT) => "not-found",
            Some(libc::EACCES) | Some(libc::EPERM) => "permission-denied",
            _ => "generic-file-error",
        };
        FileError { kind, message }
    }

    /// The HTTP status of this error when it fails a whole request (list).
    pub fn status(&self) -> u16 {
        match self.kind {
            "not-found" => 404,
            "permission-denied" => 403,
            _ => 400,
        }
    }

    fn wrap(self, prefix: &str) -> FileError {
        FileError {
            kind: self.kind,
            message: format!("{prefix}{}", self.message),
        }
    }
}

fn absolute(path: &str) -> Result<(), FileError> {
    if path.starts_with('/') {
        Ok(())
    } else {
        Err(FileError::generic(format!(
            "paths must be absolute, got {path:?}"
        )))
    }
}

/// One entry of a per-path result list.
fn result_entry(path: &str, result: Result<(), FileError>) -> Value {
    match result {
        Ok(()) => json!({"path": path}),
        Err(e) => json!({"path": path, "error": {"message": e.message, "kind": e.kind}}),
    }
}

fn parse_permissions(text: &str, default: u32) -> Result<u32, FileError> {
    if text.is_empty() {
        return Ok(default);
    }
    match u32::from_str_radix(text, 8) {
        Ok(mode) if text.len() == 3 => Ok(mode),
        _ => Err(FileError::generic(format!(
            "permissions must be a 3-digit octal string, got {text:?}"
        ))),
    }
}

fn owner(identity: &Identity) -> Result<Option<(u32, u32)>, FileError> {
    users::normalize(identity)
        .map_err(|e| FileError::generic(format!("cannot look up user and group: {e}")))
}

/// Ownership and mode fields shared by writes and make-dirs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct PathItem {
    /// Absolute path.
    pub path: String,
    /// Create missing parent directories (write).
    pub make_dirs: bool,
    /// Create missing parents and accept an existing directory (make-dirs).
    pub make_parents: bool,
    /// Three octal digits.
    pub permissions: String,
    /// Owner uid.
    pub user_id: Option<u32>,
    /// Owner name.
    pub user: String,
    /// Group gid.
    pub group_id: Option<u32>,
    /// Group name.
    pub group: String,
    /// Remove directories recursively (remove).
    pub recursive: bool,
}

impl PathItem {
    fn identity(&self) -> Identity {
        Identity {
            user_id: self.user_id,
            user: self.user.clone(),
            group_id: self.group_id,
            group: self.group.clone(),
        }
    }
}

/// Pull: the contents read and the per-path results.
pub fn read(paths: &[String]) -> (Vec<(String, Vec<u8>)>, Vec<Value>) {
    let mut files = Vec::new();
    let mut results = Vec::new();
    for path in paths {
        let outcome = absolute(path).and_then(|()| ops::read(path));
        match outcome {
            Ok(content) => {
                files.push((path.clone(), content));
                results.push(result_entry(path, Ok(())));
            }
            Err(e) => results.push(result_entry(path, Err(e))),
        }
    }
    (files, results)
}

/// The multipart body of a pull answer: content type and bytes.
pub fn read_answer(paths: &[String]) -> (String, Vec<u8>) {
    let (files, results) = read(paths);
    let envelope = json!({"type": "sync", "status-code": 200, "status": "OK", "result": results});
    let mut json = serde_json::to_vec(&envelope).unwrap_or_default();
    json.push(b'\n');
    multipart::encode_read(&files, &json)
}

/// List (`action=list`).
pub fn list(path: &str, pattern: &str, itself: bool) -> Result<Vec<Value>, FileError> {
    ops::list(path, pattern, itself)
}

fn write_one(item: &PathItem, content: &[u8]) -> Result<(), FileError> {
    absolute(&item.path)?;
    let owner = owner(&item.identity())?;
    if item.make_dirs {
        let parent = std::path::Path::new(&item.path)
            .parent()
            .map_or("/".to_owned(), |p| p.to_string_lossy().into_owned());
        let options = MkdirOptions {
            make_parents: true,
            exist_ok: true,
            owner,
        };
        ops::mkdir(&parent, 0o755, options).map_err(|e| e.wrap("cannot create directory: "))?;
    }
    let perm = parse_permissions(&item.permissions, 0o644)?;
    ops::atomic_write(&item.path, content, perm, owner)
}

#[derive(Deserialize)]
struct WriteRequest {
    #[serde(default)]
    action: String,
    #[serde(default)]
    files: Vec<PathItem>,
}

/// Push: a multipart body (`request` part, then `files` parts). `Err` is a 400 message.
pub fn write(body: &[u8], boundary: &str) -> Result<Vec<Value>, String> {
    let parts = multipart::parse(body, boundary)
        .map_err(|e| format!("cannot read request metadata: {e}"))?;
    let Some((first, rest)) = parts.split_first() else {
        return Err("cannot read request metadata: EOF".to_owned());
    };
    if first.name != "request" {
        return Err(format!(
            "metadata field name must be \"request\", got {:?}",
            first.name
        ));
    }
    let request: WriteRequest = serde_json::from_slice(first.body)
        .map_err(|e| format!("cannot decode request metadata: {e}"))?;
    if request.action != "write" {
        return Err(format!(
            "multipart action must be \"write\", got {:?}",
            request.action
        ));
    }
    if request.files.is_empty() {
        return Err("must specify one or more files".to_owned());
    }
    let items: BTreeMap<&str, &PathItem> =
        request.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut outcomes: BTreeMap<String, Result<(), FileError>> = BTreeMap::new();
    for part in rest {
        if part.name != "files" {
            return Err(format!("field name must be \"files\", got {:?}", part.name));
        }
        let path = part.filename.clone().unwrap_or_default();
        let item = items
            .get(path.as_str())
            .ok_or_else(|| format!("no metadata for path {path:?}"))?;
        outcomes.insert(path, write_one(item, part.body));
    }
    Ok(request
        .files
        .iter()
        .map(|file| {
            let outcome = outcomes.remove(&file.path).unwrap_or_else(|| {
                Err(FileError::generic(format!(
                    "no file content for path {:?}",
                    file.path
                )))
            });
            result_entry(&file.path, outcome)
        })
        .collect())
}

/// Make-dirs: per-path results.
pub fn make_dirs(dirs: &[PathItem]) -> Vec<Value> {
    dirs.iter()
        .map(|dir| {
            let outcome = (|| {
                absolute(&dir.path)?;
                let perm = parse_permissions(&dir.permissions, 0o755)?;
                let owner = owner(&dir.identity())?;
                let options = MkdirOptions {
                    make_parents: dir.make_parents,
                    exist_ok: dir.make_parents,
                    owner,
                };
                ops::mkdir(&dir.path, perm, options)
            })();
            result_entry(&dir.path, outcome)
        })
        .collect()
}

/// Remove: per-path results.
pub fn remove(paths: &[PathItem]) -> Vec<Value> {
    paths
        .iter()
        .map(|item| {
            let outcome =
                absolute(&item.path).and_then(|()| ops::remove(&item.path, item.recursive));
            result_entry(&item.path, outcome)
        })
        .collect()
}
