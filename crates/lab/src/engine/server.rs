//! The unit agents' socket: `jujuc` processes connect, send one [`ToolCall`] as a JSON line, and
//! read one [`ToolAnswer`] back. Calls are answered against the shared model state.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::agent::{self, HookContext, ToolAnswer, ToolCall};
use crate::error::{LabError, Result};
use crate::replay::CallRecord;
use crate::state::ModelState;

/// What the socket thread and the engine share.
#[derive(Debug, Default)]
pub struct Shared {
    /// The committed model state.
    pub state: ModelState,
    /// Hooks in flight by context id.
    pub contexts: HashMap<String, HookContext>,
}

/// The running socket.
#[derive(Debug)]
pub struct AgentServer {
    path: PathBuf,
}

impl AgentServer {
    /// Listen at `path` and answer calls against `shared` on a background thread.
    pub fn start(path: &Path, shared: Arc<Mutex<Shared>>) -> Result<AgentServer> {
        let _ = std::fs::remove_file(path);
        let listener =
            UnixListener::bind(path).map_err(LabError::io("binding the agent socket"))?;
        std::thread::Builder::new()
            .name("lab-agent".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(stream) = stream else { break };
                    let shared = shared.clone();
                    std::thread::spawn(move || serve(stream, &shared));
                }
            })
            .map_err(LabError::io("starting the agent thread"))?;
        Ok(AgentServer {
            path: path.to_path_buf(),
        })
    }

    /// The socket's path (`JUJU_AGENT_SOCKET_ADDRESS`).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for AgentServer {
    fn drop(&mut self) {
        // Unblock the accept loop by removing the socket; the thread ends with the process.
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(stream: UnixStream, shared: &Mutex<Shared>) {
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let started = Instant::now();
    let answer = match serde_json::from_str::<ToolCall>(&line) {
        Ok(call) => answer(shared, &call, started),
        Err(e) => ToolAnswer::error(1, &format!("lab: malformed request: {e}")),
    };
    let mut out = serde_json::to_vec(&answer).unwrap_or_default();
    out.push(b'\n');
    let mut stream = &stream;
    let _ = stream.write_all(&out);
}

fn answer(shared: &Mutex<Shared>, call: &ToolCall, started: Instant) -> ToolAnswer {
    let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
    let Shared { state, contexts } = &mut *guard;
    let Some(ctx) = contexts.get_mut(&call.context) else {
        return ToolAnswer::error(
            1,
            &format!(
                "{}: no hook context {:?} (not running in a hook?)",
                call.tool, call.context
            ),
        );
    };
    let before = ctx.calls.len();
    let answer = agent::handle(state, ctx, call);
    if ctx.calls.len() == before {
        ctx.calls.push(CallRecord {
            tool: call.tool.clone(),
            args: call.args.clone(),
            stdin: String::from_utf8_lossy(&call.stdin).into_owned(),
            micros: started.elapsed().as_micros() as u64,
        });
    }
    answer
}
