//! The legacy `db` and `db-admin` relations (interface `pgsql`): what an old client asks for,
//! checked at the edge, and what the charm publishes back.
//!
//! These endpoints are deprecated (a warning is logged on every change) but still served, as the
//! reference charm does. Old clients write their request in their unit databags rather than the
//! application databag, so the request is merged from both ([`merge_request_data`]) before it is
//! parsed ([`parse_request`]). Everything a client writes is untrusted: values are size-limited,
//! the database name goes through [`check_database_name`], extension names are held to an
//! allow-list, and `roles` is refused outright (clients wanting roles must use the
//! `postgresql_client` interface). No error text carries a client's value, only key names.
//!
//! The same map ([`publish`]) is written to the local application databag and the local unit
//! databag.

use std::collections::{BTreeMap, BTreeSet};

use super::database::{MAX_VALUE_LEN, check_database_name};

pub use super::database::role_name;

/// The legacy client endpoint.
pub const DB: &str = "db";

/// The legacy admin client endpoint (its role is a superuser, as in the reference).
pub const DB_ADMIN: &str = "db-admin";

/// Both legacy endpoints.
pub const ENDPOINTS: &[&str] = &[DB, DB_ADMIN];

/// The keys of a legacy request; anything else a client writes (`private-address`,
/// `egress-subnets`, ...) is not part of the request.
pub const REQUEST_KEYS: &[&str] = &["database", "extensions", "roles"];

/// The longest extension name accepted (PostgreSQL's identifier limit).
const MAX_EXTENSION_LEN: usize = 63;

/// The line logged whenever a legacy endpoint is used (the reference's text).
pub fn deprecation_warning(endpoint: &str) -> String {
    format!("DEPRECATION WARNING - `{endpoint}` is a legacy interface")
}

/// Whether the role of a relation on `endpoint` is a superuser: yes for `db-admin` (the
/// reference's behaviour), no for `db`.
pub fn superuser(endpoint: &str) -> bool {
    endpoint == DB_ADMIN
}

/// Why a legacy request is refused (or not there yet). The Display texts are the status texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgsqlError {
    /// The client has not asked for a database yet.
    #[error("no database requested yet")]
    NotYet,
    /// The client asked for roles, which the legacy interface does not serve (the reference's
    /// status text).
    #[error("roles requested through relation, use postgresql_client interface instead")]
    Roles,
    /// The client asked for extensions that are not enabled in the config (the reference's
    /// status text). Holds the disabled extension names (already checked against the
    /// allow-list, so safe to log).
    #[error("extensions requested through relation")]
    Extensions(Vec<String>),
    /// The database name is not acceptable.
    #[error("database name refused: {0}")]
    Database(&'static str),
    /// A value is too long.
    #[error("`{0}` is longer than {MAX_VALUE_LEN} bytes")]
    TooLong(&'static str),
    /// An extension name is not acceptable.
    #[error("extension name refused")]
    ExtensionName,
}

/// A legacy client's request, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyRequest {
    /// The database to create and give access to.
    pub database: String,
    /// The extensions asked for (names only, no versions), in request order, without
    /// duplicates.
    pub extensions: Vec<String>,
}

/// Merge a request from the remote application databag and the remote units' databags: for each
/// of [`REQUEST_KEYS`], a non-empty application value wins, else the first unit with a non-empty
/// value. Keys with no non-empty value anywhere are left out, and so is everything else.
pub fn merge_request_data(
    app: &BTreeMap<String, String>,
    units: &[BTreeMap<String, String>],
) -> BTreeMap<String, String> {
    let mut merged = BTreeMap::new();
    for key in REQUEST_KEYS {
        let value = std::iter::once(app)
            .chain(units)
            .filter_map(|bag| bag.get(*key))
            .find(|v| !v.is_empty());
        if let Some(value) = value {
            merged.insert((*key).to_string(), value.clone());
        }
    }
    merged
}

fn check_extension_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_EXTENSION_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Parse `extensions`: a comma list whose items are `name` or `name:anything` (a version, which
/// is ignored). Whitespace is trimmed, empty items are skipped, duplicates are dropped; every
/// name must be 1–63 of `[a-z0-9_-]`.
pub fn parse_extensions(text: &str) -> Result<Vec<String>, PgsqlError> {
    let mut names: Vec<String> = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let name = item.split_once(':').map_or(item, |(name, _)| name).trim();
        if !check_extension_name(name) {
            return Err(PgsqlError::ExtensionName);
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

/// Parse and check a legacy request (the output of [`merge_request_data`], or any databag: keys
/// other than [`REQUEST_KEYS`] are ignored).
///
/// Checks, in order: value sizes, `roles` (any non-empty value is refused), `database` (absent or
/// empty: [`PgsqlError::NotYet`]; then [`check_database_name`]), `extensions`.
pub fn parse_request(data: &BTreeMap<String, String>) -> Result<LegacyRequest, PgsqlError> {
    for key in REQUEST_KEYS {
        if data.get(*key).is_some_and(|v| v.len() > MAX_VALUE_LEN) {
            return Err(PgsqlError::TooLong(key));
        }
    }
    if data.get("roles").is_some_and(|v| !v.is_empty()) {
        return Err(PgsqlError::Roles);
    }
    let database = match data.get("database") {
        Some(d) if !d.is_empty() => d.clone(),
        _ => return Err(PgsqlError::NotYet),
    };
    check_database_name(&database).map_err(PgsqlError::Database)?;
    let extensions = parse_extensions(data.get("extensions").map_or("", String::as_str))?;
    Ok(LegacyRequest {
        database,
        extensions,
    })
}

/// Check that every requested extension is enabled; `enabled(name)` says whether the config
/// turns extension `name` on. Refused with the disabled names (deduplicated, in request order).
pub fn check_extensions(
    requested: &[String],
    enabled: impl Fn(&str) -> bool,
) -> Result<(), PgsqlError> {
    let mut disabled: Vec<String> = Vec::new();
    for name in requested {
        if !enabled(name) && !disabled.contains(name) {
            disabled.push(name.clone());
        }
    }
    if disabled.is_empty() {
        Ok(())
    } else {
        Err(PgsqlError::Extensions(disabled))
    }
}

/// What to publish for a legacy client.
pub struct LegacyPublication<'a> {
    /// The database.
    pub database: &'a str,
    /// The extensions requested (names).
    pub extensions: &'a [String],
    /// The role.
    pub user: &'a str,
    /// Its password.
    pub password: &'a str,
    /// The primary's host (for `master`).
    pub primary_host: &'a str,
    /// The replicas' host (for `standbys`).
    pub replicas_host: &'a str,
    /// This unit's host (for `host`).
    pub unit_host: &'a str,
    /// PostgreSQL's port.
    pub port: u16,
    /// PostgreSQL's version (`15.18`).
    pub version: &'a str,
    /// The remote application's name (`fallback_application_name`).
    pub remote_app: &'a str,
    /// The remote units' names.
    pub remote_units: &'a [String],
    /// The remote units' `egress-subnets` values (each possibly a comma list).
    pub egress_subnets: &'a [String],
}

/// Quote a value for a libpq `key=value` connection string: bare when it can be, else in single
/// quotes with `\` and `'` backslash-escaped (empty values and values holding whitespace, `'` or
/// `\` are quoted).
pub fn libpq_value(value: &str) -> String {
    let needs_quotes = value.is_empty()
        || value
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\');
    if !needs_quotes {
        return value.to_string();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

/// A libpq connection string for `host`, keys in the reference's order.
fn connection_string(p: &LegacyPublication<'_>, host: &str) -> String {
    [
        ("dbname", p.database),
        ("fallback_application_name", p.remote_app),
        ("host", host),
        ("password", p.password),
        ("port", &p.port.to_string()),
        ("user", p.user),
    ]
    .iter()
    .map(|(key, value)| format!("{key}={}", libpq_value(value)))
    .collect::<Vec<_>>()
    .join(" ")
}

/// The remote units' egress subnets: split, trimmed, deduplicated, sorted, joined with `,`.
fn allowed_subnets(egress_subnets: &[String]) -> String {
    egress_subnets
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(",")
}

/// Render what a legacy client gets: the same map goes to the local application databag and the
/// local unit databag.
pub fn publish(p: &LegacyPublication<'_>) -> BTreeMap<String, String> {
    let units: BTreeSet<&str> = p.remote_units.iter().map(String::as_str).collect();
    BTreeMap::from([
        (
            "allowed-subnets".to_string(),
            allowed_subnets(p.egress_subnets),
        ),
        (
            "allowed-units".to_string(),
            units.into_iter().collect::<Vec<_>>().join(" "),
        ),
        ("host".to_string(), p.unit_host.to_string()),
        ("master".to_string(), connection_string(p, p.primary_host)),
        (
            "standbys".to_string(),
            connection_string(p, p.replicas_host),
        ),
        ("port".to_string(), p.port.to_string()),
        ("user".to_string(), p.user.to_string()),
        ("password".to_string(), p.password.to_string()),
        ("database".to_string(), p.database.to_string()),
        ("extensions".to_string(), p.extensions.join(",")),
        ("version".to_string(), p.version.to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::relations::tests::bag;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// A small libpq connection-string parser (libpq's `conninfo_parse` rules): whitespace
    /// separates `key=value` pairs; a value is either bare (up to whitespace, `\` escapes) or
    /// single-quoted (`\` escapes, `'` ends it).
    fn parse_conninfo(text: &str) -> Vec<(String, String)> {
        let mut pairs = Vec::new();
        let mut chars = text.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            if chars.peek().is_none() {
                return pairs;
            }
            let mut key = String::new();
            for c in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            let mut value = String::new();
            if chars.peek() == Some(&'\'') {
                chars.next();
                loop {
                    match chars.next().expect("unterminated quoted value") {
                        '\\' => value.push(chars.next().expect("dangling escape")),
                        '\'' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    chars.next();
                    if c == '\\' {
                        value.push(chars.next().expect("dangling escape"));
                    } else {
                        value.push(c);
                    }
                }
            }
            pairs.push((key, value));
        }
    }

    fn publication<'a>(
        password: &'a str,
        extensions: &'a [String],
        units: &'a [String],
        subnets: &'a [String],
    ) -> LegacyPublication<'a> {
        LegacyPublication {
            database: "app_db",
            extensions,
            user: "relation_id_3",
            password,
            primary_host: "pg-primary.dev.svc.cluster.local",
            replicas_host: "pg-replicas.dev.svc.cluster.local",
            unit_host: "pg-0.pg-endpoints",
            port: 5432,
            version: "15.18",
            remote_app: "legacy-app",
            remote_units: units,
            egress_subnets: subnets,
        }
    }

    #[test]
    fn endpoints_warning_and_superuser() {
        assert_eq!(ENDPOINTS, ["db", "db-admin"]);
        assert_eq!(
            deprecation_warning(DB),
            "DEPRECATION WARNING - `db` is a legacy interface"
        );
        assert_eq!(
            deprecation_warning(DB_ADMIN),
            "DEPRECATION WARNING - `db-admin` is a legacy interface"
        );
        assert!(superuser(DB_ADMIN));
        assert!(!superuser(DB));
        assert_eq!(role_name(3), "relation_id_3");
    }

    #[test]
    fn a_missing_database_is_not_yet() {
        assert_eq!(parse_request(&bag(&[])), Err(PgsqlError::NotYet));
        assert_eq!(
            parse_request(&bag(&[("database", ""), ("extensions", "citext")])),
            Err(PgsqlError::NotYet)
        );
        assert_eq!(
            parse_request(&bag(&[("private-address", "10.0.0.1")])),
            Err(PgsqlError::NotYet)
        );
    }

    #[test]
    fn roles_are_refused_with_the_reference_text() {
        for roles in ["admin", "x", "superuser; drop role y"] {
            let err = parse_request(&bag(&[("database", "app"), ("roles", roles)])).unwrap_err();
            assert_eq!(err, PgsqlError::Roles);
            assert_eq!(
                err.to_string(),
                "roles requested through relation, use postgresql_client interface instead"
            );
        }
        // Refused even before a database is asked for.
        assert_eq!(
            parse_request(&bag(&[("roles", "admin")])),
            Err(PgsqlError::Roles)
        );
        // An empty `roles` is no request.
        assert!(parse_request(&bag(&[("database", "app"), ("roles", "")])).is_ok());
    }

    #[test]
    fn hostile_database_names_are_refused() {
        let ten_kb = "x".repeat(10_000);
        for name in [
            "postgres",
            "template1",
            "TEMPLATE0",
            "a'b",
            "a\"b",
            "a; DROP DATABASE postgres; --",
            "naïve",
            "数据库",
            "has space",
            "pg_catalog",
            &"x".repeat(64),
        ] {
            let err = parse_request(&bag(&[("database", name)])).unwrap_err();
            assert!(matches!(err, PgsqlError::Database(_)), "{name:?}: {err:?}");
            assert!(
                err.to_string().starts_with("database name refused: "),
                "{err}"
            );
            if name.len() > 3 {
                assert!(!err.to_string().contains(name), "{err}");
            }
        }
        let err = parse_request(&bag(&[("database", &ten_kb)])).unwrap_err();
        assert_eq!(err, PgsqlError::TooLong("database"));
        assert_eq!(err.to_string(), "`database` is longer than 4096 bytes");
        assert_eq!(
            parse_request(&bag(&[("database", "d"), ("extensions", &ten_kb)])),
            Err(PgsqlError::TooLong("extensions"))
        );
        assert_eq!(
            parse_request(&bag(&[("database", "d"), ("roles", &ten_kb)])),
            Err(PgsqlError::TooLong("roles"))
        );
        assert!(parse_request(&bag(&[("database", "with-dash_1")])).is_ok());
    }

    #[test]
    fn extensions_parse_names_and_drop_versions() {
        let r = parse_request(&bag(&[
            ("database", "app"),
            (
                "extensions",
                " citext:1.6 , pg_trgm,, hstore : 1.8 ,citext, uuid-ossp,",
            ),
            ("private-address", "10.1.2.3"),
        ]))
        .unwrap();
        assert_eq!(r.database, "app");
        assert_eq!(r.extensions, ["citext", "pg_trgm", "hstore", "uuid-ossp"]);
        assert_eq!(parse_extensions("").unwrap(), Vec::<String>::new());
        assert_eq!(parse_extensions(" , ,").unwrap(), Vec::<String>::new());
        for bad in [
            "Citext",
            "pg trgm",
            "x;drop",
            "ünï",
            ":1.0",
            "a'b",
            &"e".repeat(64),
        ] {
            let err = parse_request(&bag(&[("database", "app"), ("extensions", bad)]));
            assert_eq!(err, Err(PgsqlError::ExtensionName), "{bad:?}");
        }
        assert_eq!(
            PgsqlError::ExtensionName.to_string(),
            "extension name refused"
        );
    }

    #[test]
    fn disabled_extensions_are_refused_with_the_reference_text() {
        let requested = strings(&["citext", "postgis", "pg_trgm", "postgis"]);
        let enabled = |name: &str| name == "citext" || name == "pg_trgm";
        let err = check_extensions(&requested, enabled).unwrap_err();
        assert_eq!(err, PgsqlError::Extensions(strings(&["postgis"])));
        assert_eq!(err.to_string(), "extensions requested through relation");
        assert_eq!(check_extensions(&requested, |_| true), Ok(()));
        assert_eq!(check_extensions(&[], |_| false), Ok(()));
    }

    #[test]
    fn unit_data_fills_in_for_the_application() {
        let app = bag(&[("database", ""), ("extensions", "citext")]);
        let units = [
            bag(&[
                ("private-address", "10.0.0.1"),
                ("egress-subnets", "10.0.0.1/32"),
                ("ingress-address", "10.0.0.1"),
            ]),
            bag(&[("database", "from_unit1"), ("extensions", "hstore")]),
            bag(&[("database", "from_unit2"), ("roles", "admin")]),
        ];
        let merged = merge_request_data(&app, &units);
        assert_eq!(
            merged,
            bag(&[
                ("database", "from_unit1"),
                ("extensions", "citext"),
                ("roles", "admin"),
            ])
        );
        // The application wins when it has a value.
        let app = bag(&[("database", "from_app")]);
        assert_eq!(merge_request_data(&app, &units)["database"], "from_app");
        // Nothing anywhere: nothing merged.
        assert!(merge_request_data(&BTreeMap::new(), &units[..1]).is_empty());
        assert!(merge_request_data(&BTreeMap::new(), &[]).is_empty());
    }

    #[test]
    fn publication_has_exactly_the_reference_keys() {
        let extensions = strings(&["citext", "pg_trgm"]);
        let units = strings(&["legacy-app/1", "legacy-app/0"]);
        let subnets = strings(&["10.1.0.5/32", "10.1.0.4/32"]);
        let data = publish(&publication("secret", &extensions, &units, &subnets));
        let keys: Vec<&str> = data.keys().map(String::as_str).collect();
        let mut expected = vec![
            "allowed-subnets",
            "allowed-units",
            "host",
            "master",
            "standbys",
            "port",
            "user",
            "password",
            "database",
            "extensions",
            "version",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(
            data["master"],
            "dbname=app_db fallback_application_name=legacy-app \
             host=pg-primary.dev.svc.cluster.local password=secret port=5432 user=relation_id_3"
        );
        assert_eq!(
            data["standbys"],
            "dbname=app_db fallback_application_name=legacy-app \
             host=pg-replicas.dev.svc.cluster.local password=secret port=5432 user=relation_id_3"
        );
        assert_eq!(data["allowed-units"], "legacy-app/0 legacy-app/1");
        assert_eq!(data["allowed-subnets"], "10.1.0.4/32,10.1.0.5/32");
        assert_eq!(data["host"], "pg-0.pg-endpoints");
        assert_eq!(data["port"], "5432");
        assert_eq!(data["user"], "relation_id_3");
        assert_eq!(data["password"], "secret");
        assert_eq!(data["database"], "app_db");
        assert_eq!(data["extensions"], "citext,pg_trgm");
        assert_eq!(data["version"], "15.18");
        // No extensions, no units: empty values, same keys.
        let empty = publish(&publication("secret", &[], &[], &[]));
        assert_eq!(empty.len(), expected.len());
        assert_eq!(empty["extensions"], "");
        assert_eq!(empty["allowed-units"], "");
        assert_eq!(empty["allowed-subnets"], "");
    }

    #[test]
    fn passwords_are_quoted_per_libpq() {
        let data = publish(&publication("it's a pass", &[], &[], &[]));
        assert_eq!(
            data["master"],
            "dbname=app_db fallback_application_name=legacy-app \
             host=pg-primary.dev.svc.cluster.local password='it\\'s a pass' port=5432 \
             user=relation_id_3"
        );
        assert_eq!(data["password"], "it's a pass");
        assert_eq!(libpq_value("plain"), "plain");
        assert_eq!(libpq_value("a=b"), "a=b");
        assert_eq!(libpq_value(""), "''");
        assert_eq!(libpq_value("back\\slash"), "'back\\\\slash'");
        assert_eq!(libpq_value("tab\there"), "'tab\there'");
    }

    #[test]
    fn tricky_values_round_trip_through_a_libpq_parser() {
        for password in [
            "simple",
            "with space",
            "it's",
            "back\\slash",
            "\\'",
            "'",
            "\\",
            "",
            " leading and trailing ",
            "new\nline",
            "tab\t",
            "a=b c=d",
            "dbname=postgres user=postgres",
            "ünïcødé ✓",
        ] {
            let data = publish(&publication(password, &[], &[], &[]));
            for key in ["master", "standbys"] {
                let pairs = parse_conninfo(&data[key]);
                let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
                assert_eq!(
                    keys,
                    [
                        "dbname",
                        "fallback_application_name",
                        "host",
                        "password",
                        "port",
                        "user"
                    ],
                    "{password:?} in {key}: {}",
                    data[key]
                );
                assert_eq!(pairs[3].1, password, "{key}: {}", data[key]);
                assert_eq!(pairs[0].1, "app_db");
                assert_eq!(pairs[4].1, "5432");
                assert_eq!(pairs[5].1, "relation_id_3");
            }
        }
    }

    #[test]
    fn allowed_subnets_are_split_deduplicated_and_sorted() {
        let subnets = strings(&[
            "10.1.0.9/32, 10.1.0.4/32",
            "10.1.0.4/32",
            "",
            " 10.0.0.0/24 ,,10.1.0.9/32",
        ]);
        let units = strings(&["b/0", "a/1", "a/0"]);
        let data = publish(&publication("pw", &[], &units, &subnets));
        assert_eq!(
            data["allowed-subnets"],
            "10.0.0.0/24,10.1.0.4/32,10.1.0.9/32"
        );
        assert_eq!(data["allowed-units"], "a/0 a/1 b/0");
    }
}
