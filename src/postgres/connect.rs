//! Opening connections: where the charm's credentials meet tokio-postgres.
//!
//! Plain connections for now ([`connect`]); once TLS lands, [`connect_with`] takes its connector
//! (tokio-postgres-rustls' `MakeRustlsConnect`), and callers keep passing the same [`ConnParams`].

use std::time::Duration;

use anyhow::Context;
use juju::Secret;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Config, NoTls, Socket};

/// How long a connection attempt may take before it is given up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The `application_name` the charm's sessions carry, so they can be told apart in
/// `pg_stat_activity` and the server log.
pub const APPLICATION_NAME: &str = "postgresql-k8s-charm";

/// Where and as whom to connect. `Debug` shows everything but the password.
#[derive(Debug, Clone)]
pub struct ConnParams {
    /// A host name or address, or the directory of a unix socket (an absolute path).
    pub host: String,
    /// The TCP port (also names the unix socket file: `.s.PGSQL.<port>`).
    pub port: u16,
    /// The role to log in as.
    pub user: String,
    /// The role's password.
    pub password: Secret,
    /// The database to connect to.
    pub dbname: String,
}

impl ConnParams {
    /// Parameters for `user` on `host:port`, database `dbname`.
    pub fn new(host: &str, port: u16, user: &str, password: &Secret, dbname: &str) -> ConnParams {
        ConnParams {
            host: host.to_owned(),
            port,
            user: user.to_owned(),
            password: password.clone(),
            dbname: dbname.to_owned(),
        }
    }

    /// The same parameters for another database.
    pub fn with_dbname(&self, dbname: &str) -> ConnParams {
        ConnParams {
            dbname: dbname.to_owned(),
            ..self.clone()
        }
    }

    /// The tokio-postgres configuration. It holds a copy of the password that is not zeroed when
    /// dropped (tokio-postgres keeps a `Vec<u8>`), so it is built just before connecting and
    /// dropped right after.
    fn config(&self) -> Config {
        let mut config = Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .password(self.password.expose())
            .dbname(&self.dbname)
            .application_name(APPLICATION_NAME)
            .connect_timeout(CONNECT_TIMEOUT);
        config
    }

    fn describe(&self) -> String {
        format!(
            "connecting to PostgreSQL at {}:{} as {} (database {})",
            self.host, self.port, self.user, self.dbname
        )
    }
}

/// Connect without TLS (loopback or unix socket). The connection's I/O runs on a spawned task
/// of the current tokio runtime and ends when the returned client is dropped.
pub async fn connect(params: &ConnParams) -> anyhow::Result<Client> {
    connect_with(params, NoTls).await
}

/// Connect through `tls` (any tokio-postgres TLS connector).
pub async fn connect_with<T>(params: &ConnParams, tls: T) -> anyhow::Result<Client>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, connection) = params
        .config()
        .connect(tls)
        .await
        .with_context(|| params.describe())?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "PostgreSQL connection closed with an error");
        }
    });
    Ok(client)
}

/// Whether `user` can log in to `host:port` with `password` (SCRAM over TCP, database
/// `postgres`): `Ok(true)` when authentication succeeds, even if the role may not then connect
/// to `postgres` (no CONNECT privilege); `Ok(false)` when the server refuses the credentials
/// (wrong password, login not allowed, no pg_hba line); `Err` when the server cannot be reached
/// or fails otherwise.
pub async fn password_works(
    host: &str,
    port: u16,
    user: &str,
    password: &Secret,
) -> anyhow::Result<bool> {
    let params = ConnParams::new(host, port, user, password, "postgres");
    match params.config().connect(NoTls).await {
        Ok((client, connection)) => {
            drop(client);
            // Let the connection send Terminate and close; errors no longer matter.
            let _ = connection.await;
            Ok(true)
        }
        Err(err) => match err.code() {
            Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => Ok(true),
            Some(code)
                if *code == SqlState::INVALID_PASSWORD
                    || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
            {
                Ok(false)
            }
            _ => Err(err).with_context(|| params.describe()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_does_not_show_the_password() {
        let params = ConnParams::new(
            "127.0.0.1",
            5432,
            "operator",
            &Secret::new("hunter2"),
            "postgres",
        );
        assert!(!format!("{params:?}").contains("hunter2"));
        assert!(!params.describe().contains("hunter2"));
        let other = params.with_dbname("app");
        assert_eq!(other.dbname, "app");
        assert_eq!(other.password.expose(), "hunter2");
        assert_eq!(params.config().get_password(), Some(&b"hunter2"[..]));
    }
}
