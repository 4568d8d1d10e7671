//! The peer relation (`database-peers`) as every unit sees it: the other members' addresses
//! (their replication `pg_hba` lines), the client map the leader shares, and each member's
//! acknowledgement that its `pg_hba` allows the client roles (the reference's `user_hash` gate,
//! spec §7.1 step 2).
//!
//! Reading it costs a hook-tool call per member, so it is read on the peer relation's own events
//! (a member joins, leaves or writes) and kept in the charm's state in between.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use juju::{Context, Event, HookTools, RelationRef, Target};
use serde::{Deserialize, Serialize};

use super::clients::Clients;

/// The peer endpoint.
pub const PEERS: &str = "database-peers";

/// Charm-state key: the last [`PeerView`] read (JSON).
pub const PEERS_KEY: &str = "peers";

/// Peer application key: the client map ([`Clients`], JSON), written by the leader.
pub const CLIENTS_APP_KEY: &str = "clients";

/// Peer unit key: the digest of the client roles this member's loaded `pg_hba` allows.
pub const HBA_HASH_KEY: &str = "hba-users-hash";

/// One other member of the application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The address other members reach it at (host name in Kubernetes, IP elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// What its `pg_hba` allows ([`HBA_HASH_KEY`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hba_hash: Option<String>,
}

/// The peer relation as last read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    /// The relation, once it exists.
    #[serde(default)]
    pub relation: Option<u64>,
    /// The other units, by name.
    #[serde(default)]
    pub members: BTreeMap<String, Member>,
    /// The client map the leader shares.
    #[serde(default)]
    pub clients: Option<Clients>,
    /// What this unit last told the others ([`HBA_HASH_KEY`]).
    #[serde(default)]
    pub own_hba_hash: Option<String>,
}

impl PeerView {
    /// The peer relation's reference.
    pub fn relation_ref(&self) -> Option<RelationRef> {
        self.relation.map(|id| RelationRef {
            endpoint: PEERS.to_string(),
            id,
        })
    }

    /// The other members' addresses, for their replication `pg_hba` lines.
    pub fn hosts(&self) -> Vec<String> {
        self.members
            .values()
            .filter_map(|m| m.host.clone())
            .collect()
    }

    /// The members whose `pg_hba` does not allow the roles in `expected` yet.
    pub fn behind(&self, expected: &str) -> Vec<String> {
        self.members
            .iter()
            .filter(|(_, m)| m.hba_hash.as_deref() != Some(expected))
            .map(|(unit, _)| unit.clone())
            .collect()
    }
}

/// The view from the charm's state, read again from the relation when this hook is about it (or
/// nothing was kept yet).
pub fn observe(
    ctx: &Context,
    tools: &HookTools,
    state: &BTreeMap<String, String>,
) -> Result<(PeerView, bool)> {
    let kept = state
        .get(PEERS_KEY)
        .and_then(|v| serde_json::from_str::<PeerView>(v).ok());
    let peer_event =
        matches!(&ctx.event, Event::Relation { relation, .. } if relation.endpoint == PEERS);
    match kept {
        Some(view) if !peer_event && view.relation.is_some() => Ok((view, false)),
        kept => {
            let fresh = read(ctx, tools, kept.as_ref())?;
            let changed = kept.as_ref() != Some(&fresh);
            Ok((fresh, changed))
        }
    }
}

fn read(ctx: &Context, tools: &HookTools, kept: Option<&PeerView>) -> Result<PeerView> {
    let Some(relation) = tools
        .relation_ids(PEERS)
        .context("finding the peer relation")?
        .into_iter()
        .next()
    else {
        return Ok(PeerView {
            clients: kept.and_then(|k| k.clients.clone()),
            ..PeerView::default()
        });
    };
    let mut view = PeerView {
        relation: Some(relation.id),
        ..PeerView::default()
    };
    // The unit leaving in a departed hook is still listed by some Juju versions: drop it.
    let departing = match &ctx.event {
        Event::Relation {
            kind: juju::RelationEventKind::Departed,
            remote_unit,
            ..
        } => remote_unit.clone(),
        _ => None,
    };
    for unit in tools
        .relation_list(&relation)
        .context("listing the other units")?
    {
        if Some(&unit) == departing.as_ref() {
            continue;
        }
        let data = tools
            .relation_get(&relation, &Target::Unit(unit.clone()))
            .with_context(|| format!("reading {unit}'s peer data"))?;
        let host = if ctx.in_kubernetes {
            Some(format!(
                "{}.{}-endpoints",
                unit.replace('/', "-"),
                ctx.app_name
            ))
        } else {
            data.get("ingress-address")
                .or_else(|| data.get("private-address"))
                .filter(|a| a.parse::<std::net::IpAddr>().is_ok())
                .cloned()
        };
        view.members.insert(
            unit,
            Member {
                host,
                hba_hash: data.get(HBA_HASH_KEY).cloned(),
            },
        );
    }
    let app = tools
        .relation_get(&relation, &Target::App(ctx.app_name.clone()))
        .context("reading the application's peer data")?;
    // Kept when the leader has not shared a map yet (it kept one before the relation existed).
    view.clients = app
        .get(CLIENTS_APP_KEY)
        .and_then(|v| serde_json::from_str(v).ok())
        .or_else(|| kept.and_then(|k| k.clients.clone()));
    // What this unit last wrote is known from its own writes (an unknown value costs one
    // relation-get when it is next written, which compares before writing).
    view.own_hba_hash = kept.and_then(|k| k.own_hba_hash.clone());
    Ok(view)
}

/// The digest of the client roles a `pg_hba` allows (order-independent).
pub fn hba_hash(users: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = users.iter().collect();
    sorted.sort();
    let parts: Vec<&str> = sorted
        .iter()
        .flat_map(|(user, database)| [user.as_str(), database.as_str()])
        .collect();
    super::apply::fingerprint(&parts)[..32].to_string()
}

/// Tell the other units what this unit's loaded `pg_hba` allows (when it changed).
pub fn acknowledge(tools: &HookTools, view: &mut PeerView, hash: &str) -> Result<bool> {
    let Some(relation) = view.relation_ref() else {
        return Ok(false);
    };
    if view.own_hba_hash.as_deref() == Some(hash) {
        return Ok(false);
    }
    tools
        .relation_set(
            &relation,
            false,
            &BTreeMap::from([(HBA_HASH_KEY.to_string(), hash.to_string())]),
        )
        .context("telling the other units what pg_hba allows")?;
    view.own_hba_hash = Some(hash.to_string());
    Ok(true)
}

/// Share the client map with the other units (leader).
pub fn share_clients(tools: &HookTools, view: &mut PeerView, clients: &Clients) -> Result<bool> {
    if view.clients.as_ref() == Some(clients) || (view.clients.is_none() && clients.is_empty()) {
        return Ok(false);
    }
    if let Some(relation) = view.relation_ref() {
        tools
            .relation_set(
                &relation,
                true,
                &BTreeMap::from([(
                    CLIENTS_APP_KEY.to_string(),
                    serde_json::to_string(clients).context("encoding the client map")?,
                )]),
            )
            .context("sharing the client map with the other units")?;
    }
    view.clients = Some(clients.clone());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(u: &str, d: &str) -> (String, String) {
        (u.to_string(), d.to_string())
    }

    #[test]
    fn the_hash_ignores_order_and_separates_fields() {
        let a = hba_hash(&[pair("relation_id_1", "a"), pair("relation_id_2", "b")]);
        let b = hba_hash(&[pair("relation_id_2", "b"), pair("relation_id_1", "a")]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 32);
        assert_ne!(
            hba_hash(&[pair("ab", "c")]),
            hba_hash(&[pair("a", "bc")]),
            "fields must not run into each other"
        );
        assert_ne!(hba_hash(&[]), a);
    }

    #[test]
    fn members_without_the_expected_hash_are_behind() {
        let mut view = PeerView::default();
        view.members.insert(
            "pg/1".into(),
            Member {
                host: Some("10.0.0.2".into()),
                hba_hash: Some("x".into()),
            },
        );
        view.members.insert("pg/2".into(), Member::default());
        assert_eq!(view.behind("x"), vec!["pg/2".to_string()]);
        assert_eq!(view.behind("y").len(), 2);
        assert_eq!(view.hosts(), vec!["10.0.0.2".to_string()]);
    }
}
