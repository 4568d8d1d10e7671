//! Roles: create or converge one role (attributes, memberships, password), read first, write only
//! what differs.
//!
//! Passwords reach the server only as SCRAM verifiers ([`super::scram`]), inside a transaction
//! that first turns statement logging off for itself, so neither the password nor the verifier
//! is written to the server log.

use std::collections::BTreeSet;

use anyhow::Context;
use juju::Secret;
use tokio_postgres::Client;

use super::quote::{check_ident, quote_ident, quote_literal};
use super::scram::{new_scram_verifier, verifier_matches};

/// Session settings applied with `SET LOCAL` before a statement that carries a verifier: no
/// statement logging of any kind (including the text of a failing statement, duration and sampled
/// logging), no query text in `pg_stat_activity` (which `pg_monitor` members can read) and no
/// `pg_stat_statements` entry. `SET LOCAL` ends with the transaction. Sent as its own simple
/// query, before the statement: the server decides whether to log a query string before running
/// any of it.
const QUIET: &str = "SET LOCAL log_statement = 'none'; \
    SET LOCAL log_min_duration_statement = -1; \
    SET LOCAL log_min_duration_sample = -1; \
    SET LOCAL log_transaction_sample_rate = 0; \
    SET LOCAL log_min_error_statement = 'panic'; \
    SET LOCAL track_activities = off; \
    SET LOCAL pg_stat_statements.track_utility = off";

/// The wanted state of one role. Fields not listed here are left as they are.
#[derive(Debug, Clone, Default)]
pub struct RoleSpec<'a> {
    /// `LOGIN` (else `NOLOGIN`).
    pub login: bool,
    /// `SUPERUSER`.
    pub superuser: bool,
    /// `CREATEDB`.
    pub createdb: bool,
    /// `CREATEROLE`.
    pub createrole: bool,
    /// `REPLICATION`.
    pub replication: bool,
    /// Roles this role must be a member of. Memberships are only added: one granted by someone
    /// else is left alone.
    pub member_of: Vec<String>,
    /// The password; `None` leaves the current one (or its absence) untouched.
    pub password: Option<&'a Secret>,
}

impl<'a> RoleSpec<'a> {
    /// A `NOLOGIN` group role with no other attribute.
    pub fn group() -> RoleSpec<'a> {
        RoleSpec::default()
    }

    /// A `LOGIN` role with this password and no other attribute.
    pub fn login(password: &'a Secret) -> RoleSpec<'a> {
        RoleSpec {
            login: true,
            password: Some(password),
            ..RoleSpec::default()
        }
    }

    fn attributes(&self) -> [(bool, &'static str, &'static str); 5] {
        [
            (self.login, "LOGIN", "NOLOGIN"),
            (self.superuser, "SUPERUSER", "NOSUPERUSER"),
            (self.createdb, "CREATEDB", "NOCREATEDB"),
            (self.createrole, "CREATEROLE", "NOCREATEROLE"),
            (self.replication, "REPLICATION", "NOREPLICATION"),
        ]
    }
}

/// What [`ensure_role`] changed. All empty/false means nothing was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleChange {
    /// The role did not exist and was created.
    pub created: bool,
    /// Attribute keywords applied to an existing role (`SUPERUSER`, `NOLOGIN`, …).
    pub altered: Vec<&'static str>,
    /// Roles it was granted membership of.
    pub granted: Vec<String>,
    /// A new password verifier was stored.
    pub password_set: bool,
}

impl RoleChange {
    /// True when anything was written.
    pub fn changed(&self) -> bool {
        self.writes() > 0
    }

    /// The number of SQL statements that changed something.
    pub fn writes(&self) -> usize {
        usize::from(self.created)
            + usize::from(!self.altered.is_empty())
            + self.granted.len()
            + usize::from(self.password_set)
    }
}

/// A role as it is in the catalog.
#[derive(Debug)]
struct CurrentRole {
    login: bool,
    superuser: bool,
    createdb: bool,
    createrole: bool,
    replication: bool,
    member_of: BTreeSet<String>,
    /// `pg_authid.rolpassword`: a verifier, not a password, but kept out of logs all the same.
    verifier: Option<Secret>,
}

/// The statements that take a role from `current` to `spec`, except the password one, and what
/// they change. Pure, so the decisions are tested without a server.
fn plan(name: &str, spec: &RoleSpec, current: Option<&CurrentRole>) -> (Vec<String>, RoleChange) {
    let mut statements = Vec::new();
    let mut change = RoleChange::default();
    let role = quote_ident(name);
    match current {
        None => {
            let attrs: Vec<_> = spec
                .attributes()
                .iter()
                .map(|&(on, yes, no)| if on { yes } else { no })
                .collect();
            statements.push(format!("CREATE ROLE {role} WITH {}", attrs.join(" ")));
            change.created = true;
        }
        Some(cur) => {
            let have = [
                cur.login,
                cur.superuser,
                cur.createdb,
                cur.createrole,
                cur.replication,
            ];
            for ((want, yes, no), have) in spec.attributes().into_iter().zip(have) {
                if want != have {
                    change.altered.push(if want { yes } else { no });
                }
            }
            if !change.altered.is_empty() {
                statements.push(format!(
                    "ALTER ROLE {role} WITH {}",
                    change.altered.join(" ")
                ));
            }
        }
    }
    let member_of: BTreeSet<&str> = spec.member_of.iter().map(String::as_str).collect();
    for group in member_of {
        if current.is_none_or(|cur| !cur.member_of.contains(group)) {
            statements.push(format!("GRANT {} TO {role}", quote_ident(group)));
            change.granted.push(group.to_owned());
        }
    }
    change.password_set = spec.password.is_some_and(|pw| {
        current
            .and_then(|cur| cur.verifier.as_ref())
            .is_none_or(|stored| !verifier_matches(stored.expose(), pw.expose()))
    });
    (statements, change)
}

/// `ALTER ROLE "<name>" WITH PASSWORD '<verifier>'`, as a secret.
fn password_statement(name: &str, verifier: &str) -> anyhow::Result<Secret> {
    let literal = quote_literal(verifier).context("quoting the password verifier")?;
    Ok(Secret::new(format!(
        "ALTER ROLE {} WITH PASSWORD {literal}",
        quote_ident(name)
    )))
}

async fn read_role(client: &Client, name: &str) -> anyhow::Result<Option<CurrentRole>> {
    let row = client
        .query_opt(
            "SELECT a.rolcanlogin, a.rolsuper, a.rolcreatedb, a.rolcreaterole, a.rolreplication, \
             a.rolpassword, ARRAY(SELECT g.rolname::text FROM pg_catalog.pg_auth_members m \
             JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = a.oid) \
             FROM pg_catalog.pg_authid a WHERE a.rolname = $1",
            &[&name],
        )
        .await
        .with_context(|| format!("reading role {name:?} from pg_authid"))?;
    Ok(row.map(|row| CurrentRole {
        login: row.get(0),
        superuser: row.get(1),
        createdb: row.get(2),
        createrole: row.get(3),
        replication: row.get(4),
        verifier: row.get::<_, Option<String>>(5).map(Secret::new),
        member_of: row.get::<_, Vec<String>>(6).into_iter().collect(),
    }))
}

/// Bring role `name` to `spec`: `CREATE ROLE` if it is missing, `ALTER ROLE` for the attributes
/// that differ, `GRANT` for missing memberships, and a new SCRAM verifier only when the stored
/// one does not match the password. All of it in one transaction; nothing is written when the
/// role already matches. Needs a superuser connection (it reads `pg_authid`).
#[tracing::instrument(name = "sql.role", skip_all, fields(role = %name))]
pub async fn ensure_role(
    client: &mut Client,
    name: &str,
    spec: &RoleSpec<'_>,
) -> anyhow::Result<RoleChange> {
    check_ident(name)?;
    for group in &spec.member_of {
        check_ident(group)?;
    }
    let current = read_role(client, name).await?;
    let (statements, change) = plan(name, spec, current.as_ref());
    if !change.changed() {
        return Ok(change);
    }
    let tx = client
        .transaction()
        .await
        .with_context(|| format!("starting the transaction for role {name:?}"))?;
    if let (true, Some(password)) = (change.password_set, spec.password) {
        tx.batch_execute(QUIET)
            .await
            .context("turning statement logging off")?;
        // The verifier is computed only now, when it will be written: a fresh salt each time.
        let statement = password_statement(name, &new_scram_verifier(password.expose()))?;
        for sql in &statements {
            tx.batch_execute(sql)
                .await
                .with_context(|| format!("running {sql:?}"))?;
        }
        tx.batch_execute(statement.expose())
            .await
            .with_context(|| format!("setting the password of role {name:?}"))?;
    } else {
        for sql in &statements {
            tx.batch_execute(sql)
                .await
                .with_context(|| format!("running {sql:?}"))?;
        }
    }
    tx.commit()
        .await
        .with_context(|| format!("committing the changes to role {name:?}"))?;
    tracing::info!(
        role = name,
        created = change.created,
        altered = ?change.altered,
        granted = ?change.granted,
        password_set = change.password_set,
        "role updated"
    );
    Ok(change)
}

/// Set the password of an existing role `user` (the set-password action), as a SCRAM verifier
/// and only if it differs. Returns whether it was written. Fails if the role does not exist.
#[tracing::instrument(name = "sql.set_password", skip_all, fields(role = %user))]
pub async fn set_password(
    client: &mut Client,
    user: &str,
    password: &Secret,
) -> anyhow::Result<bool> {
    check_ident(user)?;
    let current = read_role(client, user)
        .await?
        .with_context(|| format!("setting the password of role {user:?}: no such role"))?;
    let spec = RoleSpec {
        login: current.login,
        superuser: current.superuser,
        createdb: current.createdb,
        createrole: current.createrole,
        replication: current.replication,
        member_of: Vec::new(),
        password: Some(password),
    };
    Ok(ensure_role(client, user, &spec).await?.password_set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postgres::scram_verifier;

    fn current(verifier: Option<String>) -> CurrentRole {
        CurrentRole {
            login: true,
            superuser: false,
            createdb: false,
            createrole: false,
            replication: true,
            member_of: ["internal_access".to_owned()].into(),
            verifier: verifier.map(Secret::new),
        }
    }

    #[test]
    fn a_missing_role_is_created_with_every_attribute_spelled_out() {
        let pw = Secret::new("pw");
        let spec = RoleSpec {
            replication: true,
            member_of: vec!["b".into(), "a".into(), "a".into()],
            ..RoleSpec::login(&pw)
        };
        let (sql, change) = plan("repl\"x", &spec, None);
        assert_eq!(
            sql,
            [
                "CREATE ROLE \"repl\"\"x\" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE REPLICATION",
                "GRANT \"a\" TO \"repl\"\"x\"",
                "GRANT \"b\" TO \"repl\"\"x\"",
            ]
        );
        assert!(change.created && change.password_set);
        assert_eq!(change.writes(), 4);
    }

    #[test]
    fn a_matching_role_needs_nothing() {
        let pw = Secret::new("pw");
        let stored = scram_verifier("pw", b"0123456789abcdef", 4096);
        let spec = RoleSpec {
            replication: true,
            member_of: vec!["internal_access".into()],
            ..RoleSpec::login(&pw)
        };
        let (sql, change) = plan("replication", &spec, Some(&current(Some(stored))));
        assert!(sql.is_empty());
        assert_eq!(change, RoleChange::default());
        assert!(!change.changed());
    }

    #[test]
    fn only_differences_are_written() {
        let pw = Secret::new("new");
        let stored = scram_verifier("old", b"0123456789abcdef", 4096);
        let spec = RoleSpec {
            superuser: true,
            member_of: vec!["internal_access".into(), "pg_monitor".into()],
            ..RoleSpec::login(&pw)
        };
        let (sql, change) = plan("u", &spec, Some(&current(Some(stored))));
        assert_eq!(
            sql,
            [
                "ALTER ROLE \"u\" WITH SUPERUSER NOREPLICATION",
                "GRANT \"pg_monitor\" TO \"u\""
            ]
        );
        assert_eq!(change.altered, ["SUPERUSER", "NOREPLICATION"]);
        assert!(change.password_set && !change.created);
        // An MD5 hash or no password at all is replaced by a verifier.
        for stored in [None, Some("md5abcdef".to_owned())] {
            let (_, change) = plan("u", &RoleSpec::login(&pw), Some(&current(stored)));
            assert!(change.password_set);
        }
        // No password in the spec: the stored one is left alone.
        let (_, change) = plan("u", &RoleSpec::group(), Some(&current(None)));
        assert!(!change.password_set);
    }

    #[test]
    fn the_password_statement_carries_only_the_verifier() {
        let verifier = scram_verifier("it's a \\secret", b"0123456789abcdef", 4096);
        let sql = password_statement("we\"ird", &verifier).unwrap();
        assert_eq!(
            sql.expose(),
            format!("ALTER ROLE \"we\"\"ird\" WITH PASSWORD '{verifier}'")
        );
        assert!(!sql.expose().contains("secret"));
        assert!(password_statement("u", "x'\\").is_err());
    }
}
