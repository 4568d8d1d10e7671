//! Metric names in PromQL expressions, for the tests that check alert rules and dashboards
//! against what the exporter and Patroni really expose.

#![allow(dead_code)] // each test file uses a different part

use std::collections::BTreeSet;

/// Words in expressions that look like metric names but are PromQL's: aggregations and functions
/// written with a space before their parenthesis, operators and modifiers.
const PROMQL_WORDS: &[&str] = &[
    "and",
    "avg",
    "bool",
    "by",
    "count",
    "group_left",
    "group_right",
    "ignoring",
    "max",
    "min",
    "offset",
    "on",
    "or",
    "sum",
    "unless",
    "without",
];

/// Modifiers followed by a list of label names (not metrics) in parentheses.
const LABEL_LIST_WORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// `expr` without its string literals and the contents of `{...}` (label matchers) and `[...]`
/// (ranges), keeping the brackets.
fn strip_strings_and_matchers(expr: &str) -> String {
    let mut out = String::new();
    let mut chars = expr.chars();
    let mut depth = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                while let Some(d) = chars.next() {
                    if d == '\\' && c != '`' {
                        chars.next();
                    } else if d == c {
                        break;
                    }
                }
            }
            '{' | '[' => {
                if depth == 0 {
                    out.push(c);
                }
                depth += 1;
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    out.push(c);
                }
            }
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The names in `expr` that look like metric names: identifiers followed by `{`, `[`,
/// whitespace, `)` or the end, that are no PromQL word, no number and no label name of a
/// `by (...)`-style list.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let text: Vec<char> = strip_strings_and_matchers(expr).chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if c.is_ascii_digit() || c == '.' {
            // A number (0.8, 1e6, 16777216) or a duration (10m).
            while i < text.len() && (is_name_char(text[i]) || text[i] == '.') {
                i += 1;
            }
            continue;
        }
        if !is_name_start(c) {
            i += 1;
            continue;
        }
        let start = i;
        while i < text.len() && is_name_char(text[i]) {
            i += 1;
        }
        let word: String = text[start..i].iter().collect();
        if LABEL_LIST_WORDS.contains(&word.as_str()) {
            let mut j = i;
            while j < text.len() && text[j].is_whitespace() {
                j += 1;
            }
            if j < text.len() && text[j] == '(' {
                while j < text.len() && text[j] != ')' {
                    j += 1;
                }
                i = j + 1;
            }
            continue;
        }
        let next = text.get(i).copied();
        let metric_like = match next {
            None => true,
            Some(n) => n == '{' || n == '[' || n == ')' || n.is_whitespace(),
        };
        if metric_like && !PROMQL_WORDS.contains(&word.as_str()) {
            names.insert(word);
        }
    }
    names
}
