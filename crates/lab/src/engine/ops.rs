//! Operator operations (`juju deploy`, `integrate`, `config`, `run`, ...) as queued hooks, in
//! the order Juju fires them (spec §A.3), and the bookkeeping around each hook.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::hooks::Hook;
use super::pod::Pod;
use super::{HookRecord, Model, sys};
use crate::agent::ActionRun;
use crate::charm::{Charm, Role};
use crate::error::{LabError, Result};
use crate::state::{
    AgentStatus, Application, Relation, RelationEnd, StatusRecord, StorageInstance, Unit,
};

/// Dispatch path of the engine's own "restart this unit's pod" step (never run as a hook).
const RESTART_POD: &str = "lab/restart-pod";

impl Model {
    /// `juju deploy <charm> [app] -n N [--config k=v]`: add the application and its units and
    /// queue their start-up hooks. `charm` is an unpacked charm directory or a `.charm` file.
    pub fn deploy(
        &mut self,
        charm: &Path,
        app: Option<&str>,
        units: u32,
        config: &[(String, String)],
    ) -> Result<String> {
        let charm = self.load_charm(charm, app)?;
        let name = app.unwrap_or(&charm.meta.name).to_string();
        let values = parse_config(&charm, config)?;
        {
            let mut shared = self.lock();
            if shared.state.applications.contains_key(&name) {
                return Err(LabError::Refused(format!(
                    "cannot add application \"{name}\": application already exists"
                )));
            }
            shared.state.applications.insert(
                name.clone(),
                Application {
                    name: name.clone(),
                    charm,
                    charm_revision: 1,
                    config: values,
                    leader: None,
                    status: None,
                    workload_version: String::new(),
                    next_unit: 0,
                },
            );
        }
        self.add_unit(&name, units)?;
        Ok(name)
    }

    fn load_charm(&self, path: &Path, app: Option<&str>) -> Result<Charm> {
        if path.is_dir() {
            return Charm::load(path);
        }
        let stem = app.map(str::to_string).unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "charm".into())
        });
        let serial = self.lock().state.serial();
        let dir = self.dir().join("charms").join(format!("{stem}-{serial}"));
        unpack_charm(path, &dir)?;
        Charm::load(&dir)
    }

    /// `juju add-unit <app> -n N`.
    pub fn add_unit(&mut self, app: &str, count: u32) -> Result<Vec<String>> {
        (0..count).map(|_| self.add_one_unit(app)).collect()
    }

    fn add_one_unit(&mut self, app: &str) -> Result<String> {
        let (charm, number) = {
            let mut shared = self.lock();
            let a = shared
                .state
                .applications
                .get_mut(app)
                .ok_or_else(|| LabError::Refused(format!("application \"{app}\" not found")))?;
            let n = a.next_unit;
            a.next_unit += 1;
            (a.charm.clone(), n)
        };
        let unit = format!("{app}/{number}");
        let dir = self.unit_dir(&unit);
        let index = self.next_pod_index;
        self.next_pod_index += 1;
        let mut shared = vec![self.opts.dir.clone(), charm.dir.clone()];
        for bin in [&self.opts.pebble_bin, &self.opts.jujuc_bin] {
            if let Some(parent) = bin
                .canonicalize()
                .ok()
                .and_then(|b| b.parent().map(Path::to_path_buf))
            {
                shared.push(parent);
            }
        }
        shared.extend(self.opts.shared_paths.iter().cloned());
        shared.sort();
        shared.dedup();
        let containers: Vec<String> = charm.meta.containers.keys().cloned().collect();
        let mut pod = Pod::start(
            &dir,
            self.opts.isolation,
            self.network.as_ref(),
            index,
            &shared,
            &containers,
        )?;
        sys::link_tree(&charm.dir, &dir.join("charm"))?;
        for container in charm.meta.containers.keys() {
            pod.start_container(container, &self.opts.pebble_bin)?;
        }
        let address = pod.address.clone();
        self.pods.insert(unit.clone(), pod);

        let (leader, storage_ids, peer_ids, others) = {
            let mut shared = self.lock();
            let state = &mut shared.state;
            let mut storage = BTreeMap::new();
            for (name, spec) in &charm.meta.storage {
                let k = state
                    .units
                    .values()
                    .flat_map(|u| u.storage.keys())
                    .filter(|id| id.split('/').next() == Some(name.as_str()))
                    .count();
                let id = format!("{name}/{k}");
                let location = spec
                    .location
                    .clone()
                    .unwrap_or_else(|| format!("/var/lib/juju/storage/{name}/{k}"));
                storage.insert(
                    id,
                    StorageInstance {
                        kind: spec.kind.clone(),
                        location,
                    },
                );
            }
            let storage_ids: Vec<String> = storage.keys().cloned().collect();
            state.units.insert(
                unit.clone(),
                Unit {
                    name: unit.clone(),
                    app: app.to_string(),
                    number,
                    status: StatusRecord::new("waiting", "installing agent"),
                    agent: AgentStatus::Allocating,
                    address,
                    state: BTreeMap::new(),
                    ports: BTreeMap::new(),
                    storage,
                    dying: false,
                },
            );
            let a = state.applications.get_mut(app).expect("checked above");
            let leader = a.leader.is_none();
            if leader {
                a.leader = Some(unit.clone());
            }
            // Peer relations exist from the first unit on.
            for (endpoint, spec) in &charm.meta.peers {
                let exists = state.relations.values().any(|r| {
                    r.ends.len() == 1 && r.ends[0].app == app && r.ends[0].endpoint == *endpoint
                });
                if !exists {
                    let id = state.next_relation_id;
                    state.next_relation_id += 1;
                    state.relations.insert(
                        id,
                        Relation {
                            id,
                            interface: spec.interface.clone(),
                            ends: vec![RelationEnd {
                                app: app.to_string(),
                                endpoint: endpoint.clone(),
                                role: Role::Peer,
                            }],
                            app_data: BTreeMap::new(),
                            unit_data: BTreeMap::new(),
                            scope: BTreeMap::new(),
                            dying: false,
                        },
                    );
                }
            }
            let mut relation_ids = Vec::new();
            let mut others = Vec::new();
            for rel in state.relations.values_mut().filter(|r| !r.dying) {
                let Some(remote) = rel.remote_app(app).map(str::to_string) else {
                    continue;
                };
                rel.scope.entry(unit.clone()).or_default();
                rel.unit_data
                    .entry(unit.clone())
                    .or_default()
                    .extend(address_bag(&state.units[&unit].address));
                relation_ids.push((rel.id, remote.clone()));
                for other in rel.scope.keys() {
                    if other != &unit && other.split('/').next() == Some(remote.as_str()) {
                        others.push((rel.id, other.clone()));
                    }
                }
            }
            (leader, storage_ids, relation_ids, others)
        };
        for id in &storage_ids {
            self.enqueue(Hook::storage(&unit, id, "attached"));
        }
        self.enqueue(Hook::plain(&unit, "install"));
        for (id, remote) in &peer_ids {
            let endpoint = self.endpoint_of(*id, app);
            self.enqueue(Hook::relation(
                &unit, &endpoint, "created", *id, remote, None, None,
            ));
        }
        self.enqueue(Hook::plain(
            &unit,
            if leader {
                "leader-elected"
            } else {
                "leader-settings-changed"
            },
        ));
        self.enqueue(Hook::plain(&unit, "config-changed"));
        self.enqueue(Hook::plain(&unit, "start"));
        for container in charm.meta.containers.keys() {
            self.enqueue(Hook::workload(&unit, container, "pebble-ready"));
        }
        for (id, other) in others {
            self.queue_join(id, &unit, &other);
            self.queue_join(id, &other, &unit);
        }
        Ok(unit)
    }

    /// `observer` sees `remote` join relation `id`: relation-joined then relation-changed.
    fn queue_join(&mut self, id: u64, observer: &str, remote: &str) {
        let observer_app = observer.split('/').next().unwrap_or_default();
        let remote_app = remote.split('/').next().unwrap_or_default();
        let endpoint = self.endpoint_of(id, observer_app);
        for kind in ["joined", "changed"] {
            self.enqueue(Hook::relation(
                observer,
                &endpoint,
                kind,
                id,
                remote_app,
                Some(remote),
                None,
            ));
        }
    }

    /// `app`'s endpoint in relation `id`, and the application on the other side.
    fn sides(&self, id: u64, app: &str) -> (String, String) {
        let shared = self.lock();
        let rel = shared.state.relations.get(&id);
        (
            rel.and_then(|r| r.end_of(app))
                .map(|e| e.endpoint.clone())
                .unwrap_or_default(),
            rel.and_then(|r| r.remote_app(app))
                .map(str::to_string)
                .unwrap_or_default(),
        )
    }

    fn endpoint_of(&self, id: u64, app: &str) -> String {
        self.lock()
            .state
            .relations
            .get(&id)
            .and_then(|r| r.end_of(app))
            .map(|e| e.endpoint.clone())
            .unwrap_or_default()
    }

    /// `juju integrate <a>[:<endpoint>] <b>[:<endpoint>]`. Returns the relation id.
    pub fn integrate(&mut self, a: &str, b: &str) -> Result<u64> {
        let (app_a, ep_a) = split_endpoint(a);
        let (app_b, ep_b) = split_endpoint(b);
        let (id, units_a, units_b) = {
            let mut shared = self.lock();
            let state = &mut shared.state;
            let charm = |app: &str| {
                state
                    .applications
                    .get(app)
                    .map(|a| a.charm.clone())
                    .ok_or_else(|| LabError::Refused(format!("application \"{app}\" not found")))
            };
            let (ca, cb) = (charm(app_a)?, charm(app_b)?);
            let mut candidates = Vec::new();
            for (na, ra, ea) in ca.endpoints() {
                for (nb, rb, eb) in cb.endpoints() {
                    let roles_match = matches!(
                        (ra, rb),
                        (Role::Provider, Role::Requirer) | (Role::Requirer, Role::Provider)
                    );
                    if roles_match
                        && ea.interface == eb.interface
                        && ep_a.is_none_or(|e| e == na)
                        && ep_b.is_none_or(|e| e == nb)
                    {
                        candidates.push((na.clone(), ra, nb.clone(), rb, ea.clone(), eb.clone()));
                    }
                }
            }
            let (na, ra, nb, rb, ea, eb) = match candidates.len() {
                0 => {
                    return Err(LabError::Refused(format!(
                        "no relations found between {a} and {b}"
                    )));
                }
                1 => candidates.remove(0),
                _ => {
                    let options: Vec<String> = candidates
                        .iter()
                        .map(|c| format!("\"{app_a}:{} {app_b}:{}\"", c.0, c.2))
                        .collect();
                    return Err(LabError::Refused(format!(
                        "ambiguous relation: \"{a} {b}\" could refer to {}",
                        options.join("; ")
                    )));
                }
            };
            for rel in state.relations.values() {
                let has =
                    |app: &str, ep: &str| rel.ends.iter().any(|e| e.app == app && e.endpoint == ep);
                if has(app_a, &na) && has(app_b, &nb) {
                    return Err(LabError::Refused(format!(
                        "cannot add relation \"{app_a}:{na} {app_b}:{nb}\": relation {app_a}:{na} {app_b}:{nb} already exists"
                    )));
                }
            }
            for (app, ep, spec) in [(app_a, &na, &ea), (app_b, &nb, &eb)] {
                if let Some(limit) = spec.limit {
                    let used = state
                        .relations
                        .values()
                        .filter(|r| r.ends.iter().any(|e| e.app == app && &e.endpoint == ep))
                        .count() as u32;
                    if used >= limit {
                        return Err(LabError::Refused(format!(
                            "cannot add relation \"{app_a}:{na} {app_b}:{nb}\": establishing a new relation for {app}:{ep} would exceed its maximum relation limit of {limit}"
                        )));
                    }
                }
            }
            let id = state.next_relation_id;
            state.next_relation_id += 1;
            let units_of = |app: &str| -> Vec<String> {
                state
                    .units
                    .values()
                    .filter(|u| u.app == app && !u.dying)
                    .map(|u| u.name.clone())
                    .collect()
            };
            let (units_a, units_b) = (units_of(app_a), units_of(app_b));
            let scope = units_a
                .iter()
                .chain(&units_b)
                .map(|u| (u.clone(), BTreeSet::new()))
                .collect();
            let unit_data = units_a
                .iter()
                .chain(&units_b)
                .map(|u| (u.clone(), address_bag(&state.units[u].address)))
                .collect();
            state.relations.insert(
                id,
                Relation {
                    id,
                    interface: ea.interface.clone(),
                    ends: vec![
                        RelationEnd {
                            app: app_a.to_string(),
                            endpoint: na.clone(),
                            role: ra,
                        },
                        RelationEnd {
                            app: app_b.to_string(),
                            endpoint: nb.clone(),
                            role: rb,
                        },
                    ],
                    app_data: BTreeMap::new(),
                    unit_data,
                    scope,
                    dying: false,
                },
            );
            (id, units_a, units_b)
        };
        for (units, remote) in [(&units_a, app_b), (&units_b, app_a)] {
            for u in units {
                let app = u.split('/').next().unwrap_or_default();
                let endpoint = self.endpoint_of(id, app);
                self.enqueue(Hook::relation(
                    u, &endpoint, "created", id, remote, None, None,
                ));
            }
        }
        for u in &units_a {
            for v in &units_b {
                self.queue_join(id, u, v);
                self.queue_join(id, v, u);
            }
        }
        Ok(id)
    }

    /// `juju remove-relation`: departed hooks for everyone in scope, then broken on every unit.
    pub fn remove_relation(&mut self, id: u64) -> Result<()> {
        let scope = {
            let mut shared = self.lock();
            let rel = shared
                .state
                .relations
                .get_mut(&id)
                .filter(|r| r.ends.len() == 2)
                .ok_or_else(|| LabError::Refused(format!("relation {id} not found")))?;
            rel.dying = true;
            rel.scope.clone()
        };
        for (unit, seen) in &scope {
            let app = unit.split('/').next().unwrap_or_default().to_string();
            let (endpoint, remote_app) = self.sides(id, &app);
            for remote in seen {
                self.enqueue(Hook::relation(
                    unit,
                    &endpoint,
                    "departed",
                    id,
                    &remote_app,
                    Some(remote),
                    Some(remote),
                ));
            }
            self.enqueue(Hook::relation(
                unit,
                &endpoint,
                "broken",
                id,
                &remote_app,
                None,
                None,
            ));
        }
        Ok(())
    }

    /// Find a relation by `a[:ep] b[:ep]`.
    pub fn find_relation(&self, a: &str, b: &str) -> Result<u64> {
        let (app_a, ep_a) = split_endpoint(a);
        let (app_b, ep_b) = split_endpoint(b);
        let shared = self.lock();
        let matches: Vec<u64> = shared
            .state
            .relations
            .values()
            .filter(|r| !r.dying && r.ends.len() == 2)
            .filter(|r| {
                let has = |app: &str, ep: Option<&str>| {
                    r.ends
                        .iter()
                        .any(|e| e.app == app && ep.is_none_or(|ep| ep == e.endpoint))
                };
                has(app_a, ep_a) && has(app_b, ep_b)
            })
            .map(|r| r.id)
            .collect();
        match matches.as_slice() {
            [id] => Ok(*id),
            [] => Err(LabError::Refused(format!("relation \"{a} {b}\" not found"))),
            _ => Err(LabError::Refused(format!(
                "ambiguous relation \"{a} {b}\": name the endpoints"
            ))),
        }
    }

    /// `juju remove-unit`: the unit leaves its relations, detaches storage, stops and goes away;
    /// a new leader is elected if it led.
    pub fn remove_unit(&mut self, unit: &str) -> Result<()> {
        let (relations, storage) = {
            let mut shared = self.lock();
            let u = shared
                .state
                .units
                .get_mut(unit)
                .ok_or_else(|| LabError::Refused(format!("unit \"{unit}\" not found")))?;
            u.dying = true;
            let storage: Vec<String> = u.storage.keys().cloned().collect();
            let relations: Vec<(u64, BTreeMap<String, BTreeSet<String>>)> = shared
                .state
                .relations_of_unit(unit)
                .filter(|r| r.scope.contains_key(unit))
                .map(|r| (r.id, r.scope.clone()))
                .collect();
            (relations, storage)
        };
        let app = unit.split('/').next().unwrap_or_default().to_string();
        for (id, scope) in relations {
            let (endpoint, remote_app) = self.sides(id, &app);
            for (observer, seen) in &scope {
                if observer != unit && seen.contains(unit) {
                    let oapp = observer.split('/').next().unwrap_or_default().to_string();
                    let oendpoint = self.endpoint_of(id, &oapp);
                    self.enqueue(Hook::relation(
                        observer,
                        &oendpoint,
                        "departed",
                        id,
                        &app,
                        Some(unit),
                        Some(unit),
                    ));
                }
            }
            for remote in scope.get(unit).into_iter().flatten() {
                self.enqueue(Hook::relation(
                    unit,
                    &endpoint,
                    "departed",
                    id,
                    &remote_app,
                    Some(remote),
                    Some(unit),
                ));
            }
            self.enqueue(Hook::relation(
                unit,
                &endpoint,
                "broken",
                id,
                &remote_app,
                None,
                None,
            ));
        }
        for id in storage {
            self.enqueue(Hook::storage(unit, &id, "detaching"));
        }
        self.enqueue(Hook::plain(unit, "stop"));
        self.enqueue(Hook::plain(unit, "remove"));
        Ok(())
    }

    /// `juju config <app> k=v ... [--reset k]`: type-checked as Juju does; config-changed on
    /// every unit when anything changed.
    pub fn config(
        &mut self,
        app: &str,
        set: &[(String, String)],
        reset: &[String],
    ) -> Result<bool> {
        let units = {
            let mut shared = self.lock();
            let a = shared
                .state
                .applications
                .get_mut(app)
                .ok_or_else(|| LabError::Refused(format!("application \"{app}\" not found")))?;
            let mut config = a.config.clone();
            for key in reset {
                if !a.charm.config.contains_key(key) {
                    return Err(LabError::Refused(format!("unknown option \"{key}\"")));
                }
                config.remove(key);
            }
            config.extend(parse_config(&a.charm, set)?);
            if config == a.config {
                return Ok(false);
            }
            a.config = config;
            shared
                .state
                .units
                .values()
                .filter(|u| u.app == app && !u.dying)
                .map(|u| u.name.clone())
                .collect::<Vec<_>>()
        };
        for u in units {
            self.enqueue(Hook::plain(&u, "config-changed"));
        }
        Ok(true)
    }

    /// The effective config of an application (defaults overlaid with what the operator set).
    pub fn config_values(&self, app: &str) -> Option<BTreeMap<String, serde_json::Value>> {
        self.lock().state.applications.get(app).map(|a| {
            let mut all = a.charm.default_config();
            all.extend(a.config.clone());
            all
        })
    }

    /// `juju run <unit> <action> k=v ...`: wait for the unit's queued hooks, run the action,
    /// settle what it caused. The record's `action` holds results, logs and failure.
    pub fn run_action(
        &mut self,
        unit: &str,
        name: &str,
        params: serde_json::Map<String, serde_json::Value>,
    ) -> Result<HookRecord> {
        self.settle()?;
        let (spec, id) = {
            let mut shared = self.lock();
            let app = unit.split('/').next().unwrap_or_default();
            let spec = shared
                .state
                .units
                .get(unit)
                .and_then(|_| shared.state.applications.get(app))
                .ok_or_else(|| LabError::Refused(format!("unit \"{unit}\" not found")))?
                .charm
                .actions
                .get(name)
                .cloned()
                .ok_or_else(|| {
                    LabError::Refused(format!("action \"{name}\" not defined on unit \"{unit}\""))
                })?;
            (spec, shared.state.serial())
        };
        let params =
            crate::agent::validate_action_params(&spec, params).map_err(LabError::Refused)?;
        let mut hook = Hook::plain(unit, name);
        hook.env.dispatch_path = format!("actions/{name}");
        hook.action = Some(ActionRun {
            id: id.to_string(),
            name: name.to_string(),
            params,
            ..ActionRun::default()
        });
        let record = self.run_hook(&hook)?;
        self.history.push(record.clone());
        self.settle()?;
        Ok(record)
    }

    /// Queue `update-status` on one unit or all.
    pub fn update_status(&mut self, unit: Option<&str>) {
        let units: Vec<String> = self
            .lock()
            .state
            .units
            .values()
            .filter(|u| !u.dying && unit.is_none_or(|n| n == u.name))
            .map(|u| u.name.clone())
            .collect();
        for u in units {
            self.enqueue(Hook::plain(&u, "update-status"));
        }
    }

    /// `juju refresh <app> --path <charm>`: units are replaced one at a time, highest number
    /// first, as a StatefulSet rolls: the pod restarts (workload processes stop, files stay),
    /// then upgrade-charm, config-changed, start and pebble-ready run with the new charm.
    pub fn refresh(&mut self, app: &str, charm: &Path) -> Result<()> {
        let charm = self.load_charm(charm, Some(app))?;
        let units: Vec<String> = {
            let mut shared = self.lock();
            let a = shared
                .state
                .applications
                .get_mut(app)
                .ok_or_else(|| LabError::Refused(format!("application \"{app}\" not found")))?;
            a.charm = charm.clone();
            a.charm_revision += 1;
            let mut units: Vec<&Unit> = shared
                .state
                .units
                .values()
                .filter(|u| u.app == app && !u.dying)
                .collect();
            units.sort_by_key(|u| std::cmp::Reverse(u.number));
            units.iter().map(|u| u.name.clone()).collect()
        };
        for unit in units {
            sys::link_tree(&charm.dir, &self.unit_dir(&unit).join("charm"))?;
            self.queue_restart_pod(&unit);
            for name in ["upgrade-charm", "config-changed", "start"] {
                self.enqueue(Hook::plain(&unit, name));
            }
            for c in charm.meta.containers.keys() {
                self.enqueue(Hook::workload(&unit, c, "pebble-ready"));
            }
        }
        Ok(())
    }

    /// Restart a unit's workload containers (their Pebbles and services) when its queue gets
    /// there, as a container restart in Kubernetes does; pebble-ready follows.
    pub fn restart_pod(&mut self, unit: &str) {
        self.queue_restart_pod(unit);
        let containers: Vec<String> = self
            .lock()
            .state
            .applications
            .get(unit.split('/').next().unwrap_or_default())
            .map(|a| a.charm.meta.containers.keys().cloned().collect())
            .unwrap_or_default();
        for c in containers {
            self.enqueue(Hook::workload(unit, &c, "pebble-ready"));
        }
    }

    fn queue_restart_pod(&mut self, unit: &str) {
        let mut hook = Hook::plain(unit, "restart-pod");
        hook.env.dispatch_path = RESTART_POD.into();
        self.enqueue(hook);
    }

    /// Make `unit` the leader: leader-elected on it, leader-settings-changed on the others.
    pub fn set_leader(&mut self, unit: &str) -> Result<()> {
        let app = unit.split('/').next().unwrap_or_default().to_string();
        let others: Vec<String> = {
            let mut shared = self.lock();
            if !shared.state.units.contains_key(unit) {
                return Err(LabError::Refused(format!("unit \"{unit}\" not found")));
            }
            if let Some(a) = shared.state.applications.get_mut(&app) {
                a.leader = Some(unit.to_string());
            }
            shared
                .state
                .units
                .values()
                .filter(|u| u.app == app && u.name != unit && !u.dying)
                .map(|u| u.name.clone())
                .collect()
        };
        self.enqueue(Hook::plain(unit, "leader-elected"));
        for o in others {
            self.enqueue(Hook::plain(&o, "leader-settings-changed"));
        }
        Ok(())
    }

    /// Fire `secret-rotate` (or, with a revision, `secret-expired`) on the secret's manager.
    pub fn fire_secret_event(&mut self, id: &str, expired_revision: Option<u64>) -> Result<()> {
        let (unit, uri, label) = {
            let shared = self.lock();
            let key = crate::state::ModelState::secret_key(id);
            let s = shared
                .state
                .secrets
                .get(key)
                .ok_or_else(|| LabError::Refused(format!("secret {id} not found")))?;
            let unit = super::events::managing_unit(&shared.state, &s.owner)
                .ok_or_else(|| LabError::Refused("the secret's owner has no leader".into()))?;
            (
                unit,
                format!("secret://{}/{key}", shared.state.uuid),
                s.label.clone(),
            )
        };
        let name = if expired_revision.is_some() {
            "secret-expired"
        } else {
            "secret-rotate"
        };
        self.enqueue(Hook::secret(
            &unit,
            name,
            &uri,
            label.as_deref(),
            expired_revision,
        ));
        Ok(())
    }

    /// State changes Juju makes as a hook starts: units enter or leave a relation's scope.
    pub(super) fn before_hook(&mut self, hook: &Hook) {
        if hook.env.dispatch_path == RESTART_POD {
            return;
        }
        let Some(id) = hook.env.relation_id else {
            return;
        };
        let mut shared = self.lock();
        let Some(rel) = shared.state.relations.get_mut(&id) else {
            return;
        };
        let path = &hook.env.dispatch_path;
        let scope = rel.scope.entry(hook.unit.clone()).or_default();
        if let Some(remote) = &hook.env.remote_unit {
            if path.ends_with("-relation-joined") {
                scope.insert(remote.clone());
            } else if path.ends_with("-relation-departed") {
                scope.remove(remote);
            }
        }
        if path.ends_with("-relation-broken") {
            scope.clear();
        }
    }

    /// Bookkeeping after a hook succeeded: unit removal, default status after start.
    pub(super) fn after_hook(&mut self, hook: &Hook) -> Result<()> {
        match hook.env.dispatch_path.as_str() {
            "hooks/start" => {
                let mut shared = self.lock();
                if let Some(u) = shared.state.units.get_mut(&hook.unit)
                    && u.status.status == "waiting"
                    && u.status.message == "installing agent"
                {
                    u.status = StatusRecord::new("unknown", "");
                }
            }
            "hooks/remove" => self.forget_unit(&hook.unit),
            _ => {}
        }
        Ok(())
    }

    fn forget_unit(&mut self, unit: &str) {
        if let Some(mut pod) = self.pods.remove(unit) {
            pod.destroy();
        }
        self.queues.remove(unit);
        let app = unit.split('/').next().unwrap_or_default().to_string();
        let new_leader = {
            let mut shared = self.lock();
            shared.state.units.remove(unit);
            for rel in shared.state.relations.values_mut() {
                rel.scope.remove(unit);
                rel.unit_data.remove(unit);
                for seen in rel.scope.values_mut() {
                    seen.remove(unit);
                }
            }
            let lowest = shared
                .state
                .units
                .values()
                .filter(|u| u.app == app && !u.dying)
                .min_by_key(|u| u.number)
                .map(|u| u.name.clone());
            let a = shared.state.applications.get_mut(&app);
            match a {
                Some(a) if a.leader.as_deref() == Some(unit) => {
                    a.leader = lowest.clone();
                    lowest
                }
                _ => None,
            }
        };
        if let Some(leader) = new_leader {
            self.enqueue(Hook::plain(&leader, "leader-elected"));
        }
    }

    /// Drop relations whose broken hooks have all run.
    pub(super) fn finish_removals(&mut self) {
        let pending: BTreeSet<u64> = self
            .queues
            .values()
            .flatten()
            .filter_map(|h| h.env.relation_id)
            .collect();
        let mut shared = self.lock();
        let done: Vec<u64> = shared
            .state
            .relations
            .values()
            .filter(|r| r.dying && !pending.contains(&r.id))
            .map(|r| r.id)
            .collect();
        for id in done {
            shared.state.relations.remove(&id);
            for s in shared.state.secrets.values_mut() {
                s.grants.retain(|g| g.relation_id != id);
            }
        }
    }

    /// Run the engine's own queue steps; true when `hook` was one.
    pub(super) fn run_internal(&mut self, hook: &Hook) -> Result<bool> {
        if hook.env.dispatch_path != RESTART_POD {
            return Ok(false);
        }
        let containers: Vec<String> = self
            .lock()
            .state
            .applications
            .get(hook.unit.split('/').next().unwrap_or_default())
            .map(|a| a.charm.meta.containers.keys().cloned().collect())
            .unwrap_or_default();
        if let Some(pod) = self.pods.get_mut(&hook.unit) {
            pod.stop_containers();
            pod.kill_leftovers();
            for c in containers {
                pod.start_container(&c, &self.opts.pebble_bin)?;
            }
        }
        Ok(true)
    }
}

fn split_endpoint(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once(':') {
        Some((app, ep)) => (app, Some(ep)),
        None => (spec, None),
    }
}

/// Type-check operator-given config values against the charm's options.
fn parse_config(
    charm: &Charm,
    values: &[(String, String)],
) -> Result<BTreeMap<String, serde_json::Value>> {
    values
        .iter()
        .map(|(k, v)| {
            let option = charm
                .config
                .get(k)
                .ok_or_else(|| LabError::Refused(format!("unknown option \"{k}\"")))?;
            let value = crate::agent::parse_config_value(option, v)
                .map_err(|e| LabError::Refused(format!("option \"{k}\" {e}")))?;
            Ok((k.clone(), value))
        })
        .collect()
}

/// Unpack a `.charm` (zip) into `dir`, keeping the entries' unix modes.
fn unpack_charm(archive: &Path, dir: &Path) -> Result<()> {
    let file = std::fs::File::open(archive)
        .map_err(LabError::io(format!("opening {}", archive.display())))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| LabError::Charm(format!("{}: not a charm archive: {e}", archive.display())))?;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| LabError::Charm(format!("{}: {e}", archive.display())))?;
        let Some(rel) = entry.enclosed_name() else {
            return Err(LabError::Charm(format!(
                "unsafe path in {}",
                archive.display()
            )));
        };
        let path: PathBuf = dir.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&path).map_err(LabError::io("unpacking the charm"))?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(LabError::io("unpacking the charm"))?;
        }
        let mut out = std::fs::File::create(&path).map_err(LabError::io("unpacking the charm"))?;
        std::io::copy(&mut entry, &mut out).map_err(LabError::io("unpacking the charm"))?;
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o7777))
                .map_err(LabError::io("unpacking the charm"))?;
        }
    }
    Ok(())
}

/// What Juju writes in a unit's bag as it enters a relation's scope: its addresses.
fn address_bag(address: &str) -> crate::state::Bag {
    BTreeMap::from([
        ("egress-subnets".to_string(), format!("{address}/32")),
        ("ingress-address".to_string(), address.to_string()),
        ("private-address".to_string(), address.to_string()),
    ])
}
