//! The cluster's own roles and the privileges of the `postgres` database (reference §5.3, §6.1):
//! the access groups, the `admin` group, the five system users, the pg_rewind grants, and the
//! `set_up_database` privileges. Converged on every call; a second call writes nothing.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use tokio_postgres::Client;

use super::quote::quote_ident;
use super::roles::{RoleChange, RoleSpec, ensure_role};
use crate::passwords::{SystemPasswords, SystemUser};

/// Group of the roles that log in through LDAP.
pub const IDENTITY_ACCESS: &str = "identity_access";
/// Group of the system users (pg_hba gives it access to every database).
pub const INTERNAL_ACCESS: &str = "internal_access";
/// Group of the client-relation users.
pub const RELATION_ACCESS: &str = "relation_access";
/// The NOLOGIN role behind `extra-user-roles: admin`: reads and writes all data.
pub const ADMIN_ROLE: &str = "admin";
/// The three access groups, all `NOLOGIN`.
pub const ACCESS_GROUPS: [&str; 3] = [IDENTITY_ACCESS, INTERNAL_ACCESS, RELATION_ACCESS];

/// The functions pg_rewind calls on the source server, granted to the `rewind` user so it need
/// not be a superuser (PostgreSQL 11+). Patroni grants exactly these after bootstrap
/// (`patroni/postgresql/bootstrap.py`, `post_bootstrap`; also its "existing data" docs and the
/// pg_rewind manual's "Notes").
pub const REWIND_FUNCTIONS: [&str; 4] = [
    "pg_catalog.pg_ls_dir(text, boolean, boolean)",
    "pg_catalog.pg_stat_file(text, boolean)",
    "pg_catalog.pg_read_binary_file(text)",
    "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)",
];

/// The database whose privileges are set up (and which the client must be connected to).
const DATABASE: &str = "postgres";

/// What [`ensure_system_users`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemUsersReport {
    /// Every role looked at, in order, with what changed (often nothing).
    pub roles: Vec<(String, RoleChange)>,
    /// The privilege statements that were run (`GRANT …`, `REVOKE …`).
    pub privileges: Vec<String>,
}

impl SystemUsersReport {
    /// True when anything was written.
    pub fn changed(&self) -> bool {
        self.writes() > 0
    }

    /// The number of SQL statements that changed something.
    pub fn writes(&self) -> usize {
        self.roles.iter().map(|(_, c)| c.writes()).sum::<usize>() + self.privileges.len()
    }
}

/// The wanted state of a system user.
fn system_user_spec(user: SystemUser, passwords: &SystemPasswords) -> RoleSpec<'_> {
    let mut spec = RoleSpec::login(passwords.get(user));
    spec.member_of.push(INTERNAL_ACCESS.to_owned());
    match user {
        // Patroni's bootstrap superuser has every attribute; keep them rather than strip them.
        SystemUser::Operator => {
            spec.superuser = true;
            spec.createdb = true;
            spec.createrole = true;
            spec.replication = true;
        }
        SystemUser::Backup => spec.superuser = true,
        SystemUser::Replication => spec.replication = true,
        SystemUser::Monitoring => spec.member_of.push("pg_monitor".to_owned()),
        SystemUser::Rewind => {}
    }
    spec
}

/// Create or converge the access groups, `admin`, the system users with their passwords, the
/// pg_rewind grants and the privileges of the `postgres` database:
///
/// - `identity_access`, `internal_access`, `relation_access`: `NOLOGIN`;
/// - `admin`: `NOLOGIN`, member of `pg_read_all_data` and `pg_write_all_data`, `CONNECT` on
///   `postgres`;
/// - `operator`, `backup`: `SUPERUSER LOGIN`; `replication`: `REPLICATION LOGIN`; `rewind`:
///   `LOGIN` and EXECUTE on [`REWIND_FUNCTIONS`]; `monitoring`: `LOGIN`, member of `pg_monitor`;
///   each a member of `internal_access` with its password from `passwords`;
/// - `REVOKE ALL PRIVILEGES ON DATABASE postgres FROM PUBLIC`, `REVOKE CREATE ON SCHEMA public
///   FROM PUBLIC`, `GRANT ALL PRIVILEGES ON DATABASE postgres` to each system user.
///
/// The client must be a superuser connected to the `postgres` database.
#[tracing::instrument(name = "sql.system_users", skip_all)]
pub async fn ensure_system_users(
    client: &mut Client,
    passwords: &SystemPasswords,
) -> anyhow::Result<SystemUsersReport> {
    let database: String = client
        .query_one("SELECT current_database()::text", &[])
        .await
        .context("reading the current database")?
        .get(0);
    if database != DATABASE {
        bail!("setting up system users: connected to database {database:?}, not {DATABASE:?}");
    }
    let mut report = SystemUsersReport::default();
    let mut roles: Vec<(&str, RoleSpec)> = ACCESS_GROUPS
        .iter()
        .map(|&group| (group, RoleSpec::group()))
        .collect();
    let admin = RoleSpec {
        member_of: vec!["pg_read_all_data".into(), "pg_write_all_data".into()],
        ..RoleSpec::group()
    };
    roles.push((ADMIN_ROLE, admin));
    for user in SystemUser::ALL {
        roles.push((user.username(), system_user_spec(user, passwords)));
    }
    for (name, spec) in roles {
        let change = ensure_role(client, name, &spec)
            .await
            .with_context(|| format!("setting up role {name:?}"))?;
        report.roles.push((name.to_owned(), change));
    }

    let mut statements = database_privileges(client).await?;
    statements.extend(schema_privileges(client).await?);
    statements.extend(rewind_grants(client).await?);
    for sql in statements {
        client
            .batch_execute(&sql)
            .await
            .with_context(|| format!("running {sql:?}"))?;
        tracing::info!(statement = sql.as_str(), "privileges updated");
        report.privileges.push(sql);
    }
    Ok(report)
}

/// Privileges on database `postgres`, by grantee (`""` for PUBLIC), with the default ACL when
/// none was ever set.
async fn database_acl(client: &Client) -> anyhow::Result<BTreeMap<String, BTreeSet<String>>> {
    let rows = client
        .query(
            "SELECT COALESCE(r.rolname::text, ''), a.privilege_type \
             FROM pg_catalog.pg_database d, \
             aclexplode(COALESCE(d.datacl, acldefault('d', d.datdba))) a \
             LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee \
             WHERE d.datname = $1",
            &[&DATABASE],
        )
        .await
        .context("reading the privileges of database postgres")?;
    let mut acl: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in rows {
        acl.entry(row.get(0)).or_default().insert(row.get(1));
    }
    Ok(acl)
}

/// The statements that bring the privileges on database `postgres` to the reference's.
async fn database_privileges(client: &Client) -> anyhow::Result<Vec<String>> {
    let acl = database_acl(client).await?;
    let db = quote_ident(DATABASE);
    let has =
        |grantee: &str, privilege: &str| acl.get(grantee).is_some_and(|p| p.contains(privilege));
    let mut statements = Vec::new();
    if acl.get("").is_some_and(|p| !p.is_empty()) {
        statements.push(format!(
            "REVOKE ALL PRIVILEGES ON DATABASE {db} FROM PUBLIC"
        ));
    }
    if !has(ADMIN_ROLE, "CONNECT") {
        statements.push(format!(
            "GRANT CONNECT ON DATABASE {db} TO {}",
            quote_ident(ADMIN_ROLE)
        ));
    }
    for user in SystemUser::ALL {
        let name = user.username();
        if !["CREATE", "CONNECT", "TEMPORARY"]
            .iter()
            .all(|p| has(name, p))
        {
            statements.push(format!(
                "GRANT ALL PRIVILEGES ON DATABASE {db} TO {}",
                quote_ident(name)
            ));
        }
    }
    Ok(statements)
}

/// `REVOKE CREATE ON SCHEMA public FROM PUBLIC` if PUBLIC still has it (PostgreSQL 15 no longer
/// grants it by default; 14 does).
async fn schema_privileges(client: &Client) -> anyhow::Result<Vec<String>> {
    let public_can_create: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n, \
             aclexplode(COALESCE(n.nspacl, acldefault('n', n.nspowner))) a \
             WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE')",
            &[],
        )
        .await
        .context("reading the privileges of schema public")?
        .get(0);
    Ok(if public_can_create {
        vec!["REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_owned()]
    } else {
        Vec::new()
    })
}

/// `GRANT EXECUTE` on each of [`REWIND_FUNCTIONS`] that `rewind` cannot execute yet.
async fn rewind_grants(client: &Client) -> anyhow::Result<Vec<String>> {
    let rewind = SystemUser::Rewind.username();
    let mut statements = Vec::new();
    for function in REWIND_FUNCTIONS {
        let allowed: bool = client
            .query_one(
                "SELECT has_function_privilege($1::name, $2::text, 'EXECUTE')",
                &[&rewind, &function],
            )
            .await
            .with_context(|| format!("checking whether {rewind} may execute {function}"))?
            .get(0);
        if !allowed {
            // The signature is a constant of ours, not input; only the role name is quoted.
            statements.push(format!(
                "GRANT EXECUTE ON FUNCTION {function} TO {}",
                quote_ident(rewind)
            ));
        }
    }
    Ok(statements)
}

#[cfg(test)]
mod tests {
    use super::*;
    use juju::Secret;

    #[test]
    fn system_users_get_the_reference_attributes() {
        let pw = Secret::new("x");
        let passwords = SystemPasswords {
            operator: pw.clone(),
            replication: pw.clone(),
            rewind: pw.clone(),
            monitoring: pw.clone(),
            backup: pw,
        };
        for user in SystemUser::ALL {
            let spec = system_user_spec(user, &passwords);
            // Operator keeps every attribute Patroni's bootstrap gave it.
            let operator = user == SystemUser::Operator;
            assert!(spec.login);
            assert_eq!((spec.createdb, spec.createrole), (operator, operator));
            assert!(spec.member_of.contains(&INTERNAL_ACCESS.to_owned()));
            assert_eq!(
                spec.superuser,
                matches!(user, SystemUser::Operator | SystemUser::Backup)
            );
            assert_eq!(
                spec.replication,
                matches!(user, SystemUser::Replication | SystemUser::Operator)
            );
            assert_eq!(
                spec.member_of.contains(&"pg_monitor".to_owned()),
                user == SystemUser::Monitoring
            );
        }
    }
}
