//! Hook spans for OpenTelemetry: a `tracing` layer that keeps the spans a hook opened in memory,
//! and the OTLP/HTTP JSON body that carries them to a collector (Tempo, an OpenTelemetry
//! collector) once the hook is done.
//!
//! A charm process lives for one hook, so there is no batching or background thread: the spans
//! are kept until the end and sent in one request (by the charm, with the HTTP client it already
//! has; this module does no I/O besides reading random bytes). Recording costs a clock read and a
//! small allocation per span; when the charm has nowhere to send them it simply drops them.
//!
//! Span ids are sequence numbers while recording, turned into OTLP ids only when encoding (from a
//! random seed), so recording never touches the OS's random source.
//!
//! A span's name is its `tracing` name, or the value of its `otel.name` field when it has one (a
//! span name is a static string in `tracing`; a hook's name is not). An `ERROR` event inside a
//! span marks that span failed, with the event's message as the status message.

use std::fmt::Write as _;
use std::io::Read as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The field whose value names a span instead of its static name.
pub const NAME_FIELD: &str = "otel.name";

/// Spans kept at most per process; later ones are counted, not kept (a hook opens tens).
pub const MAX_SPANS: usize = 4096;

/// An attribute value, as OTLP types them.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// A string.
    Str(String),
    /// A signed integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A float.
    Float(f64),
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> AttrValue {
        AttrValue::Str(s.to_string())
    }
}

impl From<String> for AttrValue {
    fn from(s: String) -> AttrValue {
        AttrValue::Str(s)
    }
}

/// One finished span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// Sequence number in this process, from 1.
    pub seq: u64,
    /// The enclosing span's sequence number.
    pub parent: Option<u64>,
    /// The span's name.
    pub name: String,
    /// When it was created.
    pub start: SystemTime,
    /// When it was closed.
    pub end: SystemTime,
    /// Its fields, in the order they were recorded.
    pub attributes: Vec<(String, AttrValue)>,
    /// The message of the first `ERROR` event inside it, if any.
    pub error: Option<String>,
}

#[derive(Default)]
struct Store {
    finished: Mutex<Vec<SpanRecord>>,
    next: AtomicU64,
    dropped: AtomicU64,
}

/// The `tracing` layer that records spans. Cloning gives another handle on the same store.
#[derive(Clone, Default)]
pub struct SpanRecorder {
    store: Arc<Store>,
}

impl SpanRecorder {
    /// An empty recorder.
    pub fn new() -> SpanRecorder {
        SpanRecorder::default()
    }

    /// Take the spans finished so far (oldest first), leaving none.
    pub fn take(&self) -> Vec<SpanRecord> {
        std::mem::take(&mut *lock(&self.store.finished))
    }

    /// Spans not kept because [`MAX_SPANS`] were already.
    pub fn dropped(&self) -> u64 {
        self.store.dropped.load(Ordering::Relaxed)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What an open span carries (in the registry's extensions).
struct Open {
    seq: u64,
    parent: Option<u64>,
    name: String,
    start: SystemTime,
    attributes: Vec<(String, AttrValue)>,
    error: Option<String>,
}

struct Fields<'a> {
    attributes: &'a mut Vec<(String, AttrValue)>,
    name: &'a mut String,
}

impl Fields<'_> {
    fn put(&mut self, field: &Field, value: AttrValue) {
        if field.name() == NAME_FIELD {
            if let AttrValue::Str(s) = value {
                *self.name = s;
            }
            return;
        }
        match self.attributes.iter_mut().find(|(k, _)| k == field.name()) {
            Some((_, v)) => *v = value,
            None => self.attributes.push((field.name().to_string(), value)),
        }
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, AttrValue::Str(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, AttrValue::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(
            field,
            i64::try_from(value).map_or(AttrValue::Str(value.to_string()), AttrValue::Int),
        );
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, AttrValue::Bool(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, AttrValue::Float(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, AttrValue::Str(format!("{value:?}")));
    }
}

/// The message of an event (its `message` field).
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

impl<S> Layer<S> for SpanRecorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let parent = span
            .parent()
            .and_then(|p| p.extensions().get::<Open>().map(|o| o.seq));
        let mut open = Open {
            seq: self.store.next.fetch_add(1, Ordering::Relaxed) + 1,
            parent,
            name: attrs.metadata().name().to_string(),
            start: SystemTime::now(),
            attributes: Vec::new(),
            error: None,
        };
        attrs.record(&mut Fields {
            attributes: &mut open.attributes,
            name: &mut open.name,
        });
        span.extensions_mut().insert(open);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(open) = ext.get_mut::<Open>() {
            values.record(&mut Fields {
                attributes: &mut open.attributes,
                name: &mut open.name,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        let mut ext = span.extensions_mut();
        if let Some(open) = ext.get_mut::<Open>()
            && open.error.is_none()
        {
            let mut message = Message(String::new());
            event.record(&mut message);
            open.error = Some(message.0);
        }
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(open) = span.extensions_mut().remove::<Open>() else {
            return;
        };
        let mut finished = lock(&self.store.finished);
        if finished.len() >= MAX_SPANS {
            self.store.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        finished.push(SpanRecord {
            seq: open.seq,
            parent: open.parent,
            name: open.name,
            start: open.start,
            end: SystemTime::now(),
            attributes: open.attributes,
            error: open.error,
        });
    }
}

/// The ids of one export: the trace's id, and the seed span ids are derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceIds {
    /// The trace id (never all zeros).
    pub trace_id: [u8; 16],
    /// Mixed with a span's sequence number to give its id.
    pub span_seed: u64,
}

impl TraceIds {
    /// Fresh ids from the OS's random source (`/dev/urandom`); from the clock and the process id
    /// when it cannot be read (ids need only be unique, not secret).
    pub fn random() -> TraceIds {
        let mut bytes = [0u8; 24];
        let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
        if read.is_err() {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            let pid = u64::from(std::process::id());
            for (i, chunk) in bytes.chunks_mut(8).enumerate() {
                let v = mix(nanos ^ pid.rotate_left(32) ^ (i as u64).wrapping_mul(0x9e37));
                chunk.copy_from_slice(&v.to_le_bytes());
            }
        }
        TraceIds::from_bytes(bytes)
    }

    /// Ids from 24 given bytes (tests use fixed ones).
    pub fn from_bytes(bytes: [u8; 24]) -> TraceIds {
        let mut trace_id = [0u8; 16];
        trace_id.copy_from_slice(&bytes[..16]);
        if trace_id == [0; 16] {
            trace_id[15] = 1;
        }
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&bytes[16..]);
        TraceIds {
            trace_id,
            span_seed: u64::from_le_bytes(seed),
        }
    }

    /// The OTLP span id of the span with sequence number `seq` (never zero; distinct for
    /// distinct `seq`, the mix being a bijection).
    pub fn span_id(&self, seq: u64) -> [u8; 8] {
        let mut v = mix(self.span_seed.wrapping_add(seq));
        if v == 0 {
            v = 1;
        }
        v.to_be_bytes()
    }
}

/// SplitMix64's finaliser: a bijection on u64 that spreads neighbouring inputs apart.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unix_nanos(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .to_string()
}

fn any_value(v: &AttrValue) -> Value {
    match v {
        AttrValue::Str(s) => json!({ "stringValue": s }),
        // OTLP/JSON writes 64-bit integers as decimal strings.
        AttrValue::Int(i) => json!({ "intValue": i.to_string() }),
        AttrValue::Bool(b) => json!({ "boolValue": b }),
        AttrValue::Float(f) if f.is_finite() => json!({ "doubleValue": f }),
        AttrValue::Float(f) => json!({ "stringValue": f.to_string() }),
    }
}

fn key_values(attributes: &[(String, AttrValue)]) -> Value {
    Value::Array(
        attributes
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": any_value(v) }))
            .collect(),
    )
}

/// OTLP span kind INTERNAL: work inside the process.
const KIND_INTERNAL: u8 = 1;
/// OTLP status codes.
const STATUS_OK: u8 = 1;
const STATUS_ERROR: u8 = 2;

/// The body of an OTLP/HTTP `POST <collector>/v1/traces` (`Content-Type: application/json`): an
/// `ExportTraceServiceRequest` in the protobuf JSON mapping, with one resource (`resource`
/// attributes, e.g. `service.name`), one instrumentation scope (`scope` name and version) and
/// every span in `spans`, all in the trace `ids.trace_id`. A span whose parent is not among
/// `spans` is exported as a root.
pub fn otlp_json(
    spans: &[SpanRecord],
    resource: &[(String, AttrValue)],
    scope: (&str, &str),
    ids: &TraceIds,
) -> String {
    let trace_id = hex(&ids.trace_id);
    let known: std::collections::HashSet<u64> = spans.iter().map(|s| s.seq).collect();
    let spans: Vec<Value> = spans
        .iter()
        .map(|s| {
            let parent = s
                .parent
                .filter(|p| known.contains(p))
                .map(|p| hex(&ids.span_id(p)))
                .unwrap_or_default();
            let status = match &s.error {
                Some(message) => json!({ "code": STATUS_ERROR, "message": message }),
                None => json!({ "code": STATUS_OK }),
            };
            json!({
                "traceId": trace_id,
                "spanId": hex(&ids.span_id(s.seq)),
                "parentSpanId": parent,
                "name": s.name,
                "kind": KIND_INTERNAL,
                "startTimeUnixNano": unix_nanos(s.start),
                "endTimeUnixNano": unix_nanos(s.end.max(s.start)),
                "attributes": key_values(&s.attributes),
                "status": status,
            })
        })
        .collect();
    json!({
        "resourceSpans": [{
            "resource": { "attributes": key_values(resource) },
            "scopeSpans": [{
                "scope": { "name": scope.0, "version": scope.1 },
                "spans": spans,
            }],
        }],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tracing_subscriber::layer::SubscriberExt;

    fn record(f: impl FnOnce()) -> Vec<SpanRecord> {
        let recorder = SpanRecorder::new();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::INFO)
            .with(recorder.clone());
        tracing::subscriber::with_default(subscriber, f);
        recorder.take()
    }

    #[test]
    fn spans_keep_their_parent_name_fields_and_errors() {
        let spans = record(|| {
            let root = tracing::info_span!("dispatch", otel.name = "update-status", unit = "pg/0");
            let _r = root.enter();
            {
                let child = tracing::info_span!("observe", count = 3u64, leader = true);
                let _c = child.enter();
                tracing::info_span!("pebble", path = "/v1/plan").in_scope(|| {
                    tracing::error!("Pebble did not answer");
                    tracing::error!("a second error");
                });
                child.record("count", 4u64);
            }
            tracing::debug_span!("filtered").in_scope(|| {});
        });
        // Closed innermost first.
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["pebble", "observe", "update-status"]);
        let (pebble, observe, root) = (&spans[0], &spans[1], &spans[2]);
        assert_eq!(root.parent, None);
        assert_eq!(observe.parent, Some(root.seq));
        assert_eq!(pebble.parent, Some(observe.seq));
        assert_eq!(root.attributes, vec![("unit".into(), "pg/0".into())]);
        assert_eq!(
            observe.attributes,
            vec![
                ("count".into(), AttrValue::Int(4)),
                ("leader".into(), AttrValue::Bool(true))
            ]
        );
        assert_eq!(pebble.error.as_deref(), Some("Pebble did not answer"));
        assert_eq!(observe.error, None);
        assert!(root.start <= observe.start && observe.end <= root.end);
    }

    #[test]
    fn the_store_is_bounded() {
        let recorder = SpanRecorder::new();
        let subscriber = tracing_subscriber::registry().with(recorder.clone());
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..MAX_SPANS + 5 {
                tracing::info_span!("s").in_scope(|| {});
            }
        });
        assert_eq!(recorder.take().len(), MAX_SPANS);
        assert_eq!(recorder.dropped(), 5);
        assert!(recorder.take().is_empty());
    }

    #[test]
    fn span_ids_are_distinct_and_never_zero() {
        let ids = TraceIds::from_bytes([0; 24]);
        assert_eq!(ids.trace_id[..15], [0; 15]);
        assert_eq!(ids.trace_id[15], 1);
        let mut seen = std::collections::HashSet::new();
        for seq in 0..10_000 {
            let id = ids.span_id(seq);
            assert_ne!(id, [0; 8]);
            assert!(seen.insert(id));
        }
        assert_ne!(TraceIds::random(), TraceIds::random());
    }

    #[test]
    fn otlp_json_follows_the_protobuf_json_mapping() {
        let t0 = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        let spans = vec![
            SpanRecord {
                seq: 2,
                parent: Some(1),
                name: "observe".into(),
                start: t0 + Duration::from_millis(1),
                end: t0 + Duration::from_millis(2),
                attributes: vec![
                    ("n".into(), AttrValue::Int(-7)),
                    ("x".into(), AttrValue::Float(0.5)),
                    ("nan".into(), AttrValue::Float(f64::NAN)),
                ],
                error: Some("failed".into()),
            },
            SpanRecord {
                seq: 1,
                parent: None,
                name: "update-status".into(),
                start: t0,
                end: t0 + Duration::from_millis(3),
                attributes: vec![],
                error: None,
            },
            SpanRecord {
                seq: 9,
                parent: Some(5), // its parent was not kept
                name: "orphan".into(),
                start: t0,
                end: t0,
                attributes: vec![("ok".into(), AttrValue::Bool(true))],
                error: None,
            },
        ];
        let mut bytes = [0u8; 24];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = i as u8;
        }
        let ids = TraceIds::from_bytes(bytes);
        let body = otlp_json(
            &spans,
            &[("service.name".into(), "pg".into())],
            ("postgresql-k8s", "1.0"),
            &ids,
        );
        let v: Value = serde_json::from_str(&body).unwrap();
        let rs = &v["resourceSpans"][0];
        assert_eq!(
            rs["resource"]["attributes"],
            json!([{"key": "service.name", "value": {"stringValue": "pg"}}])
        );
        let scope = &rs["scopeSpans"][0];
        assert_eq!(
            scope["scope"],
            json!({"name": "postgresql-k8s", "version": "1.0"})
        );
        let s = &scope["spans"];
        let trace = "000102030405060708090a0b0c0d0e0f";
        for i in 0..3 {
            assert_eq!(s[i]["traceId"], trace);
            assert_eq!(s[i]["kind"], 1);
            assert_eq!(s[i]["spanId"].as_str().unwrap().len(), 16);
        }
        assert_eq!(s[0]["parentSpanId"], s[1]["spanId"]);
        assert_eq!(s[1]["parentSpanId"], "");
        assert_eq!(s[2]["parentSpanId"], "");
        assert_eq!(s[1]["startTimeUnixNano"], "1700000000123456789");
        assert_eq!(s[1]["endTimeUnixNano"], "1700000000126456789");
        assert_eq!(s[0]["status"], json!({"code": 2, "message": "failed"}));
        assert_eq!(s[1]["status"], json!({"code": 1}));
        assert_eq!(
            s[0]["attributes"],
            json!([
                {"key": "n", "value": {"intValue": "-7"}},
                {"key": "x", "value": {"doubleValue": 0.5}},
                {"key": "nan", "value": {"stringValue": "NaN"}},
            ])
        );
        assert_eq!(
            s[2]["attributes"],
            json!([{"key": "ok", "value": {"boolValue": true}}])
        );
    }
}
