//! Typed option values and the per-option checks: the JSON `config-get` gives for one option,
//! checked against its Juju type and its [`Rule`], becomes a [`Value`] or a reason.

use super::options::{Kind, Literal, OptionSpec, Rule};

/// One option's typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A `string` option's value.
    Str(String),
    /// An `int` option's value.
    Int(i64),
    /// A `float` option's value (always finite).
    Float(f64),
    /// A `boolean` option's value.
    Bool(bool),
}

impl Value {
    /// The value as PostgreSQL expects it in `postgresql.conf`, unquoted: booleans `on`/`off`,
    /// integers in decimal, floats by [`render_float`], strings as they are (the renderer of
    /// `patroni.yml` quotes them).
    pub fn render(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => render_float(*f),
            Value::Bool(true) => "on".to_string(),
            Value::Bool(false) => "off".to_string(),
        }
    }

    /// The value as JSON, as `config-get` would give it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Str(s) => serde_json::Value::from(s.as_str()),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Value::from(*f),
            Value::Bool(b) => serde_json::Value::from(*b),
        }
    }
}

impl From<Literal> for Value {
    fn from(literal: Literal) -> Self {
        match literal {
            Literal::Str(s) => Value::Str(s.to_string()),
            Literal::Int(i) => Value::Int(i),
            Literal::Float(f) => Value::Float(f),
            Literal::Bool(b) => Value::Bool(b),
        }
    }
}

/// A float in the shortest decimal form that reads back as the same number, without an exponent
/// (`0.005`, `2`, `100000`) unless the number is very large or very small (`1.8e308`), where
/// PostgreSQL's parser accepts the exponent form and the positional one would be hundreds of
/// digits long.
pub fn render_float(f: f64) -> String {
    let magnitude = f.abs();
    if f == 0.0 || (1e-5..1e16).contains(&magnitude) {
        format!("{f}")
    } else {
        format!("{f:e}")
    }
}

/// Checks the JSON given for one option and returns its typed value; `Err` is the reason, for a
/// [`super::ConfigError`] naming the option.
pub(crate) fn check(spec: &OptionSpec, json: &serde_json::Value) -> Result<Value, String> {
    let value = typed(spec.kind, json)?;
    check_rule(spec.rule, &value)?;
    Ok(value)
}

fn typed(kind: Kind, json: &serde_json::Value) -> Result<Value, String> {
    match (kind, json) {
        (Kind::String, serde_json::Value::String(s)) => Ok(Value::Str(s.clone())),
        (Kind::Boolean, serde_json::Value::Bool(b)) => Ok(Value::Bool(*b)),
        (Kind::Int, serde_json::Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Value::Int(i));
            }
            // Juju's JSON may write a whole number as 60.0; anything else is not an int.
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(Value::Int(f as i64)),
                _ => Err(format!("must be a whole number, got {n}")),
            }
        }
        (Kind::Float, serde_json::Value::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(format!("must be a number, got {n}")),
        },
        (kind, other) => Err(format!(
            "must be of type {}, got {}",
            kind.juju_type(),
            shown_json(other)
        )),
    }
}

fn check_rule(rule: Rule, value: &Value) -> Result<(), String> {
    match (rule, value) {
        (Rule::IntRange { min, max }, Value::Int(i)) => {
            if (min..=max).contains(i) {
                Ok(())
            } else if max == i64::MAX {
                Err(format!("must be at least {min}, got {i}"))
            } else {
                Err(format!("must be between {min} and {max}, got {i}"))
            }
        }
        (Rule::FloatRange { min, max }, Value::Float(f)) => {
            if (min..=max).contains(f) {
                Ok(())
            } else if max == f64::MAX {
                Err(format!(
                    "must be at least {}, got {}",
                    render_float(min),
                    render_float(*f)
                ))
            } else {
                Err(format!(
                    "must be between {} and {}, got {}",
                    render_float(min),
                    render_float(max),
                    render_float(*f)
                ))
            }
        }
        (rule, Value::Str(s)) => {
            if s.chars().any(char::is_control) {
                return Err("must not contain control characters such as newlines".to_string());
            }
            check_string_rule(rule, s)
        }
        _ => Ok(()),
    }
}

fn check_string_rule(rule: Rule, s: &str) -> Result<(), String> {
    match rule {
        Rule::OneOf(allowed) if !allowed.contains(&s) => Err(format!(
            "must be one of {}, got {}",
            one_of(allowed),
            shown(s)
        )),
        Rule::SyncNodeCount if s != "all" && s != "majority" && !whole_at_least(s, 1) => {
            Err(format!(
                "must be 'all', 'majority' or a whole number of at least 1, got {}",
                shown(s)
            ))
        }
        Rule::Workers if s != "auto" && !whole_at_least(s, 2) => Err(format!(
            "must be 'auto' or a whole number of at least 2, got {}",
            shown(s)
        )),
        Rule::ScramOnly if s == "md5" => Err(MD5_REFUSED.to_string()),
        Rule::ScramOnly if s != "scram-sha-256" => {
            Err(format!("must be 'scram-sha-256', got {}", shown(s)))
        }
        _ => Ok(()),
    }
}

const MD5_REFUSED: &str = "md5 is refused: scram-sha-256 is required (md5 password hashes are \
                           weak and md5 authentication is deprecated)";

/// A whole number written in plain decimal digits, as `u32`.
pub(crate) fn parse_whole(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn whole_at_least(s: &str, min: u32) -> bool {
    parse_whole(s).is_some_and(|n| n >= min)
}

/// `'a', 'b' or 'c'`.
fn one_of(allowed: &[&str]) -> String {
    let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// A user's string, quoted and cut to a length that fits in a status message.
fn shown(s: &str) -> String {
    const LIMIT: usize = 40;
    let cut: String = s.chars().take(LIMIT).collect();
    let ellipsis = if s.chars().count() > LIMIT { "…" } else { "" };
    format!("'{}{ellipsis}'", cut.escape_debug())
}

fn shown_json(json: &serde_json::Value) -> String {
    match json {
        serde_json::Value::String(s) => shown(s),
        other => {
            let text = other.to_string();
            if text.chars().count() > 40 {
                format!("{}…", text.chars().take(40).collect::<String>())
            } else {
                text
            }
        }
    }
}
