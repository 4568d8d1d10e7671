//! The one place that runs hook-tool processes.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a finished hook tool returned.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// Exit code (-1 when the process was killed by a signal).
    pub code: i32,
    /// Raw stdout.
    pub stdout: Vec<u8>,
    /// Raw stderr.
    pub stderr: Vec<u8>,
}

/// Runs one hook tool. The seam between the typed wrappers and the operating system.
///
/// Production uses [`ProcessRunner`]; tests may supply their own implementation to script answers
/// without processes.
pub trait Runner: Send + Sync {
    /// Run `tool` with `args`, feeding `stdin` when given (otherwise stdin is empty).
    fn run(&self, tool: &str, args: &[String], stdin: Option<&[u8]>) -> io::Result<Output>;
}

/// Runs hook tools as processes, inheriting this process's environment unchanged (the tools find
/// the unit agent through `JUJU_CONTEXT_ID` and `JUJU_AGENT_SOCKET_*`).
#[derive(Debug, Default)]
pub struct ProcessRunner {
    bin_dir: Option<PathBuf>,
    calls: AtomicUsize,
}

impl ProcessRunner {
    /// Find tools on `PATH`, as under Juju.
    pub fn new() -> ProcessRunner {
        ProcessRunner::default()
    }

    /// Run tools from this directory instead of `PATH` (tests and the lab).
    pub fn with_bin_dir(dir: impl Into<PathBuf>) -> ProcessRunner {
        ProcessRunner {
            bin_dir: Some(dir.into()),
            calls: AtomicUsize::new(0),
        }
    }

    /// How many tools this runner has started.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }
}

impl Runner for ProcessRunner {
    fn run(&self, tool: &str, args: &[String], stdin: Option<&[u8]>) -> io::Result<Output> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let program = match &self.bin_dir {
            Some(dir) => dir.join(tool),
            None => PathBuf::from(tool),
        };
        #[allow(clippy::disallowed_methods)] // the hook-tool choke point
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn()?;
        if let Some(data) = stdin {
            let mut pipe = child.stdin.take().expect("stdin was piped");
            // Hook tools read all of stdin before answering, so writing first cannot deadlock
            // on the output pipes for the small documents we send.
            pipe.write_all(data)?;
        }
        let out = child.wait_with_output()?;
        Ok(Output {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }
}
