//! Services: their state machines ([`lifecycle`]), the changes that start and stop them
//! ([`lanes`]), and the API-level operations (`POST /v1/services`, `GET /v1/services`,
//! signals, replan).

mod lanes;
mod lifecycle;
mod spawn;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use pebble::{Plan, Service, Startup};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::changes::NewTask;
use super::logbuf::{LogBuffer, LogEntry};
use super::state::Daemon;
use super::{clock, signals, sys};
pub use lanes::{Op, Stage};

/// Internal service states (Pebble's servstate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Created, not yet started.
    Initial,
    /// Started, within the okay delay.
    Starting,
    /// Running.
    Running,
    /// SIGTERM sent.
    Terminating,
    /// SIGKILL sent.
    Killing,
    /// Stopped.
    Stopped,
    /// Waiting to restart.
    Backoff,
    /// Exited and not restarting.
    Exited,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Initial => "initial",
            State::Starting => "starting",
            State::Running => "running",
            State::Terminating => "terminating",
            State::Killing => "killing",
            State::Stopped => "stopped",
            State::Backoff => "backoff",
            State::Exited => "exited",
        }
    }

    /// What `GET /v1/services` reports as `current`.
    fn status(self) -> &'static str {
        match self {
            State::Starting | State::Running => "active",
            State::Terminating | State::Killing | State::Stopped => "inactive",
            State::Backoff => "backoff",
            State::Initial | State::Exited => "error",
        }
    }
}

/// Everything known about a service that has been started at least once.
#[derive(Debug)]
pub(crate) struct ServiceData {
    state: State,
    config: Service,
    logs: Arc<LogBuffer>,
    pid: Option<i32>,
    started: Option<oneshot::Sender<Result<(), String>>>,
    stopped: Option<oneshot::Sender<Result<(), String>>>,
    backoff_num: u32,
    backoff_time: Duration,
    restarting: bool,
    current_since: Option<SystemTime>,
    epoch: u64,
    spawn_id: u64,
}

impl ServiceData {
    fn new(name: &str, config: Service) -> ServiceData {
        ServiceData {
            state: State::Initial,
            config,
            logs: LogBuffer::new(name),
            pid: None,
            started: None,
            stopped: None,
            backoff_num: 0,
            backoff_time: Duration::ZERO,
            restarting: false,
            current_since: None,
            epoch: 0,
            spawn_id: 0,
        }
    }

    fn transition(&mut self, state: State) {
        self.transition_restarting(state, false);
    }

    fn transition_restarting(&mut self, state: State, restarting: bool) {
        if self.state.status() != state.status() {
            self.current_since = Some(clock::now());
        }
        self.state = state;
        self.restarting = restarting;
        self.epoch += 1;
    }
}

/// Service names grouped in lanes.
type Lanes = Vec<Vec<String>>;

/// The services the daemon has started (at least once).
#[derive(Debug, Default)]
pub struct ServiceManager {
    services: Mutex<BTreeMap<String, ServiceData>>,
}

/// Why `POST /v1/services` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionError {
    /// 400 with this message.
    BadRequest(String),
    /// 400, kind `no-default-services`.
    NoDefaultServices,
}

impl ServiceManager {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, ServiceData>> {
        self.services.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `GET /v1/services`: the plan's services (filtered by `names` when not empty), sorted.
    pub fn list(&self, plan: &Plan, names: &[String]) -> Vec<Value> {
        let services = self.lock();
        plan.services
            .iter()
            .filter(|(name, _)| names.is_empty() || names.contains(name))
            .map(|(name, config)| {
                let startup = if config.startup == Some(Startup::Enabled) {
                    "enabled"
                } else {
                    "disabled"
                };
                let mut info = json!({"name": name, "startup": startup, "current": "inactive"});
                if let Some(data) = services.get(name) {
                    info["current"] = json!(data.state.status());
                    if let Some(since) = data.current_since {
                        info["current-since"] = json!(clock::rfc3339_nano(since));
                    }
                }
                info
            })
            .collect()
    }

    /// Buffered output of the named services (those ever started), `n` most recent per
    /// service (`None` = all).
    pub fn logs(&self, names: &[String], n: Option<usize>) -> Vec<LogEntry> {
        let services = self.lock();
        names
            .iter()
            .filter_map(|name| services.get(name))
            .flat_map(|data| data.logs.last(n))
            .collect()
    }

    /// The log buffer of a service, if it was ever started (for forwarders).
    pub fn log_buffer(&self, name: &str) -> Option<Arc<LogBuffer>> {
        self.lock().get(name).map(|data| data.logs.clone())
    }

    /// `POST /v1/signals`.
    pub fn send_signal(&self, names: &[String], signal: &str) -> Result<(), String> {
        let services = self.lock();
        let mut errors = Vec::new();
        for name in names {
            let result = match services.get(name) {
                None => Err("service is not running".to_owned()),
                Some(data) => match data.state {
                    State::Starting | State::Running => match signals::number(signal) {
                        None => Err(format!("invalid signal name {signal:?}")),
                        Some(number) => data
                            .pid
                            .ok_or_else(|| "service is not running".to_owned())
                            .and_then(|pid| sys::kill(pid, number).map_err(|e| e.to_string())),
                    },
                    State::Initial => Err(format!("invalid in state {:?}", "initial")),
                    _ => Err("service is not running".to_owned()),
                },
            };
            if let Err(e) = result {
                errors.push(format!("cannot send signal to {name:?}: {e}"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Runs the `on-check-failure` action of every service that names `check`.
    pub fn check_failed(&self, daemon: &Arc<Daemon>, check: &str) {
        let mut services = self.lock();
        for (name, data) in services.iter_mut() {
            if let Some(action) = data.config.on_check_failure.get(check).copied() {
                lifecycle::check_failed(daemon, name, data, action);
            }
        }
    }

    /// Services to stop (changed since they started) and to start (changed, or enabled), in
    /// lanes, as Pebble's replan computes them.
    fn replan(&self, plan: &Plan) -> Result<(Lanes, Lanes), String> {
        let mut services = self.lock();
        let mut restart = BTreeSet::new();
        for (name, data) in services.iter_mut() {
            if let Some(config) = plan.services.get(name) {
                if *config == data.config {
                    continue;
                }
                data.config = config.clone();
            }
            restart.insert(name.clone());
        }
        drop(services);
        let stop: Vec<&str> = restart.iter().map(String::as_str).collect();
        let start: Vec<&str> = plan
            .services
            .iter()
            .filter(|(name, s)| restart.contains(*name) || s.startup == Some(Startup::Enabled))
            .map(|(name, _)| name.as_str())
            .collect();
        let stop_order = plan.stop_order(&stop)?;
        let start_order = plan.start_order(&start)?;
        Ok((
            lanes::lanes(plan, &stop_order),
            lanes::lanes(plan, &start_order),
        ))
    }

    /// Names of services in a state that must be stopped before the daemon exits, in stop
    /// order.
    fn running(&self, plan: &Plan) -> Vec<String> {
        let all: Vec<&str> = plan.services.keys().map(String::as_str).collect();
        let order = plan.stop_order(&all).unwrap_or_default();
        let services = self.lock();
        order
            .into_iter()
            .filter(|name| {
                services.get(name).is_some_and(|d| {
                    matches!(d.state, State::Starting | State::Running | State::Backoff)
                })
            })
            .collect()
    }

    /// Process groups of running services (used as a last resort at exit).
    pub fn process_groups(&self) -> Vec<i32> {
        self.lock().values().filter_map(|d| d.pid).collect()
    }
}

/// Services with `startup: enabled`, with what they require, in start order.
fn default_services(plan: &Plan) -> Result<Vec<String>, String> {
    let enabled: Vec<&str> = plan
        .services
        .iter()
        .filter(|(_, s)| s.startup == Some(Startup::Enabled))
        .map(|(name, _)| name.as_str())
        .collect();
    let order = plan.start_order(&enabled)?;
    Ok(lanes::lanes(plan, &order).into_iter().flatten().collect())
}

fn title(action: &str) -> String {
    let mut chars = action.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `POST /v1/services`: creates the change for `action` on `names` and starts running it;
/// returns the change id.
pub fn service_action(
    daemon: &Arc<Daemon>,
    action: &str,
    mut names: Vec<String>,
) -> Result<String, ActionError> {
    let bad = ActionError::BadRequest;
    let plan = daemon.plan.plan();
    match action {
        "replan" | "autostart" if !names.is_empty() => {
            return Err(bad(format!("{action} accepts no service names")));
        }
        "replan" => {}
        "autostart" => {
            names = default_services(&plan).map_err(bad)?;
            if names.is_empty() {
                return Err(ActionError::NoDefaultServices);
            }
        }
        _ if names.is_empty() => {
            return Err(bad(format!("must specify services for {action} action")));
        }
        _ => {}
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let cannot = |e: String| bad(format!("cannot {action} services: {e}"));
    let mut counted: Vec<String> = Vec::new();
    let (stop, start): (Lanes, Lanes) = match action {
        "start" | "autostart" => {
            let start = lanes::lanes(&plan, &plan.start_order(&refs).map_err(cannot)?);
            counted.extend(start.iter().flatten().cloned());
            (Vec::new(), start)
        }
        "stop" => {
            let stop = lanes::lanes(&plan, &plan.stop_order(&refs).map_err(cannot)?);
            counted.extend(stop.iter().flatten().cloned());
            (stop, Vec::new())
        }
        "restart" => {
            let stop_all = lanes::lanes(&plan, &plan.stop_order(&refs).map_err(cannot)?);
            let stop: Lanes = stop_all
                .into_iter()
                .map(|lane| lane.into_iter().filter(|n| names.contains(n)).collect())
                .filter(|lane: &Vec<String>| !lane.is_empty())
                .collect();
            let start = lanes::lanes(&plan, &plan.start_order(&refs).map_err(cannot)?);
            counted.extend(start.iter().flatten().cloned());
            (stop, start)
        }
        "replan" => {
            let (stop, start) = daemon.services.replan(&plan).map_err(cannot)?;
            let affected: BTreeSet<String> = stop.iter().chain(&start).flatten().cloned().collect();
            names = affected.into_iter().collect();
            counted.clone_from(&names);
            daemon.checks.replan(daemon);
            (stop, start)
        }
        other => return Err(bad(format!("invalid action {other:?}"))),
    };
    Ok(create_change(
        daemon,
        action,
        &names,
        counted.len(),
        stop,
        start,
    ))
}

/// Creates and starts a change stopping then starting services.
fn create_change(
    daemon: &Arc<Daemon>,
    action: &str,
    names: &[String],
    count: usize,
    stop: Lanes,
    start: Lanes,
) -> String {
    if stop.is_empty() && start.is_empty() {
        let summary = format!("{} - no services", title(action));
        return daemon
            .changes
            .create(action, &summary, Vec::new(), Vec::new())
            .0;
    }
    let summary = match count {
        0 | 1 => format!("{} service {:?}", title(action), names[0]),
        n => format!(
            "{} service {:?} and {} more",
            title(action),
            names[0],
            n - 1
        ),
    };
    let mut tasks = Vec::new();
    for name in stop.iter().flatten() {
        tasks.push(NewTask::new("stop", format!("Stop service {name:?}")));
    }
    for name in start.iter().flatten() {
        tasks.push(NewTask::new("start", format!("Start service {name:?}")));
    }
    let (change, task_ids) = daemon
        .changes
        .create(action, &summary, tasks, names.to_vec());
    let mut ids = task_ids.into_iter();
    let mut stage = |op: Op, lanes: Lanes| Stage {
        op,
        lanes: lanes
            .into_iter()
            .map(|lane| {
                lane.into_iter()
                    .map(|name| (ids.next().unwrap_or_default(), name))
                    .collect()
            })
            .collect(),
    };
    let stages = vec![stage(Op::Stop, stop), stage(Op::Start, start)];
    tokio::spawn(lanes::run(daemon.clone(), change.clone(), stages));
    change
}

/// Stops every running service (at daemon exit) and waits for them, at most the longest kill
/// delay plus the SIGKILL wait.
pub async fn stop_all(daemon: &Arc<Daemon>) {
    let plan = daemon.plan.plan();
    let running = daemon.services.running(&plan);
    if running.is_empty() {
        return;
    }
    let lanes = lanes::lanes(&plan, &running);
    let change = create_change(daemon, "stop", &running, running.len(), lanes, Vec::new());
    let longest = plan
        .services
        .values()
        .filter_map(|s| s.kill_delay.as_deref())
        .filter_map(|d| pebble::parse_go_duration(d).ok())
        .fold(super::config::DEFAULT_KILL_DELAY, Duration::max);
    let limit = longest + super::config::FAIL_DELAY + Duration::from_millis(500);
    let _ = daemon.changes.wait(&change, Some(limit)).await;
}
