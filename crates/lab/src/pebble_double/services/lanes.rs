//! Service changes: tasks grouped in lanes (services related by `requires` share a lane and
//! run one after the other; lanes run in parallel), stop tasks before start tasks, and what
//! happens to the rest of a lane when one of its tasks fails.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::join_all;
use pebble::Plan;

use super::lifecycle;
use crate::pebble_double::changes::{Status, TaskLog};
use crate::pebble_double::state::Daemon;

/// Groups ordered service names into lanes as Pebble does: a service joins the lane of its
/// own earlier mapping or of one of its `requires`, else opens the lane after the last used.
pub fn lanes(plan: &Plan, ordered: &[String]) -> Vec<Vec<String>> {
    let mut mapping: BTreeMap<String, usize> = BTreeMap::new();
    let mut current: Option<usize> = None;
    let mut max_lane = 0;
    for name in ordered {
        let requires: &[String] = plan
            .services
            .get(name)
            .map_or(&[], |s| s.requires.as_slice());
        let lane = match mapping.get(name) {
            Some(lane) => *lane,
            None => match requires.iter().find_map(|r| mapping.get(r)) {
                Some(lane) => *lane,
                None => current.map_or(0, |c| c + 1),
            },
        };
        mapping.insert(name.clone(), lane);
        for required in requires {
            mapping.insert(required.clone(), lane);
        }
        current = Some(lane);
        max_lane = max_lane.max(lane);
    }
    let mut out = vec![Vec::new(); if ordered.is_empty() { 0 } else { max_lane + 1 }];
    for name in ordered {
        out[mapping[name]].push(name.clone());
    }
    out.retain(|lane| !lane.is_empty());
    out
}

/// What a task does to its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `start`.
    Start,
    /// `stop`.
    Stop,
}

/// One group of lanes; a stage starts only when the previous one has finished.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Start or stop.
    pub op: Op,
    /// Lanes of (task id, service name).
    pub lanes: Vec<Vec<(String, String)>>,
}

/// Runs a service change to the end.
pub async fn run(daemon: Arc<Daemon>, change: String, stages: Vec<Stage>) {
    let mut failed = false;
    for stage in stages {
        if failed {
            for (task, _) in stage.lanes.iter().flatten() {
                daemon.changes.set_task_status(task, Status::Hold);
            }
            continue;
        }
        let runs = stage
            .lanes
            .iter()
            .map(|lane| run_lane(&daemon, &change, stage.op, lane));
        failed = join_all(runs).await.contains(&false);
    }
}

/// Runs one lane; returns whether all its tasks succeeded.
async fn run_lane(daemon: &Arc<Daemon>, change: &str, op: Op, lane: &[(String, String)]) -> bool {
    let abort = daemon.changes.aborted(change);
    for (index, (task, service)) in lane.iter().enumerate() {
        if *abort.borrow() {
            return false;
        }
        daemon.changes.start_task(task);
        let log = TaskLog::new(daemon.changes.clone(), task.clone());
        let result = match op {
            Op::Start => lifecycle::start(daemon, &log, service, abort.clone()).await,
            Op::Stop => lifecycle::stop(daemon, &log, service).await,
        };
        let failed = result.is_err();
        daemon.changes.finish_task(task, result);
        if failed {
            for (later, _) in &lane[index + 1..] {
                daemon.changes.set_task_status(later, Status::Hold);
            }
            for (earlier, _) in &lane[..index] {
                if daemon.changes.task_status(earlier) == Some(Status::Done) {
                    daemon.changes.set_task_status(earlier, Status::Undone);
                }
            }
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(yaml: &str) -> Plan {
        let layer = pebble::Layer::from_yaml(yaml).unwrap();
        Plan::combine([("l", &layer)]).unwrap()
    }

    #[test]
    fn lanes_follow_requires() {
        let plan = plan(
            "services:\n  a: {override: replace, command: x, requires: [b], after: [b]}\n  b: {override: replace, command: x}\n  c: {override: replace, command: x}\n",
        );
        let order = plan.start_order(&["a", "c"]).unwrap();
        assert_eq!(
            lanes(&plan, &order),
            vec![vec!["b".to_owned(), "a".to_owned()], vec!["c".to_owned()]]
        );
        assert!(lanes(&plan, &[]).is_empty());
    }
}
