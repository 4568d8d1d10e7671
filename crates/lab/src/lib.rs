//! The lab: a local Juju model for testing charms without Juju or Kubernetes.
//!
//! - [`charm`]: a charm's directory and parsed interface.
//! - [`state`]: the model's state (applications, units, relations, secrets).
//! - [`agent`]: the unit agent's answers to hook tools, with Juju's commit-on-success rule.
//! - [`replay`] and [`harness`]: the replay stand-in (recorded answers) and a harness that runs
//!   any charm binary for one hook against it.

pub mod agent;
pub mod charm;
pub mod cli;
pub mod controller;
pub mod engine;
mod error;
pub mod harness;
pub mod pebble_double;
pub mod replay;
pub mod state;
pub mod status;
pub mod time;

pub use error::{LabError, Result};
