//! The postgresql-k8s charm: PostgreSQL under Patroni, driven through Pebble, for Juju on
//! Kubernetes. `main.rs` is the entry point Juju runs; everything it does lives here so that tests
//! can reach each piece.
//!
//! - [`charm`]: the reconcile every hook runs (observe → decide → apply → status).
//! - [`actions`]: one handler per action.
//! - [`config`]: the typed, validated charm config and its mapping to PostgreSQL parameters.
//! - [`workload`]: the `postgresql` container: paths, Pebble layer, `patroni.yml`, `pg_hba`.
//! - [`postgres`]: SQL administration (roles, SCRAM verifiers, extensions) over tokio-postgres.
//! - [`patroni`]: the Patroni REST client.
//! - [`relations`]: one module per relation endpoint.
//! - [`k8s`]: the few Kubernetes API calls (Services, pod labels).
//! - [`passwords`]: system-user passwords and where they are kept.
//! - [`features`]: what this revision implements.
//! - [`tls`]: the unit's key, CSR and certificate checks for the `certificates` relation.

pub mod actions;
pub(crate) mod base64;
pub mod charm;
pub mod config;
pub mod features;
pub mod k8s;
pub mod passwords;
pub mod patroni;
pub mod postgres;
pub mod relations;
pub mod tls;
pub mod workload;
