//! The one place unit and application statuses are computed, from what was observed and applied.

use juju::Status;

use super::apply::{Applied, Holdup};
use super::observe::Observed;

/// The free fraction of the data volume below which the unit is blocked (spec §12).
pub const MIN_FREE_FRACTION: f64 = 0.10;

/// Unit status, and the application status when this unit leads.
pub fn compute_status(observed: &Observed, applied: &Applied) -> (Status, Option<Status>) {
    let unit = unit_status(observed, applied);
    let app = observed.leader.then(|| unit.clone());
    (unit, app)
}

fn unit_status(observed: &Observed, applied: &Applied) -> Status {
    match &applied.holdup {
        Some(Holdup::Blocked(m)) => return Status::blocked(m.clone()),
        Some(Holdup::Waiting(m)) => return Status::waiting(m.clone()),
        Some(Holdup::Maintenance(m)) => return Status::maintenance(m.clone()),
        None => {}
    }
    if observed
        .free_fraction
        .is_some_and(|f| f < MIN_FREE_FRACTION)
    {
        return Status::blocked("<10% free space on pgdata volume.");
    }
    if let Some(reason) = &applied.tls_refused {
        return Status::blocked(reason.clone());
    }
    if let Some(reason) = &applied.clients_refused {
        return Status::blocked(reason.clone());
    }
    if let Some(reason) = &applied.backups_blocked {
        return Status::blocked(reason.clone());
    }
    if applied.primary {
        Status::active("Primary")
    } else {
        Status::active("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charm::observe::{PeerSecret, Store, Workload};
    use crate::config::{Config, Resources};

    fn observed(leader: bool, free: Option<f64>) -> Observed {
        Observed {
            app: "pg".into(),
            namespace: "dev".into(),
            member: "pg-0".into(),
            disabled: false,
            leader,
            config: Ok(Config::defaults()),
            secret: PeerSecret::Missing,
            store: Store::Missing,
            workload: Workload::Unreachable {
                socket: "/nowhere".into(),
            },
            connect_host: "10.0.0.1".into(),
            address: "10.0.0.1".into(),
            resources: Resources {
                cpu_cores: 2,
                memory_bytes: 1 << 30,
            },
            free_fraction: free,
            planned_units: 1,
            state: Default::default(),
            in_kubernetes: false,
            unhandled_endpoint: None,
            peers: Default::default(),
            peers_changed: false,
            s3: Default::default(),
            logging: Default::default(),
        }
    }

    #[test]
    fn holdups_come_first_then_disk_then_role() {
        let mut applied = Applied {
            holdup: Some(Holdup::Waiting("w".into())),
            ..Applied::default()
        };
        assert_eq!(
            compute_status(&observed(false, None), &applied).0,
            Status::waiting("w")
        );
        applied.holdup = Some(Holdup::Blocked("b".into()));
        assert_eq!(
            compute_status(&observed(false, Some(0.01)), &applied).0,
            Status::blocked("b")
        );
        applied.holdup = None;
        applied.primary = true;
        assert_eq!(
            compute_status(&observed(false, Some(0.05)), &applied).0,
            Status::blocked("<10% free space on pgdata volume.")
        );
        let (unit, app) = compute_status(&observed(true, Some(0.5)), &applied);
        assert_eq!(unit, Status::active("Primary"));
        assert_eq!(app, Some(Status::active("Primary")));
        applied.primary = false;
        let (unit, app) = compute_status(&observed(false, None), &applied);
        assert_eq!(unit, Status::active(""));
        assert_eq!(app, None, "only the leader sets the application status");
    }
}
