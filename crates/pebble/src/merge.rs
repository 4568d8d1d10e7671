//! Pebble's `override: merge` rules, entry by entry (applied by [`crate::combine_layers`]).
//!
//! Scalars are replaced when the later entry sets them, lists are appended, maps are merged key
//! by key, and nothing is ever removed.

use std::collections::BTreeMap;

use crate::layer::{Check, ExecCheck, HttpCheck, LogTarget, Service, TcpCheck};

/// Replaces `target` with `value` when `value` is set (non-empty).
fn set_string(target: &mut String, value: &str) {
    if !value.is_empty() {
        value.clone_into(target);
    }
}

/// Replaces `target` with `value` when `value` is `Some`.
fn set_option<T: Clone>(target: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        target.clone_from(value);
    }
}

/// Adds `value`'s keys to `target`, later values winning.
fn merge_map<V: Clone>(target: &mut BTreeMap<String, V>, value: &BTreeMap<String, V>) {
    for (key, v) in value {
        target.insert(key.clone(), v.clone());
    }
}

impl Service {
    /// Applies `other` on top of `self` with `override: merge` rules: scalars replaced when set,
    /// `after`/`before`/`requires` appended (duplicates kept), maps merged key by key. Nothing is
    /// ever removed. `override` itself is kept from `self`.
    pub fn merge_from(&mut self, other: &Service) {
        set_string(&mut self.summary, &other.summary);
        set_string(&mut self.description, &other.description);
        set_option(&mut self.startup, &other.startup);
        set_string(&mut self.command, &other.command);
        set_option(&mut self.kill_delay, &other.kill_delay);
        set_option(&mut self.user_id, &other.user_id);
        set_string(&mut self.user, &other.user);
        set_option(&mut self.group_id, &other.group_id);
        set_string(&mut self.group, &other.group);
        set_string(&mut self.working_dir, &other.working_dir);
        self.after.extend(other.after.iter().cloned());
        self.before.extend(other.before.iter().cloned());
        self.requires.extend(other.requires.iter().cloned());
        merge_map(&mut self.environment, &other.environment);
        set_option(&mut self.on_success, &other.on_success);
        set_option(&mut self.on_failure, &other.on_failure);
        merge_map(&mut self.on_check_failure, &other.on_check_failure);
        set_option(&mut self.backoff_delay, &other.backoff_delay);
        set_option(&mut self.backoff_factor, &other.backoff_factor);
        set_option(&mut self.backoff_limit, &other.backoff_limit);
        set_string(&mut self.workload, &other.workload);
    }
}

impl Check {
    /// Applies `other` on top of `self` with `override: merge` rules: level, startup, period and
    /// timeout replaced when set, threshold replaced when non-zero, and `http`/`tcp`/`exec`
    /// merged field by field (so merging cannot switch a check's type: both end up set).
    pub fn merge_from(&mut self, other: &Check) {
        set_option(&mut self.level, &other.level);
        set_option(&mut self.startup, &other.startup);
        set_option(&mut self.period, &other.period);
        set_option(&mut self.timeout, &other.timeout);
        if other.threshold != 0 {
            self.threshold = other.threshold;
        }
        if let Some(http) = &other.http {
            self.http
                .get_or_insert_with(HttpCheck::default)
                .merge_from(http);
        }
        if let Some(tcp) = &other.tcp {
            self.tcp
                .get_or_insert_with(TcpCheck::default)
                .merge_from(tcp);
        }
        if let Some(exec) = &other.exec {
            self.exec
                .get_or_insert_with(ExecCheck::default)
                .merge_from(exec);
        }
    }
}

impl HttpCheck {
    /// URL replaced when set; headers merged key by key.
    pub fn merge_from(&mut self, other: &HttpCheck) {
        set_string(&mut self.url, &other.url);
        merge_map(&mut self.headers, &other.headers);
    }
}

impl TcpCheck {
    /// Port replaced when non-zero; host replaced when set.
    pub fn merge_from(&mut self, other: &TcpCheck) {
        if other.port != 0 {
            self.port = other.port;
        }
        set_string(&mut self.host, &other.host);
    }
}

impl ExecCheck {
    /// Scalars replaced when set; environment merged key by key.
    pub fn merge_from(&mut self, other: &ExecCheck) {
        set_string(&mut self.command, &other.command);
        set_string(&mut self.service_context, &other.service_context);
        merge_map(&mut self.environment, &other.environment);
        set_option(&mut self.user_id, &other.user_id);
        set_string(&mut self.user, &other.user);
        set_option(&mut self.group_id, &other.group_id);
        set_string(&mut self.group, &other.group);
        set_string(&mut self.working_dir, &other.working_dir);
    }
}

impl LogTarget {
    /// Type and location replaced when set; services appended; labels merged key by key.
    pub fn merge_from(&mut self, other: &LogTarget) {
        set_option(&mut self.r#type, &other.r#type);
        set_string(&mut self.location, &other.location);
        self.services.extend(other.services.iter().cloned());
        merge_map(&mut self.labels, &other.labels);
    }
}
