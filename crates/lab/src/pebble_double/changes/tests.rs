//! Tests of the change store.
use super::*;

fn store() -> ChangeStore {
    ChangeStore::new(Arc::new(NoticeStore::default()))
}

#[test]
fn error_text_and_notices() {
    let notices = Arc::new(NoticeStore::default());
    let changes = ChangeStore::new(notices.clone());
    let (id, tasks) = changes.create(
        "start",
        "Start service \"a\"",
        vec![NewTask::new("start", "Start service \"a\"")],
        vec!["a".into()],
    );
    changes.start_task(&tasks[0]);
    changes.finish_task(&tasks[0], Err("boom".into()));
    let change = changes.get(&id).unwrap();
    assert_eq!(change["status"], "Error");
    assert_eq!(
        change["err"],
        "cannot perform the following tasks:\n- Start service \"a\" (boom)"
    );
    assert!(
        change["tasks"][0]["log"][0]
            .as_str()
            .unwrap()
            .ends_with(" ERROR boom")
    );
    let updates = notices.get("1").unwrap();
    assert_eq!(updates["key"], id);
    assert_eq!(updates["occurrences"], 3);
    assert_eq!(changes.list(Select::All, Some("a")).len(), 1);
    assert!(changes.list(Select::InProgress, None).is_empty());
}

#[test]
fn empty_change_is_done_and_abort_rules() {
    let changes = store();
    changes.skip_id();
    let (id, _) = changes.create("replan", "Replan - no services", vec![], vec![]);
    assert_eq!(id, "2");
    assert_eq!(changes.get(&id).unwrap()["status"], "Done");
    assert_eq!(changes.abort(&id), Err(Some("2".into())));
    assert_eq!(changes.abort("77"), Err(None));
    let (id, tasks) = changes.create("exec", "x", vec![NewTask::new("exec", "x")], vec![]);
    changes.start_task(&tasks[0]);
    changes.abort(&id).unwrap();
    assert!(*changes.aborted(&id).borrow());
    changes.finish_task(&tasks[0], Ok(()));
    assert_eq!(changes.get(&id).unwrap()["status"], "Undone");
}

#[tokio::test]
async fn wait_times_out_and_finds() {
    let changes = store();
    let (id, tasks) = changes.create("exec", "x", vec![NewTask::new("exec", "x")], vec![]);
    assert_eq!(
        changes.wait(&id, Some(Duration::from_millis(20))).await,
        Err(WaitError::Timeout)
    );
    assert_eq!(
        changes.wait("99", Some(Duration::from_millis(20))).await,
        Err(WaitError::NotFound)
    );
    changes.finish_task(&tasks[0], Ok(()));
    assert_eq!(changes.wait(&id, None).await.unwrap()["status"], "Done");
}
