//! `get-primary`: which unit runs the PostgreSQL primary, from Patroni's view of the cluster.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use juju::{Context, HookTools, SecretGetMode};

use crate::charm::passwords_from_content;
use crate::passwords::app_secret_label;
use crate::patroni::Patroni;

/// Turn a Patroni member name (`<app>-<n>`) into a unit name (`<app>/<n>`).
pub fn unit_of_member(member: &str) -> Option<String> {
    let (app, n) = member.rsplit_once('-')?;
    n.parse::<u32>().ok().map(|n| format!("{app}/{n}"))
}

/// This unit's Patroni, as an action reaches it (`None`: the system passwords are not there
/// yet, the cluster is not initialised).
pub(super) fn unit_patroni(ctx: &Context, tools: &HookTools) -> Result<Option<Patroni>> {
    let passwords = tools
        .secret_get(
            None,
            Some(&app_secret_label(&ctx.app_name)),
            SecretGetMode::Peek,
        )
        .ok()
        .and_then(|c| passwords_from_content(&c));
    let Some(passwords) = passwords else {
        return Ok(None);
    };
    let host = super::passwords::connect_host(ctx, tools)?;
    let api_ca = tools
        .state_get()
        .context("reading the charm's state")?
        .get(crate::charm::API_CA_KEY)
        .cloned();
    crate::charm::patroni_client(&host, &passwords.patroni, api_ca.as_deref()).map(Some)
}

/// `get-primary`.
pub async fn get_primary(ctx: &Context, tools: &HookTools) -> Result<()> {
    let Some(patroni) = unit_patroni(ctx, tools)? else {
        tools.action_fail("The cluster is not initialised yet")?;
        return Ok(());
    };
    let primary = match patroni.cluster().await {
        Ok(cluster) => cluster.leader().and_then(unit_of_member),
        Err(e) => {
            tracing::warn!("reading the cluster: {e:#}");
            None
        }
    };
    match primary {
        Some(unit) => tools.action_set(&BTreeMap::from([("primary".to_string(), unit)]))?,
        None => tools
            .action_fail("Unable to find the primary: Patroni does not answer or has no leader")?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_map_to_units() {
        assert_eq!(
            unit_of_member("postgresql-k8s-0").as_deref(),
            Some("postgresql-k8s/0")
        );
        assert_eq!(unit_of_member("pg-12").as_deref(), Some("pg/12"));
        assert_eq!(unit_of_member("nodash"), None);
    }
}
