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
    if applied.primary {
        Status::active("Primary")
    } else {
        Status::active("")
    }
}
