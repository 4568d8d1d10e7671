//! Notices (`/v1/notices`): custom notices a charm can record and read back. Juju turns a new
//! custom notice into a `<container>-pebble-custom-notice` event.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::transport::ApiRequest;
use crate::{Client, Error};

/// A notice as Pebble reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Notice {
    /// Notice id.
    pub id: String,
    /// Owning uid; `None` for public notices.
    #[serde(default)]
    pub user_id: Option<u32>,
    /// `custom`, `change-update`, `warning`, ...
    #[serde(rename = "type")]
    pub notice_type: String,
    /// The key, e.g. `example.com/db-ready` for custom notices.
    pub key: String,
    /// First occurrence (RFC 3339).
    #[serde(default)]
    pub first_occurred: String,
    /// Latest occurrence (RFC 3339).
    #[serde(default)]
    pub last_occurred: String,
    /// Latest time the notice was repeated (RFC 3339).
    #[serde(default)]
    pub last_repeated: String,
    /// How many times it occurred.
    #[serde(default)]
    pub occurrences: u64,
    /// Data of the latest occurrence.
    #[serde(default)]
    pub last_data: BTreeMap<String, String>,
    /// Minimum time before a repeat counts as new (Go duration).
    #[serde(default)]
    pub repeat_after: Option<String>,
    /// When the notice expires after its last occurrence (Go duration).
    #[serde(default)]
    pub expire_after: Option<String>,
}

/// Filters for [`Client::list_notices`]; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeQuery {
    /// Notice types, e.g. `custom`.
    pub types: Vec<String>,
    /// Notice keys.
    pub keys: Vec<String>,
    /// Only notices repeated after this time (RFC 3339).
    pub after: Option<String>,
}

#[derive(Serialize)]
struct AddNoticeBody<'a> {
    action: &'static str,
    #[serde(rename = "type")]
    notice_type: &'static str,
    key: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    data: &'a BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Added {
    id: String,
}

/// `POST /v1/notices` recording a custom notice.
pub(crate) fn add_notice_request(
    key: &str,
    data: &BTreeMap<String, String>,
) -> Result<ApiRequest, Error> {
    ApiRequest::post_json(
        "/v1/notices",
        &AddNoticeBody {
            action: "add",
            notice_type: "custom",
            key,
            data,
        },
    )
}

/// `GET /v1/notices` with the query's filters.
pub(crate) fn list_notices_request(query: &NoticeQuery) -> ApiRequest {
    let mut request = ApiRequest::get("/v1/notices");
    if !query.types.is_empty() {
        request = request.query("types", query.types.join(","));
    }
    if !query.keys.is_empty() {
        request = request.query("keys", query.keys.join(","));
    }
    if let Some(after) = &query.after {
        request = request.query("after", after.clone());
    }
    request
}

impl Client {
    /// Records (or repeats) the custom notice `key` (`domain/path` form, at most 256 bytes)
    /// with `data`; returns the notice id.
    pub async fn add_notice(
        &self,
        key: &str,
        data: &BTreeMap<String, String>,
    ) -> Result<String, Error> {
        let added: Added = self.sync(&add_notice_request(key, data)?).await?;
        Ok(added.id)
    }

    /// Notices matching `query`.
    pub async fn list_notices(&self, query: &NoticeQuery) -> Result<Vec<Notice>, Error> {
        self.sync(&list_notices_request(query)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Body;

    #[test]
    fn add_body_and_list_query() {
        let data = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
        let Body::Json(bytes) = add_notice_request("example.com/x", &data).unwrap().body else {
            panic!("not json");
        };
        assert_eq!(
            bytes,
            br#"{"action":"add","type":"custom","key":"example.com/x","data":{"k":"v"}}"#
        );
        let query = NoticeQuery {
            types: vec!["custom".into()],
            keys: vec!["a/b".into(), "c/d".into()],
            after: None,
        };
        assert_eq!(
            list_notices_request(&query).url().unwrap().as_str(),
            "http://localhost/v1/notices?types=custom&keys=a%2Fb%2Cc%2Fd"
        );
    }

    #[test]
    fn notice_decoding() {
        let notice: Notice = serde_json::from_str(
            r#"{"id": "3", "user-id": null, "type": "custom", "key": "example.com/x",
                "first-occurred": "2025-01-07T10:00:00Z", "last-occurred": "2025-01-07T10:00:00Z",
                "last-repeated": "2025-01-07T10:00:00Z", "occurrences": 1, "last-data": {"k": "v"}}"#,
        )
        .unwrap();
        assert_eq!(notice.user_id, None);
        assert_eq!(notice.last_data["k"], "v");
    }
}
