//! Running one check change: a `perform-check` that ends in `Error` at the failure
//! threshold (starting a `recover-check`), or a `recover-check` that ends `Done` at the first
//! success (starting a new `perform-check`).

use std::sync::Arc;
use std::time::Duration;

use pebble::{Check, parse_go_duration};

use super::{CheckManager, probe};
use crate::pebble_double::changes::{self, NewTask, TaskLog};
use crate::pebble_double::config::{DEFAULT_CHECK_PERIOD, DEFAULT_CHECK_TIMEOUT};
use crate::pebble_double::state::Daemon;

/// `HTTP`, `TCP` or `exec`, as change summaries say it.
fn check_type(check: &Check) -> &'static str {
    if check.http.is_some() {
        "HTTP"
    } else if check.tcp.is_some() {
        "TCP"
    } else if check.exec.is_some() {
        "exec"
    } else {
        "<unknown>"
    }
}

/// Period and timeout (capped at the period).
pub(super) fn timing(config: &Check) -> (Duration, Duration) {
    let parse = |value: &Option<String>, default| {
        value
            .as_deref()
            .and_then(|text| parse_go_duration(text).ok())
            .filter(|d| !d.is_zero())
            .unwrap_or(default)
    };
    let period = parse(&config.period, DEFAULT_CHECK_PERIOD);
    let timeout = parse(&config.timeout, DEFAULT_CHECK_TIMEOUT).min(period);
    (period, timeout)
}

/// Creates a perform-check (or recover-check) change for `name` and starts running it.
pub(super) fn spawn_change(
    daemon: &Arc<Daemon>,
    name: &str,
    config: &Check,
    recover: bool,
    failures: u32,
) -> String {
    let (kind, verb) = if recover {
        ("recover-check", "Recover")
    } else {
        ("perform-check", "Perform")
    };
    let summary = format!("{verb} {} check {name:?}", check_type(config));
    let (change, tasks) = daemon.changes.create(
        kind,
        &summary,
        vec![NewTask::new(kind, summary.clone())],
        Vec::new(),
    );
    let task = tasks.into_iter().next().unwrap_or_default();
    let run = CheckRun {
        daemon: daemon.clone(),
        name: name.to_owned(),
        config: config.clone(),
        change: change.clone(),
        task,
    };
    tokio::spawn(async move {
        if recover {
            run.recover(failures).await;
        } else {
            run.perform().await;
        }
    });
    change
}

/// One running check change.
struct CheckRun {
    daemon: Arc<Daemon>,
    name: String,
    config: Check,
    change: String,
    task: String,
}

impl CheckRun {
    /// Waits for the next tick and runs the check; `None` when the change was aborted.
    async fn next(&self, ticker: &mut tokio::time::Interval) -> Option<Result<(), probe::Failure>> {
        let mut abort = self.daemon.changes.aborted(&self.change);
        let (_, timeout) = timing(&self.config);
        tokio::select! {
            _ = ticker.tick() => {}
            true = changes::raised(&mut abort) => return None,
        }
        tokio::select! {
            result = probe::run(&self.daemon, &self.config, timeout) => {
                if *abort.borrow() { None } else { Some(result) }
            }
            true = changes::raised(&mut abort) => None,
        }
    }

    fn ticker(&self) -> tokio::time::Interval {
        let (period, _) = timing(&self.config);
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker
    }

    fn checks(&self) -> &CheckManager {
        &self.daemon.checks
    }

    async fn perform(self) {
        self.daemon.changes.start_task(&self.task);
        let log = TaskLog::new(self.daemon.changes.clone(), self.task.clone());
        let threshold = self.config.threshold.max(1);
        let mut ticker = self.ticker();
        let mut failures: u32 = 0;
        loop {
            let Some(result) = self.next(&mut ticker).await else {
                self.daemon.changes.finish_task(&self.task, Ok(()));
                return;
            };
            match result {
                Ok(()) => {
                    let had = failures;
                    failures = 0;
                    self.checks()
                        .update_if_current(&self.name, &self.change, |info| {
                            info.successes += 1;
                            info.failures = 0;
                            info.status = "up";
                        });
                    if had > 0 {
                        let plural = if had == 1 { "failure" } else { "failures" };
                        log.info(format!("succeeded after {had} {plural}"));
                    }
                }
                Err(failure) if failures + 1 < threshold => {
                    failures += 1;
                    self.checks()
                        .update_if_current(&self.name, &self.change, |info| {
                            info.failures = failures;
                        });
                    log.error(with_details(&failure));
                }
                Err(failure) => {
                    failures += 1;
                    self.daemon.services.check_failed(&self.daemon, &self.name);
                    let current = self
                        .checks()
                        .update_if_current(&self.name, &self.change, |_| {});
                    if current {
                        let next =
                            spawn_change(&self.daemon, &self.name, &self.config, true, failures);
                        self.checks()
                            .update_if_current(&self.name, &self.change, |info| {
                                info.status = "down";
                                info.failures = failures;
                                info.successes = 0;
                                info.prev_change_id = info.change_id.replace(next);
                            });
                    }
                    self.daemon
                        .changes
                        .finish_task(&self.task, Err(failure.message));
                    return;
                }
            }
        }
    }

    async fn recover(self, mut failures: u32) {
        self.daemon.changes.start_task(&self.task);
        let log = TaskLog::new(self.daemon.changes.clone(), self.task.clone());
        let mut ticker = self.ticker();
        loop {
            let Some(result) = self.next(&mut ticker).await else {
                self.daemon.changes.finish_task(&self.task, Ok(()));
                return;
            };
            match result {
                Err(failure) => {
                    failures += 1;
                    self.checks()
                        .update_if_current(&self.name, &self.change, |info| {
                            info.failures = failures;
                        });
                    log.error(with_details(&failure));
                }
                Ok(()) => {
                    let current = self
                        .checks()
                        .update_if_current(&self.name, &self.change, |_| {});
                    if current {
                        let next = spawn_change(&self.daemon, &self.name, &self.config, false, 0);
                        self.checks()
                            .update_if_current(&self.name, &self.change, |info| {
                                info.status = "up";
                                info.failures = 0;
                                info.successes = 1;
                                info.prev_change_id = info.change_id.replace(next);
                            });
                    }
                    self.daemon.changes.finish_task(&self.task, Ok(()));
                    return;
                }
            }
        }
    }
}

fn with_details(failure: &probe::Failure) -> String {
    if failure.details.is_empty() {
        failure.message.clone()
    } else {
        format!("{}; {}", failure.message, failure.details)
    }
}
