//! Where this unit runs, as the COS libraries name it (cosl's `JujuTopology`): the labels the
//! metrics, dashboards and log forwarding all carry.

use juju::Context;

/// The charm's name in metadata.yaml (the libraries' `charm.meta.name`).
pub const CHARM_NAME: &str = "postgresql-k8s";

/// The Juju topology of a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Model name.
    pub model: String,
    /// Model UUID.
    pub model_uuid: String,
    /// Application name.
    pub application: String,
    /// This unit's name (`app/0`).
    pub unit: String,
    /// The charm's name in metadata.yaml.
    pub charm_name: String,
}

impl Topology {
    /// This unit's topology.
    pub fn of(ctx: &Context) -> Topology {
        Topology {
            model: ctx.model_name.clone(),
            model_uuid: ctx.model_uuid.clone(),
            application: ctx.app_name.clone(),
            unit: ctx.unit_name.clone(),
            charm_name: CHARM_NAME.to_string(),
        }
    }
}
