//! The websockets of running exec tasks: `control`, `stdio` and (with split stderr) `stderr`,
//! each connected once, handed to the runner when it needs them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;

/// A server-side websocket over an upgraded API connection.
pub type WebSocket = WebSocketStream<TokioIo<Upgraded>>;

/// The `control` websocket.
pub const CONTROL: &str = "control";
/// The `stdio` websocket.
pub const STDIO: &str = "stdio";
/// The `stderr` websocket.
pub const STDERR: &str = "stderr";

#[derive(Debug, Default)]
enum Slot {
    #[default]
    Waiting,
    Connecting,
    Ready(Box<WebSocket>),
    Taken,
}

/// One exec task's websockets.
#[derive(Debug)]
pub struct Execution {
    slots: Mutex<BTreeMap<&'static str, Slot>>,
    connected: watch::Sender<u32>,
    pid: Mutex<Option<i32>>,
}

/// Why a websocket cannot be connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// No such websocket for this task (404).
    NotFound,
    /// Connected already (500).
    AlreadyConnected,
}

fn bit(id: &str) -> u32 {
    match id {
        CONTROL => 1,
        STDIO => 2,
        _ => 4,
    }
}

impl Execution {
    fn new(split_stderr: bool) -> Arc<Execution> {
        let mut slots = BTreeMap::from([(CONTROL, Slot::Waiting), (STDIO, Slot::Waiting)]);
        if split_stderr {
            slots.insert(STDERR, Slot::Waiting);
        }
        Arc::new(Execution {
            slots: Mutex::new(slots),
            connected: watch::channel(0).0,
            pid: Mutex::new(None),
        })
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<&'static str, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claims websocket `id` for a connection being upgraded.
    pub fn reserve(&self, id: &str) -> Result<&'static str, ConnectError> {
        let mut slots = self.lock();
        let (key, slot) = slots
            .iter_mut()
            .find(|(key, _)| **key == id)
            .ok_or(ConnectError::NotFound)?;
        match slot {
            Slot::Waiting => {
                *slot = Slot::Connecting;
                Ok(key)
            }
            _ => Err(ConnectError::AlreadyConnected),
        }
    }

    /// The upgrade of websocket `id` finished (`None`: it failed, the slot is free again).
    pub fn attach(&self, id: &'static str, socket: Option<WebSocket>) {
        let mut slots = self.lock();
        match socket {
            Some(socket) => {
                slots.insert(id, Slot::Ready(Box::new(socket)));
                drop(slots);
                self.connected.send_modify(|mask| *mask |= bit(id));
            }
            None => {
                slots.insert(id, Slot::Waiting);
            }
        }
    }

    /// Waits until every websocket in `ids` is connected.
    pub async fn wait_connected(&self, ids: &[&str]) {
        let need = ids.iter().map(|id| bit(id)).fold(0, |a, b| a | b);
        let mut updates = self.connected.subscribe();
        let _ = updates.wait_for(|mask| mask & need == need).await;
    }

    /// Takes a connected websocket (once).
    pub fn take(&self, id: &'static str) -> Option<WebSocket> {
        let mut slots = self.lock();
        match slots.insert(id, Slot::Taken) {
            Some(Slot::Ready(socket)) => Some(*socket),
            other => {
                if let Some(previous) = other {
                    slots.insert(id, previous);
                }
                None
            }
        }
    }

    /// Whether stderr has its own websocket.
    pub fn split_stderr(&self) -> bool {
        self.lock().contains_key(STDERR)
    }

    /// Records the command's pid (for daemon shutdown).
    pub fn set_pid(&self, pid: Option<i32>) {
        *self.pid.lock().unwrap_or_else(|e| e.into_inner()) = pid;
    }

    fn pid(&self) -> Option<i32> {
        *self.pid.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Running exec tasks by task id.
#[derive(Debug, Default)]
pub struct ExecRegistry {
    executions: Mutex<BTreeMap<String, Arc<Execution>>>,
}

impl ExecRegistry {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Arc<Execution>>> {
        self.executions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new exec task.
    pub fn register(&self, task: &str, split_stderr: bool) -> Arc<Execution> {
        let execution = Execution::new(split_stderr);
        self.lock().insert(task.to_owned(), execution.clone());
        execution
    }

    /// The exec task, while it runs.
    pub fn get(&self, task: &str) -> Option<Arc<Execution>> {
        self.lock().get(task).cloned()
    }

    /// Forgets a finished exec task.
    pub fn remove(&self, task: &str) {
        self.lock().remove(task);
    }

    /// Process groups of running commands (killed at daemon exit).
    pub fn process_groups(&self) -> Vec<i32> {
        self.lock().values().filter_map(|e| e.pid()).collect()
    }
}
