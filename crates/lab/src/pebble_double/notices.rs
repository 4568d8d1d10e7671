//! Notices: `custom` ones recorded through the API and `change-update` ones the daemon records
//! whenever a change is spawned or its status changes (Juju watches both). Same type and key
//! means the same notice, occurring again.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use tokio::sync::watch;

use super::clock;

/// How long a notice is kept after its last occurrence (Pebble's default, shown in the API).
const EXPIRE_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// One notice.
#[derive(Debug, Clone)]
struct Notice {
    id: u64,
    notice_type: String,
    key: String,
    first_occurred: SystemTime,
    last_occurred: SystemTime,
    last_repeated: SystemTime,
    occurrences: u64,
    last_data: BTreeMap<String, String>,
    repeat_after: Option<Duration>,
}

impl Notice {
    fn to_json(&self) -> Value {
        let mut value = json!({
            "id": self.id.to_string(),
            "user-id": null,
            "type": self.notice_type,
            "key": self.key,
            "first-occurred": clock::rfc3339_nano(self.first_occurred),
            "last-occurred": clock::rfc3339_nano(self.last_occurred),
            "last-repeated": clock::rfc3339_nano(self.last_repeated),
            "occurrences": self.occurrences,
            "expire-after": pebble::format_go_duration(EXPIRE_AFTER),
        });
        if !self.last_data.is_empty() {
            value["last-data"] = json!(self.last_data);
        }
        if let Some(repeat) = self.repeat_after {
            value["repeat-after"] = json!(pebble::format_go_duration(repeat));
        }
        value
    }
}

/// Which notices a listing wants; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct NoticeFilter {
    /// Notice types.
    pub types: Vec<String>,
    /// Notice keys.
    pub keys: Vec<String>,
    /// Only notices last repeated strictly after this time.
    pub after: Option<SystemTime>,
}

impl NoticeFilter {
    fn matches(&self, notice: &Notice) -> bool {
        (self.types.is_empty() || self.types.contains(&notice.notice_type))
            && (self.keys.is_empty() || self.keys.contains(&notice.key))
            && self.after.is_none_or(|after| notice.last_repeated > after)
    }
}

#[derive(Debug, Default)]
struct Notices {
    list: Vec<Notice>,
    last_id: u64,
}

/// All notices, with a way to wait for new ones.
#[derive(Debug)]
pub struct NoticeStore {
    notices: Mutex<Notices>,
    version: watch::Sender<u64>,
}

impl Default for NoticeStore {
    fn default() -> Self {
        NoticeStore {
            notices: Mutex::default(),
            version: watch::channel(0).0,
        }
    }
}

impl NoticeStore {
    /// Records an occurrence of the notice (`type`, `key`); returns its id.
    pub fn add(
        &self,
        notice_type: &str,
        key: &str,
        data: BTreeMap<String, String>,
        repeat_after: Option<Duration>,
    ) -> String {
        let now = clock::now();
        let mut notices = self.lock();
        let id = match notices
            .list
            .iter_mut()
            .find(|n| n.notice_type == notice_type && n.key == key)
        {
            Some(notice) => {
                notice.occurrences += 1;
                notice.last_occurred = now;
                notice.last_data = data;
                notice.repeat_after = repeat_after;
                let repeat = match repeat_after {
                    None => true,
                    Some(after) => now
                        .duration_since(notice.last_repeated)
                        .is_ok_and(|since| since >= after),
                };
                if repeat {
                    notice.last_repeated = now;
                }
                notice.id
            }
            None => {
                notices.last_id += 1;
                let id = notices.last_id;
                notices.list.push(Notice {
                    id,
                    notice_type: notice_type.to_owned(),
                    key: key.to_owned(),
                    first_occurred: now,
                    last_occurred: now,
                    last_repeated: now,
                    occurrences: 1,
                    last_data: data,
                    repeat_after,
                });
                id
            }
        };
        notices.list.sort_by_key(|n| (n.last_repeated, n.id));
        drop(notices);
        self.version.send_modify(|v| *v += 1);
        id.to_string()
    }

    /// Notices matching `filter`, oldest repeat first.
    pub fn list(&self, filter: &NoticeFilter) -> Vec<Value> {
        self.lock()
            .list
            .iter()
            .filter(|n| filter.matches(n))
            .map(Notice::to_json)
            .collect()
    }

    /// One notice by id.
    pub fn get(&self, id: &str) -> Option<Value> {
        self.lock()
            .list
            .iter()
            .find(|n| n.id.to_string() == id)
            .map(Notice::to_json)
    }

    /// Waits up to `timeout` for at least one notice matching `filter`; returns the matches
    /// (empty when the time runs out).
    pub async fn wait(&self, filter: &NoticeFilter, timeout: Duration) -> Vec<Value> {
        let mut changes = self.version.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            changes.borrow_and_update();
            let found = self.list(filter);
            if !found.is_empty() {
                return found;
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                return Vec::new();
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Notices> {
        self.notices.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_keep_the_id() {
        let store = NoticeStore::default();
        let a = store.add("custom", "a.com/x", BTreeMap::new(), None);
        let b = store.add("change-update", "1", BTreeMap::new(), None);
        let again = store.add(
            "custom",
            "a.com/x",
            BTreeMap::from([("k".into(), "v".into())]),
            None,
        );
        assert_eq!(a, again);
        assert_ne!(a, b);
        let custom = store.list(&NoticeFilter {
            types: vec!["custom".into()],
            ..NoticeFilter::default()
        });
        assert_eq!(custom.len(), 1);
        assert_eq!(custom[0]["occurrences"], 2);
        assert_eq!(custom[0]["last-data"]["k"], "v");
        assert!(store.get(&b).is_some());
        assert!(store.get("99").is_none());
    }
}
