//! Changes and tasks: how asynchronous work (service operations, exec, checks) is reported.
//!
//! Ids are decimal strings from two counters (changes, tasks). Task logs keep the last ten
//! lines `<RFC 3339> INFO|ERROR <text>`; a failed change's `err` lists every `ERROR` line of
//! its failed tasks. Every time a change is spawned or its status changes, a `change-update`
//! notice (key = change id, data `kind`) is recorded.

mod json;
mod status;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::sync::watch;

use super::clock;
use super::notices::NoticeStore;
use json::change_json;
pub use status::Status;

/// Resolves to `true` once the flag (an abort signal, an exit notice) is raised, and to
/// `false` if its sender is gone; holds no lock while waiting.
pub async fn raised(flag: &mut watch::Receiver<bool>) -> bool {
    flag.wait_for(|raised| *raised).await.is_ok()
}

/// Task log lines kept per task.
const MAX_LOG_LINES: usize = 10;

#[derive(Debug)]
struct Task {
    kind: String,
    summary: String,
    status: Status,
    log: VecDeque<String>,
    spawn_time: SystemTime,
    ready_time: Option<SystemTime>,
    data: Option<Value>,
    change: u64,
}

#[derive(Debug)]
struct Change {
    kind: String,
    summary: String,
    tasks: Vec<u64>,
    spawn_time: SystemTime,
    ready_time: Option<SystemTime>,
    service_names: Vec<String>,
    forced: Option<Status>,
    status: Status,
    abort: watch::Sender<bool>,
}

#[derive(Debug, Default)]
struct Store {
    changes: BTreeMap<u64, Change>,
    tasks: BTreeMap<u64, Task>,
    last_change: u64,
    last_task: u64,
}

/// A task to create: its kind and summary.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// `start`, `stop`, `exec`, `perform-check`, ...
    pub kind: String,
    /// `Start service "x"`, ...
    pub summary: String,
}

impl NewTask {
    /// A task of `kind` described by `summary`.
    pub fn new(kind: impl Into<String>, summary: impl Into<String>) -> NewTask {
        NewTask {
            kind: kind.into(),
            summary: summary.into(),
        }
    }
}

/// Which changes a listing wants (`select=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// Every change.
    All,
    /// Changes not ready yet.
    InProgress,
    /// Ready changes.
    Ready,
}

/// Why waiting for a change ended without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitError {
    /// No such change.
    NotFound,
    /// The timeout elapsed first.
    Timeout,
}

/// Every change and task the daemon has made.
#[derive(Debug)]
pub struct ChangeStore {
    store: Mutex<Store>,
    version: watch::Sender<u64>,
    notices: Arc<NoticeStore>,
}

/// Writes to one task's log.
#[derive(Debug, Clone)]
pub struct TaskLog {
    changes: Arc<ChangeStore>,
    task: String,
}

impl TaskLog {
    /// A log writer for `task`.
    pub fn new(changes: Arc<ChangeStore>, task: impl Into<String>) -> TaskLog {
        TaskLog {
            changes,
            task: task.into(),
        }
    }

    /// Adds an `INFO` line.
    pub fn info(&self, message: impl AsRef<str>) {
        self.changes.log(&self.task, "INFO", message.as_ref());
    }

    /// Adds an `ERROR` line.
    pub fn error(&self, message: impl AsRef<str>) {
        self.changes.log(&self.task, "ERROR", message.as_ref());
    }
}

impl ChangeStore {
    /// An empty store recording change-update notices in `notices`.
    pub fn new(notices: Arc<NoticeStore>) -> ChangeStore {
        ChangeStore {
            store: Mutex::default(),
            version: watch::channel(0).0,
            notices,
        }
    }

    /// Uses up the next change id without creating a change.
    pub fn skip_id(&self) {
        self.lock().last_change += 1;
    }

    /// Creates a change with `tasks` (all `Do`); returns its id and its tasks' ids. A change
    /// without tasks is created `Done`.
    pub fn create(
        &self,
        kind: &str,
        summary: &str,
        tasks: Vec<NewTask>,
        service_names: Vec<String>,
    ) -> (String, Vec<String>) {
        let now = clock::now();
        let mut store = self.lock();
        store.last_change += 1;
        let id = store.last_change;
        let mut task_ids = Vec::new();
        for task in tasks {
            store.last_task += 1;
            let task_id = store.last_task;
            store.tasks.insert(
                task_id,
                Task {
                    kind: task.kind,
                    summary: task.summary,
                    status: Status::Do,
                    log: VecDeque::new(),
                    spawn_time: now,
                    ready_time: None,
                    data: None,
                    change: id,
                },
            );
            task_ids.push(task_id);
        }
        let empty = task_ids.is_empty();
        store.changes.insert(
            id,
            Change {
                kind: kind.to_owned(),
                summary: summary.to_owned(),
                tasks: task_ids.clone(),
                spawn_time: now,
                ready_time: empty.then_some(now),
                service_names,
                forced: empty.then_some(Status::Done),
                status: if empty { Status::Done } else { Status::Do },
                abort: watch::channel(false).0,
            },
        );
        drop(store);
        self.notify_change(id, kind);
        (
            id.to_string(),
            task_ids.iter().map(u64::to_string).collect(),
        )
    }

    /// Marks a task as running.
    pub fn start_task(&self, task: &str) {
        self.update_task(task, |t| {
            if t.status == Status::Do {
                t.status = Status::Doing;
            }
        });
    }

    /// Sets a task's status directly (e.g. `Hold`, `Undone`).
    pub fn set_task_status(&self, task: &str, status: Status) {
        self.update_task(task, |t| t.status = status);
    }

    /// Ends a task: `Done` (or `Undone` if it was aborted) on success; `Error` with the message
    /// logged on failure.
    pub fn finish_task(&self, task: &str, result: Result<(), String>) {
        if let Err(message) = &result {
            self.log(task, "ERROR", message);
        }
        self.update_task(task, |t| {
            t.status = match (&result, t.status) {
                (Err(_), _) => Status::Error,
                (Ok(()), Status::Abort) => Status::Undone,
                (Ok(()), _) => Status::Done,
            };
        });
    }

    /// Sets the task's `data` (the exec `exit-code`).
    pub fn set_task_data(&self, task: &str, data: Value) {
        self.update_task(task, |t| t.data = Some(data));
    }

    /// The status of a task.
    pub fn task_status(&self, task: &str) -> Option<Status> {
        let id: u64 = task.parse().ok()?;
        self.lock().tasks.get(&id).map(|t| t.status)
    }

    /// The kind of a task.
    pub fn task_kind(&self, task: &str) -> Option<String> {
        let id: u64 = task.parse().ok()?;
        self.lock().tasks.get(&id).map(|t| t.kind.clone())
    }

    /// Adds a log line to a task.
    fn log(&self, task: &str, level: &str, message: &str) {
        let line = format!("{} {level} {message}", clock::rfc3339(clock::now()));
        self.update_task(task, |t| {
            t.log.push_back(line);
            while t.log.len() > MAX_LOG_LINES {
                t.log.pop_front();
            }
        });
    }

    /// Forces a change's status (Pebble does this when a check is stopped: `Abort`).
    pub fn force_status(&self, change: &str, status: Status) {
        let Ok(id) = change.parse::<u64>() else {
            return;
        };
        let kind = {
            let mut store = self.lock();
            let Some(change) = store.changes.get_mut(&id) else {
                return;
            };
            change.forced = Some(status);
            change.kind.clone()
        };
        self.refresh(id, &kind);
    }

    /// Asks a change's running tasks to stop (they see it through [`ChangeStore::aborted`]):
    /// tasks not started are put on hold, running ones become `Abort`. Returns the change, or
    /// `Err` when it is unknown (`None`) or already ready (`Some(id)`).
    pub fn abort(&self, change: &str) -> Result<(), Option<String>> {
        let id: u64 = change.parse().map_err(|_| None)?;
        let kind = {
            let mut store = self.lock();
            let Some(entry) = store.changes.get(&id) else {
                return Err(None);
            };
            if entry.status.is_ready() {
                return Err(Some(change.to_owned()));
            }
            entry.abort.send_replace(true);
            let kind = entry.kind.clone();
            let tasks = entry.tasks.clone();
            for task_id in tasks {
                if let Some(task) = store.tasks.get_mut(&task_id) {
                    match task.status {
                        Status::Do => task.status = Status::Hold,
                        Status::Doing => task.status = Status::Abort,
                        _ => {}
                    }
                }
            }
            kind
        };
        self.refresh(id, &kind);
        Ok(())
    }

    /// A receiver that turns `true` when the change is aborted.
    pub fn aborted(&self, change: &str) -> watch::Receiver<bool> {
        let store = self.lock();
        match change
            .parse::<u64>()
            .ok()
            .and_then(|id| store.changes.get(&id))
        {
            Some(entry) => entry.abort.subscribe(),
            None => watch::channel(false).1,
        }
    }

    /// The change's API object.
    pub fn get(&self, change: &str) -> Option<Value> {
        let id: u64 = change.parse().ok()?;
        let store = self.lock();
        store.changes.get(&id).map(|c| change_json(&store, id, c))
    }

    /// Whether the change is ready.
    pub fn is_ready(&self, change: &str) -> bool {
        let store = self.lock();
        change
            .parse::<u64>()
            .ok()
            .and_then(|id| store.changes.get(&id))
            .is_some_and(|c| c.status.is_ready())
    }

    /// Changes selected by readiness and, with `service`, by the services they concern.
    pub fn list(&self, select: Select, service: Option<&str>) -> Vec<Value> {
        let store = self.lock();
        store
            .changes
            .iter()
            .filter(|(_, c)| match select {
                Select::All => true,
                Select::InProgress => !c.status.is_ready(),
                Select::Ready => c.status.is_ready(),
            })
            .filter(|(_, c)| service.is_none_or(|s| c.service_names.iter().any(|n| n == s)))
            .map(|(id, c)| change_json(&store, *id, c))
            .collect()
    }

    /// Waits until the change is ready (at most `timeout`, or forever) and returns it.
    pub async fn wait(&self, change: &str, timeout: Option<Duration>) -> Result<Value, WaitError> {
        let mut updates = self.version.subscribe();
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        loop {
            updates.borrow_and_update();
            {
                let store = self.lock();
                let id: u64 = change.parse().map_err(|_| WaitError::NotFound)?;
                let entry = store.changes.get(&id).ok_or(WaitError::NotFound)?;
                if entry.status.is_ready() {
                    return Ok(change_json(&store, id, entry));
                }
            }
            match deadline {
                Some(deadline) => {
                    if tokio::time::timeout_at(deadline, updates.changed())
                        .await
                        .is_err()
                    {
                        return Err(WaitError::Timeout);
                    }
                }
                None => {
                    let _ = updates.changed().await;
                }
            }
        }
    }

    fn update_task(&self, task: &str, update: impl FnOnce(&mut Task)) {
        let Ok(task_id) = task.parse::<u64>() else {
            return;
        };
        let (change, kind) = {
            let mut store = self.lock();
            let Some(task) = store.tasks.get_mut(&task_id) else {
                return;
            };
            update(task);
            if task.status.is_ready() && task.ready_time.is_none() {
                task.ready_time = Some(clock::now());
            }
            let change = task.change;
            let kind = store
                .changes
                .get(&change)
                .map(|c| c.kind.clone())
                .unwrap_or_default();
            (change, kind)
        };
        self.refresh(change, &kind);
    }

    /// Recomputes a change's status; records a notice when it moved.
    fn refresh(&self, id: u64, kind: &str) {
        let moved = {
            let mut store = self.lock();
            let statuses: Vec<Status> = match store.changes.get(&id) {
                Some(change) => change
                    .tasks
                    .iter()
                    .filter_map(|t| store.tasks.get(t).map(|t| t.status))
                    .collect(),
                None => return,
            };
            let Some(change) = store.changes.get_mut(&id) else {
                return;
            };
            let status = change.forced.unwrap_or_else(|| status::combined(statuses));
            let moved = status != change.status;
            change.status = status;
            if status.is_ready() && change.ready_time.is_none() {
                change.ready_time = Some(clock::now());
            }
            moved
        };
        if moved {
            self.notify_change(id, kind);
        } else {
            self.version.send_modify(|v| *v += 1);
        }
    }

    fn notify_change(&self, id: u64, kind: &str) {
        self.notices.add(
            "change-update",
            &id.to_string(),
            BTreeMap::from([("kind".to_owned(), kind.to_owned())]),
            None,
        );
        self.version.send_modify(|v| *v += 1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
