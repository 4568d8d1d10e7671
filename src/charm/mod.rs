//! The reconcile loop every hook runs: observe → decide → apply → status.
//!
//! Every hook converges the unit to the state its inputs (config, relations, secrets, the
//! workload) call for; the event reaches the logic only as a fact (which relation broke, which
//! action runs). Expected conditions (waiting for the workload, blocked on the operator) are
//! values; `Err` means Juju should retry the hook. Waiting is never a sleep loop: the hook sets a
//! status and returns, and a later hook (pebble-ready, update-status) continues.

mod apply;
pub mod backups;
pub mod clients;
pub mod cos;
pub mod logging;
mod observe;
pub mod peers;
mod secrets;
mod status;
pub mod tls;
pub mod traces;

use std::path::PathBuf;

use anyhow::Result;
use juju::{Context, HookTools, Status};
use tracing::Instrument as _;

pub use apply::{API_CA_KEY, Applied, patroni_client};
pub use observe::{Observed, Store, Workload};
pub use secrets::{Passwords, passwords_from_content, passwords_to_content};
pub use status::compute_status;

/// Where things are, and what the environment says about the platform.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The directory holding `<container>/pebble.socket`.
    pub containers_dir: PathBuf,
    /// The root of the filesystem the Kubernetes service-account files are read from ("/").
    pub fs_root: PathBuf,
    /// The process environment (for the Kubernetes client's discovery).
    pub env: std::collections::HashMap<String, String>,
}

/// How a hook ended, for `main` to turn into an exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The hook did all it could; the status says what remains.
    Done(Status),
}

/// What an action hands to [`reconcile`] that Juju has not committed yet.
#[derive(Debug, Default)]
pub struct Overrides {
    /// Passwords just changed (the peer secret's new content).
    pub passwords: Option<Passwords>,
    /// A private key given to `set-tls-private-key`.
    pub tls_key: Option<crate::tls::keys::PrivateKey>,
}

/// Observe, decide, apply and set the status.
pub async fn reconcile(
    ctx: &Context,
    tools: &HookTools,
    paths: &Paths,
    overrides: Overrides,
) -> Result<Outcome> {
    let observed = observe::observe(ctx, tools, paths, overrides.passwords.as_ref())
        .instrument(tracing::info_span!("observe"))
        .await?;
    if let Some(endpoint) = &observed.unhandled_endpoint {
        tracing::info!(
            "the {endpoint} relation is not implemented in this revision of the charm; its data is ignored"
        );
    }
    let traced = traces::converge(ctx, tools, observed.leader)?;
    let tls = tracing::info_span!("tls").in_scope(|| {
        tls::converge(
            ctx,
            tools,
            &observed.state,
            &observed.address,
            overrides.tls_key,
        )
    })?;
    for note in &tls.notes {
        tracing::info!("TLS: {note}");
    }
    let mut clients = tracing::info_span!("clients").in_scope(|| {
        clients::plan(
            ctx,
            tools,
            &observed.state,
            &observed.peers,
            observed.leader,
            observed
                .config
                .as_ref()
                .map(|c| {
                    c.extensions()
                        .into_iter()
                        .filter(|e| e.enabled)
                        .map(|e| e.name.to_string())
                        .chain(["plpgsql".to_string()])
                        .collect()
                })
                .unwrap_or_default(),
        )
    })?;
    let mut applied = apply::apply(ctx, tools, paths, &observed, &tls, &mut clients)
        .instrument(tracing::info_span!("apply"))
        .await?;
    if let Some((key, value)) = logging::record(&observed.logging) {
        applied.state.insert(key, value);
    }
    applied.state.extend(traced.state);
    applied.forget.extend(traced.forget);
    if !applied.s3_synced {
        // Stopped before the workload's pgBackRest configuration: keep what the relation said
        // (without a configuration, so it is read again) or that it is gone.
        let kept = backups::unsynced(&observed.s3, &observed.state);
        applied.state.extend(kept.state);
        applied.forget.extend(kept.forget);
    }
    if applied.again {
        // The second pass sees what the first recorded, and the container it left.
        let mut second = observed.clone();
        for key in &applied.forget {
            second.state.remove(key);
        }
        second.state.extend(applied.state.clone());
        if let Workload::Reachable { fresh, .. } = &mut second.workload {
            *fresh = false;
        }
        let next = apply::apply(ctx, tools, paths, &second, &tls, &mut clients)
            .instrument(tracing::info_span!("apply", pass = 2u64))
            .await?;
        applied = applied.then(next);
    }
    let mut peers = observed.peers.clone();
    if observed.leader {
        peers::share_clients(tools, &mut peers, &clients.clients)?;
    }
    if applied.hba_loaded {
        peers::acknowledge(tools, &mut peers, &peers::hba_hash(&clients.hba_users()))?;
    }
    if observed.peers_changed || peers != observed.peers {
        applied.state.insert(
            peers::PEERS_KEY.to_string(),
            serde_json::to_string(&peers).unwrap_or_default(),
        );
    }
    if observed.state.contains_key(clients::CLIENTS_KEY) && peers.clients.is_some() {
        applied.forget.push(clients::CLIENTS_KEY.to_string());
    }
    if clients.departing {
        applied
            .state
            .insert(clients::DEPARTING_KEY.to_string(), "true".into());
    }
    let cos = cos::converge(
        ctx,
        tools,
        &cos::CosInputs {
            leader: observed.leader,
            address: &observed.address,
            patroni_tls: tls.served.is_some(),
            state: &observed.state,
        },
    );
    applied.state.extend(cos.state);
    applied.forget.extend(cos.forget);
    // Client refusals are the leader's to show (it is the unit that read the requests).
    applied.clients_refused = clients.refused().filter(|_| observed.leader);
    if applied.changed() {
        tracing::info!("applied: {}", applied.summary());
    }
    let mut state = tls.state.clone();
    state.append(&mut applied.state);
    state.retain(|k, v| observed.state.get(k) != Some(v));
    if !state.is_empty() {
        tools.state_set(&state)?;
    }
    let mut forget: Vec<&String> = tls.forget.iter().chain(&applied.forget).collect();
    forget.sort();
    forget.dedup();
    for key in forget {
        if observed.state.contains_key(key) && !state.contains_key(key) {
            tools.state_delete(key)?;
        }
    }
    let _status = tracing::info_span!("status").entered();
    let (unit, app) = compute_status(&observed, &applied);
    tools.status_set(false, &unit)?;
    if let Some(app) = app {
        tools.status_set(true, &app)?;
    }
    Ok(Outcome::Done(unit))
}
