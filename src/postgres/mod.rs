//! SQL administration over tokio-postgres: roles, SCRAM verifiers, extensions, server facts.
//!
//! This module is the only place SQL is built. Identifiers go through [`quote_ident`] (after
//! [`check_ident`]), values are bound parameters, and the one literal PostgreSQL will not take
//! as a parameter (the verifier in `ALTER ROLE … PASSWORD`) goes through [`quote_literal`].
//! Passwords never reach the server in plain text: the charm sends SCRAM-SHA-256 verifiers
//! ([`scram_verifier`]) with statement logging turned off for that transaction.
//!
//! Every writer reads first and writes only what differs, and reports what it changed
//! ([`RoleChange`], [`SystemUsersReport`], [`ExtensionsReport`]), so a second run writes nothing.
//!
//! ```no_run
//! # async fn example(operator_password: &juju::Secret) -> anyhow::Result<()> {
//! use postgresql_k8s::postgres::{ConnParams, RoleSpec, connect, ensure_role};
//!
//! let params = ConnParams::new("127.0.0.1", 5432, "operator", operator_password, "postgres");
//! let mut client = connect(&params).await?;
//! let password = juju::Secret::new("…");
//! let change = ensure_role(&mut client, "relation_id_7", &RoleSpec::login(&password)).await?;
//! println!("{} statements written", change.writes());
//! # Ok(())
//! # }
//! ```

mod clients;
mod connect;
mod extensions;
mod facts;
mod quote;
mod roles;
mod scram;
mod system_users;

pub use clients::{
    drop_client_role, ensure_alternate_login, ensure_client_database, retire_login, role_exists,
};
pub use connect::{
    APPLICATION_NAME, CONNECT_TIMEOUT, ClientTls, ConnParams, connect, connect_with, password_works,
};
pub use extensions::{
    ExtensionError, ExtensionsReport, available_extensions, ensure_extensions,
    non_template_databases,
};
pub use facts::{is_in_recovery, pending_restart_settings, server_version, show};
pub use quote::{MAX_IDENT_LEN, QuoteError, check_ident, quote_ident, quote_literal};
pub use roles::{RoleChange, RoleSpec, ensure_role, set_password};
pub use scram::{
    SCRAM_ITERATIONS, SCRAM_SALT_LEN, new_scram_verifier, scram_verifier, verifier_matches,
};
pub use system_users::{
    ACCESS_GROUPS, ADMIN_ROLE, IDENTITY_ACCESS, INTERNAL_ACCESS, RELATION_ACCESS, REWIND_FUNCTIONS,
    SystemUsersReport, ensure_system_users,
};
