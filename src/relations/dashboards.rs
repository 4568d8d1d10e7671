//! `grafana-dashboard` (interface `grafana_dashboard`): the dashboards this charm hands to
//! Grafana, in the form the `grafana_dashboard` v0 library (LIBPATCH 47) writes from its
//! `GrafanaDashboardProvider`.
//!
//! The application bag (leader only) holds one key, `dashboards`: JSON
//! `{"templates": {"file:<stem>": {...}}, "uuid": "..."}`. Each template carries the charm's
//! name, the dashboard compressed to XZ and base64-encoded (`content`, what Python's
//! `lzma.decompress(base64.b64decode(...))` reads back), the unit's topology, whether the
//! consumer adds the Juju topology dropdowns (`inject_dropdowns`), and `dashboard_alt_uid`. The
//! library draws a random `uuid` on every write, which makes the consumer re-render on every
//! hook; ours is derived from the templates, so it changes only when they do.
//!
//! Before compression each dashboard gets what the library's loader adds: a 40-character `uid`
//! derived from the charm's name and the file's path (the reference charm's path,
//! `src/grafana_dashboards/<file>`, so that swapping one charm for the other replaces the same
//! Grafana dashboards) and a `charm: <name>` tag.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha3::Shake256;
use sha3::digest::{ExtendableOutput, Update, XofReader};

use super::metrics::Topology;

/// The relation endpoint.
pub const ENDPOINT: &str = "grafana-dashboard";

/// The dashboards, by file stem, embedded at build time.
pub const DASHBOARDS: &[(&str, &str)] = &[
    (
        "postgresql-metrics",
        include_str!("../../cos/dashboards/postgresql-metrics.json"),
    ),
    (
        "postgresql-patroni-metrics",
        include_str!("../../cos/dashboards/postgresql-patroni-metrics.json"),
    ),
    (
        "postgresql-pgbackrest-metrics",
        include_str!("../../cos/dashboards/postgresql-pgbackrest-metrics.json"),
    ),
];

/// Where the reference charm keeps its dashboards (the uid is derived from this path).
const REFERENCE_DIR: &str = "src/grafana_dashboards";

/// SHAKE-256 of `input`, `bytes` long, as lowercase hex (Python's `shake_256(...).hexdigest(n)`).
pub fn shake256_hex(input: &str, bytes: usize) -> String {
    let mut hasher = Shake256::default();
    hasher.update(input.as_bytes());
    let mut out = vec![0u8; bytes];
    hasher.finalize_xof().read(&mut out);
    out.iter().map(|b| format!("{b:02x}")).collect()
}

/// The dashboard's Grafana uid: 40 hex characters from `<charm>-<path>`.
pub fn dashboard_uid(charm: &str, stem: &str) -> String {
    shake256_hex(&format!("{charm}-{REFERENCE_DIR}/{stem}.json"), 20)
}

/// The template's `dashboard_alt_uid`: 16 hex characters from `<charm>-file:<stem>`.
pub fn alt_uid(charm: &str, stem: &str) -> String {
    shake256_hex(&format!("{charm}-file:{stem}"), 8)
}

/// Why a dashboard could not be prepared (a build defect the unit tests catch).
#[derive(Debug, thiserror::Error)]
#[error("dashboard {stem}: {reason}")]
pub struct DashboardError {
    /// The file stem.
    pub stem: String,
    /// What is wrong.
    pub reason: String,
}

/// The dashboard JSON as sent (before compression): our file with the uid and the charm tag.
pub fn prepared(stem: &str, source: &str, charm: &str) -> Result<String, DashboardError> {
    let err = |reason: String| DashboardError {
        stem: stem.to_string(),
        reason,
    };
    let mut doc: Value = serde_json::from_str(source).map_err(|e| err(e.to_string()))?;
    let obj = doc
        .as_object_mut()
        .ok_or_else(|| err("not a JSON object".into()))?;
    let keep_uid = obj
        .get("uid")
        .and_then(Value::as_str)
        .is_some_and(|u| u.len() == 40 && u.bytes().all(|b| b.is_ascii_hexdigit()));
    if !keep_uid {
        obj.insert("uid".into(), Value::String(dashboard_uid(charm, stem)));
    }
    let tags = obj.entry("tags").or_insert_with(|| json!([]));
    let tags = tags
        .as_array_mut()
        .ok_or_else(|| err("tags is not a list".into()))?;
    if !tags
        .iter()
        .any(|t| t.as_str().is_some_and(|t| t.starts_with("charm: ")))
    {
        tags.push(Value::String(format!("charm: {charm}")));
    }
    Ok(doc.to_string())
}

/// XZ (CRC64 as Python's `lzma.compress`, which reads any preset) then base64. Preset 1, not
/// Python's default 6: on these dashboards it is 4-5 times faster (3.6 ms against 16.9 ms for
/// the three, release build) for output about 3 % larger; and a dictionary no larger than the
/// input needs (a preset's megabytes would cost a hook memory for nothing).
pub fn compress(text: &str) -> String {
    use std::io::Write as _;
    let mut options = lzma_rust2::XzOptions::with_preset(1);
    let wanted = u32::try_from(text.len())
        .unwrap_or(u32::MAX)
        .next_power_of_two()
        .max(lzma_rust2::DICT_SIZE_MIN);
    options.lzma_options.dict_size = options.lzma_options.dict_size.min(wanted);
    let mut writer =
        lzma_rust2::XzWriter::new(Vec::new(), options).expect("XZ options of a preset are valid");
    writer
        .write_all(text.as_bytes())
        .expect("writing to memory does not fail");
    let xz = writer
        .finish()
        .expect("finishing into memory does not fail");
    crate::base64::encode(&xz)
}

/// The `dashboards` value.
pub fn dashboards_value(topology: &Topology) -> Result<Value, DashboardError> {
    let charm = topology.charm_name.as_str();
    let mut templates = serde_json::Map::new();
    for (stem, source) in DASHBOARDS {
        let content = compress(&prepared(stem, source, charm)?);
        templates.insert(
            format!("file:{stem}"),
            json!({
                "charm": charm,
                "content": content,
                "juju_topology": {
                    "model": topology.model,
                    "model_uuid": topology.model_uuid,
                    "application": topology.application,
                    "unit": topology.unit,
                },
                "inject_dropdowns": true,
                "dashboard_alt_uid": alt_uid(charm, stem),
            }),
        );
    }
    let templates = Value::Object(templates);
    let uuid = stable_uuid(&templates.to_string());
    Ok(json!({ "templates": templates, "uuid": uuid }))
}

/// A version-4-shaped UUID derived from `input` (stable across hooks, new when it changes).
fn stable_uuid(input: &str) -> String {
    let hex = shake256_hex(input, 16);
    let mut h: Vec<char> = hex.chars().collect();
    h[12] = '4';
    h[16] = ['8', '9', 'a', 'b'][usize::from(h[16].to_digit(16).unwrap_or(0) as u8 & 3)];
    let s: String = h.into_iter().collect();
    format!(
        "{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

/// The application bag.
pub fn app_bag(topology: &Topology) -> Result<BTreeMap<String, String>, DashboardError> {
    Ok(BTreeMap::from([(
        "dashboards".to_string(),
        dashboards_value(topology)?.to_string(),
    )]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo() -> Topology {
        crate::relations::topology::lab_unit()
    }

    #[test]
    fn shake256_matches_known_vectors() {
        // Python: hashlib.shake_256(b"").hexdigest(8) and (b"abc").hexdigest(8).
        assert_eq!(shake256_hex("", 8), "46b9dd2b0ba88d13");
        assert_eq!(shake256_hex("abc", 8), "483366601360a877");
        assert_eq!(dashboard_uid("c", "d").len(), 40);
    }

    #[test]
    fn the_bag_has_every_dashboard_and_decodes_back() {
        let value = dashboards_value(&topo()).unwrap();
        let templates = value["templates"].as_object().unwrap();
        assert_eq!(
            templates.keys().collect::<Vec<_>>(),
            [
                "file:postgresql-metrics",
                "file:postgresql-patroni-metrics",
                "file:postgresql-pgbackrest-metrics"
            ]
        );
        for (stem, source) in DASHBOARDS {
            let t = &templates[&format!("file:{stem}")];
            assert_eq!(t["charm"], "postgresql-k8s");
            assert_eq!(t["inject_dropdowns"], true);
            assert_eq!(t["juju_topology"]["unit"], "postgresql-k8s/0");
            assert_eq!(t["dashboard_alt_uid"].as_str().unwrap().len(), 16);
            let xz = crate::base64::decode(t["content"].as_str().unwrap()).unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut lzma_rust2::XzReader::new(xz.as_slice(), false),
                &mut text,
            )
            .unwrap();
            let mut sent: Value = serde_json::from_str(&text).unwrap();
            let mut ours: Value = serde_json::from_str(source).unwrap();
            assert_eq!(sent["uid"], dashboard_uid("postgresql-k8s", stem));
            sent.as_object_mut().unwrap().remove("uid");
            ours.as_object_mut().unwrap().remove("uid");
            assert_eq!(sent, ours, "{stem}");
        }
    }

    #[test]
    fn the_uuid_changes_only_with_the_content() {
        let a = dashboards_value(&topo()).unwrap();
        let b = dashboards_value(&topo()).unwrap();
        assert_eq!(a["uuid"], b["uuid"]);
        let mut other = topo();
        other.unit = "postgresql-k8s/1".into();
        let c = dashboards_value(&other).unwrap();
        assert_ne!(a["uuid"], c["uuid"]);
        let uuid = a["uuid"].as_str().unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
    }

    #[test]
    fn compression_is_real() {
        // lzma-rust2 runs the LZMA2 match finder (not a literals-only encoder): the XZ stream is a
        // fraction of the JSON, as Python's `lzma.compress` makes it.
        for (stem, source) in DASHBOARDS {
            let json = prepared(stem, source, "postgresql-k8s").unwrap();
            let encoded = compress(&json);
            let xz = crate::base64::decode(&encoded).unwrap();
            println!(
                "{stem}: JSON {} bytes, XZ {} bytes, base64 {} bytes",
                json.len(),
                xz.len(),
                encoded.len()
            );
            assert!(
                xz.len() * 4 < json.len(),
                "{stem}: {} of {}",
                xz.len(),
                json.len()
            );
        }
    }

    #[test]
    fn a_charm_tag_is_added_once() {
        let out = prepared("x", r#"{"tags": ["a"]}"#, "pg").unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["tags"], json!(["a", "charm: pg"]));
        let again = prepared("x", &out, "pg").unwrap();
        let w: Value = serde_json::from_str(&again).unwrap();
        assert_eq!(w["tags"], json!(["a", "charm: pg"]));
        assert_eq!(w["uid"], v["uid"]);
        assert!(prepared("x", "[1]", "pg").is_err());
    }
}
