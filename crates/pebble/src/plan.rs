//! The combined plan: layers folded together with Pebble's override rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::duration::canonical_go_duration;
use crate::layer::{Check, Layer, LogTarget, Override, Service, unreachable_yaml};

/// Check threshold Pebble materialises in the combined plan when no layer sets one.
pub const DEFAULT_CHECK_THRESHOLD: u32 = 3;

/// What Pebble runs: the combination of all its layers (`GET /v1/plan`).
///
/// Top-level sections this crate does not know (extension sections of newer Pebble, such as
/// `workloads`) are ignored when decoding; entries inside the known sections are decoded strictly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Plan {
    /// Services by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, Service>,
    /// Health checks by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, Check>,
    /// Log targets by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub log_targets: BTreeMap<String, LogTarget>,
}

impl Plan {
    /// Decodes the YAML text Pebble returns from `GET /v1/plan?format=yaml` (`{}` when empty).
    pub fn from_yaml(text: &str) -> Result<Plan, String> {
        if text.trim().is_empty() {
            return Ok(Plan::default());
        }
        // `Option` so that a document that is only `null` is an empty plan too.
        serde_yaml::from_str::<Option<Plan>>(text)
            .map(Option::unwrap_or_default)
            .map_err(|e| e.to_string())
    }

    /// Encodes the plan as YAML (`{}` when empty), with map keys sorted.
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_else(|e| unreachable_yaml(&e))
    }

    /// Combines `(label, layer)` pairs, lowest first, as Pebble does (see [`combine_layers`]).
    /// The result is not validated: call [`Plan::validate`].
    pub fn combine<'a, I>(layers: I) -> Result<Plan, String>
    where
        I: IntoIterator<Item = (&'a str, &'a Layer)>,
    {
        let combined = combine_layers(layers)?;
        Ok(Plan {
            services: combined.services,
            checks: combined.checks,
            log_targets: combined.log_targets,
        })
    }

    /// The plan Pebble would have after adding `layer` under `label` with `combine: true`,
    /// assuming that label is Pebble's top layer (or that no later layer redefines its entries),
    /// which holds for a charm that manages its container through one layer.
    ///
    /// Use it to replan only on change: if `plan.with_layer(label, &layer)? == plan`, adding the
    /// layer would change nothing. Compare against a plan freshly read with
    /// [`crate::Client::get_plan`]. Note that entries with `override: merge` append their
    /// `after`/`before`/`requires`/`services` lists on every add, so re-adding such a layer always
    /// changes the plan (in Pebble too); charms should use `override: replace`.
    pub fn with_layer(&self, label: &str, layer: &Layer) -> Result<Plan, String> {
        let current = Layer {
            services: self.services.clone(),
            checks: self.checks.clone(),
            log_targets: self.log_targets.clone(),
            ..Layer::default()
        };
        Plan::combine([("(plan)", &current), (label, layer)])
    }
}

impl Layer {
    /// Merges `other` into this layer as Pebble does for `add` with `combine: true` on an
    /// existing label: per entry, `replace` replaces and `merge` merges (see
    /// [`Service::merge_from`] and friends); the summary and description become `other`'s.
    /// Fails, leaving `self` unchanged, when an entry has no `override`.
    pub fn merge_from(&mut self, label: &str, other: &Layer) -> Result<(), String> {
        let merged = combine_layers([(label, &*self), (label, other)])?;
        *self = merged;
        Ok(())
    }
}

/// Pebble's `CombineLayers`: folds layers (lowest first) into one.
///
/// Per entry and in layer order: `override: replace` (or a first appearance) copies the entry,
/// `override: merge` merges it field by field into the earlier one, and a missing `override` is
/// the error `layer "L" must define "override" for service "s"` (`check`, `log target`).
/// The summary and description are the last layer's. As in Pebble, a check threshold left at 0
/// becomes [`DEFAULT_CHECK_THRESHOLD`], and durations are rewritten in Go's canonical form
/// (`60s` -> `1m0s`) because Pebble stores parsed durations and prints them that way.
pub fn combine_layers<'a, I>(layers: I) -> Result<Layer, String>
where
    I: IntoIterator<Item = (&'a str, &'a Layer)>,
{
    let mut combined = Layer::default();
    let mut last: Option<&Layer> = None;
    for (label, layer) in layers {
        for (name, service) in &layer.services {
            combine_entry(
                &mut combined.services,
                (label, "service", name),
                service,
                service.r#override,
                Service::merge_from,
            )?;
        }
        for (name, check) in &layer.checks {
            combine_entry(
                &mut combined.checks,
                (label, "check", name),
                check,
                check.r#override,
                Check::merge_from,
            )?;
        }
        for (name, target) in &layer.log_targets {
            combine_entry(
                &mut combined.log_targets,
                (label, "log target", name),
                target,
                target.r#override,
                LogTarget::merge_from,
            )?;
        }
        last = Some(layer);
    }
    if let Some(last) = last {
        combined.summary.clone_from(&last.summary);
        combined.description.clone_from(&last.description);
    }
    for service in combined.services.values_mut() {
        for duration in [
            &mut service.backoff_delay,
            &mut service.backoff_limit,
            &mut service.kill_delay,
        ] {
            canonicalise(duration);
        }
    }
    for check in combined.checks.values_mut() {
        canonicalise(&mut check.period);
        canonicalise(&mut check.timeout);
        if check.threshold == 0 {
            check.threshold = DEFAULT_CHECK_THRESHOLD;
        }
    }
    Ok(combined)
}

fn canonicalise(duration: &mut Option<String>) {
    if let Some(text) = duration {
        *text = canonical_go_duration(text);
    }
}

fn combine_entry<T: Clone>(
    into: &mut BTreeMap<String, T>,
    (label, what, name): (&str, &str, &str),
    entry: &T,
    mode: Option<Override>,
    merge: fn(&mut T, &T),
) -> Result<(), String> {
    match mode {
        Some(Override::Merge) => match into.get_mut(name) {
            Some(existing) => merge(existing, entry),
            None => {
                into.insert(name.to_owned(), entry.clone());
            }
        },
        Some(Override::Replace) => {
            into.insert(name.to_owned(), entry.clone());
        }
        None => {
            return Err(format!(
                "layer {label:?} must define \"override\" for {what} {name:?}"
            ));
        }
    }
    Ok(())
}
