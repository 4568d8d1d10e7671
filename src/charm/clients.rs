//! Client applications on the `database` relation (spec §7.1): the leader reads each client's
//! request once (on its relation's events), keeps the role → database map in the charm's state
//! (every unit's `pg_hba` needs it), and on the primary creates the role and database and
//! publishes credentials in Juju secrets. Other relations are not touched by one relation's
//! event, so a hook costs the same with one client or fifty.

use std::collections::{BTreeMap, BTreeSet};

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
use crate::relations::pgsql;

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
    /// The endpoint when it is a legacy one (`db`, `db-admin`); absent for `database`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
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
    pub serve: Vec<(RelationRef, Request)>,
    /// Extensions the config enables (what legacy clients may ask for).
    pub extensions: BTreeSet<String>,
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

    /// The role → database pairs for `pg_hba`: clients served, and clients whose new request
    /// is refused but who were served before (they keep what they had).
    pub fn hba_users(&self) -> Vec<(String, String)> {
        // Both logins of every client, so that a rotation never waits for other units.
        self.clients
            .iter()
            .filter(|(_, c)| c.refused.is_none() || c.published)
            .flat_map(|(id, c)| {
                [
                    (role_name(*id), c.database.clone()),
                    (database::alternate_role_name(*id), c.database.clone()),
                ]
            })
            .collect()
    }

    /// The first refusal, for the status; clients on both `database` and a legacy endpoint
    /// first (spec §7.3).
    pub fn refused(&self) -> Option<String> {
        let legacy = self.clients.values().any(|c| c.endpoint.is_some());
        let modern = self.clients.values().any(|c| c.endpoint.is_none());
        if legacy && modern {
            return Some(
                "Please choose one endpoint to use. No need to relate all of them simultaneously!"
                    .into(),
            );
        }
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
    extensions: BTreeSet<String>,
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
        extensions,
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
    let legacy = pgsql::ENDPOINTS.contains(&relation.endpoint.as_str());
    if legacy {
        tracing::warn!("{}", pgsql::deprecation_warning(&relation.endpoint));
    }
    if !(relation.endpoint == ENDPOINT || legacy) || !leader {
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
        RelationEventKind::Departed
            if !legacy || departing_unit.as_deref() == Some(ctx.unit_name.as_str()) =>
        {
            if departing_unit.as_deref() == Some(ctx.unit_name.as_str()) {
                plan.departing = true;
            }
        }
        // Legacy clients are told which of their units are allowed: a departure changes that.
        _ => {
            let previous = plan.clients.get(&relation.id);
            let entry = match read_request(tools, relation, remote_app, &plan.extensions)? {
                Read::Request(request) => {
                    let published =
                        previous.is_some_and(|c| c.published && c.database == request.database());
                    let entry = Client {
                        app: remote_app.clone(),
                        database: request.database().to_string(),
                        refused: None,
                        published,
                        endpoint: legacy.then(|| relation.endpoint.clone()),
                        rotation: previous.and_then(|c| c.rotation),
                    };
                    plan.serve.push((relation.clone(), request));
                    Some(entry)
                }
                Read::NotYet => None,
                // A client already served keeps what it has (its role, database and pg_hba
                // line); only the new request is refused.
                Read::Refused(reason) => Some(Client {
                    app: remote_app.clone(),
                    database: previous.map(|c| c.database.clone()).unwrap_or_default(),
                    refused: Some(reason),
                    published: previous.is_some_and(|c| c.published),
                    endpoint: legacy.then(|| relation.endpoint.clone()),
                    rotation: previous.and_then(|c| c.rotation),
                }),
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

/// A client's request, checked.
#[derive(Debug, Clone)]
pub enum Request {
    /// On `database` (data-interfaces).
    Database(DatabaseRequest),
    /// On `db` or `db-admin` (pgsql).
    Legacy(LegacyClient),
}

impl Request {
    /// The database asked for.
    pub fn database(&self) -> &str {
        match self {
            Request::Database(r) => &r.database,
            Request::Legacy(l) => &l.request.database,
        }
    }
}

/// A legacy client's request and what it is told about itself.
#[derive(Debug, Clone)]
pub struct LegacyClient {
    /// `db` or `db-admin`.
    pub endpoint: String,
    /// The request.
    pub request: pgsql::LegacyRequest,
    /// Its units (`allowed-units`).
    pub units: Vec<String>,
    /// Their egress subnets (`allowed-subnets`).
    pub subnets: Vec<String>,
}

/// What reading a request gave.
enum Read {
    Request(Request),
    NotYet,
    /// Refused, with the status text (the client's values are never in it).
    Refused(String),
}

/// Read and check the request on `relation` from `app` (and, for a legacy client, its units).
fn read_request(
    tools: &HookTools,
    relation: &RelationRef,
    app: &str,
    extensions: &BTreeSet<String>,
) -> Result<Read> {
    let data = tools
        .relation_get(relation, &Target::App(app.to_string()))
        .context("reading the client's request")?;
    if !pgsql::ENDPOINTS.contains(&relation.endpoint.as_str()) {
        return Ok(match parse_request(&data) {
            Ok(request) => Read::Request(Request::Database(request)),
            Err(database::RequestError::NotYet) => Read::NotYet,
            Err(e) => {
                // Never echo the client's data: the error names the field, not its value.
                if let database::RequestError::Roles(detail) = &e {
                    tracing::warn!(
                        "{app} (relation {}): extra-user-roles refused: {detail}",
                        relation.id
                    );
                } else {
                    tracing::warn!("{app} (relation {}): {e}", relation.id);
                }
                Read::Refused(e.to_string())
            }
        });
    }
    let units = tools
        .relation_list(relation)
        .context("listing the client's units")?;
    let mut bags = Vec::with_capacity(units.len());
    for unit in &units {
        bags.push(
            tools
                .relation_get(relation, &Target::Unit(unit.clone()))
                .with_context(|| format!("reading {unit}'s data"))?,
        );
    }
    let subnets = bags
        .iter()
        .filter_map(|b| b.get("egress-subnets").cloned())
        .collect();
    let merged = pgsql::merge_request_data(&data, &bags);
    let checked = pgsql::parse_request(&merged).and_then(|request| {
        pgsql::check_extensions(&request.extensions, |e| extensions.contains(e))?;
        Ok(request)
    });
    Ok(match checked {
        Ok(request) => Read::Request(Request::Legacy(LegacyClient {
            endpoint: relation.endpoint.clone(),
            request,
            units,
            subnets,
        })),
        Err(pgsql::PgsqlError::NotYet) => Read::NotYet,
        Err(e) => {
            if let pgsql::PgsqlError::Extensions(names) = &e {
                tracing::warn!(
                    "{app} (relation {}): extensions not enabled in the config: {}",
                    relation.id,
                    names.join(", ")
                );
            } else {
                tracing::warn!("{app} (relation {}): {e}", relation.id);
            }
            Read::Refused(e.to_string())
        }
    })
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
    /// This unit's host name (legacy clients' `host`).
    #[serde(default)]
    pub unit_host: String,
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
        let client = plan.clients.get(&relation.id).cloned();
        let (login, password) = match &request {
            Request::Database(request) => {
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
                let password = current_password(tools, &relation, request)?
                    .unwrap_or_else(|| new_password(CLIENT_PASSWORD_LEN));
                let login = client
                    .as_ref()
                    .map_or_else(|| role.clone(), |c| c.login(relation.id));
                let own_logs_in = client.as_ref().is_none_or(Client::own_role_logs_in);
                let spec = role_spec(request, own_logs_in, (login == role).then_some(&password));
                writes += ensure_role(sql, &role, &spec)
                    .await
                    .with_context(|| format!("setting up role {role}"))?
                    .writes();
                if login != role {
                    writes +=
                        crate::postgres::ensure_alternate_login(sql, &login, &role, &password)
                            .await
                            .with_context(|| format!("setting up login {login}"))?;
                }
                (login, password)
            }
            Request::Legacy(legacy) => {
                // The password given before, kept in this unit's bag (the pgsql protocol has
                // no secrets).
                let password = told_password(
                    tools,
                    &relation,
                    &Target::Unit(tools.unit_name().to_string()),
                )?
                .unwrap_or_else(|| new_password(CLIENT_PASSWORD_LEN));
                let spec = crate::postgres::RoleSpec {
                    login: true,
                    superuser: pgsql::superuser(&legacy.endpoint),
                    member_of: vec![RELATION_ACCESS.to_string()],
                    password: Some(&password),
                    ..crate::postgres::RoleSpec::default()
                };
                writes += ensure_role(sql, &role, &spec)
                    .await
                    .with_context(|| format!("setting up role {role}"))?
                    .writes();
                (role.clone(), password)
            }
        };
        let database = request.database();
        let sharing = plan
            .clients
            .values()
            .filter(|c| c.database == database && c.refused.is_none())
            .count();
        writes += ensure_client_database(sql, params, database, &role, sharing <= 1)
            .await
            .with_context(|| format!("setting up database {database:?}"))?;
        match &request {
            Request::Database(request) => {
                publish(tools, &relation, request, &login, &password, shared)?;
            }
            Request::Legacy(legacy) => {
                publish_legacy(tools, &relation, legacy, &role, &password, shared)?;
            }
        }
        if let Some(c) = plan.clients.get_mut(&relation.id)
            && !c.published
        {
            c.published = true;
            plan.changed = true;
        }
    }
    Ok(writes)
}

/// Publish to a legacy client (spec §7.2): the same map in this application's and this unit's
/// bags.
fn publish_legacy(
    tools: &HookTools,
    relation: &RelationRef,
    legacy: &LegacyClient,
    role: &str,
    password: &Secret,
    shared: &Shared,
) -> Result<()> {
    let host = |endpoint: &str| {
        endpoint
            .rsplit_once(':')
            .map_or(endpoint, |(h, _)| h)
            .to_string()
    };
    let remote_app = legacy
        .units
        .first()
        .and_then(|u| u.split('/').next())
        .unwrap_or_default()
        .to_string();
    let data = pgsql::publish(&pgsql::LegacyPublication {
        database: &legacy.request.database,
        extensions: &legacy.request.extensions,
        user: role,
        password: password.expose(),
        primary_host: &host(&shared.endpoint),
        replicas_host: &host(&shared.read_only_endpoint),
        unit_host: &shared.unit_host,
        port: crate::workload::PG_PORT,
        version: &shared.version,
        remote_app: &remote_app,
        remote_units: &legacy.units,
        egress_subnets: &legacy.subnets,
    });
    for app in [true, false] {
        tools
            .relation_set(relation, app, &data)
            .context("publishing to the legacy client")?;
    }
    tracing::info!(
        "relation {} ({}): served database {:?} as {role}",
        relation.id,
        legacy.endpoint,
        legacy.request.database
    );
    Ok(())
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
    told_password(tools, relation, &Target::App(tools.app_name().to_string()))
}

/// The `password` this charm put in its own bag (`target`) on `relation`, if any.
fn told_password(
    tools: &HookTools,
    relation: &RelationRef,
    target: &Target,
) -> Result<Option<Secret>> {
    Ok(tools
        .relation_get(relation, target)
        .context("reading what the client was told")?
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
            endpoint: client
                .endpoint
                .clone()
                .unwrap_or_else(|| ENDPOINT.to_string()),
            id: *id,
        };
        let app = client.app.clone();
        if let Read::Request(request) = read_request(tools, &relation, &app, &plan.extensions)? {
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
