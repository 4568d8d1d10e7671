//! Conformance suite for a Pebble daemon: the lab's double by default, or any `pebble` binary
//! named by `LAB_PEBBLE_BIN` (so the same tests can be pointed at a real Pebble).
//!
//! Every test starts its own daemon (`pebble run --create-dirs`) in its own temporary `$PEBBLE`
//! and talks to it with the workspace `pebble` client, or with raw HTTP where the client hides
//! the exact envelope, status text or message. The double's okay delay is shortened with
//! `PEBBLE_LAB_OKAY_DELAY` except where the 1 s delay itself is under test.

#[path = "pebble_conformance/harness.rs"]
mod harness;

#[path = "pebble_conformance/system.rs"]
mod system;

#[path = "pebble_conformance/layers.rs"]
mod layers;

#[path = "pebble_conformance/services.rs"]
mod services;

#[path = "pebble_conformance/changes.rs"]
mod changes;

#[path = "pebble_conformance/files.rs"]
mod files;

#[path = "pebble_conformance/exec.rs"]
mod exec;

#[path = "pebble_conformance/checks.rs"]
mod checks;

#[path = "pebble_conformance/notices.rs"]
mod notices;
