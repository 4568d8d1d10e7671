//! Layers, plan, services, signals and changes of the fake.

use std::time::Duration;

use serde_json::{Value, json};

use super::{Reply, Shared, accepted, error, param, sync};

pub fn add_layer(state: &Shared, body: &Value) -> Reply {
    let label = body["label"].as_str().unwrap_or("");
    if body["action"] != "add" {
        return error(400, &format!("invalid action {:?}", body["action"]), None);
    }
    if body["format"] != "yaml" {
        return error(400, &format!("invalid format {:?}", body["format"]), None);
    }
    let layer = match pebble::Layer::from_yaml(body["layer"].as_str().unwrap_or("")) {
        Ok(layer) => layer,
        Err(e) => return error(400, &format!("cannot parse layer YAML: {e}"), None),
    };
    if let Err(e) = layer.validate(label) {
        return error(400, &format!("cannot parse layer YAML: {e}"), None);
    }
    let mut s = state.lock().unwrap();
    let mut layers = s.layers.clone();
    match layers.iter_mut().find(|(l, _)| l == label) {
        Some((_, existing)) if body["combine"] == true => {
            if let Err(e) = existing.merge_from(label, &layer) {
                return error(400, &e, None);
            }
        }
        Some(_) => return error(400, &format!("layer {label:?} already exists"), None),
        None => layers.push((label.to_owned(), layer)),
    }
    let plan = pebble::Plan::combine(layers.iter().map(|(l, layer)| (l.as_str(), layer)));
    match plan.and_then(|p| p.validate()) {
        Ok(()) => {
            s.layers = layers;
            sync(json!(true))
        }
        Err(e) => error(400, &e, None),
    }
}

pub fn get_plan(state: &Shared, query: &[(String, String)]) -> Reply {
    let format = param(query, "format").unwrap_or_default();
    if format != "yaml" {
        return error(400, &format!("invalid format {format:?}"), None);
    }
    let s = state.lock().unwrap();
    let text = match &s.plan_yaml {
        Some(text) => text.clone(),
        None => pebble::Plan::combine(s.layers.iter().map(|(l, layer)| (l.as_str(), layer)))
            .unwrap()
            .to_yaml(),
    };
    sync(json!(text))
}

const SERVICES: [(&str, &str, &str); 2] = [
    ("exporter", "disabled", "inactive"),
    ("pg", "enabled", "active"),
];

pub fn list(query: &[(String, String)]) -> Reply {
    let names: Vec<String> = param(query, "names")
        .map(|n| n.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let list: Vec<Value> = SERVICES
        .iter()
        .filter(|(name, _, _)| names.is_empty() || names.iter().any(|n| n == name))
        .map(|(name, startup, current)| {
            let mut info = json!({"name": name, "startup": startup, "current": current});
            if *current == "active" {
                info["current-since"] = json!("2025-01-07T10:11:12.123456789+00:00");
            }
            info
        })
        .collect();
    sync(json!(list))
}

pub fn post(state: &Shared, body: &Value) -> Reply {
    let action = body["action"].as_str().unwrap_or("");
    let names: Vec<&str> = body["services"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut s = state.lock().unwrap();
    match action {
        "replan" | "autostart" if !names.is_empty() => {
            error(400, &format!("{action} accepts no service names"), None)
        }
        "replan" => {
            let id = s.add_change("replan", "Replan service \"pg\"", None, &[]);
            accepted(&id, Value::Null)
        }
        "start" | "stop" | "restart" => {
            if names.is_empty() {
                return error(
                    400,
                    &format!("must specify services for {action} action"),
                    None,
                );
            }
            if let Some(unknown) = names
                .iter()
                .find(|n| !SERVICES.iter().any(|(s, _, _)| s == *n))
            {
                return error(
                    400,
                    &format!("cannot {action} services: service \"{unknown}\" does not exist"),
                    None,
                );
            }
            let failing = names
                .iter()
                .find(|n| s.failing.contains(**n))
                .map(|n| n.to_string());
            let summary = format!("{} service \"{}\"", capitalise(action), names[0]);
            let id = match failing {
                Some(name) if action != "stop" => {
                    let err = format!(
                        "cannot perform the following tasks:\n- {summary} (service start attempt: exited quickly with code 1, will restart)"
                    );
                    let log = [
                        "2025-01-07T10:11:12Z INFO Most recent service output:\n    FATAL: bad config".to_owned(),
                        format!("2025-01-07T10:11:13Z ERROR service start attempt: exited quickly with code 1, will restart ({name})"),
                    ];
                    let log: Vec<&str> = log.iter().map(String::as_str).collect();
                    s.add_change(action, &summary, Some(&err), &log)
                }
                _ => s.add_change(action, &summary, None, &[]),
            };
            accepted(&id, Value::Null)
        }
        other => error(400, &format!("invalid action {other:?}"), None),
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

pub fn signals(state: &Shared, body: &Value) -> Reply {
    let services: Vec<&str> = body["services"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if services.is_empty() {
        return error(400, "must specify one or more services", None);
    }
    let not_running: Vec<String> = services
        .iter()
        .filter(|name| **name != "pg")
        .map(|name| format!("cannot send signal to {name:?}: service is not running"))
        .collect();
    if !not_running.is_empty() {
        return error(500, &not_running.join("; "), None);
    }
    state.lock().unwrap().signals.push(body.clone());
    sync(json!(true))
}

pub async fn changes(state: &Shared, path: &str, query: &[(String, String)]) -> Reply {
    let rest = path.trim_start_matches("/v1/changes/");
    let (id, wait) = match rest.strip_suffix("/wait") {
        Some(id) => (id, true),
        None => (rest, false),
    };
    let not_found = || error(404, &format!("cannot find change with id {id:?}"), None);
    if !wait {
        return match state.lock().unwrap().changes.get(id) {
            Some(change) => sync(change.clone()),
            None => not_found(),
        };
    }
    if state.lock().unwrap().no_wait_endpoint {
        return error(404, "invalid API endpoint requested", None);
    }
    let timeout = param(query, "timeout")
        .map(|t| pebble::parse_go_duration(&t).unwrap())
        .unwrap_or(Duration::from_secs(3600));
    {
        let mut s = state.lock().unwrap();
        if !s.changes.contains_key(id) {
            return not_found();
        }
        if let Some(remaining) = s.wait_504.get_mut(id).filter(|n| **n > 0) {
            *remaining -= 1;
            return error(
                504,
                &format!(
                    "timed out waiting for change after {}",
                    pebble::format_go_duration(timeout)
                ),
                None,
            );
        }
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(change) = state
            .lock()
            .unwrap()
            .changes
            .get(id)
            .filter(|c| c["ready"] == true)
        {
            return sync(change.clone());
        }
        if tokio::time::Instant::now() >= deadline {
            return error(
                504,
                &format!(
                    "timed out waiting for change after {}",
                    pebble::format_go_duration(timeout)
                ),
                None,
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
