//! `juju-log`.

use super::{HookTools, argv};
use crate::error::Result;

/// The longest message ops sends in one `juju-log` call (stays under the argv size limit).
pub(crate) const MAX_LOG_LINE_LEN: usize = 131_071;

/// Juju's log levels (`CRITICAL` does not exist in Juju; use [`LogLevel::Error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// `TRACE`
    Trace,
    /// `DEBUG`
    Debug,
    /// `INFO`
    Info,
    /// `WARNING`
    Warning,
    /// `ERROR`
    Error,
}

impl LogLevel {
    /// The name `juju-log --log-level` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
        }
    }
}

pub(crate) fn juju_log_args(level: LogLevel, message: &str) -> Vec<String> {
    argv(["--log-level", level.as_str(), "--", message])
}

/// Split a long message into chunks of at most `max` bytes, on character boundaries.
pub(crate) fn chunks(message: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = message;
    while rest.len() > max {
        let mut cut = max;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    out.push(rest);
    out
}

impl HookTools {
    /// `juju-log --log-level <LEVEL> -- <message>`: a line in `juju debug-log`.
    /// Messages longer than 131071 bytes are sent in several calls, as ops does.
    pub fn juju_log(&self, level: LogLevel, message: &str) -> Result<()> {
        let parts = chunks(message, MAX_LOG_LINE_LEN);
        if parts.len() > 1 {
            let note = format!(
                "Log string greater than {MAX_LOG_LINE_LEN}. Splitting into multiple chunks: {}",
                parts.len()
            );
            self.call("juju-log", &juju_log_args(level, &note), None)?;
        }
        for part in parts {
            self.call("juju-log", &juju_log_args(level, part), None)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_puts_the_message_after_a_separator() {
        assert_eq!(
            juju_log_args(LogLevel::Warning, "-starts with a dash"),
            ["--log-level", "WARNING", "--", "-starts with a dash"]
        );
    }

    #[test]
    fn splits_long_messages_on_char_boundaries() {
        assert_eq!(chunks("abcdef", 4), ["abcd", "ef"]);
        assert_eq!(chunks("abc", 4), ["abc"]);
        assert_eq!(chunks("", 4), [""]);
        // 'é' is two bytes: a cut inside it moves back.
        assert_eq!(chunks("aé", 2), ["a", "é"]);
        let long = "x".repeat(MAX_LOG_LINE_LEN * 2 + 1);
        assert_eq!(chunks(&long, MAX_LOG_LINE_LEN).len(), 3);
    }
}
