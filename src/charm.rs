//! The reconcile loop every hook runs: observe → decide → apply → status.
//!
//! `decide` is a pure function of what was observed; the event reaches it only as a fact
//! (which relation, which unit departs). Expected conditions (waiting for the workload, blocked
//! by the operator) are values; `Err` means Juju should retry the hook.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use juju::{Context, Event, HookTools, Status};

use crate::features;
use crate::workload;

/// What one hook run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The operator created `$CHARM_DIR/disable`: do nothing until it is removed.
    pub disabled: bool,
    /// This unit holds leadership.
    pub leader: bool,
    /// What the workload container's Pebble answered.
    pub workload: Workload,
    /// The relation endpoint the event concerns, when it is one this revision does not handle.
    pub unhandled_endpoint: Option<String>,
}

/// The workload container as seen through Pebble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workload {
    /// No Pebble answers on the socket: the container is starting or restarting.
    Unreachable {
        /// The socket that did not answer.
        socket: PathBuf,
    },
    /// Pebble answers.
    Reachable,
}

/// What the unit and application should show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Unit status.
    pub unit_status: Status,
    /// Application status (set by the leader only).
    pub app_status: Option<Status>,
    /// Lines for the operator's log (`juju debug-log`).
    pub notes: Vec<String>,
}

/// How a hook ended, for `main` to turn into an exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The hook did all it could; the status says what remains.
    Done,
}

/// Where to find the workload's Pebble socket.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The directory holding `<container>/pebble.socket`.
    pub containers_dir: PathBuf,
}

/// Decide the end state from what was observed. Pure.
pub fn decide(observed: &Observed) -> Plan {
    let mut notes = Vec::new();
    if let Some(endpoint) = &observed.unhandled_endpoint {
        notes.push(format!(
            "the {endpoint} relation is not implemented in this revision of the charm; \
             its data is ignored"
        ));
    }
    let unit_status = if observed.disabled {
        Status::blocked("Disabled")
    } else {
        match &observed.workload {
            Workload::Unreachable { .. } => {
                Status::waiting("waiting for the postgresql container to start")
            }
            Workload::Reachable => Status::blocked(
                "PostgreSQL bring-up is not implemented in this revision of the charm",
            ),
        }
    };
    let app_status = observed.leader.then(|| unit_status.clone());
    Plan {
        unit_status,
        app_status,
        notes,
    }
}

/// Observe what this hook needs, decide, apply.
pub async fn reconcile(ctx: &Context, tools: &HookTools, paths: &Paths) -> Result<Outcome> {
    let observed = observe(ctx, tools, paths).await?;
    let plan = decide(&observed);
    for note in &plan.notes {
        tracing::info!("{note}");
    }
    if let Workload::Unreachable { socket } = &observed.workload {
        tracing::debug!(socket = %socket.display(), "workload Pebble not reachable");
    }
    tools
        .status_set(false, &plan.unit_status)
        .context("setting the unit status")?;
    if let Some(app) = &plan.app_status {
        tools
            .status_set(true, app)
            .context("setting the application status")?;
    }
    Ok(Outcome::Done)
}

async fn observe(ctx: &Context, tools: &HookTools, paths: &Paths) -> Result<Observed> {
    let disabled = ctx.charm_dir.join("disable").exists();
    let leader = tools.is_leader().context("reading leadership")?;
    let workload = probe_workload(&paths.containers_dir).await?;
    let unhandled_endpoint = match &ctx.event {
        Event::Relation { relation, .. } => features::for_endpoint(&relation.endpoint)
            .filter(|f| !f.implemented)
            .map(|_| relation.endpoint.clone()),
        _ => None,
    };
    Ok(Observed {
        disabled,
        leader,
        workload,
        unhandled_endpoint,
    })
}

async fn probe_workload(containers_dir: &Path) -> Result<Workload> {
    let client = pebble::Client::with_socket_dir(containers_dir, workload::CONTAINER)
        .context("building the Pebble client")?;
    Ok(if client.can_connect().await {
        Workload::Reachable
    } else {
        Workload::Unreachable {
            socket: client.socket_path().to_path_buf(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed() -> Observed {
        Observed {
            disabled: false,
            leader: true,
            workload: Workload::Unreachable {
                socket: "/charm/containers/postgresql/pebble.socket".into(),
            },
            unhandled_endpoint: None,
        }
    }

    #[test]
    fn waits_for_the_workload() {
        let plan = decide(&observed());
        assert_eq!(
            plan.unit_status,
            Status::waiting("waiting for the postgresql container to start")
        );
        assert_eq!(plan.app_status, Some(plan.unit_status.clone()));
        assert!(plan.notes.is_empty());
    }

    #[test]
    fn says_plainly_what_is_not_built() {
        let plan = decide(&Observed {
            workload: Workload::Reachable,
            leader: false,
            unhandled_endpoint: Some("database".into()),
            ..observed()
        });
        assert_eq!(plan.unit_status.name, juju::StatusName::Blocked);
        assert!(plan.unit_status.message.contains("not implemented"));
        assert_eq!(plan.app_status, None);
        assert_eq!(plan.notes.len(), 1);
        assert!(plan.notes[0].contains("database relation is not implemented"));
    }

    #[test]
    fn disabled_wins() {
        let plan = decide(&Observed {
            disabled: true,
            ..observed()
        });
        assert_eq!(plan.unit_status, Status::blocked("Disabled"));
    }
}
