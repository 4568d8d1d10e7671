//! Packs the real project files (with a stand-in binary, to avoid a release build) and checks the
//! `.charm` the way Juju and charmcraft's tooling would read it.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result};
use xtask::pack::{PackOptions, pack};

fn project_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Packs into `out` with a fake binary and a fixed build time.
fn pack_into(out: &Path, binary_bytes: &[u8]) -> Result<PathBuf> {
    let binary = out.join("fake-binary");
    fs::write(&binary, binary_bytes)?;
    let mut options = PackOptions::new(project_dir());
    options.out_dir = out.join("charm");
    options.binary = Some(binary);
    options.architecture = "amd64".into();
    options.started_at = UNIX_EPOCH + Duration::new(1_767_323_045, 678_901_000);
    pack(&options)
}

fn read_entry(archive: &mut zip::ZipArchive<fs::File>, name: &str) -> Result<(Vec<u8>, u32)> {
    let mut file = archive
        .by_name(name)
        .with_context(|| format!("{name} missing from the charm"))?;
    let mode = file
        .unix_mode()
        .with_context(|| format!("{name} has no unix mode"))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok((bytes, mode))
}

#[test]
fn charm_has_charmcraft_layout() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let charm = pack_into(tmp.path(), b"\x7fELF stand-in binary")?;
    assert_eq!(
        charm.file_name().and_then(|n| n.to_str()),
        Some("postgresql-k8s_ubuntu@22.04-amd64.charm")
    );

    let mut archive = zip::ZipArchive::new(fs::File::open(&charm)?)?;
    let mut names = archive
        .file_names()
        .map(|name| name.map(|n| n.into_owned()))
        .collect::<Result<Vec<String>, _>>()?;
    names.sort();
    let mut expected = vec![
        "actions.yaml",
        "bin/postgresql-k8s",
        "config.yaml",
        "dispatch",
        "manifest.yaml",
        "metadata.yaml",
    ];
    for optional in ["README.md", "LICENSE"] {
        if project_dir().join(optional).exists() {
            expected.push(optional);
        }
    }
    expected.sort();
    assert_eq!(names, expected);

    for executable in ["dispatch", "bin/postgresql-k8s"] {
        let (_, mode) = read_entry(&mut archive, executable)?;
        assert_eq!(mode & 0o777, 0o755, "{executable} must be executable");
        assert_eq!(
            mode & 0o170000,
            0o100000,
            "{executable} must be a regular file"
        );
    }
    let (binary, _) = read_entry(&mut archive, "bin/postgresql-k8s")?;
    assert_eq!(binary, b"\x7fELF stand-in binary");

    for copied in ["metadata.yaml", "config.yaml", "actions.yaml", "dispatch"] {
        let (bytes, mode) = read_entry(&mut archive, copied)?;
        assert_eq!(
            bytes,
            fs::read(project_dir().join(copied))?,
            "{copied} changed in the charm"
        );
        if copied != "dispatch" {
            assert_eq!(mode & 0o777, 0o644, "{copied} mode");
        }
    }
    Ok(())
}

#[test]
fn manifest_has_charmcraft_keys() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let charm = pack_into(tmp.path(), b"bin")?;
    let mut archive = zip::ZipArchive::new(fs::File::open(&charm)?)?;
    let (bytes, _) = read_entry(&mut archive, "manifest.yaml")?;
    let manifest: serde_yaml::Value = serde_yaml::from_slice(&bytes)?;

    assert_eq!(manifest["charmcraft-version"].as_str(), Some("4.5.0"));
    assert_eq!(
        manifest["charmcraft-started-at"].as_str(),
        Some("2026-01-02T03:04:05.678901")
    );
    let base = &manifest["bases"][0];
    assert_eq!(base["name"].as_str(), Some("ubuntu"));
    assert_eq!(base["channel"].as_str(), Some("22.04"));
    assert_eq!(base["architectures"][0].as_str(), Some("amd64"));
    assert_eq!(manifest["bases"].as_sequence().map(Vec::len), Some(1));
    let attributes = manifest["analysis"]["attributes"]
        .as_sequence()
        .context("analysis.attributes is a list")?;
    let names: Vec<_> = attributes
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["language", "framework"]);
    let keys: Vec<_> = manifest
        .as_mapping()
        .context("manifest is a mapping")?
        .keys()
        .filter_map(|k| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "charmcraft-version",
            "charmcraft-started-at",
            "bases",
            "analysis"
        ]
    );
    Ok(())
}

#[test]
fn same_inputs_give_the_same_bytes() -> Result<()> {
    let first = tempfile::tempdir()?;
    let second = tempfile::tempdir()?;
    let a = fs::read(pack_into(first.path(), b"bin")?)?;
    let b = fs::read(pack_into(second.path(), b"bin")?)?;
    assert_eq!(a, b);
    Ok(())
}

#[test]
fn unknown_architecture_is_refused() -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let binary = tmp.path().join("bin");
    fs::write(&binary, b"bin")?;
    let mut options = PackOptions::new(project_dir());
    options.out_dir = tmp.path().to_path_buf();
    options.binary = Some(binary);
    options.architecture = "s390x".into();
    let err = pack(&options)
        .err()
        .context("s390x is not a platform of charmcraft.yaml")?;
    assert!(err.to_string().contains("s390x"), "{err}");
    Ok(())
}
