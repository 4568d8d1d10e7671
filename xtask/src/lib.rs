//! Project tasks for the postgresql-k8s charm, run as `cargo xtask <task>`.
//!
//! The only task so far is `pack`: it builds the charm binary and writes the `.charm` file with
//! the layout `charmcraft pack` produces, for hosts where charmcraft cannot build (no LXD, or not
//! an Ubuntu host). The library holds the logic so that tests can pack a charm without a process:
//!
//! ```no_run
//! use xtask::pack::{PackOptions, pack};
//!
//! let mut options = PackOptions::new(".".into());
//! options.binary = Some("target/release/postgresql-k8s".into());
//! let charm = pack(&options)?;
//! println!("{}", charm.display());
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod archive;
pub mod manifest;
pub mod pack;
