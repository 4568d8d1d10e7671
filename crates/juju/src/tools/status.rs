//! `status-set`, `status-get`.

use serde::Deserialize;

use super::{HookTools, argv};
use crate::error::{Error, Result};

/// The workload status names Juju shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusName {
    /// Working as intended.
    Active,
    /// Needs an operator to do something; the message says what.
    Blocked,
    /// Busy with something that will finish by itself.
    Maintenance,
    /// Waiting for something outside this unit (a peer, a relation, the workload).
    Waiting,
    /// Set by Juju only: a hook failed.
    Error,
    /// Set by Juju only: nothing set yet.
    Unknown,
}

impl StatusName {
    /// The name as `status-set` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusName::Active => "active",
            StatusName::Blocked => "blocked",
            StatusName::Maintenance => "maintenance",
            StatusName::Waiting => "waiting",
            StatusName::Error => "error",
            StatusName::Unknown => "unknown",
        }
    }
}

/// A status to set: name plus message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Status {
    /// The status name.
    pub name: StatusName,
    /// The message shown beside it (empty for none).
    pub message: String,
}

impl Status {
    /// `active` with a message.
    pub fn active(message: impl Into<String>) -> Status {
        Status {
            name: StatusName::Active,
            message: message.into(),
        }
    }
    /// `blocked` with a message saying what the operator must do.
    pub fn blocked(message: impl Into<String>) -> Status {
        Status {
            name: StatusName::Blocked,
            message: message.into(),
        }
    }
    /// `maintenance` with a message.
    pub fn maintenance(message: impl Into<String>) -> Status {
        Status {
            name: StatusName::Maintenance,
            message: message.into(),
        }
    }
    /// `waiting` with a message.
    pub fn waiting(message: impl Into<String>) -> Status {
        Status {
            name: StatusName::Waiting,
            message: message.into(),
        }
    }
}

/// What `status-get` reports for a unit or the application.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StatusInfo {
    /// The status name.
    pub status: StatusName,
    /// Its message.
    #[serde(default)]
    pub message: String,
}

#[derive(Deserialize)]
struct AppStatusAnswer {
    #[serde(rename = "application-status")]
    application_status: StatusInfo,
}

pub(crate) fn status_set_args(app: bool, status: &Status) -> Result<Vec<String>> {
    if matches!(status.name, StatusName::Error | StatusName::Unknown) {
        return Err(Error::Invalid(format!(
            "status {:?} is set by Juju only; use active, blocked, maintenance or waiting",
            status.name.as_str()
        )));
    }
    Ok(argv([
        &format!("--application={app}"),
        status.name.as_str(),
        "--",
        &status.message,
    ]))
}

pub(crate) fn status_get_args(app: bool) -> Vec<String> {
    argv([
        "--include-data",
        "--format=json",
        &format!("--application={app}"),
    ])
}

pub(crate) fn parse_status_get(app: bool, stdout: &[u8]) -> Result<StatusInfo> {
    if app {
        let answer: AppStatusAnswer = super::parse_json("status-get", stdout)?;
        Ok(answer.application_status)
    } else {
        super::parse_json("status-get", stdout)
    }
}

impl HookTools {
    /// `status-set --application=<app> <status> -- <message>`. Takes effect at once, even if the
    /// hook later fails. The application status needs leadership. Not sent when this hook
    /// already knows the status to be exactly this one.
    pub fn status_set(&self, app: bool, status: &Status) -> Result<()> {
        let args = status_set_args(app, status)?;
        let wanted = StatusInfo {
            status: status.name,
            message: status.message.clone(),
        };
        if self.cache().status.get(&app) == Some(&wanted) {
            return Ok(());
        }
        self.call("status-set", &args, None)?;
        self.cache().status.insert(app, wanted);
        Ok(())
    }

    /// `status-get --include-data --format=json --application=<app>`: the status as Juju has it.
    pub fn status_get(&self, app: bool) -> Result<StatusInfo> {
        if let Some(info) = self.cache().status.get(&app) {
            return Ok(info.clone());
        }
        let stdout = self.call("status-get", &status_get_args(app), None)?;
        let info = parse_status_get(app, &stdout)?;
        self.cache().status.insert(app, info.clone());
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_matches_the_spec() {
        assert_eq!(
            status_set_args(false, &Status::blocked("-x: bad")).unwrap(),
            ["--application=false", "blocked", "--", "-x: bad"]
        );
        assert_eq!(
            status_set_args(true, &Status::active("")).unwrap(),
            ["--application=true", "active", "--", ""]
        );
        assert!(
            status_set_args(
                false,
                &Status {
                    name: StatusName::Error,
                    message: String::new()
                }
            )
            .is_err()
        );
        assert_eq!(
            status_get_args(true),
            ["--include-data", "--format=json", "--application=true"]
        );
    }

    #[test]
    fn parses_unit_and_application_answers() {
        let unit = br#"{"status": "active", "message": "Primary", "status-data": {}}"#;
        assert_eq!(
            parse_status_get(false, unit).unwrap(),
            StatusInfo {
                status: StatusName::Active,
                message: "Primary".into()
            }
        );
        let app = br#"{"application-status": {"status": "waiting", "message": "m", "status-data": {}, "units": {"pg/0": {"status": "active", "message": "", "status-data": {}}}}}"#;
        assert_eq!(
            parse_status_get(true, app).unwrap(),
            StatusInfo {
                status: StatusName::Waiting,
                message: "m".into()
            }
        );
        assert!(parse_status_get(true, unit).is_err());
    }
}
