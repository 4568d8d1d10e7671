//! postgresql-k8s: the charm binary Juju runs (through `dispatch`) for every hook and action.
//!
//! `main` reads the hook context once, installs logging to `juju-log`, runs the event on a
//! current-thread runtime, and maps the outcome to an exit code: 0 when the hook did what it could
//! (including "blocked" and "waiting"), 1 when Juju should retry.
//!
//! The hook runs inside one root span named after the hook or action; when the `tracing`
//! relation gave a receiver, the hook's spans are sent there at the end (charm::traces).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use juju::spans::SpanRecorder;
use juju::{Context, Error as JujuError, HookTools, ProcessRunner};
use postgresql_k8s::{actions, charm, workload};
use tracing::Instrument as _;

/// Overrides where the workload Pebble sockets are looked for (default `/charm/containers`);
/// only the lab and tests set it.
const CONTAINERS_DIR_VAR: &str = "CHARM_CONTAINERS_DIR";

fn main() -> ExitCode {
    let env = juju::process_env();
    let ctx = match Context::from_env(&env) {
        Ok(ctx) => ctx,
        Err(JujuError::UnknownEvent(path)) => {
            // Juju expects unknown events to be no-ops so refresh and rollback stay safe.
            eprintln!("postgresql-k8s: ignoring unknown event {path:?}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("postgresql-k8s: cannot read the hook context: {e}");
            return ExitCode::FAILURE;
        }
    };
    let tools = Arc::new(HookTools::new(ProcessRunner::new(), &ctx.unit_name));
    let level = if ctx.debug {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    let spans = SpanRecorder::new();
    juju::init_logging_with_spans(tools.clone(), level, spans.clone());
    if rustls::crypto::ring::default_provider()
        .install_default()
        .is_err()
    {
        tracing::debug!("a rustls crypto provider was already installed");
    }
    let paths = charm::Paths {
        containers_dir: env
            .get(CONTAINERS_DIR_VAR)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(workload::DEFAULT_CONTAINERS_DIR)),
        fs_root: PathBuf::from("/"),
        env: env.clone(),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let event = ctx.event.name();
    let root = tracing::info_span!(
        "hook",
        otel.name = %event,
        juju.dispatch_path = %ctx.dispatch_path,
        juju.event = %event,
    );
    let result = runtime.block_on(
        async {
            match &ctx.event {
                juju::Event::Action { name, .. } => actions::run(&ctx, &tools, &paths, name).await,
                _ => charm::reconcile(&ctx, &tools, &paths, charm::Overrides::default())
                    .await
                    .map(|_| ()),
            }
        }
        .instrument(root.clone()),
    );
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            root.in_scope(|| tracing::error!("{event} failed, Juju will retry: {e:#}"));
            ExitCode::FAILURE
        }
    };
    drop(root);
    export_spans(&ctx, &tools, &runtime, &spans);
    code
}

/// Send the hook's spans to the tracing relation's receiver, if one is kept in the charm's
/// state. Hooks use the state they read already (no extra hook-tool call; a hook that failed
/// before reading it sends nothing); actions, which often do not read it, read it here. A
/// failure is a warning: tracing never fails a hook.
fn export_spans(
    ctx: &Context,
    tools: &HookTools,
    runtime: &tokio::runtime::Runtime,
    spans: &SpanRecorder,
) {
    let recorded = spans.take();
    let state = match ctx.event {
        juju::Event::Action { .. } => tools.state_get().ok(),
        _ => tools.state_if_read(),
    };
    let Some(url) = state.and_then(|state| charm::traces::traces_url(&state)) else {
        return;
    };
    let charm_name = env!("CARGO_PKG_NAME");
    let resource = charm::traces::resource(ctx, charm_name);
    let sent = runtime.block_on(charm::traces::export(
        &url,
        &recorded,
        &resource,
        (charm_name, env!("CARGO_PKG_VERSION")),
    ));
    if let Err(e) = sent {
        tracing::warn!("the hook's spans were not sent to the tracing receiver: {e:#}");
    }
}
