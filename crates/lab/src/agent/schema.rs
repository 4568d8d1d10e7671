//! Action parameters against the charm's JSON-schema (Juju's `ActionSpec.InsertDefaults` and
//! `ValidateParams`, gojsonschema's English texts), and `juju run`'s plain output.

use serde_json::{Map, Value};

use super::ActionRun;
use super::action::nested_results;
use super::format::{GoValue, yaml_doc};
use crate::charm::ActionSpec;

/// Fill defaults into `given` and validate it against `spec`, as Juju does when an action is
/// enqueued. Supported schema: `type` (a name or a list), `enum`, `default` (top level),
/// `required`, `additionalProperties: false`, `properties` of objects, `items` of arrays,
/// `minimum`/`maximum`, `minLength`/`maxLength`. The error is Juju's:
/// `validation failed: (root): who is required; port: Invalid type. Expected: integer, given: string`.
pub fn validate_action_params(
    spec: &ActionSpec,
    given: Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let mut params = given;
    for (name, schema) in &spec.params {
        if !params.contains_key(name)
            && let Some(default) = schema.get("default")
        {
            params.insert(name.clone(), default.clone());
        }
    }
    let mut errors = Vec::new();
    for name in &spec.required {
        if !params.contains_key(name) {
            errors.push(format!("(root): {name} is required"));
        }
    }
    if !spec.additional_properties {
        for name in params.keys() {
            if !spec.params.contains_key(name) {
                errors.push(format!("(root): Additional property {name} is not allowed"));
            }
        }
    }
    for (name, value) in &params {
        if let Some(schema) = spec.params.get(name) {
            check(name, schema, value, &mut errors);
        }
    }
    if errors.is_empty() {
        Ok(params)
    } else {
        Err(format!("validation failed: {}", errors.join("; ")))
    }
}

/// gojsonschema's name for a value's type.
fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(expected: &str, v: &Value) -> bool {
    let given = type_of(v);
    expected == given || (expected == "number" && given == "integer")
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn check(field: &str, schema: &Value, value: &Value, errors: &mut Vec<String>) {
    if let Some(t) = schema.get("type") {
        let expected: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !expected.is_empty() && !expected.iter().any(|e| type_matches(e, value)) {
            errors.push(format!(
                "{field}: Invalid type. Expected: {}, given: {}",
                expected.join(","),
                type_of(value)
            ));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.iter().any(|a| json_eq(a, value))
    {
        let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
        errors.push(format!(
            "{field}: {field} must be one of the following: {}",
            list.join(", ")
        ));
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            errors.push(format!(
                "{field}: Must be greater than or equal to {}",
                num(min)
            ));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            errors.push(format!(
                "{field}: Must be less than or equal to {}",
                num(max)
            ));
        }
    }
    if let Some(s) = value.as_str() {
        let len = s.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            errors.push(format!(
                "{field}: String length must be greater than or equal to {min}"
            ));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            errors.push(format!(
                "{field}: String length must be less than or equal to {max}"
            ));
        }
    }
    if let Value::Object(obj) = value {
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(req)) = schema.get("required") {
            for r in req.iter().filter_map(Value::as_str) {
                if !obj.contains_key(r) {
                    errors.push(format!("{field}: {r} is required"));
                }
            }
        }
        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            for k in obj.keys() {
                if !props.is_some_and(|p| p.contains_key(k)) {
                    errors.push(format!("{field}: Additional property {k} is not allowed"));
                }
            }
        }
        if let Some(props) = props {
            for (k, v) in obj {
                if let Some(s) = props.get(k) {
                    check(&format!("{field}.{k}"), s, v, errors);
                }
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            check(&format!("{field}.{i}"), item_schema, v, errors);
        }
    }
}

fn num(f: f64) -> String {
    super::format::go_float_f(f)
}

/// What `juju run <unit> <action>` prints on stdout for one task (Juju 3's `plain` format,
/// `printPlainOutput` in `cmd/juju/action/run.go`): the results as YAML (nested from dotted
/// keys; `stdout`/`stderr`/`return-code` keys left out) or `Task <id> <status>` when there are
/// none, followed by an empty line; a failed task is preceded by
/// `Action id <id> failed: <message>`.
///
/// The task failed if `failed_message` is given (e.g. `exit status 1` when the process failed)
/// or the action called `action-fail`; `failed_message` wins for the message. `unit` is the
/// receiving unit: Juju's plain output for a single task does not show it (see
/// [`render_action_progress`] for the lines that do).
pub fn render_action_output(run: &ActionRun, unit: &str, failed_message: Option<&str>) -> String {
    let _ = unit;
    const FILTERED: [&str; 5] = [
        "return-code",
        "stdout",
        "stderr",
        "stdout-encoding",
        "stderr-encoding",
    ];
    let message = failed_message
        .map(str::to_string)
        .or_else(|| run.failed.clone());
    let status = if message.is_some() {
        "failed"
    } else {
        "completed"
    };
    let results = nested_results(&run.results);
    let shown = match results {
        GoValue::Map(entries) => entries
            .into_iter()
            .filter(|(k, _)| !FILTERED.contains(&k.as_str()))
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    let output = if shown.is_empty() {
        format!("Task {} {status}\n", run.id)
    } else {
        format!("{}\n", yaml_doc(&GoValue::Map(shown)))
    };
    match message {
        Some(m) => format!("Action id {} failed: {m}\n{output}\n", run.id),
        None => format!("{output}\n"),
    }
}

/// What `juju run` prints on stderr while it waits for one task:
/// `Running operation <op> with 1 task`, `  - task <id> on unit-<app>-<n>`, a blank line and
/// `Waiting for task <id>...`.
pub fn render_action_progress(operation_id: &str, task_id: &str, unit: &str) -> String {
    let tag = format!("unit-{}", unit.replace('/', "-"));
    format!(
        "Running operation {operation_id} with 1 task\n  - task {task_id} on {tag}\n\nWaiting for task {task_id}...\n\n"
    )
}
