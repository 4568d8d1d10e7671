//! Change and task statuses, and how a change's status follows from its tasks'.

/// A change's or task's status, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Waiting to run.
    Do,
    /// Running.
    Doing,
    /// Finished successfully.
    Done,
    /// Asked to stop while running.
    Abort,
    /// Waiting to be undone.
    Undo,
    /// Being undone.
    Undoing,
    /// Undone (or aborted after finishing).
    Undone,
    /// Not run because something it depended on failed.
    Hold,
    /// Failed.
    Error,
    /// Waiting for an external event.
    Wait,
}

impl Status {
    /// The API spelling (`"Doing"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Do => "Do",
            Status::Doing => "Doing",
            Status::Done => "Done",
            Status::Abort => "Abort",
            Status::Undo => "Undo",
            Status::Undoing => "Undoing",
            Status::Undone => "Undone",
            Status::Hold => "Hold",
            Status::Error => "Error",
            Status::Wait => "Wait",
        }
    }

    /// Whether nothing more will happen (`Done`, `Undone`, `Hold`, `Error`).
    pub fn is_ready(self) -> bool {
        matches!(
            self,
            Status::Done | Status::Undone | Status::Hold | Status::Error
        )
    }
}

/// A change's status from its tasks': the first of Abort, Undoing, Undo, Doing, Do, Error,
/// Undone, Wait, Done, Hold that any task has (a change without tasks is Hold).
pub fn combined(tasks: impl IntoIterator<Item = Status>) -> Status {
    const PRIORITY: [Status; 10] = [
        Status::Abort,
        Status::Undoing,
        Status::Undo,
        Status::Doing,
        Status::Do,
        Status::Error,
        Status::Undone,
        Status::Wait,
        Status::Done,
        Status::Hold,
    ];
    let present: Vec<Status> = tasks.into_iter().collect();
    PRIORITY
        .into_iter()
        .find(|s| present.contains(s))
        .unwrap_or(Status::Hold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_status_from_tasks() {
        assert_eq!(combined([Status::Done, Status::Doing]), Status::Doing);
        assert_eq!(
            combined([Status::Done, Status::Error, Status::Hold]),
            Status::Error
        );
        assert_eq!(combined([Status::Done, Status::Done]), Status::Done);
        assert_eq!(combined([Status::Do, Status::Done]), Status::Do);
        assert!(combined([Status::Undone]).is_ready());
        assert!(!Status::Abort.is_ready());
    }
}
