//! `secret-add`, `secret-get`, `secret-set`, `secret-info-get`, `secret-grant`, `secret-revoke`,
//! `secret-remove`, `secret-ids`.
//!
//! Values never travel in argv: each is written to its own file of mode 0600 in a fresh private
//! directory (mode 0700) and passed as `key#file=<path>`; the directory is removed right after the
//! tool returns.

use std::collections::BTreeMap;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;

use super::{HookTools, argv};
use crate::Secret;
use crate::error::{Error, Result};

/// Secret content: key → value, each value redacted in logs and zeroed on drop.
pub type SecretContent = BTreeMap<String, Secret>;

/// Who owns (and may manage) a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretOwner {
    /// The application: only the leader may manage it; every unit of the app may read it.
    Application,
    /// This unit only.
    Unit,
}

impl SecretOwner {
    fn as_str(self) -> &'static str {
        match self {
            SecretOwner::Application => "application",
            SecretOwner::Unit => "unit",
        }
    }
}

/// How often Juju should fire `secret-rotate` for an owned secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RotatePolicy {
    /// Never.
    Never,
    /// Every hour.
    Hourly,
    /// Every day.
    Daily,
    /// Every week.
    Weekly,
    /// Every month.
    Monthly,
    /// Every quarter.
    Quarterly,
    /// Every year.
    Yearly,
}

impl RotatePolicy {
    fn as_str(self) -> &'static str {
        match self {
            RotatePolicy::Never => "never",
            RotatePolicy::Hourly => "hourly",
            RotatePolicy::Daily => "daily",
            RotatePolicy::Weekly => "weekly",
            RotatePolicy::Monthly => "monthly",
            RotatePolicy::Quarterly => "quarterly",
            RotatePolicy::Yearly => "yearly",
        }
    }
}

/// Metadata options of `secret-add` and `secret-set` (`None` leaves a field unset or unchanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretOptions {
    /// Label the owner knows the secret by.
    pub label: Option<String>,
    /// Description shown to operators.
    pub description: Option<String>,
    /// Expiry: RFC 3339 time or Go duration.
    pub expire: Option<String>,
    /// Rotation policy.
    pub rotate: Option<RotatePolicy>,
    /// Owner. `secret-add` creates the secret with it (Juju's default: the application);
    /// `secret-set` requires it to match the secret's owner.
    pub owner: SecretOwner,
}

impl Default for SecretOptions {
    fn default() -> SecretOptions {
        SecretOptions::owned_by(SecretOwner::Application)
    }
}

impl SecretOptions {
    /// No metadata, for a secret with this owner.
    pub fn owned_by(owner: SecretOwner) -> SecretOptions {
        SecretOptions {
            label: None,
            description: None,
            expire: None,
            rotate: None,
            owner,
        }
    }

    fn changes_metadata(&self) -> bool {
        self.label.is_some()
            || self.description.is_some()
            || self.expire.is_some()
            || self.rotate.is_some()
    }

    /// `[--label L] [--description D] [--expire T] [--rotate P] --owner <o>`, as ops orders them.
    fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        push_opt(&mut args, "--label", self.label.as_deref());
        push_opt(&mut args, "--description", self.description.as_deref());
        push_opt(&mut args, "--expire", self.expire.as_deref());
        push_opt(&mut args, "--rotate", self.rotate.map(RotatePolicy::as_str));
        args.extend(argv(["--owner", self.owner.as_str()]));
        args
    }
}

/// Which revision `secret-get` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretGetMode {
    /// The revision this unit tracks.
    Tracked,
    /// The latest revision, without moving tracking (`--peek`).
    Peek,
    /// The latest revision, and track it from now on (`--refresh`).
    Refresh,
}

/// What `secret-info-get` tells an owner about a secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SecretInfo {
    /// The secret's id (filled from the answer's key).
    #[serde(skip)]
    pub id: String,
    /// Latest revision.
    pub revision: u64,
    /// Owner's label.
    #[serde(default)]
    pub label: Option<String>,
    /// Owner kind.
    #[serde(default)]
    pub owner: Option<SecretOwner>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Expiry time (RFC 3339).
    #[serde(default)]
    pub expiry: Option<String>,
    /// Rotation policy.
    #[serde(default)]
    pub rotation: Option<RotatePolicy>,
    /// Next rotation time (RFC 3339).
    #[serde(default)]
    pub rotates: Option<String>,
}

/// Check a secret content key as Juju does: lowercase letters, digits and single hyphens,
/// starting with a letter, at least three characters, no trailing hyphen.
pub fn validate_secret_key(key: &str) -> Result<()> {
    let b = key.as_bytes();
    let ok = b.len() >= 3
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !key.ends_with('-')
        && !key.contains("--");
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "secret key {key:?} must be 3+ lowercase letters, digits and single hyphens, \
             starting with a letter"
        )))
    }
}

/// A private directory holding one file per secret value; removed on drop.
struct ValueFiles {
    dir: PathBuf,
    args: Vec<String>,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl ValueFiles {
    fn write(content: &SecretContent) -> Result<ValueFiles> {
        if content.is_empty() {
            return Err(Error::Invalid("secret content must not be empty".into()));
        }
        for key in content.keys() {
            validate_secret_key(key)?;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "juju-secret-{}-{}-{nanos}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        ));
        let io = |e: std::io::Error| Error::Invalid(format!("cannot stage secret content: {e}"));
        DirBuilder::new().mode(0o700).create(&dir).map_err(io)?;
        let files = ValueFiles {
            dir,
            args: Vec::new(),
        };
        let mut files = files;
        for (key, value) in content {
            let path = files.dir.join(key);
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(io)?;
            f.write_all(value.expose().as_bytes()).map_err(io)?;
            files.args.push(format!("{key}#file={}", path.display()));
        }
        Ok(files)
    }
}

impl Drop for ValueFiles {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn push_opt(args: &mut Vec<String>, flag: &str, value: Option<&str>) {
    if let Some(v) = value {
        args.push(flag.to_string());
        args.push(v.to_string());
    }
}

pub(crate) fn secret_add_args(opts: &SecretOptions, content_args: &[String]) -> Vec<String> {
    let mut args = opts.args();
    args.extend(content_args.iter().cloned());
    args
}

pub(crate) fn secret_get_args(
    id: Option<&str>,
    label: Option<&str>,
    mode: SecretGetMode,
) -> Vec<String> {
    let mut args = argv(["--format=json"]);
    args.extend(id.map(str::to_string));
    push_opt(&mut args, "--label", label);
    match mode {
        SecretGetMode::Tracked => {}
        SecretGetMode::Peek => args.push("--peek".into()),
        SecretGetMode::Refresh => args.push("--refresh".into()),
    }
    args
}

pub(crate) fn secret_set_args(
    id: &str,
    opts: &SecretOptions,
    content_args: &[String],
) -> Vec<String> {
    let mut args = opts.args();
    args.push(id.to_string());
    args.extend(content_args.iter().cloned());
    args
}

pub(crate) fn secret_info_get_args(id: Option<&str>, label: Option<&str>) -> Vec<String> {
    let mut args = argv(["--format=json"]);
    args.extend(id.map(str::to_string));
    push_opt(&mut args, "--label", label);
    args
}

pub(crate) fn secret_grant_args(id: &str, relation_id: u64, unit: Option<&str>) -> Vec<String> {
    let mut args = argv(["--relation", &relation_id.to_string()]);
    push_opt(&mut args, "--unit", unit);
    args.push(id.to_string());
    args
}

pub(crate) fn secret_revoke_args(
    id: &str,
    relation_id: u64,
    app: Option<&str>,
    unit: Option<&str>,
) -> Vec<String> {
    let mut args = argv(["--relation", &relation_id.to_string()]);
    push_opt(&mut args, "--app", app);
    push_opt(&mut args, "--unit", unit);
    args.push(id.to_string());
    args
}

pub(crate) fn secret_remove_args(id: &str, revision: Option<u64>) -> Vec<String> {
    let mut args = vec![id.to_string()];
    if let Some(rev) = revision {
        args.extend(argv(["--revision", &rev.to_string()]));
    }
    args
}

pub(crate) fn parse_secret_content(stdout: &[u8]) -> Result<SecretContent> {
    let raw: Option<BTreeMap<String, String>> = super::parse_json("secret-get", stdout)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, Secret::new(v)))
        .collect())
}

pub(crate) fn parse_secret_info(stdout: &[u8]) -> Result<SecretInfo> {
    let raw: BTreeMap<String, SecretInfo> = super::parse_json("secret-info-get", stdout)?;
    let mut entries = raw.into_iter();
    match (entries.next(), entries.next()) {
        (Some((id, mut info)), None) => {
            info.id = id;
            Ok(info)
        }
        _ => Err(Error::Parse {
            tool: "secret-info-get".into(),
            message: "expected exactly one secret in the answer".into(),
        }),
    }
}

impl HookTools {
    /// `secret-add [--label ..] [--description ..] [--expire ..] [--rotate ..] --owner <o>
    /// k#file=...`: create a secret; returns its id (usable for the rest of the hook; Juju commits
    /// it when the hook succeeds).
    pub fn secret_add(&self, content: &SecretContent, opts: &SecretOptions) -> Result<String> {
        let files = ValueFiles::write(content)?;
        let stdout = self.call("secret-add", &secret_add_args(opts, &files.args), None)?;
        drop(files);
        let id = String::from_utf8_lossy(&stdout).trim().to_string();
        if id.is_empty() {
            return Err(Error::Parse {
                tool: "secret-add".into(),
                message: "no secret id in the answer".into(),
            });
        }
        let mut cache = self.cache();
        cache.secret_latest.insert(id.clone(), content.clone());
        cache.secret_ids = None;
        Ok(id)
    }

    /// `secret-get --format=json [<id>] [--label L] [--peek|--refresh]`.
    ///
    /// By id, by label, or both (which binds the label to the id for this consumer). Missing or
    /// not granted → [`Error::SecretNotFound`].
    pub fn secret_get(
        &self,
        id: Option<&str>,
        label: Option<&str>,
        mode: SecretGetMode,
    ) -> Result<SecretContent> {
        if id.is_none() && label.is_none() {
            return Err(Error::Invalid("secret-get needs an id or a label".into()));
        }
        let key = (
            format!("{}|{}", id.unwrap_or(""), label.unwrap_or("")),
            mode,
        );
        if let Some(content) = self.cache().secrets.get(&key) {
            return Ok(content.clone());
        }
        let stdout = self.call("secret-get", &secret_get_args(id, label, mode), None)?;
        let content = parse_secret_content(&stdout)?;
        let mut cache = self.cache();
        if mode != SecretGetMode::Tracked
            && let Some(id) = id
        {
            cache.secret_latest.insert(id.to_string(), content.clone());
        }
        cache.secrets.insert(key, content.clone());
        Ok(content)
    }

    /// `secret-set [...] --owner <o> <id> [k#file=...]`: a new revision with `content` (when
    /// given) and/or new metadata. Not sent when the content equals what this hook last read or
    /// wrote as the latest revision and no metadata changes.
    pub fn secret_set(
        &self,
        id: &str,
        content: Option<&SecretContent>,
        opts: &SecretOptions,
    ) -> Result<()> {
        if !opts.changes_metadata() {
            match content {
                None => return Ok(()),
                Some(c) if self.cache().secret_latest.get(id) == Some(c) => return Ok(()),
                Some(_) => {}
            }
        }
        let files = content.map(ValueFiles::write).transpose()?;
        let content_args = files.as_ref().map(|f| f.args.clone()).unwrap_or_default();
        self.call(
            "secret-set",
            &secret_set_args(id, opts, &content_args),
            None,
        )?;
        drop(files);
        let mut cache = self.cache();
        cache
            .secrets
            .retain(|(k, _), _| !k.starts_with(&format!("{id}|")));
        cache.secret_info.remove(id);
        if let Some(c) = content {
            cache.secret_latest.insert(id.to_string(), c.clone());
        }
        Ok(())
    }

    /// `secret-info-get --format=json <id>` or `--label L`: metadata of a secret this app or unit
    /// owns.
    pub fn secret_info_get(&self, id: Option<&str>, label: Option<&str>) -> Result<SecretInfo> {
        let key = match (id, label) {
            (Some(id), None) => id.to_string(),
            (None, Some(label)) => format!("label:{label}"),
            _ => {
                return Err(Error::Invalid(
                    "secret-info-get takes an id or a label, not both".into(),
                ));
            }
        };
        if let Some(info) = self.cache().secret_info.get(&key) {
            return Ok(info.clone());
        }
        let stdout = self.call("secret-info-get", &secret_info_get_args(id, label), None)?;
        let info = parse_secret_info(&stdout)?;
        self.cache().secret_info.insert(key, info.clone());
        Ok(info)
    }

    /// `secret-grant --relation <id> [--unit <unit>] <secret-id>`: let the remote application (or
    /// one of its units) read the secret.
    pub fn secret_grant(&self, id: &str, relation_id: u64, unit: Option<&str>) -> Result<()> {
        self.call(
            "secret-grant",
            &secret_grant_args(id, relation_id, unit),
            None,
        )?;
        Ok(())
    }

    /// `secret-revoke --relation <id> [--app <app>] [--unit <unit>] <secret-id>`.
    pub fn secret_revoke(
        &self,
        id: &str,
        relation_id: u64,
        app: Option<&str>,
        unit: Option<&str>,
    ) -> Result<()> {
        self.call(
            "secret-revoke",
            &secret_revoke_args(id, relation_id, app, unit),
            None,
        )?;
        Ok(())
    }

    /// `secret-remove <id> [--revision <n>]`: remove one revision, or the whole secret.
    pub fn secret_remove(&self, id: &str, revision: Option<u64>) -> Result<()> {
        self.call("secret-remove", &secret_remove_args(id, revision), None)?;
        let mut cache = self.cache();
        if revision.is_none() {
            cache.secret_latest.remove(id);
            cache
                .secrets
                .retain(|(k, _), _| !k.starts_with(&format!("{id}|")));
        }
        cache.secret_ids = None;
        cache.secret_info.remove(id);
        Ok(())
    }

    /// `secret-ids --format=json`: the secrets this app or unit owns.
    pub fn secret_ids(&self) -> Result<Vec<String>> {
        if let Some(ids) = &self.cache().secret_ids {
            return Ok(ids.clone());
        }
        // Juju prints `null` (Go's nil list) when the app or unit owns no secret.
        let ids: Option<Vec<String>> =
            self.call_json("secret-ids", &argv(["--format=json"]), None)?;
        let ids = ids.unwrap_or_default();
        self.cache().secret_ids = Some(ids.clone());
        Ok(ids)
    }
}

/// The directory secret values are staged in, for tests that check it is gone.
#[cfg(test)]
pub(crate) fn staging_dir_exists(args: &[String]) -> bool {
    args.iter()
        .filter_map(|a| a.split_once("#file=").map(|(_, p)| PathBuf::from(p)))
        .any(|p| p.parent().is_some_and(std::path::Path::exists))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn argv_matches_the_spec() {
        let opts = SecretOptions {
            label: Some("database-peers.pg.app".into()),
            description: Some("d".into()),
            expire: Some("2026-12-01T00:00:00Z".into()),
            rotate: Some(RotatePolicy::Monthly),
            owner: SecretOwner::Unit,
        };
        assert_eq!(
            secret_add_args(&opts, &["k#file=/tmp/x/k".into()]),
            [
                "--label",
                "database-peers.pg.app",
                "--description",
                "d",
                "--expire",
                "2026-12-01T00:00:00Z",
                "--rotate",
                "monthly",
                "--owner",
                "unit",
                "k#file=/tmp/x/k"
            ]
        );
        assert_eq!(
            secret_get_args(Some("secret:abc"), Some("lbl"), SecretGetMode::Refresh),
            ["--format=json", "secret:abc", "--label", "lbl", "--refresh"]
        );
        assert_eq!(
            secret_get_args(None, Some("lbl"), SecretGetMode::Peek),
            ["--format=json", "--label", "lbl", "--peek"]
        );
        assert_eq!(
            secret_set_args(
                "secret:abc",
                &SecretOptions::owned_by(SecretOwner::Application),
                &["a#file=/f".into()]
            ),
            ["--owner", "application", "secret:abc", "a#file=/f"]
        );
        assert_eq!(
            secret_info_get_args(None, Some("l")),
            ["--format=json", "--label", "l"]
        );
        assert_eq!(
            secret_grant_args("secret:abc", 7, Some("app/0")),
            ["--relation", "7", "--unit", "app/0", "secret:abc"]
        );
        assert_eq!(
            secret_revoke_args("secret:abc", 7, Some("app"), None),
            ["--relation", "7", "--app", "app", "secret:abc"]
        );
        assert_eq!(
            secret_remove_args("secret:abc", Some(2)),
            ["secret:abc", "--revision", "2"]
        );
        assert_eq!(secret_remove_args("secret:abc", None), ["secret:abc"]);
    }

    #[test]
    fn keys_follow_juju_rules() {
        for good in ["key", "operator-password", "ca-app1", "cauth"] {
            validate_secret_key(good).unwrap();
        }
        for bad in ["ab", "1ab", "Key", "a--b", "abc-", "a_bc", "-abc", ""] {
            assert!(validate_secret_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_staged_in_private_files() {
        let content: SecretContent = [("password".to_string(), Secret::new("s3cr3t"))].into();
        let files = ValueFiles::write(&content).unwrap();
        let dir_mode = fs::metadata(&files.dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        let (_, path) = files.args[0].split_once("#file=").unwrap();
        assert_eq!(fs::read_to_string(path).unwrap(), "s3cr3t");
        assert_eq!(
            fs::metadata(path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let args = files.args.clone();
        assert!(staging_dir_exists(&args));
        drop(files);
        assert!(!staging_dir_exists(&args));
        assert!(ValueFiles::write(&SecretContent::new()).is_err());
    }

    #[test]
    fn parses_answers() {
        let content = parse_secret_content(br#"{"operator-password": "x"}"#).unwrap();
        assert_eq!(content["operator-password"].expose(), "x");
        let info = parse_secret_info(
            br#"{"secret:abc": {"revision": 3, "label": "l", "owner": "application", "rotation": "daily"}}"#,
        )
        .unwrap();
        assert_eq!(info.id, "secret:abc");
        assert_eq!(info.revision, 3);
        assert_eq!(info.owner, Some(SecretOwner::Application));
        assert_eq!(info.rotation, Some(RotatePolicy::Daily));
        assert!(parse_secret_info(b"{}").is_err());
    }
}
