//! Watching the units' Pebbles for what Juju turns into hooks: custom notices
//! (`<container>-pebble-custom-notice`) and check changes (`<container>-pebble-check-failed` when
//! a `perform-check` change errors, `-recovered` when a `recover-check` change is done).

use std::collections::{BTreeMap, HashSet};

use super::hooks::Hook;
use super::pod::Pod;
use crate::error::{LabError, Result};

/// What has been seen already, and the runtime for Pebble calls.
pub struct Watch {
    runtime: tokio::runtime::Runtime,
    seen: HashSet<(String, String, String, String)>,
}

impl Watch {
    /// A watcher with its own single-threaded runtime.
    pub fn new() -> Result<Watch> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(LabError::io("starting the Pebble watcher"))?;
        // reqwest (under the Pebble client) needs a process-wide crypto provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(Watch {
            runtime,
            seen: HashSet::new(),
        })
    }

    /// Run a future to completion.
    pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        self.runtime.block_on(fut)
    }

    /// New notices and check transitions since the last poll, as hooks.
    pub fn poll(&mut self, pods: &BTreeMap<String, Pod>) -> Vec<Hook> {
        let mut hooks = Vec::new();
        for (unit, pod) in pods {
            for container in pod.containers() {
                let Ok(client) = pebble::Client::with_socket_path(pod.socket(&container)) else {
                    continue;
                };
                let query = pebble::NoticeQuery {
                    types: vec!["custom".into(), "change-update".into()],
                    ..Default::default()
                };
                let Ok(notices) = self.runtime.block_on(client.list_notices(&query)) else {
                    continue;
                };
                for n in notices {
                    let key = (
                        unit.clone(),
                        container.clone(),
                        n.id.clone(),
                        n.last_repeated.clone(),
                    );
                    if !self.seen.insert(key) {
                        continue;
                    }
                    if n.notice_type == "custom" {
                        let mut hook = Hook::workload(unit, &container, "pebble-custom-notice");
                        hook.env.notice =
                            Some((n.id.clone(), n.notice_type.clone(), n.key.clone()));
                        hooks.push(hook);
                        continue;
                    }
                    let Ok(change) = self.runtime.block_on(client.get_change(&n.key)) else {
                        continue;
                    };
                    let suffix = match (change.kind.as_str(), change.status.as_str()) {
                        ("perform-check", "Error") => "pebble-check-failed",
                        ("recover-check", "Done") => "pebble-check-recovered",
                        _ => continue,
                    };
                    let Some(check) = check_name(&change) else {
                        continue;
                    };
                    let mut hook = Hook::workload(unit, &container, suffix);
                    hook.env.check = Some(check);
                    hooks.push(hook);
                }
            }
        }
        hooks
    }
}

/// The check a check change is about: its `check-name` data, or the quoted name in its summary.
fn check_name(change: &pebble::Change) -> Option<String> {
    if let Some(name) = change.data.get("check-name").and_then(|v| v.as_str()) {
        return Some(name.to_string());
    }
    for task in &change.tasks {
        if let Some(name) = task.data.get("check-name").and_then(|v| v.as_str()) {
            return Some(name.to_string());
        }
    }
    let summary = &change.summary;
    let start = summary.find('"')? + 1;
    let end = summary[start..].find('"')? + start;
    Some(summary[start..end].to_string())
}
