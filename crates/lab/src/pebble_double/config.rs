//! The daemon's command line and environment, parsed once into a [`Config`].
//!
//! `pebble run [--create-dirs] [--hold] [--http <addr>]` and `pebble version`, as the real
//! binary accepts them. Environment variables read (by `main`, passed in as a map):
//!
//! - `PEBBLE`: the state directory (default `/var/lib/pebble/default`); the socket is
//!   `$PEBBLE/.pebble.socket` and layers are loaded from `$PEBBLE/layers/*.yaml`.
//! - `PEBBLE_SOCKET`: overrides the socket path (as real Pebble does).
//! - `PEBBLE_LAB_OKAY_DELAY`: a Go duration replacing the 1 s "okay delay" a start waits to
//!   see a service stay up (lab only; tests use it to go faster where that delay is not under
//!   test).
//!
//! The whole environment is also kept: services, exec and exec checks inherit it, as they
//! inherit Pebble's.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The version the double reports (`GET /v1/system-info`, `pebble version`).
pub const VERSION: &str = "v1.32.1-lab";

/// Default state directory.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/pebble/default";

/// How long a start waits to see the service stay up.
pub const OKAY_DELAY: Duration = Duration::from_secs(1);

/// SIGTERM to SIGKILL wait when a service sets no `kill-delay`.
pub const DEFAULT_KILL_DELAY: Duration = Duration::from_secs(5);

/// How long a stop waits after SIGKILL before giving up.
pub const FAIL_DELAY: Duration = Duration::from_secs(5);

/// First restart delay when a service sets no `backoff-delay`.
pub const DEFAULT_BACKOFF_DELAY: Duration = Duration::from_millis(500);

/// Restart delay multiplier when a service sets no `backoff-factor`.
pub const DEFAULT_BACKOFF_FACTOR: f64 = 2.0;

/// Longest restart delay when a service sets no `backoff-limit`.
pub const DEFAULT_BACKOFF_LIMIT: Duration = Duration::from_secs(30);

/// Check period when a check sets none.
pub const DEFAULT_CHECK_PERIOD: Duration = Duration::from_secs(10);

/// Check timeout when a check sets none.
pub const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// Everything the daemon needs to know about how it was started.
#[derive(Debug, Clone)]
pub struct Config {
    /// `$PEBBLE`.
    pub state_dir: PathBuf,
    /// The API socket.
    pub socket: PathBuf,
    /// `--create-dirs`: create the state directory if missing.
    pub create_dirs: bool,
    /// `--hold`: do not start default services at boot.
    pub hold: bool,
    /// `--http <addr>`: also listen on TCP (open endpoints only).
    pub http: Option<String>,
    /// The okay delay (1 s unless `PEBBLE_LAB_OKAY_DELAY` says otherwise).
    pub okay_delay: Duration,
    /// The daemon's environment, inherited by what it runs.
    pub env: BTreeMap<String, String>,
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub enum Invocation {
    /// `pebble run ...`.
    Run(Config),
    /// `pebble version`.
    Version,
    /// `pebble help` or no command.
    Help,
}

/// Usage text.
pub const USAGE: &str =
    "usage: pebble run [--create-dirs] [--hold] [--http <address>]\n       pebble version\n";

/// Parses the arguments (without the program name) and the environment.
pub fn parse(args: &[String], env: BTreeMap<String, String>) -> Result<Invocation, String> {
    let Some(command) = args.first() else {
        return Ok(Invocation::Help);
    };
    match command.as_str() {
        "version" | "--version" => return Ok(Invocation::Version),
        "help" | "--help" | "-h" => return Ok(Invocation::Help),
        "run" => {}
        other => return Err(format!("unknown command {other:?}, see 'pebble help'")),
    }
    let mut create_dirs = false;
    let mut hold = false;
    let mut http = None;
    let mut rest = args[1..].iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--create-dirs" => create_dirs = true,
            "--hold" => hold = true,
            "-v" | "--verbose" => {}
            "--http" => {
                let value = rest.next().ok_or("expected argument for flag `--http'")?;
                http = Some(value.clone());
            }
            other if other.starts_with("--http=") => {
                http = Some(other["--http=".len()..].to_owned());
            }
            other => return Err(format!("unknown flag `{}'", other.trim_start_matches('-'))),
        }
    }
    let state_dir = PathBuf::from(
        env.get("PEBBLE")
            .filter(|v| !v.is_empty())
            .map_or(DEFAULT_STATE_DIR, String::as_str),
    );
    let socket = env
        .get("PEBBLE_SOCKET")
        .filter(|v| !v.is_empty())
        .map_or_else(|| state_dir.join(".pebble.socket"), PathBuf::from);
    let okay_delay = match env.get("PEBBLE_LAB_OKAY_DELAY").filter(|v| !v.is_empty()) {
        Some(text) => pebble::parse_go_duration(text)
            .map_err(|e| format!("cannot parse PEBBLE_LAB_OKAY_DELAY: {e}"))?,
        None => OKAY_DELAY,
    };
    Ok(Invocation::Run(Config {
        state_dir,
        socket,
        create_dirs,
        hold,
        http,
        okay_delay,
        env,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn run_flags_and_environment() {
        let env = BTreeMap::from([
            ("PEBBLE".to_owned(), "/tmp/p".to_owned()),
            ("PEBBLE_LAB_OKAY_DELAY".to_owned(), "100ms".to_owned()),
        ]);
        let Ok(Invocation::Run(config)) =
            parse(&args(&["run", "--create-dirs", "--http", ":4000"]), env)
        else {
            panic!("not run");
        };
        assert!(config.create_dirs && !config.hold);
        assert_eq!(config.socket, PathBuf::from("/tmp/p/.pebble.socket"));
        assert_eq!(config.http.as_deref(), Some(":4000"));
        assert_eq!(config.okay_delay, Duration::from_millis(100));
    }

    #[test]
    fn defaults_and_errors() {
        let Ok(Invocation::Run(config)) = parse(&args(&["run", "--hold"]), BTreeMap::new()) else {
            panic!("not run");
        };
        assert_eq!(config.state_dir, PathBuf::from(DEFAULT_STATE_DIR));
        assert_eq!(config.okay_delay, OKAY_DELAY);
        assert!(config.hold);
        assert!(matches!(
            parse(&args(&["version"]), BTreeMap::new()),
            Ok(Invocation::Version)
        ));
        assert!(parse(&args(&["run", "--bogus"]), BTreeMap::new()).is_err());
        assert!(parse(&args(&["frob"]), BTreeMap::new()).is_err());
    }
}
