//! A small model for the agent tests: `pg` (a database, 2 units, pg/0 leader) and `app` (its
//! client, 2 units, app/0 leader), a peer relation (id 1) and a `database` relation (id 2).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use lab::agent::{self, HookContext, HookEnv, ToolAnswer, ToolCall};
use lab::charm::{ActionSpec, Charm, ConfigOption, ConfigType, Endpoint, Metadata, Role, Storage};
use lab::state::{
    AgentStatus, Application, ModelState, Relation, RelationEnd, StatusRecord, StorageInstance,
    Unit,
};
use serde_json::json;

pub const UUID: &str = "cdac5656-2423-4388-8f30-41854b4cca7d";

fn endpoint(interface: &str) -> Endpoint {
    Endpoint {
        interface: interface.into(),
        ..Endpoint::default()
    }
}

fn option(kind: ConfigType, default: Option<serde_json::Value>) -> ConfigOption {
    ConfigOption {
        kind,
        default,
        description: String::new(),
    }
}

fn pg_charm() -> Charm {
    let mut meta = Metadata {
        name: "pg".into(),
        ..Metadata::default()
    };
    meta.peers
        .insert("database-peers".into(), endpoint("pg_peers"));
    meta.provides
        .insert("database".into(), endpoint("postgresql_client"));
    meta.storage.insert(
        "pgdata".into(),
        Storage {
            kind: "filesystem".into(),
            location: Some("/var/lib/pg".into()),
        },
    );
    let config = BTreeMap::from([
        (
            "max-connections".to_string(),
            option(ConfigType::Int, Some(json!(100))),
        ),
        (
            "profile".to_string(),
            option(ConfigType::String, Some(json!("production"))),
        ),
        (
            "plugin-audit-enable".to_string(),
            option(ConfigType::Boolean, Some(json!(true))),
        ),
        (
            "ratio".to_string(),
            option(ConfigType::Float, Some(json!(0.5))),
        ),
        ("unset".to_string(), option(ConfigType::String, None)),
    ]);
    let backup: ActionSpec = serde_json::from_value(json!({
        "description": "Back up",
        "params": {
            "type": {"type": "string", "enum": ["full", "differential"], "default": "full"},
            "count": {"type": "integer", "minimum": 1},
            "target": {"type": "object", "properties": {"bucket": {"type": "string"}},
                       "required": ["bucket"], "additionalProperties": false}
        },
        "required": [],
        "additionalProperties": false
    }))
    .unwrap();
    Charm {
        dir: PathBuf::from("/charm"),
        meta,
        config,
        actions: BTreeMap::from([("backup".to_string(), backup)]),
    }
}

fn app_charm() -> Charm {
    let mut meta = Metadata {
        name: "app".into(),
        ..Metadata::default()
    };
    meta.requires
        .insert("database".into(), endpoint("postgresql_client"));
    Charm {
        dir: PathBuf::from("/charm"),
        meta,
        config: BTreeMap::new(),
        actions: BTreeMap::new(),
    }
}

fn application(name: &str, charm: Charm, leader: &str) -> Application {
    Application {
        name: name.into(),
        charm,
        charm_revision: 1,
        config: BTreeMap::new(),
        leader: Some(leader.into()),
        status: None,
        workload_version: String::new(),
        next_unit: 2,
    }
}

fn unit(name: &str, address: &str) -> Unit {
    let (app, n) = name.split_once('/').unwrap();
    Unit {
        name: name.into(),
        app: app.into(),
        number: n.parse().unwrap(),
        status: StatusRecord {
            status: "waiting".into(),
            message: "".into(),
            since: "2026-01-01T00:00:00Z".into(),
        },
        agent: AgentStatus::Idle,
        address: address.into(),
        state: BTreeMap::new(),
        ports: BTreeMap::new(),
        storage: BTreeMap::new(),
        dying: false,
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The model.
pub fn model() -> ModelState {
    let mut m = ModelState {
        name: "dev".into(),
        uuid: UUID.into(),
        next_relation_id: 3,
        ..ModelState::default()
    };
    let mut pg = application("pg", pg_charm(), "pg/0");
    pg.config.insert("profile".into(), json!("testing"));
    m.applications.insert("pg".into(), pg);
    m.applications
        .insert("app".into(), application("app", app_charm(), "app/0"));
    for (u, a) in [
        ("pg/0", "10.1.2.3"),
        ("pg/1", "10.1.2.4"),
        ("app/0", "10.1.9.1"),
        ("app/1", "10.1.9.2"),
    ] {
        m.units.insert(u.into(), unit(u, a));
    }
    m.units.get_mut("pg/0").unwrap().storage.insert(
        "pgdata/0".into(),
        StorageInstance {
            kind: "filesystem".into(),
            location: "/var/lib/pg".into(),
        },
    );
    let peer = Relation {
        id: 1,
        interface: "pg_peers".into(),
        ends: vec![RelationEnd {
            app: "pg".into(),
            endpoint: "database-peers".into(),
            role: Role::Peer,
        }],
        app_data: BTreeMap::from([(
            "pg".to_string(),
            BTreeMap::from([("leader".to_string(), "pg/0".to_string())]),
        )]),
        unit_data: BTreeMap::from([
            ("pg/0".to_string(), BTreeMap::new()),
            (
                "pg/1".to_string(),
                BTreeMap::from([("state".to_string(), "replica".to_string())]),
            ),
        ]),
        scope: BTreeMap::from([
            ("pg/0".to_string(), set(&["pg/1"])),
            ("pg/1".to_string(), set(&["pg/0"])),
        ]),
        dying: false,
    };
    let db = Relation {
        id: 2,
        interface: "postgresql_client".into(),
        ends: vec![
            RelationEnd {
                app: "app".into(),
                endpoint: "database".into(),
                role: Role::Requirer,
            },
            RelationEnd {
                app: "pg".into(),
                endpoint: "database".into(),
                role: Role::Provider,
            },
        ],
        app_data: BTreeMap::from([
            (
                "app".to_string(),
                BTreeMap::from([("database".to_string(), "mydb".to_string())]),
            ),
            ("pg".to_string(), BTreeMap::new()),
        ]),
        unit_data: BTreeMap::from([
            (
                "app/0".to_string(),
                BTreeMap::from([("egress".to_string(), "10.1.9.1/32".to_string())]),
            ),
            ("app/1".to_string(), BTreeMap::new()),
            ("pg/0".to_string(), BTreeMap::new()),
            ("pg/1".to_string(), BTreeMap::new()),
        ]),
        scope: BTreeMap::from([
            ("pg/0".to_string(), set(&["app/0", "app/1"])),
            ("pg/1".to_string(), set(&["app/0", "app/1"])),
            ("app/0".to_string(), set(&["pg/0", "pg/1"])),
            ("app/1".to_string(), set(&["pg/0", "pg/1"])),
        ]),
        dying: false,
    };
    m.relations.insert(1, peer);
    m.relations.insert(2, db);
    m
}

/// A plain (non-relation) hook context.
pub fn ctx(m: &ModelState, unit: &str) -> HookContext {
    HookContext::new(
        "ctx-1",
        unit,
        HookEnv {
            dispatch_path: "hooks/update-status".into(),
            ..HookEnv::default()
        },
        m,
    )
}

/// A relation hook context (`database-relation-changed` for relation 2 by default).
pub fn rel_ctx(m: &ModelState, unit: &str, id: u64, remote_unit: Option<&str>) -> HookContext {
    let remote_app = m.relations[&id]
        .remote_app(unit.split('/').next().unwrap())
        .map(str::to_string);
    let env = HookEnv {
        dispatch_path: "hooks/database-relation-changed".into(),
        relation_id: Some(id),
        remote_unit: remote_unit.map(str::to_string),
        remote_app,
        ..HookEnv::default()
    };
    HookContext::new("ctx-2", unit, env, m)
}

/// Run one tool.
pub fn call(m: &mut ModelState, c: &mut HookContext, tool: &str, args: &[&str]) -> ToolAnswer {
    call_in(m, c, tool, args, b"", "/")
}

/// Run one tool with stdin and a working directory.
pub fn call_in(
    m: &mut ModelState,
    c: &mut HookContext,
    tool: &str,
    args: &[&str],
    stdin: &[u8],
    cwd: &str,
) -> ToolAnswer {
    let call = ToolCall {
        context: c.id.clone(),
        tool: tool.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        stdin: stdin.to_vec(),
        cwd: PathBuf::from(cwd),
        files: Default::default(),
    };
    agent::handle(m, c, &call)
}

/// Stdout as text, asserting success.
pub fn ok(a: ToolAnswer) -> String {
    assert_eq!(a.code, 0, "stderr: {}", String::from_utf8_lossy(&a.stderr));
    String::from_utf8(a.stdout).unwrap()
}

/// (exit code, stderr) of a failed call.
pub fn err(a: ToolAnswer) -> (i32, String) {
    assert_ne!(
        a.code,
        0,
        "expected a failure, got stdout {}",
        String::from_utf8_lossy(&a.stdout)
    );
    assert!(a.stdout.is_empty());
    (a.code, String::from_utf8(a.stderr).unwrap())
}

/// Keep `working` as the committed state, as the engine does when a hook exits 0.
pub fn commit(m: &mut ModelState, c: HookContext) {
    let mut working = c.working;
    // Immediate effects were written to both; the working copy holds them already.
    working.log = m.log.clone();
    *m = working;
}
