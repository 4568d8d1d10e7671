//! The lab: a local Juju model for testing charms without Juju or Kubernetes.
//!
//! So far it holds the replay stand-in for the unit agent ([`replay`]): the `jujuc` binary,
//! installed under every hook-tool name, answers from a recorded script and records each call.
//! The full model (a stateful hook-tool emulator behind a socket, a Pebble double and a hook
//! driver) builds on the same binary.

pub mod harness;
pub mod replay;
