//! `jujuc`: the lab's hook-tool client, installed under every hook-tool name (as Juju installs its
//! own `jujuc`). It answers from the recorded script named by `LAB_REPLAY_SCRIPT` and appends the
//! call to `LAB_REPLAY_CALLS`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

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
    let (script, calls) = (
        std::env::var_os(replay::SCRIPT_VAR).map(PathBuf::from),
        std::env::var_os(replay::CALLS_VAR).map(PathBuf::from),
    );
    let Some(script) = script else {
        eprintln!(
            "ERROR {tool}: not in a hook context ({} is not set)",
            replay::SCRIPT_VAR
        );
        return ExitCode::from(1);
    };
    let script = match replay::load_script(&script) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ERROR {tool}: cannot read {}: {e}", script.display());
            return ExitCode::from(1);
        }
    };
    let mut stdin = Vec::new();
    // Tools that take data read it all from stdin; the others get an empty stdin.
    let _ = std::io::stdin().read_to_end(&mut stdin);
    let answer = replay::answer_for(&script, &tool, &args);
    let _ = std::io::stdout().write_all(answer.stdout.as_bytes());
    let _ = std::io::stderr().write_all(answer.stderr.as_bytes());
    if let Some(calls) = calls {
        let record = CallRecord {
            tool,
            args,
            stdin: String::from_utf8_lossy(&stdin).into_owned(),
            micros: started.elapsed().as_micros() as u64,
        };
        if let Err(e) = replay::append_call(&calls, &record) {
            eprintln!("ERROR lab replay: cannot record the call: {e}");
            return ExitCode::from(1);
        }
    }
    ExitCode::from(answer.code.clamp(0, 255) as u8)
}
