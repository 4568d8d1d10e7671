//! Files in the workload container (`/v1/files`): push, pull, list, make-dirs, remove.
//!
//! Pebble reports most file errors per path inside a 200 answer; they surface here as
//! [`Error::Path`] with Pebble's `kind` (see [`Error::is_not_found`]).

use serde::{Deserialize, Deserializer, Serialize};

use crate::envelope::{
    Envelope, RawResponse, content_type_is, decode_result, parse_envelope, parse_json_envelope,
};
use crate::multipart::{boundary_for, boundary_from_content_type, decode, encode_push};
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// Ownership and mode for a pushed file. Unset fields take Pebble's defaults: mode 0644, owned
/// by Pebble's user (root); a user without a group means the user's primary group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// Permission bits, e.g. `0o600` (sent as three octal digits).
    pub permissions: Option<u32>,
    /// Owner by name.
    pub user: Option<String>,
    /// Owner by uid.
    pub user_id: Option<u32>,
    /// Group by name (needs a user).
    pub group: Option<String>,
    /// Group by gid (needs a user).
    pub group_id: Option<u32>,
    /// Create missing parent directories (mode 0755, same owner).
    pub make_dirs: bool,
}

/// Ownership and mode for a new directory. Unset fields take Pebble's defaults (mode 0755).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MakeDirOptions {
    /// Create missing parents (with the same mode and owner) and accept an existing directory,
    /// which is then left unchanged.
    pub make_parents: bool,
    /// Permission bits, e.g. `0o700`.
    pub permissions: Option<u32>,
    /// Owner by name.
    pub user: Option<String>,
    /// Owner by uid.
    pub user_id: Option<u32>,
    /// Group by name (needs a user).
    pub group: Option<String>,
    /// Group by gid (needs a user).
    pub group_id: Option<u32>,
}

/// What kind of filesystem object a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileType {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (only reported for directory entries).
    Symlink,
    /// A unix socket.
    Socket,
    /// A FIFO.
    NamedPipe,
    /// A device node.
    Device,
    /// Anything else.
    #[serde(other)]
    Unknown,
}

/// One entry of a file listing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileInfo {
    /// Full path.
    pub path: String,
    /// Base name.
    pub name: String,
    /// Kind of object.
    #[serde(rename = "type")]
    pub file_type: FileType,
    /// Size in bytes (regular files only).
    #[serde(default)]
    pub size: Option<u64>,
    /// Permission bits (Pebble sends them as an octal string such as `"644"`).
    #[serde(deserialize_with = "octal")]
    pub permissions: u32,
    /// Modification time (RFC 3339, seconds precision).
    #[serde(default)]
    pub last_modified: String,
    /// Owner uid.
    #[serde(default)]
    pub user_id: Option<u32>,
    /// Owner name (empty when the uid has no name).
    #[serde(default)]
    pub user: String,
    /// Group gid.
    #[serde(default)]
    pub group_id: Option<u32>,
    /// Group name (empty when the gid has no name).
    #[serde(default)]
    pub group: String,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Ownership<'a> {
    path: &'a str,
    #[serde(skip_serializing_if = "is_false")]
    make_dirs: bool,
    #[serde(skip_serializing_if = "is_false")]
    make_parents: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
}

/// Body of `POST /v1/files` (typed so the keys keep Pebble's order).
#[derive(Serialize)]
struct FilesBody<'a> {
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<[Ownership<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dirs: Option<[Ownership<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paths: Option<[RemovePath<'a>; 1]>,
}

#[derive(Serialize)]
struct RemovePath<'a> {
    path: &'a str,
    recursive: bool,
}

impl FilesBody<'_> {
    fn new(action: &'static str) -> Self {
        FilesBody {
            action,
            files: None,
            dirs: None,
            paths: None,
        }
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

#[derive(Deserialize)]
struct PathResult {
    path: String,
    #[serde(default)]
    error: Option<PathError>,
}

#[derive(Deserialize)]
struct PathError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    kind: Option<String>,
}

/// Formats permission bits as Pebble wants them (`%03o`).
fn format_permissions(mode: u32) -> String {
    format!("{mode:03o}")
}

/// `POST /v1/files` writing `content` to `path`, with a given multipart boundary.
pub(crate) fn push_request(
    path: &str,
    content: &[u8],
    options: &PushOptions,
    boundary: &str,
) -> Result<ApiRequest, Error> {
    let file = Ownership {
        path,
        make_dirs: options.make_dirs,
        make_parents: false,
        permissions: options.permissions.map(format_permissions),
        user_id: options.user_id,
        user: options.user.as_deref(),
        group_id: options.group_id,
        group: options.group.as_deref(),
    };
    let body = FilesBody {
        files: Some([file]),
        ..FilesBody::new("write")
    };
    let metadata = serde_json::to_vec(&body)
        .map_err(|e| Error::Protocol(format!("cannot encode request body: {e}")))?;
    Ok(ApiRequest::post_multipart(
        "/v1/files",
        boundary,
        encode_push(boundary, &metadata, path, content),
    ))
}

/// `GET /v1/files?action=read` for one path, accepting multipart.
pub(crate) fn pull_request(path: &str) -> ApiRequest {
    let mut request = ApiRequest::get("/v1/files")
        .query("action", "read")
        .query("path", path);
    request.accept = "multipart/form-data";
    request
}

/// `GET /v1/files?action=list`.
pub(crate) fn list_request(path: &str, pattern: Option<&str>, itself: bool) -> ApiRequest {
    let mut request = ApiRequest::get("/v1/files")
        .query("action", "list")
        .query("path", path);
    if let Some(pattern) = pattern {
        request = request.query("pattern", pattern);
    }
    if itself {
        request = request.query("itself", "true");
    }
    request
}

/// `POST /v1/files` with action `make-dirs`.
pub(crate) fn make_dir_request(path: &str, options: &MakeDirOptions) -> Result<ApiRequest, Error> {
    let dir = Ownership {
        path,
        make_dirs: false,
        make_parents: options.make_parents,
        permissions: options.permissions.map(format_permissions),
        user_id: options.user_id,
        user: options.user.as_deref(),
        group_id: options.group_id,
        group: options.group.as_deref(),
    };
    let body = FilesBody {
        dirs: Some([dir]),
        ..FilesBody::new("make-dirs")
    };
    ApiRequest::post_json("/v1/files", &body)
}

/// `POST /v1/files` with action `remove`.
pub(crate) fn remove_request(path: &str, recursive: bool) -> Result<ApiRequest, Error> {
    let body = FilesBody {
        paths: Some([RemovePath { path, recursive }]),
        ..FilesBody::new("remove")
    };
    ApiRequest::post_json("/v1/files", &body)
}

/// Turns the first per-path error of a file operation's result list into [`Error::Path`].
fn check_path_results(results: Vec<PathResult>) -> Result<(), Error> {
    match results
        .into_iter()
        .find_map(|r| r.error.map(|e| (r.path, e)))
    {
        Some((path, error)) => Err(Error::Path {
            path,
            kind: error.kind.filter(|k| !k.is_empty()),
            message: error.message,
        }),
        None => Ok(()),
    }
}

/// Extracts the content of `path` from a pull answer: a multipart body with a `files` part per
/// file read and a final `response` part holding the JSON envelope with per-path errors.
pub(crate) fn parse_pull_response(path: &str, response: &RawResponse) -> Result<Vec<u8>, Error> {
    let content_type = response.content_type.as_deref();
    if !content_type_is(content_type, "multipart/form-data") {
        // A request-level failure comes back as a plain JSON envelope.
        parse_envelope(response)?;
        return Err(Error::Protocol(format!(
            "expected a multipart answer, got {:?}",
            content_type.unwrap_or("")
        )));
    }
    let boundary = content_type
        .and_then(boundary_from_content_type)
        .ok_or_else(|| Error::Protocol("multipart answer without a boundary".to_owned()))?;
    let parts = decode(&response.body, &boundary)
        .map_err(|e| Error::Protocol(format!("cannot decode multipart answer: {e}")))?;
    let envelope = parts
        .iter()
        .find(|part| part.name == "response")
        .ok_or_else(|| Error::Protocol("multipart answer without a response part".to_owned()))?;
    let results: Vec<PathResult> = match parse_json_envelope(response.status, envelope.body)? {
        Envelope::Sync(result) => decode_result(result)?,
        Envelope::Async { .. } => {
            return Err(Error::Protocol(
                "unexpected async response to a file read".to_owned(),
            ));
        }
    };
    // Only the asked-for path matters (a read of several paths reports each separately).
    check_path_results(results.into_iter().filter(|r| r.path == path).collect())?;
    parts
        .iter()
        .find(|part| part.name == "files" && part.filename.as_deref() == Some(path))
        .map(|part| part.body.to_vec())
        .ok_or_else(|| Error::Protocol(format!("no file content for path {path:?}")))
}

impl Client {
    /// Writes `content` to `path` in the container (atomically replacing any existing file).
    pub async fn push(
        &self,
        path: &str,
        content: impl AsRef<[u8]>,
        options: &PushOptions,
    ) -> Result<(), Error> {
        let content = content.as_ref();
        let request = push_request(path, content, options, &boundary_for(content))?;
        check_path_results(self.sync(&request).await?)
    }

    /// Reads the file at `path`. A missing path is [`Error::Path`] with kind `not-found`.
    pub async fn pull(&self, path: &str) -> Result<Vec<u8>, Error> {
        let response = self.send(&pull_request(path)).await?;
        parse_pull_response(path, &response)
    }

    /// Lists `path`: a directory's entries (sorted by name, optionally filtered by a shell glob
    /// `pattern` on the base name), or the path itself when it is a file or `itself` is true.
    /// A missing path is [`Error::Api`] 404 with kind `not-found`.
    pub async fn list_files(
        &self,
        path: &str,
        pattern: Option<&str>,
        itself: bool,
    ) -> Result<Vec<FileInfo>, Error> {
        self.sync(&list_request(path, pattern, itself)).await
    }

    /// Whether anything exists at `path`.
    pub async fn exists(&self, path: &str) -> Result<bool, Error> {
        match self.list_files(path, None, true).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether `path` exists and is a directory (symlinks followed).
    pub async fn is_dir(&self, path: &str) -> Result<bool, Error> {
        match self.list_files(path, None, true).await {
            Ok(entries) => Ok(entries
                .first()
                .is_some_and(|entry| entry.file_type == FileType::Directory)),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Creates the directory `path`.
    pub async fn make_dir(&self, path: &str, options: &MakeDirOptions) -> Result<(), Error> {
        check_path_results(self.sync(&make_dir_request(path, options)?).await?)
    }

    /// Removes `path`; `recursive` removes a directory tree and succeeds if nothing is there.
    pub async fn remove_path(&self, path: &str, recursive: bool) -> Result<(), Error> {
        check_path_results(self.sync(&remove_request(path, recursive)?).await?)
    }
}

/// Decodes Pebble's octal permission strings (`"644"`).
fn octal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let text = String::deserialize(deserializer)?;
    u32::from_str_radix(&text, 8)
        .map_err(|_| serde::de::Error::custom(format!("invalid permissions {text:?}")))
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod tests;
