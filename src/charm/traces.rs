//! Tracing of the charm's own hooks (spec §10.5): the `tracing` relation read on its own events
//! and its receiver kept in the charm's state, and the hook's spans sent there when the hook
//! ends.
//!
//! Steady-state hooks make no hook-tool call for this: the receiver is in the charm state every
//! hook reads anyway. Without a receiver nothing is sent and the recorded spans are dropped.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result};
use juju::spans::{AttrValue, SpanRecord, TraceIds, otlp_json};
use juju::{Context, Event, HookTools, RelationEventKind, Target};

use crate::relations::traces as relation;

/// Charm-state key: the provider's OTLP/HTTP receiver url.
pub const TRACING_KEY: &str = "tracing-receiver";

/// Bound of the export at the end of a hook (a slow collector must not hold hooks up).
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(2);

/// What the tracing relation changes in the charm's state.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Converged {
    /// Keys to set.
    pub state: BTreeMap<String, String>,
    /// Keys to remove.
    pub forget: Vec<String>,
}

/// On the tracing relation's events: the leader publishes the request, and every unit reads the
/// provider's receiver and keeps it (or forgets it: relation broken, nothing or garbage
/// published). Other hooks: nothing, and no hook-tool call.
pub fn converge(ctx: &Context, tools: &HookTools, leader: bool) -> Result<Converged> {
    let Event::Relation { relation, kind, .. } = &ctx.event else {
        return Ok(Converged::default());
    };
    if relation.endpoint != relation::ENDPOINT {
        return Ok(Converged::default());
    }
    let forget = Converged {
        state: BTreeMap::new(),
        forget: vec![TRACING_KEY.to_string()],
    };
    if *kind == RelationEventKind::Broken {
        tracing::info!("the tracing relation is gone: hook spans are no longer sent");
        return Ok(forget);
    }
    if leader {
        let request = BTreeMap::from([(relation::RECEIVERS_KEY.to_string(), relation::request())]);
        tools
            .relation_set(relation, true, &request)
            .context("publishing the tracing request")?;
    }
    let data = match tools.relation_remote_app(relation)? {
        Some(remote) => tools
            .relation_get(relation, &Target::App(remote))
            .context("reading the tracing provider's data")?,
        None => Default::default(),
    };
    match relation::parse(&data) {
        Ok(Some(url)) => Ok(Converged {
            state: BTreeMap::from([(TRACING_KEY.to_string(), url)]),
            forget: Vec::new(),
        }),
        Ok(None) => Ok(forget),
        Err(e) => {
            tracing::warn!("{e}; hook spans are not sent");
            Ok(forget)
        }
    }
}

/// The OTLP/HTTP traces url kept in the charm's state, if any (a kept value is checked again).
pub fn traces_url(state: &BTreeMap<String, String>) -> Option<String> {
    let base = state.get(TRACING_KEY)?;
    relation::validate_url(base)
        .ok()
        .map(|b| relation::traces_url(&b))
}

/// The resource attributes of this unit's spans: `service.name` (the application) and the Juju
/// topology as the COS libraries label it.
pub fn resource(ctx: &Context, charm: &str) -> Vec<(String, AttrValue)> {
    [
        ("service.name", ctx.app_name.as_str()),
        ("juju_model", ctx.model_name.as_str()),
        ("juju_model_uuid", ctx.model_uuid.as_str()),
        ("juju_application", ctx.app_name.as_str()),
        ("juju_unit", ctx.unit_name.as_str()),
        ("juju_charm", charm),
        ("charm", charm),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), AttrValue::from(v)))
    .collect()
}

/// Send `spans` to `url` as one OTLP/HTTP JSON request, within [`EXPORT_TIMEOUT`]. An error
/// says why; the caller logs it and the hook goes on.
pub async fn export(
    url: &str,
    spans: &[SpanRecord],
    resource: &[(String, AttrValue)],
    scope: (&str, &str),
) -> Result<()> {
    if spans.is_empty() {
        return Ok(());
    }
    let body = otlp_json(spans, resource, scope, &TraceIds::random());
    let client = reqwest::Client::builder()
        .timeout(EXPORT_TIMEOUT)
        .connect_timeout(EXPORT_TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .context("sending the spans")?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("the collector answered {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_receiver_gives_the_traces_url() {
        let state = BTreeMap::from([(TRACING_KEY.to_string(), "http://t:4318".to_string())]);
        assert_eq!(
            traces_url(&state).as_deref(),
            Some("http://t:4318/v1/traces")
        );
        assert_eq!(traces_url(&BTreeMap::new()), None);
        let bad = BTreeMap::from([(TRACING_KEY.to_string(), "ftp://t".to_string())]);
        assert_eq!(traces_url(&bad), None);
    }
}
