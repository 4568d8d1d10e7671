//! Running one health check: HTTP (2xx), TCP (connect) or exec (exit 0), within its timeout.
//! Failures carry Go's wording and, for HTTP and exec, a few lines of details.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pebble::{Check, format_go_duration, split_command};
use tokio::io::AsyncReadExt;

use crate::pebble_double::process::{self, Launch};
use crate::pebble_double::state::Daemon;
use crate::pebble_double::{goerr, sys, users};

/// Bytes of output or body kept for details.
const MAX_DETAIL_BYTES: usize = 512;

/// Lines of details kept.
const MAX_DETAIL_LINES: usize = 5;

/// Why a check run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error (`non-2xx status code 500`, `exit status 1`, ...).
    pub message: String,
    /// Extra lines (response body, command output); may be empty.
    pub details: String,
}

impl Failure {
    fn plain(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            details: String::new(),
        }
    }
}

/// Runs `check` once; a run longer than `timeout` fails with `check timed out after <t>`.
pub async fn run(daemon: &Arc<Daemon>, check: &Check, timeout: Duration) -> Result<(), Failure> {
    let probe = async {
        if let Some(http) = &check.http {
            http_probe(&http.url, &http.headers).await
        } else if let Some(tcp) = &check.tcp {
            tcp_probe(&tcp.host, tcp.port).await
        } else if let Some(exec) = &check.exec {
            exec_probe(daemon, exec).await
        } else {
            Err(Failure::plain("invalid check"))
        }
    };
    match tokio::time::timeout(timeout, probe).await {
        Ok(result) => result,
        Err(_) => Err(Failure::plain(format!(
            "check timed out after {}",
            format_go_duration(timeout)
        ))),
    }
}

fn http_client() -> Option<&'static reqwest::Client> {
    static CLIENT: OnceLock<Option<reqwest::Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            rustls::crypto::CryptoProvider::get_default()?;
            reqwest::Client::builder().no_proxy().build().ok()
        })
        .as_ref()
}

fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    match current.downcast_ref::<std::io::Error>() {
        Some(io) => goerr::errno_text(io),
        None => current.to_string(),
    }
}

async fn http_probe(
    url: &str,
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<(), Failure> {
    let client =
        http_client().ok_or_else(|| Failure::plain("cannot build request: no HTTP client"))?;
    let mut request = client.get(url);
    for (key, value) in headers {
        request = request.header(key, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| Failure::plain(format!("Get {url:?}: {}", innermost(&e))))?;
    let status = response.status().as_u16();
    if (200..=299).contains(&status) {
        return Ok(());
    }
    let body = response.bytes().await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX_DETAIL_BYTES)]);
    let mut lines: Vec<String> = text.trim().lines().map(str::to_owned).collect();
    if lines.len() > MAX_DETAIL_LINES {
        lines.truncate(MAX_DETAIL_LINES);
        lines.push("(...)".to_owned());
    }
    Err(Failure {
        message: format!("non-2xx status code {status}"),
        details: lines.join("\n"),
    })
}

async fn tcp_probe(host: &str, port: u16) -> Result<(), Failure> {
    let host = if host.is_empty() { "localhost" } else { host };
    let address = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    tokio::net::TcpStream::connect((host, port))
        .await
        .map(drop)
        .map_err(|e| {
            Failure::plain(format!(
                "dial tcp {address}: connect: {}",
                goerr::errno_text(&e)
            ))
        })
}

async fn exec_probe(daemon: &Arc<Daemon>, exec: &pebble::ExecCheck) -> Result<(), Failure> {
    let argv = split_command(&exec.command)
        .map_err(|e| Failure::plain(format!("cannot parse command: {e}")))?;
    let identity = users::Identity {
        user_id: exec.user_id,
        user: exec.user.clone(),
        group_id: exec.group_id,
        group: exec.group.clone(),
    };
    let credentials = users::normalize(&identity).map_err(Failure::plain)?;
    let (reader, writer) = std::io::pipe().map_err(|e| Failure::plain(e.to_string()))?;
    let writer2 = writer
        .try_clone()
        .map_err(|e| Failure::plain(e.to_string()))?;
    let mut child = process::spawn(Launch {
        argv,
        env: process::environment(&daemon.config.env, &exec.environment),
        working_dir: Some(exec.working_dir.clone()).filter(|d| !d.is_empty()),
        credentials,
        search_path: daemon.search_path(),
        stdin: Stdio::null(),
        stdout: Stdio::from(writer),
        stderr: Stdio::from(writer2),
    })
    .map_err(Failure::plain)?;
    let pid = child.id().map(|p| p as i32);
    // Kill the command if the probe is abandoned (timeout, check stopped).
    let mut guard = KillOnDrop(pid);
    let reading = async {
        let mut tail: VecDeque<u8> = VecDeque::new();
        if let Ok(mut output) =
            tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader))
        {
            let mut buf = [0u8; 4096];
            while let Ok(n) = output.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                tail.extend(&buf[..n]);
                while tail.len() > MAX_DETAIL_BYTES {
                    tail.pop_front();
                }
            }
        }
        tail
    };
    let (status, tail) = tokio::join!(child.wait(), reading);
    guard.0 = None;
    let status = status.map_err(|e| Failure::plain(e.to_string()))?;
    match status.code() {
        Some(0) => Ok(()),
        code => {
            let text = String::from_utf8_lossy(&tail.into_iter().collect::<Vec<u8>>()).into_owned();
            let lines: Vec<&str> = text.trim_end().lines().collect();
            let details = lines[lines.len().saturating_sub(MAX_DETAIL_LINES)..].join("\n");
            let message = match code {
                Some(code) => format!("exit status {code}"),
                None => "signal: killed".to_owned(),
            };
            Err(Failure { message, details })
        }
    }
}

/// Kills a command's process group when dropped before it finished.
struct KillOnDrop(Option<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = sys::kill_group(pid, libc::SIGKILL);
        }
    }
}
