//! One service's state machine (Pebble's servstate): start with the okay delay, exit actions,
//! restart backoff, stop with SIGTERM then SIGKILL, check-failure actions.
//!
//! Timers are tasks that sleep and then act only if the service is still where they left it
//! (same `epoch`, or same `spawn_id` for the backoff reset).

use std::sync::Arc;
use std::time::Duration;

use pebble::{ServiceAction, format_go_duration, parse_go_duration};
use tokio::sync::{oneshot, watch};

use super::{ServiceData, State, spawn};
use crate::pebble_double::changes::{self, TaskLog};
use crate::pebble_double::config::{
    DEFAULT_BACKOFF_DELAY, DEFAULT_BACKOFF_FACTOR, DEFAULT_BACKOFF_LIMIT, DEFAULT_KILL_DELAY,
    FAIL_DELAY,
};
use crate::pebble_double::state::Daemon;
use crate::pebble_double::{logger, random, sys};

/// Lines of output a failed start copies into its task log.
const LAST_LOG_LINES: usize = 20;

/// Daemon exit code when a service failure shuts Pebble down.
const EXIT_SERVICE_FAILURE: i32 = 10;

/// Daemon exit code when a check failure shuts Pebble down.
const EXIT_CHECK_FAILURE: i32 = 11;

pub(super) fn duration(value: &Option<String>, default: Duration) -> Duration {
    value
        .as_deref()
        .and_then(|text| parse_go_duration(text).ok())
        .unwrap_or(default)
}

pub(super) fn kill_delay(data: &ServiceData) -> Duration {
    duration(&data.config.kill_delay, DEFAULT_KILL_DELAY)
}

fn action_name(action: ServiceAction) -> &'static str {
    match action {
        ServiceAction::Restart => "restart",
        ServiceAction::Shutdown => "shutdown",
        ServiceAction::Ignore => "ignore",
        ServiceAction::SuccessShutdown => "success-shutdown",
        ServiceAction::FailureShutdown => "failure-shutdown",
    }
}

/// The exit action and which field it came from.
fn exit_action(data: &ServiceData, success: bool) -> (ServiceAction, &'static str) {
    if success {
        (
            data.config.on_success.unwrap_or(ServiceAction::Restart),
            "on-success",
        )
    } else {
        (
            data.config.on_failure.unwrap_or(ServiceAction::Restart),
            "on-failure",
        )
    }
}

/// The `start` task of one service.
pub async fn start(
    daemon: &Arc<Daemon>,
    log: &TaskLog,
    name: &str,
    mut abort: watch::Receiver<bool>,
) -> Result<(), String> {
    let config = daemon
        .plan
        .plan()
        .services
        .get(name)
        .cloned()
        .ok_or_else(|| format!("cannot find service {name:?} in plan"))?;
    let (started, logs) = {
        let mut services = daemon.services.lock();
        let is_new = !services.contains_key(name);
        let data = services
            .entry(name.to_owned())
            .or_insert_with(|| ServiceData::new(name, config.clone()));
        data.config = config;
        if !is_new {
            match data.state {
                State::Initial | State::Starting | State::Running => {
                    log.info(format!("Service {name:?} already started."));
                    return Ok(());
                }
                State::Backoff | State::Stopped | State::Exited => {
                    data.backoff_num = 0;
                    data.backoff_time = Duration::ZERO;
                    data.transition(State::Initial);
                }
                State::Terminating | State::Killing => {}
            }
        }
        if data.state != State::Initial {
            return Err(format!(
                "cannot start service while {}",
                data.state.as_str()
            ));
        }
        if let Err(error) = spawn::spawn(daemon, name, data) {
            data.transition(State::Stopped);
            return Err(error);
        }
        data.transition(State::Starting);
        let (tx, rx) = oneshot::channel();
        data.started = Some(tx);
        let epoch = data.epoch;
        let delay = daemon.config.okay_delay;
        let owner = daemon.clone();
        let service = name.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            okay_delay_elapsed(&owner, &service, epoch);
        });
        (rx, data.logs.clone())
    };
    tokio::select! {
        outcome = started => match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                let lines: Vec<String> = logs
                    .last(Some(LAST_LOG_LINES))
                    .into_iter()
                    .map(|entry| format!("    {}", entry.message))
                    .collect();
                if !lines.is_empty() {
                    log.info(format!("Most recent service output:\n{}", lines.join("\n")));
                }
                Err(format!("service start attempt: {error}"))
            }
            Err(_) => Err("service start attempt: state lost".to_owned()),
        },
        true = changes::raised(&mut abort) => {
            let mut services = daemon.services.lock();
            let Some(data) = services.get_mut(name) else {
                return Err("start aborted".to_owned());
            };
            data.transition(State::Stopped);
            match data.pid.map(|pid| sys::kill_group(pid, libc::SIGKILL)) {
                Some(Ok(())) => Err("start aborted, sent SIGKILL to process".to_owned()),
                Some(Err(e)) => Err(format!("start aborted, but cannot send SIGKILL to process: {e}")),
                None => Err("start aborted".to_owned()),
            }
        }
    }
}

fn okay_delay_elapsed(daemon: &Arc<Daemon>, name: &str, epoch: u64) {
    let mut services = daemon.services.lock();
    if let Some(data) = services.get_mut(name)
        && data.epoch == epoch
        && data.state == State::Starting
    {
        if let Some(started) = data.started.take() {
            let _ = started.send(Ok(()));
        }
        data.transition(State::Running);
    }
}

/// The service's process exited with `code` (128 + signal when killed).
pub(super) fn exited(daemon: &Arc<Daemon>, name: &str, spawn_id: u64, code: i32) {
    let mut services = daemon.services.lock();
    let Some(data) = services.get_mut(name) else {
        return;
    };
    if data.spawn_id != spawn_id {
        return;
    }
    data.pid = None;
    match data.state {
        State::Starting => {
            let (action, _) = exit_action(data, code == 0);
            if let Some(started) = data.started.take() {
                let _ = started.send(Err(format!(
                    "exited quickly with code {code}, will {}",
                    action_name(action)
                )));
            }
            exited_unexpectedly(daemon, name, data, code);
        }
        State::Running => exited_unexpectedly(daemon, name, data, code),
        State::Terminating | State::Killing => {
            if data.restarting {
                logger::notice(format!(
                    "Service {name:?} exited after check failure, restarting"
                ));
                backoff(
                    daemon,
                    name,
                    data,
                    ServiceAction::Restart,
                    "on-check-failure",
                );
            } else {
                logger::notice(format!("Service {name:?} stopped"));
                if let Some(stopped) = data.stopped.take() {
                    let _ = stopped.send(Ok(()));
                }
                data.transition(State::Stopped);
            }
        }
        _ => {}
    }
}

fn exited_unexpectedly(daemon: &Arc<Daemon>, name: &str, data: &mut ServiceData, code: i32) {
    logger::notice(format!(
        "Service {name:?} stopped unexpectedly with code {code}"
    ));
    let (action, on) = exit_action(data, code == 0);
    match action {
        ServiceAction::Ignore => {
            logger::notice(format!(
                "Service {name:?} {on} action is \"ignore\", not doing anything further"
            ));
            data.transition(if code == 0 {
                State::Stopped
            } else {
                State::Exited
            });
        }
        ServiceAction::Shutdown => {
            let exit = if code == 0 { 0 } else { EXIT_SERVICE_FAILURE };
            logger::notice(format!(
                "Service {name:?} {on} action is \"shutdown\", triggering {} shutdown",
                if code == 0 { "success" } else { "failure" }
            ));
            daemon.request_shutdown(exit);
            data.transition(State::Exited);
        }
        ServiceAction::SuccessShutdown => {
            logger::notice(format!(
                "Service {name:?} {on} action is \"success-shutdown\", triggering success shutdown"
            ));
            daemon.request_shutdown(0);
            data.transition(State::Exited);
        }
        ServiceAction::FailureShutdown => {
            logger::notice(format!(
                "Service {name:?} {on} action is \"failure-shutdown\", triggering failure shutdown"
            ));
            daemon.request_shutdown(EXIT_SERVICE_FAILURE);
            data.transition(State::Exited);
        }
        ServiceAction::Restart => backoff(daemon, name, data, action, on),
    }
}

/// Waits the next backoff delay (plus up to 10 % jitter), then starts the process again.
fn backoff(
    daemon: &Arc<Daemon>,
    name: &str,
    data: &mut ServiceData,
    action: ServiceAction,
    on: &str,
) {
    data.backoff_num += 1;
    let delay = duration(&data.config.backoff_delay, DEFAULT_BACKOFF_DELAY);
    let limit = duration(&data.config.backoff_limit, DEFAULT_BACKOFF_LIMIT);
    let factor = data.config.backoff_factor.unwrap_or(DEFAULT_BACKOFF_FACTOR);
    data.backoff_time = if data.backoff_time.is_zero() {
        delay
    } else if data.backoff_time >= limit {
        limit
    } else {
        data.backoff_time.mul_f64(factor).min(limit)
    };
    logger::notice(format!(
        "Service {name:?} {on} action is {:?}, waiting ~{} before restart (backoff {})",
        action_name(action),
        format_go_duration(data.backoff_time),
        data.backoff_num
    ));
    data.transition(State::Backoff);
    let wait = data.backoff_time + data.backoff_time.mul_f64(0.1 * random::unit_float());
    let epoch = data.epoch;
    let owner = daemon.clone();
    let service = name.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(wait).await;
        let mut services = owner.services.lock();
        let Some(data) = services.get_mut(&service) else {
            return;
        };
        if data.epoch != epoch || data.state != State::Backoff {
            return;
        }
        match spawn::spawn(&owner, &service, data) {
            Ok(()) => data.transition(State::Running),
            Err(error) => logger::notice(error),
        }
    });
}

/// The `stop` task of one service.
pub async fn stop(daemon: &Arc<Daemon>, log: &TaskLog, name: &str) -> Result<(), String> {
    let stopped = {
        let mut services = daemon.services.lock();
        let Some(data) = services.get_mut(name) else {
            log.info(format!("Service {name:?} has never been started."));
            return Ok(());
        };
        match data.state {
            State::Terminating | State::Killing => {
                log.info(format!("Service {name:?} already stopping."));
                return Ok(());
            }
            State::Stopped => {
                log.info(format!("Service {name:?} already stopped."));
                return Ok(());
            }
            State::Exited => {
                data.transition(State::Stopped);
                log.info(format!("Service {name:?} had already exited."));
                return Ok(());
            }
            State::Starting | State::Running => {
                if let Some(started) = data.started.take() {
                    let _ = started.send(Err(format!(
                        "stopped before the {} okay delay",
                        format_go_duration(daemon.config.okay_delay)
                    )));
                }
                terminate(daemon, name, data, false);
                let (tx, rx) = oneshot::channel();
                data.stopped = Some(tx);
                rx
            }
            State::Backoff => {
                logger::notice(format!(
                    "Service {name:?} stopped while waiting for backoff"
                ));
                data.transition(State::Stopped);
                return Ok(());
            }
            State::Initial => {
                return Err(format!("cannot stop service while {}", data.state.as_str()));
            }
        }
    };
    match stopped.await {
        Ok(Ok(())) | Err(_) => Ok(()),
        Ok(Err(error)) => Err(format!("cannot stop service: {error}")),
    }
}

/// SIGTERM to the process group, then SIGKILL after the kill delay.
fn terminate(daemon: &Arc<Daemon>, name: &str, data: &mut ServiceData, restarting: bool) {
    if let Some(pid) = data.pid
        && let Err(e) = sys::kill_group(pid, libc::SIGTERM)
    {
        logger::notice(format!("Cannot send SIGTERM to process: {e}"));
    }
    data.transition_restarting(State::Terminating, restarting);
    let epoch = data.epoch;
    let delay = kill_delay(data);
    let owner = daemon.clone();
    let service = name.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        terminate_elapsed(&owner, &service, epoch);
    });
}

fn terminate_elapsed(daemon: &Arc<Daemon>, name: &str, epoch: u64) {
    let mut services = daemon.services.lock();
    let Some(data) = services.get_mut(name) else {
        return;
    };
    if data.epoch != epoch || data.state != State::Terminating {
        return;
    }
    if let Some(pid) = data.pid
        && let Err(e) = sys::kill_group(pid, libc::SIGKILL)
    {
        logger::notice(format!("Cannot send SIGKILL to process: {e}"));
    }
    let restarting = data.restarting;
    data.transition_restarting(State::Killing, restarting);
    let epoch = data.epoch;
    let owner = daemon.clone();
    let service = name.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(FAIL_DELAY).await;
        let mut services = owner.services.lock();
        let Some(data) = services.get_mut(&service) else {
            return;
        };
        if data.epoch != epoch || data.state != State::Killing {
            return;
        }
        logger::notice(format!(
            "Service {service:?} still running after SIGTERM and SIGKILL"
        ));
        if !data.restarting
            && let Some(stopped) = data.stopped.take()
        {
            let _ = stopped.send(Err(
                "process still running after SIGTERM and SIGKILL".to_owned()
            ));
        }
        data.transition(State::Stopped);
    });
}

/// A check named in the service's `on-check-failure` reached its threshold.
pub fn check_failed(
    daemon: &Arc<Daemon>,
    name: &str,
    data: &mut ServiceData,
    action: ServiceAction,
) {
    if !matches!(data.state, State::Running | State::Backoff | State::Exited) {
        return;
    }
    let on = "on-check-failure";
    match action {
        ServiceAction::Ignore => {}
        ServiceAction::Shutdown | ServiceAction::FailureShutdown => {
            logger::notice(format!(
                "Service {name:?} {on} action is {:?}, triggering failure shutdown",
                action_name(action)
            ));
            daemon.request_shutdown(EXIT_CHECK_FAILURE);
        }
        ServiceAction::SuccessShutdown => {
            logger::notice(format!(
                "Service {name:?} {on} action is \"success-shutdown\", triggering success shutdown"
            ));
            daemon.request_shutdown(0);
        }
        ServiceAction::Restart => match data.state {
            State::Running => {
                logger::notice(format!(
                    "Service {name:?} {on} action is \"restart\", terminating process before restarting"
                ));
                terminate(daemon, name, data, true);
            }
            State::Backoff => logger::notice(format!(
                "Service {name:?} {on} action is \"restart\", waiting for current backoff"
            )),
            _ => backoff(daemon, name, data, action, on),
        },
    }
}
