//! Service output: each service's stdout and stderr, merged, split into timestamped lines and
//! kept in a ring buffer of about 100 KiB (`GET /v1/logs`, and the "Most recent service
//! output" of a failed start).
//!
//! Every line is also broadcast to subscribers, which is where a log forwarder (for the
//! plan's `log-targets`) attaches.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::broadcast;

use super::clock;

/// Bytes of messages kept per service.
const CAPACITY: usize = 100 * 1024;

/// Longest line kept whole; longer output is cut into lines of this size.
const MAX_LINE: usize = 4096;

/// One line of service output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// When the line was written.
    pub time: SystemTime,
    /// Which service wrote it.
    pub service: String,
    /// The line, without its newline.
    pub message: String,
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<LogEntry>,
    bytes: usize,
    partial: Vec<u8>,
}

/// The output of one service.
#[derive(Debug)]
pub struct LogBuffer {
    service: String,
    ring: Mutex<Ring>,
    lines: broadcast::Sender<LogEntry>,
}

impl LogBuffer {
    /// An empty buffer for `service`.
    pub fn new(service: &str) -> Arc<LogBuffer> {
        Arc::new(LogBuffer {
            service: service.to_owned(),
            ring: Mutex::default(),
            lines: broadcast::channel(256).0,
        })
    }

    /// Appends raw output; complete lines become entries.
    pub fn write(&self, bytes: &[u8]) {
        let mut ring = self.lock();
        ring.partial.extend_from_slice(bytes);
        loop {
            let cut = match ring.partial.iter().position(|b| *b == b'\n') {
                Some(newline) if newline <= MAX_LINE => Some((newline, 1)),
                _ if ring.partial.len() >= MAX_LINE => Some((MAX_LINE, 0)),
                _ => None,
            };
            let Some((len, skip)) = cut else {
                break;
            };
            let line: Vec<u8> = ring.partial.drain(..len + skip).take(len).collect();
            self.push(&mut ring, &line);
        }
    }

    /// Ends the current stream: a last line without newline becomes an entry.
    pub fn flush(&self) {
        let mut ring = self.lock();
        if !ring.partial.is_empty() {
            let line = std::mem::take(&mut ring.partial);
            self.push(&mut ring, &line);
        }
    }

    /// The most recent `n` entries (all with `None`), oldest first.
    pub fn last(&self, n: Option<usize>) -> Vec<LogEntry> {
        let ring = self.lock();
        let skip = n.map_or(0, |n| ring.entries.len().saturating_sub(n));
        ring.entries.iter().skip(skip).cloned().collect()
    }

    /// New lines as they are written.
    pub fn subscribe(&self) -> broadcast::Receiver<LogEntry> {
        self.lines.subscribe()
    }

    fn push(&self, ring: &mut Ring, line: &[u8]) {
        let entry = LogEntry {
            time: clock::now(),
            service: self.service.clone(),
            message: String::from_utf8_lossy(line).into_owned(),
        };
        ring.bytes += entry.message.len() + 1;
        ring.entries.push_back(entry.clone());
        while ring.bytes > CAPACITY {
            match ring.entries.pop_front() {
                Some(old) => ring.bytes -= old.message.len() + 1,
                None => break,
            }
        }
        let _ = self.lines.send(entry);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_partials_and_capacity() {
        let buffer = LogBuffer::new("svc");
        buffer.write(b"one\ntw");
        buffer.write(b"o\nthree");
        let lines: Vec<String> = buffer.last(None).into_iter().map(|e| e.message).collect();
        assert_eq!(lines, ["one", "two"]);
        buffer.flush();
        assert_eq!(buffer.last(Some(1))[0].message, "three");
        let big = vec![b'x'; 200 * 1024];
        buffer.write(&big);
        let total: usize = buffer.last(None).iter().map(|e| e.message.len() + 1).sum();
        assert!(total <= CAPACITY);
        assert!(
            buffer
                .last(None)
                .iter()
                .all(|e| e.message.len() <= MAX_LINE)
        );
    }
}
