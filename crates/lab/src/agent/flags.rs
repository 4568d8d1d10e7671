//! Argument parsing as Juju's hook tools do it: `github.com/juju/gnuflag` with interspersed
//! flags, under `juju/cmd` (usage errors exit 2, run-time errors exit 1, `ERROR <msg>` on stderr).
//!
//! Syntax: `--name=value`, `--name value`, `-n value`, `-nvalue`, clusters of one-letter boolean
//! flags (`-ab`), booleans with a value only in the long `=` form (`--app=False`), `--` ends the
//! flags, and `-` or any word not starting with `-` is a positional argument. Error texts (from
//! gnuflag, which Juju's own tests quote): `option provided but not defined: -x`,
//! `option needs an argument: --file`, `invalid value "x" for option -r: <reason>`.

use std::collections::BTreeMap;

use super::ToolAnswer;
use super::format::{Format, GoValue, go_quote, go_quote_list, render};

/// How a tool failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fail {
    /// A usage error (flags, arguments): `ERROR <msg>`, exit 2.
    Usage(String),
    /// A run-time error: `ERROR <msg>`, exit 1.
    Run(String),
    /// `--help` / `-h`: a usage line on stdout, exit 0.
    Help(String),
}

impl Fail {
    /// The answer the tool gives.
    pub(crate) fn answer(self) -> ToolAnswer {
        match self {
            Fail::Usage(m) => ToolAnswer::error(2, &m),
            Fail::Run(m) => ToolAnswer::error(1, &m),
            Fail::Help(m) => ToolAnswer::ok(m),
        }
    }
}

/// Shorthand for a run-time failure.
pub(crate) fn run_err<T>(msg: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Run(msg.into()))
}

/// Shorthand for a usage failure.
pub(crate) fn usage_err<T>(msg: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Usage(msg.into()))
}

/// Whether a flag takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A boolean (`--app`, `--app=false`).
    Bool,
    /// A flag with a value.
    Value,
}

/// One flag: its names (the first is the canonical one) and kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flag {
    /// Names without dashes; the first is the canonical name used for lookups.
    pub names: &'static [&'static str],
    /// Bool or value.
    pub kind: Kind,
}

/// `--format` (see [`Out`]).
pub(crate) const FORMAT: Flag = Flag {
    names: &["format"],
    kind: Kind::Value,
};
/// `-o` / `--output`: write the answer to a file.
pub(crate) const OUTPUT: Flag = Flag {
    names: &["o", "output"],
    kind: Kind::Value,
};
/// `-r` / `--relation`.
pub(crate) const RELATION: Flag = Flag {
    names: &["r", "relation"],
    kind: Kind::Value,
};

/// Parsed flags and positional arguments.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    values: BTreeMap<&'static str, String>,
    bools: BTreeMap<&'static str, bool>,
    /// Positional arguments, in order.
    pub args: Vec<String>,
}

impl Parsed {
    /// The last value given for a value flag (canonical name).
    pub(crate) fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A boolean flag (canonical name).
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.bools.get(name).copied().unwrap_or(false)
    }
}

/// A value check run as the flag is parsed (like a gnuflag `Value.Set`): `Err(reason)` becomes
/// `invalid value "<v>" for option <flag>: <reason>`.
pub(crate) type Check<'a> = &'a dyn Fn(&str, &str) -> Result<(), String>;

/// A check that accepts everything.
pub(crate) fn no_check(_: &str, _: &str) -> Result<(), String> {
    Ok(())
}

fn with_minus(name: &str) -> String {
    if name.chars().count() > 1 {
        format!("--{name}")
    } else {
        format!("-{name}")
    }
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Parse `args` against `flags` the gnuflag way, calling `check` on every value given.
pub(crate) fn parse(args: &[String], flags: &[Flag], check: Check<'_>) -> Result<Parsed, Fail> {
    let find = |name: &str| flags.iter().find(|f| f.names.contains(&name));
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "-" || !a.starts_with('-') {
            parsed.args.push(a.clone());
            continue;
        }
        if a == "--" {
            parsed.args.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let Some(flag) = find(name) else {
                return unknown(name);
            };
            let canonical = flag.names[0];
            match flag.kind {
                Kind::Bool => {
                    let v = match inline {
                        None => true,
                        Some(v) => parse_bool(v).ok_or_else(|| {
                            Fail::Usage(format!(
                                "invalid value {} for option {}: strconv.ParseBool: parsing {}: invalid syntax",
                                go_quote(v),
                                with_minus(name),
                                go_quote(v)
                            ))
                        })?,
                    };
                    parsed.bools.insert(canonical, v);
                }
                Kind::Value => {
                    let value = match inline {
                        Some(v) => v.to_string(),
                        None if i < args.len() => {
                            i += 1;
                            args[i - 1].clone()
                        }
                        None => {
                            return usage_err(format!(
                                "option needs an argument: {}",
                                with_minus(name)
                            ));
                        }
                    };
                    set_value(&mut parsed, canonical, name, value, check)?;
                }
            }
            continue;
        }
        // A cluster of one-letter flags.
        let cluster: Vec<char> = a[1..].chars().collect();
        let mut j = 0;
        while j < cluster.len() {
            let name = cluster[j].to_string();
            j += 1;
            let Some(flag) = find(&name) else {
                return unknown(&name);
            };
            let canonical = flag.names[0];
            match flag.kind {
                Kind::Bool => {
                    parsed.bools.insert(canonical, true);
                }
                Kind::Value => {
                    let value = if j < cluster.len() {
                        cluster[j..].iter().collect::<String>()
                    } else if i < args.len() {
                        i += 1;
                        args[i - 1].clone()
                    } else {
                        return usage_err(format!(
                            "option needs an argument: {}",
                            with_minus(&name)
                        ));
                    };
                    set_value(&mut parsed, canonical, &name, value, check)?;
                    break;
                }
            }
        }
    }
    Ok(parsed)
}

fn unknown(name: &str) -> Result<Parsed, Fail> {
    if name == "help" || name == "h" {
        return Err(Fail::Help("usage: see `juju help-tool`\n".into()));
    }
    usage_err(format!(
        "option provided but not defined: {}",
        with_minus(name)
    ))
}

fn set_value(
    parsed: &mut Parsed,
    canonical: &'static str,
    typed: &str,
    value: String,
    check: Check<'_>,
) -> Result<(), Fail> {
    if let Err(reason) = check(canonical, &value) {
        return usage_err(format!(
            "invalid value {} for option {}: {reason}",
            go_quote(&value),
            with_minus(typed)
        ));
    }
    parsed.values.insert(canonical, value);
    Ok(())
}

/// `cmd.CheckEmpty`: no arguments may be left.
pub(crate) fn check_empty(args: &[String]) -> Result<(), Fail> {
    if args.is_empty() {
        Ok(())
    } else {
        usage_err(format!("unrecognized args: {}", go_quote_list(args)))
    }
}

/// Go's `strconv.Atoi` on the text after the last `:` (Juju's relation-id flag).
pub(crate) fn relation_id_text(value: &str) -> Result<i64, String> {
    let trim = value.rsplit(':').next().unwrap_or(value);
    go_atoi(trim).ok_or_else(|| "invalid relation id".to_string())
}

/// Go's `strconv.Atoi`.
pub(crate) fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The output options every formatted tool takes: `--format` and `-o`/`--output`.
#[derive(Debug, Clone)]
pub(crate) struct Out {
    /// The format.
    pub format: Format,
    /// Where to write instead of stdout (relative to the caller's directory).
    pub path: Option<std::path::PathBuf>,
}

impl Out {
    /// From parsed flags, with the tool's default format.
    pub(crate) fn new(parsed: &Parsed, default: Format, cwd: &std::path::Path) -> Out {
        let format = parsed
            .value("format")
            .and_then(|f| Format::parse(f, &[Format::Smart, Format::Json, Format::Yaml]).ok())
            .unwrap_or(default);
        Out {
            format,
            path: parsed.value("o").map(|p| cwd.join(p)),
        }
    }

    /// Write `value`: to stdout, or to the `--output` file.
    pub(crate) fn write(&self, value: &GoValue) -> Result<ToolAnswer, Fail> {
        let bytes = render(self.format, value);
        match &self.path {
            None => Ok(ToolAnswer::ok(bytes)),
            Some(p) => match std::fs::write(p, &bytes) {
                Ok(()) => Ok(ToolAnswer::ok(Vec::new())),
                Err(e) => run_err(go_io_error("open", p, &e)),
            },
        }
    }
}

/// A `--format` check allowing `allowed`.
pub(crate) fn format_check(
    allowed: &'static [Format],
) -> impl Fn(&str, &str) -> Result<(), String> {
    move |name, value| {
        if name == "format" {
            Format::parse(value, allowed).map(|_| ())
        } else {
            Ok(())
        }
    }
}

/// Go's text for a failed file operation: `open /p: no such file or directory`.
pub(crate) fn go_io_error(op: &str, path: &std::path::Path, e: &std::io::Error) -> String {
    let reason = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "is a directory".to_string(),
        _ => e.to_string(),
    };
    format!("{op} {}: {reason}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &[Flag] = &[
        RELATION,
        Flag {
            names: &["app"],
            kind: Kind::Bool,
        },
        Flag {
            names: &["file"],
            kind: Kind::Value,
        },
        FORMAT,
    ];

    fn p(args: &[&str]) -> Result<Parsed, Fail> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse(&args, FLAGS, &no_check)
    }

    #[test]
    fn gnu_syntax() {
        let x = p(&["--format=json", "-r", "db:5", "k", "--app", "-", "u/0"]).unwrap();
        assert_eq!(x.value("format"), Some("json"));
        assert_eq!(x.value("r"), Some("db:5"));
        assert!(x.flag("app"));
        assert_eq!(x.args, ["k", "-", "u/0"]);
        let x = p(&["-r5", "--relation", "7", "--app=False", "--", "--file"]).unwrap();
        assert_eq!(x.value("r"), Some("7"));
        assert!(!x.flag("app"));
        assert_eq!(x.args, ["--file"]);
        assert_eq!(
            p(&["-x"]).unwrap_err(),
            Fail::Usage("option provided but not defined: -x".into())
        );
        assert_eq!(
            p(&["--nope=1"]).unwrap_err(),
            Fail::Usage("option provided but not defined: --nope".into())
        );
        assert_eq!(
            p(&["--file"]).unwrap_err(),
            Fail::Usage("option needs an argument: --file".into())
        );
        assert!(
            matches!(p(&["--app=maybe"]).unwrap_err(), Fail::Usage(m) if m.starts_with("invalid value \"maybe\" for option --app"))
        );
        assert!(matches!(p(&["--help"]).unwrap_err(), Fail::Help(_)));
    }

    #[test]
    fn atoi_like_go() {
        assert_eq!(relation_id_text("database:5"), Ok(5));
        assert_eq!(relation_id_text("+5"), Ok(5));
        assert!(relation_id_text("db:").is_err());
        assert!(relation_id_text(" 5").is_err());
    }
}
