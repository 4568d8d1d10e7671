//! `lab`: a local Juju model for running and testing charms without Juju or Kubernetes.
//!
//! Commands are named after Juju's (`lab deploy`, `lab integrate`, `lab run`, `lab status`, ...;
//! `lab help` lists them). The first `lab deploy` starts the model's controller in the
//! background; it lives in `$LAB_DIR` (default `./.lab`) until `lab destroy`.
//!
//! Environment: `LAB_DIR` (model directory), `LAB_PEBBLE_BIN` (a Pebble binary to use instead of
//! the lab's double), `LAB_ISOLATION` (`namespaces` or `none`; default: namespaces as root),
//! `LAB_UPDATE_STATUS_INTERVAL` (Go duration, default 5m).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use lab::controller::{self, Request};
use lab::engine::{Isolation, Model, ModelOptions};
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
    eprint!("{}", lab::cli::USAGE);
    ExitCode::from(2)
}

#[allow(clippy::disallowed_methods)] // the CLI is configured by its environment
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn model_dir() -> PathBuf {
    let dir = PathBuf::from(env("LAB_DIR").unwrap_or_else(|| ".lab".into()));
    std::path::absolute(&dir).unwrap_or(dir)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => usage(),
        Some("replay") => replay(&args[1..]),
        Some("controller") => run_controller(),
        Some(_) => forward(args),
    }
}

/// `lab controller`: the background process that owns the model.
fn run_controller() -> ExitCode {
    let dir = model_dir();
    let mut opts = ModelOptions::new(&dir, &sibling(""));
    if let Some(bin) = env("LAB_PEBBLE_BIN") {
        opts.pebble_bin = PathBuf::from(bin);
    }
    match env("LAB_ISOLATION").as_deref() {
        Some("none") => opts.isolation = Isolation::None,
        Some("namespaces") => opts.isolation = Isolation::Namespaces,
        _ => {}
    }
    let every = controller::update_status_interval(env("LAB_UPDATE_STATUS_INTERVAL").as_deref());
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("controller.pid"), std::process::id().to_string());
    let model = match Model::new(opts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("lab controller: {e}");
            return ExitCode::FAILURE;
        }
    };
    match controller::serve(model, every) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lab controller: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Send the command to the model's controller, starting it first for `deploy`.
fn forward(args: Vec<String>) -> ExitCode {
    let dir = model_dir();
    let request = Request {
        args: args.clone(),
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
    };
    let mut response = controller::send(&dir, &request);
    if response.is_err() && matches!(args[0].as_str(), "deploy") {
        if let Err(e) = start_controller(&dir) {
            eprintln!("ERROR cannot start the lab controller: {e}");
            return ExitCode::FAILURE;
        }
        response = controller::send(&dir, &request);
    }
    let response = match response {
        Ok(r) => r,
        Err(_) if matches!(args[0].as_str(), "help" | "--help" | "-h") => return usage(),
        Err(e) => {
            eprintln!(
                "ERROR no lab model at {} ({e}); `lab deploy` creates one",
                dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    print!("{}", response.stdout);
    eprint!("{}", response.stderr);
    if let Some(command) = response.exec {
        return exec(&command);
    }
    ExitCode::from(response.code.clamp(0, 255) as u8)
}

fn exec(command: &[String]) -> ExitCode {
    let Some((program, args)) = command.split_first() else {
        return ExitCode::FAILURE;
    };
    #[allow(clippy::disallowed_methods)] // lab ssh runs the command with the terminal
    let status = std::process::Command::new(program).args(args).status();
    match status {
        Ok(s) => ExitCode::from(s.code().unwrap_or(1).clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("ERROR cannot run {program}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Start `lab controller` in its own session, logging to `$LAB_DIR/controller.log`, and wait
/// for its socket.
fn start_controller(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("controller.log"))?;
    let me = std::env::current_exe()?;
    #[allow(clippy::disallowed_methods)] // starting the model's controller
    let mut command = std::process::Command::new("setsid");
    command
        .arg(me)
        .arg("controller")
        .env("LAB_DIR", dir)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    command.spawn()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::os::unix::net::UnixStream::connect(controller::socket_path(dir)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(std::io::Error::other(format!(
        "no answer within 20 s; see {}",
        dir.join("controller.log").display()
    )))
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

/// A file beside this binary (`jujuc`, `pebble`); with "" the directory itself.
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
