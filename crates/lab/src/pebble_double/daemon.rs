//! The daemon's life: load layers, bind the socket, start default services (change 1), serve
//! the API, and on SIGTERM/SIGINT/SIGQUIT (or a shutdown action) stop every service and exit.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use tokio::net::{TcpListener, UnixListener};
use tokio::signal::unix::{SignalKind, signal};

use super::api;
use super::config::Config;
use super::logger;
use super::plan_store::PlanStore;
use super::services::{self, ActionError};
use super::state::Daemon;
use super::sys;

/// Runs the daemon until it is told to stop; returns the process exit code.
pub async fn run(config: Config) -> i32 {
    match run_daemon(config).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: cannot run daemon: {error}");
            1
        }
    }
}

async fn run_daemon(config: Config) -> Result<i32, String> {
    if config.create_dirs {
        std::fs::create_dir_all(&config.state_dir)
            .map_err(|e| format!("cannot create {}: {e}", config.state_dir.display()))?;
    }
    let plan = PlanStore::load_dir(&config.state_dir.join("layers"))?;
    let socket_path = config.socket.clone();
    let _ = std::fs::remove_file(&socket_path);
    let listener = UnixListener::bind(&socket_path)
        .map_err(|e| format!("cannot listen on {}: {e}", socket_path.display()))?;
    let _ = std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o666));
    let tcp = match &config.http {
        Some(address) => {
            let address = if address.starts_with(':') {
                format!("0.0.0.0{address}")
            } else {
                address.clone()
            };
            Some(
                TcpListener::bind(&address)
                    .await
                    .map_err(|e| format!("cannot listen on {address}: {e}"))?,
            )
        }
        None => None,
    };
    let hold = config.hold;
    let daemon = Daemon::new(config, plan);
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut quit = signal(SignalKind::quit()).map_err(|e| e.to_string())?;
    logger::notice(format!(
        "Started daemon {} (socket {}).",
        super::config::VERSION,
        socket_path.display()
    ));

    if !hold {
        boot_start(&daemon);
    }
    daemon.checks.plan_changed(&daemon, &daemon.plan.plan());
    let forwarding = tokio::spawn(super::logfwd::run(daemon.clone()));
    let server = tokio::spawn(api::serve_unix(daemon.clone(), listener));
    let http = tcp.map(|listener| tokio::spawn(api::serve_tcp(daemon.clone(), listener)));

    let mut shutdown = daemon.shutdown_requests();
    let code = tokio::select! {
        _ = term.recv() => { logger::notice("Exiting on terminated signal."); 0 }
        _ = interrupt.recv() => { logger::notice("Exiting on interrupt signal."); 0 }
        _ = quit.recv() => { logger::notice("Exiting on quit signal."); 0 }
        code = async { shutdown.wait_for(Option::is_some).await.ok().and_then(|c| *c) } => {
            logger::notice("Server exiting!");
            code.unwrap_or(0)
        }
    };
    services::stop_all(&daemon).await;
    for group in daemon
        .execs
        .process_groups()
        .into_iter()
        .chain(daemon.services.process_groups())
    {
        let _ = sys::kill_group(group, libc::SIGKILL);
    }
    server.abort();
    forwarding.abort();
    if let Some(http) = http {
        http.abort();
    }
    let _ = std::fs::remove_file(&socket_path);
    Ok(code)
}

/// Starts the default services as change 1, as `pebble run` does through its own API; with
/// none to start, change 1 is used up all the same so client changes start at 2.
fn boot_start(daemon: &Arc<Daemon>) {
    match services::service_action(daemon, "autostart", Vec::new()) {
        Ok(change) => logger::notice(format!("Started default services with change {change}.")),
        Err(ActionError::NoDefaultServices) => {
            daemon.changes.skip_id();
            logger::notice("Cannot start default services: no default services");
        }
        Err(ActionError::BadRequest(message)) => {
            daemon.changes.skip_id();
            logger::notice(format!("Cannot start default services: {message}"));
        }
    }
}
