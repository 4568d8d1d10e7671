//! Pebble's layer and plan validation (its `FormatError` messages) and service ordering.

use std::collections::{BTreeMap, BTreeSet};

use crate::command::{parse_service_command, split_command};
use crate::duration::parse_go_duration;
use crate::layer::{Layer, ServiceAction};
use crate::plan::Plan;

impl Layer {
    /// Checks one layer on its own, as Pebble does when it parses a layer labelled `label`.
    /// Returns Pebble's message for the first problem found (entries visited in name order).
    ///
    /// Checks: reserved label prefix `pebble-`; service names (not empty, not `pebble`, not
    /// starting with `-`); service commands parse; `on-success`/`on-failure`/`on-check-failure`
    /// actions allowed in their context; `backoff-factor >= 1`; durations parse and check
    /// period/timeout are not zero; exec-check commands parse and name a user when they name a
    /// group; log-target labels do not use the reserved `pebble_` prefix. Combined-plan rules
    /// (required fields, dependencies) are in [`Plan::validate`].
    pub fn validate(&self, label: &str) -> Result<(), String> {
        if label.starts_with("pebble-") {
            return Err("cannot use reserved label prefix \"pebble-\"".to_owned());
        }
        for (name, service) in &self.services {
            if name.is_empty() {
                return Err("cannot use empty string as service name".to_owned());
            }
            if name == "pebble" {
                return Err(format!("cannot use reserved service name {name:?}"));
            }
            if name.starts_with('-') {
                return Err(format!(
                    "cannot use service name {name:?}: starting with \"-\" not allowed"
                ));
            }
            for duration in [
                &service.backoff_delay,
                &service.backoff_limit,
                &service.kill_delay,
            ]
            .into_iter()
            .flatten()
            {
                parse_go_duration(duration).map_err(|e| section_error(label, "services", &e))?;
            }
            if let Err(e) = parse_service_command(&service.command) {
                return Err(format!(
                    "plan service {name:?} command invalid: cannot parse service {name:?} command: {e}"
                ));
            }
            if let Some(action) = service.on_success
                && !action_allowed(action, ServiceAction::FailureShutdown)
            {
                return Err(format!(
                    "plan service {name:?} on-success action {:?} invalid",
                    action_name(action)
                ));
            }
            if let Some(action) = service.on_failure
                && !action_allowed(action, ServiceAction::SuccessShutdown)
            {
                return Err(format!(
                    "plan service {name:?} on-failure action {:?} invalid",
                    action_name(action)
                ));
            }
            for action in service.on_check_failure.values() {
                if !action_allowed(*action, ServiceAction::SuccessShutdown) {
                    return Err(format!(
                        "plan service {name:?} on-check-failure action {:?} invalid",
                        action_name(*action)
                    ));
                }
            }
            if let Some(factor) = service.backoff_factor
                && factor < 1.0
            {
                return Err(format!(
                    "plan service {name:?} backoff-factor must be 1.0 or greater, not {factor}"
                ));
            }
        }
        for (name, check) in &self.checks {
            if name.is_empty() {
                return Err("cannot use empty string as check name".to_owned());
            }
            for (field, value) in [("period", &check.period), ("timeout", &check.timeout)] {
                if let Some(text) = value {
                    let duration =
                        parse_go_duration(text).map_err(|e| section_error(label, "checks", &e))?;
                    if duration.is_zero() {
                        return Err(format!("plan check {name:?} {field} must not be zero"));
                    }
                }
            }
            if let Some(exec) = &check.exec {
                if let Err(e) = split_command(&exec.command) {
                    return Err(format!("plan check {name:?} command invalid: {e}"));
                }
                let has_user = exec.user_id.is_some() || !exec.user.is_empty();
                let has_group = exec.group_id.is_some() || !exec.group.is_empty();
                if has_group && !has_user {
                    return Err(format!(
                        "plan check {name:?} has invalid user/group: must specify user, not just group"
                    ));
                }
            }
        }
        for (name, target) in &self.log_targets {
            if let Some(key) = target.labels.keys().find(|k| k.starts_with("pebble_")) {
                return Err(format!(
                    "log target {name:?}: label {key:?} uses reserved prefix \"pebble_\""
                ));
            }
        }
        Ok(())
    }
}

impl Plan {
    /// Checks the combined plan as Pebble does before accepting a layer or starting: every
    /// service has a `command`; every check has exactly one of http/tcp/exec with its required
    /// field (and an existing `service-context`); every log target has a type, a location and
    /// known services; `requires` name existing services and `after`/`before` have no cycle.
    /// Returns Pebble's message for the first problem found (entries visited in name order).
    pub fn validate(&self) -> Result<(), String> {
        for (name, service) in &self.services {
            if service.command.is_empty() {
                return Err(format!("plan must define \"command\" for service {name:?}"));
            }
        }
        for (name, check) in &self.checks {
            let mut kinds = 0;
            if let Some(http) = &check.http {
                if http.url.is_empty() {
                    return Err(format!("plan must set \"url\" for http check {name:?}"));
                }
                kinds += 1;
            }
            if let Some(tcp) = &check.tcp {
                if tcp.port == 0 {
                    return Err(format!("plan must set \"port\" for tcp check {name:?}"));
                }
                kinds += 1;
            }
            if let Some(exec) = &check.exec {
                if exec.command.is_empty() {
                    return Err(format!("plan must set \"command\" for exec check {name:?}"));
                }
                let context = &exec.service_context;
                if !context.is_empty() && !self.services.contains_key(context) {
                    return Err(format!(
                        "plan check {name:?} service context specifies non-existent service {context:?}"
                    ));
                }
                kinds += 1;
            }
            if kinds != 1 {
                return Err(format!(
                    "plan must specify one of \"http\", \"tcp\", or \"exec\" for check {name:?}"
                ));
            }
        }
        for (name, target) in &self.log_targets {
            if target.r#type.is_none() {
                return Err(format!(
                    "plan must define \"type\" (\"loki\", \"opentelemetry\" or \"syslog\") for log target {name:?}"
                ));
            }
            for service in &target.services {
                let service = service.strip_prefix('-').unwrap_or(service);
                if service != "all" && !self.services.contains_key(service) {
                    return Err(format!(
                        "log target {name:?} specifies unknown service {service:?}"
                    ));
                }
            }
            if target.location.is_empty() {
                return Err(format!(
                    "plan must define \"location\" for log target {name:?}"
                ));
            }
        }
        let all: Vec<&str> = self.services.keys().map(String::as_str).collect();
        self.start_order(&all).map(|_| ())
    }

    /// The services to start, in order, to start `names`: the named services plus everything
    /// they `require` (transitively), ordered by `after`/`before`. Errors: `service "x" does not
    /// exist`, `services in before/after loop: a, b`.
    pub fn start_order(&self, names: &[&str]) -> Result<Vec<String>, String> {
        self.order(names, false)
    }

    /// The services to stop, in order, to stop `names`: the named services plus everything that
    /// `requires` them (transitively), dependents first.
    pub fn stop_order(&self, names: &[&str]) -> Result<Vec<String>, String> {
        self.order(names, true)
    }

    fn order(&self, names: &[&str], stop: bool) -> Result<Vec<String>, String> {
        let missing = |name: &str| format!("service {name:?} does not exist");
        let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        if stop {
            for (name, service) in &self.services {
                for required in &service.requires {
                    dependents.entry(required).or_default().push(name);
                }
            }
        }
        // Everything that takes part, in discovery order.
        let mut involved: Vec<&str> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut pending: Vec<&str> = names.to_vec();
        let mut next = 0;
        while next < pending.len() {
            let name = pending[next];
            next += 1;
            if !seen.insert(name) {
                continue;
            }
            involved.push(name);
            if stop {
                pending.extend(dependents.get(name).into_iter().flatten());
            } else {
                let service = self.services.get(name).ok_or_else(|| missing(name))?;
                pending.extend(service.requires.iter().map(String::as_str));
            }
        }
        // Edge a -> b means "a goes after b".
        let mut edges: BTreeMap<&str, Vec<&str>> =
            involved.iter().map(|name| (*name, Vec::new())).collect();
        for name in &involved {
            let service = self.services.get(*name).ok_or_else(|| missing(name))?;
            let (after, before) = if stop {
                (&service.before, &service.after)
            } else {
                (&service.after, &service.before)
            };
            for other in after {
                if seen.contains(other.as_str()) {
                    edges.entry(name).or_default().push(other);
                }
            }
            for other in before {
                if seen.contains(other.as_str()) {
                    edges.entry(other.as_str()).or_default().push(name);
                }
            }
        }
        let mut order = Vec::new();
        for component in strongly_connected(&edges) {
            if component.len() > 1 {
                let mut names = component;
                names.sort_unstable();
                return Err(format!(
                    "services in before/after loop: {}",
                    names.join(", ")
                ));
            }
            order.extend(component.into_iter().map(str::to_owned));
        }
        Ok(order)
    }
}

/// Tarjan's algorithm: strongly connected components, each emitted after every component it has
/// edges to (so "a goes after b" puts b first). Nodes are visited in key order.
fn strongly_connected<'a>(edges: &BTreeMap<&'a str, Vec<&'a str>>) -> Vec<Vec<&'a str>> {
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<&'a str>>,
    }
    fn visit<'a>(node: &'a str, edges: &BTreeMap<&'a str, Vec<&'a str>>, s: &mut State<'a>) {
        let index = s.index.len();
        s.index.insert(node, index);
        s.low.insert(node, index);
        s.stack.push(node);
        s.on_stack.insert(node);
        for &next in edges.get(node).into_iter().flatten() {
            if !s.index.contains_key(next) {
                visit(next, edges, s);
                let low = s.low[node].min(s.low[next]);
                s.low.insert(node, low);
            } else if s.on_stack.contains(next) {
                let low = s.low[node].min(s.index[next]);
                s.low.insert(node, low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut component = Vec::new();
            while let Some(top) = s.stack.pop() {
                s.on_stack.remove(top);
                component.push(top);
                if top == node {
                    break;
                }
            }
            s.out.push(component);
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for &node in edges.keys() {
        if !state.index.contains_key(node) {
            visit(node, edges, &mut state);
        }
    }
    state.out
}

fn action_allowed(action: ServiceAction, extra: ServiceAction) -> bool {
    action == extra
        || matches!(
            action,
            ServiceAction::Restart | ServiceAction::Shutdown | ServiceAction::Ignore
        )
}

fn action_name(action: ServiceAction) -> &'static str {
    match action {
        ServiceAction::Restart => "restart",
        ServiceAction::Shutdown => "shutdown",
        ServiceAction::Ignore => "ignore",
        ServiceAction::SuccessShutdown => "success-shutdown",
        ServiceAction::FailureShutdown => "failure-shutdown",
    }
}

fn section_error(label: &str, section: &str, detail: &str) -> String {
    format!("cannot parse layer {label:?} section {section:?}: {detail}")
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
