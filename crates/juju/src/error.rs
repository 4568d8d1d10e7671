//! The one error type of this crate, named by failure domain.

use std::io;

/// Everything that can go wrong while talking to Juju.
///
/// Hook-tool failures are classified the way Juju's own Python framework (ops) does it, from the
/// tool name and its stderr, so the charm can branch on the variant instead of on text:
/// `relation not found` → [`Error::RelationNotFound`], `not found` from a `secret-*` tool →
/// [`Error::SecretNotFound`], authorisation refusals → [`Error::PermissionDenied`], the rest →
/// [`Error::Tool`]. The stderr kept in the error is Juju's message; hook tools never echo secret
/// values, and this crate never puts secret values in argv (except `action-set`, see its docs).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The relation id given to a `relation-*` or `network-get` tool does not exist (any more).
    #[error("{tool}: relation not found: {stderr}")]
    RelationNotFound {
        /// The hook tool that failed.
        tool: String,
        /// Juju's error text.
        stderr: String,
    },
    /// The secret does not exist, or this unit may not see it.
    #[error("{tool}: secret not found: {stderr}")]
    SecretNotFound {
        /// The hook tool that failed.
        tool: String,
        /// Juju's error text.
        stderr: String,
    },
    /// Juju refused the call: not the leader, not the owner, or access denied.
    #[error("{tool}: permission denied: {stderr}")]
    PermissionDenied {
        /// The hook tool that failed.
        tool: String,
        /// Juju's error text.
        stderr: String,
    },
    /// Any other non-zero exit of a hook tool.
    #[error("{tool} failed (exit code {code}): {stderr}")]
    Tool {
        /// The hook tool that failed.
        tool: String,
        /// Its exit code (-1 when killed by a signal).
        code: i32,
        /// Juju's error text.
        stderr: String,
    },
    /// The hook tool could not be started at all (not on PATH: not running under Juju?).
    #[error("cannot run {tool}")]
    Spawn {
        /// The hook tool that could not be run.
        tool: String,
        /// Why the process could not be started.
        #[source]
        source: io::Error,
    },
    /// The tool answered, but not in the shape its contract promises.
    #[error("cannot parse the output of {tool}: {message}")]
    Parse {
        /// The hook tool whose output was malformed.
        tool: String,
        /// What was wrong.
        message: String,
    },
    /// The caller asked for something Juju would refuse; nothing was sent.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The hook environment is missing a variable or holds a malformed one.
    #[error("hook environment: {var}: {reason}")]
    Env {
        /// The environment variable at fault.
        var: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `JUJU_DISPATCH_PATH` names an event this crate does not know.
    ///
    /// Juju expects a charm to treat unknown events as no-ops (so that refreshes and rollbacks
    /// between charm revisions with different endpoints do not break), so callers usually log this
    /// and exit 0.
    #[error("unknown event {0:?}")]
    UnknownEvent(String),
}

impl Error {
    /// Classify a failed hook tool from its name and stderr (spec B.0, the ops mapping).
    pub(crate) fn from_tool_failure(tool: &str, code: i32, stderr: &[u8]) -> Error {
        let text = String::from_utf8_lossy(stderr).trim().to_string();
        let text = text.strip_prefix("ERROR ").unwrap_or(&text).to_string();
        let lower = text.to_ascii_lowercase();
        let tool_name = tool.to_string();
        if (tool.starts_with("relation-") || tool.starts_with("network-"))
            && (lower.contains("relation not found") || lower.contains("unknown relation id"))
        {
            return Error::RelationNotFound {
                tool: tool_name,
                stderr: text,
            };
        }
        if tool.starts_with("secret-") && lower.contains("not found") {
            return Error::SecretNotFound {
                tool: tool_name,
                stderr: text,
            };
        }
        const DENIED: [&str; 5] = [
            "access denied",
            "permission denied",
            "not the leader",
            "cannot write relation settings",
            // Juju's text for reading a secret without a grant.
            "is not allowed to read",
        ];
        if DENIED.iter().any(|d| lower.contains(d)) {
            return Error::PermissionDenied {
                tool: tool_name,
                stderr: text,
            };
        }
        Error::Tool {
            tool: tool_name,
            code,
            stderr: text,
        }
    }

    /// True for [`Error::RelationNotFound`].
    pub fn is_relation_not_found(&self) -> bool {
        matches!(self, Error::RelationNotFound { .. })
    }

    /// True for [`Error::SecretNotFound`].
    pub fn is_secret_not_found(&self) -> bool {
        matches!(self, Error::SecretNotFound { .. })
    }

    /// True for [`Error::PermissionDenied`].
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Error::PermissionDenied { .. })
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(tool: &str, stderr: &str) -> Error {
        Error::from_tool_failure(tool, 1, stderr.as_bytes())
    }

    #[test]
    fn maps_stderr_to_kinds_as_ops_does() {
        let e = classify(
            "relation-get",
            "ERROR invalid value \"database:99\" for option -r: relation not found\n",
        );
        assert!(e.is_relation_not_found(), "{e:?}");
        assert!(classify("relation-list", "ERROR unknown relation id").is_relation_not_found());
        assert!(classify("network-get", "ERROR Relation Not Found").is_relation_not_found());
        // Only relation-/network- tools get the relation mapping.
        assert!(!classify("secret-get", "relation not found").is_relation_not_found());
        assert!(classify("secret-get", "ERROR secret \"x\" not found").is_secret_not_found());
        assert!(classify("secret-set", "ERROR permission denied").is_permission_denied());
        assert!(
            classify("relation-set", "ERROR cannot write relation settings").is_permission_denied()
        );
        assert!(classify("status-set", "ERROR this unit is not the leader").is_permission_denied());
        assert!(
            classify(
                "secret-get",
                "ERROR \"app/0\" is not allowed to read this secret"
            )
            .is_permission_denied()
        );
        match classify("config-get", "ERROR boom\n") {
            Error::Tool { tool, code, stderr } => {
                assert_eq!(
                    (tool.as_str(), code, stderr.as_str()),
                    ("config-get", 1, "boom")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
