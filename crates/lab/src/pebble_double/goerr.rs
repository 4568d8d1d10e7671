//! Go's wording for system errors, so messages read like Pebble's (`stat /x: no such file or
//! directory` rather than Rust's `No such file or directory (os error 2)`).

use std::io;

/// Go's text for an errno (`syscall.Errno.Error()`), for the common ones.
pub fn errno_text(error: &io::Error) -> String {
    let Some(code) = error.raw_os_error() else {
        return error.to_string();
    };
    let text = match code {
        libc::EPERM => "operation not permitted",
        libc::ENOENT => "no such file or directory",
        libc::ESRCH => "no such process",
        libc::EINTR => "interrupted system call",
        libc::EIO => "input/output error",
        libc::E2BIG => "argument list too long",
        libc::ENOEXEC => "exec format error",
        libc::EBADF => "bad file descriptor",
        libc::EACCES => "permission denied",
        libc::EBUSY => "device or resource busy",
        libc::EEXIST => "file exists",
        libc::EXDEV => "invalid cross-device link",
        libc::ENOTDIR => "not a directory",
        libc::EISDIR => "is a directory",
        libc::EINVAL => "invalid argument",
        libc::ETXTBSY => "text file busy",
        libc::EFBIG => "file too large",
        libc::ENOSPC => "no space left on device",
        libc::EROFS => "read-only file system",
        libc::ENAMETOOLONG => "file name too long",
        libc::ENOTEMPTY => "directory not empty",
        libc::ELOOP => "too many levels of symbolic links",
        libc::ECONNREFUSED => "connection refused",
        libc::ETIMEDOUT => "connection timed out",
        libc::EHOSTUNREACH => "no route to host",
        libc::ENETUNREACH => "network is unreachable",
        libc::EADDRNOTAVAIL => "cannot assign requested address",
        _ => {
            let text = error.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text).to_owned();
            return lowercase_first(&text);
        }
    };
    text.to_owned()
}

/// Go's `*os.PathError` text: `<op> <path>: <errno text>`.
pub fn path_error(op: &str, path: &str, error: &io::Error) -> String {
    format!("{op} {path}: {}", errno_text(error))
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_wording() {
        let e = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(
            path_error("stat", "/x", &e),
            "stat /x: no such file or directory"
        );
        let other = io::Error::other("boom");
        assert_eq!(errno_text(&other), "boom");
    }
}
