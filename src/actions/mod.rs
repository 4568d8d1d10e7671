//! Action handlers. Operator-facing failures are reported with `action-fail` (the message says
//! what was wrong); `Err` is kept for failures of the hook tools themselves.

mod backups;
mod clients;
mod passwords;
mod primary;
mod tls;

use anyhow::{Context as _, Result};
use juju::{Context, HookTools};

use crate::charm::Paths;
use crate::features;

/// Run the action of `ctx`'s event.
pub async fn run(ctx: &Context, tools: &HookTools, paths: &Paths, name: &str) -> Result<()> {
    match name {
        "create-backup" => backups::create_backup(ctx, tools, paths, &tools.action_get()?).await,
        "list-backups" => backups::list_backups(tools, paths).await,
        "restore" => backups::restore(ctx, tools, paths, &tools.action_get()?).await,
        "get-password" => passwords::get_password(ctx, tools).await,
        "set-password" => passwords::set_password(ctx, tools, paths).await,
        "get-primary" => primary::get_primary(ctx, tools).await,
        "rotate-client-password" => clients::rotate_client_password(ctx, tools).await,
        "set-tls-private-key" => tls::set_tls_private_key(ctx, tools, paths).await,
        _ => not_built(tools, name),
    }
}

fn not_built(tools: &HookTools, name: &str) -> Result<()> {
    let message = match features::for_action(name) {
        Some(feature) => format!(
            "{name} is not implemented in this revision of the charm ({} is not built yet)",
            feature.name
        ),
        None => format!("unknown action {name:?}: this charm does not define it"),
    };
    tracing::warn!("{message}");
    tools
        .action_fail(&message)
        .context("reporting the action failure")?;
    Ok(())
}

/// A string parameter, `None` when absent or empty.
fn param(params: &serde_json::Value, name: &str) -> Option<String> {
    params
        .get(name)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}
