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

/// The unit the relation renderers' unit tests describe.
#[cfg(test)]
pub fn lab_unit() -> Topology {
    Topology {
        model: "lab".into(),
        model_uuid: "0b8e1f1c-4a2d-4f6e-9c3b-2d1e5f6a7b8c".into(),
        application: "postgresql-k8s".into(),
        unit: "postgresql-k8s/0".into(),
        charm_name: CHARM_NAME.into(),
    }
}
