//! The plan as `GET /v1/plan?format=yaml` renders it: Go's yaml.v3 layout (4-space indent,
//! sequences indented under their key), fields in schema order, map keys sorted, `{}` when
//! empty, and log targets always showing `type`, `location` and `services`.

use pebble::Plan;
use serde_yaml::Value;

/// Renders `plan` as Pebble prints it.
pub fn render(plan: &Plan) -> String {
    let mut value = match serde_yaml::to_value(plan) {
        Ok(value) => value,
        Err(_) => return "{}\n".to_owned(),
    };
    show_log_target_services(&mut value);
    match &value {
        Value::Mapping(map) if !map.is_empty() => {
            let mut out = String::new();
            emit_mapping(map, 0, &mut out);
            out
        }
        _ => "{}\n".to_owned(),
    }
}

/// Go prints a log target's `services` even when empty; serde leaves it out.
fn show_log_target_services(value: &mut Value) {
    let Some(targets) = value.get_mut("log-targets").and_then(Value::as_mapping_mut) else {
        return;
    };
    for (_, target) in targets.iter_mut() {
        let Some(fields) = target.as_mapping_mut() else {
            continue;
        };
        if fields.contains_key("services") {
            continue;
        }
        let mut rebuilt = serde_yaml::Mapping::new();
        for (key, field) in std::mem::take(fields) {
            let after_location = key.as_str() == Some("location");
            rebuilt.insert(key, field);
            if after_location {
                rebuilt.insert(Value::from("services"), Value::Sequence(Vec::new()));
            }
        }
        if !rebuilt.contains_key("services") {
            rebuilt.insert(Value::from("services"), Value::Sequence(Vec::new()));
        }
        *fields = rebuilt;
    }
}

fn emit_mapping(map: &serde_yaml::Mapping, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (key, value) in map {
        let key = scalar(key);
        match value {
            Value::Mapping(inner) if inner.is_empty() => {
                out.push_str(&format!("{pad}{key}: {{}}\n"))
            }
            Value::Mapping(inner) => {
                out.push_str(&format!("{pad}{key}:\n"));
                emit_mapping(inner, indent + 4, out);
            }
            Value::Sequence(items) if items.is_empty() => {
                out.push_str(&format!("{pad}{key}: []\n"));
            }
            Value::Sequence(items) => {
                out.push_str(&format!("{pad}{key}:\n"));
                for item in items {
                    out.push_str(&format!("{pad}    - {}\n", scalar(item)));
                }
            }
            other => out.push_str(&format!("{pad}{key}: {}\n", scalar(other))),
        }
    }
}

/// One scalar in YAML form; anything that would need several lines becomes a JSON string,
/// which is valid YAML.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) => {
            let rendered = serde_yaml::to_string(text).unwrap_or_default();
            let rendered = rendered.strip_suffix('\n').unwrap_or(&rendered);
            if rendered.contains('\n') || rendered.starts_with('|') || rendered.starts_with('>') {
                serde_json::to_string(text).unwrap_or_default()
            } else {
                rendered.to_owned()
            }
        }
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_plan() {
        assert_eq!(render(&Plan::default()), "{}\n");
    }

    #[test]
    fn four_space_layout() {
        let layer = pebble::Layer::from_yaml(
            "services:\n  srv:\n    override: replace\n    command: sleep 10\n    after: [a, b]\n    environment: {X: '1'}\n    backoff-factor: 2\nlog-targets:\n  t:\n    override: merge\n    type: loki\n    location: http://x\n",
        )
        .unwrap();
        let plan = Plan::combine([("l", &layer)]).unwrap();
        assert_eq!(
            render(&plan),
            "services:\n    srv:\n        override: replace\n        command: sleep 10\n        after:\n            - a\n            - b\n        environment:\n            X: '1'\n        backoff-factor: 2\nlog-targets:\n    t:\n        type: loki\n        location: http://x\n        services: []\n        override: merge\n"
        );
        let back = Plan::from_yaml(&render(&plan)).unwrap();
        assert_eq!(back, plan);
    }
}
