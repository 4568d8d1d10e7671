//! Reading requests: query strings (repeated keys, comma lists) and bodies.

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Request;
use hyper::body::Incoming;
use serde::de::DeserializeOwned;

use super::response::ApiError;

/// A parsed query string.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

fn decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                match (
                    bytes.get(i + 1).and_then(|b| hex(*b)),
                    bytes.get(i + 2).and_then(|b| hex(*b)),
                ) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Query {
    /// Parses `a=1&b=2&a=3`.
    pub fn parse(query: Option<&str>) -> Query {
        let pairs = query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) => (decode(k), decode(v)),
                None => (decode(pair), String::new()),
            })
            .collect();
        Query { pairs }
    }

    /// The first value of `key` (empty when absent, as Go's `Get`).
    pub fn get(&self, key: &str) -> &str {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every value of `key`, each split on commas, trimmed, empties dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.all(key)
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// The whole request body.
pub async fn body(request: Request<Incoming>) -> Result<Bytes, ApiError> {
    request
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .map_err(|e| ApiError::bad_request(format!("cannot read request body: {e}")))
}

/// The body decoded as JSON; decode errors are 400 `<prefix>: <detail>`.
pub async fn json<T: DeserializeOwned>(
    request: Request<Incoming>,
    prefix: &str,
) -> Result<T, ApiError> {
    let bytes = body(request).await?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("{prefix}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_lists() {
        let q = Query::parse(Some("names=a,b&names=c&path=%2Fetc%2Fa+b&x"));
        assert_eq!(q.list("names"), ["a", "b", "c"]);
        assert_eq!(q.get("path"), "/etc/a b");
        assert_eq!(q.get("x"), "");
        assert_eq!(q.get("missing"), "");
    }
}
