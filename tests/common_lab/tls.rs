//! The TLS certificates provider test charm (`tests/charms/tls-provider`, on ops and the
//! tls-certificates library from PyPI) and its shell requirer, ready to deploy in a lab model.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::{fs, io};

/// The variable `tls-provider`'s `dispatch` takes its interpreter from: put [`tls_python`] in
/// `ModelOptions.env` under it.
pub const TLS_PYTHON_ENV: &str = "LAB_TLS_PYTHON";

/// The test charms' sources: `tests/charms`.
pub fn charms() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/charms")
}

/// FNV-1a: a hash of the requirements that stays the same across builds and toolchains.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// True when `python` runs and has exactly the versions `requirements` pins.
fn has_pins(python: &Path, requirements: &str) -> bool {
    let pins: Vec<(&str, &str)> = requirements
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter_map(|l| l.split_once("=="))
        .collect();
    let check = format!(
        "import importlib.metadata as m, sys\n\
         pins = {pins:?}\n\
         sys.exit(any(m.version(n) != v for n, v in pins))"
    );
    #[allow(clippy::disallowed_methods)] // the venv's own interpreter, once per process
    let ok = Command::new(python)
        .args(["-c", &check])
        .status()
        .is_ok_and(|s| s.success());
    ok
}

/// A venv with `tests/charms/tls-provider/requirements.txt` installed ([`venv_for`]), made
/// once per process. Its interpreter's path.
pub fn tls_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| venv_for("tls", &charms().join("tls-provider/requirements.txt")))
        .clone()
}

/// A venv with `requirements` installed, under `CARGO_TARGET_TMPDIR` and named
/// `<name>-venv-<hash of the file>`; made once and reused while it has the pinned versions. Its
/// interpreter's path.
///
/// It is built in a directory of its own and renamed into place when complete, so a venv that
/// exists is whole (two processes may both build one; the first rename wins). Only
/// `bin/python3` is used, which stays valid after the rename (the venv's scripts would not).
pub fn venv_for(name: &str, requirements: &Path) -> PathBuf {
    let pins = fs::read_to_string(requirements).unwrap();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let venv = tmp.join(format!("{name}-venv-{:016x}", fnv1a(pins.as_bytes())));
    let python = venv.join("bin/python3");
    if python.exists() && has_pins(&python, &pins) {
        return python;
    }
    let building = tmp.join(format!(
        "{}.building-{}",
        venv.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&building);
    let run = |c: &mut Command| c.status().is_ok_and(|s| s.success());
    #[allow(clippy::disallowed_methods)] // building the test venv
    let made = run(Command::new("python3").args(["-m", "venv"]).arg(&building));
    assert!(made, "python3 -m venv {} failed", building.display());
    #[allow(clippy::disallowed_methods)] // building the test venv
    let installed = run(Command::new(building.join("bin/python3"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
        ])
        .arg(requirements));
    if !installed {
        let _ = fs::remove_dir_all(&building);
        panic!("pip install -r {} failed", requirements.display());
    }
    // A stale venv of the same name (the pins check failed) goes first.
    if venv.exists() && !has_pins(&python, &pins) {
        let _ = fs::remove_dir_all(&venv);
    }
    if fs::rename(&building, &venv).is_err() {
        // Another process put its venv there first: use that one.
        let _ = fs::remove_dir_all(&building);
    }
    assert!(has_pins(&python, &pins), "{} is incomplete", venv.display());
    python
}

/// The test charm `tests/charms/<name>`, copied to `into/<name>` (a copy, so Python's bytecode
/// and anything else a unit writes stay out of the source tree). Its directory.
pub fn test_charm(into: &Path, name: &str) -> PathBuf {
    let dir = into.join(name);
    copy_tree(&charms().join(name), &dir).unwrap();
    dir
}

/// Copy a charm's source tree (files and directories; modes kept; no `__pycache__`).
pub fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_tree(&from, &to)?;
            }
        } else {
            fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

/// The `tls-provider` charm, copied to `into/tls-provider` (a copy, so Python's bytecode and
/// anything else a unit writes stay out of the source tree). It has no binary for
/// `lab::charm::assemble` to link. Its directory.
pub fn provider_charm(into: &Path) -> PathBuf {
    test_charm(into, "tls-provider")
}

/// The shell `tls-requirer` charm, copied to `into/tls-requirer`. Its directory.
pub fn requirer_charm(into: &Path) -> PathBuf {
    test_charm(into, "tls-requirer")
}

/// The shell `ca-sender` charm (a certificate_transfer provider), copied to `into/ca-sender`.
/// Its directory.
pub fn ca_sender_charm(into: &Path) -> PathBuf {
    test_charm(into, "ca-sender")
}
