//! The engine's one place that starts processes, plus small helpers around it.

use std::io;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::error::{LabError, Result};

/// A command for `program`, with stdin closed.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    #[allow(clippy::disallowed_methods)] // the engine's process choke point
    let mut c = Command::new(program);
    c.stdin(Stdio::null());
    c
}

/// Run a command to completion; a non-zero exit is an error carrying its stderr.
pub fn run(what: &str, command: &mut Command) -> Result<Output> {
    let out = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(LabError::io(what))?;
    if !out.status.success() {
        return Err(LabError::Io {
            context: what.to_string(),
            source: io::Error::other(format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
        });
    }
    Ok(out)
}

/// `ip <args>` (iproute2).
pub fn ip(args: &[&str]) -> Result<Output> {
    run(&format!("ip {}", args.join(" ")), command("ip").args(args))
}

/// `ip <args>` inside the network namespace of `pid`.
pub fn ip_in(pid: u32, args: &[&str]) -> Result<Output> {
    let pid = pid.to_string();
    let mut full = vec!["-t", &pid, "-n", "--", "ip"];
    full.extend_from_slice(args);
    run(
        &format!("ip {} (in pod {pid})", args.join(" ")),
        command("nsenter").args(&full),
    )
}

/// True when this process runs as root (namespaces and mounts need it).
pub fn is_root() -> bool {
    // /proc/self/status has "Uid: real effective saved fs"; no libc call needed.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Send a signal to a process (by number: 15 = SIGTERM, 9 = SIGKILL) with `kill(1)`.
pub fn signal(pid: u32, sig: i32) {
    let _ = command("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// True while `pid` exists (and is not a zombie we own).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Copy a file tree made of symlinks: `dst/<entry>` → `src/<entry>` for every top-level entry, so
/// the unit gets a writable directory of its own whose content is the charm's.
pub fn link_tree(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst).map_err(LabError::io(format!("creating {}", dst.display())))?;
    for entry in std::fs::read_dir(dst).map_err(LabError::io("reading the unit charm dir"))? {
        let path = entry
            .map_err(LabError::io("reading the unit charm dir"))?
            .path();
        if path.is_symlink() {
            let _ = std::fs::remove_file(&path);
        }
    }
    for entry in
        std::fs::read_dir(src).map_err(LabError::io(format!("reading {}", src.display())))?
    {
        let entry = entry.map_err(LabError::io("reading the charm dir"))?;
        let link = dst.join(entry.file_name());
        std::os::unix::fs::symlink(entry.path(), &link)
            .map_err(LabError::io(format!("linking {}", link.display())))?;
    }
    Ok(())
}

/// Wait for child `pid` and return its exit code (-1 when killed by a signal) and the peak
/// resident memory of it and the children it waited for, in KiB (`wait4(2)`).
#[allow(unsafe_code)] // wait4 has no std wrapper; the call below is its whole use
pub fn wait_rusage(pid: u32) -> std::io::Result<(i32, i64)> {
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct that wait4 fills; `pid` is a child of this process
    // that nothing else reaps (the caller owns it and never calls Child::wait).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    if got < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Ok((code, usage.ru_maxrss))
}
