//! The `database` client test charm (`tests/charms/db-client`, on ops and the data-platform
//! requirer library from PyPI) and a shell stand-in provider, ready to deploy in a lab model.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::tls::{charms, test_charm, venv_for};

/// The variable `db-client`'s `dispatch` takes its interpreter from: put [`db_python`] in
/// `ModelOptions.env` under it.
pub const DB_PYTHON_ENV: &str = "LAB_DB_PYTHON";

/// A venv with `tests/charms/db-client/requirements.txt` installed ([`venv_for`]), made once
/// per process. Its interpreter's path.
pub fn db_python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| venv_for("db", &charms().join("db-client/requirements.txt")))
        .clone()
}

/// The `db-client` charm, copied to `into/db-client` (a copy, so Python's bytecode and anything
/// else a unit writes stay out of the source tree). Its directory.
pub fn db_client_charm(into: &Path) -> PathBuf {
    test_charm(into, "db-client")
}

/// The shell `fake-db-provider` charm (answers with a secret, endpoints where nothing listens),
/// copied to `into/fake-db-provider`. Its directory.
pub fn fake_db_provider_charm(into: &Path) -> PathBuf {
    test_charm(into, "fake-db-provider")
}
