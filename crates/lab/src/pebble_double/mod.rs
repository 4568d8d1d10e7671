//! A drop-in double of the Pebble daemon (`pebble run`), for running workloads the way Juju's
//! sidecar containers do, without Kubernetes.
//!
//! It serves Pebble's HTTP API on `$PEBBLE/.pebble.socket` with the real daemon's envelopes,
//! status codes and messages, and runs real processes: services with the okay delay, restart
//! backoff and SIGTERM/SIGKILL stops; exec over websockets; files; health checks in
//! `perform-check`/`recover-check` changes; notices (including the `change-update` notices
//! Juju watches). Timings are real Pebble's (see [`config`] for `PEBBLE_LAB_OKAY_DELAY`).
//!
//! Map:
//! - [`config`]: command line and environment; `daemon`: boot, serve, shut down.
//! - `api`: routing and one handler module per endpoint family.
//! - `plan_store`, `plan_yaml`: layers, the combined plan and its YAML.
//! - `services`: state machines and service changes; `checks`: health checks.
//! - `exec`: commands and their websockets; `files`: the files API.
//! - `changes`, `notices`: changes, tasks and notices; `logbuf`: service output; `logfwd`:
//!   forwarding it to the plan's `loki` log targets.
//! - `process` (the only place that starts processes), `sys` (the only `unsafe`), `users`,
//!   `clock`, `goerr`, `random`, `signals`, `logger`, `service_context`.

mod api;
mod changes;
mod checks;
use crate::time as clock;
pub mod config;
mod daemon;
mod exec;
mod files;
mod goerr;
mod logbuf;
mod logfwd;
mod logger;
mod notices;
mod plan_store;
mod plan_yaml;
mod process;
mod random;
mod service_context;
mod services;
mod signals;
mod state;
mod sys;
mod users;

use std::collections::BTreeMap;

use config::Invocation;

/// The `pebble` command: parses `args` (without the program name) and `env`, runs, and
/// returns the exit code. Installs the process-wide rustls provider (for HTTP checks).
pub fn main(args: &[String], env: BTreeMap<String, String>) -> i32 {
    let config = match config::parse(args, env) {
        Ok(Invocation::Run(config)) => config,
        Ok(Invocation::Version) => {
            println!("{}", config::VERSION);
            return 0;
        }
        Ok(Invocation::Help) => {
            print!("{}", config::USAGE);
            return 0;
        }
        Err(message) => {
            eprintln!("error: {message}");
            return 2;
        }
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e}");
            return 1;
        }
    };
    let code = runtime.block_on(daemon::run(config));
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    code
}
