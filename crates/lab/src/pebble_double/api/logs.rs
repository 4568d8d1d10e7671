//! `GET /v1/logs`: buffered service output as JSON lines (not enveloped), optionally
//! followed.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::Frame;
use serde::Serialize;
use tokio::sync::mpsc;

use super::request::Query;
use super::response::{self, ApiError, ApiResult};
use crate::pebble_double::clock;
use crate::pebble_double::logbuf::LogEntry;
use crate::pebble_double::state::Daemon;

const DEFAULT_LINES: i64 = 30;

/// One JSON line, fields in Pebble's order.
#[derive(Serialize)]
struct Line<'a> {
    time: String,
    service: &'a str,
    message: &'a str,
}

fn line(entry: &LogEntry) -> String {
    let mut text = serde_json::to_string(&Line {
        time: clock::rfc3339_nano(entry.time),
        service: &entry.service,
        message: &entry.message,
    })
    .unwrap_or_default();
    text.push('\n');
    text
}

/// The most recent `n` lines across the services (all with `-1`), oldest first.
pub fn get(daemon: &Arc<Daemon>, query: &Query) -> ApiResult {
    let follow = match query.get("follow") {
        "" | "false" => false,
        "true" => true,
        _ => {
            return Err(ApiError::bad_request(
                "follow parameter must be \"true\" or \"false\"",
            ));
        }
    };
    let n = match query.get("n") {
        "" if follow => 0,
        "" => DEFAULT_LINES,
        text => match text.parse::<i64>() {
            Ok(n) if n >= -1 => n,
            _ => {
                return Err(ApiError::bad_request(
                    "n must be -1, 0, or a positive integer",
                ));
            }
        },
    };
    let mut names = query.list("services");
    if names.is_empty() {
        names = daemon.plan.plan().services.keys().cloned().collect();
    }
    let subscriptions: Vec<_> = if follow {
        names
            .iter()
            .filter_map(|name| daemon.services.log_buffer(name))
            .map(|buffer| buffer.subscribe())
            .collect()
    } else {
        Vec::new()
    };
    let mut entries = daemon.services.logs(&names, None);
    entries.sort_by_key(|e| e.time);
    let keep = if n < 0 { entries.len() } else { n as usize };
    let skip = entries.len().saturating_sub(keep);
    let backlog: String = entries[skip..].iter().map(line).collect();
    if !follow {
        return Ok(response::raw(200, "application/x-ndjson", backlog));
    }
    let last_seen = entries.last().map(|e| e.time);
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let _ = tx.try_send(Bytes::from(backlog));
    for mut subscription in subscriptions {
        let tx = tx.clone();
        tokio::spawn(async move {
            loop {
                match subscription.recv().await {
                    Ok(entry) => {
                        if last_seen.is_some_and(|seen| entry.time <= seen) {
                            continue;
                        }
                        if tx.send(Bytes::from(line(&entry))).await.is_err() {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return,
                }
            }
        });
    }
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(Frame::data(bytes)), rx))
    });
    let mut reply = Response::new(StreamBody::new(stream).boxed_unsync());
    if let Ok(value) = "application/x-ndjson".parse() {
        reply
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    Ok(reply)
}
