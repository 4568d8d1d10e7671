//! `action-get`, `action-set`, `action-fail`, `action-log`.

use std::collections::BTreeMap;

use super::{HookTools, argv};
use crate::error::{Error, Result};

/// Keys Juju fills itself for `juju exec` output; a charm must not set them.
const RESERVED_KEYS: [&str; 5] = [
    "stdout",
    "stderr",
    "stdout-encoding",
    "stderr-encoding",
    "return-code",
];

/// Check a dotted `action-set` key the way Juju does: every component lowercase alphanumeric
/// and hyphens, starting and ending alphanumeric; the top-level key not one Juju reserves.
pub fn validate_action_key(key: &str) -> Result<()> {
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !c.starts_with('-')
            && !c.ends_with('-')
    };
    if !key.split('.').all(component_ok) {
        return Err(Error::Invalid(format!(
            "key {key:?} must start and end with lowercase alphanumeric, and contain only \
             lowercase alphanumeric, hyphens and periods"
        )));
    }
    let top = key.split('.').next().unwrap_or(key);
    if RESERVED_KEYS.contains(&top) {
        return Err(Error::Invalid(format!("key {key:?} is reserved by Juju")));
    }
    Ok(())
}

pub(crate) fn action_get_args(key: Option<&str>) -> Vec<String> {
    let mut args = argv(["--format=json"]);
    args.extend(key.map(str::to_string));
    args
}

pub(crate) fn action_set_args(results: &BTreeMap<String, String>) -> Result<Vec<String>> {
    for key in results.keys() {
        validate_action_key(key)?;
        // `a=1` together with `a.b=2` would make `a` both a value and a map.
        let mut prefix = key.as_str();
        while let Some((head, _)) = prefix.rsplit_once('.') {
            if results.contains_key(head) {
                return Err(Error::Invalid(format!(
                    "key {head:?} is both a value and the parent of {key:?}"
                )));
            }
            prefix = head;
        }
    }
    Ok(results.iter().map(|(k, v)| format!("{k}={v}")).collect())
}

pub(crate) fn action_fail_args(message: &str) -> Vec<String> {
    argv(["--", message])
}

pub(crate) fn action_log_args(message: &str) -> Vec<String> {
    argv(["--", message])
}

impl HookTools {
    /// `action-get --format=json`: the action's parameters, defaults filled in by Juju.
    pub fn action_get(&self) -> Result<serde_json::Value> {
        if let Some(params) = &self.cache().action_params {
            return Ok(params.clone());
        }
        let params: serde_json::Value =
            self.call_json("action-get", &action_get_args(None), None)?;
        self.cache().action_params = Some(params.clone());
        Ok(params)
    }

    /// `action-get --format=json <dotted.key>`: one parameter, `None` when absent.
    pub fn action_get_key(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let value: serde_json::Value =
            self.call_json("action-get", &action_get_args(Some(key)), None)?;
        Ok((!value.is_null()).then_some(value))
    }

    /// `action-set key=value ...`: add results. Dotted keys nest (`a.b=1`).
    ///
    /// This is the one hook tool whose only form carries values in argv, so a result that is a
    /// password (get-password, set-password) is visible in the process list for the instant the
    /// tool runs. Juju offers no stdin or file form for it.
    pub fn action_set(&self, results: &BTreeMap<String, String>) -> Result<()> {
        if results.is_empty() {
            return Ok(());
        }
        self.call("action-set", &action_set_args(results)?, None)?;
        Ok(())
    }

    /// `action-fail -- <message>`: mark the action failed with a message for the operator.
    pub fn action_fail(&self, message: &str) -> Result<()> {
        self.call("action-fail", &action_fail_args(message), None)?;
        Ok(())
    }

    /// `action-log -- <message>`: a progress line the operator sees while the action runs.
    pub fn action_log(&self, message: &str) -> Result<()> {
        self.call("action-log", &action_log_args(message), None)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn argv_matches_the_spec() {
        assert_eq!(action_get_args(None), ["--format=json"]);
        assert_eq!(action_get_args(Some("a.b")), ["--format=json", "a.b"]);
        assert_eq!(
            action_set_args(&map(&[("password", "p=q"), ("a.b", "1")])).unwrap(),
            ["a.b=1", "password=p=q"]
        );
        assert_eq!(action_fail_args("-bad"), ["--", "-bad"]);
        assert_eq!(action_log_args("step 1/3"), ["--", "step 1/3"]);
    }

    #[test]
    fn keys_follow_juju_rules() {
        for good in ["a", "backup-status", "a.b-c.d9", "0"] {
            validate_action_key(good).unwrap();
        }
        for bad in [
            "",
            "A",
            "-a",
            "a-",
            "a..b",
            "a_b",
            "a.",
            "stdout",
            "stderr.x",
            "return-code",
        ] {
            assert!(validate_action_key(bad).is_err(), "{bad}");
        }
        assert!(action_set_args(&map(&[("a", "1"), ("a.b", "2")])).is_err());
        assert!(action_set_args(&map(&[("a", "1"), ("a.b.c", "2")])).is_err());
    }
}
