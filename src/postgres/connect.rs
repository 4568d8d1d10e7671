//! Opening connections: where the charm's credentials meet tokio-postgres.
//!
//! [`connect`] uses TLS when the parameters carry a [`ClientTls`] (the unit's CA and the name the
//! server's certificate must show), plain TCP otherwise; callers pass the same [`ConnParams`]
//! either way.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use juju::Secret;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Config, NoTls, Socket};

/// TLS for the charm's own connections: the server's certificate must chain to one of the CAs
/// and name `server_name`.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
    /// The name the certificate must carry (a DNS name or an IP address).
    pub server_name: String,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl ClientTls {
    /// Trust the certificates of `ca_pems` (each may hold several) and expect `server_name`.
    pub fn new(ca_pems: &[&str], server_name: &str) -> anyhow::Result<ClientTls> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for pem in ca_pems {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.context("reading a CA certificate")?;
                roots
                    .add(cert)
                    .context("adding a CA certificate to the trusted roots")?;
            }
        }
        anyhow::ensure!(!roots.is_empty(), "no CA certificate to trust");
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(ClientTls {
            config: Arc::new(config),
            server_name: server_name.to_owned(),
        })
    }
}

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
    /// TLS, when the server may have it on. The connection asks for TLS and verifies the
    /// server against it when the server offers TLS (`sslmode=prefer`: the charm's own
    /// connections go to the pod's loopback, and the server switches TLS on and off by reload).
    pub tls: Option<ClientTls>,
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
            tls: None,
        }
    }

    /// The same parameters with TLS.
    pub fn with_tls(self, tls: Option<ClientTls>) -> ConnParams {
        ConnParams { tls, ..self }
    }

    /// The charm's own connection: `operator` to database `postgres` on `host` (the cluster's
    /// port), over TLS verified against `cas` for `tls_name` when there are CAs, plain otherwise.
    pub fn operator(
        host: &str,
        tls_name: &str,
        password: &Secret,
        cas: &[&str],
    ) -> anyhow::Result<ConnParams> {
        let tls = if cas.is_empty() {
            None
        } else {
            Some(ClientTls::new(cas, tls_name)?)
        };
        Ok(ConnParams::new(
            host,
            crate::workload::PG_PORT,
            "operator",
            password,
            "postgres",
        )
        .with_tls(tls))
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
        // With TLS to an address, connect to the address and check the certificate against the
        // server name.
        let tls_address = self
            .tls
            .as_ref()
            .and_then(|tls| Some((tls, self.host.parse::<std::net::IpAddr>().ok()?)));
        match tls_address {
            Some((tls, ip)) => config.host(&tls.server_name).hostaddr(ip),
            None => config.host(&self.host),
        };
        config
            .port(self.port)
            .user(&self.user)
            .password(self.password.expose())
            .dbname(&self.dbname)
            .application_name(APPLICATION_NAME)
            .connect_timeout(CONNECT_TIMEOUT);
        config.ssl_mode(if self.tls.is_some() {
            SslMode::Prefer
        } else {
            SslMode::Disable
        });
        config
    }

    fn describe(&self) -> String {
        format!(
            "connecting to PostgreSQL at {}:{} as {} (database {})",
            self.host, self.port, self.user, self.dbname
        )
    }
}

/// Connect, with TLS when `params` has it. The connection's I/O runs on a spawned task of the
/// current tokio runtime and ends when the returned client is dropped.
#[tracing::instrument(name = "sql.connect", skip_all)]
pub async fn connect(params: &ConnParams) -> anyhow::Result<Client> {
    match &params.tls {
        Some(tls) => {
            let connector =
                tokio_postgres_rustls::MakeRustlsConnect::new(tls.config.as_ref().clone());
            connect_with(params, connector).await
        }
        None => connect_with(params, NoTls).await,
    }
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

    #[test]
    fn tls_to_an_address_checks_the_server_name() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ca = rcgen::CertificateParams::new(vec!["ca".to_string()])
            .unwrap()
            .self_signed(&rcgen::KeyPair::generate().unwrap())
            .unwrap()
            .pem();
        let tls = ClientTls::new(&[&ca], "pg-0.pg-endpoints").unwrap();
        let params = ConnParams::new("127.0.0.1", 5432, "operator", &Secret::new("x"), "postgres")
            .with_tls(Some(tls.clone()));
        let config = params.config();
        assert_eq!(
            config.get_hosts(),
            [tokio_postgres::config::Host::Tcp(
                "pg-0.pg-endpoints".into()
            )]
        );
        assert_eq!(
            config.get_hostaddrs(),
            ["127.0.0.1".parse::<std::net::IpAddr>().unwrap()]
        );
        assert_eq!(config.get_ssl_mode(), SslMode::Prefer);
        // A host name is used as it is.
        let named = ConnParams::new(
            "pg-1.pg-endpoints",
            5432,
            "operator",
            &Secret::new("x"),
            "postgres",
        )
        .with_tls(Some(tls));
        assert!(named.config().get_hostaddrs().is_empty());
        assert!(ClientTls::new(&["not a certificate"], "x").is_err());
    }
}
