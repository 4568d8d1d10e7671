//! `get-password` and `set-password` (spec §3, §6.3).

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use juju::{Context, HookTools, RelationData, Secret, SecretGetMode, SecretOptions, SecretOwner};

use super::param;
use crate::charm::{self, Passwords, Paths, passwords_from_content, passwords_to_content};
use crate::passwords::{
    PATRONI_USERNAME, SYSTEM_PASSWORD_LEN, SYSTEM_USERS, SystemUser, app_secret_label, new_password,
};

/// The peer app databag key bumped when a password changes, so that every unit re-renders.
pub const PASSWORDS_CHANGED_KEY: &str = "system-passwords-changed";

pub(super) fn read_passwords(tools: &HookTools, app: &str) -> Result<Option<Passwords>> {
    match tools.secret_get(None, Some(&app_secret_label(app)), SecretGetMode::Peek) {
        Ok(content) => Ok(passwords_from_content(&content)),
        Err(e) if e.is_secret_not_found() => Ok(None),
        Err(e) => Err(e).context("reading the system passwords"),
    }
}

/// `get-password [username=operator]`.
pub async fn get_password(ctx: &Context, tools: &HookTools) -> Result<()> {
    let params = tools.action_get()?;
    let username = param(&params, "username").unwrap_or_else(|| "operator".into());
    let allowed: Vec<&str> = SYSTEM_USERS
        .iter()
        .copied()
        .chain([PATRONI_USERNAME])
        .collect();
    if !allowed.contains(&username.as_str()) {
        tools.action_fail(&format!(
            "The action can be run only for system users or Patroni: {} not {username}",
            allowed.join(", ")
        ))?;
        return Ok(());
    }
    let Some(passwords) = read_passwords(tools, &ctx.app_name)? else {
        tools.action_fail(
            "The system passwords have not been created yet: wait for the leader unit to start",
        )?;
        return Ok(());
    };
    let password = match SystemUser::from_username(&username) {
        Some(user) => passwords.system.get(user).clone(),
        None => passwords.patroni.clone(),
    };
    tools.action_set(&BTreeMap::from([(
        "password".to_string(),
        password.expose().to_string(),
    )]))?;
    Ok(())
}

/// Refuse passwords that cannot be stored and used safely.
fn check_password(password: &str) -> Result<(), String> {
    if password.chars().any(char::is_control) {
        return Err("the password must not contain control characters".into());
    }
    if password.len() > 1024 {
        return Err("the password must be at most 1024 bytes".into());
    }
    Ok(())
}

/// `set-password username=<user> [password=<pw>]` (leader only).
pub async fn set_password(ctx: &Context, tools: &HookTools, paths: &Paths) -> Result<()> {
    if !tools.is_leader()? {
        tools.action_fail("The action can be run only on leader unit")?;
        return Ok(());
    }
    let params = tools.action_get()?;
    let Some(username) = param(&params, "username") else {
        tools.action_fail("The action requires a username")?;
        return Ok(());
    };
    let Some(user) = SystemUser::from_username(&username) else {
        tools.action_fail(&format!(
            "The action can be run only for system users: {} not {username}",
            SYSTEM_USERS.join(", ")
        ))?;
        return Ok(());
    };
    let new = match param(&params, "password") {
        Some(p) => {
            if let Err(reason) = check_password(&p) {
                tools.action_fail(&format!("Invalid password: {reason}"))?;
                return Ok(());
            }
            Secret::new(p)
        }
        None => new_password(SYSTEM_PASSWORD_LEN),
    };
    let Some(current) = read_passwords(tools, &ctx.app_name)? else {
        tools.action_fail("The system passwords have not been created yet")?;
        return Ok(());
    };
    if current.system.get(user) == &new {
        tracing::info!("The old and new passwords are equal.");
        return set_result(tools, &new);
    }
    tools.action_log(&format!("changing the password of {username}"))?;

    // The primary must take it first; then the secret, then every file that carries it.
    let Some(conn) = primary_params(ctx, tools, &current).await? else {
        tools.action_fail(
            "Failed changing the password: Not all members healthy or finished initial sync.",
        )?;
        return Ok(());
    };
    let result = async {
        let mut client = crate::postgres::connect(&conn).await?;
        crate::postgres::set_password(&mut client, user.username(), &new).await
    }
    .await;
    if let Err(e) = result {
        tracing::error!("changing the password of {username}: {e:#}");
        tools.action_fail("Failed changing the password.")?;
        return Ok(());
    }
    let mut updated = current.clone();
    match user {
        SystemUser::Backup => updated.system.backup = new.clone(),
        SystemUser::Replication => updated.system.replication = new.clone(),
        SystemUser::Rewind => updated.system.rewind = new.clone(),
        SystemUser::Operator => updated.system.operator = new.clone(),
        SystemUser::Monitoring => updated.system.monitoring = new.clone(),
    }
    // From here the database has the new password: the secret must follow (Juju commits it only
    // if this process exits 0), or the database goes back to the old one.
    let label = app_secret_label(&ctx.app_name);
    let stored = tools.secret_info_get(None, Some(&label)).and_then(|info| {
        tools.secret_set(
            &info.id,
            Some(&passwords_to_content(&updated)),
            &SecretOptions::owned_by(SecretOwner::Application),
        )
    });
    if let Err(e) = stored {
        tracing::error!("storing the new password of {username}: {e}");
        let reverted = async {
            let mut client = crate::postgres::connect(&conn).await?;
            crate::postgres::set_password(&mut client, user.username(), current.system.get(user))
                .await
        }
        .await;
        if let Err(e) = reverted {
            tracing::error!("putting back the old password of {username}: {e:#}");
        }
        tools.action_fail("Failed changing the password: the new password could not be stored.")?;
        return Ok(());
    }
    bump_peers(tools)?;
    if let Err(e) = charm::reconcile(
        ctx,
        tools,
        paths,
        charm::Overrides {
            passwords: Some(updated.clone()),
            ..charm::Overrides::default()
        },
    )
    .await
    {
        // The password is changed and stored; the next hook finishes applying it.
        tracing::error!("applying the new password: {e:#}");
        tools.action_fail(&format!(
            "The password of {username} is changed, but applying it to the workload failed \
             ({e}); a later hook retries"
        ))?;
        return Ok(());
    }
    tools.action_log("the new password is in use")?;
    set_result(tools, &new)
}

fn set_result(tools: &HookTools, password: &Secret) -> Result<()> {
    tools.action_set(&BTreeMap::from([(
        "password".to_string(),
        password.expose().to_string(),
    )]))?;
    Ok(())
}

/// How to reach the primary as `operator` (over TLS when the API was loaded with a CA), once
/// every member is healthy; `None` otherwise (logged).
pub(super) async fn primary_params(
    ctx: &Context,
    tools: &HookTools,
    current: &Passwords,
) -> Result<Option<crate::postgres::ConnParams>> {
    let observed_host = connect_host(ctx, tools)?;
    let api_ca = tools
        .state_get()
        .context("reading the charm's state")?
        .get(charm::API_CA_KEY)
        .cloned();
    let patroni = charm::patroni_client(&observed_host, &current.patroni, api_ca.as_deref())?;
    let cluster = match patroni.cluster().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("reading the cluster: {e:#}");
            return Ok(None);
        }
    };
    let healthy = !cluster.members.is_empty()
        && cluster
            .members
            .iter()
            .all(|m| matches!(m.state.as_str(), "running" | "streaming"));
    let Some(primary) = cluster
        .members
        .iter()
        .find(|m| m.role == "leader")
        .filter(|_| healthy)
    else {
        tracing::warn!("not every member is healthy, or there is no primary");
        return Ok(None);
    };
    let host = if primary.host.is_empty() {
        observed_host.clone()
    } else {
        primary.host.clone()
    };
    let cas: Vec<&str> = api_ca.as_deref().into_iter().collect();
    Ok(Some(crate::postgres::ConnParams::operator(
        &host,
        &host,
        &current.system.operator,
        &cas,
    )?))
}

/// Tell the other units (through the peer relation) that the passwords changed.
fn bump_peers(tools: &HookTools) -> Result<()> {
    let Some(peers) = tools.relation_ids("database-peers")?.into_iter().next() else {
        return Ok(());
    };
    let app = juju::Target::App(tools.app_name().to_string());
    let current = tools.relation_get(&peers, &app)?;
    let next = current
        .get(PASSWORDS_CHANGED_KEY)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + 1;
    let data: RelationData =
        BTreeMap::from([(PASSWORDS_CHANGED_KEY.to_string(), next.to_string())]);
    tools.relation_set(&peers, true, &data)?;
    Ok(())
}

/// The address this member is reached at (the pod's host name in Kubernetes).
pub(super) fn connect_host(ctx: &Context, tools: &HookTools) -> Result<String> {
    if ctx.in_kubernetes {
        return Ok(format!("{}.{}-endpoints", ctx.pod_name(), ctx.app_name));
    }
    Ok(tools
        .network_get("database-peers", None)?
        .bind_address()
        .unwrap_or("127.0.0.1")
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_with_control_characters_are_refused() {
        assert!(check_password("fine-Password_123 with spaces").is_ok());
        assert!(check_password("new\nline").is_err());
        assert!(check_password("nul\0").is_err());
        assert!(check_password(&"x".repeat(1025)).is_err());
    }
}
