//! The daemon's shared state: configuration, the layer stack, changes, notices, services,
//! checks and running commands, reachable from every API handler and background task.

use std::sync::Arc;

use tokio::sync::watch;

use super::changes::ChangeStore;
use super::checks::CheckManager;
use super::config::Config;
use super::exec::ExecRegistry;
use super::notices::NoticeStore;
use super::plan_store::PlanStore;
use super::process::DEFAULT_PATH;
use super::random;
use super::services::ServiceManager;

/// Everything one running daemon knows.
#[derive(Debug)]
pub struct Daemon {
    /// How it was started.
    pub config: Config,
    /// Changes on every start (`GET /v1/system-info`).
    pub boot_id: String,
    /// Layers and the combined plan.
    pub plan: PlanStore,
    /// Notices.
    pub notices: Arc<NoticeStore>,
    /// Changes and tasks.
    pub changes: Arc<ChangeStore>,
    /// Service processes and their state machines.
    pub services: ServiceManager,
    /// Health checks.
    pub checks: CheckManager,
    /// Commands started through `/v1/exec`.
    pub execs: ExecRegistry,
    shutdown: watch::Sender<Option<i32>>,
}

impl Daemon {
    /// A daemon with the given configuration and layers; nothing runs yet.
    pub fn new(config: Config, plan: PlanStore) -> Arc<Daemon> {
        let notices = Arc::new(NoticeStore::default());
        Arc::new(Daemon {
            config,
            boot_id: random::uuid(),
            plan,
            changes: Arc::new(ChangeStore::new(notices.clone())),
            notices,
            services: ServiceManager::default(),
            checks: CheckManager::default(),
            execs: ExecRegistry::default(),
            shutdown: watch::channel(None).0,
        })
    }

    /// Asks the daemon to stop its services and exit with `code` (the first request wins).
    pub fn request_shutdown(&self, code: i32) {
        self.shutdown.send_if_modified(|current| {
            if current.is_none() {
                *current = Some(code);
                true
            } else {
                false
            }
        });
    }

    /// Turns `Some(exit code)` when something asked the daemon to exit.
    pub fn shutdown_requests(&self) -> watch::Receiver<Option<i32>> {
        self.shutdown.subscribe()
    }

    /// Where bare program names are looked up: Pebble's `PATH` (or the default one).
    pub fn search_path(&self) -> String {
        self.config
            .env
            .get("PATH")
            .cloned()
            .unwrap_or_else(|| DEFAULT_PATH.to_owned())
    }
}
