//! `cargo xtask pack`: build the charm binary and write the `.charm` file.
//!
//! The pure parts (which platform, which file name, which cargo artifact) are plain functions;
//! [`pack`] reads the project files, runs cargo through [`run_cargo_build`] (the one place this
//! crate spawns a process) and writes the archive.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result, anyhow, bail};

use crate::archive::{CharmFiles, charm_entries, write_zip};
use crate::manifest::{Base, CHARMCRAFT_VERSION, manifest_yaml, started_at};

/// Name of the charm's binary target in the root package.
pub const BINARY_NAME: &str = "postgresql-k8s";

/// Cargo profile the charm binary is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `--profile release`: what charmcraft's rust plugin builds (`cargo install` defaults to it).
    Release,
    /// `--profile dev`: faster to build, for local experiments.
    Dev,
}

impl Profile {
    /// Parses the `--profile` argument.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "release" => Ok(Self::Release),
            "dev" => Ok(Self::Dev),
            other => bail!("unknown profile {other:?}: use release or dev"),
        }
    }

    /// The name cargo knows the profile by.
    pub fn cargo_name(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Dev => "dev",
        }
    }
}

/// Everything `pack` needs to know; [`PackOptions::new`] gives the defaults of the command line.
#[derive(Debug, Clone)]
pub struct PackOptions {
    /// Workspace root: where charmcraft.yaml, metadata.yaml and friends live.
    pub project_dir: PathBuf,
    /// Directory the `.charm` file is written to.
    pub out_dir: PathBuf,
    /// Profile used when building the binary.
    pub profile: Profile,
    /// Use this file as the charm binary instead of building one (tests, prebuilt binaries).
    pub binary: Option<PathBuf>,
    /// Juju architecture name of the binary (`amd64`, `arm64`); must be one of charmcraft.yaml's
    /// platforms.
    pub architecture: String,
    /// Build time recorded in `manifest.yaml`.
    pub started_at: SystemTime,
}

impl PackOptions {
    /// Defaults: write into the project directory, release build, host architecture, now.
    pub fn new(project_dir: PathBuf) -> Self {
        Self {
            out_dir: project_dir.clone(),
            project_dir,
            profile: Profile::Release,
            binary: None,
            architecture: host_architecture().to_owned(),
            started_at: SystemTime::now(),
        }
    }
}

/// Juju's name for the architecture this program was compiled for (which is the one cargo
/// builds the charm for, as we never cross-compile).
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64el",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// A platform of charmcraft.yaml chosen for one pack: its label and the base it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// The key under `platforms:`, e.g. `ubuntu@22.04:amd64`.
    pub label: String,
    /// The run-on base recorded in the manifest.
    pub base: Base,
}

/// Finds the charmcraft.yaml platform that builds for `architecture`.
///
/// Supports the two forms our charmcraft.yaml may use: the shorthand key `<base>:<arch>` with an
/// empty value, and a named platform with `build-for: [<base>:<arch>]`.
pub fn platform_for(charmcraft_yaml: &str, architecture: &str) -> Result<Platform> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(charmcraft_yaml).context("charmcraft.yaml is not valid YAML")?;
    let platforms = doc
        .get("platforms")
        .and_then(serde_yaml::Value::as_mapping)
        .ok_or_else(|| anyhow!("charmcraft.yaml has no platforms mapping"))?;
    for (key, value) in platforms {
        let Some(label) = key.as_str() else { continue };
        let build_for = match value
            .get("build-for")
            .and_then(serde_yaml::Value::as_sequence)
        {
            Some(list) => list.iter().filter_map(serde_yaml::Value::as_str).collect(),
            None => vec![label],
        };
        for target in build_for {
            let Some((base, arch)) = target.split_once(':') else {
                continue;
            };
            if arch != architecture {
                continue;
            }
            let (name, channel) = base
                .split_once('@')
                .ok_or_else(|| anyhow!("platform {target:?}: base is not <name>@<channel>"))?;
            return Ok(Platform {
                label: label.to_owned(),
                base: Base {
                    name: name.to_owned(),
                    channel: channel.to_owned(),
                    architecture: arch.to_owned(),
                },
            });
        }
    }
    bail!("charmcraft.yaml has no platform that builds for {architecture}")
}

/// The file name charmcraft 4 gives a packed charm: `<name>_<platform label>.charm`, with the
/// label's `:` replaced by `-` (e.g. `postgresql-k8s_ubuntu@22.04-amd64.charm`).
pub fn charm_file_name(charm_name: &str, platform_label: &str) -> String {
    format!("{charm_name}_{}.charm", platform_label.replace(':', "-"))
}

/// Reads the charm's `name` from metadata.yaml.
pub fn charm_name(metadata_yaml: &str) -> Result<String> {
    let doc: serde_yaml::Value =
        serde_yaml::from_str(metadata_yaml).context("metadata.yaml is not valid YAML")?;
    doc.get("name")
        .and_then(serde_yaml::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("metadata.yaml has no name"))
}

/// Finds the path of the `bin` executable in `cargo build --message-format=json` output.
pub fn executable_from_cargo_messages(stdout: &str, bin: &str) -> Option<PathBuf> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == bin)
        .filter_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .next_back()
}

/// Builds (or takes) the binary and writes the `.charm` file; returns its path.
pub fn pack(options: &PackOptions) -> Result<PathBuf> {
    let dir = &options.project_dir;
    let read = |name: &str| -> Result<Vec<u8>> {
        fs::read(dir.join(name)).with_context(|| format!("reading {}", dir.join(name).display()))
    };
    let optional = |name: &str| -> Option<Vec<u8>> { fs::read(dir.join(name)).ok() };

    let metadata = read("metadata.yaml")?;
    let charmcraft = read("charmcraft.yaml")?;
    let name = charm_name(&String::from_utf8_lossy(&metadata))?;
    let platform = platform_for(&String::from_utf8_lossy(&charmcraft), &options.architecture)?;

    let binary_path = match &options.binary {
        Some(path) => path.clone(),
        None => build_binary(dir, options.profile)?,
    };
    let binary = fs::read(&binary_path)
        .with_context(|| format!("reading the charm binary {}", binary_path.display()))?;

    let files = CharmFiles {
        metadata,
        config: read("config.yaml")?,
        actions: read("actions.yaml")?,
        dispatch: read("dispatch")?,
        binary,
        manifest: manifest_yaml(
            CHARMCRAFT_VERSION,
            &started_at(options.started_at),
            &platform.base,
        ),
        readme: optional("README.md"),
        license: optional("LICENSE"),
    };

    fs::create_dir_all(&options.out_dir)
        .with_context(|| format!("creating {}", options.out_dir.display()))?;
    let out_path = options
        .out_dir
        .join(charm_file_name(&name, &platform.label));
    let file =
        fs::File::create(&out_path).with_context(|| format!("creating {}", out_path.display()))?;
    write_zip(&charm_entries(&files), file)?;
    Ok(out_path)
}

/// Builds the charm binary with cargo and returns the path of the executable.
fn build_binary(project_dir: &Path, profile: Profile) -> Result<PathBuf> {
    let stdout = run_cargo_build(project_dir, profile)?;
    executable_from_cargo_messages(&stdout, BINARY_NAME)
        .ok_or_else(|| anyhow!("cargo build did not report the {BINARY_NAME} executable"))
}

/// Runs `cargo build --profile <p> --bin postgresql-k8s --message-format=json` in the project
/// and returns its standard output (cargo's progress and errors go straight to the terminal).
// The one place xtask touches the outside world beyond files: it reads `CARGO` (the cargo that
// runs `cargo xtask`, so the same toolchain builds the charm) and spawns that cargo. The workspace
// clippy.toml forbids both elsewhere.
#[allow(clippy::disallowed_methods)]
fn run_cargo_build(project_dir: &Path, profile: Profile) -> Result<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .current_dir(project_dir)
        .args([
            "build",
            "--locked",
            "--message-format=json-render-diagnostics",
        ])
        .args(["--profile", profile.cargo_name(), "--bin", BINARY_NAME])
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo build")?;
    if !output.status.success() {
        bail!("cargo build failed ({})", output.status);
    }
    String::from_utf8(output.stdout).context("cargo build printed non-UTF-8 output")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHARMCRAFT: &str =
        "type: charm\nplatforms:\n  ubuntu@22.04:amd64:\n  ubuntu@22.04:arm64:\n";

    #[test]
    fn platform_from_shorthand_keys() -> Result<()> {
        let p = platform_for(CHARMCRAFT, "arm64")?;
        assert_eq!(p.label, "ubuntu@22.04:arm64");
        assert_eq!(
            p.base,
            Base {
                name: "ubuntu".into(),
                channel: "22.04".into(),
                architecture: "arm64".into()
            }
        );
        assert!(platform_for(CHARMCRAFT, "s390x").is_err());
        Ok(())
    }

    #[test]
    fn platform_from_build_for() -> Result<()> {
        let yaml = "platforms:\n  jammy:\n    build-on: [ubuntu@22.04:amd64]\n    build-for: [ubuntu@22.04:amd64]\n";
        let p = platform_for(yaml, "amd64")?;
        assert_eq!(p.label, "jammy");
        assert_eq!(p.base.channel, "22.04");
        Ok(())
    }

    #[test]
    fn file_name_like_charmcraft() {
        assert_eq!(
            charm_file_name("postgresql-k8s", "ubuntu@22.04:amd64"),
            "postgresql-k8s_ubuntu@22.04-amd64.charm"
        );
    }

    #[test]
    fn finds_the_executable_in_cargo_messages() {
        let stdout = concat!(
            r#"{"reason":"compiler-artifact","target":{"name":"juju","kind":["lib"]},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"name":"postgresql-k8s","kind":["bin"]},"executable":"/t/release/postgresql-k8s"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\n"
        );
        assert_eq!(
            executable_from_cargo_messages(stdout, "postgresql-k8s"),
            Some(PathBuf::from("/t/release/postgresql-k8s"))
        );
        assert_eq!(executable_from_cargo_messages(stdout, "other"), None);
    }

    #[test]
    fn profile_names() -> Result<()> {
        assert_eq!(Profile::parse("dev")?.cargo_name(), "dev");
        assert_eq!(Profile::parse("release")?.cargo_name(), "release");
        assert!(Profile::parse("bench").is_err());
        Ok(())
    }
}
