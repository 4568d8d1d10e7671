//! The engine: a model that runs charms' hooks in Juju's order, answers their hook tools, keeps
//! their pods, and commits what successful hooks wrote.
//!
//! Operations ([`Model::deploy`], [`Model::integrate`], [`Model::config`], ...) queue hooks;
//! [`Model::settle`] runs them, one at a time in the whole model (a unit's hooks never overlap),
//! until nothing is left, including the follow-up hooks that committed changes cause on other
//! units (relation-changed, secret-changed, ...).

mod events;
mod hooks;
mod ops;
mod pod;
mod server;
mod sys;
mod timers;
mod watch;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use hooks::Hook;
pub use pod::Isolation;

use crate::agent::{ActionRun, HookContext};
use crate::error::{LabError, Result};
use crate::replay::CallRecord;
use crate::state::{AgentStatus, ModelState, StatusRecord};
use pod::{Network, Pod};
use server::{AgentServer, Shared};

/// How to build a model.
#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// The model directory: units' files, charms, sockets. Everything the model makes is in it.
    pub dir: PathBuf,
    /// Model name (`JUJU_MODEL_NAME`).
    pub name: String,
    /// How units are kept apart.
    pub isolation: Isolation,
    /// The Pebble binary started per container (the lab's double, or a real Pebble).
    pub pebble_bin: PathBuf,
    /// The lab's `jujuc`.
    pub jujuc_bin: PathBuf,
    /// Extra environment for every hook.
    pub env: BTreeMap<String, String>,
    /// Longest a hook may run before it is killed (and counts as failed).
    pub hook_timeout: Duration,
    /// Attempts of a failing hook before the unit is left in error.
    pub max_attempts: u32,
    /// Host paths pods see and write through to (besides the model directory, the charms and
    /// the lab's binaries, which are always shared).
    pub shared_paths: Vec<PathBuf>,
}

impl ModelOptions {
    /// Options for a model in `dir`, with `pebble` and `jujuc` taken from `bin_dir`, isolation
    /// as strong as this process allows. `LAB_PEBBLE_BIN` (read by the caller) may replace the
    /// Pebble binary.
    pub fn new(dir: &Path, bin_dir: &Path) -> ModelOptions {
        ModelOptions {
            dir: dir.to_path_buf(),
            name: "lab".into(),
            isolation: Isolation::best_available(),
            pebble_bin: bin_dir.join("pebble"),
            jujuc_bin: bin_dir.join("jujuc"),
            env: BTreeMap::new(),
            hook_timeout: Duration::from_secs(600),
            max_attempts: 3,
            shared_paths: Vec::new(),
        }
    }
}

/// What one hook or action run did.
#[derive(Debug, Clone)]
pub struct HookRecord {
    /// The unit.
    pub unit: String,
    /// `JUJU_DISPATCH_PATH`.
    pub dispatch_path: String,
    /// Exit code (-1: killed, e.g. on timeout).
    pub code: i32,
    /// The hook-tool calls it made.
    pub calls: Vec<CallRecord>,
    /// Wall time.
    pub duration: Duration,
    /// Peak resident memory of the hook process (and the hook tools it ran), in KiB.
    pub max_rss_kib: i64,
    /// Its stdout and stderr.
    pub output: String,
    /// For actions: parameters, results, logs, failure.
    pub action: Option<ActionRun>,
}

impl HookRecord {
    /// The event name (`config-changed`, or the action name).
    pub fn name(&self) -> &str {
        self.dispatch_path.rsplit('/').next().unwrap_or_default()
    }
}

/// A lab model.
pub struct Model {
    opts: ModelOptions,
    shared: Arc<Mutex<Shared>>,
    server: AgentServer,
    network: Option<Network>,
    pods: BTreeMap<String, Pod>,
    queues: BTreeMap<String, VecDeque<Hook>>,
    attempts: BTreeMap<String, u32>,
    history: Vec<HookRecord>,
    next_pod_index: u32,
    cursor: Option<String>,
    watch: watch::Watch,
    timers: timers::SecretTimers,
    clock_offset: Duration,
}

impl Model {
    /// Create an empty model in `opts.dir`.
    pub fn new(opts: ModelOptions) -> Result<Model> {
        std::fs::create_dir_all(&opts.dir).map_err(LabError::io("creating the model dir"))?;
        let dir = opts
            .dir
            .canonicalize()
            .map_err(LabError::io("resolving the model dir"))?;
        let opts = ModelOptions { dir, ..opts };
        crate::replay::install_tools(&opts.dir.join("tools"), &opts.jujuc_bin)
            .map_err(LabError::io("installing the hook tools"))?;
        let uuid = new_uuid(&opts.dir);
        let state = ModelState {
            name: opts.name.clone(),
            uuid: uuid.clone(),
            ..ModelState::default()
        };
        let shared = Arc::new(Mutex::new(Shared {
            state,
            contexts: Default::default(),
        }));
        let server = AgentServer::start(&opts.dir.join("agent.sock"), shared.clone())?;
        let network = match opts.isolation {
            Isolation::Namespaces => Some(Network::create(&uuid)?),
            Isolation::None => None,
        };
        Ok(Model {
            opts,
            shared,
            server,
            network,
            pods: BTreeMap::new(),
            queues: BTreeMap::new(),
            attempts: BTreeMap::new(),
            history: Vec::new(),
            next_pod_index: 0,
            cursor: None,
            timers: timers::SecretTimers::default(),
            clock_offset: Duration::ZERO,
            watch: watch::Watch::new()?,
        })
    }

    /// The model directory.
    pub fn dir(&self) -> &Path {
        &self.opts.dir
    }

    /// The isolation in use.
    pub fn isolation(&self) -> Isolation {
        self.opts.isolation
    }

    /// A copy of the committed model state.
    pub fn state(&self) -> ModelState {
        self.lock().state.clone()
    }

    /// Every hook and action run so far, in order.
    pub fn history(&self) -> &[HookRecord] {
        &self.history
    }

    /// A unit's workload status.
    pub fn unit_status(&self, unit: &str) -> Option<StatusRecord> {
        self.lock().state.units.get(unit).map(|u| u.status.clone())
    }

    /// The address of a unit (its pod's).
    pub fn address(&self, unit: &str) -> Option<String> {
        self.pods.get(unit).map(|p| p.address.clone())
    }

    /// A Pebble client for a unit's container.
    pub fn pebble(&self, unit: &str, container: &str) -> Result<pebble::Client> {
        let pod = self
            .pods
            .get(unit)
            .ok_or_else(|| LabError::Refused(format!("unit {unit:?} not found")))?;
        pebble::Client::with_socket_path(pod.socket(container))
            .map_err(|e| LabError::Refused(format!("Pebble client: {e}")))
    }

    /// Run a blocking future (Pebble calls from tests and the CLI).
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        self.watch.block_on(fut)
    }

    /// The PID whose namespaces a unit's pod holds (`None`: no isolation; error: no such unit).
    pub fn pod_pid(&self, unit: &str) -> Result<Option<u32>> {
        self.pods
            .get(unit)
            .map(|p| p.pid())
            .ok_or_else(|| LabError::Refused(format!("unit {unit:?} not found")))
    }

    /// A command that runs inside a unit's pod (mount and network namespaces), for `lab ssh`.
    pub fn pod_command(&self, unit: &str, program: &Path) -> Result<std::process::Command> {
        let pod = self
            .pods
            .get(unit)
            .ok_or_else(|| LabError::Refused(format!("unit {unit:?} not found")))?;
        Ok(pod.wrap(program, None))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enqueue(&mut self, hook: Hook) {
        let queue = self.queues.entry(hook.unit.clone()).or_default();
        // Juju coalesces a pending relation-changed / secret-changed with an identical one.
        let coalesce = hook.env.dispatch_path.ends_with("-relation-changed")
            || hook.env.dispatch_path == "hooks/secret-changed";
        if coalesce && queue.iter().skip(1).any(|h| h == &hook) {
            return;
        }
        queue.push_back(hook);
    }

    /// Queue a hook as if Juju fired it (tests: re-emit pebble-ready, config-changed, ...).
    pub fn queue(&mut self, hook: Hook) {
        self.enqueue(hook);
    }

    /// True when no hook is queued.
    pub fn is_idle(&self) -> bool {
        self.queues.values().all(VecDeque::is_empty)
    }

    /// Run queued hooks until none is left (or every unit with work left is in error),
    /// including hooks caused by workload notices. Returns what ran.
    pub fn settle(&mut self) -> Result<Vec<HookRecord>> {
        let mut ran = Vec::new();
        self.poll_workloads();
        loop {
            match self.step()? {
                Some(record) => ran.push(record),
                None => {
                    self.poll_workloads();
                    if self.runnable().is_empty() {
                        break;
                    }
                }
            }
        }
        Ok(ran)
    }

    /// Queue the hooks the workloads' Pebbles ask for (custom notices, check failures) and the
    /// secret rotations and expiries that have come due.
    pub fn poll_workloads(&mut self) {
        for hook in self.watch.poll(&self.pods) {
            self.enqueue(hook);
        }
        let now = self.now();
        let shared = self.shared.clone();
        let due = {
            let guard = shared.lock().unwrap_or_else(|p| p.into_inner());
            self.timers.due(&guard.state, now)
        };
        for hook in due {
            self.enqueue(hook);
        }
    }

    /// The model's clock, in seconds since the epoch (real time plus [`Model::advance_clock`]).
    pub fn now(&self) -> u64 {
        (std::time::SystemTime::now() + self.clock_offset)
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Move the model's clock forward (secret rotation and expiry come due sooner).
    pub fn advance_clock(&mut self, by: Duration) {
        self.clock_offset += by;
    }

    fn runnable(&self) -> Vec<String> {
        self.queues
            .iter()
            .filter(|(unit, q)| {
                !q.is_empty()
                    && self.attempts.get(*unit).copied().unwrap_or(0) < self.opts.max_attempts
            })
            .map(|(u, _)| u.clone())
            .collect()
    }

    /// Run the next queued hook (units take turns), or return `None` when nothing can run.
    pub fn step(&mut self) -> Result<Option<HookRecord>> {
        let runnable = self.runnable();
        let Some(unit) = runnable
            .iter()
            .find(|u| self.cursor.as_ref().is_none_or(|c| *u > c))
            .or_else(|| runnable.first())
            .cloned()
        else {
            self.finish_removals();
            return Ok(None);
        };
        self.cursor = Some(unit.clone());
        let Some(hook) = self.queues.get(&unit).and_then(|q| q.front().cloned()) else {
            return Ok(None);
        };
        if self.run_internal(&hook)? {
            if let Some(q) = self.queues.get_mut(&unit) {
                q.pop_front();
            }
            return self.step();
        }
        let record = self.run_hook(&hook)?;
        let failed = record.code != 0 && !hook.is_action();
        self.history.push(record.clone());
        if failed {
            *self.attempts.entry(unit.clone()).or_default() += 1;
        } else {
            self.attempts.remove(&unit);
            if let Some(q) = self.queues.get_mut(&unit) {
                q.pop_front();
            }
            self.after_hook(&hook)?;
        }
        self.finish_removals();
        Ok(Some(record))
    }

    /// Retry a unit whose hook failed too often (`juju resolve`).
    pub fn resolve(&mut self, unit: &str) {
        self.attempts.remove(unit);
    }

    /// Units left in error by [`Model::settle`], with the failing hook.
    pub fn errors(&self) -> Vec<(String, String)> {
        self.attempts
            .iter()
            .filter(|(_, n)| **n >= self.opts.max_attempts)
            .filter_map(|(u, _)| {
                self.queues
                    .get(u)
                    .and_then(|q| q.front())
                    .map(|h| (u.clone(), h.name().to_string()))
            })
            .collect()
    }

    fn run_hook(&mut self, hook: &Hook) -> Result<HookRecord> {
        self.before_hook(hook);
        let context_id;
        let env;
        let charm_dir;
        {
            let mut shared = self.lock();
            let serial = shared.state.serial();
            context_id = format!("{}-{serial}", hook.unit.replace('/', "-"));
            if let Some(u) = shared.state.units.get_mut(&hook.unit) {
                u.agent = AgentStatus::Executing(hook.name().to_string());
            }
            charm_dir = self.unit_dir(&hook.unit).join("charm");
            // Inside a pod the charm finds its sockets at /charm/containers, as under Juju;
            // without one it is told where they are.
            let containers = self.unit_dir(&hook.unit).join("containers");
            let isolated = self.pods.get(&hook.unit).is_some_and(|p| p.pid().is_some());
            let tools = self.opts.dir.join("tools");
            let paths = hooks::HookPaths {
                charm_dir: &charm_dir,
                tools_dir: &tools,
                socket: self.server.path(),
                containers_dir: (!isolated).then_some(containers.as_path()),
            };
            env = hooks::environment(hook, &shared.state, &context_id, &paths);
            let mut ctx =
                HookContext::new(&context_id, &hook.unit, hook.env.clone(), &shared.state);
            ctx.action = hook.action.clone();
            shared.contexts.insert(context_id.clone(), ctx);
        }
        let dispatch = charm_dir.join("dispatch");
        let mut command = match self.pods.get(&hook.unit) {
            Some(pod) => pod.wrap(&dispatch, Some(&charm_dir)),
            None => sys::command(&dispatch),
        };
        command
            .env_clear()
            .envs(&env)
            .envs(&self.opts.env)
            .current_dir(&charm_dir);
        let started = Instant::now();
        let Finished {
            code,
            output,
            max_rss_kib,
        } = run_with_timeout(command, self.opts.hook_timeout)?;
        let duration = started.elapsed();
        let mut shared = self.lock();
        let ctx = shared
            .contexts
            .remove(&context_id)
            .expect("the context lives until the hook ends");
        let name = hook.name().to_string();
        let now = crate::state::now_rfc3339();
        let mut follow = Vec::new();
        if code == 0 || hook.is_action() {
            if code == 0 {
                let before = std::mem::replace(&mut shared.state, ctx.working);
                follow = events::follow_ups(&before, &shared.state, &hook.unit);
            }
            if let Some(u) = shared.state.units.get_mut(&hook.unit) {
                u.agent = AgentStatus::Idle;
            }
        } else if let Some(u) = shared.state.units.get_mut(&hook.unit) {
            u.agent = AgentStatus::Error(name.clone());
            u.status = StatusRecord::new("error", &format!("hook failed: \"{name}\""));
        }
        // After the commit, which replaced the state with the hook's working copy.
        for line in output.lines() {
            shared.state.log.push(crate::state::LogLine {
                time: now.clone(),
                unit: hook.unit.clone(),
                level: "OUTPUT".into(),
                message: format!("{name}: {line}"),
            });
        }
        shared.state.log.push(crate::state::LogLine {
            time: now,
            unit: hook.unit.clone(),
            level: "HOOK".into(),
            message: format!("ran {name} (exit {code}) in {} ms", duration.as_millis()),
        });
        drop(shared);
        for h in follow {
            self.enqueue(h);
        }
        Ok(HookRecord {
            unit: hook.unit.clone(),
            dispatch_path: hook.env.dispatch_path.clone(),
            code,
            calls: ctx.calls,
            duration,
            max_rss_kib,
            output,
            action: ctx.action,
        })
    }

    fn unit_dir(&self, unit: &str) -> PathBuf {
        self.opts.dir.join("units").join(unit.replace('/', "-"))
    }

    /// Tear everything down: pods (their Pebbles and services), the bridge, sockets.
    pub fn destroy(&mut self) {
        for (_, mut pod) in std::mem::take(&mut self.pods) {
            pod.destroy();
        }
        if let Some(net) = self.network.take() {
            net.destroy();
        }
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        self.destroy();
    }
}

/// What a finished hook process left.
struct Finished {
    code: i32,
    output: String,
    max_rss_kib: i64,
}

/// Run a hook process, killing it after `timeout`: its exit code, combined output and peak RSS.
#[allow(clippy::zombie_processes)] // reaped by wait4 in sys::wait_rusage
fn run_with_timeout(mut command: std::process::Command, timeout: Duration) -> Result<Finished> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(LabError::io("starting the hook"))?;
    let pid = child.id();
    let readers: Vec<_> = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    .map(|mut pipe| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    })
    .collect();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(sys::wait_rusage(pid));
    });
    let (waited, killed) = match rx.recv_timeout(timeout) {
        Ok(w) => (w, false),
        Err(_) => {
            sys::signal(pid, 9);
            let w = rx
                .recv()
                .map_err(|_| LabError::Refused("hook process lost".into()))?;
            (w, true)
        }
    };
    let (code, max_rss_kib) = waited.map_err(LabError::io("waiting for the hook"))?;
    let mut output = String::new();
    for reader in readers {
        output.push_str(&String::from_utf8_lossy(&reader.join().unwrap_or_default()));
    }
    if killed {
        output.push_str(&format!("\n(killed after {} s)\n", timeout.as_secs()));
    }
    drop(child);
    Ok(Finished {
        code: if killed { -1 } else { code },
        output,
        max_rss_kib,
    })
}

/// A UUID-shaped id, unique enough for a model (time, pid and directory mixed).
fn new_uuid(dir: &Path) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let seed = format!("{nanos}-{}-{}", std::process::id(), dir.display());
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in seed.bytes() {
        h ^= b as u128;
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    let hex = format!("{h:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}
