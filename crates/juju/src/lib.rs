//! A Rust runtime for Juju charms: what a charm binary needs to talk to Juju.
//!
//! - [`Context`] and [`Event`]: who we are and what happened, parsed once from the `JUJU_*`
//!   environment (never from argv).
//! - [`HookTools`]: one typed function per hook tool (`config-get`, `relation-set`,
//!   `secret-add`, ...), with the exact argv and JSON Juju uses, typed errors, reads cached for
//!   the hook and no-op writes skipped.
//! - [`Secret`]: passwords and keys, redacted in logs and zeroed on drop.
//! - [`JujuLogLayer`]: a `tracing` layer that sends log events to `juju-log`.
//! - [`spans::SpanRecorder`]: a `tracing` layer that keeps the hook's spans, and
//!   [`spans::otlp_json`] to send them to an OpenTelemetry collector (OTLP/HTTP JSON).
//!
//! Nothing here knows about any particular workload.
//!
//! ```no_run
//! use juju::{Context, Event, HookTools, ProcessRunner, Status};
//!
//! let ctx = Context::from_process_env()?;
//! let tools = HookTools::new(ProcessRunner::new(), &ctx.unit_name);
//! if let Event::UpdateStatus = ctx.event {
//!     let leader = tools.is_leader()?;
//!     tools.status_set(false, &Status::active(if leader { "leader" } else { "" }))?;
//! }
//! # Ok::<(), juju::Error>(())
//! ```
//!
//! # Guarantees
//! - Secret values reach hook tools only through stdin or files of mode 0600 that are removed
//!   after the call; `action-set` is the one tool whose only form carries values in argv.
//! - A failed hook tool becomes [`Error::RelationNotFound`], [`Error::SecretNotFound`],
//!   [`Error::PermissionDenied`] or [`Error::Tool`], classified as Juju's Python framework does.
//! - The environment is read in one place ([`Context::from_process_env`]); processes are started
//!   in one place ([`ProcessRunner`]).

mod context;
mod error;
mod event;
mod log_layer;
mod runner;
mod secret;
pub mod spans;
pub mod time;
mod tools;

pub use context::{Context, Version, process_env};
pub use error::{Error, Result};
pub use event::{Event, RelationEventKind, RelationRef, SecretEventKind, StorageEventKind};
pub use log_layer::{JujuLogLayer, LogSink, init_logging, init_logging_with_spans, juju_level};
pub use runner::{Output, ProcessRunner, Runner};
pub use secret::Secret;
pub use tools::*;
