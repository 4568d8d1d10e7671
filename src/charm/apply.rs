//! Apply: make the workload match what the observed state calls for, changing only what
//! differs, and record what changed. The decision to reload or restart is taken once, from the
//! collected changes.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use juju::{Context, HookTools, SecretOptions, SecretOwner};
use pebble::{MakeDirOptions, PushOptions, ServiceStatus};

use super::observe::{FACTS_KEY, Observed, PeerSecret, Store, Workload};
use super::secrets::{Passwords, complete, passwords_from_content, passwords_to_content};
use super::tls::{Served, TlsDecision};
use crate::config::{Config, Resources};
use crate::passwords::{SystemPasswords, app_secret_label};
use crate::patroni::{Health, Patroni, config_changes};
use crate::workload::{
    self, Dcs, EtcdStore, HbaInputs, Installed, LayerInputs, PatroniInputs, PatroniPasswords,
};

/// Why the hook stopped short of a running database, as a status to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holdup {
    /// The operator must act (`blocked`).
    Blocked(String),
    /// Something outside this unit must happen first (`waiting`).
    Waiting(String),
    /// This unit is busy with something that finishes by itself (`maintenance`).
    Maintenance(String),
}

/// What one hook changed, and what it learned on the way.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// Why the hook stopped short, if it did.
    pub holdup: Option<Holdup>,
    /// The passwords in use.
    pub passwords: Option<Passwords>,
    /// The leader created or completed the peer secret.
    pub wrote_secret: bool,
    /// Files pushed to the workload (paths).
    pub pushed: Vec<String>,
    /// The Pebble layer changed and services were replanned.
    pub replanned: bool,
    /// Services started or restarted by the charm.
    pub restarted_services: Vec<String>,
    /// Patroni re-read its configuration.
    pub reloaded: bool,
    /// PostgreSQL was restarted (a setting needed it).
    pub restarted_postgres: bool,
    /// The cluster-wide settings in the store were patched.
    pub patched_dcs: bool,
    /// SQL statements that changed something.
    pub sql_writes: usize,
    /// Patroni's view of this member.
    pub health: Option<Health>,
    /// This member is the primary.
    pub primary: bool,
    /// Charm-state entries to record (`state-set`) once the hook has done its work.
    pub state: std::collections::BTreeMap<String, String>,
    /// Charm-state entries that no longer hold (`state-delete`).
    pub forget: Vec<String>,
    /// Why the TLS provider's certificate was refused (a blocked status once all else is well).
    pub tls_refused: Option<String>,
    /// TLS is on in the workload.
    pub tls: bool,
    /// Why a client's request is refused (a blocked status once all else is well).
    pub clients_refused: Option<String>,
    /// The `pg_hba` this hook rendered is the one PostgreSQL has loaded.
    pub hba_loaded: bool,
    /// Why backups cannot work (a blocked status once all else is well).
    pub backups_blocked: Option<String>,
    /// The S3 relation's configuration was synced with the workload in this hook.
    pub s3_synced: bool,
    /// What this hook recorded calls for another pass in the same hook (a restore finished:
    /// the usual bootstrap and restart policy go back into the workload now, not a hook later).
    pub again: bool,
}

impl Applied {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        self.wrote_secret
            || !self.pushed.is_empty()
            || self.replanned
            || !self.restarted_services.is_empty()
            || self.reloaded
            || self.restarted_postgres
            || self.patched_dcs
            || self.sql_writes > 0
    }

    /// One line for the log.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.wrote_secret {
            parts.push("system passwords stored".to_string());
        }
        if !self.pushed.is_empty() {
            parts.push(format!("pushed {}", self.pushed.join(", ")));
        }
        if self.replanned {
            parts.push("Pebble layer replanned".into());
        }
        if !self.restarted_services.is_empty() {
            parts.push(format!("started {}", self.restarted_services.join(", ")));
        }
        if self.reloaded {
            parts.push("Patroni reloaded".into());
        }
        if self.restarted_postgres {
            parts.push("PostgreSQL restarted".into());
        }
        if self.patched_dcs {
            parts.push("cluster settings patched".into());
        }
        if self.sql_writes > 0 {
            parts.push(format!("{} SQL changes", self.sql_writes));
        }
        parts.join("; ")
    }

    /// Fold a second pass's results over this one's.
    pub fn then(self, mut next: Applied) -> Applied {
        let mut state = self.state;
        for key in &next.forget {
            state.remove(key);
        }
        state.append(&mut next.state);
        next.state = state;
        let mut forget = self.forget;
        forget.append(&mut next.forget);
        forget.retain(|k| !next.state.contains_key(k));
        next.forget = forget;
        let mut pushed = self.pushed;
        pushed.append(&mut next.pushed);
        next.pushed = pushed;
        let mut restarted = self.restarted_services;
        restarted.append(&mut next.restarted_services);
        next.restarted_services = restarted;
        next.wrote_secret |= self.wrote_secret;
        next.replanned |= self.replanned;
        next.reloaded |= self.reloaded;
        next.restarted_postgres |= self.restarted_postgres;
        next.patched_dcs |= self.patched_dcs;
        next.sql_writes += self.sql_writes;
        next
    }

    fn hold(mut self, holdup: Holdup) -> Applied {
        self.holdup = Some(holdup);
        self
    }
}

/// Apply what `observed` calls for.
pub async fn apply(
    ctx: &Context,
    tools: &HookTools,
    paths: &super::Paths,
    observed: &Observed,
    tls: &TlsDecision,
    clients: &mut super::clients::ClientsPlan,
) -> Result<Applied> {
    let mut applied = Applied {
        tls_refused: tls.refused.clone(),
        ..Applied::default()
    };
    if observed.disabled {
        return Ok(applied.hold(Holdup::Blocked("Disabled".into())));
    }
    let config = match &observed.config {
        Ok(c) => c,
        Err(e) => return Ok(applied.hold(Holdup::Blocked(e.to_string()))),
    };
    let passwords = match &observed.secret {
        PeerSecret::Complete(p) => p.clone(),
        _ if observed.leader => {
            applied.wrote_secret = true;
            store_passwords(tools, &ctx.app_name, &observed.secret)?
        }
        _ => {
            return Ok(applied.hold(Holdup::Waiting(
                "waiting for the leader to create the system passwords".into(),
            )));
        }
    };
    applied.passwords = Some(passwords.clone());
    let dcs = match &observed.store {
        Store::Kubernetes => Dcs::Kubernetes {
            pod_ip: observed.address.clone(),
        },
        Store::Etcd(info) => {
            applied.state.insert(
                super::observe::STORE_KEY.to_string(),
                serde_json::to_string(info).context("recording the etcd provider's data")?,
            );
            Dcs::Etcd(EtcdStore {
                hosts: info.hosts.clone(),
                protocol: info.protocol.clone(),
                cacert: None,
                client_cert: None,
            })
        }
        Store::Missing => {
            applied.forget.push(super::observe::STORE_KEY.to_string());
            return Ok(applied.hold(Holdup::Blocked(
                "Patroni needs a store outside Kubernetes: integrate with an etcd provider \
                 (juju integrate <this app>:etcd <etcd app>)"
                    .into(),
            )));
        }
        Store::Unusable(e) => return Ok(applied.hold(Holdup::Waiting(e.to_string()))),
    };
    let (client, facts, fresh_container) = match &observed.workload {
        Workload::Unreachable { .. } => {
            return Ok(applied.hold(Holdup::Waiting(
                "waiting for the postgresql container to start".into(),
            )));
        }
        Workload::Reachable {
            client,
            facts,
            fresh,
        } => (client, facts, *fresh),
    };
    if fresh_container {
        applied.state.insert(
            FACTS_KEY.to_string(),
            serde_json::to_string(facts).context("recording the workload's facts")?,
        );
    }
    let preload = &facts.preload;
    let Some(installed) = &facts.installed else {
        return Ok(applied.hold(Holdup::Blocked(
            "no PostgreSQL server in the workload image (/usr/lib/postgresql/<major>/bin/postgres)"
                .into(),
        )));
    };
    if let Some(holdup) = kubernetes(ctx, paths, observed).await? {
        return Ok(applied.hold(holdup));
    }
    // Backups: the workload's pgBackRest configuration follows the relation whatever else the
    // hook finds; the stanza waits for the database (below).
    let backups = super::backups::Inputs {
        ctx,
        tools,
        client,
        state: &observed.state,
        s3: &observed.s3,
        leader: observed.leader,
        fresh_container,
        cores: observed.resources.cpu_cores as usize,
        bin_dir: &installed.bin_dir,
    };
    let (synced, s3_view) = super::backups::sync(&backups).await?;
    applied.s3_synced = true;
    record_backups(synced, &mut applied);
    let resources = &observed.resources;
    if let Err(e) = config.check_resources(resources) {
        return Ok(applied.hold(Holdup::Blocked(e.to_string())));
    }
    let unmet = config.unmet_plugin_dependencies();
    if !unmet.is_empty() {
        for (option, missing) in &unmet {
            tracing::warn!("{option} needs {} enabled too", missing.join(", "));
        }
        return Ok(applied.hold(Holdup::Blocked(
            "Unsatisfied plugin dependencies. Please check the logs".into(),
        )));
    }
    if config.pgaudit_enabled() && !preload.iter().any(|p| p == "pgaudit") {
        return Ok(applied.hold(Holdup::Blocked(
            "plugin_audit_enable: the workload image has no pgaudit library".into(),
        )));
    }

    // Render.
    let restore = super::backups::restore_in(&observed.state);
    let archive = super::backups::archive_stanza(&observed.s3, observed.leader);
    let served = tls.served.as_ref();
    applied.tls = served.is_some();
    let patroni_yml = render_patroni(
        observed,
        config,
        resources,
        installed,
        preload,
        dcs,
        &passwords,
        served,
        clients.hba_users(),
        archive.as_deref(),
        restore.as_ref(),
    );
    let monitoring = passwords.system.monitoring.expose().to_string();
    let layer = workload::render_layer(&LayerInputs {
        app: ctx.app_name.clone(),
        member: ctx.pod_name(),
        namespace: ctx.model_name.clone(),
        in_kubernetes: observed.in_kubernetes,
        ready_check: if served.is_some() {
            workload::ReadyCheck::pg_isready(&installed.bin_dir)
        } else {
            workload::ReadyCheck::Http(format!(
                "http://{}:{}/health",
                observed.connect_host,
                workload::PATRONI_PORT
            ))
        },
        exporter: installed.exporter.clone(),
        monitoring_ready: true,
        restoring: restore.is_some(),
        log_targets: crate::relations::logging::log_targets(
            &observed.logging.view,
            &crate::relations::topology::Topology::of(ctx),
        ),
    });

    // Files and layer. A new container gets its directories first.
    if fresh_container {
        let owner = |mode: u32| MakeDirOptions {
            make_parents: true,
            permissions: Some(mode),
            user: Some(workload::WORKLOAD_USER.into()),
            group: Some(workload::WORKLOAD_USER.into()),
            ..MakeDirOptions::default()
        };
        for (dir, mode) in [
            (workload::STORAGE_DIR, 0o750),
            (workload::SOCKET_DIR, 0o775),
            (workload::LOG_DIR, 0o750),
        ] {
            client
                .make_dir(dir, &owner(mode))
                .await
                .with_context(|| format!("creating {dir} in the workload"))?;
        }
    }
    // TLS files go first: the configuration that names them must not be loaded before they
    // are there.
    let tls_files = served.map(tls_files_fingerprint).unwrap_or_default();
    if let Some(served) = served
        && (fresh_container || observed.state.get(TLS_FILES_KEY) != Some(&tls_files))
    {
        for (path, content) in [
            (workload::TLS_KEY_FILE, served.key.expose().as_bytes()),
            (workload::TLS_CERT_FILE, served.cert.as_bytes()),
            (workload::TLS_CA_FILE, served.ca.as_bytes()),
        ] {
            if push_file(client, path, content, 0o400, Some(workload::WORKLOAD_USER)).await? {
                applied.pushed.push(path.to_string());
            }
        }
        applied
            .state
            .insert(TLS_FILES_KEY.to_string(), tls_files.clone());
    }
    trust_cas(
        client,
        observed,
        served,
        &tls.trusted,
        fresh_container,
        &mut applied,
    )
    .await?;
    for (path, content) in [
        (workload::PATRONI_CONF, patroni_yml.as_bytes()),
        (workload::MONITORING_PASSWORD_FILE, monitoring.as_bytes()),
        (
            workload::EXPORTER_QUERIES_FILE,
            workload::EXPORTER_QUERIES.as_bytes(),
        ),
    ] {
        if push_if_changed(client, path, content).await? {
            applied.pushed.push(path.to_string());
        }
    }
    let plan = client.get_plan().await.context("reading the Pebble plan")?;
    let wanted = plan
        .with_layer("postgresql", &layer)
        .map_err(anyhow::Error::msg)
        .context("combining the Pebble layer")?;
    // Pebble restarts a service on replan only when its definition changed.
    let mut patroni_restarted = false;
    if wanted != plan {
        patroni_restarted = wanted.services.get("postgresql") != plan.services.get("postgresql");
        client
            .add_layer("postgresql", &layer, true)
            .await
            .context("adding the Pebble layer")?;
        client.replan().await.context("replanning the workload")?;
        applied.replanned = true;
    }
    let services = client
        .list_services(&["postgresql"])
        .await
        .context("reading the workload's services")?;
    let running = services
        .iter()
        .any(|s| s.name == "postgresql" && s.current == ServiceStatus::Active);
    if let (false, Some(restore)) = (running, &restore)
        && restore.started
    {
        // Patroni gave up on the bootstrap (Pebble does not restart it while restoring).
        tracing::error!(
            "the restore did not complete: Patroni stopped while bootstrapping from the backup"
        );
        return Ok(
            applied.hold(Holdup::Blocked(if restore.plan.target.is_some() {
                "cannot restore PITR, juju debug-log for details".into()
            } else {
                "Failed to restore backup".into()
            })),
        );
    }
    if !running {
        client
            .restart(&["postgresql"])
            .await
            .context("starting Patroni")?;
        applied.restarted_services.push("postgresql".into());
        if let Some(restore) = &restore {
            applied.state.insert(
                super::backups::RESTORE_KEY.to_string(),
                serde_json::to_string(&super::backups::Restore {
                    started: true,
                    ..restore.clone()
                })
                .context("recording the restore")?,
            );
            return Ok(applied.hold(Holdup::Maintenance("restoring backup".into())));
        }
        return Ok(applied.hold(Holdup::Maintenance(
            "Database service inactive, restarting".into(),
        )));
    }

    // Patroni: the configuration it has loaded says whether its API speaks https (a Patroni
    // started in this hook read the current file). What the charm remembers of that is only a
    // first guess: a hook that failed after a reload did not keep its state, so the other
    // schemes are tried too, and the one that answers is the truth.
    let conf_fingerprint = fingerprint(&[&patroni_yml, &tls_files]);
    let fresh = patroni_restarted || !applied.restarted_services.is_empty();
    let expected = if fresh {
        served.map(|s| s.ca.as_str())
    } else {
        observed.state.get(API_CA_KEY).map(String::as_str)
    };
    let known_cas: Vec<&str> = observed
        .state
        .get(API_CA_KEY)
        .map(String::as_str)
        .into_iter()
        .chain(served.map(|s| s.ca.as_str()))
        .collect();
    let Some((mut patroni, health, loaded_ca)) = reach_patroni(
        &observed.connect_host,
        &passwords.patroni,
        expected,
        &known_cas,
    )
    .await?
    else {
        return Ok(applied.hold(starting(restore.as_ref())));
    };
    if !health.is_started() || (restore.is_some() && !health.is_primary()) {
        return Ok(applied.hold(starting(restore.as_ref())));
    }
    if restore.is_some() {
        // The backup is restored and the cluster promoted: back to the usual bootstrap and
        // restart policy on the next render, and the stanza checked again (a new timeline).
        tracing::info!("the restore is complete");
        applied
            .forget
            .extend([super::backups::RESTORE_KEY, super::backups::STANZA_KEY].map(String::from));
        applied.again = true;
        applied.health = Some(health);
        return Ok(applied);
    }
    if fresh {
        record_loaded(&mut applied, &conf_fingerprint, served);
    } else if loaded_ca.as_deref() != observed.state.get(API_CA_KEY).map(String::as_str) {
        match &loaded_ca {
            Some(ca) => {
                applied.state.insert(API_CA_KEY.to_string(), ca.clone());
            }
            None => applied.forget.push(API_CA_KEY.to_string()),
        }
    }
    if applied
        .pushed
        .iter()
        .any(|p| p == workload::MONITORING_PASSWORD_FILE || p == workload::EXPORTER_QUERIES_FILE)
        && !fresh
        && installed.exporter.is_some()
    {
        client
            .restart(&["metrics_server"])
            .await
            .context("restarting the exporter")?;
        applied.restarted_services.push("metrics_server".into());
    }
    applied.primary = health.is_primary();
    // Client relations are the leader's to serve wherever the primary is: a leader that is a
    // replica (after a failover) reaches the primary named in Patroni's cluster view.
    let remote_primary = if observed.leader
        && !applied.primary
        && (!clients.clients.is_empty() || clients.has_work())
    {
        match patroni.cluster().await {
            Ok(cluster) => cluster
                .members
                .into_iter()
                .find(|m| m.role == "leader")
                .map(|m| m.host)
                .filter(|h| !h.is_empty()),
            Err(e) => {
                tracing::warn!("reading the cluster to find the primary: {e:#}");
                None
            }
        }
    } else {
        None
    };
    // The workload version `juju status` shows (PostgreSQL's, `150018` → `15.18`), set when it
    // changes.
    let version = format!(
        "{}.{}",
        health.server_version / 10_000,
        health.server_version % 10_000
    );
    if health.server_version > 0 && observed.state.get(VERSION_KEY) != Some(&version) {
        tools
            .application_version_set(&version)
            .context("setting the workload version")?;
        applied
            .state
            .insert(VERSION_KEY.to_string(), version.clone());
    }

    // What the database side should look like, as fingerprints: when one matches what the last
    // successful hook applied (and PostgreSQL has not restarted since), there is nothing to do.
    let reload = !fresh && observed.state.get(LOADED_KEY) != Some(&conf_fingerprint);
    let sql_fingerprint = applied.primary.then(|| {
        fingerprint(&[
            &passwords_fingerprint(&passwords.system),
            &format!("{:?}", config.extensions()),
            &health.postmaster_start_time,
        ])
    });
    let converge = sql_fingerprint
        .as_ref()
        .is_some_and(|f| observed.state.get(SQL_KEY) != Some(f));
    let dcs_wanted = observed
        .leader
        .then(|| dcs_settings(observed, config, resources));
    let dcs_fingerprint = dcs_wanted.as_ref().map(|w| fingerprint(&[&w.to_string()]));
    let patch_dcs = dcs_fingerprint
        .as_ref()
        .is_some_and(|f| observed.state.get(DCS_KEY) != Some(f));
    // What every client is told besides its credentials; when it changed, all are told again.
    let shared = super::clients::Shared {
        endpoint: match &remote_primary {
            Some(host) if !observed.in_kubernetes => format!("{host}:{}", workload::PG_PORT),
            _ => client_endpoint(observed, "primary"),
        },
        read_only_endpoint: client_endpoint(
            observed,
            if observed.planned_units > 1 {
                "replicas"
            } else {
                "primary"
            },
        ),
        version,
        tls_ca: served.map(|s| s.ca.clone()),
        unit_host: if observed.in_kubernetes {
            format!(
                "{}.{}.svc.cluster.local",
                observed.connect_host, observed.namespace
            )
        } else {
            observed.address.clone()
        },
    };
    let shared_json = serde_json::to_string(&shared).unwrap_or_default();
    let serve_clients = observed.leader && (applied.primary || remote_primary.is_some());
    if serve_clients
        && observed.state.get(super::clients::PUBLISHED_KEY) != Some(&shared_json)
        && !clients.clients.is_empty()
    {
        super::clients::republish_all(tools, clients)?;
    }
    if serve_clients {
        super::clients::gate(tools, clients, &observed.peers)?;
    }
    let clients_work = serve_clients && clients.has_work();
    if !(reload || converge || patch_dcs || clients_work) {
        applied.hba_loaded = true;
        if serve_clients {
            applied
                .state
                .insert(super::clients::PUBLISHED_KEY.to_string(), shared_json);
        }
        applied.health = Some(health);
        converge_backups(&backups, s3_view.as_ref(), &mut applied).await?;
        return Ok(applied);
    }

    // The charm's own connection, over the pod's loopback.
    // Over TLS when the server offers it, checked against the CA it was loaded with and the one
    // it is about to load.
    let cas: Vec<&str> = loaded_ca
        .as_deref()
        .into_iter()
        .chain(served.map(|s| s.ca.as_str()))
        .collect();
    let params = crate::postgres::ConnParams::operator(
        "127.0.0.1",
        &observed.connect_host,
        &passwords.system.operator,
        &cas,
    )
    .context("trusting the unit's CA")?;
    let mut sql = match crate::postgres::connect(&params).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("PostgreSQL does not accept the charm yet: {e:#}");
            return Ok(applied.hold(Holdup::Waiting("awaiting for cluster to start".into())));
        }
    };
    if reload {
        let loaded = conf_load_time(&sql).await?;
        patroni.reload().await.context("reloading Patroni")?;
        wait_for_reload(&sql, &loaded).await?;
        applied.reloaded = true;
        // http ↔ https, or another CA: the API restarts with the new configuration.
        if loaded_ca.as_deref() != served.map(|s| s.ca.as_str()) {
            patroni = patroni_client(
                &observed.connect_host,
                &passwords.patroni,
                served.map(|s| s.ca.as_str()),
            )?;
            wait_for_api(&patroni).await;
        }
        record_loaded(&mut applied, &conf_fingerprint, served);
        applied.hba_loaded = true;
        if served.is_none() && observed.state.contains_key(TLS_FILES_KEY) {
            // Nothing names the TLS files any more: remove them (the key is kept in the secret).
            for path in [
                workload::TLS_KEY_FILE,
                workload::TLS_CERT_FILE,
                workload::TLS_CA_FILE,
            ] {
                match client.remove_path(path, false).await {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e).with_context(|| format!("removing {path}")),
                }
            }
            applied.forget.push(TLS_FILES_KEY.to_string());
        }
    }
    if fresh {
        applied.hba_loaded = true;
    }
    if converge {
        let (writes, holdup) = converge_sql(&mut sql, &params, &passwords.system, config).await?;
        applied.sql_writes += writes;
        if let Some(holdup) = holdup {
            applied.health = Some(health);
            return Ok(applied.hold(holdup));
        }
        if let Some(f) = sql_fingerprint {
            applied.state.insert(SQL_KEY.to_string(), f);
        }
    }
    if clients_work {
        match &remote_primary {
            None => {
                applied.sql_writes +=
                    super::clients::serve(tools, &mut sql, &params, clients, &shared)
                        .await
                        .context("serving the client relations")?;
            }
            Some(host) => {
                let remote = crate::postgres::ConnParams::operator(
                    host,
                    host,
                    &passwords.system.operator,
                    &cas,
                )
                .context("trusting the primary's CA")?;
                let mut primary = crate::postgres::connect(&remote)
                    .await
                    .with_context(|| format!("connecting to the primary at {host}"))?;
                applied.sql_writes +=
                    super::clients::serve(tools, &mut primary, &remote, clients, &shared)
                        .await
                        .context("serving the client relations on the primary")?;
            }
        }
    }
    if serve_clients {
        applied.state.insert(
            super::clients::PUBLISHED_KEY.to_string(),
            shared_json.clone(),
        );
    }
    if let (true, Some(wanted)) = (patch_dcs, &dcs_wanted) {
        let current = patroni
            .config()
            .await
            .context("reading Patroni's settings")?;
        if let Some(patch) = config_changes(&current, wanted) {
            let loaded = conf_load_time(&sql).await?;
            match patroni.patch_config(&patch).await {
                Ok(()) => {}
                // Still bootstrapping: its settings are not in the store yet.
                Err(e) if crate::patroni::is_unavailable(&e) => {
                    applied.health = Some(health);
                    return Ok(
                        applied.hold(Holdup::Waiting("awaiting for cluster to start".into()))
                    );
                }
                Err(e) => return Err(e.context("updating Patroni's settings")),
            }
            wait_for_reload(&sql, &loaded).await?;
            applied.patched_dcs = true;
        }
        if let Some(f) = dcs_fingerprint {
            applied.state.insert(DCS_KEY.to_string(), f);
        }
    }
    // One restart decision, after every change above has reached PostgreSQL.
    let pending = crate::postgres::pending_restart_settings(&sql).await?;
    if !pending.is_empty() {
        tracing::info!("restarting PostgreSQL for {}", pending.join(", "));
        patroni.restart().await.context("restarting PostgreSQL")?;
        applied.restarted_postgres = true;
    }
    applied.health = Some(health);
    converge_backups(&backups, s3_view.as_ref(), &mut applied).await?;
    Ok(applied)
}

/// The holdup while Patroni starts (or bootstraps a restore).
fn starting(restore: Option<&super::backups::Restore>) -> Holdup {
    match restore {
        Some(_) => Holdup::Maintenance("restoring backup".into()),
        None => Holdup::Waiting("awaiting for cluster to start".into()),
    }
}

/// The backups' part of the hook once the database runs: the stanza on the primary; what the
/// sync and the stanza did recorded in `applied`.
async fn converge_backups(
    inputs: &super::backups::Inputs<'_>,
    view: Option<&super::backups::S3View>,
    applied: &mut Applied,
) -> Result<()> {
    if let Some(view) = view {
        let mut done = super::backups::Converged::default();
        super::backups::check_stanza(inputs, view, applied.primary, &mut done).await?;
        record_backups(done, applied);
    }
    Ok(())
}

/// Fold what a backups' step did into `applied`.
fn record_backups(done: super::backups::Converged, applied: &mut Applied) {
    applied.state.extend(done.state);
    applied.forget.extend(done.forget);
    applied.pushed.extend(done.pushed);
    if done.blocked.is_some() {
        applied.backups_blocked = done.blocked;
    }
}

/// The Kubernetes objects of spec §4.5: the leader applies the `-primary`/`-replicas` Services,
/// every unit labels its pod for them. Skipped with one debug line outside Kubernetes.
async fn kubernetes(
    ctx: &Context,
    paths: &super::Paths,
    observed: &Observed,
) -> Result<Option<Holdup>> {
    if !observed.in_kubernetes {
        return Ok(None);
    }
    let Some(kube) = crate::k8s::KubeClient::in_cluster(&paths.env, &paths.fs_root)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("reading the Kubernetes service account")?
    else {
        tracing::debug!("{}", crate::k8s::NOT_IN_KUBERNETES);
        return Ok(None);
    };
    let app = &ctx.app_name;
    let forbidden = || Holdup::Blocked(crate::k8s::insufficient_permissions_message(app));
    if observed.leader {
        match kube.apply_services(app).await {
            Ok(()) => {}
            Err(e) if e.is_forbidden() => return Ok(Some(forbidden())),
            Err(e) => {
                tracing::error!("applying the Services: {e}");
                return Ok(Some(Holdup::Blocked(
                    "failed to create k8s services".into(),
                )));
            }
        }
    }
    match kube.patch_pod_labels(&ctx.pod_name(), app).await {
        Ok(()) => Ok(None),
        Err(e) if e.is_forbidden() => Ok(Some(forbidden())),
        Err(e) => Ok(Some(Holdup::Blocked(format!(
            "failed to patch pod with error {e}"
        )))),
    }
}

/// Charm-state key: fingerprint of the configuration (patroni.yml and TLS files) Patroni last
/// loaded.
const LOADED_KEY: &str = "patroni-loaded";

/// Charm-state key: the CA of the certificate Patroni's API serves (absent: plain http).
pub const API_CA_KEY: &str = "patroni-api-ca";

/// Charm-state key: fingerprint of the TLS files pushed to the workload.
const TLS_FILES_KEY: &str = "tls-files";

/// Charm-state key: fingerprint of the CA files in the workload's system trust store.
const SYSTEM_CA_KEY: &str = "system-cas";

/// `host:5432` clients use for `role` (`primary`/`replicas`): the Service in Kubernetes (spec
/// §4.6), this unit's address elsewhere.
fn client_endpoint(observed: &Observed, role: &str) -> String {
    if observed.in_kubernetes {
        format!(
            "{}-{role}.{}.svc.cluster.local:{}",
            observed.app,
            observed.namespace,
            workload::PG_PORT
        )
    } else {
        format!("{}:{}", observed.address, workload::PG_PORT)
    }
}

/// A client for the Patroni API at `host`: https checked against `ca` when given, http otherwise.
pub fn patroni_client(host: &str, password: &juju::Secret, ca: Option<&str>) -> Result<Patroni> {
    let scheme = if ca.is_some() { "https" } else { "http" };
    Patroni::with_ca(
        &format!("{scheme}://{host}:{}", workload::PATRONI_PORT),
        password,
        ca,
    )
}

fn record_loaded(applied: &mut Applied, conf_fingerprint: &str, served: Option<&Served>) {
    applied
        .state
        .insert(LOADED_KEY.to_string(), conf_fingerprint.to_string());
    match served {
        Some(s) => {
            applied.state.insert(API_CA_KEY.to_string(), s.ca.clone());
        }
        None => applied.forget.push(API_CA_KEY.to_string()),
    }
}

/// Reach this member's Patroni API: first as `expected` says (https checked against that CA,
/// or http), then with each other known CA, then over http. The client that answered, Patroni's
/// health, and the CA it was reached with (`None`: http); `None` when nothing answers.
async fn reach_patroni(
    host: &str,
    password: &juju::Secret,
    expected: Option<&str>,
    known_cas: &[&str],
) -> Result<Option<(Patroni, Health, Option<String>)>> {
    let mut order: Vec<Option<&str>> = vec![expected];
    for ca in known_cas.iter().map(|c| Some(*c)).chain([None]) {
        if !order.contains(&ca) {
            order.push(ca);
        }
    }
    let mut failures = Vec::new();
    for ca in order {
        let patroni = patroni_client(host, password, ca)?;
        match patroni.health().await {
            Ok(health) => return Ok(Some((patroni, health, ca.map(str::to_string)))),
            Err(e) => failures.push(format!(
                "over {}: {e:#}",
                if ca.is_some() { "https" } else { "http" }
            )),
        }
    }
    tracing::info!("Patroni's API does not answer: {}", failures.join("; "));
    Ok(None)
}

/// Wait (at most 10 s) for Patroni's API to answer again after it switched between http and
/// https.
async fn wait_for_api(patroni: &Patroni) {
    for _ in 0..50 {
        if patroni.health().await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    tracing::warn!("Patroni's API did not answer within 10 s of switching TLS");
}

fn tls_files_fingerprint(served: &Served) -> String {
    // Keyed with the private key, so the stored value reveals nothing about it.
    keyed_fingerprint(served.key.expose(), &[&served.cert, &served.ca])
}

/// Put the unit's CA and the received CAs in the workload's system trust store
/// (`/usr/local/share/ca-certificates`, then `update-ca-certificates`), as the reference does,
/// and take out those no longer wanted. Only the charm's files (`ca.crt`, `ca-*.crt`) are touched.
async fn trust_cas(
    client: &pebble::Client,
    observed: &Observed,
    served: Option<&Served>,
    trusted: &BTreeMap<String, String>,
    fresh_container: bool,
    applied: &mut Applied,
) -> Result<()> {
    let mut wanted: BTreeMap<String, &str> = trusted
        .iter()
        .map(|(stem, pem)| (format!("{stem}.crt"), pem.as_str()))
        .collect();
    if let Some(s) = served {
        wanted.insert("ca.crt".into(), s.ca.as_str());
    }
    let parts: Vec<String> = wanted.iter().map(|(k, v)| format!("{k}\n{v}")).collect();
    let wanted_fp = fingerprint(&parts.iter().map(String::as_str).collect::<Vec<_>>());
    let before = observed.state.get(SYSTEM_CA_KEY);
    if wanted.is_empty() && before.is_none() {
        return Ok(());
    }
    if !fresh_container && before == Some(&wanted_fp) {
        return Ok(());
    }
    let mut changed = false;
    for (name, pem) in &wanted {
        let path = format!("{}/{name}", workload::SYSTEM_CA_DIR);
        changed |= push_file(client, &path, pem.as_bytes(), 0o444, None).await?;
    }
    let present = match client
        .list_files(workload::SYSTEM_CA_DIR, Some("ca*.crt"), false)
        .await
    {
        Ok(files) => files,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(e).context("listing the workload's trusted CAs"),
    };
    for file in present {
        let ours = file.name == "ca.crt" || file.name.starts_with("ca-");
        if ours && !wanted.contains_key(&file.name) {
            let path = format!("{}/{}", workload::SYSTEM_CA_DIR, file.name);
            client
                .remove_path(&path, false)
                .await
                .with_context(|| format!("removing {path}"))?;
            changed = true;
        }
    }
    if changed {
        let out = client
            .exec(&pebble::ExecRequest::new([
                "update-ca-certificates",
                "--fresh",
            ]))
            .await;
        match out.map(pebble::ExecOutput::check) {
            Ok(Ok(_)) => applied.pushed.push("the system trust store".into()),
            Ok(Err(e)) | Err(e) => {
                tracing::warn!("update-ca-certificates failed in the workload: {e}")
            }
        }
    }
    if wanted.is_empty() {
        applied.forget.push(SYSTEM_CA_KEY.to_string());
    } else {
        applied.state.insert(SYSTEM_CA_KEY.to_string(), wanted_fp);
    }
    Ok(())
}

/// Charm-state key of the workload version last shown.
const VERSION_KEY: &str = "workload-version";

/// Charm-state key of the last SQL convergence's fingerprint.
const SQL_KEY: &str = "sql-converged";

/// Charm-state key of the last cluster settings patch's fingerprint.
const DCS_KEY: &str = "dcs-applied";

/// A hex SHA-256 of the parts (length-prefixed, so that no two lists collide).
pub(crate) fn fingerprint(parts: &[&str]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in parts {
        ctx.update(&(part.len() as u64).to_le_bytes());
        ctx.update(part.as_bytes());
    }
    hex(ctx.finish().as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fingerprint of the system passwords, salted per deployment so the stored value reveals
/// nothing about them (the secret's own content keys the HMAC).
fn passwords_fingerprint(passwords: &SystemPasswords) -> String {
    let parts: Vec<&str> = crate::passwords::SystemUser::ALL
        .iter()
        .map(|user| passwords.get(*user).expose())
        .collect();
    keyed_fingerprint(passwords.operator.expose(), &parts)
}

/// A hex HMAC-SHA-256 of the parts (length-prefixed) keyed with a secret, for fingerprints of
/// secret material that must reveal nothing about it.
fn keyed_fingerprint(key: &str, parts: &[&str]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    let mut ctx = ring::hmac::Context::with_key(&key);
    for part in parts {
        ctx.update(&(part.len() as u64).to_le_bytes());
        ctx.update(part.as_bytes());
    }
    hex(ctx.sign().as_ref())
}

/// The cluster-wide settings Patroni should hold in its store.
fn dcs_settings(observed: &Observed, config: &Config, resources: &Resources) -> serde_json::Value {
    let settings = config.patroni_dcs(observed.planned_units, observed.planned_units);
    // Parameters this config does not set go as `null`, which removes them from the store.
    let mut params: serde_json::Map<String, serde_json::Value> = crate::config::DCS_PARAMETERS
        .iter()
        .map(|k| (k.to_string(), serde_json::Value::Null))
        .collect();
    for (k, v) in config.dcs_parameters(resources) {
        params.insert(k, serde_json::Value::String(v));
    }
    serde_json::json!({
        "synchronous_node_count": settings.synchronous_node_count,
        "synchronous_mode_strict": settings.synchronous_mode_strict,
        "maximum_lag_on_failover": settings.maximum_lag_on_failover,
        "postgresql": {
            "remove_data_directory_on_rewind_failure": false,
            "remove_data_directory_on_diverged_timelines": false,
            "parameters": params,
        },
    })
}

/// Create the peer secret (or add what it lacks) with fresh passwords. Leader only.
fn store_passwords(tools: &HookTools, app: &str, secret: &PeerSecret) -> Result<Passwords> {
    let new = || crate::passwords::new_password(crate::passwords::SYSTEM_PASSWORD_LEN);
    let fresh = Passwords {
        system: SystemPasswords {
            operator: new(),
            replication: new(),
            rewind: new(),
            monitoring: new(),
            backup: new(),
        },
        patroni: new(),
    };
    let label = app_secret_label(app);
    let content = match secret {
        PeerSecret::Incomplete(id, existing) => {
            let content = complete(existing, &fresh);
            tools
                .secret_set(
                    id,
                    Some(&content),
                    &SecretOptions::owned_by(SecretOwner::Application),
                )
                .context("completing the system passwords")?;
            content
        }
        _ => {
            let content = passwords_to_content(&fresh);
            tools
                .secret_add(
                    &content,
                    &SecretOptions {
                        label: Some(label),
                        description: Some("PostgreSQL system users' passwords".into()),
                        ..SecretOptions::default()
                    },
                )
                .context("storing the system passwords")?;
            content
        }
    };
    passwords_from_content(&content).context("the stored passwords are incomplete")
}

#[allow(clippy::too_many_arguments)]
fn render_patroni(
    observed: &Observed,
    config: &Config,
    resources: &Resources,
    installed: &Installed,
    preload: &[String],
    dcs: Dcs,
    passwords: &Passwords,
    served: Option<&super::tls::Served>,
    users: Vec<(String, String)>,
    archive: Option<&str>,
    restore: Option<&super::backups::Restore>,
) -> String {
    let mut parameters: BTreeMap<String, String> = config.postgresql_parameters(resources);
    if let Some(stanza) = archive {
        parameters.insert(
            "archive_command".into(),
            workload::pgbackrest::archive_command(stanza),
        );
    }
    parameters.insert("shared_preload_libraries".into(), preload.join(","));
    if config.pgaudit_enabled() && preload.iter().any(|p| p == "pgaudit") {
        parameters.insert("pgaudit.log".into(), "ROLE,DDL,MISC,MISC_SET".into());
        parameters.insert("pgaudit.log_client".into(), "off".into());
        parameters.insert("pgaudit.log_parameter".into(), "off".into());
    }
    if preload.iter().any(|p| p == "pg_stat_statements") {
        parameters.insert("pg_stat_statements.max".into(), "10000".into());
    }
    if let Some(not_after) = served.and_then(|s| s.not_after) {
        // For the exporter's TLS query (cos/exporter/queries.yaml): PostgreSQL shows nobody the
        // certificate it serves, and this changes only with the certificate (a reload).
        parameters.insert(
            workload::TLS_NOT_AFTER_PARAMETER.into(),
            not_after.to_string(),
        );
    }
    let tls = served.is_some();
    let settings = config.patroni_dcs(observed.planned_units, observed.planned_units);
    let pg_hba = workload::render_hba(&HbaInputs {
        tls,
        members: std::iter::once(observed.connect_host.clone())
            .chain(observed.peers.hosts())
            .collect(),
        users,
    });
    workload::render_patroni_yml(&PatroniInputs {
        scope: format!("patroni-{}", observed.app),
        name: observed.member.clone(),
        connect_host: observed.connect_host.clone(),
        dcs,
        bin_dir: installed.bin_dir.clone(),
        parameters,
        dcs_parameters: config.dcs_parameters(resources),
        synchronous_node_count: settings.synchronous_node_count,
        maximum_lag_on_failover: settings.maximum_lag_on_failover,
        pg_hba,
        passwords: PatroniPasswords {
            superuser: passwords.system.operator.clone(),
            replication: passwords.system.replication.clone(),
            rewind: passwords.system.rewind.clone(),
            rest: passwords.patroni.clone(),
        },
        tls,
        restore_command: restore.map(|r| workload::pgbackrest::restore_command(&r.plan)),
    })
}

/// When PostgreSQL last loaded its configuration.
async fn conf_load_time(sql: &tokio_postgres::Client) -> Result<String> {
    Ok(sql
        .query_one("SELECT pg_conf_load_time()::text", &[])
        .await
        .context("reading when PostgreSQL loaded its configuration")?
        .get(0))
}

/// Wait (at most 10 s) for PostgreSQL to load its configuration again: Patroni applies a reload
/// or a settings patch in its next cycle, which a request wakes at once.
async fn wait_for_reload(sql: &tokio_postgres::Client, before: &str) -> Result<()> {
    for _ in 0..50 {
        if conf_load_time(sql).await? != before {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    tracing::warn!(
        "PostgreSQL did not reload its configuration within 10 s; a later hook checks again"
    );
    Ok(())
}

/// Push `content` to `path` (0600, workload user) unless the file already holds exactly that.
async fn push_if_changed(client: &pebble::Client, path: &str, content: &[u8]) -> Result<bool> {
    push_file(client, path, content, 0o600, Some(workload::WORKLOAD_USER)).await
}

/// Push `content` to `path` with `mode` and owner (`None`: root) unless it already holds that.
pub(super) async fn push_file(
    client: &pebble::Client,
    path: &str,
    content: &[u8],
    mode: u32,
    owner: Option<&str>,
) -> Result<bool> {
    match client.pull(path).await {
        Ok(current) if current == content => return Ok(false),
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e).with_context(|| format!("reading {path} in the workload")),
    }
    client
        .push(
            path,
            content,
            &PushOptions {
                permissions: Some(mode),
                user: owner.map(str::to_string),
                group: owner.map(str::to_string),
                make_dirs: true,
                ..PushOptions::default()
            },
        )
        .await
        .with_context(|| format!("writing {path} in the workload"))?;
    Ok(true)
}

/// Converge the system users and the extensions on the primary; returns the number of SQL
/// writes, and a status when an extension cannot be had or dropped.
async fn converge_sql(
    client: &mut tokio_postgres::Client,
    params: &crate::postgres::ConnParams,
    passwords: &SystemPasswords,
    config: &Config,
) -> Result<(usize, Option<Holdup>)> {
    use crate::postgres::{self, ExtensionError};
    let report = postgres::ensure_system_users(client, passwords)
        .await
        .context("setting up the system users")?;
    let mut writes = report.writes();
    let databases = postgres::non_template_databases(client).await?;
    let wanted: Vec<(&str, bool)> = config
        .extensions()
        .iter()
        .map(|e| (e.name, e.enabled))
        .collect();
    match postgres::ensure_extensions(params, &databases, &wanted).await {
        Ok(report) => writes += report.writes(),
        Err(ExtensionError::Unavailable { names }) => {
            return Ok((
                writes,
                Some(Holdup::Blocked(format!(
                    "extensions not available in the workload image: {} (disable their plugin_* options)",
                    names.join(", ")
                ))),
            ));
        }
        Err(ExtensionError::DependentObjects {
            name,
            database,
            detail,
        }) => {
            tracing::warn!("cannot drop extension {name} in {database}: {detail}");
            return Ok((
                writes,
                Some(Holdup::Blocked(
                    "Cannot disable plugins: Existing objects depend on it. See logs".into(),
                )),
            ));
        }
        Err(ExtensionError::Other(e)) => return Err(e.context("applying the plugin_* options")),
    }
    Ok((writes, None))
}
