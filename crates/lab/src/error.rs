//! The lab's error type.

/// Everything the lab can refuse or fail at, with a message for the person running it.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The charm cannot be loaded (missing or malformed interface files).
    #[error("charm: {0}")]
    Charm(String),
    /// The request makes no sense for the model (unknown application, bad endpoint, ...), with
    /// the message Juju would print.
    #[error("{0}")]
    Refused(String),
    /// A system operation failed (processes, files, namespaces).
    #[error("{context}: {source}")]
    Io {
        /// What the lab was doing.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl LabError {
    /// Wrap an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LabError {
        let context = context.into();
        move |source| LabError::Io { context, source }
    }
}

/// Results of the lab.
pub type Result<T, E = LabError> = std::result::Result<T, E>;
