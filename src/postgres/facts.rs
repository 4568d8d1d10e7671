//! Read-only facts about the server the charm bases decisions on.

use anyhow::Context;
use tokio_postgres::Client;

/// The server's major version (15 for 15.18) and its full version string (`SHOW server_version`,
/// e.g. `15.18 (Debian 15.18-0+deb12u1)`).
pub async fn server_version(client: &Client) -> anyhow::Result<(u32, String)> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int, current_setting('server_version')",
            &[],
        )
        .await
        .context("reading the server version")?;
    let num: i32 = row.get(0);
    let major = u32::try_from(num / 10_000)
        .with_context(|| format!("server_version_num {num} is negative"))?;
    Ok((major, row.get(1)))
}

/// True on a replica (the server is replaying WAL), false on a primary.
pub async fn is_in_recovery(client: &Client) -> anyhow::Result<bool> {
    Ok(client
        .query_one("SELECT pg_catalog.pg_is_in_recovery()", &[])
        .await
        .context("asking whether the server is in recovery")?
        .get(0))
}

/// The settings changed in the configuration that take effect only after a restart
/// (`pg_settings.pending_restart`), sorted.
pub async fn pending_restart_settings(client: &Client) -> anyhow::Result<Vec<String>> {
    let rows = client
        .query(
            "SELECT name FROM pg_catalog.pg_settings WHERE pending_restart ORDER BY name",
            &[],
        )
        .await
        .context("reading the settings pending a restart")?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// The current value of setting `name`, as `SHOW` prints it (the name is a bound parameter).
pub async fn show(client: &Client, name: &str) -> anyhow::Result<String> {
    Ok(client
        .query_one("SELECT pg_catalog.current_setting($1)", &[&name])
        .await
        .with_context(|| format!("reading setting {name:?}"))?
        .get(0))
}
