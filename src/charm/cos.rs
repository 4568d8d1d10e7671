//! COS, the charm's side of `metrics-endpoint` and `grafana-dashboard`: the bags rendered by
//! [`crate::relations::metrics`] and [`crate::relations::dashboards`] written where they belong.
//!
//! The relations are looked up on their own events, on `leader-elected` and on `upgrade-charm`
//! (a new binary may carry new rules or dashboards); their ids and a digest of what was written
//! are kept in the charm's state. Every other hook compares the digest of what it would write
//! (leadership, this unit's address, whether Patroni serves TLS, the embedded files) with the
//! kept one and writes only when it differs (TLS switched on: the Patroni job's scheme), so a
//! steady-state hook makes no hook-tool call here. A failed write is logged and retried by the
//! next hook (its digest is not recorded); it does not fail the hook's other work.

use std::collections::BTreeMap;

use juju::{Context, Event, HookTools, RelationEventKind, RelationRef};
use serde::{Deserialize, Serialize};

use super::apply::fingerprint;
use crate::relations::dashboards;
use crate::relations::metrics::{self, Topology};

/// Charm-state key of the [`CosView`] (JSON).
pub const COS_KEY: &str = "cos";

/// What was last written, per endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CosView {
    /// `metrics-endpoint` relation ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<u64>,
    /// Digest of the metrics bags written to them ("": not written).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metrics_digest: String,
    /// `grafana-dashboard` relation ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dashboards: Vec<u64>,
    /// Digest of the dashboards bag written to them ("": not written).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dashboards_digest: String,
}

/// What this hook's COS part records.
#[derive(Debug, Default)]
pub struct CosOutcome {
    /// Charm-state entries to record.
    pub state: BTreeMap<String, String>,
    /// Charm-state entries to forget.
    pub forget: Vec<String>,
    /// Relation bags written (`<endpoint>:<id>`), for the log and tests.
    pub written: Vec<String>,
}

/// The facts [`converge`] needs from the hook's observation.
#[derive(Debug, Clone)]
pub struct CosInputs<'a> {
    /// This unit leads.
    pub leader: bool,
    /// This unit's address (what Prometheus scrapes).
    pub address: &'a str,
    /// Patroni's REST API serves HTTPS.
    pub patroni_tls: bool,
    /// The charm's state as found.
    pub state: &'a BTreeMap<String, String>,
}

/// Digest of what the metrics bags would hold.
pub fn metrics_digest(ctx: &Context, inputs: &CosInputs) -> String {
    let mut parts: Vec<&str> = vec![
        if inputs.leader { "leader" } else { "follower" },
        inputs.address,
        if inputs.patroni_tls { "https" } else { "http" },
        &ctx.unit_name,
        &ctx.model_name,
        &ctx.model_uuid,
        &ctx.app_name,
    ];
    parts.extend(metrics::RULE_FILES.iter().map(|(_, text)| *text));
    fingerprint(&parts)
}

/// Digest of what the dashboards bag would hold ("" for a non-leader: it writes none).
pub fn dashboards_digest(ctx: &Context, leader: bool) -> String {
    if !leader {
        return String::new();
    }
    let mut parts: Vec<&str> = vec![
        &ctx.unit_name,
        &ctx.model_name,
        &ctx.model_uuid,
        &ctx.app_name,
    ];
    parts.extend(dashboards::DASHBOARDS.iter().map(|(_, text)| *text));
    fingerprint(&parts)
}

/// Write what differs; see the module's documentation.
pub fn converge(ctx: &Context, tools: &HookTools, inputs: &CosInputs) -> CosOutcome {
    let kept: CosView = inputs
        .state
        .get(COS_KEY)
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default();
    let (event_endpoint, broken) = match &ctx.event {
        Event::Relation { relation, kind, .. }
            if relation.endpoint == metrics::ENDPOINT
                || relation.endpoint == dashboards::ENDPOINT =>
        {
            (
                Some(relation.endpoint.as_str()),
                (*kind == RelationEventKind::Broken).then_some(relation.id),
            )
        }
        _ => (None, None),
    };
    let rescan =
        event_endpoint.is_some() || matches!(ctx.event, Event::LeaderElected | Event::UpgradeCharm);
    let mut view = kept.clone();
    if rescan {
        view.metrics = relation_ids(tools, metrics::ENDPOINT, broken, &kept.metrics);
        view.dashboards = relation_ids(tools, dashboards::ENDPOINT, broken, &kept.dashboards);
    }
    let mut outcome = CosOutcome::default();

    let digest = metrics_digest(ctx, inputs);
    if view.metrics.is_empty() {
        view.metrics_digest.clear();
    } else if rescan || digest != kept.metrics_digest || view.metrics != kept.metrics {
        let topo = Topology::of(ctx);
        let app_bag = inputs
            .leader
            .then(|| metrics::app_bag(&topo, inputs.patroni_tls));
        let unit_bag = metrics::unit_bag(inputs.address, &ctx.unit_name);
        let ok = write_all(
            tools,
            metrics::ENDPOINT,
            &view.metrics,
            app_bag.as_ref(),
            Some(&unit_bag),
            &mut outcome.written,
        );
        view.metrics_digest = if ok { digest } else { String::new() };
    }

    let digest = dashboards_digest(ctx, inputs.leader);
    if view.dashboards.is_empty() || !inputs.leader {
        view.dashboards_digest.clear();
    } else if rescan || digest != kept.dashboards_digest || view.dashboards != kept.dashboards {
        let ok = match dashboards::app_bag(&Topology::of(ctx)) {
            Ok(bag) => write_all(
                tools,
                dashboards::ENDPOINT,
                &view.dashboards,
                Some(&bag),
                None,
                &mut outcome.written,
            ),
            Err(e) => {
                tracing::error!("no dashboards are sent: {e}");
                false
            }
        };
        view.dashboards_digest = if ok { digest } else { String::new() };
    }

    if view == CosView::default() {
        if inputs.state.contains_key(COS_KEY) {
            outcome.forget.push(COS_KEY.to_string());
        }
    } else if view != kept || !inputs.state.contains_key(COS_KEY) {
        outcome.state.insert(
            COS_KEY.to_string(),
            serde_json::to_string(&view).unwrap_or_default(),
        );
    }
    if !outcome.written.is_empty() {
        tracing::info!("COS relation data written: {}", outcome.written.join(", "));
    }
    outcome
}

/// The endpoint's relation ids, without the one being broken; the kept ones when the lookup
/// fails (logged).
fn relation_ids(tools: &HookTools, endpoint: &str, broken: Option<u64>, kept: &[u64]) -> Vec<u64> {
    match tools.relation_ids(endpoint) {
        Ok(ids) => {
            let mut ids: Vec<u64> = ids
                .into_iter()
                .filter(|r| r.endpoint == endpoint && Some(r.id) != broken)
                .map(|r| r.id)
                .collect();
            ids.sort_unstable();
            ids
        }
        Err(e) => {
            tracing::warn!("listing the {endpoint} relations: {e}");
            kept.iter()
                .copied()
                .filter(|id| Some(*id) != broken)
                .collect()
        }
    }
}

/// Write the bags to every relation; `false` when any write failed (logged).
fn write_all(
    tools: &HookTools,
    endpoint: &str,
    ids: &[u64],
    app: Option<&BTreeMap<String, String>>,
    unit: Option<&BTreeMap<String, String>>,
    written: &mut Vec<String>,
) -> bool {
    let mut ok = true;
    for id in ids {
        let relation = RelationRef {
            endpoint: endpoint.to_string(),
            id: *id,
        };
        for (is_app, bag) in [(true, app), (false, unit)] {
            let Some(bag) = bag else { continue };
            match tools.relation_set(&relation, is_app, bag) {
                Ok(()) => written.push(format!(
                    "{relation} ({})",
                    if is_app { "application" } else { "unit" }
                )),
                Err(e) => {
                    ok = false;
                    tracing::warn!(
                        "writing the {} bag of {relation}: {e}",
                        if is_app { "application" } else { "unit" }
                    );
                }
            }
        }
    }
    ok
}
