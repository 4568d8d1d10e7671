//! `pebble`: the lab's drop-in double of the Pebble daemon.
//!
//! `pebble run [--create-dirs] [--hold] [--http <address>]` with the state directory in
//! `$PEBBLE` (default `/var/lib/pebble/default`) and the API on `$PEBBLE/.pebble.socket`;
//! `pebble version`. See `lab::pebble_double` for what it implements.

use std::collections::BTreeMap;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The daemon reads its environment once, here: PEBBLE, PEBBLE_SOCKET,
    // PEBBLE_LAB_OKAY_DELAY, and the whole environment its services and commands inherit.
    #[allow(clippy::disallowed_methods)]
    let env: BTreeMap<String, String> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let code = lab::pebble_double::main(&args, env);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
