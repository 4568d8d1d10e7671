//! The daemon's own log lines on stderr, shaped like Pebble's (`<time> [pebble] <message>`).

use std::io::Write;

use super::clock;

/// Writes one log line to stderr.
pub fn notice(message: impl AsRef<str>) {
    let line = format!(
        "{} [pebble] {}\n",
        clock::rfc3339_nano(clock::now()),
        message.as_ref()
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
