//! The layers Pebble holds and the plan they combine into: loading `$PEBBLE/layers/*.yaml` at
//! boot, and `POST /v1/layers` (append or combine by label), with Pebble's validation so a bad
//! layer leaves the plan unchanged.

use std::path::Path;
use std::sync::Mutex;

use pebble::{Layer, Plan};

/// One layer and its place in the stack.
#[derive(Debug, Clone)]
struct StoredLayer {
    order: u32,
    label: String,
    layer: Layer,
}

#[derive(Debug, Default)]
struct Stack {
    layers: Vec<StoredLayer>,
    plan: Plan,
}

/// Why a layer was refused (all are HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerError {
    /// The YAML or a rule of one layer: `cannot parse layer YAML: ...`.
    Parse(String),
    /// `combine: false` with a label already used.
    Exists(String),
    /// The combined plan breaks a rule (Pebble's FormatError text).
    Invalid(String),
}

impl std::fmt::Display for LayerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayerError::Parse(detail) => write!(f, "cannot parse layer YAML: {detail}"),
            LayerError::Exists(label) => write!(f, "layer {label:?} already exists"),
            LayerError::Invalid(message) => f.write_str(message),
        }
    }
}

/// The layer stack and combined plan, shared by the API, services and checks.
#[derive(Debug, Default)]
pub struct PlanStore {
    stack: Mutex<Stack>,
}

impl PlanStore {
    /// Loads `dir/*.yaml` (files named `NNN-label.yaml`, in order), as Pebble does at boot. A
    /// missing directory is an empty stack.
    pub fn load_dir(dir: &Path) -> Result<PlanStore, String> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(PlanStore::default());
            }
            Err(e) => return Err(format!("cannot read layers directory: {e}")),
        };
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read layers directory: {e}"))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() || !name.ends_with(".yaml") {
                continue;
            }
            let (order, label) = parse_layer_file_name(&name).ok_or_else(|| {
                format!("invalid layer filename: {name:?} (must look like \"123-some-label.yaml\")")
            })?;
            files.push((order, label, name, entry.path()));
        }
        files.sort();
        let mut stack = Stack::default();
        for (order, label, name, path) in files {
            if let Some(existing) = stack
                .layers
                .iter()
                .find(|l| l.order == order || l.label == label)
            {
                return Err(format!(
                    "invalid layer filename: {name:?} not unique (have \"{:03}-{}.yaml\" already)",
                    existing.order, existing.label
                ));
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read layer {name:?}: {e}"))?;
            let layer = parse_layer(&label, &text)
                .map_err(|e| format!("cannot parse layer {label:?}: {e}"))?;
            stack.layers.push(StoredLayer {
                order,
                label,
                layer,
            });
        }
        stack.plan = combine(&stack.layers).map_err(|e| e.to_string())?;
        Ok(PlanStore {
            stack: Mutex::new(stack),
        })
    }

    /// The combined plan.
    pub fn plan(&self) -> Plan {
        self.lock().plan.clone()
    }

    /// `POST /v1/layers` with `action: add`: appends the layer, or with `combine` merges it
    /// into the layer of the same label. Returns the new plan; on error nothing changes.
    pub fn add(&self, label: &str, yaml: &str, combine_layer: bool) -> Result<Plan, LayerError> {
        let layer = parse_layer(label, yaml).map_err(LayerError::Parse)?;
        let mut stack = self.lock();
        let mut layers = stack.layers.clone();
        match layers.iter_mut().find(|l| l.label == label) {
            Some(_) if !combine_layer => return Err(LayerError::Exists(label.to_owned())),
            Some(existing) => existing
                .layer
                .merge_from(label, &layer)
                .map_err(LayerError::Invalid)?,
            None => {
                let order = layers.last().map_or(1, |l| l.order + 1);
                layers.push(StoredLayer {
                    order,
                    label: label.to_owned(),
                    layer,
                });
            }
        }
        let plan = combine(&layers)?;
        stack.layers = layers;
        stack.plan = plan.clone();
        Ok(plan)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Stack> {
        self.stack.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn parse_layer(label: &str, yaml: &str) -> Result<Layer, String> {
    let layer = Layer::from_yaml(yaml)?;
    layer.validate(label)?;
    Ok(layer)
}

fn combine(layers: &[StoredLayer]) -> Result<Plan, LayerError> {
    let plan = Plan::combine(layers.iter().map(|l| (l.label.as_str(), &l.layer)))
        .map_err(LayerError::Invalid)?;
    plan.validate().map_err(LayerError::Invalid)?;
    Ok(plan)
}

/// `NNN-label.yaml` -> (NNN, label); labels are lowercase words joined by single dashes, at
/// least three characters, starting with a letter.
fn parse_layer_file_name(name: &str) -> Option<(u32, String)> {
    let stem = name.strip_suffix(".yaml")?;
    let (digits, label) = stem.split_at_checked(3)?;
    let label = label.strip_prefix('-')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) || label.len() < 3 {
        return None;
    }
    let bytes = label.as_bytes();
    if !bytes[0].is_ascii_lowercase() || label.ends_with('-') || label.contains("--") {
        return None;
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
    {
        return None;
    }
    Some((digits.parse().ok()?, label.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRV: &str = "services:\n  srv:\n    override: replace\n    command: sleep 10\n";

    #[test]
    fn file_names() {
        assert_eq!(
            parse_layer_file_name("001-base.yaml"),
            Some((1, "base".into()))
        );
        assert_eq!(
            parse_layer_file_name("010-my-app.yaml"),
            Some((10, "my-app".into()))
        );
        assert_eq!(parse_layer_file_name("1-base.yaml"), None);
        assert_eq!(parse_layer_file_name("001-ab.yaml"), None);
        assert_eq!(parse_layer_file_name("001-Base.yaml"), None);
    }

    #[test]
    fn append_combine_and_refuse() {
        let store = PlanStore::default();
        store.add("base", SRV, false).unwrap();
        assert_eq!(
            store.add("base", SRV, false),
            Err(LayerError::Exists("base".into()))
        );
        let merged = store
            .add(
                "base",
                "services:\n  srv:\n    override: merge\n    startup: enabled\n",
                true,
            )
            .unwrap();
        assert_eq!(merged.services["srv"].command, "sleep 10");
        let bad = store.add("other", "services:\n  x:\n    override: merge\n", false);
        assert_eq!(
            bad,
            Err(LayerError::Invalid(
                "plan must define \"command\" for service \"x\"".into()
            ))
        );
        assert!(!store.plan().services.contains_key("x"));
        let parse = store.add("p", "services: [", false).unwrap_err();
        assert!(parse.to_string().starts_with("cannot parse layer YAML: "));
    }
}
