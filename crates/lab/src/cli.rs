//! The `lab` commands, named after Juju's, executed against a [`Model`] by the controller.

use std::path::{Path, PathBuf};

use crate::controller::{Request, Response};
use crate::engine::Model;

/// When the controller answers a request.
pub enum Outcome {
    /// At once.
    Now(Response),
    /// Once the hooks the request caused have run.
    WhenIdle(Response),
    /// After tearing the model down.
    Destroy(Response),
}

/// Usage text.
pub const USAGE: &str = "\
usage: lab <command> [args]

  deploy <charm dir or .charm> [<app>] [-n N] [--config k=v ...]
  add-unit <app> [-n N]
  remove-unit <unit> ...
  integrate <app>[:<endpoint>] <app>[:<endpoint>]
  remove-relation <app>[:<endpoint>] <app>[:<endpoint>]
  config <app> [k=v ...] [--reset k[,k...]]
  run <unit> <action> [k=v ...]
  status [--format=json|tabular]
  refresh <app> --path <charm>
  ssh [--container <name>] <unit> [--] <command> ...
  debug-log [-n N]
  update-status [<unit>]
  set-leader <unit>
  restart-pod <unit>
  resolve <unit>
  wait
  destroy
  replay <charm-binary> [--unit A/N] [--leader|--follower] [events ...]

Commands that change the model return once the hooks they caused have run; add --no-wait to
return at once. The model lives in $LAB_DIR (default ./.lab).
";

/// Split `--flag value` / `--flag=value` options from positionals.
struct Args {
    positional: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse(raw: &[String], takes_value: &[&str]) -> Args {
        let mut positional = Vec::new();
        let mut flags = Vec::new();
        let mut it = raw.iter();
        while let Some(a) = it.next() {
            if a == "--" {
                positional.extend(it.by_ref().cloned());
                break;
            }
            if let Some(flag) = a
                .strip_prefix("--")
                .or_else(|| a.strip_prefix('-').filter(|f| f.len() == 1))
            {
                if let Some((k, v)) = flag.split_once('=') {
                    flags.push((k.to_string(), Some(v.to_string())));
                } else if takes_value.contains(&flag) {
                    flags.push((flag.to_string(), it.next().cloned()));
                } else {
                    flags.push((flag.to_string(), None));
                }
            } else {
                positional.push(a.clone());
            }
        }
        Args { positional, flags }
    }

    fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.flags
            .iter()
            .filter(|(k, _)| k == name)
            .filter_map(|(_, v)| v.clone())
            .collect()
    }

    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(k, _)| k == name)
    }
}

fn pairs(items: &[String]) -> Result<Vec<(String, String)>, String> {
    items
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("expected key=value, got {kv:?}"))
        })
        .collect()
}

fn resolve(cwd: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

fn changed(args: &Args, message: String) -> Outcome {
    if args.has("no-wait") {
        Outcome::Now(Response::ok(message))
    } else {
        Outcome::WhenIdle(Response::ok(message))
    }
}

/// Execute one request.
pub fn execute(model: &mut Model, request: &Request) -> Outcome {
    match run(model, request) {
        Ok(outcome) => outcome,
        Err(message) => Outcome::Now(Response::error(message)),
    }
}

fn run(model: &mut Model, request: &Request) -> Result<Outcome, String> {
    let (cmd, rest) = request
        .args
        .split_first()
        .ok_or_else(|| USAGE.to_string())?;
    let e = |err: crate::LabError| err.to_string();
    match cmd.as_str() {
        "deploy" => {
            let a = Args::parse(rest, &["n", "num-units", "config"]);
            let charm = a.positional.first().ok_or("deploy needs a charm")?;
            let n: u32 = a
                .flag("n")
                .or(a.flag("num-units"))
                .unwrap_or("1")
                .parse()
                .map_err(|_| "-n takes a number")?;
            let config = pairs(&a.all("config"))?;
            let app = model
                .deploy(
                    &resolve(&request.cwd, charm),
                    a.positional.get(1).map(String::as_str),
                    n,
                    &config,
                )
                .map_err(e)?;
            Ok(changed(
                &a,
                format!("Deployed \"{app}\" from local charm\n"),
            ))
        }
        "add-unit" => {
            let a = Args::parse(rest, &["n", "num-units"]);
            let app = a
                .positional
                .first()
                .ok_or("add-unit needs an application")?;
            let n: u32 = a
                .flag("n")
                .or(a.flag("num-units"))
                .unwrap_or("1")
                .parse()
                .map_err(|_| "-n takes a number")?;
            let units = model.add_unit(app, n).map_err(e)?;
            Ok(changed(&a, format!("Added {}\n", units.join(", "))))
        }
        "remove-unit" => {
            let a = Args::parse(rest, &[]);
            if a.positional.is_empty() {
                return Err("remove-unit needs a unit".into());
            }
            for u in &a.positional {
                model.remove_unit(u).map_err(e)?;
            }
            Ok(changed(
                &a,
                format!("will remove {}\n", a.positional.join(" ")),
            ))
        }
        "integrate" | "relate" => {
            let a = Args::parse(rest, &[]);
            let [x, y] = a.positional.as_slice() else {
                return Err("integrate needs two applications".into());
            };
            model.integrate(x, y).map_err(e)?;
            Ok(changed(&a, String::new()))
        }
        "remove-relation" => {
            let a = Args::parse(rest, &[]);
            let id = match a.positional.as_slice() {
                [id] => id
                    .parse()
                    .map_err(|_| "remove-relation needs two applications or an id")?,
                [x, y] => model.find_relation(x, y).map_err(e)?,
                _ => return Err("remove-relation needs two applications or an id".into()),
            };
            model.remove_relation(id).map_err(e)?;
            Ok(changed(&a, String::new()))
        }
        "config" => {
            let a = Args::parse(rest, &["reset"]);
            let app = a.positional.first().ok_or("config needs an application")?;
            let sets: Vec<String> = a.positional[1..]
                .iter()
                .filter(|p| p.contains('='))
                .cloned()
                .collect();
            let gets: Vec<&String> = a.positional[1..]
                .iter()
                .filter(|p| !p.contains('='))
                .collect();
            let resets: Vec<String> = a
                .all("reset")
                .iter()
                .flat_map(|r| r.split(',').map(str::to_string).collect::<Vec<_>>())
                .collect();
            if sets.is_empty() && resets.is_empty() {
                let values = model
                    .config_values(app)
                    .ok_or_else(|| format!("application \"{app}\" not found"))?;
                let text = match gets.as_slice() {
                    [] => serde_yaml::to_string(&values).unwrap_or_default(),
                    [key] => match values.get(key.as_str()) {
                        Some(serde_json::Value::String(s)) => format!("{s}\n"),
                        Some(v) => format!("{v}\n"),
                        None => "\n".into(),
                    },
                    _ => return Err("config takes one key to show".into()),
                };
                return Ok(Outcome::Now(Response::ok(text)));
            }
            model.config(app, &pairs(&sets)?, &resets).map_err(e)?;
            Ok(changed(&a, String::new()))
        }
        "run" => {
            let a = Args::parse(rest, &["format"]);
            let [unit, action, params @ ..] = a.positional.as_slice() else {
                return Err("run needs a unit and an action".into());
            };
            let mut map = serde_json::Map::new();
            for (k, v) in pairs(params)? {
                let value: serde_json::Value =
                    serde_yaml::from_str(&v).unwrap_or(serde_json::Value::String(v.clone()));
                insert_dotted(&mut map, &k, value);
            }
            let record = model.run_action(unit, action, map).map_err(e)?;
            let run = record.action.clone().unwrap_or_default();
            let failure = match (&run.failed, record.code) {
                (Some(m), _) => Some(if m.is_empty() {
                    "action failed without a message".to_string()
                } else {
                    m.clone()
                }),
                (None, 0) => None,
                (None, code) => Some(format!("exit status {code}")),
            };
            let text = crate::agent::render_action_output(&run, unit, failure.as_deref());
            Ok(Outcome::Now(Response {
                code: i32::from(failure.is_some()),
                stdout: text,
                ..Response::default()
            }))
        }
        "status" => {
            let a = Args::parse(rest, &["format"]);
            let state = model.state();
            let text = match a.flag("format") {
                Some("json") => {
                    serde_json::to_string(&crate::status::to_json(&state)).unwrap_or_default()
                        + "\n"
                }
                Some("yaml") => {
                    serde_yaml::to_string(&crate::status::to_json(&state)).unwrap_or_default()
                }
                _ => crate::status::render(&state),
            };
            Ok(Outcome::Now(Response::ok(text)))
        }
        "refresh" => {
            let a = Args::parse(rest, &["path"]);
            let app = a.positional.first().ok_or("refresh needs an application")?;
            let path = a.flag("path").ok_or("refresh needs --path <charm>")?;
            model
                .refresh(app, &resolve(&request.cwd, path))
                .map_err(e)?;
            Ok(changed(
                &a,
                format!("Added local charm \"{app}\" to the model\n"),
            ))
        }
        "ssh" => {
            let a = Args::parse(rest, &["container"]);
            let [unit, command @ ..] = a.positional.as_slice() else {
                return Err("ssh needs a unit".into());
            };
            let command: Vec<String> = if command.is_empty() {
                vec!["sh".into()]
            } else {
                command.to_vec()
            };
            // The charm's and the workload's containers share the pod's root in the lab, so
            // --container only documents intent.
            let _ = a.flag("container");
            let mut exec = Vec::new();
            if let Some(pid) = model.pod_pid(unit).map_err(e)? {
                exec.extend(
                    [
                        "nsenter",
                        "-t",
                        &pid.to_string(),
                        "-m",
                        "-n",
                        "-r",
                        "--wdns=/",
                        "--",
                    ]
                    .map(str::to_string),
                );
            }
            exec.extend(command);
            Ok(Outcome::Now(Response {
                exec: Some(exec),
                ..Response::default()
            }))
        }
        "debug-log" => {
            let a = Args::parse(rest, &["n", "lines"]);
            let state = model.state();
            let n: usize = a
                .flag("n")
                .or(a.flag("lines"))
                .and_then(|v| v.parse().ok())
                .unwrap_or(usize::MAX);
            let skip = state.log.len().saturating_sub(n);
            let text: String = state.log[skip..]
                .iter()
                .map(|l| {
                    format!(
                        "unit-{}: {} {} {}\n",
                        l.unit.replace('/', "-"),
                        l.time.get(11..19).unwrap_or(""),
                        l.level,
                        l.message
                    )
                })
                .collect();
            Ok(Outcome::Now(Response::ok(text)))
        }
        "update-status" => {
            let a = Args::parse(rest, &[]);
            model.update_status(a.positional.first().map(String::as_str));
            Ok(changed(&a, String::new()))
        }
        "set-leader" => {
            let a = Args::parse(rest, &[]);
            let unit = a.positional.first().ok_or("set-leader needs a unit")?;
            model.set_leader(unit).map_err(e)?;
            Ok(changed(&a, String::new()))
        }
        "restart-pod" => {
            let a = Args::parse(rest, &[]);
            let unit = a.positional.first().ok_or("restart-pod needs a unit")?;
            model.restart_pod(unit);
            Ok(changed(&a, String::new()))
        }
        "resolve" | "resolved" => {
            let a = Args::parse(rest, &[]);
            let unit = a.positional.first().ok_or("resolve needs a unit")?;
            model.resolve(unit);
            Ok(changed(&a, String::new()))
        }
        "wait" => Ok(Outcome::WhenIdle(Response::default())),
        "destroy" | "destroy-model" => Ok(Outcome::Destroy(Response::ok("Model destroyed.\n"))),
        "help" | "--help" | "-h" => Ok(Outcome::Now(Response::ok(USAGE))),
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

/// `a.b=1` → `{"a": {"b": 1}}`, as `juju run` nests dotted parameter keys.
fn insert_dotted(
    map: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    value: serde_json::Value,
) {
    match key.split_once('.') {
        None => {
            map.insert(key.to_string(), value);
        }
        Some((head, tail)) => {
            let entry = map
                .entry(head.to_string())
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
            if !entry.is_object() {
                *entry = serde_json::Value::Object(Default::default());
            }
            if let Some(inner) = entry.as_object_mut() {
                insert_dotted(inner, tail, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags_like_juju() {
        let raw: Vec<String> = [
            "./c",
            "pg",
            "-n",
            "3",
            "--config",
            "a=b",
            "--config=c=d",
            "--no-wait",
            "--",
            "-x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a = Args::parse(&raw, &["n", "config"]);
        assert_eq!(a.positional, ["./c", "pg", "-x"]);
        assert_eq!(a.flag("n"), Some("3"));
        assert_eq!(a.all("config"), ["a=b", "c=d"]);
        assert!(a.has("no-wait"));
    }

    #[test]
    fn dotted_parameters_nest() {
        let mut map = serde_json::Map::new();
        insert_dotted(&mut map, "a.b", serde_json::json!(1));
        insert_dotted(&mut map, "a.c", serde_json::json!("x"));
        insert_dotted(&mut map, "d", serde_json::json!(true));
        assert_eq!(
            serde_json::Value::Object(map),
            serde_json::json!({"a": {"b": 1, "c": "x"}, "d": true})
        );
    }
}
