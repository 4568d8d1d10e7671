//! `manifest.yaml`, the file charmcraft adds to every charm.
//!
//! Juju does not need it, but tools (and the charm itself, to detect a deployment on the wrong
//! architecture) read it. Charmcraft 4.5 renders it from its `Manifest` model with PyYAML
//! (`sort_keys=False`, so in model order); [`manifest_yaml`] reproduces that text byte for byte for
//! a single-base, single-architecture charm such as ours.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The charmcraft release whose output we reproduce; written as `charmcraft-version`.
pub const CHARMCRAFT_VERSION: &str = "4.5.0";

/// What charmcraft's linters report for a charm that is neither Python nor ops/reactive.
///
/// Charmcraft runs two "attribute" checkers, `language` and `framework`, and records their result
/// in the manifest. Both look for a Python entry point, so for a compiled charm both say `unknown`.
pub const ANALYSIS_ATTRIBUTES: [(&str, &str); 2] =
    [("language", "unknown"), ("framework", "unknown")];

/// The run-on base of one packed charm: `ubuntu`, `22.04`, `amd64`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Base {
    /// Distribution name, e.g. `ubuntu`.
    pub name: String,
    /// Distribution series, e.g. `22.04`.
    pub channel: String,
    /// Juju architecture name, e.g. `amd64`.
    pub architecture: String,
}

/// Renders `manifest.yaml` exactly as charmcraft 4.5 does for one base.
///
/// `started_at` is charmcraft's `charmcraft-started-at` value, normally from [`started_at`].
/// Every scalar here is a plain word, a version or a timestamp, so the only quoting needed is the
/// one PyYAML applies: strings that would otherwise read as numbers or timestamps get single quotes.
pub fn manifest_yaml(charmcraft_version: &str, started_at: &str, base: &Base) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "charmcraft-version: {}\n",
        yaml_scalar(charmcraft_version)
    ));
    out.push_str(&format!(
        "charmcraft-started-at: {}\n",
        yaml_scalar(started_at)
    ));
    out.push_str("bases:\n");
    out.push_str(&format!("- name: {}\n", yaml_scalar(&base.name)));
    out.push_str(&format!("  channel: {}\n", yaml_scalar(&base.channel)));
    out.push_str("  architectures:\n");
    out.push_str(&format!("  - {}\n", yaml_scalar(&base.architecture)));
    out.push_str("analysis:\n");
    out.push_str("  attributes:\n");
    for (name, result) in ANALYSIS_ATTRIBUTES {
        out.push_str(&format!("  - name: {}\n", yaml_scalar(name)));
        out.push_str(&format!("    result: {}\n", yaml_scalar(result)));
    }
    out
}

/// Quotes a string the way PyYAML's safe dumper would for the values we emit.
///
/// PyYAML leaves a string plain unless it would resolve to another type: numbers such as `22.04`
/// and ISO timestamps get single quotes; version strings like `4.5.0` stay plain.
fn yaml_scalar(value: &str) -> String {
    let looks_like_float = value.parse::<f64>().is_ok();
    let looks_like_timestamp = value.len() >= 10
        && value.as_bytes()[4] == b'-'
        && value.as_bytes()[7] == b'-'
        && value[..4].bytes().all(|b| b.is_ascii_digit());
    let special = value.is_empty()
        || matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~"
        );
    if looks_like_float || looks_like_timestamp || special {
        format!("'{}'", value.replace('\'', "''"))
    } else {
        value.to_owned()
    }
}

/// Formats a point in time as charmcraft's `charmcraft-started-at`.
///
/// Charmcraft writes Python's `datetime.now().isoformat()`: no time zone suffix, microseconds
/// shown unless they are zero. We use UTC, which is what a build container's clock reports.
pub fn started_at(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = since_epoch.as_secs();
    let micros = since_epoch.subsec_micros();
    let mut text = juju::time::utc_date_time(i64::try_from(secs).unwrap_or(i64::MAX));
    if micros != 0 {
        text.push_str(&format!(".{micros:06}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Base {
        Base {
            name: "ubuntu".into(),
            channel: "22.04".into(),
            architecture: "amd64".into(),
        }
    }

    /// The exact text charmcraft 4.5.0 renders for this base and time (captured from its
    /// `Manifest` model and `utils.dump_yaml`).
    #[test]
    fn matches_charmcraft_output() {
        let expected = "charmcraft-version: 4.5.0\n\
                        charmcraft-started-at: '2026-01-02T03:04:05.678901'\n\
                        bases:\n\
                        - name: ubuntu\n  channel: '22.04'\n  architectures:\n  - amd64\n\
                        analysis:\n  attributes:\n\
                        \x20 - name: language\n    result: unknown\n\
                        \x20 - name: framework\n    result: unknown\n";
        assert_eq!(
            manifest_yaml("4.5.0", "2026-01-02T03:04:05.678901", &base()),
            expected
        );
    }

    #[test]
    fn started_at_formats_like_python_isoformat() {
        let t = UNIX_EPOCH + Duration::new(1_767_323_045, 678_901_000);
        assert_eq!(started_at(t), "2026-01-02T03:04:05.678901");
        assert_eq!(
            started_at(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00"
        );
        assert_eq!(started_at(UNIX_EPOCH), "1970-01-01T00:00:00");
    }

    #[test]
    fn quoting_follows_pyyaml() {
        assert_eq!(yaml_scalar("22.04"), "'22.04'");
        assert_eq!(yaml_scalar("4.5.0"), "4.5.0");
        assert_eq!(yaml_scalar("amd64"), "amd64");
        assert_eq!(yaml_scalar("on"), "'on'");
    }
}
