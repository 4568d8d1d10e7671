//! Hooks as the engine queues them, and the environment Juju gives each (spec §A.4).

use std::collections::BTreeMap;
use std::path::Path;

use crate::agent::{ActionRun, HookEnv};
use crate::state::ModelState;

/// One queued hook or action for one unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    /// The unit that runs it.
    pub unit: String,
    /// The event facts (dispatch path, relation, secret, ...).
    pub env: HookEnv,
    /// The action, for `actions/<name>`.
    pub action: Option<ActionRun>,
}

impl Hook {
    /// A hook with no event-specific facts (`install`, `config-changed`, ...).
    pub fn plain(unit: &str, name: &str) -> Hook {
        Hook {
            unit: unit.to_string(),
            env: HookEnv {
                dispatch_path: format!("hooks/{name}"),
                ..HookEnv::default()
            },
            action: None,
        }
    }

    /// A relation hook (`<endpoint>-relation-<kind>`).
    pub fn relation(
        unit: &str,
        endpoint: &str,
        kind: &str,
        relation_id: u64,
        remote_app: &str,
        remote_unit: Option<&str>,
        departing_unit: Option<&str>,
    ) -> Hook {
        Hook {
            unit: unit.to_string(),
            env: HookEnv {
                dispatch_path: format!("hooks/{endpoint}-relation-{kind}"),
                relation_id: Some(relation_id),
                remote_app: Some(remote_app.to_string()),
                remote_unit: remote_unit.map(str::to_string),
                departing_unit: departing_unit.map(str::to_string),
                ..HookEnv::default()
            },
            action: None,
        }
    }

    /// `<container>-pebble-ready` (and the other workload hooks through [`HookEnv`]).
    pub fn workload(unit: &str, container: &str, suffix: &str) -> Hook {
        Hook {
            unit: unit.to_string(),
            env: HookEnv {
                dispatch_path: format!("hooks/{container}-{suffix}"),
                workload: Some(container.to_string()),
                ..HookEnv::default()
            },
            action: None,
        }
    }

    /// A secret hook (`secret-changed`, `secret-remove`, ...).
    pub fn secret(
        unit: &str,
        name: &str,
        id: &str,
        label: Option<&str>,
        revision: Option<u64>,
    ) -> Hook {
        Hook {
            unit: unit.to_string(),
            env: HookEnv {
                dispatch_path: format!("hooks/{name}"),
                secret_id: Some(id.to_string()),
                secret_label: label.map(str::to_string),
                secret_revision: revision,
                ..HookEnv::default()
            },
            action: None,
        }
    }

    /// A storage hook (`<name>-storage-attached` / `-detaching`).
    pub fn storage(unit: &str, storage_id: &str, kind: &str) -> Hook {
        let name = storage_id.split('/').next().unwrap_or(storage_id);
        Hook {
            unit: unit.to_string(),
            env: HookEnv {
                dispatch_path: format!("hooks/{name}-storage-{kind}"),
                storage_id: Some(storage_id.to_string()),
                ..HookEnv::default()
            },
            action: None,
        }
    }

    /// The event name (`database-relation-changed`, or the action name).
    pub fn name(&self) -> &str {
        self.env
            .dispatch_path
            .rsplit('/')
            .next()
            .unwrap_or(&self.env.dispatch_path)
    }

    /// True for `actions/<name>`.
    pub fn is_action(&self) -> bool {
        self.env.dispatch_path.starts_with("actions/")
    }
}

/// Where a hook process finds things.
pub struct HookPaths<'a> {
    /// The unit's charm directory.
    pub charm_dir: &'a Path,
    /// The directory of `jujuc` links, first on `PATH`.
    pub tools_dir: &'a Path,
    /// The agent socket.
    pub socket: &'a Path,
    /// The directory holding `<container>/pebble.socket`, when it is not `/charm/containers`.
    pub containers_dir: Option<&'a Path>,
}

/// The environment of one hook process, as Juju sets it.
pub fn environment(
    hook: &Hook,
    state: &ModelState,
    context_id: &str,
    paths: &HookPaths<'_>,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: &str| {
        env.insert(k.to_string(), v.to_string());
    };
    let app = hook.unit.split('/').next().unwrap_or_default();
    let hook_name = if hook.is_action() { "" } else { hook.name() };
    set(
        "PATH",
        &format!(
            "{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            paths.tools_dir.display()
        ),
    );
    set("HOME", "/root");
    set("LANG", "C.UTF-8");
    set("JUJU_DISPATCH_PATH", &hook.env.dispatch_path);
    set("JUJU_HOOK_NAME", hook_name);
    set("JUJU_UNIT_NAME", &hook.unit);
    set("JUJU_MODEL_NAME", &state.name);
    set("JUJU_MODEL_UUID", &state.uuid);
    set("JUJU_VERSION", "3.6.4");
    set("JUJU_CHARM_DIR", &paths.charm_dir.display().to_string());
    set("CHARM_DIR", &paths.charm_dir.display().to_string());
    set("JUJU_CONTEXT_ID", context_id);
    set(
        "JUJU_AGENT_SOCKET_ADDRESS",
        &paths.socket.display().to_string(),
    );
    set("JUJU_AGENT_SOCKET_NETWORK", "unix");
    set("JUJU_API_ADDRESSES", "127.0.0.1:17070");
    set("JUJU_MACHINE_ID", "");
    set("JUJU_PRINCIPAL_UNIT", "");
    set("JUJU_AVAILABILITY_ZONE", "");
    set("CLOUD_API_VERSION", "");
    for proxy in ["HTTP", "HTTPS", "FTP", "NO"] {
        set(&format!("JUJU_CHARM_{proxy}_PROXY"), "");
    }
    if let Some(dir) = paths.containers_dir {
        set("CHARM_CONTAINERS_DIR", &dir.display().to_string());
    }
    let e = &hook.env;
    if let Some(id) = e.relation_id {
        if let Some(rel) = state.relations.get(&id)
            && let Some(end) = rel.end_of(app)
        {
            set("JUJU_RELATION", &end.endpoint);
            set("JUJU_RELATION_ID", &format!("{}:{id}", end.endpoint));
        }
        set("JUJU_REMOTE_APP", e.remote_app.as_deref().unwrap_or(""));
        set("JUJU_REMOTE_UNIT", e.remote_unit.as_deref().unwrap_or(""));
        if let Some(d) = &e.departing_unit {
            set("JUJU_DEPARTING_UNIT", d);
        }
    }
    if let Some(id) = &e.secret_id {
        set("JUJU_SECRET_ID", id);
        set("JUJU_SECRET_LABEL", e.secret_label.as_deref().unwrap_or(""));
        if let Some(rev) = e.secret_revision {
            set("JUJU_SECRET_REVISION", &rev.to_string());
        }
    }
    if let Some(id) = &e.storage_id {
        set("JUJU_STORAGE_ID", id);
        if let Some(s) = state.units.get(&hook.unit).and_then(|u| u.storage.get(id)) {
            set("JUJU_STORAGE_LOCATION", &s.location);
            set("JUJU_STORAGE_KIND", &s.kind);
        }
    }
    if let Some(w) = &e.workload {
        set("JUJU_WORKLOAD_NAME", w);
    }
    if let Some((id, kind, key)) = &e.notice {
        set("JUJU_NOTICE_ID", id);
        set("JUJU_NOTICE_TYPE", kind);
        set("JUJU_NOTICE_KEY", key);
    }
    if let Some(check) = &e.check {
        set("JUJU_PEBBLE_CHECK_NAME", check);
    }
    if let Some(action) = &hook.action {
        set("JUJU_ACTION_NAME", &action.name);
        set("JUJU_ACTION_UUID", &action.id);
        set("JUJU_ACTION_TAG", &format!("action-{}", action.id));
    }
    env
}
