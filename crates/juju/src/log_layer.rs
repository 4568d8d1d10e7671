//! A `tracing` layer that sends events to `juju-log`, so `juju debug-log` shows them.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer};

use crate::tools::{HookTools, LogLevel};

/// Where formatted log records go. [`HookTools`] is the production sink (`juju-log`).
pub trait LogSink: Send + Sync {
    /// Deliver one record. Must not fail loudly: logging never breaks a hook.
    fn log(&self, level: LogLevel, message: &str);
}

impl LogSink for HookTools {
    fn log(&self, level: LogLevel, message: &str) {
        if let Err(e) = self.juju_log(level, message) {
            // Not under Juju (or the agent is gone): keep the line on stderr, which Juju also
            // captures into the unit log.
            eprintln!("{} {message} (juju-log failed: {e})", level.as_str());
        }
    }
}

impl<T: LogSink + ?Sized> LogSink for Arc<T> {
    fn log(&self, level: LogLevel, message: &str) {
        (**self).log(level, message);
    }
}

/// The layer: formats each event as `message key=value ...` and hands it to the sink with the
/// matching Juju level (`WARN` → `WARNING`).
pub struct JujuLogLayer<S> {
    sink: S,
}

impl<S: LogSink> JujuLogLayer<S> {
    /// A layer writing to `sink`.
    pub fn new(sink: S) -> JujuLogLayer<S> {
        JujuLogLayer { sink }
    }
}

thread_local! {
    /// Set while a record is being delivered, so that anything the sink itself logs is dropped
    /// instead of recursing.
    static DELIVERING: Cell<bool> = const { Cell::new(false) };
}

/// Map a tracing level to Juju's.
pub fn juju_level(level: &Level) -> LogLevel {
    match *level {
        Level::TRACE => LogLevel::Trace,
        Level::DEBUG => LogLevel::Debug,
        Level::INFO => LogLevel::Info,
        Level::WARN => LogLevel::Warning,
        Level::ERROR => LogLevel::Error,
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

/// Format an event's fields: the message, then the other fields as `key=value`.
pub(crate) fn format_event(event: &Event<'_>) -> String {
    let mut fields = Fields::default();
    event.record(&mut fields);
    fields.message + &fields.rest
}

impl<S: LogSink + 'static, Sub: Subscriber> Layer<Sub> for JujuLogLayer<S> {
    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, Sub>) {
        if DELIVERING.with(Cell::get) {
            return;
        }
        DELIVERING.with(|d| d.set(true));
        let message = format_event(event);
        self.sink
            .log(juju_level(event.metadata().level()), &message);
        DELIVERING.with(|d| d.set(false));
    }
}

/// Install the juju-log layer as the global subscriber, keeping events at `max_level` and above.
/// Returns false when a global subscriber was already set.
pub fn init_logging(sink: impl LogSink + 'static, max_level: Level) -> bool {
    install(sink, max_level, None)
}

/// [`init_logging`], with `spans` also recording every span at `max_level` and above (for
/// export to a tracing backend at the end of the hook, see [`crate::spans`]).
pub fn init_logging_with_spans(
    sink: impl LogSink + 'static,
    max_level: Level,
    spans: crate::spans::SpanRecorder,
) -> bool {
    install(sink, max_level, Some(spans))
}

fn install(
    sink: impl LogSink + 'static,
    max_level: Level,
    spans: Option<crate::spans::SpanRecorder>,
) -> bool {
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::filter::LevelFilter::from_level(
            max_level,
        ))
        .with(JujuLogLayer::new(sink))
        .with(spans);
    tracing::subscriber::set_global_default(subscriber).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(LogLevel, String)>>);

    impl LogSink for Recorder {
        fn log(&self, level: LogLevel, message: &str) {
            self.0.lock().unwrap().push((level, message.to_string()));
            // A sink that logs must not recurse.
            tracing::error!("inside the sink");
        }
    }

    #[test]
    fn events_reach_the_sink_with_juju_levels() {
        let recorder = Arc::new(Recorder::default());
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::DEBUG)
            .with(JujuLogLayer::new(recorder.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(option = "profile", "invalid config");
            tracing::info!("plain");
            tracing::debug!(count = 3, "counted");
            tracing::trace!("filtered out");
            tracing::error!("bad");
        });
        let got = recorder.0.lock().unwrap().clone();
        assert_eq!(
            got,
            vec![
                (
                    LogLevel::Warning,
                    "invalid config option=\"profile\"".to_string()
                ),
                (LogLevel::Info, "plain".to_string()),
                (LogLevel::Debug, "counted count=3".to_string()),
                (LogLevel::Error, "bad".to_string()),
            ]
        );
    }
}
