//! Client applications on the `database` relation (spec §7.1): the leader reads each client's
//! request once (on its relation's events), keeps the role → database map in the charm's state
//! (every unit's `pg_hba` needs it), and on the primary creates the role and database and
//! publishes credentials in Juju secrets. Other relations are not touched by one relation's
//! event, so a hook costs the same with one client or fifty.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use juju::{
    Context, Event, HookTools, RelationEventKind, RelationRef, Secret, SecretContent,
    SecretGetMode, SecretOwner, Target,
};
use serde::{Deserialize, Serialize};

use super::secrets::{put_secret, remove_secret};
use crate::passwords::new_password;
use crate::relations::database::{
    self, DatabaseRequest, ENDPOINT, Publication, RELATION_ACCESS, parse_request, role_name,
};

/// Charm-state key: the clients served ([`Clients`], JSON).
pub const CLIENTS_KEY: &str = "clients";

/// Charm-state key: what was last published to every client ([`Shared`], JSON).
pub const PUBLISHED_KEY: &str = "clients-published";

/// Length of a client role's password (the reference's).
pub const CLIENT_PASSWORD_LEN: usize = 16;

/// One client relation as served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// The application on the other side.
    pub app: String,
    /// Its database.
    pub database: String,
    /// Why its request is refused, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Its credentials were published (false until every unit's `pg_hba` allows the role).
    #[serde(default = "published_default")]
    pub published: bool,
    /// Password rotation's state; absent until the first rotation (the relation's own role is
    /// the login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,
}

/// Which of a relation's two logins is published, and whether the other still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    /// The alternate login ([`database::alternate_role_name`]) is the published one.
    pub alternate: bool,
    /// The other login still works (until `retire-previous`).
    pub previous_valid: bool,
}

impl Client {
    /// The login published to the client.
    pub fn login(&self, relation_id: u64) -> String {
        match self.rotation {
            Some(Rotation {
                alternate: true, ..
            }) => database::alternate_role_name(relation_id),
            _ => role_name(relation_id),
        }
    }

    /// Whether the relation's own role may log in: it is the published login, or the previous
    /// one not retired yet.
    pub fn own_role_logs_in(&self) -> bool {
        match self.rotation {
            Some(r) => !r.alternate || r.previous_valid,
            None => true,
        }
    }
}

/// Entries kept by revisions before the gate were all published.
fn published_default() -> bool {
    true
}

/// Every client relation by id.
pub type Clients = BTreeMap<u64, Client>;

/// What the client relations need from this hook.
#[derive(Debug, Clone, Default)]
pub struct ClientsPlan {
    /// The clients as they will be once this hook is done.
    pub clients: Clients,
    /// Relations whose role, database and publication are (re)done in this hook, with their
    /// requests.
    pub serve: Vec<(RelationRef, DatabaseRequest)>,
    /// Relations gone: their roles are dropped and their secrets removed.
    pub drop: Vec<u64>,
    /// This unit is leaving the application.
    pub departing: bool,
    /// The clients changed: record them.
    pub changed: bool,
}

impl ClientsPlan {
    /// The clients waiting for every unit's `pg_hba` before their credentials are published.
    pub fn pending(&self) -> Vec<u64> {
        self.clients
            .iter()
            .filter(|(_, c)| c.refused.is_none() && !c.published)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The role → database pairs for `pg_hba` (only clients that are served).
    pub fn hba_users(&self) -> Vec<(String, String)> {
        // Both logins of every client, so that a rotation never waits for other units.
        self.clients
            .iter()
            .filter(|(_, c)| c.refused.is_none())
            .flat_map(|(id, c)| {
                [
                    (role_name(*id), c.database.clone()),
                    (database::alternate_role_name(*id), c.database.clone()),
                ]
            })
            .collect()
    }

    /// The first refusal, for the status.
    pub fn refused(&self) -> Option<String> {
        self.clients.values().find_map(|c| c.refused.clone())
    }

    /// Whether the leader has SQL or publishing to do.
    pub fn has_work(&self) -> bool {
        !self.serve.is_empty() || !self.drop.is_empty()
    }
}

/// Read what this hook's event says about the client relations. Only the leader reads and
/// serves requests (spec §7.1); the map it keeps drives its own `pg_hba`.
pub fn plan(
    ctx: &Context,
    tools: &HookTools,
    state: &BTreeMap<String, String>,
    peers: &super::peers::PeerView,
    leader: bool,
) -> Result<ClientsPlan> {
    // The map the leader shares on the peer relation; before it was shared there (an older
    // revision), the one the leader kept in its state.
    let mut plan = ClientsPlan {
        clients: peers
            .clients
            .clone()
            .or_else(|| {
                state
                    .get(CLIENTS_KEY)
                    .and_then(|v| serde_json::from_str(v).ok())
            })
            .unwrap_or_default(),
        ..ClientsPlan::default()
    };
    let Event::Relation {
        relation,
        kind,
        remote_app,
        departing_unit,
        ..
    } = &ctx.event
    else {
        return Ok(plan);
    };
    if relation.endpoint != ENDPOINT || !leader {
        return Ok(plan);
    }
    match kind {
        RelationEventKind::Broken => {
            if plan.clients.remove(&relation.id).is_some() {
                plan.changed = true;
            }
            // A unit leaving the application does not take the clients' roles with it.
            if state.get(DEPARTING_KEY).map(String::as_str) != Some("true") {
                plan.drop.push(relation.id);
            }
        }
        RelationEventKind::Departed => {
            if departing_unit.as_deref() == Some(ctx.unit_name.as_str()) {
                plan.departing = true;
            }
        }
        _ => {
            let data = tools
                .relation_get(relation, &Target::App(remote_app.clone()))
                .context("reading the client's request")?;
            let entry = match parse_request(&data) {
                Ok(request) => {
                    let published = plan.clients.get(&relation.id).is_some_and(|c| {
                        c.published && c.refused.is_none() && c.database == request.database
                    });
                    let entry = Client {
                        app: remote_app.clone(),
                        database: request.database.clone(),
                        refused: None,
                        published,
                        rotation: plan.clients.get(&relation.id).and_then(|c| c.rotation),
                    };
                    plan.serve.push((relation.clone(), request));
                    Some(entry)
                }
                Err(database::RequestError::NotYet) => None,
                Err(e) => {
                    // Never echo the client's data: the error names the field, not its value.
                    if let database::RequestError::Roles(detail) = &e {
                        tracing::warn!(
                            "{remote_app} (relation {}): extra-user-roles refused: {detail}",
                            relation.id
                        );
                    } else {
                        tracing::warn!("{remote_app} (relation {}): {e}", relation.id);
                    }
                    Some(Client {
                        app: remote_app.clone(),
                        database: plan
                            .clients
                            .get(&relation.id)
                            .map(|c| c.database.clone())
                            .unwrap_or_default(),
                        refused: Some(e.to_string()),
                        published: false,
                        rotation: plan.clients.get(&relation.id).and_then(|c| c.rotation),
                    })
                }
            };
            if let Some(entry) = entry
                && plan.clients.get(&relation.id) != Some(&entry)
            {
                plan.clients.insert(relation.id, entry);
                plan.changed = true;
            }
        }
    }
    Ok(plan)
}

/// Charm-state key: this unit is leaving the application (spec §7.1 relation-departed).
pub const DEPARTING_KEY: &str = "departing";

/// What every client is told besides its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    /// `host:port` of the primary.
    pub endpoint: String,
    /// `host:port` for reads.
    pub read_only_endpoint: String,
    /// PostgreSQL's version.
    pub version: String,
    /// The CA when TLS is on.
    pub tls_ca: Option<String>,
}

/// Serve the planned relations on the primary (leader): role, database, publication; drop the
/// roles of relations gone. Returns the number of SQL writes, and a refusal found on the way
/// (an `extra-user-roles` role that does not exist).
pub async fn serve(
    tools: &HookTools,
    sql: &mut tokio_postgres::Client,
    params: &crate::postgres::ConnParams,
    plan: &mut ClientsPlan,
    shared: &Shared,
) -> Result<usize> {
    use crate::postgres::{drop_client_role, ensure_client_database, ensure_role};
    let mut writes = 0;
    for id in &plan.drop {
        for role in [database::alternate_role_name(*id), role_name(*id)] {
            if drop_client_role(sql, params, &role).await? {
                writes += 1;
            }
        }
        forget_secrets(tools, *id)?;
    }
    for (relation, request) in std::mem::take(&mut plan.serve) {
        let role = role_name(relation.id);
        let mut missing = Vec::new();
        for granted in &request.roles.granted {
            if !crate::postgres::role_exists(sql, granted).await? {
                missing.push(granted.clone());
            }
        }
        if !missing.is_empty() {
            tracing::warn!(
                "relation {}: extra-user-roles names roles that do not exist: {}",
                relation.id,
                missing.join(", ")
            );
            if let Some(c) = plan.clients.get_mut(&relation.id) {
                c.refused = Some("invalid role(s) for extra user roles".into());
                plan.changed = true;
            }
            continue;
        }
        let password = current_password(tools, &relation, &request)?
            .unwrap_or_else(|| new_password(CLIENT_PASSWORD_LEN));
        let client = plan.clients.get(&relation.id).cloned();
        let login = client
            .as_ref()
            .map_or_else(|| role.clone(), |c| c.login(relation.id));
        let own_logs_in = client.as_ref().is_none_or(Client::own_role_logs_in);
        let spec = role_spec(&request, own_logs_in, (login == role).then_some(&password));
        writes += ensure_role(sql, &role, &spec)
            .await
            .with_context(|| format!("setting up role {role}"))?
            .writes();
        if login != role {
            writes += crate::postgres::ensure_alternate_login(sql, &login, &role, &password)
                .await
                .with_context(|| format!("setting up login {login}"))?;
        }
        let sharing = plan
            .clients
            .values()
            .filter(|c| c.database == request.database && c.refused.is_none())
            .count();
        writes += ensure_client_database(sql, params, &request.database, &role, sharing <= 1)
            .await
            .with_context(|| format!("setting up database {:?}", request.database))?;
        publish(tools, &relation, &request, &login, &password, shared)?;
        if let Some(c) = plan.clients.get_mut(&relation.id)
            && !c.published
        {
            c.published = true;
            plan.changed = true;
        }
    }
    Ok(writes)
}

/// The role a client's request calls for (spec §7.1 step 3): its `extra-user-roles`, the
/// `relation_access` group, and `LOGIN` with `password` when `login`.
pub fn role_spec<'a>(
    request: &DatabaseRequest,
    login: bool,
    password: Option<&'a Secret>,
) -> crate::postgres::RoleSpec<'a> {
    let mut spec = crate::postgres::RoleSpec {
        login,
        password,
        createdb: request.roles.admin || request.roles.createdb,
        createrole: request.roles.createrole,
        ..crate::postgres::RoleSpec::default()
    };
    spec.member_of.push(RELATION_ACCESS.to_string());
    if request.roles.admin {
        spec.member_of.push("admin".to_string());
    }
    spec.member_of.extend(request.roles.granted.iter().cloned());
    spec
}

/// The password already given to this relation's client, if any.
fn current_password(
    tools: &HookTools,
    relation: &RelationRef,
    request: &DatabaseRequest,
) -> Result<Option<Secret>> {
    if request.uses_secrets() {
        let label = database::secret_label(relation.id, "user");
        return match tools.secret_get(None, Some(&label), SecretGetMode::Peek) {
            Ok(content) => Ok(content.get("password").cloned()),
            Err(e) if e.is_secret_not_found() => Ok(None),
            Err(e) => Err(e).context("reading the client's credentials"),
        };
    }
    let ours = tools
        .relation_get(relation, &Target::App(tools.app_name().to_string()))
        .context("reading what the client was told")?;
    Ok(ours
        .get("password")
        .filter(|p| !p.is_empty())
        .map(|p| Secret::new(p.clone())))
}

/// Publish credentials and endpoints to one client (spec §7.1 item 6).
pub fn publish(
    tools: &HookTools,
    relation: &RelationRef,
    request: &DatabaseRequest,
    role: &str,
    password: &Secret,
    shared: &Shared,
) -> Result<()> {
    let published = database::publish(&Publication {
        request,
        username: role,
        password: password.expose(),
        endpoint: &shared.endpoint,
        read_only_endpoint: &shared.read_only_endpoint,
        version: &shared.version,
        tls_ca: shared.tls_ca.as_deref(),
    });
    let mut data = published.plain;
    for (group, fields) in &published.secrets {
        let label = database::secret_label(relation.id, group);
        let content: SecretContent = fields
            .iter()
            .map(|(k, v)| (k.clone(), Secret::new(v.clone())))
            .collect();
        let stored = put_secret(
            tools,
            &label,
            &format!("credentials of relation {} ({group})", relation.id),
            SecretOwner::Application,
            &content,
        )?;
        if stored.created {
            tools
                .secret_grant(&stored.id, relation.id, None)
                .context("granting the client its credentials")?;
        }
        let id = stored.id;
        data.insert(format!("secret-{group}"), id);
    }
    tools
        .relation_set(relation, true, &data)
        .context("publishing to the client")?;
    tracing::info!(
        "relation {}: {} served database {:?} as {role}",
        relation.id,
        if request.uses_secrets() {
            "credentials in a secret;"
        } else {
            "credentials in the databag (client without secrets);"
        },
        request.database
    );
    Ok(())
}

/// Add every served client to `plan.serve` (their requests read again), because what all of
/// them are told (endpoints, version, TLS) changed.
pub fn republish_all(tools: &HookTools, plan: &mut ClientsPlan) -> Result<()> {
    let ids: Vec<u64> = plan
        .clients
        .iter()
        .filter(|(_, c)| c.refused.is_none())
        .map(|(id, _)| *id)
        .collect();
    add_to_serve(tools, plan, &ids)
}

/// The reference's `user_hash` gate (spec §7.1 step 2): a new client's credentials are published
/// only once every unit has loaded a `pg_hba` that lets its role in. Until then its relation is
/// taken out of this hook's work; once they all have (a later peer relation-changed on the
/// leader), the waiting clients are served.
pub fn gate(
    tools: &HookTools,
    plan: &mut ClientsPlan,
    peers: &super::peers::PeerView,
) -> Result<()> {
    let pending = plan.pending();
    if pending.is_empty() {
        return Ok(());
    }
    let expected = super::peers::hba_hash(&plan.hba_users());
    let behind = peers.behind(&expected);
    if behind.is_empty() {
        return add_to_serve(tools, plan, &pending);
    }
    plan.serve.retain(|(r, _)| !pending.contains(&r.id));
    tracing::info!(
        "credentials for relation(s) {} wait until {} allow the new role(s) in pg_hba",
        pending
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        behind.join(", ")
    );
    Ok(())
}

/// Add the relations `ids` to `plan.serve` (unless there already), their requests read again.
fn add_to_serve(tools: &HookTools, plan: &mut ClientsPlan, ids: &[u64]) -> Result<()> {
    for id in ids {
        if plan.serve.iter().any(|(r, _)| r.id == *id) {
            continue;
        }
        let Some(client) = plan.clients.get(id) else {
            continue;
        };
        let relation = RelationRef {
            endpoint: ENDPOINT.to_string(),
            id: *id,
        };
        let data = tools
            .relation_get(&relation, &Target::App(client.app.clone()))
            .context("reading a client's request")?;
        if let Ok(request) = parse_request(&data) {
            plan.serve.push((relation, request));
        }
    }
    Ok(())
}

/// Remove the secrets of a relation that is gone.
pub fn forget_secrets(tools: &HookTools, relation_id: u64) -> Result<()> {
    for group in ["user", "tls"] {
        remove_secret(tools, &database::secret_label(relation_id, group))?;
    }
    Ok(())
}
