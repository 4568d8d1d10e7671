//! The API objects of changes and tasks.

use serde_json::{Value, json};

use super::{Change, Status, Store, Task};
use crate::pebble_double::clock;

/// A change as `GET /v1/changes/{id}` shows it: `err` lists the `ERROR` log lines of its
/// failed tasks; optional fields are left out when empty.
pub(super) fn change_json(store: &Store, id: u64, change: &Change) -> Value {
    let tasks: Vec<Value> = change
        .tasks
        .iter()
        .filter_map(|t| store.tasks.get(t).map(|task| task_json(*t, task)))
        .collect();
    let mut value = json!({
        "id": id.to_string(),
        "kind": change.kind,
        "summary": change.summary,
        "status": change.status.as_str(),
        "ready": change.status.is_ready(),
        "spawn-time": clock::rfc3339_nano(change.spawn_time),
    });
    if !tasks.is_empty() {
        value["tasks"] = Value::Array(tasks);
    }
    if change.status == Status::Error {
        let errors: Vec<String> = change
            .tasks
            .iter()
            .filter_map(|t| store.tasks.get(t))
            .filter(|t| t.status == Status::Error)
            .flat_map(|t| {
                t.log.iter().filter_map(|line| {
                    line.find(" ERROR ")
                        .map(|at| format!("- {} ({})", t.summary, &line[at + 7..]))
                })
            })
            .collect();
        if !errors.is_empty() {
            value["err"] = json!(format!(
                "cannot perform the following tasks:\n{}",
                errors.join("\n")
            ));
        }
    }
    if let Some(ready) = change.ready_time {
        value["ready-time"] = json!(clock::rfc3339_nano(ready));
    }
    value
}

/// A task object.
fn task_json(id: u64, task: &Task) -> Value {
    let done = u64::from(task.status.is_ready());
    let mut value = json!({
        "id": id.to_string(),
        "kind": task.kind,
        "summary": task.summary,
        "status": task.status.as_str(),
        "progress": {"label": "", "done": done, "total": 1},
        "spawn-time": clock::rfc3339_nano(task.spawn_time),
    });
    if !task.log.is_empty() {
        value["log"] = json!(task.log);
    }
    if let Some(ready) = task.ready_time {
        value["ready-time"] = json!(clock::rfc3339_nano(ready));
    }
    if let Some(data) = &task.data {
        value["data"] = data.clone();
    }
    value
}
