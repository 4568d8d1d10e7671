//! lab-etcd-charm: the `etcd-lab` test charm (crates/lab/charms/etcd), an etcd provider for
//! the lab.
//!
//! On every hook it reconciles: when the `etcd` container's Pebble answers, the leader adds a
//! layer (label `etcd`) with a service running `/usr/bin/etcd` as a single-member cluster on
//! plain http and a readiness check on `/health`, replans when the layer changed (or the service
//! is down), waits a few seconds at most for etcd to answer `/health`, then publishes its client
//! URL as `endpoints` in the application databag of every `etcd` relation and sets `active`
//! (`serving <url>`). Units that are not the leader run no etcd and stay `blocked`: etcd-lab is
//! one unit, not a cluster. See the charm's metadata.yaml for the interface.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use juju::{Context, Event, HookTools, ProcessRunner, RelationEventKind, Status};
use pebble::{Check, CheckLevel, HttpCheck, Layer, Override, Service, Startup};

/// The workload container and the Pebble service in it.
const CONTAINER: &str = "etcd";
/// The endpoint whose relations get the client URL (and whose binding gives the address).
const ENDPOINT: &str = "etcd";
/// Pebble layer label and service name.
const SERVICE: &str = "etcd";
/// The etcd binary (Debian's etcd-server).
const ETCD_BIN: &str = "/usr/bin/etcd";
const CLIENT_PORT: u16 = 2379;
const PEER_PORT: u16 = 2380;
/// Set by the lab when the charm runs without a pod: where `<container>/pebble.socket` is.
const CONTAINERS_DIR_VAR: &str = "CHARM_CONTAINERS_DIR";
/// How long a hook that just started etcd waits for it to answer `/health`.
const START_WAIT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let env = juju::process_env();
    let ctx = match Context::from_env(&env) {
        Ok(ctx) => ctx,
        Err(juju::Error::UnknownEvent(path)) => {
            eprintln!("etcd-lab: ignoring unknown event {path:?}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("etcd-lab: cannot read the hook context: {e}");
            return ExitCode::FAILURE;
        }
    };
    // reqwest (for Pebble and the health probe) needs a process-wide crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tools = HookTools::new(ProcessRunner::new(), &ctx.unit_name);
    let containers_dir = env
        .get(CONTAINERS_DIR_VAR)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("etcd-lab: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(reconcile(&ctx, &tools, containers_dir.as_deref())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("etcd-lab: {} failed: {e}", ctx.event.name());
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, String>;

fn tool_err(e: juju::Error) -> String {
    e.to_string()
}

/// Bring the unit to its goal state from whatever it is now.
async fn reconcile(ctx: &Context, tools: &HookTools, containers_dir: Option<&Path>) -> Result<()> {
    if matches!(ctx.event, Event::Stop | Event::Remove) {
        return Ok(());
    }
    let socket_dir = containers_dir.unwrap_or(Path::new(pebble::DEFAULT_SOCKET_DIR));
    let pebble = pebble::Client::with_socket_dir(socket_dir, CONTAINER)
        .map_err(|e| format!("Pebble client: {e}"))?;
    if !pebble.can_connect().await {
        return set_status(
            tools,
            Status::waiting("waiting for Pebble in the etcd container"),
        );
    }
    if !tools.is_leader().map_err(tool_err)? {
        stop_etcd(&pebble).await?;
        return set_status(
            tools,
            Status::blocked("etcd-lab runs one unit: only the leader serves etcd (scale to 1)"),
        );
    }
    let address = tools
        .network_get(ENDPOINT, None)
        .map_err(tool_err)?
        .bind_address()
        .map(str::to_string);
    let Some(address) = address else {
        return set_status(tools, Status::waiting("waiting for an address for etcd"));
    };
    let name = ctx.unit_name.replace('/', "-");
    // In a pod the data stays in the pod's own root; without one (units share the host), each
    // unit keeps it beside its charm directory.
    let data_dir = match containers_dir {
        Some(_) => ctx.charm_dir.join("etcd-data"),
        None => Path::new("/var/lib/etcd-lab").join(&name),
    };
    let layer = etcd_layer(&name, &address, &data_dir);
    let plan = pebble
        .get_plan()
        .await
        .map_err(|e| format!("Pebble plan: {e}"))?;
    let changed = plan.with_layer(SERVICE, &layer)? != plan;
    if changed {
        pebble
            .add_layer(SERVICE, &layer, true)
            .await
            .map_err(|e| format!("adding the etcd layer: {e}"))?;
    }
    let running = pebble
        .list_services(&[SERVICE])
        .await
        .map_err(|e| format!("listing services: {e}"))?
        .iter()
        .any(|s| s.is_running());
    let started = changed || !running;
    if started && let Err(e) = pebble.replan().await {
        // A later hook (update-status at the latest) tries again.
        return set_status(
            tools,
            Status::blocked(format!(
                "etcd did not start (is {ETCD_BIN} installed?): {e}"
            )),
        );
    }
    let url = format!("http://{address}:{CLIENT_PORT}");
    let wait = if started { START_WAIT } else { Duration::ZERO };
    if !healthy(wait).await {
        return set_status(tools, Status::waiting(format!("waiting for etcd at {url}")));
    }
    publish(ctx, tools, &url)?;
    set_status(tools, Status::active(format!("serving {url}")))
}

/// The Pebble layer: etcd as a one-member cluster, and a readiness check on `/health`.
fn etcd_layer(name: &str, address: &str, data_dir: &Path) -> Layer {
    let peer = format!("http://127.0.0.1:{PEER_PORT}");
    let command = [
        ETCD_BIN.to_string(),
        format!("--name={name}"),
        format!("--data-dir={}", quote(&data_dir.display().to_string())),
        format!("--listen-client-urls=http://0.0.0.0:{CLIENT_PORT}"),
        format!("--advertise-client-urls=http://{address}:{CLIENT_PORT}"),
        format!("--listen-peer-urls={peer}"),
        format!("--initial-advertise-peer-urls={peer}"),
        format!("--initial-cluster={name}={peer}"),
        "--initial-cluster-state=new".to_string(),
        "--initial-cluster-token=etcd-lab".to_string(),
        "--enable-v2=false".to_string(),
        "--logger=zap".to_string(),
    ]
    .join(" ");
    let mut layer = Layer {
        summary: "etcd-lab".into(),
        ..Layer::default()
    };
    layer.services.insert(
        SERVICE.into(),
        Service {
            summary: "single-member etcd".into(),
            r#override: Some(Override::Replace),
            command,
            startup: Some(Startup::Enabled),
            ..Service::default()
        },
    );
    layer.checks.insert(
        "etcd-ready".into(),
        Check {
            r#override: Some(Override::Replace),
            level: Some(CheckLevel::Ready),
            period: Some("10s".into()),
            http: Some(HttpCheck {
                url: format!("http://127.0.0.1:{CLIENT_PORT}/health"),
                ..HttpCheck::default()
            }),
            ..Check::default()
        },
    );
    layer
}

/// Quote a word for Pebble's shell-like command syntax (`'...'` is literal).
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Stop etcd if this unit runs it (a unit that lost leadership).
async fn stop_etcd(pebble: &pebble::Client) -> Result<()> {
    let services = pebble
        .list_services(&[SERVICE])
        .await
        .map_err(|e| format!("listing services: {e}"))?;
    if services.iter().any(|s| s.is_running()) {
        pebble
            .stop(&[SERVICE])
            .await
            .map_err(|e| format!("stopping etcd: {e}"))?;
    }
    Ok(())
}

/// True once etcd answers `/health` with `"health":"true"`, asking until `wait` has passed (at
/// least once).
async fn healthy(wait: Duration) -> bool {
    let Ok(client) = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(1))
        .build()
    else {
        return false;
    };
    let url = format!("http://127.0.0.1:{CLIENT_PORT}/health");
    let deadline = Instant::now() + wait;
    loop {
        if let Ok(resp) = client.get(&url).send().await
            && let Ok(body) = resp.json::<serde_json::Value>().await
            && body.get("health").and_then(|h| h.as_str()) == Some("true")
        {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Write `endpoints` into the application databag of every live `etcd` relation.
fn publish(ctx: &Context, tools: &HookTools, url: &str) -> Result<()> {
    let broken = match &ctx.event {
        Event::Relation {
            kind: RelationEventKind::Broken,
            relation,
            ..
        } => Some(relation.id),
        _ => None,
    };
    let data = BTreeMap::from([("endpoints".to_string(), url.to_string())]);
    for relation in tools.relation_ids(ENDPOINT).map_err(tool_err)? {
        if Some(relation.id) != broken {
            tools
                .relation_set(&relation, true, &data)
                .map_err(tool_err)?;
        }
    }
    Ok(())
}

fn set_status(tools: &HookTools, status: Status) -> Result<()> {
    tools.status_set(false, &status).map_err(tool_err)
}
