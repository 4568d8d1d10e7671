//! The `database` relation (interface `postgresql_client`, the data-interfaces protocol): what a
//! client asks for, checked at the edge, and what the charm publishes back (spec §7.1).
//!
//! Everything a client writes is untrusted: the database name and role names are held to an
//! allow-list before they reach SQL (where they are quoted anyway), values are size-limited, and
//! a request the charm cannot serve safely is refused with a reason for the status and the log.

use std::collections::{BTreeMap, BTreeSet};

/// The endpoint.
pub const ENDPOINT: &str = "database";

/// The largest value accepted in a client's databag.
pub const MAX_VALUE_LEN: usize = 4096;

/// Keys a data-interfaces requirer may write in its application databag. Anything else is
/// refused: a client that sends what this charm does not understand gets told, rather than a
/// database that silently ignores part of its request.
pub const KNOWN_KEYS: &[&str] = &[
    "database",
    "extra-user-roles",
    "requested-secrets",
    "external-node-connectivity",
    "provided-secrets",
    "entity-type",
    "entity-permissions",
    "extra-group-roles",
    "prefix",
    "prefix-matching",
    "subordinated",
    "alias",
    "requested-entity-secret",
    "data",
];

/// Names no client may have: PostgreSQL's own databases.
const RESERVED_DATABASES: &[&str] = &["postgres", "template0", "template1"];

/// Roles a client may never be granted through `extra-user-roles`: the charm's own users and
/// groups, and PostgreSQL roles that amount to superuser (server files and programs).
const FORBIDDEN_ROLES: &[&str] = &[
    "superuser",
    "operator",
    "replication",
    "rewind",
    "monitoring",
    "backup",
    "postgres",
    "internal_access",
    "identity_access",
    "pg_read_server_files",
    "pg_write_server_files",
    "pg_execute_server_program",
    "pg_signal_backend",
    "pg_checkpoint",
];

/// The access group every client role is a member of (spec §5.3).
pub const RELATION_ACCESS: &str = "relation_access";

/// What `extra-user-roles` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtraRoles {
    /// `admin`: member of the `admin` group role, with `CREATEDB` (the reference's rule).
    pub admin: bool,
    /// `createdb`.
    pub createdb: bool,
    /// `createrole`.
    pub createrole: bool,
    /// Existing roles to grant (checked against the catalog by the caller).
    pub granted: Vec<String>,
}

/// A client's request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseRequest {
    /// The database to create and give access to.
    pub database: String,
    /// Extra roles.
    pub roles: ExtraRoles,
    /// Fields the client wants in Juju secrets (`username`, `password`, `tls`, ...). Empty: a
    /// client that does not use secrets gets the plain databag.
    pub requested_secrets: Vec<String>,
}

impl DatabaseRequest {
    /// Whether the client reads credentials from secrets.
    pub fn uses_secrets(&self) -> bool {
        !self.requested_secrets.is_empty()
    }

    /// Whether the client asked for `read-only-uris`.
    pub fn wants_read_only_uris(&self) -> bool {
        self.requested_secrets.iter().any(|s| s == "read-only-uris")
    }
}

/// Why a request is refused (or not there yet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The client has not asked for a database yet.
    #[error("no database requested yet")]
    NotYet,
    /// The database name is not acceptable.
    #[error("database name refused: {0}")]
    Database(&'static str),
    /// `extra-user-roles` holds something not allowed (the reference's status text).
    #[error("invalid role(s) for extra user roles")]
    Roles(String),
    /// `requested-secrets` is not a JSON list of field names.
    #[error("requested-secrets is not a JSON list of field names")]
    Secrets,
    /// A value is too long.
    #[error("`{0}` is longer than {MAX_VALUE_LEN} bytes")]
    TooLong(String),
    /// A key this charm does not know.
    #[error("unknown field `{0}` in the request")]
    Unknown(String),
    /// An entity (role/group) request, which this charm does not serve (as the reference).
    #[error("entity-type requests are not supported")]
    Entity,
}

/// The role name for a relation (spec §6.1).
pub fn role_name(relation_id: u64) -> String {
    format!("relation_id_{relation_id}")
}

/// The second login of a relation, used by password rotation (it acts as [`role_name`]).
pub fn alternate_role_name(relation_id: u64) -> String {
    format!("relation_id_{relation_id}_alt")
}

/// Check a database name: 1–63 bytes of ASCII letters, digits, `_` and `-`, starting with a
/// letter or `_`, not one of PostgreSQL's own databases and not `pg_`-prefixed.
pub fn check_database_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > 63 {
        return Err("it is longer than 63 bytes");
    }
    let mut chars = name.chars();
    let first = chars.next().unwrap_or('0');
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err("it must start with a letter or _");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("only ASCII letters, digits, _ and - are allowed");
    }
    let lower = name.to_ascii_lowercase();
    if RESERVED_DATABASES.contains(&lower.as_str()) {
        return Err("it is one of PostgreSQL's own databases");
    }
    if lower.starts_with("pg_") {
        return Err("names starting with pg_ are reserved");
    }
    Ok(())
}

fn check_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Parse `extra-user-roles` (comma list, case-insensitive): `admin`, `createdb`, `createrole`,
/// or names of existing roles. `superuser` is refused: a client never gets superuser (DESIGN §6;
/// the reference grants it). So are the charm's own roles and superuser-equivalent ones.
pub fn parse_extra_roles(text: &str) -> Result<ExtraRoles, RequestError> {
    let mut roles = ExtraRoles::default();
    let mut refused = Vec::new();
    for item in text.split(',').map(|s| s.trim().to_ascii_lowercase()) {
        match item.as_str() {
            "" | RELATION_ACCESS => {}
            "admin" => roles.admin = true,
            "createdb" => roles.createdb = true,
            "createrole" => roles.createrole = true,
            name if check_role_name(name) && !FORBIDDEN_ROLES.contains(&name) => {
                if !roles.granted.iter().any(|g| g == name) {
                    roles.granted.push(name.to_string());
                }
            }
            other => refused.push(other.chars().take(64).collect::<String>()),
        }
    }
    if refused.is_empty() {
        Ok(roles)
    } else {
        Err(RequestError::Roles(refused.join(", ")))
    }
}

/// Parse and check a client's application databag.
pub fn parse_request(data: &BTreeMap<String, String>) -> Result<DatabaseRequest, RequestError> {
    for (key, value) in data {
        if !KNOWN_KEYS.contains(&key.as_str()) {
            return Err(RequestError::Unknown(key.chars().take(64).collect()));
        }
        if value.len() > MAX_VALUE_LEN && key != "data" {
            return Err(RequestError::TooLong(key.clone()));
        }
    }
    if data.get("entity-type").is_some_and(|v| !v.is_empty()) {
        return Err(RequestError::Entity);
    }
    let database = match data.get("database") {
        None => return Err(RequestError::NotYet),
        Some(d) if d.is_empty() => return Err(RequestError::NotYet),
        Some(d) => d.clone(),
    };
    check_database_name(&database).map_err(RequestError::Database)?;
    let roles = parse_extra_roles(data.get("extra-user-roles").map_or("", String::as_str))?;
    let requested_secrets = match data.get("requested-secrets") {
        None => Vec::new(),
        Some(text) if text.is_empty() => Vec::new(),
        Some(text) => {
            let list: Vec<String> =
                serde_json::from_str(text).map_err(|_| RequestError::Secrets)?;
            if list.iter().any(|s| s.len() > 64) {
                return Err(RequestError::Secrets);
            }
            list
        }
    };
    Ok(DatabaseRequest {
        database,
        roles,
        requested_secrets,
    })
}

/// The secret groups of the data-interfaces protocol: which published field goes in which
/// secret (labels `database.<id>.<group>.secret`, pointers `secret-<group>`).
pub fn secret_group(field: &str) -> Option<&'static str> {
    match field {
        "username" | "password" | "uris" | "read-only-uris" => Some("user"),
        "tls" | "tls-ca" => Some("tls"),
        _ => None,
    }
}

/// The label of a relation's secret for `group`.
pub fn secret_label(relation_id: u64, group: &str) -> String {
    format!("{ENDPOINT}.{relation_id}.{group}.secret")
}

/// Everything published for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// Plain databag fields (`endpoints`, `read-only-endpoints`, `version`, `database`, and the
    /// secret fields too for a client without secrets).
    pub plain: BTreeMap<String, String>,
    /// Secret content per group (`user`, `tls`), for a client with secrets.
    pub secrets: BTreeMap<&'static str, BTreeMap<String, String>>,
}

/// What to publish for a client.
pub struct Publication<'a> {
    /// The request.
    pub request: &'a DatabaseRequest,
    /// The role.
    pub username: &'a str,
    /// Its password.
    pub password: &'a str,
    /// `host:port` of the primary.
    pub endpoint: &'a str,
    /// `host:port` for reads.
    pub read_only_endpoint: &'a str,
    /// PostgreSQL's version (`15.18`).
    pub version: &'a str,
    /// The CA when TLS is on.
    pub tls_ca: Option<&'a str>,
}

/// A URI with user and password (percent-encoded).
fn uri(user: &str, password: &str, endpoint: &str, database: &str) -> String {
    format!(
        "postgresql://{}:{}@{endpoint}/{database}",
        percent_encode(user),
        percent_encode(password)
    )
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Render what a client gets (spec §7.1 item 6).
pub fn publish(p: &Publication<'_>) -> Published {
    let request = p.request;
    let mut fields = BTreeMap::from([
        ("username".to_string(), p.username.to_string()),
        ("password".to_string(), p.password.to_string()),
        (
            "uris".to_string(),
            uri(p.username, p.password, p.endpoint, &request.database),
        ),
        (
            "tls".to_string(),
            if p.tls_ca.is_some() { "True" } else { "False" }.to_string(),
        ),
        (
            "tls-ca".to_string(),
            p.tls_ca.unwrap_or_default().to_string(),
        ),
    ]);
    if request.wants_read_only_uris() {
        fields.insert(
            "read-only-uris".into(),
            uri(
                p.username,
                p.password,
                p.read_only_endpoint,
                &request.database,
            ),
        );
    }
    let mut plain = BTreeMap::from([
        ("endpoints".to_string(), p.endpoint.to_string()),
        (
            "read-only-endpoints".to_string(),
            p.read_only_endpoint.to_string(),
        ),
        ("version".to_string(), p.version.to_string()),
        ("database".to_string(), request.database.clone()),
    ]);
    let mut secrets: BTreeMap<&'static str, BTreeMap<String, String>> = BTreeMap::new();
    let requested: BTreeSet<&str> = request
        .requested_secrets
        .iter()
        .map(String::as_str)
        .collect();
    for (field, value) in fields {
        match secret_group(&field) {
            Some(group)
                if request.uses_secrets()
                    && (requested.contains(field.as_str()) || group == "user") =>
            {
                secrets.entry(group).or_default().insert(field, value);
            }
            _ => {
                plain.insert(field, value);
            }
        }
    }
    Published { plain, secrets }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::relations::tests::bag;

    #[test]
    fn a_plain_request_parses() {
        let r = parse_request(&bag(&[
            ("database", "app_db"),
            ("extra-user-roles", "Admin, createdb,pg_read_all_data"),
            (
                "requested-secrets",
                r#"["username","password","tls","tls-ca","uris","read-only-uris"]"#,
            ),
        ]))
        .unwrap();
        assert_eq!(r.database, "app_db");
        assert!(r.roles.admin && r.roles.createdb && !r.roles.createrole);
        assert_eq!(r.roles.granted, ["pg_read_all_data"]);
        assert!(r.uses_secrets() && r.wants_read_only_uris());
    }

    #[test]
    fn hostile_and_reserved_names_are_refused() {
        for name in [
            "postgres",
            "TEMPLATE1",
            "template0",
            "pg_catalog2",
            "a\"; DROP TABLE x; --",
            "naïve",
            "has space",
            "1starts_with_digit",
            &"x".repeat(64),
            "",
        ] {
            let err = parse_request(&bag(&[("database", name)]));
            assert!(
                matches!(
                    err,
                    Err(RequestError::Database(_)) | Err(RequestError::NotYet)
                ),
                "{name:?}: {err:?}"
            );
        }
        assert!(parse_request(&bag(&[("database", "with-dash_1")])).is_ok());
        let long = "x".repeat(10_000);
        assert_eq!(
            parse_request(&bag(&[("database", &long)])),
            Err(RequestError::TooLong("database".into()))
        );
    }

    #[test]
    fn roles_beyond_the_allowed_are_refused() {
        for roles in [
            "superuser",
            "operator",
            "pg_execute_server_program",
            "x; drop role y",
            "Ünïcode",
        ] {
            let err = parse_request(&bag(&[("database", "d"), ("extra-user-roles", roles)]));
            assert!(
                matches!(err, Err(RequestError::Roles(_))),
                "{roles}: {err:?}"
            );
            assert_eq!(
                err.unwrap_err().to_string(),
                "invalid role(s) for extra user roles"
            );
        }
    }

    #[test]
    fn malformed_requests_are_refused() {
        assert_eq!(
            parse_request(&bag(&[("database", "d"), ("requested-secrets", "[oops")])),
            Err(RequestError::Secrets)
        );
        assert_eq!(
            parse_request(&bag(&[("database", "d"), ("surprise", "x")])),
            Err(RequestError::Unknown("surprise".into()))
        );
        assert_eq!(
            parse_request(&bag(&[("database", "d"), ("entity-type", "USER")])),
            Err(RequestError::Entity)
        );
        assert_eq!(parse_request(&bag(&[])), Err(RequestError::NotYet));
    }

    #[test]
    fn secrets_hold_the_credentials_when_asked_for() {
        let request = parse_request(&bag(&[
            ("database", "app"),
            (
                "requested-secrets",
                r#"["username","password","uris","tls","tls-ca"]"#,
            ),
        ]))
        .unwrap();
        let p = publish(&Publication {
            request: &request,
            username: "relation_id_7",
            password: "p@ss/word",
            endpoint: "pg-primary.dev.svc.cluster.local:5432",
            read_only_endpoint: "pg-replicas.dev.svc.cluster.local:5432",
            version: "15.18",
            tls_ca: None,
        });
        assert!(!p.plain.values().any(|v| v.contains("p@ss")));
        assert!(!p.plain.contains_key("username"));
        assert_eq!(
            p.plain["endpoints"],
            "pg-primary.dev.svc.cluster.local:5432"
        );
        assert_eq!(p.plain["version"], "15.18");
        let user = &p.secrets["user"];
        assert_eq!(user["password"], "p@ss/word");
        assert_eq!(
            user["uris"],
            "postgresql://relation_id_7:p%40ss%2Fword@pg-primary.dev.svc.cluster.local:5432/app"
        );
        assert_eq!(p.secrets["tls"]["tls"], "False");
        // A client without secrets gets everything in the databag.
        let plain_request = parse_request(&bag(&[("database", "app")])).unwrap();
        let p = publish(&Publication {
            request: &plain_request,
            username: "relation_id_7",
            password: "pw",
            endpoint: "e:5432",
            read_only_endpoint: "e:5432",
            version: "15.18",
            tls_ca: Some("CA"),
        });
        assert!(p.secrets.is_empty());
        assert_eq!(p.plain["password"], "pw");
        assert_eq!(p.plain["tls"], "True");
        assert_eq!(p.plain["tls-ca"], "CA");
    }
}
