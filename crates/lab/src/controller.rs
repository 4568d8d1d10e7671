//! The model's controller process (`lab controller`): it owns a [`Model`], answers the `lab`
//! CLI's requests on `$LAB_DIR/controller.sock`, runs queued hooks between requests, fires
//! `update-status` on a timer and watches the workloads' Pebbles.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::engine::Model;
use crate::error::{LabError, Result};

/// A CLI request: the arguments after `lab`, and where the CLI runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    /// Arguments (`["deploy", "./charm", "-n", "2"]`).
    pub args: Vec<String>,
    /// The CLI's working directory (relative paths resolve against it).
    pub cwd: PathBuf,
}

/// The answer to print.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Response {
    /// Exit code for the CLI.
    pub code: i32,
    /// Text for stdout.
    pub stdout: String,
    /// Text for stderr.
    pub stderr: String,
    /// A command the CLI should exec itself (for `lab ssh`, which needs the terminal).
    pub exec: Option<Vec<String>>,
}

impl Response {
    /// Success with this text on stdout.
    pub fn ok(stdout: impl Into<String>) -> Response {
        Response {
            stdout: stdout.into(),
            ..Response::default()
        }
    }

    /// A failure with `ERROR <message>`, as Juju's CLI prints it.
    pub fn error(message: impl std::fmt::Display) -> Response {
        Response {
            code: 1,
            stderr: format!("ERROR {message}\n"),
            ..Response::default()
        }
    }
}

/// The socket of the controller of the model in `dir`.
pub fn socket_path(dir: &Path) -> PathBuf {
    dir.join("controller.sock")
}

/// Send one request to the controller of the model in `dir`.
pub fn send(dir: &Path, request: &Request) -> std::io::Result<Response> {
    let stream = UnixStream::connect(socket_path(dir))?;
    let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
    line.push(b'\n');
    (&stream).write_all(&line)?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer)?;
    serde_json::from_str(&answer).map_err(std::io::Error::other)
}

/// How often `update-status` fires (Juju's default is 5 minutes).
pub fn update_status_interval(value: Option<&str>) -> Duration {
    value
        .and_then(|v| pebble::parse_go_duration(v).ok())
        .unwrap_or(Duration::from_secs(300))
}

/// Serve requests until `lab destroy`.
pub fn serve(mut model: Model, update_status_every: Duration) -> Result<()> {
    let path = socket_path(model.dir());
    let _ = std::fs::remove_file(&path);
    let listener =
        UnixListener::bind(&path).map_err(LabError::io("binding the controller socket"))?;
    listener
        .set_nonblocking(true)
        .map_err(LabError::io("controller socket"))?;
    let mut waiting: VecDeque<(UnixStream, Response)> = VecDeque::new();
    let mut next_update = Instant::now() + update_status_every;
    let mut next_poll = Instant::now();
    loop {
        while let Ok((stream, _)) = listener.accept() {
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_err() {
                continue;
            }
            let request: Request = match serde_json::from_str(&line) {
                Ok(r) => r,
                Err(e) => {
                    reply(&stream, &Response::error(format!("malformed request: {e}")));
                    continue;
                }
            };
            match crate::cli::execute(&mut model, &request) {
                crate::cli::Outcome::Now(response) => reply(&stream, &response),
                crate::cli::Outcome::WhenIdle(response) => waiting.push_back((stream, response)),
                crate::cli::Outcome::Destroy(response) => {
                    model.destroy();
                    let dir = model.dir().to_path_buf();
                    drop(model);
                    let _ = std::fs::remove_dir_all(&dir);
                    reply(&stream, &response);
                    return Ok(());
                }
            }
        }
        if Instant::now() >= next_update {
            model.update_status(None);
            next_update = Instant::now() + update_status_every;
        }
        if Instant::now() >= next_poll {
            model.poll_workloads();
            next_poll = Instant::now() + Duration::from_secs(1);
        }
        match model.step() {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => eprintln!("lab controller: {e}"),
        }
        while let Some((stream, mut response)) = waiting.pop_front() {
            for (unit, hook) in model.errors() {
                response.stderr.push_str(&format!(
                    "ERROR unit {unit} is in error: hook \"{hook}\" failed (see lab debug-log)\n"
                ));
                response.code = 1;
            }
            reply(&stream, &response);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn reply(stream: &UnixStream, response: &Response) {
    let mut out = serde_json::to_vec(response).unwrap_or_default();
    out.push(b'\n');
    let mut s = stream;
    let _ = s.write_all(&out);
}
