//! Filesystem operations with Pebble's semantics and Go's error texts: atomic writes, mkdir
//! through a `.mkdir-new` rename, `os.Remove`/`os.RemoveAll`, and listing entries.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use serde_json::{Value, json};

use super::{FileError, glob};
use crate::pebble_double::{clock, goerr, random, users};

fn io_error(op: &str, path: &str, error: &std::io::Error) -> FileError {
    FileError::from_io(goerr::path_error(op, path, error), error)
}

/// Reads a regular file.
pub fn read(path: &str) -> Result<Vec<u8>, FileError> {
    let meta = fs::metadata(path).map_err(|e| io_error("stat", path, &e))?;
    if !meta.is_file() {
        return Err(FileError::generic(format!(
            "can only read a regular file: {path:?}"
        )));
    }
    fs::read(path).map_err(|e| io_error("open", path, &e))
}

/// Writes `content` to `path` atomically (temporary file in the same directory, then rename),
/// with mode `perm` and, when given, owner `owner`.
pub fn atomic_write(
    path: &str,
    content: &[u8],
    perm: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), FileError> {
    let temp = format!("{path}.{}~", random::hex(12));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(perm)
            .open(&temp)
            .map_err(|e| io_error("open", &temp, &e))?;
        file.write_all(content)
            .map_err(|e| io_error("write", &temp, &e))?;
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::fchown(&file, Some(uid), Some(gid))
                .map_err(|e| io_error("chown", &temp, &e))?;
        }
        file.set_permissions(fs::Permissions::from_mode(perm))
            .map_err(|e| io_error("chmod", &temp, &e))?;
        file.sync_all().map_err(|e| io_error("sync", &temp, &e))?;
        fs::rename(&temp, path).map_err(|e| {
            FileError::from_io(
                format!("rename {temp} {path}: {}", goerr::errno_text(&e)),
                &e,
            )
        })
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// How to create a directory (Pebble's `osutil.Mkdir` options).
#[derive(Debug, Clone, Copy)]
pub struct MkdirOptions {
    /// Create missing parents (same mode and owner).
    pub make_parents: bool,
    /// An existing directory is fine.
    pub exist_ok: bool,
    /// Owner of created directories.
    pub owner: Option<(u32, u32)>,
}

/// Creates the directory `path` with mode `perm`.
pub fn mkdir(path: &str, perm: u32, options: MkdirOptions) -> Result<(), FileError> {
    let path = clean(path);
    if let Ok(meta) = fs::metadata(&path) {
        if !meta.is_dir() {
            let e = std::io::Error::from_raw_os_error(libc::ENOTDIR);
            return Err(io_error("mkdir", &path, &e));
        }
        if options.exist_ok {
            return Ok(());
        }
        let e = std::io::Error::from_raw_os_error(libc::EEXIST);
        return Err(io_error("mkdir", &path, &e));
    }
    mkdir_all(&path, perm, options)
}

fn mkdir_all(path: &str, perm: u32, options: MkdirOptions) -> Result<(), FileError> {
    if let Ok(meta) = fs::metadata(path) {
        if meta.is_dir() {
            return Ok(());
        }
        let e = std::io::Error::from_raw_os_error(libc::ENOTDIR);
        return Err(io_error("mkdir", path, &e));
    }
    if options.make_parents {
        let parent = Path::new(path)
            .parent()
            .map_or("/".to_owned(), |p| p.to_string_lossy().into_owned());
        if parent != "/" && !parent.is_empty() {
            mkdir_all(&parent, perm, options)?;
        }
    }
    mkdir_one(path, perm, options.owner)
}

fn mkdir_one(path: &str, perm: u32, owner: Option<(u32, u32)>) -> Result<(), FileError> {
    let candidate = format!("{path}.mkdir-new");
    if let Err(e) = fs::DirBuilder::new().mode(perm).create(&candidate)
        && e.kind() != std::io::ErrorKind::AlreadyExists
    {
        return Err(io_error("mkdir", &candidate, &e));
    }
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&candidate, Some(uid), Some(gid))
            .map_err(|e| io_error("chown", &candidate, &e))?;
    }
    fs::set_permissions(&candidate, fs::Permissions::from_mode(perm))
        .map_err(|e| io_error("chmod", &candidate, &e))?;
    fs::rename(&candidate, path).map_err(|e| {
        FileError::from_io(
            format!("rename {candidate} {path}: {}", goerr::errno_text(&e)),
            &e,
        )
    })
}

/// Go's `path.Clean` for absolute paths.
pub fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `os.Remove` (`recursive` false) or `os.RemoveAll` (true: a missing path is fine).
pub fn remove(path: &str, recursive: bool) -> Result<(), FileError> {
    if recursive {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error("lstat", path, &e)),
        };
        let result = if meta.is_dir() {
            fs::remove_dir_all(path)
        } else {
            fs::remove_file(path)
        };
        return match result {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("unlinkat", path, &e)),
        };
    }
    let unlink = match fs::remove_file(path) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let rmdir = match fs::remove_dir(path) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let error = if rmdir.raw_os_error() == Some(libc::ENOTDIR) {
        unlink
    } else {
        rmdir
    };
    Err(io_error("remove", path, &error))
}

fn file_type(meta: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_file() {
        "file"
    } else if kind.is_dir() {
        "directory"
    } else if kind.is_symlink() {
        "symlink"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_fifo() {
        "named-pipe"
    } else if kind.is_block_device() || kind.is_char_device() {
        "device"
    } else {
        "unknown"
    }
}

fn info_json(path: &str, name: &str, meta: &fs::Metadata) -> Value {
    let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
    let mut value = json!({
        "path": path,
        "name": name,
        "type": file_type(meta),
        "permissions": format!("{:03o}", meta.mode() & 0o777),
        "last-modified": clock::rfc3339(modified),
        "user-id": meta.uid(),
        "user": users::user_by_id(meta.uid()).map(|u| u.name).unwrap_or_default(),
        "group-id": meta.gid(),
        "group": users::group_by_id(meta.gid()).map(|g| g.name).unwrap_or_default(),
    });
    if meta.is_file() {
        value["size"] = json!(meta.len());
    }
    value
}

/// Lists a directory's entries (sorted, lstat info) or, for a file or with `itself`, the
/// path itself; entries filtered by the glob `pattern` on their names.
pub fn list(path: &str, pattern: &str, itself: bool) -> Result<Vec<Value>, FileError> {
    let meta = fs::metadata(path).map_err(|e| io_error("stat", path, &e))?;
    let matches = |name: &str| -> Result<bool, FileError> {
        if pattern.is_empty() {
            return Ok(true);
        }
        glob::matches(pattern, name).map_err(FileError::generic)
    };
    if !meta.is_dir() || itself {
        let cleaned = clean(path);
        let name = Path::new(&cleaned)
            .file_name()
            .map_or("/".to_owned(), |n| n.to_string_lossy().into_owned());
        return Ok(if matches(&name)? {
            vec![info_json(&cleaned, &name, &meta)]
        } else {
            Vec::new()
        });
    }
    let mut names: Vec<String> = fs::read_dir(path)
        .map_err(|e| io_error("open", path, &e))?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let dir = clean(path);
    let mut out = Vec::new();
    for name in names {
        if !matches(&name)? {
            continue;
        }
        let full = if dir == "/" {
            format!("/{name}")
        } else {
            format!("{dir}/{name}")
        };
        let meta = fs::symlink_metadata(&full).map_err(|e| io_error("lstat", &full, &e))?;
        out.push(info_json(&full, &name, &meta));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths() {
        assert_eq!(clean("/a//b/./c/../d/"), "/a/b/d");
        assert_eq!(clean("/"), "/");
    }

    #[test]
    fn remove_and_mkdir_errors() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_string_lossy().into_owned();
        let missing = format!("{root}/missing");
        let err = remove(&missing, false).unwrap_err();
        assert_eq!(
            err.message,
            format!("remove {missing}: no such file or directory")
        );
        assert!(remove(&missing, true).is_ok());
        let options = MkdirOptions {
            make_parents: false,
            exist_ok: false,
            owner: None,
        };
        let nested = format!("{root}/a/b");
        let err = mkdir(&nested, 0o755, options).unwrap_err();
        assert_eq!(
            err.message,
            format!("mkdir {nested}.mkdir-new: no such file or directory")
        );
        mkdir(
            &nested,
            0o700,
            MkdirOptions {
                make_parents: true,
                ..options
            },
        )
        .unwrap();
        let mode = fs::metadata(format!("{root}/a")).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let err = mkdir(&nested, 0o755, options).unwrap_err();
        assert_eq!(err.message, format!("mkdir {nested}: file exists"));
        let err = remove(&format!("{root}/a"), false).unwrap_err();
        assert_eq!(err.message, format!("remove {root}/a: directory not empty"));
    }
}
