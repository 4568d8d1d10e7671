//! Log forwarding, the charm's side: the `logging` relation read on its own events (and after a
//! refresh), kept in the charm's state, and turned into the Pebble layer's log targets. Other
//! hooks render the targets from the state with no hook-tool call.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use juju::{Context, Event, HookTools, RelationEventKind, Target};

use crate::relations::logging::{self, LoggingView, Topology};

/// Charm-state key: the [`LoggingView`] last read (JSON).
pub const LOGGING_KEY: &str = "logging";

/// The relation as this hook found it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoggingObserved {
    /// What to render (read in this hook, or kept).
    pub view: LoggingView,
    /// The view was read in this hook and differs from the kept one: record it.
    pub changed: bool,
}

/// Read the relation on its own events and after `upgrade-charm`; otherwise the kept view.
/// On a read as leader, publish the consumer's application data.
pub fn observe(
    ctx: &Context,
    tools: &HookTools,
    state: &BTreeMap<String, String>,
    leader: bool,
) -> Result<LoggingObserved> {
    let kept: LoggingView = state
        .get(LOGGING_KEY)
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default();
    let (read, broken) = match &ctx.event {
        Event::Relation { relation, kind, .. } if relation.endpoint == logging::ENDPOINT => {
            (true, *kind == RelationEventKind::Broken)
        }
        Event::UpgradeCharm => (true, false),
        _ => (false, false),
    };
    if !read {
        return Ok(LoggingObserved {
            view: kept,
            changed: false,
        });
    }
    let mut current = BTreeMap::new();
    let mut refused = BTreeMap::new();
    if !broken {
        let relations = tools
            .relation_ids(logging::ENDPOINT)
            .context("finding the logging relation")?;
        for relation in &relations {
            for unit in tools
                .relation_list(relation)
                .context("listing the Loki units")?
            {
                let data = tools
                    .relation_get(relation, &Target::Unit(unit.clone()))
                    .with_context(|| format!("reading {unit}'s logging endpoint"))?;
                let Some(raw) = data.get(logging::ENDPOINT_KEY) else {
                    continue;
                };
                match logging::parse_endpoint(raw) {
                    Ok(url) => {
                        current.insert(unit, url);
                    }
                    Err(e) => {
                        tracing::warn!("the logging endpoint of {unit} is refused: {e}");
                        refused.insert(unit, e.to_string());
                    }
                }
            }
            if leader {
                tools
                    .relation_set(relation, true, &Topology::of(ctx).consumer_app_data())
                    .context("publishing the log consumer's metadata")?;
            }
        }
    }
    let view = kept.next(current, refused);
    Ok(LoggingObserved {
        changed: view != kept,
        view,
    })
}

/// The state entry to record when the view changed.
pub fn record(observed: &LoggingObserved) -> Option<(String, String)> {
    observed.changed.then(|| {
        (
            LOGGING_KEY.to_string(),
            serde_json::to_string(&observed.view).unwrap_or_default(),
        )
    })
}
