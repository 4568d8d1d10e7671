//! Client applications' databases and roles (spec §7.1 items 4–5 and relation-broken): the
//! database created if missing, private to its clients, owned by the client when it is the only
//! one, shared by grants otherwise; the role removed with its objects reassigned.

use anyhow::Context;
use tokio_postgres::Client;

use super::connect::{ConnParams, connect};
use super::quote::{check_ident, quote_ident};
use crate::passwords::SystemUser;

/// Make sure `database` exists and `user` may use it: `CREATE DATABASE` if missing; `PUBLIC`
/// loses its default privileges; `user`, `admin` and the system users get all privileges on it;
/// inside it, `user` owns every schema and object when `owner` (the only client of this
/// database), or is granted use of them otherwise. Returns the number of statements that changed
/// something; a second run writes nothing. `admin` is the charm's superuser connection to the
/// `postgres` database and `params` its parameters (to reach the new database).
#[tracing::instrument(name = "sql.client_database", skip_all, fields(database = %database))]
pub async fn ensure_client_database(
    admin: &Client,
    params: &ConnParams,
    database: &str,
    user: &str,
    owner: bool,
) -> anyhow::Result<usize> {
    check_ident(database)?;
    check_ident(user)?;
    let mut writes = 0;
    let exists = admin
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1",
            &[&database],
        )
        .await
        .context("looking for the database")?
        .is_some();
    let db = quote_ident(database);
    let u = quote_ident(user);
    if !exists {
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .with_context(|| format!("creating database {database:?}"))?;
        tracing::info!(database, "database created");
        writes += 1;
    }
    let granted: bool = admin
        .query_one(
            // (A list of privileges asks whether *any* is held: each is checked on its own.)
            "SELECT has_database_privilege($1, $2, 'CREATE') \
             AND has_database_privilege($1, $2, 'CONNECT') \
             AND has_database_privilege($1, $2, 'TEMPORARY') \
             AND NOT has_database_privilege('public', $2, 'CONNECT')",
            &[&user, &database],
        )
        .await
        .context("reading the database's privileges")?
        .get(0);
    if !granted {
        let mut grantees = vec![u.clone(), quote_ident("admin")];
        grantees.extend(SystemUser::ALL.iter().map(|s| quote_ident(s.username())));
        admin
            .batch_execute(&format!(
                "REVOKE ALL PRIVILEGES ON DATABASE {db} FROM PUBLIC; \
                 GRANT ALL PRIVILEGES ON DATABASE {db} TO {};",
                grantees.join(", ")
            ))
            .await
            .with_context(|| format!("granting database {database:?}"))?;
        writes += 1;
    }
    let inside = connect(&params.with_dbname(database))
        .await
        .with_context(|| format!("connecting to database {database:?}"))?;
    writes += if owner {
        own_everything(&inside, user).await?
    } else {
        share_everything(&inside, user).await?
    };
    Ok(writes)
}

/// The schemas clients use: all but PostgreSQL's own.
const USER_SCHEMAS: &str = "SELECT n.nspname::text FROM pg_catalog.pg_namespace n \
     WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'";

/// Transfer every schema, table, sequence, view and routine of the user schemas to `user`.
async fn own_everything(client: &Client, user: &str) -> anyhow::Result<usize> {
    let rows = client
        .query(
            &format!(
                "WITH s AS ({USER_SCHEMAS}), \
                      r AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) \
                 SELECT 'SCHEMA', quote_ident(n.nspname) FROM pg_catalog.pg_namespace n \
                   WHERE n.nspname IN (SELECT * FROM s) AND n.nspowner <> (SELECT oid FROM r) \
                 UNION ALL \
                 SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' \
                          WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' \
                          ELSE 'TABLE' END, \
                        quote_ident(n.nspname) || '.' || quote_ident(c.relname) \
                   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                   WHERE n.nspname IN (SELECT * FROM s) AND c.relkind IN ('r','p','v','m','S','f') \
                     AND c.relowner <> (SELECT oid FROM r) \
                     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                       WHERE d.objid = c.oid AND d.deptype IN ('a', 'i') AND c.relkind = 'S') \
                 UNION ALL \
                 SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' \
                          ELSE 'FUNCTION' END, \
                        p.oid::regprocedure::text \
                   FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
                   WHERE n.nspname IN (SELECT * FROM s) AND p.proowner <> (SELECT oid FROM r) \
                     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d \
                       WHERE d.objid = p.oid AND d.deptype = 'e')"
            ),
            &[&user],
        )
        .await
        .context("listing the objects to hand over")?;
    let u = quote_ident(user);
    for row in &rows {
        let (kind, name): (String, String) = (row.get(0), row.get(1));
        client
            .batch_execute(&format!("ALTER {kind} {name} OWNER TO {u}"))
            .await
            .with_context(|| format!("giving {kind} {name} to {user}"))?;
    }
    Ok(rows.len())
}

/// Grant `user` all privileges on the objects of the user schemas, and use of the schemas.
async fn share_everything(client: &Client, user: &str) -> anyhow::Result<usize> {
    let rows = client
        .query(
            &format!(
                // A list of privileges asks whether *any* is held, and PostgreSQL 15 gives
                // USAGE on `public` to everyone: each privilege is checked on its own.
                "SELECT quote_ident(nspname) FROM ({USER_SCHEMAS}) s(nspname) \
                 WHERE NOT has_schema_privilege($1, s.nspname, 'USAGE') \
                    OR NOT has_schema_privilege($1, s.nspname, 'CREATE') \
                    OR EXISTS (SELECT 1 FROM pg_catalog.pg_tables t, \
                         unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p(privilege) \
                       WHERE t.schemaname = s.nspname \
                       AND NOT has_table_privilege($1, quote_ident(t.schemaname) || '.' || \
                           quote_ident(t.tablename), p.privilege))"
            ),
            &[&user],
        )
        .await
        .context("listing the schemas to share")?;
    let u = quote_ident(user);
    for row in &rows {
        let schema: String = row.get(0);
        client
            .batch_execute(&format!(
                "GRANT USAGE, CREATE ON SCHEMA {schema} TO {u}; \
                 GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA {schema} TO {u}; \
                 GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA {schema} TO {u}; \
                 GRANT ALL PRIVILEGES ON ALL FUNCTIONS IN SCHEMA {schema} TO {u};"
            ))
            .await
            .with_context(|| format!("sharing schema {schema} with {user}"))?;
    }
    Ok(rows.len())
}

/// Remove a client's role: in every database, its objects go to `operator` and its privileges
/// are dropped; then the role. Databases are kept. Nothing happens when the role is gone.
pub async fn drop_client_role(
    admin: &Client,
    params: &ConnParams,
    user: &str,
) -> anyhow::Result<bool> {
    check_ident(user)?;
    if !role_exists(admin, user).await? {
        return Ok(false);
    }
    let u = quote_ident(user);
    let databases = super::extensions::non_template_databases(admin).await?;
    for database in &databases {
        let client = connect(&params.with_dbname(database))
            .await
            .with_context(|| format!("connecting to database {database:?}"))?;
        client
            .batch_execute(&format!(
                "REASSIGN OWNED BY {u} TO operator; DROP OWNED BY {u};"
            ))
            .await
            .with_context(|| format!("handing {user}'s objects in {database:?} to operator"))?;
    }
    admin
        .batch_execute(&format!("DROP ROLE {u}"))
        .await
        .with_context(|| format!("dropping role {user}"))?;
    tracing::info!(role = user, "client role dropped");
    Ok(true)
}

/// Make `login` a second way into `owner`'s access (password rotation): a `LOGIN` role with
/// `password`, member of `owner`, whose sessions start as `owner` (`ALTER ROLE … SET role`), so
/// what it creates belongs to `owner` and it has exactly `owner`'s privileges. Returns the
/// number of statements that changed something.
pub async fn ensure_alternate_login(
    admin: &mut Client,
    login: &str,
    owner: &str,
    password: &juju::Secret,
) -> anyhow::Result<usize> {
    check_ident(owner)?;
    let mut spec = super::RoleSpec::login(password);
    spec.member_of.push(owner.to_string());
    let mut writes = super::ensure_role(admin, login, &spec).await?.writes();
    let set: bool = admin
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s \
             JOIN pg_catalog.pg_roles r ON r.oid = s.setrole \
             WHERE r.rolname = $1 AND s.setdatabase = 0 AND $2 = ANY (s.setconfig))",
            &[&login, &format!("role={owner}")],
        )
        .await
        .context("reading the login's session settings")?
        .get(0);
    if !set {
        admin
            .batch_execute(&format!(
                "ALTER ROLE {} SET role = {}",
                quote_ident(login),
                super::quote::quote_literal(owner)?
            ))
            .await
            .with_context(|| format!("making {login}'s sessions act as {owner}"))?;
        writes += 1;
    }
    Ok(writes)
}

/// Stop `login` from being used: `NOLOGIN`, no password, and its open sessions ended. Returns the
/// number of sessions ended (`None` when the role does not exist).
pub async fn retire_login(admin: &mut Client, login: &str) -> anyhow::Result<Option<u64>> {
    check_ident(login)?;
    if !role_exists(admin, login).await? {
        return Ok(None);
    }
    admin
        .batch_execute(&format!(
            "ALTER ROLE {} WITH NOLOGIN PASSWORD NULL",
            quote_ident(login)
        ))
        .await
        .with_context(|| format!("retiring login {login}"))?;
    let ended = admin
        .query(
            "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity \
             WHERE usename = $1 AND pid <> pg_catalog.pg_backend_pid()",
            &[&login],
        )
        .await
        .context("ending the retired login's sessions")?
        .len() as u64;
    tracing::info!(role = login, sessions_ended = ended, "login retired");
    Ok(Some(ended))
}

/// Whether a role exists (for `extra-user-roles` naming existing roles).
pub async fn role_exists(admin: &Client, role: &str) -> anyhow::Result<bool> {
    Ok(admin
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[&role],
        )
        .await
        .context("looking for a role")?
        .is_some())
}
