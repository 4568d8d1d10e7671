//! Observe: read everything a hook needs once — config, leadership, the peer secret, the store,
//! the workload — into plain data. Nothing is changed here.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use juju::{Context, Event, HookTools, SecretContent, SecretGetMode, Target};

use super::Paths;
use super::secrets::{Passwords, passwords_from_content};
use crate::config::{Config, ConfigError, Resources};
use crate::features;
use crate::passwords::app_secret_label;
use crate::relations::etcd::{self, EtcdDataError, EtcdInfo};
use crate::workload::{self, Installed};

/// Patroni's store, as far as this hook can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// Running in Kubernetes: Patroni keeps its state in Endpoints.
    Kubernetes,
    /// An etcd provider is related and published usable endpoints.
    Etcd(EtcdInfo),
    /// No store: neither Kubernetes nor an `etcd` relation.
    Missing,
    /// Related, but the provider has not published (yet) or published garbage.
    Unusable(EtcdDataError),
}

/// The workload container as seen through Pebble.
#[derive(Debug, Clone)]
pub enum Workload {
    /// No Pebble answers on the socket: the container is starting or restarting.
    Unreachable {
        /// The socket that did not answer.
        socket: PathBuf,
    },
    /// Pebble answers.
    Reachable {
        /// The client.
        client: pebble::Client,
        /// What the image provides.
        facts: WorkloadFacts,
        /// The facts were found in this hook (the container started since the last hook that
        /// looked): the container is new, so its directories must be prepared.
        fresh: bool,
    },
}

/// What the container's image provides, remembered per container start (Pebble's boot id).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkloadFacts {
    /// The Pebble boot these facts were found in.
    pub boot_id: String,
    /// What the image provides (`None`: no PostgreSQL server found).
    pub installed: Option<Installed>,
    /// Libraries from the reference's `shared_preload_libraries` the image has.
    pub preload: Vec<String>,
    /// This unit's address (`network-get`); a new container start may come with a new one.
    pub address: String,
}

/// The charm-state key of the remembered etcd provider data. Relation data only changes with a
/// `relation-changed` event, so other hooks use what the last etcd event read.
pub const STORE_KEY: &str = "etcd-store";

/// The charm-state key (`state-get`/`state-set`) of the remembered [`WorkloadFacts`].
pub const FACTS_KEY: &str = "workload-facts";

/// The peer secret as found.
#[derive(Debug, Clone)]
pub enum PeerSecret {
    /// Complete: every password is there.
    Complete(Passwords),
    /// The secret exists but lacks keys (its id and what it holds).
    Incomplete(String, SecretContent),
    /// No secret yet.
    Missing,
}

/// What one hook found.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Application name.
    pub app: String,
    /// The Kubernetes namespace (the model's name).
    pub namespace: String,
    /// This member's name in Patroni (`<app>-<n>`, the pod name).
    pub member: String,
    /// The operator created `$CHARM_DIR/disable`.
    pub disabled: bool,
    /// This unit holds leadership.
    pub leader: bool,
    /// The parsed config, or the first reason it is invalid.
    pub config: Result<Config, ConfigError>,
    /// The peer secret.
    pub secret: PeerSecret,
    /// Patroni's store.
    pub store: Store,
    /// The workload.
    pub workload: Workload,
    /// The address other members and clients use for this member.
    pub connect_host: String,
    /// This unit's (pod's) IP address.
    pub address: String,
    /// CPU and memory available to PostgreSQL.
    pub resources: Resources,
    /// Free fraction of the data volume (when the charm can see it).
    pub free_fraction: Option<f64>,
    /// Units the application is meant to have.
    pub planned_units: u32,
    /// The charm's own state kept by Juju (`state-get`).
    pub state: std::collections::BTreeMap<String, String>,
    /// Running in Kubernetes.
    pub in_kubernetes: bool,
    /// The relation endpoint of the event, when this revision does not handle it.
    pub unhandled_endpoint: Option<String>,
    /// The peer relation (kept in the charm's state, read again on its events).
    pub peers: super::peers::PeerView,
    /// `peers` was read from the relation and differs from what was kept.
    pub peers_changed: bool,
    /// The S3 relation (backups).
    pub s3: super::backups::S3Observed,
    /// The `logging` relation (log forwarding).
    pub logging: super::logging::LoggingObserved,
}

/// Read everything.
pub async fn observe(
    ctx: &Context,
    tools: &HookTools,
    paths: &Paths,
    passwords: Option<&Passwords>,
) -> Result<Observed> {
    let disabled = ctx.charm_dir.join("disable").exists();
    let leader = tools.is_leader().context("reading leadership")?;
    let config_map = tools.config_get().context("reading the config")?;
    let config = Config::parse(&config_map);
    let secret = match passwords {
        Some(p) => PeerSecret::Complete(p.clone()),
        None => read_peer_secret(tools, &ctx.app_name)?,
    };
    let state = tools.state_get().context("reading the charm's state")?;
    let (peers, peers_changed) = super::peers::observe(ctx, tools, &state)?;
    let store = if ctx.in_kubernetes {
        Store::Kubernetes
    } else {
        let etcd_event =
            matches!(&ctx.event, Event::Relation { relation, .. } if relation.endpoint == "etcd");
        let broken = matches!(&ctx.event, Event::Relation { relation, kind: juju::RelationEventKind::Broken, .. } if relation.endpoint == "etcd");
        let cached = state
            .get(STORE_KEY)
            .and_then(|v| serde_json::from_str::<EtcdInfo>(v).ok());
        match (broken, etcd_event, cached) {
            (true, _, _) => Store::Missing,
            (false, false, Some(info)) => Store::Etcd(info),
            _ => read_store(tools)?,
        }
    };
    let remembered = state
        .get(FACTS_KEY)
        .and_then(|v| serde_json::from_str::<WorkloadFacts>(v).ok());
    let address_of = || -> Result<String> {
        Ok(tools
            .network_get("database-peers", None)
            .context("reading this unit's address")?
            .bind_address()
            .unwrap_or("127.0.0.1")
            .to_string())
    };
    let workload = read_workload(&paths.containers_dir, remembered, &address_of).await?;
    let fresh_container = matches!(&workload, Workload::Reachable { fresh: true, .. });
    let encrypted = config
        .as_ref()
        .map(Config::backup_encryption)
        .unwrap_or(true);
    let s3 = super::backups::observe(ctx, tools, &state, fresh_container, encrypted)?;
    let logging = super::logging::observe(ctx, tools, &state, leader)?;
    let address = match &workload {
        Workload::Reachable { facts, .. } => facts.address.clone(),
        Workload::Unreachable { .. } => address_of()?,
    };
    let connect_host = if ctx.in_kubernetes {
        format!("{}.{}-endpoints", ctx.pod_name(), ctx.app_name)
    } else {
        address.clone()
    };
    let planned_units = if !leader {
        1
    } else {
        tools
            .goal_state()
            .map(|g| g.planned_units() as u32)
            .unwrap_or(1)
            .max(1)
    };
    let unhandled_endpoint = match &ctx.event {
        Event::Relation { relation, .. } => features::for_endpoint(&relation.endpoint)
            .filter(|f| !f.implemented)
            .map(|_| relation.endpoint.clone()),
        _ => None,
    };
    Ok(Observed {
        app: ctx.app_name.clone(),
        namespace: ctx.model_name.clone(),
        member: ctx.pod_name(),
        disabled,
        leader,
        config,
        secret,
        store,
        workload,
        connect_host,
        address,
        resources: resources(ctx, paths).await,
        free_fraction: free_fraction(Path::new(workload::STORAGE_DIR)),
        planned_units,
        state,
        in_kubernetes: ctx.in_kubernetes,
        unhandled_endpoint,
        peers,
        peers_changed,
        s3,
        logging,
    })
}

fn read_peer_secret(tools: &HookTools, app: &str) -> Result<PeerSecret> {
    let label = app_secret_label(app);
    match tools.secret_get(None, Some(&label), SecretGetMode::Peek) {
        Ok(content) => Ok(match passwords_from_content(&content) {
            Some(p) => PeerSecret::Complete(p),
            None => {
                let id = tools
                    .secret_info_get(None, Some(&label))
                    .map(|i| i.id)
                    .unwrap_or_default();
                PeerSecret::Incomplete(id, content)
            }
        }),
        Err(e) if e.is_secret_not_found() => Ok(PeerSecret::Missing),
        Err(e) => Err(e).context("reading the system passwords"),
    }
}

fn read_store(tools: &HookTools) -> Result<Store> {
    let Some(relation) = tools
        .relation_ids("etcd")
        .context("reading the etcd relation")?
        .into_iter()
        .next()
    else {
        return Ok(Store::Missing);
    };
    let Some(remote) = tools.relation_remote_app(&relation)? else {
        return Ok(Store::Unusable(EtcdDataError::NotYet));
    };
    let data = tools
        .relation_get(&relation, &Target::App(remote))
        .context("reading the etcd provider's data")?;
    Ok(match etcd::parse(&data) {
        Ok(info) => Store::Etcd(info),
        Err(e) => Store::Unusable(e),
    })
}

async fn read_workload(
    containers_dir: &Path,
    remembered: Option<WorkloadFacts>,
    address_of: &dyn Fn() -> Result<String>,
) -> Result<Workload> {
    let client = pebble::Client::with_socket_dir(containers_dir, workload::CONTAINER)
        .context("building the Pebble client")?;
    let Ok(info) = client.system_info().await else {
        return Ok(Workload::Unreachable {
            socket: client.socket_path().to_path_buf(),
        });
    };
    if let Some(facts) = remembered.filter(|f| f.boot_id == info.boot_id && !f.boot_id.is_empty()) {
        return Ok(Workload::Reachable {
            client,
            facts,
            fresh: false,
        });
    }
    let mut versions = Vec::new();
    if let Ok(entries) = client.list_files("/usr/lib/postgresql", None, false).await {
        for entry in entries {
            let bin = format!("/usr/lib/postgresql/{}/bin/postgres", entry.name);
            if client.exists(&bin).await.unwrap_or(false) {
                versions.push(entry.name.clone());
            }
        }
    }
    let mut exporters = Vec::new();
    for candidate in workload::EXPORTER_CANDIDATES {
        if client.exists(candidate).await.unwrap_or(false) {
            exporters.push(candidate.to_string());
        }
    }
    let installed = workload::detect_installed(&versions, &exporters);
    let mut preload = Vec::new();
    if let Some(found) = &installed
        && let Ok(libs) = client.list_files(&found.lib_dir, Some("*.so"), false).await
    {
        for wanted in workload::PRELOAD_LIBRARIES {
            if libs.iter().any(|f| f.name == format!("{wanted}.so")) {
                preload.push(wanted.to_string());
            }
        }
    }
    Ok(Workload::Reachable {
        client,
        facts: WorkloadFacts {
            boot_id: info.boot_id,
            installed,
            preload,
            address: address_of()?,
        },
        fresh: true,
    })
}

/// What PostgreSQL may use: in Kubernetes the node's allocatable resources capped by the
/// container's limits (spec §2.2); elsewhere what this machine (or cgroup) offers.
async fn resources(ctx: &Context, paths: &Paths) -> Resources {
    if ctx.in_kubernetes
        && let Ok(Some(kube)) = crate::k8s::KubeClient::in_cluster(&paths.env, &paths.fs_root)
    {
        match kube
            .available_resources(&ctx.pod_name(), workload::CONTAINER)
            .await
        {
            Ok(r) => {
                return Resources {
                    cpu_cores: u32::try_from(r.cpu_cores).unwrap_or(u32::MAX),
                    memory_bytes: r.memory_bytes,
                };
            }
            Err(e) => tracing::warn!("reading the pod's resources from Kubernetes: {e}"),
        }
    }
    local_resources()
}

/// CPU cores this process may use and the memory of its cgroup (or of the machine).
fn local_resources() -> Resources {
    let cpu_cores = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    let machine = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .map(|kib| kib * 1024)
        .unwrap_or(1 << 30);
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    Resources {
        cpu_cores,
        memory_bytes: cgroup.map_or(machine, |c| c.min(machine)),
    }
}

/// Free fraction of the filesystem holding `path` (None when the charm cannot see it).
fn free_fraction(path: &Path) -> Option<f64> {
    let stat = rustix::fs::statvfs(path).ok()?;
    (stat.f_blocks > 0).then(|| stat.f_bavail as f64 / stat.f_blocks as f64)
}
