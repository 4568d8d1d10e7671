//! Extensions (the `plugin_*_enable` options): created or dropped in every database that is not a
//! template, reading `pg_extension` first so that nothing is written when all is as wanted.

use std::collections::BTreeSet;

use anyhow::Context;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::connect::{ConnParams, connect};
use super::quote::{check_ident, quote_ident};

/// Why extensions could not be brought to the wanted state. The first two are conditions the
/// charm shows as a blocked status; [`ExtensionError::Other`] is a failure to retry.
#[derive(Debug, thiserror::Error)]
pub enum ExtensionError {
    /// Enabled extensions that this server does not have (not in `pg_available_extensions`).
    /// Nothing was changed.
    #[error("extensions not available on this server: {}", names.join(", "))]
    Unavailable {
        /// The extension names, sorted.
        names: Vec<String>,
    },
    /// `DROP EXTENSION` refused because other objects depend on the extension (SQLSTATE 2BP01).
    #[error("cannot drop extension {name:?} in database {database:?}: other objects depend on it")]
    DependentObjects {
        /// The extension.
        name: String,
        /// The database where the drop failed.
        database: String,
        /// The server's detail message (which objects depend on it).
        detail: String,
    },
    /// Anything else (connection, permission, a required extension missing…), with context.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// What [`ensure_extensions`] changed, as `(database, extension)` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionsReport {
    /// Extensions created.
    pub created: Vec<(String, String)>,
    /// Extensions dropped.
    pub dropped: Vec<(String, String)>,
}

impl ExtensionsReport {
    /// The number of SQL statements that changed something.
    pub fn writes(&self) -> usize {
        self.created.len() + self.dropped.len()
    }
}

/// The names in `pg_available_extensions`: what `CREATE EXTENSION` can install on this server.
pub async fn available_extensions(client: &Client) -> anyhow::Result<BTreeSet<String>> {
    let rows = client
        .query(
            "SELECT name::text FROM pg_catalog.pg_available_extensions",
            &[],
        )
        .await
        .context("reading pg_available_extensions")?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// The databases extensions are managed in: every one that is not a template and accepts
/// connections, sorted.
pub async fn non_template_databases(client: &Client) -> anyhow::Result<Vec<String>> {
    let rows = client
        .query(
            "SELECT datname::text FROM pg_catalog.pg_database \
             WHERE NOT datistemplate AND datallowconn ORDER BY datname",
            &[],
        )
        .await
        .context("listing the databases")?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Bring the extensions of each of `databases` to `wanted` (`(name, enabled)` pairs): `CREATE
/// EXTENSION IF NOT EXISTS` for the enabled ones that are missing, in the order given (list
/// dependencies first), then `DROP EXTENSION IF EXISTS` for the disabled ones that are present,
/// in reverse order. `params` says how to connect; its database is replaced by each of
/// `databases` in turn.
///
/// Enabled extensions the server does not have are refused before anything is written
/// ([`ExtensionError::Unavailable`]); a disabled one it does not have is simply absent. A drop
/// that other objects depend on stops with [`ExtensionError::DependentObjects`].
#[tracing::instrument(name = "sql.extensions", skip_all)]
pub async fn ensure_extensions(
    params: &ConnParams,
    databases: &[String],
    wanted: &[(&str, bool)],
) -> Result<ExtensionsReport, ExtensionError> {
    let mut report = ExtensionsReport::default();
    let mut checked = false;
    for &(name, _) in wanted {
        check_ident(name).with_context(|| format!("extension name {name:?}"))?;
    }
    for database in databases {
        let client = connect(&params.with_dbname(database)).await?;
        if !checked {
            let available = available_extensions(&client).await?;
            let names: BTreeSet<String> = wanted
                .iter()
                .filter(|&&(name, on)| on && !available.contains(name))
                .map(|&(name, _)| name.to_owned())
                .collect();
            if !names.is_empty() {
                return Err(ExtensionError::Unavailable {
                    names: names.into_iter().collect(),
                });
            }
            checked = true;
        }
        let installed: BTreeSet<String> = client
            .query("SELECT extname::text FROM pg_catalog.pg_extension", &[])
            .await
            .with_context(|| format!("reading the extensions of database {database:?}"))?
            .iter()
            .map(|row| row.get(0))
            .collect();
        for &(name, _) in wanted
            .iter()
            .filter(|&&(n, on)| on && !installed.contains(n))
        {
            let sql = format!("CREATE EXTENSION IF NOT EXISTS {}", quote_ident(name));
            client
                .batch_execute(&sql)
                .await
                .with_context(|| format!("creating extension {name:?} in database {database:?}"))?;
            tracing::info!(extension = name, database, "extension created");
            report.created.push((database.clone(), name.to_owned()));
        }
        let to_drop = wanted
            .iter()
            .rev()
            .filter(|&&(n, on)| !on && installed.contains(n));
        for &(name, _) in to_drop {
            let sql = format!("DROP EXTENSION IF EXISTS {}", quote_ident(name));
            if let Err(err) = client.batch_execute(&sql).await {
                if err.code() == Some(&SqlState::DEPENDENT_OBJECTS_STILL_EXIST) {
                    let db_error = err.as_db_error();
                    let detail = db_error
                        .and_then(|e| e.detail())
                        .or(db_error.map(|e| e.message()))
                        .unwrap_or_default();
                    return Err(ExtensionError::DependentObjects {
                        name: name.to_owned(),
                        database: database.clone(),
                        detail: detail.to_owned(),
                    });
                }
                return Err(anyhow::Error::new(err)
                    .context(format!(
                        "dropping extension {name:?} in database {database:?}"
                    ))
                    .into());
            }
            tracing::info!(extension = name, database, "extension dropped");
            report.dropped.push((database.clone(), name.to_owned()));
        }
    }
    Ok(report)
}
