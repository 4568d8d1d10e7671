//! `lab`: run a charm locally without Juju.
//!
//! `lab replay <charm-binary> [--unit app/0] [--leader|--follower] [event ...]` runs the charm for
//! a sequence of events (default: Juju's deploy order, then update-status and one action) against
//! recorded hook-tool answers, and prints every hook-tool call and the resulting status.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lab::harness::Harness;

const DEFAULT_EVENTS: &[&str] = &[
    "hooks/install",
    "hooks/leader-elected",
    "hooks/config-changed",
    "hooks/start",
    "hooks/update-status",
    "actions/get-password",
];

fn usage() -> ExitCode {
    eprintln!(
        "usage: lab replay <charm-binary> [--unit APP/N] [--leader|--follower] [hooks/<name>|actions/<name> ...]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("replay") => replay(&args[1..]),
        _ => usage(),
    }
}

fn replay(args: &[String]) -> ExitCode {
    let mut charm = None;
    let mut unit = "postgresql-k8s/0".to_string();
    let mut leader = true;
    let mut events = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--unit" => match it.next() {
                Some(u) => unit = u.clone(),
                None => return usage(),
            },
            "--leader" => leader = true,
            "--follower" => leader = false,
            a if charm.is_none() => charm = Some(PathBuf::from(a)),
            a => events.push(a.to_string()),
        }
    }
    let Some(charm) = charm else { return usage() };
    if events.is_empty() {
        events = DEFAULT_EVENTS.iter().map(|s| s.to_string()).collect();
    }
    let jujuc = sibling("jujuc");
    let mut h = match Harness::new(&charm, &jujuc, &unit) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("lab: cannot set up the unit: {e}");
            return ExitCode::FAILURE;
        }
    };
    h.answer("is-leader", if leader { "true\n" } else { "false\n" })
        .answer("config-get", "{}\n")
        .answer("action-get", "{}\n")
        .accept_writes();
    let sockets = h.charm_dir().join("containers");
    h.env(
        "CHARM_CONTAINERS_DIR",
        sockets.to_str().unwrap_or("/nonexistent"),
    );

    println!(
        "Replaying {} event(s) for {unit} ({}) with recorded hook-tool answers.\n\
         No workload container runs in replay mode: the charm sees no Pebble socket.\n",
        events.len(),
        if leader { "leader" } else { "not leader" }
    );
    let mut last_status: Option<(String, String)> = None;
    let mut failed = false;
    for event in &events {
        let run = match h.run(event, &[]) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("lab: cannot run {event}: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("== {event} -> exit {}", run.code);
        for call in &run.calls {
            println!("   {} {}", call.tool, shell_words(&call.args));
            if call.tool == "status-set"
                && call.args.first().map(String::as_str) == Some("--application=false")
            {
                last_status = Some((
                    call.args.get(1).cloned().unwrap_or_default(),
                    call.args.get(3).cloned().unwrap_or_default(),
                ));
            }
        }
        for line in run.stderr.lines() {
            println!("   stderr: {line}");
        }
        failed |= run.code != 0;
    }
    let (status, message) = last_status.unwrap_or_else(|| ("unknown".into(), String::new()));
    println!(
        "\nUnit{}  Workload  Message",
        " ".repeat(unit.len().saturating_sub(3))
    );
    println!(
        "{unit}{}  {status:<8}  {message}",
        if leader { "*" } else { " " }
    );
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Where `jujuc` is: beside this binary.
fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default()
        .join(name)
}

fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_=./:@".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
