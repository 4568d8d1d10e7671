//! `jujuc`: the lab's hook-tool client, installed under every hook-tool name (as Juju installs its
//! own `jujuc`).
//!
//! In a lab model it forwards the call (tool, argv, stdin, working directory, `JUJU_CONTEXT_ID`)
//! to the unit agent socket named by `JUJU_AGENT_SOCKET_ADDRESS` and prints the answer. With
//! `LAB_REPLAY_SCRIPT` set it instead answers from that recorded script and appends the call to
//! `LAB_REPLAY_CALLS`.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use lab::agent::{ToolAnswer, ToolCall};
use lab::replay::{self, CallRecord};

fn main() -> ExitCode {
    let started = Instant::now();
    let mut argv = std::env::args();
    let tool = argv
        .next()
        .map(|a| {
            Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or(a)
        })
        .unwrap_or_default();
    let args: Vec<String> = argv.collect();
    #[allow(clippy::disallowed_methods)] // this binary is configured by its environment
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let mut stdin = Vec::new();
    // Tools that take data read it all from stdin; hooks give the others an empty stdin.
    let _ = std::io::stdin().read_to_end(&mut stdin);
    let answer = if let Some(script) = env(replay::SCRIPT_VAR) {
        let answer = match replay::load_script(Path::new(&script)) {
            Ok(script) => replay::answer_for(&script, &tool, &args).into(),
            Err(e) => error(&format!("{tool}: cannot read the replay script: {e}")),
        };
        if let Some(calls) = env(replay::CALLS_VAR) {
            let record = CallRecord {
                tool: tool.clone(),
                args: args.clone(),
                stdin: String::from_utf8_lossy(&stdin).into_owned(),
                micros: started.elapsed().as_micros() as u64,
            };
            if let Err(e) = replay::append_call(Path::new(&calls), &record) {
                eprintln!("ERROR lab replay: cannot record the call: {e}");
                return ExitCode::from(1);
            }
        }
        answer
    } else if let Some(socket) = env("JUJU_AGENT_SOCKET_ADDRESS") {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        // The controller may not see this process's filesystem (hooks run in pods): send the
        // files the call names along with it.
        let files = ToolCall::file_args(&args, &cwd)
            .into_iter()
            .filter_map(|p| std::fs::read(&p).ok().map(|b| (p.display().to_string(), b)))
            .collect();
        let call = ToolCall {
            context: env("JUJU_CONTEXT_ID")
                .map(|v| v.to_string_lossy().into_owned())
                .unwrap_or_default(),
            tool: tool.clone(),
            args,
            stdin,
            cwd,
            files,
        };
        forward(Path::new(&socket), &call)
            .unwrap_or_else(|e| error(&format!("{tool}: cannot reach the unit agent: {e}")))
    } else {
        error(&format!(
            "{tool}: not in a hook context (JUJU_AGENT_SOCKET_ADDRESS is not set)"
        ))
    };
    let _ = std::io::stdout().write_all(&answer.stdout);
    let _ = std::io::stderr().write_all(&answer.stderr);
    ExitCode::from(answer.code.clamp(0, 255) as u8)
}

fn forward(socket: &Path, call: &ToolCall) -> std::io::Result<ToolAnswer> {
    let mut stream = UnixStream::connect(socket)?;
    let mut line = serde_json::to_vec(call).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer)?;
    serde_json::from_str(&answer).map_err(std::io::Error::other)
}

fn error(message: &str) -> ToolAnswer {
    ToolAnswer::error(1, message)
}
