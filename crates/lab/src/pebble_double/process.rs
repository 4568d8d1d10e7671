//! The one place the Pebble double starts processes (services, exec, exec checks): program
//! lookup in Pebble's `PATH`, a fresh process group, the given environment only, working
//! directory, and uid/gid switching (std clears supplementary groups when it sets the uid).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::{Child, Command};

use super::{goerr, sys};

/// `PATH` used when Pebble's own environment has none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How to start one process.
#[derive(Debug)]
pub struct Launch {
    /// The program (a bare name is looked up in `search_path`) and its arguments.
    pub argv: Vec<String>,
    /// The complete environment of the process.
    pub env: BTreeMap<String, String>,
    /// Working directory (default: Pebble's).
    pub working_dir: Option<String>,
    /// Run as this uid and gid (ignored when they are the daemon's own).
    pub credentials: Option<(u32, u32)>,
    /// Where bare program names are looked up: Pebble's own `PATH`.
    pub search_path: String,
    /// Standard input.
    pub stdin: Stdio,
    /// Standard output.
    pub stdout: Stdio,
    /// Standard error.
    pub stderr: Stdio,
}

/// Finds `program` as Go's `exec.LookPath` does: a name with a slash is taken as is (if it is
/// an executable file), a bare name is searched in `path` (empty entries mean the current
/// directory).
pub fn look_path(program: &str, path: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let candidate = PathBuf::from(program);
        return is_executable(&candidate).then_some(candidate);
    }
    path.split(':').find_map(|dir| {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(program);
        is_executable(&candidate).then_some(candidate)
    })
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_dir() && m.permissions().mode() & 0o111 != 0)
}

/// Starts the process in its own process group. Errors use Go's wording:
/// `exec: "x": executable file not found in $PATH`, `chdir /x: ...`, `fork/exec /x: ...`.
pub fn spawn(launch: Launch) -> Result<Child, String> {
    let Some(program) = launch.argv.first() else {
        return Err("exec: no command".to_owned());
    };
    let resolved = if program.contains('/') {
        PathBuf::from(program)
    } else {
        look_path(program, &launch.search_path)
            .ok_or_else(|| format!("exec: {program:?}: executable file not found in $PATH"))?
    };
    if let Some(dir) = launch.working_dir.as_deref().filter(|d| !d.is_empty()) {
        match std::fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                let error = std::io::Error::from_raw_os_error(libc::ENOTDIR);
                return Err(goerr::path_error("chdir", dir, &error));
            }
            Err(error) => return Err(goerr::path_error("chdir", dir, &error)),
        }
    }
    let mut command = Command::new(&resolved);
    command
        .args(&launch.argv[1..])
        .env_clear()
        .envs(&launch.env)
        .stdin(launch.stdin)
        .stdout(launch.stdout)
        .stderr(launch.stderr)
        .process_group(0);
    if let Some(dir) = launch.working_dir.as_deref().filter(|d| !d.is_empty()) {
        command.current_dir(dir);
    }
    if let Some((uid, gid)) = launch.credentials
        && (uid, gid) != (sys::uid(), sys::gid())
    {
        command.uid(uid).gid(gid);
    }
    command
        .spawn()
        .map_err(|error| goerr::path_error("fork/exec", &resolved.to_string_lossy(), &error))
}

/// An exit status as Pebble's reaper reports it: the exit code, or 128 + the signal number.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|signal| 128 + signal))
        .unwrap_or(-1)
}

/// Pebble's environment as a map, with `overrides` applied on top.
pub fn environment(
    base: &BTreeMap<String, String>,
    overrides: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut env = base.clone();
    env.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        assert_eq!(
            look_path("sh", DEFAULT_PATH).map(|p| p.is_absolute()),
            Some(true)
        );
        assert_eq!(look_path("no-such-program-xyz", DEFAULT_PATH), None);
        assert_eq!(look_path("/bin/sh", ""), Some(PathBuf::from("/bin/sh")));
        assert_eq!(look_path("/etc", ""), None);
    }

    #[tokio::test]
    async fn spawn_errors_read_like_go() {
        let launch = |argv: &[&str], dir: Option<&str>| Launch {
            argv: argv.iter().map(|s| (*s).to_owned()).collect(),
            env: BTreeMap::new(),
            working_dir: dir.map(str::to_owned),
            credentials: None,
            search_path: DEFAULT_PATH.to_owned(),
            stdin: Stdio::null(),
            stdout: Stdio::null(),
            stderr: Stdio::null(),
        };
        assert_eq!(
            spawn(launch(&["nope-xyz"], None)).unwrap_err(),
            "exec: \"nope-xyz\": executable file not found in $PATH"
        );
        assert_eq!(
            spawn(launch(&["/nope/x"], None)).unwrap_err(),
            "fork/exec /nope/x: no such file or directory"
        );
        assert_eq!(
            spawn(launch(&["true"], Some("/nope"))).unwrap_err(),
            "chdir /nope: no such file or directory"
        );
        let status = spawn(launch(&["true"], Some("/")))
            .unwrap()
            .wait()
            .await
            .unwrap();
        assert!(status.success());
    }
}
