//! What goes into the `.charm` file, and how it is written.
//!
//! [`charm_entries`] decides the archive's content from bytes already in memory (pure, testable
//! without a file system); [`write_zip`] is the only part that produces the zip format.

use std::io::{Seek, Write};

use anyhow::{Context, Result};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Unix mode of the files Juju executes (`dispatch` and the charm binary).
pub const EXECUTABLE: u32 = 0o755;
/// Unix mode of every other file in the charm.
pub const REGULAR: u32 = 0o644;

/// Path of the charm binary inside the charm, as installed by `cargo install --root` in
/// charmcraft's rust plugin and as `dispatch` expects it.
pub const BINARY_PATH: &str = "bin/postgresql-k8s";

/// One file of the archive: where it goes, its Unix mode and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path inside the charm, `/`-separated, relative to the charm root.
    pub path: String,
    /// Unix permission bits (e.g. `0o755`).
    pub mode: u32,
    /// File content.
    pub bytes: Vec<u8>,
}

impl Entry {
    fn new(path: &str, mode: u32, bytes: Vec<u8>) -> Self {
        Self {
            path: path.to_owned(),
            mode,
            bytes,
        }
    }
}

/// The inputs of a charm, already read: the files that charmcraft would put in its prime
/// directory, plus the manifest it would generate.
#[derive(Debug, Clone, Default)]
pub struct CharmFiles {
    /// `metadata.yaml`, copied unchanged.
    pub metadata: Vec<u8>,
    /// `config.yaml`, copied unchanged.
    pub config: Vec<u8>,
    /// `actions.yaml`, copied unchanged.
    pub actions: Vec<u8>,
    /// The `dispatch` script Juju runs for every hook and action.
    pub dispatch: Vec<u8>,
    /// The compiled charm binary.
    pub binary: Vec<u8>,
    /// The rendered `manifest.yaml` (see [`crate::manifest::manifest_yaml`]).
    pub manifest: String,
    /// `README.md`, when the project has one.
    pub readme: Option<Vec<u8>>,
    /// `LICENSE`, when the project has one.
    pub license: Option<Vec<u8>>,
}

/// Lists the archive's entries, sorted by path so that the output does not depend on the order
/// in which files were found.
///
/// The layout is the one `charmcraft pack` produces for this project: `dispatch` and
/// `bin/postgresql-k8s` executable, the three interface files, `manifest.yaml`, and the optional
/// README and LICENSE at the root.
pub fn charm_entries(files: &CharmFiles) -> Vec<Entry> {
    let mut entries = vec![
        Entry::new("dispatch", EXECUTABLE, files.dispatch.clone()),
        Entry::new(BINARY_PATH, EXECUTABLE, files.binary.clone()),
        Entry::new("metadata.yaml", REGULAR, files.metadata.clone()),
        Entry::new("config.yaml", REGULAR, files.config.clone()),
        Entry::new("actions.yaml", REGULAR, files.actions.clone()),
        Entry::new("manifest.yaml", REGULAR, files.manifest.as_bytes().to_vec()),
    ];
    if let Some(readme) = &files.readme {
        entries.push(Entry::new("README.md", REGULAR, readme.clone()));
    }
    if let Some(license) = &files.license {
        entries.push(Entry::new("LICENSE", REGULAR, license.clone()));
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries
}

/// Writes `entries` as a deflated zip archive, the format of a `.charm` file.
///
/// Every entry gets the same fixed modification time (1980-01-01, the zip epoch), so two packs
/// of the same inputs give the same bytes.
pub fn write_zip<W: Write + Seek>(entries: &[Entry], out: W) -> Result<W> {
    let mut zip = ZipWriter::new(out);
    for entry in entries {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(DateTime::default())
            .unix_permissions(entry.mode)
            .large_file(entry.bytes.len() >= u32::MAX as usize);
        zip.start_file(entry.path.as_str(), options)
            .with_context(|| format!("adding {} to the charm", entry.path))?;
        zip.write_all(&entry.bytes)
            .with_context(|| format!("writing {} into the charm", entry.path))?;
    }
    zip.finish().context("finishing the charm archive")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> CharmFiles {
        CharmFiles {
            metadata: b"name: x\n".to_vec(),
            config: b"options: {}\n".to_vec(),
            actions: b"{}\n".to_vec(),
            dispatch: b"#!/bin/sh\n".to_vec(),
            binary: b"\x7fELF".to_vec(),
            manifest: "charmcraft-version: 4.5.0\n".into(),
            readme: None,
            license: Some(b"Apache".to_vec()),
        }
    }

    #[test]
    fn entries_are_sorted_with_modes() {
        let entries = charm_entries(&files());
        let listing: Vec<(&str, u32)> = entries.iter().map(|e| (e.path.as_str(), e.mode)).collect();
        assert_eq!(
            listing,
            [
                ("LICENSE", REGULAR),
                ("actions.yaml", REGULAR),
                ("bin/postgresql-k8s", EXECUTABLE),
                ("config.yaml", REGULAR),
                ("dispatch", EXECUTABLE),
                ("manifest.yaml", REGULAR),
                ("metadata.yaml", REGULAR),
            ]
        );
    }

    #[test]
    fn zip_output_is_deterministic() -> Result<()> {
        let entries = charm_entries(&files());
        let a = write_zip(&entries, std::io::Cursor::new(Vec::new()))?.into_inner();
        let b = write_zip(&entries, std::io::Cursor::new(Vec::new()))?.into_inner();
        assert_eq!(a, b);
        Ok(())
    }
}
