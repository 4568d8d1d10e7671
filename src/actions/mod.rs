//! Action handlers, one module per action as they are built. Until then every action of
//! actions.yaml fails with a message that says it is not implemented in this revision.

use anyhow::{Context as _, Result};
use juju::HookTools;

use crate::features;

/// Run the action `name`. Failures the operator must see are reported with `action-fail`;
/// `Err` is kept for failures of the hook tools themselves.
pub async fn run(name: &str, tools: &HookTools) -> Result<()> {
    let message = match features::for_action(name) {
        Some(feature) if !feature.implemented => format!(
            "{name} is not implemented in this revision of the charm ({} is not built yet)",
            feature.name
        ),
        Some(_) => unreachable!("implemented actions are dispatched above"),
        None => format!("unknown action {name:?}: this charm does not define it"),
    };
    tracing::warn!("{message}");
    tools
        .action_fail(&message)
        .context("reporting the action failure")?;
    Ok(())
}
