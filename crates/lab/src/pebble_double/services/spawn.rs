//! Starting a service's process: command line, environment (with `HOME`/`USER` of the
//! target user), credentials, output into the log buffer, and the tasks that wait for the
//! process to exit and reset the backoff after `backoff-limit` of uptime.

use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use pebble::parse_service_command;
use tokio::io::AsyncReadExt;
use tokio::sync::oneshot;

use super::lifecycle::{duration, exited, kill_delay};
use super::{ServiceData, State};
use crate::pebble_double::config::DEFAULT_BACKOFF_LIMIT;
use crate::pebble_double::logger;
use crate::pebble_double::process::{self, Launch};
use crate::pebble_double::state::Daemon;
use crate::pebble_double::users::{self, Identity};

/// Starts the service's process: its own process group, output into its log buffer, and
/// tasks that wait for it to exit and reset the backoff after `backoff-limit` of uptime.
pub(super) fn spawn(
    daemon: &Arc<Daemon>,
    name: &str,
    data: &mut ServiceData,
) -> Result<(), String> {
    let config = &data.config;
    let (base, extra) = parse_service_command(&config.command)?;
    let argv: Vec<String> = base.into_iter().chain(extra).collect();
    let identity = Identity {
        user_id: config.user_id,
        user: config.user.clone(),
        group_id: config.group_id,
        group: config.group.clone(),
    };
    let credentials = users::normalize(&identity)?;
    let mut env = process::environment(&daemon.config.env, &config.environment);
    if let Some((uid, _)) = credentials {
        let home_set = config
            .environment
            .get("HOME")
            .is_some_and(|v| !v.is_empty());
        let user_set = config
            .environment
            .get("USER")
            .is_some_and(|v| !v.is_empty());
        if !home_set || !user_set {
            match users::user_by_id(uid) {
                Some(user) => {
                    if !home_set {
                        env.insert("HOME".to_owned(), user.home);
                    }
                    if !user_set {
                        env.insert("USER".to_owned(), user.name);
                    }
                }
                None => logger::notice(format!(
                    "Cannot look up user {uid}: user: unknown userid {uid}"
                )),
            }
        }
    }
    let (reader, writer) = std::io::pipe().map_err(|e| format!("cannot start service: {e}"))?;
    let writer2 = writer
        .try_clone()
        .map_err(|e| format!("cannot start service: {e}"))?;
    logger::notice(format!("Service {name:?} starting: {}", config.command));
    let child = process::spawn(Launch {
        argv,
        env,
        working_dir: Some(config.working_dir.clone()).filter(|d| !d.is_empty()),
        credentials,
        search_path: daemon.search_path(),
        stdin: Stdio::null(),
        stdout: Stdio::from(writer),
        stderr: Stdio::from(writer2),
    })
    .map_err(|e| format!("cannot start service: {e}"))?;
    data.pid = child.id().map(|pid| pid as i32);
    data.spawn_id += 1;
    let spawn_id = data.spawn_id;

    // As Go's exec does, the exit is handled once the output is read to its end, or after
    // 90 % of the kill delay when something else (a grandchild) still holds the pipe.
    let (drained_tx, drained_rx) = oneshot::channel::<()>();
    let logs = data.logs.clone();
    let output = tokio::net::unix::pipe::Receiver::from_owned_fd(OwnedFd::from(reader));
    tokio::spawn(async move {
        if let Ok(mut output) = output {
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = output.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                logs.write(&buf[..n]);
            }
        }
        logs.flush();
        let _ = drained_tx.send(());
    });

    let wait_delay = kill_delay(data).mul_f64(0.9);
    let owner = daemon.clone();
    let service = name.to_owned();
    tokio::spawn(async move {
        let mut child = child;
        let code = match child.wait().await {
            Ok(status) => process::exit_code(status),
            Err(_) => -1,
        };
        let _ = tokio::time::timeout(wait_delay, drained_rx).await;
        exited(&owner, &service, spawn_id, code);
    });

    let limit = duration(&data.config.backoff_limit, DEFAULT_BACKOFF_LIMIT);
    let owner = daemon.clone();
    let service = name.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(limit).await;
        let mut services = owner.services.lock();
        if let Some(data) = services.get_mut(&service)
            && data.spawn_id == spawn_id
            && data.state == State::Running
        {
            data.backoff_num = 0;
            data.backoff_time = Duration::ZERO;
        }
    });
    Ok(())
}
