//! A charm as the lab sees it: its directory and its parsed interface (metadata, config options,
//! actions), from `metadata.yaml`/`config.yaml`/`actions.yaml` or a unified `charmcraft.yaml`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{LabError, Result};

/// A charm ready to run: an unpacked directory with `dispatch` and its interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Charm {
    /// The unpacked charm directory (holds `dispatch`).
    pub dir: PathBuf,
    /// metadata.yaml.
    pub meta: Metadata,
    /// config.yaml options.
    pub config: BTreeMap<String, ConfigOption>,
    /// actions.yaml.
    pub actions: BTreeMap<String, ActionSpec>,
}

/// The parts of metadata.yaml the lab uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Charm name.
    pub name: String,
    /// Workload containers.
    #[serde(default)]
    pub containers: BTreeMap<String, Container>,
    /// Storage.
    #[serde(default)]
    pub storage: BTreeMap<String, Storage>,
    /// Peer endpoints.
    #[serde(default)]
    pub peers: BTreeMap<String, Endpoint>,
    /// Provided endpoints.
    #[serde(default)]
    pub provides: BTreeMap<String, Endpoint>,
    /// Required endpoints.
    #[serde(default)]
    pub requires: BTreeMap<String, Endpoint>,
}

/// A workload container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Container {
    /// OCI image resource.
    #[serde(default)]
    pub resource: Option<String>,
    /// Storage mounted into the container.
    #[serde(default)]
    pub mounts: Vec<Mount>,
}

/// A storage mount of a container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mount {
    /// Storage name.
    pub storage: String,
    /// Mount point in the container.
    pub location: String,
}

/// A storage declaration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Storage {
    /// `filesystem` or `block`.
    #[serde(rename = "type", default = "filesystem")]
    pub kind: String,
    /// Mount point in the charm container.
    #[serde(default)]
    pub location: Option<String>,
}

fn filesystem() -> String {
    "filesystem".to_string()
}

/// A relation endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Interface name.
    pub interface: String,
    /// Maximum number of relations (none: unlimited).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Whether the charm works without it.
    #[serde(default)]
    pub optional: bool,
    /// `global` (default) or `container`.
    #[serde(default)]
    pub scope: Option<String>,
}

/// The side of a relation an endpoint is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Peer relation (units of one application).
    Peer,
    /// Provides side.
    Provider,
    /// Requires side.
    Requirer,
}

/// A config option's declared type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigType {
    /// `string`
    String,
    /// `int`
    Int,
    /// `float`
    Float,
    /// `boolean`
    Boolean,
    /// `secret` (a secret URI)
    Secret,
}

/// One config option.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigOption {
    /// Declared type.
    #[serde(rename = "type")]
    pub kind: ConfigType,
    /// Default value, typed as declared (none: unset until the operator sets it).
    #[serde(default)]
    pub default: Option<serde_json::Value>,
    /// Operator-facing description.
    #[serde(default)]
    pub description: String,
}

/// One action: its parameters as a JSON-schema object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionSpec {
    /// Operator-facing description.
    #[serde(default)]
    pub description: String,
    /// Parameter name → JSON-schema of the parameter (`type`, `default`, `enum`, ...).
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Parameters that must be given.
    #[serde(default)]
    pub required: Vec<String>,
    /// Whether parameters not in `params` are accepted (Juju's default: true).
    #[serde(rename = "additionalProperties", default = "yes")]
    pub additional_properties: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    options: BTreeMap<String, ConfigOption>,
}

impl Charm {
    /// Load an unpacked charm directory.
    pub fn load(dir: &Path) -> Result<Charm> {
        let dir = dir
            .canonicalize()
            .map_err(|e| LabError::Charm(format!("{}: {e}", dir.display())))?;
        let read = |name: &str| -> Result<Option<String>> {
            match fs::read_to_string(dir.join(name)) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(LabError::Charm(format!("{name}: {e}"))),
            }
        };
        let yaml = |name: &str, text: &str| -> Result<serde_yaml::Value> {
            serde_yaml::from_str(text).map_err(|e| LabError::Charm(format!("{name}: {e}")))
        };
        let unified = match read("charmcraft.yaml")? {
            Some(text) => Some(yaml("charmcraft.yaml", &text)?),
            None => None,
        };
        let from_unified = |key: &str| {
            unified
                .as_ref()
                .and_then(|u| u.get(key).cloned())
                .filter(|v| !v.is_null())
        };
        let meta_value = match read("metadata.yaml")? {
            Some(text) => yaml("metadata.yaml", &text)?,
            None => unified
                .clone()
                .ok_or_else(|| LabError::Charm("no metadata.yaml or charmcraft.yaml".into()))?,
        };
        let meta: Metadata = serde_yaml::from_value(meta_value)
            .map_err(|e| LabError::Charm(format!("metadata: {e}")))?;
        let config = match read("config.yaml")? {
            Some(text) => {
                let file: ConfigFile = serde_yaml::from_str(&text)
                    .map_err(|e| LabError::Charm(format!("config.yaml: {e}")))?;
                file.options
            }
            None => match from_unified("config") {
                Some(v) => {
                    let file: ConfigFile = serde_yaml::from_value(v)
                        .map_err(|e| LabError::Charm(format!("config: {e}")))?;
                    file.options
                }
                None => BTreeMap::new(),
            },
        };
        let actions = match read("actions.yaml")? {
            Some(text) => serde_yaml::from_str::<Option<BTreeMap<String, ActionSpec>>>(&text)
                .map_err(|e| LabError::Charm(format!("actions.yaml: {e}")))?
                .unwrap_or_default(),
            None => match from_unified("actions") {
                Some(v) => serde_yaml::from_value(v)
                    .map_err(|e| LabError::Charm(format!("actions: {e}")))?,
                None => BTreeMap::new(),
            },
        };
        if !dir.join("dispatch").exists() {
            return Err(LabError::Charm(format!(
                "{}: no dispatch script; is this a packed or built charm?",
                dir.display()
            )));
        }
        Ok(Charm {
            dir,
            meta,
            config,
            actions,
        })
    }

    /// The endpoint called `name`, with its role.
    pub fn endpoint(&self, name: &str) -> Option<(Role, &Endpoint)> {
        self.meta
            .peers
            .get(name)
            .map(|e| (Role::Peer, e))
            .or_else(|| self.meta.provides.get(name).map(|e| (Role::Provider, e)))
            .or_else(|| self.meta.requires.get(name).map(|e| (Role::Requirer, e)))
    }

    /// Every endpoint with its role.
    pub fn endpoints(&self) -> impl Iterator<Item = (&String, Role, &Endpoint)> {
        self.meta
            .peers
            .iter()
            .map(|(n, e)| (n, Role::Peer, e))
            .chain(
                self.meta
                    .provides
                    .iter()
                    .map(|(n, e)| (n, Role::Provider, e)),
            )
            .chain(
                self.meta
                    .requires
                    .iter()
                    .map(|(n, e)| (n, Role::Requirer, e)),
            )
    }

    /// The default config: every option with a default, typed as declared.
    pub fn default_config(&self) -> BTreeMap<String, serde_json::Value> {
        self.config
            .iter()
            .filter_map(|(k, o)| {
                o.default
                    .clone()
                    .filter(|v| !v.is_null())
                    .map(|v| (k.clone(), v))
            })
            .collect()
    }
}

/// Make an unpacked charm directory at `dir` from a source tree: `files` copied from `source`
/// (metadata, config, actions, dispatch...) and `bin/<file name of binary>` linked to a built
/// binary, which is what `dispatch` runs. For tests and tools that deploy a charm they just built.
pub fn assemble(dir: &Path, source: &Path, files: &[&str], binary: &Path) -> Result<PathBuf> {
    let io = |what: &str| LabError::io(format!("assembling {}: {what}", dir.display()));
    fs::create_dir_all(dir.join("bin")).map_err(io("bin"))?;
    for f in files {
        fs::copy(source.join(f), dir.join(f)).map_err(io(f))?;
    }
    let name = binary
        .file_name()
        .ok_or_else(|| LabError::Charm(format!("{} is not a file", binary.display())))?;
    let link = dir.join("bin").join(name);
    let _ = fs::remove_file(&link);
    std::os::unix::fs::symlink(binary, &link).map_err(io("the binary link"))?;
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_split_layout() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("metadata.yaml"),
            "name: demo\ncontainers:\n  app:\n    resource: img\n    mounts:\n      - storage: data\n        location: /data\nstorage:\n  data:\n    type: filesystem\n    location: /data\npeers:\n  cluster:\n    interface: demo_peers\nrequires:\n  db:\n    interface: pgsql\n    limit: 1\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("config.yaml"),
            "options:\n  port:\n    type: int\n    default: 80\n  name:\n    type: string\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("actions.yaml"),
            "hello:\n  params:\n    who:\n      type: string\n      default: world\n  additionalProperties: false\n",
        )
        .unwrap();
        fs::write(dir.path().join("dispatch"), "#!/bin/sh\n").unwrap();
        let charm = Charm::load(dir.path()).unwrap();
        assert_eq!(charm.meta.name, "demo");
        assert_eq!(charm.meta.containers["app"].mounts[0].location, "/data");
        assert_eq!(charm.endpoint("db").unwrap().0, Role::Requirer);
        assert_eq!(charm.endpoint("cluster").unwrap().0, Role::Peer);
        assert_eq!(
            charm.default_config(),
            [("port".to_string(), serde_json::json!(80))].into()
        );
        assert!(!charm.actions["hello"].additional_properties);
    }

    #[test]
    fn loads_a_unified_charmcraft_yaml_and_needs_dispatch() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("charmcraft.yaml"),
            "name: uni\ntype: charm\nrequires:\n  x:\n    interface: y\nconfig:\n  options:\n    flag:\n      type: boolean\n      default: true\nactions:\n  go: {}\n",
        )
        .unwrap();
        assert!(Charm::load(dir.path()).is_err(), "no dispatch");
        fs::write(dir.path().join("dispatch"), "#!/bin/sh\n").unwrap();
        let charm = Charm::load(dir.path()).unwrap();
        assert_eq!(charm.meta.name, "uni");
        assert_eq!(charm.config["flag"].kind, ConfigType::Boolean);
        assert!(charm.actions.contains_key("go"));
    }
}
