//! YAML as `gopkg.in/yaml.v2` marshals it (what Juju's `--format=yaml` and `smart` print for
//! maps): block style, sequences at their key's indentation, YAML 1.1 words quoted, multi-line
//! strings as literal blocks, libyaml's plain-scalar rules.

use std::fmt::Write as _;

use super::format::{GoValue, go_float_g};

/// A YAML document as `cmd.FormatYaml` writes it (trailing newlines trimmed).
pub(crate) fn yaml_doc(value: &GoValue) -> String {
    let mut out = String::new();
    match value {
        GoValue::Map(e) if !e.is_empty() => yaml_map(&mut out, e, 0),
        GoValue::List(l) if !l.is_empty() => yaml_list(&mut out, l, 0),
        GoValue::Null => return String::new(),
        scalar => {
            out.push_str(&yaml_scalar(scalar, 0));
        }
    }
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn yaml_map(out: &mut String, entries: &[(String, GoValue)], level: usize) {
    for (k, v) in entries {
        indent(out, level);
        out.push_str(&yaml_scalar(&GoValue::Str(k.clone()), level));
        out.push(':');
        match v {
            GoValue::Map(e) if !e.is_empty() => {
                out.push('\n');
                yaml_map(out, e, level + 2);
            }
            GoValue::List(l) if !l.is_empty() => {
                out.push('\n');
                yaml_list(out, l, level);
            }
            scalar => {
                out.push(' ');
                out.push_str(&yaml_scalar(scalar, level + 2));
                out.push('\n');
            }
        }
    }
}

fn yaml_list(out: &mut String, items: &[GoValue], level: usize) {
    for item in items {
        indent(out, level);
        out.push_str("- ");
        match item {
            GoValue::Map(e) if !e.is_empty() => {
                let mut inner = String::new();
                yaml_map(&mut inner, e, level + 2);
                // The first entry goes on the dash's line.
                out.push_str(inner.trim_start_matches(' '));
            }
            GoValue::List(l) if !l.is_empty() => {
                let mut inner = String::new();
                yaml_list(&mut inner, l, level + 2);
                out.push_str(inner.trim_start_matches(' '));
            }
            scalar => {
                out.push_str(&yaml_scalar(scalar, level + 2));
                out.push('\n');
            }
        }
    }
}

fn yaml_scalar(value: &GoValue, level: usize) -> String {
    match value {
        GoValue::Null => "null".into(),
        GoValue::Bool(b) => b.to_string(),
        GoValue::Int(i) => i.to_string(),
        GoValue::Float(f) => match f {
            f if f.is_nan() => ".nan".into(),
            f if f.is_infinite() && *f > 0.0 => ".inf".into(),
            f if f.is_infinite() => "-.inf".into(),
            f => go_float_g(*f),
        },
        GoValue::Str(s) => yaml_string(s, level),
        GoValue::Time(s) => s.clone(),
        GoValue::Map(_) => "{}".into(),
        GoValue::List(_) => "[]".into(),
    }
}

/// Whether yaml.v2 would read this plain text as something other than a string (YAML 1.1).
fn resolves_to_non_string(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF", "<<",
    ];
    if SPECIAL.contains(&s) || is_timestamp(s) {
        return true;
    }
    let t = s.replace('_', "");
    let t = t.strip_prefix(['+', '-']).unwrap_or(&t);
    if t.is_empty() {
        return false;
    }
    if let Some(hex) = t.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    if let Some(bin) = t.strip_prefix("0b") {
        return !bin.is_empty() && bin.chars().all(|c| c == '0' || c == '1');
    }
    if t.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    // Floats: digits with one dot and an optional exponent; base-60 (`1:20`) too.
    let (m, e) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mantissa_ok = m.chars().filter(|c| *c == '.').count() <= 1
        && m.chars().any(|c| c.is_ascii_digit())
        && m.chars().all(|c| c.is_ascii_digit() || c == '.');
    let exp_ok = e.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    if mantissa_ok && exp_ok && (m.contains('.') || e.is_some()) {
        return true;
    }
    t.contains(':')
        && t.split(':')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// yaml.v2's timestamp forms (`2006-1-2`, optionally followed by `T`, `t` or a space and a time).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize, min: usize, max: usize| -> Option<usize> {
        let n = b[from.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        (min..=max).contains(&n).then_some(from + n)
    };
    let Some(i) = digits(0, 4, 4) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    let Some(i) = digits(i + 1, 1, 2) else {
        return false;
    };
    if b.get(i) != Some(&b'-') {
        return false;
    }
    let Some(i) = digits(i + 1, 1, 2) else {
        return false;
    };
    match b.get(i) {
        None => true,
        Some(b'T' | b't' | b' ') => b.get(i + 1).is_some_and(u8::is_ascii_digit),
        _ => false,
    }
}

fn yaml_string(s: &str, level: usize) -> String {
    if s.contains('\n') && !s.chars().any(|c| c.is_control() && c != '\n') {
        return literal_block(s, level);
    }
    if resolves_to_non_string(s) {
        return double_quoted(s);
    }
    if plain_allowed(s) {
        return s.to_string();
    }
    if s.chars().any(|c| c.is_control()) {
        return double_quoted(s);
    }
    format!("'{}'", s.replace('\'', "''"))
}

/// libyaml's scalar analysis for block-context plain style.
fn plain_allowed(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.is_empty()
        || chars[0] == ' '
        || chars[chars.len() - 1] == ' '
        || chars.iter().any(|c| c.is_control())
    {
        return false;
    }
    let blank_after = |i: usize| chars.get(i + 1).is_none_or(|c| *c == ' ' || *c == '\t');
    for (i, c) in chars.iter().enumerate() {
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => return false,
                '?' | ':' | '-' if blank_after(i) => return false,
                _ => {}
            }
        } else {
            match c {
                ':' if blank_after(i) => return false,
                '#' if chars[i - 1] == ' ' || chars[i - 1] == '\t' => return false,
                _ => {}
            }
        }
    }
    true
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn literal_block(s: &str, level: usize) -> String {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let body = if trailing == 0 { s } else { &s[..s.len() - 1] };
    let indent_hint = if s.starts_with(' ') { "2" } else { "" };
    let mut out = format!("|{indent_hint}{chomp}");
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.extend(std::iter::repeat_n(' ', level.max(2)));
            out.push_str(line);
        }
    }
    out
}
