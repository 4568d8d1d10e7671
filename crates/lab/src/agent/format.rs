//! Output as Juju's command framework (`juju/cmd` `Output`) writes it: `--format=json` is Go's
//! `encoding/json` (HTML-escaped strings, Go float text, struct fields in declaration order, map
//! keys sorted), `yaml` is `gopkg.in/yaml.v2` style, and `smart` prints strings plain, booleans as
//! `True`/`False`, lists of strings one per line and anything else as YAML. A non-empty answer is
//! followed by one newline; an empty one (smart `null` or `""`) prints nothing.

use std::fmt::Write as _;

pub(crate) use super::yaml::yaml_doc;

/// A value as Go would marshal it. Maps keep their order: build Go maps with [`GoValue::map`]
/// (sorted) and Go structs with [`GoValue::Map`] in field order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GoValue {
    /// `nil`.
    Null,
    /// `bool`.
    Bool(bool),
    /// Any integer type.
    Int(i128),
    /// `float64`.
    Float(f64),
    /// `string`.
    Str(String),
    /// A `time.Time`, already as RFC 3339 text (YAML prints it plain, JSON as a string).
    Time(String),
    /// A slice.
    List(Vec<GoValue>),
    /// A map or a struct, in output order.
    Map(Vec<(String, GoValue)>),
}

impl GoValue {
    /// A string value.
    pub(crate) fn str(s: impl Into<String>) -> GoValue {
        GoValue::Str(s.into())
    }

    /// A Go map: entries sorted by key, as Go's encoders print them.
    pub(crate) fn map(entries: impl IntoIterator<Item = (String, GoValue)>) -> GoValue {
        let mut v: Vec<(String, GoValue)> = entries.into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v.dedup_by(|a, b| a.0 == b.0);
        GoValue::Map(v)
    }

    /// A `map[string]string`.
    pub(crate) fn string_map<'a>(m: impl IntoIterator<Item = (&'a String, &'a String)>) -> GoValue {
        GoValue::map(
            m.into_iter()
                .map(|(k, v)| (k.clone(), GoValue::str(v.clone()))),
        )
    }

    /// A `[]string` (nil when `nil_if_empty` and empty, as a Go `var x []string` prints).
    pub(crate) fn strings(items: impl IntoIterator<Item = String>, nil_if_empty: bool) -> GoValue {
        let v: Vec<GoValue> = items.into_iter().map(GoValue::Str).collect();
        if v.is_empty() && nil_if_empty {
            GoValue::Null
        } else {
            GoValue::List(v)
        }
    }

    /// From JSON (objects become Go maps, so their keys are sorted).
    pub(crate) fn from_json(v: &serde_json::Value) -> GoValue {
        match v {
            serde_json::Value::Null => GoValue::Null,
            serde_json::Value::Bool(b) => GoValue::Bool(*b),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => GoValue::Int(i as i128),
                (_, Some(u)) => GoValue::Int(u as i128),
                _ => GoValue::Float(n.as_f64().unwrap_or(0.0)),
            },
            serde_json::Value::String(s) => GoValue::Str(s.clone()),
            serde_json::Value::Array(a) => {
                GoValue::List(a.iter().map(GoValue::from_json).collect())
            }
            serde_json::Value::Object(o) => {
                GoValue::map(o.iter().map(|(k, v)| (k.clone(), GoValue::from_json(v))))
            }
        }
    }
}

/// An output format (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `smart`
    Smart,
    /// `json`
    Json,
    /// `yaml`
    Yaml,
}

impl Format {
    /// Parse a `--format` value among `allowed`; the error is the flag error's reason.
    pub(crate) fn parse(text: &str, allowed: &[Format]) -> Result<Format, String> {
        let f = match text {
            "smart" => Format::Smart,
            "json" => Format::Json,
            "yaml" => Format::Yaml,
            _ => return Err(format!("unknown format {}", go_quote(text))),
        };
        if allowed.contains(&f) {
            Ok(f)
        } else {
            Err(format!("unknown format {}", go_quote(text)))
        }
    }
}

/// Render `value` as `format` would, with the trailing newline `cmd.Output` adds to non-empty
/// output.
pub(crate) fn render(format: Format, value: &GoValue) -> Vec<u8> {
    let mut text = match format {
        Format::Json => json(value),
        Format::Yaml => yaml_doc(value),
        Format::Smart => smart(value),
    };
    if !text.is_empty() {
        text.push('\n');
    }
    text.into_bytes()
}

fn smart(value: &GoValue) -> String {
    match value {
        GoValue::Null => String::new(),
        GoValue::Str(s) | GoValue::Time(s) => s.clone(),
        GoValue::Bool(true) => "True".into(),
        GoValue::Bool(false) => "False".into(),
        GoValue::Int(i) => i.to_string(),
        GoValue::Float(f) => go_float_f(*f),
        GoValue::List(items) if items.iter().all(|i| matches!(i, GoValue::Str(_))) => items
            .iter()
            .filter_map(|i| match i {
                GoValue::Str(s) => Some(s.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => yaml_doc(other),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON

/// Go `encoding/json` text of `value`.
pub(crate) fn json(value: &GoValue) -> String {
    let mut out = String::new();
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut String, value: &GoValue) {
    match value {
        GoValue::Null => out.push_str("null"),
        GoValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        GoValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        GoValue::Float(f) => out.push_str(&go_json_float(*f)),
        GoValue::Str(s) | GoValue::Time(s) => json_string(out, s),
        GoValue::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        GoValue::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(out, k);
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
    }
}

/// A JSON string as Go escapes it (HTML-safe: `<`, `>`, `&` and U+2028/9 as `\uXXXX`).
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: shortest digits, no exponent.
pub(crate) fn go_float_f(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    format!("{f}")
}

/// Go `encoding/json` float text: `'f'` format unless |f| < 1e-6 or ≥ 1e21, then `'e'` with a
/// minimal exponent (`1e+21`, `1.5e-7`).
fn go_json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (mant, exp) = split_exp(f);
        if exp < 0 {
            format!("{mant}e-{}", -exp)
        } else {
            format!("{mant}e+{exp:02}")
        }
    } else {
        go_float_f(f)
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` (what yaml.v2 prints for floats).
pub(crate) fn go_float_g(f: f64) -> String {
    if !f.is_finite() {
        return go_float_f(f);
    }
    if f == 0.0 {
        return "0".into();
    }
    let (mant, exp) = split_exp(f);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        go_float_f(f)
    }
}

/// Shortest mantissa text and decimal exponent of a finite float (`1.5e-7` → ("1.5", -7)).
fn split_exp(f: f64) -> (String, i32) {
    let text = format!("{f:e}");
    match text.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse().unwrap_or(0)),
        None => (text, 0),
    }
}

// ---------------------------------------------------------------------------------------------
// Go's %q

/// Go's `strconv.Quote` (what `%q` prints for a string).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub(crate) fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_go_json() {
        let v = GoValue::map([
            ("b".to_string(), GoValue::str("<a&b>")),
            ("a".to_string(), GoValue::Float(100.0)),
            ("c".to_string(), GoValue::Float(1e21)),
            ("d".to_string(), GoValue::Float(1.5e-7)),
            ("e".to_string(), GoValue::Float(0.25)),
        ]);
        assert_eq!(
            json(&v),
            r#"{"a":100,"b":"\u003ca\u0026b\u003e","c":1e+21,"d":1.5e-7,"e":0.25}"#
        );
        assert_eq!(render(Format::Json, &GoValue::Null), b"null\n");
        assert_eq!(render(Format::Smart, &GoValue::Null), b"");
        assert_eq!(render(Format::Smart, &GoValue::str("")), b"");
        assert_eq!(render(Format::Smart, &GoValue::Bool(true)), b"True\n");
    }

    #[test]
    fn yaml_is_yaml_v2_like() {
        let v = GoValue::map([
            ("pew".to_string(), GoValue::str("pew\npew\n")),
            ("num".to_string(), GoValue::str("10")),
            ("y".to_string(), GoValue::str("n")),
            ("e".to_string(), GoValue::str("")),
            ("c".to_string(), GoValue::str("a: b")),
            (
                "l".to_string(),
                GoValue::List(vec![GoValue::str("x"), GoValue::Int(1)]),
            ),
            (
                "m".to_string(),
                GoValue::map([("k".to_string(), GoValue::str("v"))]),
            ),
        ]);
        assert_eq!(
            yaml_doc(&v),
            "c: 'a: b'\ne: \"\"\nl:\n- x\n- 1\nm:\n  k: v\nnum: \"10\"\npew: |\n  pew\n  pew\n\"y\": \"n\""
        );
        assert_eq!(go_float_g(1e6), "1e+06");
        assert_eq!(go_float_g(123456.0), "123456");
        assert_eq!(go_quote_list(&["a".into(), "b c".into()]), r#"["a" "b c"]"#);
    }
}
