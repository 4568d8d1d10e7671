//! Health checks as Pebble runs them: each active check lives in a change, `perform-check`
//! while it is up and `recover-check` once it has failed `threshold` times in a row.
//!
//! - A perform-check run happens every `period` (the first one a period after the start).
//!   Failures below the threshold are logged to the task; at the threshold the services'
//!   `on-check-failure` actions run, the change ends in `Error` and a recover-check change
//!   starts. A success after failures logs `succeeded after N failures`.
//! - In recover-check, failures keep counting; the first success ends the change `Done` and
//!   starts a new perform-check change.
//! - Adding a layer starts new and changed checks at once (unless `startup: disabled`);
//!   replan starts enabled checks that are not running; the API starts and stops them.

mod probe;
mod runner;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use pebble::{Check, CheckLevel, Plan, Startup};
use serde_json::{Value, json};

use super::changes::Status;
use super::service_context::{self, ContextOptions};
use super::state::Daemon;
use super::users::Identity;
use runner::{spawn_change, timing};

/// What the API reports about one check, plus the configuration its change runs with.
#[derive(Debug, Clone)]
struct CheckInfo {
    level: Option<CheckLevel>,
    startup: Startup,
    status: &'static str,
    successes: u64,
    failures: u32,
    threshold: u32,
    change_id: Option<String>,
    prev_change_id: Option<String>,
    config: Check,
}

/// The checks of the plan and their state.
#[derive(Debug, Default)]
pub struct CheckManager {
    checks: Mutex<BTreeMap<String, CheckInfo>>,
}

fn level_name(level: Option<CheckLevel>) -> Option<&'static str> {
    level.map(|l| match l {
        CheckLevel::Alive => "alive",
        CheckLevel::Ready => "ready",
    })
}

/// An exec check's command settings with its `service-context` merged in.
fn merge_context(plan: &Plan, check: &Check) -> Check {
    let Some(exec) = &check.exec else {
        return check.clone();
    };
    if exec.service_context.is_empty() {
        return check.clone();
    }
    let overrides = ContextOptions {
        environment: exec.environment.clone(),
        identity: Identity {
            user_id: exec.user_id,
            user: exec.user.clone(),
            group_id: exec.group_id,
            group: exec.group.clone(),
        },
        working_dir: exec.working_dir.clone(),
    };
    let Ok(merged) = service_context::merge(plan, &exec.service_context, overrides) else {
        return check.clone();
    };
    let mut check = check.clone();
    if let Some(exec) = check.exec.as_mut() {
        exec.environment = merged.environment;
        exec.user_id = merged.identity.user_id;
        exec.user = merged.identity.user;
        exec.group_id = merged.identity.group_id;
        exec.group = merged.identity.group;
        exec.working_dir = merged.working_dir;
    }
    check
}

fn info_for(config: &Check, change_id: Option<String>, failures: u32) -> CheckInfo {
    let status = match &change_id {
        None => "inactive",
        Some(_) if failures >= config.threshold.max(1) => "down",
        Some(_) => "up",
    };
    CheckInfo {
        level: config.level,
        startup: config.startup.unwrap_or(Startup::Enabled),
        status,
        successes: 0,
        failures,
        threshold: config.threshold.max(1),
        change_id,
        prev_change_id: None,
        config: config.clone(),
    }
}

impl CheckManager {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, CheckInfo>> {
        self.checks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The plan changed (boot, or a layer was added): abort changed checks, start new and
    /// changed ones.
    pub fn plan_changed(&self, daemon: &Arc<Daemon>, plan: &Plan) {
        let mut checks = self.lock();
        let mut start = BTreeSet::new();
        let mut running = BTreeSet::new();
        let names: Vec<String> = checks.keys().cloned().collect();
        for name in names {
            let Some(info) = checks.get(&name) else {
                continue;
            };
            let Some(change) = info.change_id.clone() else {
                continue;
            };
            if daemon.changes.is_ready(&change) {
                continue;
            }
            running.insert(name.clone());
            if let Some(config) = plan.checks.get(&name) {
                let merged = merge_context(plan, config);
                if merged == info.config {
                    continue;
                }
                if config.startup == Some(Startup::Disabled)
                    && info.config.startup != Some(Startup::Disabled)
                {
                    continue;
                }
                start.insert(name.clone());
            }
            let _ = daemon.changes.abort(&change);
            checks.remove(&name);
        }
        for (name, config) in &plan.checks {
            if running.contains(name) {
                continue;
            }
            if config.startup == Some(Startup::Disabled) {
                checks.insert(name.clone(), info_for(config, None, 0));
            } else {
                start.insert(name.clone());
            }
        }
        for name in start {
            if let Some(config) = plan.checks.get(&name) {
                let merged = merge_context(plan, config);
                let change = spawn_change(daemon, &name, &merged, false, 0);
                checks.insert(name, info_for(&merged, Some(change), 0));
            }
        }
    }

    /// Replan: start every enabled check that is not running.
    pub fn replan(&self, daemon: &Arc<Daemon>) {
        let plan = daemon.plan.plan();
        let mut checks = self.lock();
        for (name, config) in &plan.checks {
            if config.startup == Some(Startup::Disabled) {
                continue;
            }
            let Some(info) = checks.get_mut(name) else {
                continue;
            };
            if info.change_id.is_some() {
                continue;
            }
            let merged = merge_context(&plan, config);
            let change = spawn_change(daemon, name, &merged, false, 0);
            let prev = info.change_id.take();
            *info = info_for(&merged, Some(change), 0);
            info.prev_change_id = prev;
        }
    }

    /// `POST /v1/checks` start: starts the named checks that are not running; returns them.
    pub fn start(&self, daemon: &Arc<Daemon>, names: &[String]) -> Result<Vec<String>, String> {
        let plan = daemon.plan.plan();
        missing(&plan, names)?;
        let mut checks = self.lock();
        let mut started = Vec::new();
        for name in names {
            let Some(info) = checks.get_mut(name) else {
                continue;
            };
            if info.change_id.is_some() {
                continue;
            }
            let merged = merge_context(&plan, &plan.checks[name]);
            let change = spawn_change(daemon, name, &merged, false, 0);
            *info = info_for(&merged, Some(change), 0);
            started.push(name.clone());
        }
        started.sort();
        started.dedup();
        Ok(started)
    }

    /// `POST /v1/checks` stop: stops the named running checks (counts kept); returns them.
    pub fn stop(&self, daemon: &Arc<Daemon>, names: &[String]) -> Result<Vec<String>, String> {
        let plan = daemon.plan.plan();
        missing(&plan, names)?;
        let mut checks = self.lock();
        let mut stopped = Vec::new();
        for name in names {
            let Some(info) = checks.get_mut(name) else {
                continue;
            };
            let Some(change) = info.change_id.take() else {
                continue;
            };
            let _ = daemon.changes.abort(&change);
            daemon.changes.force_status(&change, Status::Abort);
            info.status = "inactive";
            info.prev_change_id = Some(change);
            stopped.push(name.clone());
        }
        stopped.sort();
        stopped.dedup();
        Ok(stopped)
    }

    /// `GET /v1/checks`: sorted by name, filtered by exact level and names.
    pub fn list(&self, level: Option<CheckLevel>, names: &[String]) -> Vec<Value> {
        self.lock()
            .iter()
            .filter(|(_, info)| level.is_none() || info.level == level)
            .filter(|(name, _)| names.is_empty() || names.contains(name))
            .map(|(name, info)| info_json(name, info))
            .collect()
    }

    /// `GET /v1/health`: false if a matching check is down (`ready` also counts `alive`).
    pub fn healthy(&self, level: Option<CheckLevel>, names: &[String]) -> bool {
        !self.lock().iter().any(|(name, info)| {
            let level_match = match level {
                None => true,
                Some(CheckLevel::Alive) => info.level == Some(CheckLevel::Alive),
                Some(CheckLevel::Ready) => info.level.is_some(),
            };
            level_match && (names.is_empty() || names.contains(name)) && info.status == "down"
        })
    }

    /// `POST /v1/checks/refresh`: runs the check once now; `None` for an unknown check.
    pub async fn refresh(
        &self,
        daemon: &Arc<Daemon>,
        name: &str,
    ) -> Option<(Value, Option<String>)> {
        let config = self.lock().get(name).map(|info| info.config.clone())?;
        let (_, timeout) = timing(&config);
        let error = probe::run(daemon, &config, timeout)
            .await
            .err()
            .map(|f| f.message);
        let info = self.lock().get(name).map(|info| info_json(name, info))?;
        Some((info, error))
    }

    /// Applies `update` to the check's info if `change` is still the check's change.
    fn update_if_current(
        &self,
        name: &str,
        change: &str,
        update: impl FnOnce(&mut CheckInfo),
    ) -> bool {
        let mut checks = self.lock();
        match checks.get_mut(name) {
            Some(info) if info.change_id.as_deref() == Some(change) => {
                update(info);
                true
            }
            _ => false,
        }
    }
}

fn missing(plan: &Plan, names: &[String]) -> Result<(), String> {
    let mut unknown: Vec<&str> = names
        .iter()
        .filter(|n| !plan.checks.contains_key(*n))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    Err(format!(
        "cannot find checks in plan: {}",
        unknown.join(", ")
    ))
}

fn info_json(name: &str, info: &CheckInfo) -> Value {
    let mut value = json!({
        "name": name,
        "startup": if info.startup == Startup::Disabled { "disabled" } else { "enabled" },
        "status": info.status,
        "successes": info.successes,
        "threshold": info.threshold,
    });
    if let Some(level) = level_name(info.level) {
        value["level"] = json!(level);
    }
    if info.failures > 0 {
        value["failures"] = json!(info.failures);
    }
    if let Some(change) = &info.change_id {
        value["change-id"] = json!(change);
    }
    if let Some(prev) = &info.prev_change_id {
        value["prev-change-id"] = json!(prev);
    }
    value
}
