//! `rotate-client-password`: a new password for one client relation with no downtime (beyond
//! the reference).
//!
//! PostgreSQL keeps one password per role, so every client relation has two logins: its own role
//! `relation_id_<id>` (which owns its objects) and `relation_id_<id>_alt`, a member of it whose
//! sessions act as it (`ALTER ROLE … SET role`). Both are in every unit's `pg_hba` from the
//! start. A rotation sets a fresh password on the login not published now, then publishes that
//! login (a new revision of the client's secret, or its databag): clients that read their
//! credentials again use it, clients that have not yet keep working with the previous login.
//! `retire-previous=true` then ends the previous login (`NOLOGIN`, no password, its sessions
//! closed) — the moment the operator chooses, once the clients have moved.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use juju::{Context, HookTools, RelationRef, Target};

use super::passwords::{primary_params, read_passwords};
use crate::charm::clients::{
    self, CLIENT_PASSWORD_LEN, PUBLISHED_KEY, Rotation, Shared, publish, role_spec,
};
use crate::charm::peers;
use crate::passwords::new_password;
use crate::relations::database::{ENDPOINT, alternate_role_name, parse_request, role_name};

/// `rotate-client-password relation-id=<id> [retire-previous=true]` (leader only).
pub async fn rotate_client_password(ctx: &Context, tools: &HookTools) -> Result<()> {
    if !tools.is_leader()? {
        tools.action_fail("The action can be run only on leader unit")?;
        return Ok(());
    }
    let params = tools.action_get()?;
    let Some(id) = params.get("relation-id").and_then(|v| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    }) else {
        tools.action_fail(
            "The action requires relation-id: the id of a database relation (juju show-unit shows them)",
        )?;
        return Ok(());
    };
    let retire = params
        .get("retire-previous")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    let state = tools.state_get().context("reading the charm's state")?;
    let (mut view, _) = peers::observe(ctx, tools, &state)?;
    let mut map = clients::plan(ctx, tools, &state, &view, true, Default::default())?.clients;
    let Some(mut client) = map.get(&id).cloned() else {
        tools.action_fail(&format!(
            "relation {id} is not a database relation this application serves"
        ))?;
        return Ok(());
    };
    if client.endpoint.is_some() {
        tools.action_fail(&format!(
            "relation {id} is a legacy db/db-admin relation: rotation is for database relations"
        ))?;
        return Ok(());
    }
    if client.refused.is_some() || !client.published {
        tools.action_fail(&format!(
            "relation {id} has no credentials yet: its request is refused or still waiting"
        ))?;
        return Ok(());
    }
    let Some(passwords) = read_passwords(tools, &ctx.app_name)? else {
        tools.action_fail("The system passwords have not been created yet")?;
        return Ok(());
    };
    let Some(conn) = primary_params(ctx, tools, &passwords).await? else {
        tools.action_fail(
            "Failed rotating the password: Not all members healthy or finished initial sync.",
        )?;
        return Ok(());
    };
    let mut sql = match crate::postgres::connect(&conn).await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("connecting to the primary: {e:#}");
            tools.action_fail("Failed rotating the password: the primary cannot be reached.")?;
            return Ok(());
        }
    };
    let published = client.login(id);
    let other = if published == role_name(id) {
        alternate_role_name(id)
    } else {
        role_name(id)
    };
    let mut results = BTreeMap::new();

    if retire {
        let rotation = client.rotation.filter(|r| r.previous_valid);
        let Some(mut rotation) = rotation else {
            results.insert(
                "message".into(),
                format!("nothing to retire: only {published} can log in"),
            );
            tools.action_set(&results)?;
            return Ok(());
        };
        tools.action_log(&format!("retiring {other}"))?;
        let ended = match crate::postgres::retire_login(&mut sql, &other).await {
            Ok(n) => n.unwrap_or(0),
            Err(e) => {
                tracing::error!("retiring {other}: {e:#}");
                tools.action_fail(&format!("Failed retiring {other}."))?;
                return Ok(());
            }
        };
        rotation.previous_valid = false;
        client.rotation = Some(rotation);
        map.insert(id, client);
        record(tools, &mut view, &map)?;
        results.insert("retired".into(), other.clone());
        results.insert("sessions-ended".into(), ended.to_string());
        results.insert(
            "message".into(),
            format!("{other} can no longer log in; {published} is the only login"),
        );
        tools.action_set(&results)?;
        return Ok(());
    }

    let relation = RelationRef {
        endpoint: ENDPOINT.to_string(),
        id,
    };
    let request = match tools
        .relation_get(&relation, &Target::App(client.app.clone()))
        .context("reading the client's request")
        .map(|data| parse_request(&data))?
    {
        Ok(r) => r,
        Err(e) => {
            tools.action_fail(&format!(
                "relation {id}: the client's request is refused ({e})"
            ))?;
            return Ok(());
        }
    };
    let Some(shared) = state
        .get(PUBLISHED_KEY)
        .and_then(|v| serde_json::from_str::<Shared>(v).ok())
    else {
        tools.action_fail("the clients' endpoints are not known yet: retry after the next hook")?;
        return Ok(());
    };
    let to_alternate = other != role_name(id);
    let password = new_password(CLIENT_PASSWORD_LEN);
    tools.action_log(&format!("setting a new password on {other}"))?;
    let set = if to_alternate {
        crate::postgres::ensure_alternate_login(&mut sql, &other, &role_name(id), &password)
            .await
            .map(|_| ())
    } else {
        crate::postgres::ensure_role(
            &mut sql,
            &other,
            &role_spec(&request, true, Some(&password)),
        )
        .await
        .map(|_| ())
    };
    if let Err(e) = set {
        tracing::error!("setting the password of {other}: {e:#}");
        tools.action_fail(&format!("Failed setting the password of {other}."))?;
        return Ok(());
    }
    tools.action_log(&format!("publishing {other} to {}", client.app))?;
    publish(tools, &relation, &request, &other, &password, &shared)?;
    client.rotation = Some(Rotation {
        alternate: to_alternate,
        previous_valid: true,
    });
    map.insert(id, client);
    record(tools, &mut view, &map)?;
    results.insert("username".into(), other.clone());
    results.insert("previous-username".into(), published.clone());
    results.insert(
        "message".into(),
        format!(
            "clients that read their credentials now get {other}; {published} keeps working \
             until rotate-client-password relation-id={id} retire-previous=true"
        ),
    );
    tools.action_set(&results)?;
    Ok(())
}

/// Keep the client map: shared on the peer relation, and in this unit's state.
fn record(tools: &HookTools, view: &mut peers::PeerView, map: &clients::Clients) -> Result<()> {
    peers::share_clients(tools, view, map)?;
    tools
        .state_set(&BTreeMap::from([(
            peers::PEERS_KEY.to_string(),
            serde_json::to_string(view).context("encoding the peer view")?,
        )]))
        .context("recording the client map")?;
    Ok(())
}
