//! An async client for [Pebble](https://documentation.ubuntu.com/pebble/), the service manager
//! that runs as PID 1 in every workload container of a Juju sidecar charm, plus typed layers and
//! plans with Pebble's own merge and validation rules.
//!
//! Nothing here knows about any particular workload: it is the API a Rust charm needs to manage
//! services, files and commands in its containers.
//!
//! # Overview
//!
//! - [`Client`]: one per container socket (`/charm/containers/<name>/pebble.socket`).
//!   - system: [`Client::system_info`], [`Client::can_connect`];
//!   - layers and plan: [`Client::add_layer`], [`Client::get_plan`];
//!   - services: [`Client::list_services`], [`Client::start`], [`Client::stop`],
//!     [`Client::restart`], [`Client::replan`], [`Client::send_signal`];
//!   - changes: [`Client::get_change`], [`Client::wait_change`];
//!   - files: [`Client::push`], [`Client::pull`], [`Client::list_files`], [`Client::exists`],
//!     [`Client::is_dir`], [`Client::make_dir`], [`Client::remove_path`];
//!   - exec: [`Client::exec`];
//!   - checks: [`Client::list_checks`], [`Client::start_checks`], [`Client::stop_checks`];
//!   - notices: [`Client::add_notice`], [`Client::list_notices`].
//! - [`Layer`], [`Service`], [`Check`], [`LogTarget`]: the layer schema, with
//!   [`Layer::merge_from`], [`Layer::validate`], and [`Plan::combine`] / [`Plan::validate`]
//!   implementing Pebble's rules (usable by a test double as well as by a charm).
//! - [`Error`]: one error type, by failure domain, with [`Error::is_not_found`] and
//!   [`Error::is_connection`].
//!
//! # Example
//!
//! ```no_run
//! use pebble::{Client, ExecRequest, Layer, Override, PushOptions, Service, Startup};
//!
//! # async fn run() -> Result<(), pebble::Error> {
//! let client = Client::for_container("workload")?;
//! if !client.can_connect().await {
//!     return Ok(()); // the container is not up yet; a later pebble-ready event follows
//! }
//!
//! let mut layer = Layer::default();
//! layer.services.insert(
//!     "app".to_owned(),
//!     Service {
//!         r#override: Some(Override::Replace),
//!         command: "/usr/bin/app --config /etc/app.conf".to_owned(),
//!         startup: Some(Startup::Enabled),
//!         ..Service::default()
//!     },
//! );
//!
//! let options = PushOptions { permissions: Some(0o600), make_dirs: true, ..Default::default() };
//! client.push("/etc/app.conf", b"port = 8080\n", &options).await?;
//!
//! let plan = client.get_plan().await?;
//! // Replan only when the layer changes the plan (an invalid layer is refused by add_layer).
//! if plan.with_layer("app", &layer).map_or(true, |next| next != plan) {
//!     client.add_layer("app", &layer, true).await?;
//!     client.replan().await?;
//! }
//!
//! let output = client.exec(&ExecRequest::new(["app", "--version"])).await?.check()?;
//! println!("{}", output.stdout_text());
//! # Ok(())
//! # }
//! ```
//!
//! # Behaviour
//!
//! - **Crypto provider.** reqwest (built with rustls but no bundled provider) needs a
//!   process-wide rustls crypto provider to build any client, even for plain HTTP over a unix
//!   socket. The binary installs one once at start-up; constructors return [`Error::Setup`]
//!   when none is installed. This crate never installs one.
//! - **Timeouts.** Each HTTP request has a short timeout (5 s by default). Long operations loop
//!   over short requests: waiting for a change long-polls `/v1/changes/{id}/wait` in slices and
//!   retries on its 504 until the operation's own deadline.
//! - **Changes.** Service operations and exec are asynchronous in Pebble; the client waits for
//!   the change and turns a failed one into [`Error::Change`], with the task logs.
//! - **Per-path errors.** File operations report failures per path; they surface as
//!   [`Error::Path`] carrying Pebble's `kind`.
//! - **Exec.** A non-zero exit code is data ([`ExecOutput::exit_code`]);
//!   [`ExecOutput::check`] turns it into [`Error::Exec`]. Output streams are read concurrently.

mod changes;
mod checks;
mod client;
mod command;
mod duration;
mod envelope;
mod error;
mod exec;
mod files;
mod layer;
mod merge;
mod multipart;
mod notices;
mod plan;
mod services;
mod system;
mod transport;
mod validate;

pub use changes::{Change, Task, TaskProgress};
pub use checks::{CheckInfo, CheckStatus};
pub use client::{Client, DEFAULT_CHANGE_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, DEFAULT_SOCKET_DIR};
pub use command::{parse_service_command, split_command};
pub use duration::{format_go_duration, parse_go_duration};
pub use error::Error;
pub use exec::{ExecOutput, ExecRequest};
pub use files::{FileInfo, FileType, MakeDirOptions, PushOptions};
pub use layer::{
    Check, CheckLevel, ExecCheck, HttpCheck, Layer, LogTarget, LogTargetType, Override, Service,
    ServiceAction, Startup, TcpCheck,
};
pub use notices::{Notice, NoticeQuery};
pub use plan::{DEFAULT_CHECK_THRESHOLD, Plan, combine_layers};
pub use services::{ServiceInfo, ServiceStatus};
pub use system::SystemInfo;

#[cfg(test)]
mod layer_tests;
