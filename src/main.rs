//! postgresql-k8s: the charm binary Juju runs (through `dispatch`) for every hook and action.
//!
//! `main` reads the hook context once, installs logging to `juju-log`, runs the event on a
//! current-thread runtime, and maps the outcome to an exit code: 0 when the hook did what it could
//! (including "blocked" and "waiting"), 1 when Juju should retry.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use juju::{Context, Error as JujuError, HookTools, ProcessRunner};
use postgresql_k8s::{actions, charm, workload};

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
    juju::init_logging(tools.clone(), level);
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
    let result = runtime.block_on(async {
        match &ctx.event {
            juju::Event::Action { name, .. } => actions::run(&ctx, &tools, &paths, name).await,
            _ => charm::reconcile(&ctx, &tools, &paths, charm::Overrides::default())
                .await
                .map(|_| ()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{} failed, Juju will retry: {e:#}", ctx.event.name());
            ExitCode::FAILURE
        }
    }
}
