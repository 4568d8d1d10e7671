//! pgBackRest, which takes the backups to S3: its configuration (`/etc/pgbackrest.conf`, which
//! holds the S3 secret key and the cipher passphrase, so it is pushed with mode 0600), the
//! `archive_command` PostgreSQL runs, and what the backup actions read from its output and from
//! the operator (`list-backups`, `restore-to-time`, the backup type).
//!
//! Everything here is pure: the caller runs the commands and pushes the files.

use std::fmt::{self, Write as _};

use juju::Secret;
use serde::{Deserialize, Serialize};

use super::{DATA_DIR, SOCKET_DIR};
use crate::relations::s3::S3Parameters;

/// Where pgBackRest reads its configuration in the workload.
pub const CONF_FILE: &str = "/etc/pgbackrest.conf";

/// Where the caller writes the S3 endpoint's CA chain (see [`ca_chain_pem`]) when the provider
/// gives one; `repo1-storage-ca-file` points there.
pub const TLS_CA_CHAIN_FILE: &str = "/var/lib/postgresql/data/pgbackrest-tls-ca-chain.crt";

/// The PostgreSQL user pgBackRest connects as.
pub const BACKUP_USER: &str = "backup";

/// Length of a new cipher passphrase.
pub const CIPHER_PASSPHRASE_LEN: usize = 64;

/// The stanza (pgBackRest's name for one cluster's backups): `<model>.patroni-<app>`.
pub fn stanza_name(model: &str, app: &str) -> String {
    format!("{model}.patroni-{app}")
}

/// PostgreSQL's `archive_command`: push each finished WAL file to the repository.
pub fn archive_command(stanza: &str) -> String {
    format!("pgbackrest --stanza={stanza} archive-push %p")
}

/// A new passphrase for `repo1-cipher-pass`, from the operating system's CSPRNG.
pub fn new_cipher_passphrase() -> Secret {
    crate::passwords::new_password(CIPHER_PASSPHRASE_LEN)
}

/// The CA chain to write at [`TLS_CA_CHAIN_FILE`]: the provider's certificates one after the
/// other, or `None` when it gave none (and `repo1-storage-ca-file` is not rendered).
pub fn ca_chain_pem(s3: &S3Parameters) -> Option<String> {
    if s3.ca_chain.is_empty() {
        return None;
    }
    let mut pem = s3.ca_chain.join("\n");
    pem.push('\n');
    Some(pem)
}

/// Everything `pgbackrest.conf` depends on.
#[derive(Debug, Clone, Copy)]
pub struct ConfInputs<'a> {
    /// Where the backups go (from the `s3-parameters` relation).
    pub s3: &'a S3Parameters,
    /// The stanza ([`stanza_name`]).
    pub stanza: &'a str,
    /// The passphrase when backups are encrypted (`aes-256-cbc`), `None` otherwise.
    pub cipher_passphrase: Option<&'a Secret>,
    /// CPU cores of the unit; restores use all but two of them (one at least).
    pub cores: usize,
    /// The workload's pgBackRest has block incremental backups outside beta (2.46 and later;
    /// 2.45 refuses `repo1-block` without `--beta`).
    pub block_incremental: bool,
}

/// Whether `pgbackrest version`'s output (`pgBackRest 2.45`) names a version with block
/// incremental backups outside beta (2.46 or later).
pub fn has_block_incremental(version_output: &str) -> bool {
    let Some(version) = version_output.split_whitespace().nth(1) else {
        return false;
    };
    let mut parts = version.split('.').map(|p| {
        p.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse::<u32>()
            .unwrap_or(0)
    });
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (2, 46)
}

/// Why `pgbackrest.conf` cannot be rendered. No variant holds a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfError {
    /// A value holds a line break or another control character, which would let it add lines
    /// to the file.
    #[error("the {0} contains a line break or control character")]
    ControlCharacter(&'static str),
    /// The stanza is empty or holds `[` or `]`.
    #[error("the stanza name is not usable in pgbackrest.conf")]
    Stanza,
    /// Encryption is on but the passphrase is empty.
    #[error("the cipher passphrase is empty")]
    EmptyPassphrase,
}

fn check(field: &'static str, value: &str) -> Result<(), ConfError> {
    if value.chars().any(char::is_control) {
        Err(ConfError::ControlCharacter(field))
    } else {
        Ok(())
    }
}

/// Render `/etc/pgbackrest.conf` in the reference's order. The text holds the S3 secret key
/// (and the passphrase), hence the [`Secret`]. `repo1-storage-verify-tls` is never written: it
/// defaults to `y`.
pub fn render_conf(p: &ConfInputs) -> Result<Secret, ConfError> {
    let s3 = p.s3;
    let (host, port) = s3.endpoint_host_port();
    check("stanza", p.stanza)?;
    if p.stanza.is_empty() || p.stanza.contains(['[', ']']) {
        return Err(ConfError::Stanza);
    }
    check("S3 path", &s3.path)?;
    check("S3 region", &s3.region)?;
    check("S3 endpoint", &host)?;
    check("S3 bucket", &s3.bucket)?;
    check("S3 URI style", &s3.uri_style)?;
    check("S3 access key", &s3.access_key)?;
    check("S3 secret key", s3.secret_key.expose())?;
    if let Some(pass) = p.cipher_passphrase {
        check("cipher passphrase", pass.expose())?;
        if pass.is_empty() {
            return Err(ConfError::EmptyPassphrase);
        }
    }

    // Large enough that the text (secrets included) is never reallocated, which would leave a
    // copy behind that `Secret` cannot wipe.
    let capacity = 2048
        + [
            &s3.path,
            &s3.region,
            &host,
            &s3.bucket,
            &s3.uri_style,
            &s3.access_key,
        ]
        .iter()
        .map(|v| v.len())
        .sum::<usize>()
        + s3.secret_key.expose().len()
        + p.stanza.len()
        + p.cipher_passphrase.map_or(0, |c| c.expose().len());
    let mut out = String::with_capacity(capacity);
    let mut line = |text: fmt::Arguments| {
        // Writing to a String cannot fail.
        let _ = out.write_fmt(text);
        out.push('\n');
    };
    line(format_args!("[global]"));
    line(format_args!("backup-standby=y"));
    line(format_args!("log-level-stderr=warn"));
    line(format_args!("compress-type=zst"));
    line(format_args!("repo1-retention-full-type=time"));
    line(format_args!("repo1-retention-full={}", s3.retention_days));
    line(format_args!("repo1-retention-history=365"));
    line(format_args!("repo1-type=s3"));
    line(format_args!("repo1-path={}", s3.path));
    line(format_args!("repo1-s3-region={}", s3.region));
    line(format_args!("repo1-s3-endpoint={host}"));
    if let Some(port) = port {
        line(format_args!("repo1-storage-port={port}"));
    }
    line(format_args!("repo1-s3-bucket={}", s3.bucket));
    line(format_args!("repo1-s3-uri-style={}", s3.uri_style));
    if !s3.ca_chain.is_empty() {
        line(format_args!("repo1-storage-ca-file={TLS_CA_CHAIN_FILE}"));
    }
    line(format_args!("repo1-s3-key={}", s3.access_key));
    line(format_args!(
        "repo1-s3-key-secret={}",
        s3.secret_key.expose()
    ));
    if let Some(pass) = p.cipher_passphrase {
        line(format_args!("repo1-cipher-type=aes-256-cbc"));
        line(format_args!("repo1-cipher-pass={}", pass.expose()));
    }
    if p.block_incremental {
        line(format_args!("repo1-block=y"));
    }
    line(format_args!("repo1-bundle=y"));
    line(format_args!("start-fast=y"));
    line(format_args!(""));
    line(format_args!("[{}]", p.stanza));
    line(format_args!("pg1-path={DATA_DIR}"));
    line(format_args!("pg1-user={BACKUP_USER}"));
    line(format_args!("pg1-socket-path={SOCKET_DIR}"));
    line(format_args!(""));
    line(format_args!("[global:restore]"));
    line(format_args!(
        "process-max={}",
        p.cores.saturating_sub(2).max(1)
    ));
    Ok(Secret::new(out))
}

// ---------------------------------------------------------------------------------------------
// list-backups

/// One stanza in `pgbackrest info --output=json`. Only what the listing needs is read; other
/// fields (`status`, `db`, `archive`, `repo`, ...) are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StanzaInfo {
    name: String,
    backup: Vec<BackupInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BackupInfo {
    label: String,
    #[serde(rename = "type")]
    kind: String,
    reference: Option<Vec<String>>,
    lsn: TextRange,
    timestamp: TimeRange,
    archive: Option<TextRange>,
    error: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TextRange {
    start: Option<String>,
    stop: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TimeRange {
    start: Option<i64>,
    stop: Option<i64>,
}

/// One backup as `list-backups` shows it (the JSON form of the table's rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct BackupRow {
    /// The backup's time from its label, `%Y-%m-%dT%H:%M:%SZ` (what `restore` takes).
    pub backup_id: String,
    /// pgBackRest's label (`20261128-101500F_20261128-102000D`).
    pub label: String,
    /// `full backup`, `differential backup` or `incremental backup`.
    pub action: String,
    /// `finished`, or `failed: True` (the reference's text) when pgBackRest flagged an error.
    pub status: String,
    /// The id of the backup this one depends on (the last in pgBackRest's `reference`).
    pub reference_backup_id: Option<String>,
    /// `<lsn start> / <lsn stop>`.
    pub lsn_start_stop: String,
    /// When the backup started, `%Y-%m-%dT%H:%M:%SZ` (UTC).
    pub start_time: String,
    /// When it finished, same format.
    pub finish_time: String,
    /// The timeline (hex, no leading zeros) of the first WAL file it needs.
    pub timeline: String,
    /// `/<stanza>/<label>`.
    pub backup_path: String,
}

/// Unix seconds as `%Y-%m-%dT%H:%M:%SZ` in UTC.
fn format_utc(secs: i64) -> String {
    format!("{}Z", juju::time::utc_date_time(secs))
}

/// The backup id of a label: its last `YYYYMMDD-HHMMSS` as `%Y-%m-%dT%H:%M:%SZ`, or the label
/// itself when it has none.
fn backup_id(label: &str) -> String {
    let b = label.as_bytes();
    let stamp = (0..b.len().saturating_sub(14)).rev().find_map(|i| {
        let w = &b[i..i + 15];
        let ok = w.iter().enumerate().all(|(j, c)| {
            if j == 8 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
        ok.then_some(w)
    });
    match stamp {
        Some(w) => {
            let s = |r: std::ops::Range<usize>| String::from_utf8_lossy(&w[r]).into_owned();
            format!(
                "{}-{}-{}T{}:{}:{}Z",
                s(0..4),
                s(4..6),
                s(6..8),
                s(9..11),
                s(11..13),
                s(13..15)
            )
        }
        None => label.to_string(),
    }
}

/// The timeline of a WAL file name: its first 8 hex digits without leading zeros.
fn timeline(wal: &str) -> String {
    wal.chars()
        .take(8)
        .collect::<String>()
        .trim_start_matches('0')
        .to_string()
}

fn action(kind: &str) -> String {
    match kind {
        "full" => "full backup".to_string(),
        "diff" => "differential backup".to_string(),
        "incr" => "incremental backup".to_string(),
        other => format!("{} backup", other.chars().take(32).collect::<String>()),
    }
}

fn row(b: &BackupInfo, stanza: &str) -> BackupRow {
    let status = match b.error {
        Some(true) => "failed: True".to_string(),
        _ => "finished".to_string(),
    };
    let reference_backup_id = b
        .reference
        .as_ref()
        .and_then(|r| r.last())
        .map(|l| backup_id(l));
    let time = |t: Option<i64>| t.map(format_utc).unwrap_or_default();
    BackupRow {
        backup_id: backup_id(&b.label),
        label: b.label.clone(),
        action: action(&b.kind),
        status,
        reference_backup_id,
        lsn_start_stop: format!(
            "{} / {}",
            b.lsn.start.as_deref().unwrap_or_default(),
            b.lsn.stop.as_deref().unwrap_or_default()
        ),
        start_time: time(b.timestamp.start),
        finish_time: time(b.timestamp.stop),
        timeline: b
            .archive
            .as_ref()
            .and_then(|a| a.start.as_deref())
            .map(timeline)
            .unwrap_or_default(),
        backup_path: format!("/{stanza}/{}", b.label),
    }
}

/// The `list-backups` output from `pgbackrest info --output=json`: the reference's text table
/// and the same rows for a JSON answer, sorted by backup id. Only the stanza named `stanza` is
/// read; when it is absent (nothing backed up yet) there are no rows. `bucket` and `path` are
/// the S3 parameters', shown in the table's head.
pub fn list_backups(
    info_json: &str,
    stanza: &str,
    bucket: &str,
    path: &str,
) -> Result<(String, Vec<BackupRow>), String> {
    let stanzas: Vec<StanzaInfo> = serde_json::from_str(info_json).map_err(|e| {
        format!(
            "cannot read the output of pgbackrest info (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let mut rows: Vec<BackupRow> = stanzas
        .iter()
        .filter(|s| s.name == stanza)
        .flat_map(|s| s.backup.iter().map(|b| row(b, stanza)))
        .collect();
    rows.sort_by(|a, b| (&a.backup_id, &a.label).cmp(&(&b.backup_id, &b.label)));

    let table = backups_table(bucket, path, &rows);
    Ok((table, rows))
}

/// The reference's `list-backups` table of `rows` (sorted by the caller), under a head naming
/// the bucket and the path.
pub fn backups_table(bucket: &str, path: &str, rows: &[BackupRow]) -> String {
    let header = format!(
        "{:<20} | {:<19} | {:<8} | {:<20} | {:<23} | {:<20} | {:<20} | {:<8} | {}",
        "backup-id",
        "action",
        "status",
        "reference-backup-id",
        "LSN start/stop",
        "start-time",
        "finish-time",
        "timeline",
        "backup-path"
    );
    let rule = "-".repeat(header.chars().count());
    let mut lines = vec![
        format!("Storage bucket name: {bucket}"),
        format!("Backups base path: {path}/backup/"),
        String::new(),
        header,
        rule,
    ];
    for r in rows {
        lines.push(format!(
            "{:<20} | {:<19} | {:<8} | {:<20} | {:<23} | {:<20} | {:<20} | {:<8} | {}",
            r.backup_id,
            r.action,
            r.status,
            r.reference_backup_id.as_deref().unwrap_or("None"),
            r.lsn_start_stop,
            r.start_time,
            r.finish_time,
            r.timeline,
            r.backup_path
        ));
    }
    lines.join("\n")
}

/// The restore rows of `list-backups`: one per timeline history file in the archive, from
/// `pgbackrest repo-ls archive/<stanza> --recurse --filter '\.history$' --output=json` (an
/// object of paths, each with its `time`). A new timeline is what a restore (or a failover)
/// starts.
pub fn timeline_rows(repo_ls_json: &str) -> Result<Vec<BackupRow>, String> {
    #[derive(Deserialize)]
    struct Entry {
        #[serde(default)]
        time: Option<i64>,
    }
    let entries: std::collections::BTreeMap<String, Entry> = serde_json::from_str(repo_ls_json)
        .map_err(|_| "cannot read the output of pgbackrest repo-ls".to_string())?;
    let mut rows = Vec::new();
    for (path, entry) in entries {
        let name = path.rsplit('/').next().unwrap_or_default();
        let Some(tl) = name.strip_suffix(".history") else {
            continue;
        };
        if tl.len() != 8 || !tl.chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        let Some(time) = entry.time else { continue };
        let id = format_utc(time);
        rows.push(BackupRow {
            backup_id: id.clone(),
            label: String::new(),
            action: "restore".into(),
            status: "finished".into(),
            reference_backup_id: None,
            lsn_start_stop: "n/a".into(),
            start_time: id,
            finish_time: "n/a".into(),
            timeline: timeline(tl),
            backup_path: "n/a".into(),
        });
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// Action parameters and outputs

/// Where a restore should stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreTarget {
    /// Replay all the WAL there is.
    Latest,
    /// Stop at this time (PostgreSQL's `recovery_target_time` text, as given).
    Time(String),
}

/// `n` ASCII digits at `b[at..]` as a number.
fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let part = b.get(at..at + n)?;
    part.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn parse_time(b: &[u8]) -> Option<()> {
    // YYYY-MM-DD HH:MM:SS
    let seps = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
    if seps.iter().any(|&(i, c)| b.get(i) != Some(&c)) {
        return None;
    }
    digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour >= 24
        || minute >= 60
        || second >= 60
    {
        return None;
    }
    let mut rest = &b[19..];
    // [.ffffff]: one to six digits.
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=6).contains(&n) {
            return None;
        }
        rest = &frac[n..];
    }
    // [±HH|±HHMM|±HH:MM]
    if let Some((&sign, offset)) = rest.split_first() {
        if sign != b'+' && sign != b'-' {
            return None;
        }
        let minutes = match offset.len() {
            2 => Some(0),
            4 => digits(offset, 2, 2),
            5 if offset[2] == b':' => digits(offset, 3, 2),
            _ => None,
        }?;
        if digits(offset, 0, 2)? >= 24 || minutes >= 60 {
            return None;
        }
    }
    Some(())
}

/// Check the `restore-to-time` action parameter: `latest`, or
/// `YYYY-MM-DD HH:MM:SS[.ffffff][±HH|±HHMM|±HH:MM]` (kept as given).
pub fn parse_restore_to_time(text: &str) -> Result<RestoreTarget, &'static str> {
    if text == "latest" {
        return Ok(RestoreTarget::Latest);
    }
    match parse_time(text.as_bytes()) {
        Some(()) => Ok(RestoreTarget::Time(text.to_string())),
        None => Err("Bad restore-to-time format"),
    }
}

/// pgBackRest's `--type` for the `create-backup` action's `type` parameter.
pub fn backup_type(text: &str) -> Result<&'static str, String> {
    match text {
        "full" => Ok("full"),
        "differential" => Ok("diff"),
        "incremental" => Ok("incr"),
        other => Err(format!(
            "Invalid backup type: {}. Possible values: full, differential, incremental.",
            other.chars().take(64).collect::<String>()
        )),
    }
}

/// The label of the backup `pgbackrest backup` just took, from its output
/// (`... INFO: new backup label = 20261128-101500F`). Only a label made of ASCII letters,
/// digits, `-` and `_` is returned.
pub fn backup_label_from_output(stdout: &str) -> Option<String> {
    stdout.lines().find_map(|line| {
        let (_, rest) = line.split_once("new backup label = ")?;
        let label = rest.split_whitespace().next()?;
        label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            .then(|| label.to_string())
    })
}

// ---------------------------------------------------------------------------------------------
// Stanza initialisation and restore

/// The stanza's restore target, as the charm records it while a restore runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestorePlan {
    /// The stanza restored from.
    pub stanza: String,
    /// The backup set (`--set`), when a backup-id was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `restore-to-time` as given (`latest` or a timestamp), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The timeline to follow (hex, without `0x`), for a backup-id with a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<String>,
}

/// The command Patroni bootstraps a restore with (spec §5.1): pgBackRest's `restore` into the
/// data directory, to the backup set and/or the point in time of `plan`.
pub fn restore_command(plan: &RestorePlan) -> String {
    let mut parts = vec![
        "pgbackrest".to_string(),
        format!("--stanza={}", plan.stanza),
        format!("--pg1-path={DATA_DIR}"),
    ];
    if let Some(label) = &plan.label {
        parts.push(format!("--set={label}"));
    }
    if let Some(tl) = &plan.timeline {
        parts.push(format!("--target-timeline=0x{tl}"));
    }
    match plan.target.as_deref() {
        Some("latest") => parts.push("--type=default".into()),
        Some(time) => {
            parts.push("--target-action=promote".into());
            // Patroni splits the command as a shell would: the quotes keep the time one word.
            parts.push(format!("\"--target={time}\""));
            parts.push("--type=time".into());
        }
        None => {
            parts.push("--target-action=promote".into());
            parts.push("--type=immediate".into());
        }
    }
    parts.push("restore".into());
    parts.join(" ")
}

/// The cluster's system identifier from `pg_controldata`'s output.
pub fn system_id_from_controldata(output: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "Database system identifier")
            .then(|| value.trim().to_string())
            .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
    })
}

/// Why a repository cannot take this cluster's backups (spec §9.3 step 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoProblem {
    /// Another cluster's stanza or system id is there.
    Foreign,
    /// pgBackRest reports the stanza invalid; its message.
    Invalid(String),
}

impl fmt::Display for RepoProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepoProblem::Foreign => {
                f.write_str("the S3 repository has backups from another cluster")
            }
            RepoProblem::Invalid(message) => write!(
                f,
                "failed to initialize stanza, check your S3 settings: {}",
                message.chars().take(120).collect::<String>()
            ),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RepoStanza {
    name: String,
    status: RepoStatus,
    db: Vec<RepoDb>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RepoStatus {
    code: i64,
    message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RepoDb {
    #[serde(rename = "system-id")]
    system_id: Option<u64>,
}

/// Whether the repository whose `pgbackrest info --output=json` is `info_json` can hold
/// `stanza`'s backups for the cluster `system_id`: only `stanza` there, and with this cluster's
/// system id once it has one. `model_uuid_in_repo` is the content of `model-uuid.txt` (`None`:
/// absent), which must name `model_uuid` when present.
pub fn check_repository(
    info_json: &str,
    stanza: &str,
    system_id: &str,
    model_uuid_in_repo: Option<&str>,
    model_uuid: &str,
) -> Result<(), RepoProblem> {
    if model_uuid_in_repo.is_some_and(|found| found.trim() != model_uuid) {
        return Err(RepoProblem::Foreign);
    }
    let stanzas: Vec<RepoStanza> = serde_json::from_str(info_json)
        .map_err(|_| RepoProblem::Invalid("cannot read pgbackrest info".into()))?;
    for found in &stanzas {
        if found.name != stanza {
            return Err(RepoProblem::Foreign);
        }
        // 1-3 (missing stanza path, no valid backup, missing stanza data) are what
        // stanza-create and a first backup fix; 6 is a backup running. The rest (other
        // errors, cipher or database mismatches between repositories) need the operator.
        if !matches!(found.status.code, 0..=3 | 6) {
            return Err(RepoProblem::Invalid(found.status.message.clone()));
        }
        if found
            .db
            .iter()
            .filter_map(|db| db.system_id)
            .any(|id| id.to_string() != system_id)
        {
            return Err(RepoProblem::Foreign);
        }
    }
    Ok(())
}

/// pgBackRest's `ERROR`/`WARN` lines from a failed command's output, joined, at most 120
/// characters (the tail of the reference's blocked message).
pub fn error_lines(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("ERROR:") || l.contains("WARN:"))
        .collect();
    let text = if lines.is_empty() {
        output.trim().lines().last().unwrap_or_default().to_string()
    } else {
        lines.join(" ")
    };
    text.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relations::s3;

    const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
    const SECRET_KEY: &str = "Sup3rS3cretKey/with+chars";
    const PASSPHRASE: &str = "pass-phrase-0123456789";

    fn s3_params(extra: &[(&str, &str)]) -> S3Parameters {
        let mut data = crate::relations::tests::bag(&[
            ("bucket", "pg-backups"),
            ("access-key", "AKIAEXAMPLE"),
            ("secret-key", SECRET_KEY),
        ]);
        data.extend(crate::relations::tests::bag(extra));
        s3::parse(&data).unwrap()
    }

    #[test]
    fn names_and_commands() {
        assert_eq!(
            stanza_name("prod", "postgresql-k8s"),
            "prod.patroni-postgresql-k8s"
        );
        assert_eq!(
            archive_command("prod.patroni-postgresql-k8s"),
            "pgbackrest --stanza=prod.patroni-postgresql-k8s archive-push %p"
        );
    }

    #[test]
    fn cipher_passphrases_are_long_and_fresh() {
        let a = new_cipher_passphrase();
        let b = new_cipher_passphrase();
        assert_eq!(a.expose().len(), 64);
        assert!(a.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn full_conf() {
        let chain = serde_json::to_string(&[CERT, CERT]).unwrap();
        let s3 = s3_params(&[
            ("endpoint", "https://minio.example.com:9000/"),
            ("region", "eu-west-1"),
            ("path", "/postgresql/prod/"),
            ("s3-uri-style", "path"),
            ("delete-older-than-days", "30"),
            ("tls-ca-chain", &chain),
        ]);
        let pass = Secret::new(PASSPHRASE);
        let conf = render_conf(&ConfInputs {
            s3: &s3,
            stanza: "prod.patroni-pg",
            cipher_passphrase: Some(&pass),
            cores: 8,
            block_incremental: true,
        })
        .unwrap();
        assert_eq!(
            conf.expose(),
            "[global]
backup-standby=y
log-level-stderr=warn
compress-type=zst
repo1-retention-full-type=time
repo1-retention-full=30
repo1-retention-history=365
repo1-type=s3
repo1-path=/postgresql/prod
repo1-s3-region=eu-west-1
repo1-s3-endpoint=minio.example.com
repo1-storage-port=9000
repo1-s3-bucket=pg-backups
repo1-s3-uri-style=path
repo1-storage-ca-file=/var/lib/postgresql/data/pgbackrest-tls-ca-chain.crt
repo1-s3-key=AKIAEXAMPLE
repo1-s3-key-secret=Sup3rS3cretKey/with+chars
repo1-cipher-type=aes-256-cbc
repo1-cipher-pass=pass-phrase-0123456789
repo1-block=y
repo1-bundle=y
start-fast=y

[prod.patroni-pg]
pg1-path=/var/lib/postgresql/data/pgdata
pg1-user=backup
pg1-socket-path=/var/run/postgresql

[global:restore]
process-max=6
"
        );
        assert_eq!(ca_chain_pem(&s3).unwrap(), format!("{CERT}\n{CERT}\n"),);
        let debug = format!("{conf:?}");
        assert!(!debug.contains(SECRET_KEY) && !debug.contains(PASSPHRASE));
        assert!(!conf.expose().contains("verify-tls"));
    }

    #[test]
    fn minimal_conf() {
        let s3 = s3_params(&[]);
        let conf = render_conf(&ConfInputs {
            s3: &s3,
            stanza: "m.patroni-pg",
            cipher_passphrase: None,
            cores: 1,
            block_incremental: false,
        })
        .unwrap();
        assert_eq!(
            conf.expose(),
            "[global]
backup-standby=y
log-level-stderr=warn
compress-type=zst
repo1-retention-full-type=time
repo1-retention-full=9999999
repo1-retention-history=365
repo1-type=s3
repo1-path=/
repo1-s3-region=
repo1-s3-endpoint=s3.amazonaws.com
repo1-s3-bucket=pg-backups
repo1-s3-uri-style=host
repo1-s3-key=AKIAEXAMPLE
repo1-s3-key-secret=Sup3rS3cretKey/with+chars
repo1-bundle=y
start-fast=y

[m.patroni-pg]
pg1-path=/var/lib/postgresql/data/pgdata
pg1-user=backup
pg1-socket-path=/var/run/postgresql

[global:restore]
process-max=1
"
        );
        assert_eq!(ca_chain_pem(&s3), None);
    }

    #[test]
    fn restore_processes() {
        let s3 = s3_params(&[]);
        for (cores, want) in [(0, 1), (1, 1), (2, 1), (3, 1), (4, 2), (64, 62)] {
            let conf = render_conf(&ConfInputs {
                s3: &s3,
                stanza: "m.patroni-pg",
                cipher_passphrase: None,
                cores,
                block_incremental: true,
            })
            .unwrap();
            assert!(
                conf.expose().ends_with(&format!("\nprocess-max={want}\n")),
                "{cores}"
            );
        }
    }

    #[test]
    fn line_breaks_are_refused() {
        let good = s3_params(&[]);
        let render = |s3: &S3Parameters, stanza: &str, pass: Option<&Secret>| {
            render_conf(&ConfInputs {
                s3,
                stanza,
                cipher_passphrase: pass,
                cores: 4,
                block_incremental: true,
            })
        };
        let injected = "x\nrepo1-storage-verify-tls=n";
        let cases: Vec<(S3Parameters, &str)> = vec![
            (
                S3Parameters {
                    region: injected.into(),
                    ..good.clone()
                },
                "S3 region",
            ),
            (
                S3Parameters {
                    path: "/a\rb".into(),
                    ..good.clone()
                },
                "S3 path",
            ),
            (
                S3Parameters {
                    bucket: injected.into(),
                    ..good.clone()
                },
                "S3 bucket",
            ),
            (
                S3Parameters {
                    access_key: injected.into(),
                    ..good.clone()
                },
                "S3 access key",
            ),
            (
                S3Parameters {
                    secret_key: Secret::new(format!("{SECRET_KEY}\n[x]")),
                    ..good.clone()
                },
                "S3 secret key",
            ),
            (
                S3Parameters {
                    uri_style: "host\n".into(),
                    ..good.clone()
                },
                "S3 URI style",
            ),
            (
                S3Parameters {
                    endpoint: "https://a\nb".into(),
                    ..good.clone()
                },
                "S3 endpoint",
            ),
        ];
        for (s3, field) in cases {
            let err = render(&s3, "m.patroni-pg", None).unwrap_err();
            assert_eq!(err, ConfError::ControlCharacter(field));
            assert_eq!(
                err.to_string(),
                format!("the {field} contains a line break or control character")
            );
            assert!(!format!("{err:?}").contains(SECRET_KEY));
        }
        let err = render(&good, "m.patroni-pg", Some(&Secret::new("a\r\nb"))).unwrap_err();
        assert_eq!(err, ConfError::ControlCharacter("cipher passphrase"));
        assert_eq!(
            render(&good, "m\n[global]", None).unwrap_err(),
            ConfError::ControlCharacter("stanza")
        );
        for stanza in ["", "a]b", "[a"] {
            assert_eq!(render(&good, stanza, None).unwrap_err(), ConfError::Stanza);
        }
        assert_eq!(
            render(&good, "m.patroni-pg", Some(&Secret::default())).unwrap_err(),
            ConfError::EmptyPassphrase
        );
    }

    #[test]
    fn dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_utc(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(format_utc(1_795_860_900), "2026-11-28T10:15:00Z");
        assert_eq!(format_utc(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn backup_ids_and_timelines() {
        assert_eq!(backup_id("20261128-101500F"), "2026-11-28T10:15:00Z");
        assert_eq!(
            backup_id("20261128-101500F_20261128-102000D"),
            "2026-11-28T10:20:00Z"
        );
        assert_eq!(
            backup_id("20261128-101500F_20261129-000001I"),
            "2026-11-29T00:00:01Z"
        );
        assert_eq!(backup_id("weird"), "weird");
        assert_eq!(backup_id(""), "");
        assert_eq!(backup_id("é20261128-101500F"), "2026-11-28T10:15:00Z");
        assert_eq!(timeline("000000010000000000000003"), "1");
        assert_eq!(timeline("0000000A0000000000000003"), "A");
        assert_eq!(timeline("000000120000000000000003"), "12");
        assert_eq!(timeline("00000000"), "");
        assert_eq!(timeline("0001"), "1");
        assert_eq!(timeline(""), "");
    }

    const INFO: &str = r#"[
      {
        "archive": [{"database": {"id": 1, "repo-key": 1}, "id": "16-1",
                     "max": "000000010000000000000009", "min": "000000010000000000000001"}],
        "backup": [
          {
            "archive": {"start": "000000010000000000000007", "stop": "000000010000000000000007"},
            "backrest": {"format": 5, "version": "2.53"},
            "database": {"id": 1, "repo-key": 1},
            "error": false,
            "info": {"delta": 8192, "size": 30000000},
            "label": "20261128-101500F_20261128-102500I",
            "lsn": {"start": "0/7000028", "stop": "0/7000100"},
            "prior": "20261128-101500F_20261128-102000D",
            "reference": ["20261128-101500F", "20261128-101500F_20261128-102000D"],
            "timestamp": {"start": 1795861500, "stop": 1795861512},
            "type": "incr"
          },
          {
            "archive": {"start": "000000010000000000000003", "stop": "000000010000000000000003"},
            "error": false,
            "label": "20261128-101500F",
            "lsn": {"start": "0/3000028", "stop": "0/3000138"},
            "prior": null,
            "reference": null,
            "timestamp": {"start": 1795860900, "stop": 1795861000},
            "type": "full"
          },
          {
            "archive": {"start": "000000010000000000000005", "stop": "000000010000000000000005"},
            "label": "20261128-101500F_20261128-102000D",
            "lsn": {"start": "0/5000028", "stop": "0/5000100"},
            "prior": "20261128-101500F",
            "reference": ["20261128-101500F"],
            "timestamp": {"start": 1795861200, "stop": 1795861230},
            "type": "diff"
          }
        ],
        "cipher": "none",
        "db": [{"id": 1, "repo-key": 1, "system-id": 7311234567890123456, "version": "16"}],
        "name": "prod.patroni-pg",
        "repo": [{"cipher": "none", "key": 1, "status": {"code": 0, "message": "ok"}}],
        "status": {"code": 0, "lock": {"backup": {"held": false}}, "message": "ok"}
      },
      {
        "backup": [{"label": "20250101-000000F", "type": "full"}],
        "name": "other.patroni-pg",
        "status": {"code": 0, "message": "ok"}
      }
    ]"#;

    #[test]
    fn lists_backups() {
        let (table, rows) = list_backups(INFO, "prod.patroni-pg", "pg-backups", "/prod").unwrap();
        let expected = [
            "Storage bucket name: pg-backups",
            "Backups base path: /prod/backup/",
            "",
            "backup-id            | action              | status   | reference-backup-id  | LSN start/stop          | start-time           | finish-time          | timeline | backup-path",
            "-----------------------------------------------------------------------------------------------------------------------------------------------------------------------------",
            "2026-11-28T10:15:00Z | full backup         | finished | None                 | 0/3000028 / 0/3000138   | 2026-11-28T10:15:00Z | 2026-11-28T10:16:40Z | 1        | /prod.patroni-pg/20261128-101500F",
            "2026-11-28T10:20:00Z | differential backup | finished | 2026-11-28T10:15:00Z | 0/5000028 / 0/5000100   | 2026-11-28T10:20:00Z | 2026-11-28T10:20:30Z | 1        | /prod.patroni-pg/20261128-101500F_20261128-102000D",
            "2026-11-28T10:25:00Z | incremental backup  | finished | 2026-11-28T10:20:00Z | 0/7000028 / 0/7000100   | 2026-11-28T10:25:00Z | 2026-11-28T10:25:12Z | 1        | /prod.patroni-pg/20261128-101500F_20261128-102500I",
        ]
        .join("\n");
        assert_eq!(table, expected);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[3].len(), lines[4].len());

        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[1],
            BackupRow {
                backup_id: "2026-11-28T10:20:00Z".into(),
                label: "20261128-101500F_20261128-102000D".into(),
                action: "differential backup".into(),
                status: "finished".into(),
                reference_backup_id: Some("2026-11-28T10:15:00Z".into()),
                lsn_start_stop: "0/5000028 / 0/5000100".into(),
                start_time: "2026-11-28T10:20:00Z".into(),
                finish_time: "2026-11-28T10:20:30Z".into(),
                timeline: "1".into(),
                backup_path: "/prod.patroni-pg/20261128-101500F_20261128-102000D".into(),
            }
        );
        let json = serde_json::to_value(&rows[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "backup-id": "2026-11-28T10:15:00Z",
                "label": "20261128-101500F",
                "action": "full backup",
                "status": "finished",
                "reference-backup-id": null,
                "lsn-start-stop": "0/3000028 / 0/3000138",
                "start-time": "2026-11-28T10:15:00Z",
                "finish-time": "2026-11-28T10:16:40Z",
                "timeline": "1",
                "backup-path": "/prod.patroni-pg/20261128-101500F",
            })
        );
    }

    #[test]
    fn lists_failed_sparse_and_missing_stanzas() {
        let info = r#"[{"name": "s", "backup": [
            {"label": "20261201-000000F", "type": "full", "error": true,
             "timestamp": {"start": 1796083200, "stop": 1796083260},
             "archive": {"start": "000000020000000000000010"}, "lsn": {}},
            {"label": "20261130-000000F", "type": "full"}
        ]}]"#;
        let (table, rows) = list_backups(info, "s", "b", "/").unwrap();
        assert!(table.starts_with("Storage bucket name: b\nBackups base path: //backup/\n\n"));
        assert_eq!(
            rows.iter()
                .map(|r| r.backup_id.as_str())
                .collect::<Vec<_>>(),
            ["2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z"]
        );
        assert_eq!(rows[1].status, "failed: True");
        assert_eq!(rows[1].timeline, "2");
        assert_eq!(rows[1].start_time, "2026-12-01T00:00:00Z");
        assert_eq!(rows[1].lsn_start_stop, " / ");
        assert_eq!(rows[0].start_time, "");
        assert_eq!(rows[0].timeline, "");
        assert!(table.ends_with(
            "2026-12-01T00:00:00Z | full backup         | failed: True | None                 |  /                      | 2026-12-01T00:00:00Z | 2026-12-01T00:01:00Z | 2        | /s/20261201-000000F"
        ));

        let (table, rows) = list_backups(INFO, "absent", "b", "/p").unwrap();
        assert!(rows.is_empty());
        assert_eq!(table.lines().count(), 5);
        let (_, rows) = list_backups("[]", "s", "b", "/p").unwrap();
        assert!(rows.is_empty());
    }

    #[test]
    fn bad_info_json_is_an_error_without_its_content() {
        for bad in ["", "{}", "not json", "[{\"backup\": \"s3cr3t\"}]"] {
            let err = list_backups(bad, "s", "b", "/").unwrap_err();
            assert!(
                err.starts_with("cannot read the output of pgbackrest info"),
                "{err}"
            );
            assert!(!err.contains("s3cr3t"));
        }
    }

    #[test]
    fn restore_to_time() {
        assert_eq!(parse_restore_to_time("latest"), Ok(RestoreTarget::Latest));
        for ok in [
            "2026-11-28 10:15:00",
            "2026-11-28 10:15:00.123456+02:00",
            "2026-11-28 10:15:00.1",
            "2026-11-28 10:15:00+02",
            "2026-11-28 10:15:00-0530",
            "2026-11-28 23:59:59.5-05:30",
            "0001-01-01 00:00:00",
        ] {
            assert_eq!(
                parse_restore_to_time(ok),
                Ok(RestoreTarget::Time(ok.to_string())),
                "{ok}"
            );
        }
        for bad in [
            "2026-13-01 00:00:00",
            "2026-00-01 00:00:00",
            "2026-11-00 00:00:00",
            "2026-11-32 00:00:00",
            "2026-11-28 24:00:00",
            "2026-11-28 10:60:00",
            "2026-11-28 10:15:60",
            "yesterday",
            "2026-11-28T10:15:00",
            "2026-11-28 10:15",
            "2026-11-28 10:15:00.",
            "2026-11-28 10:15:00.1234567",
            "2026-11-28 10:15:00Z",
            "2026-11-28 10:15:00+2",
            "2026-11-28 10:15:00+0",
            "2026-11-28 10:15:00+020",
            "2026-11-28 10:15:00+02:0",
            "2026-11-28 10:15:00+24",
            "2026-11-28 10:15:00+02:60",
            "2026-11-28 10:15:00 ",
            "2026-11-28 10:15:00+02:00; DROP",
            "2026-1a-28 10:15:00",
            "２026-11-28 10:15:00",
            "Latest",
            "",
        ] {
            assert_eq!(
                parse_restore_to_time(bad),
                Err("Bad restore-to-time format"),
                "{bad}"
            );
        }
    }

    #[test]
    fn backup_types() {
        assert_eq!(backup_type("full"), Ok("full"));
        assert_eq!(backup_type("differential"), Ok("diff"));
        assert_eq!(backup_type("incremental"), Ok("incr"));
        assert_eq!(
            backup_type("diff").unwrap_err(),
            "Invalid backup type: diff. Possible values: full, differential, incremental."
        );
        let long = "x".repeat(100);
        assert_eq!(
            backup_type(&long).unwrap_err(),
            format!(
                "Invalid backup type: {}. Possible values: full, differential, incremental.",
                "x".repeat(64)
            )
        );
    }

    #[test]
    fn backup_labels() {
        let out = "2026-11-28 10:15:00.000 P00   INFO: backup command begin 2.53\n\
                   2026-11-28 10:16:40.000 P00   INFO: new backup label = 20261128-101500F\n\
                   2026-11-28 10:16:41.000 P00   INFO: backup command end: completed successfully\n";
        assert_eq!(
            backup_label_from_output(out).as_deref(),
            Some("20261128-101500F")
        );
        assert_eq!(
            backup_label_from_output(
                "P00 INFO: new backup label = 20261128-101500F_20261128-102000D\r\n"
            )
            .as_deref(),
            Some("20261128-101500F_20261128-102000D")
        );
        assert_eq!(backup_label_from_output("nothing here"), None);
        assert_eq!(backup_label_from_output("new backup label = "), None);
        assert_eq!(backup_label_from_output("new backup label = ../x"), None);
        assert_eq!(backup_label_from_output(""), None);
    }

    #[test]
    fn restore_commands_follow_the_target() {
        let plan = |label: Option<&str>, target: Option<&str>, tl: Option<&str>| RestorePlan {
            stanza: "m.patroni-pg".into(),
            label: label.map(str::to_string),
            target: target.map(str::to_string),
            timeline: tl.map(str::to_string),
        };
        assert_eq!(
            restore_command(&plan(Some("20261128-101500F"), None, None)),
            "pgbackrest --stanza=m.patroni-pg --pg1-path=/var/lib/postgresql/data/pgdata \
             --set=20261128-101500F --target-action=promote --type=immediate restore"
        );
        assert_eq!(
            restore_command(&plan(None, Some("latest"), None)),
            "pgbackrest --stanza=m.patroni-pg --pg1-path=/var/lib/postgresql/data/pgdata \
             --type=default restore"
        );
        let pitr = restore_command(&plan(None, Some("2026-11-28 10:00:00+00"), Some("2")));
        assert!(pitr.ends_with(
            "--target-timeline=0x2 --target-action=promote \
             \"--target=2026-11-28 10:00:00+00\" --type=time restore"
        ));
        // Patroni splits it as a shell would: the time stays one argument.
        let words = pebble::split_command(&pitr).unwrap();
        assert!(words.contains(&"--target=2026-11-28 10:00:00+00".to_string()));
    }

    #[test]
    fn timelines_become_restore_rows() {
        let ls = r#"{".":{"type":"path"},"15-1":{"type":"path"},
            "15-1/00000002.history":{"type":"file","size":42,"time":1764322800},
            "15-1/0000000A.history":{"type":"file","size":84,"time":1764326400},
            "15-1/0000000100000000":{"type":"path"}}"#;
        let rows = timeline_rows(ls).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].backup_id, "2025-11-28T09:40:00Z");
        assert_eq!(rows[0].action, "restore");
        assert_eq!(rows[0].timeline, "2");
        assert_eq!(rows[1].timeline, "A");
        let table = backups_table("b", "/p", &rows);
        assert!(
            table.ends_with(
                "2025-11-28T10:40:00Z | restore             | finished | None                 | \
             n/a                     | 2025-11-28T10:40:00Z | n/a                  | A        | n/a"
            ),
            "{table}"
        );
        assert!(timeline_rows("nonsense").is_err());
    }

    #[test]
    fn block_incremental_needs_2_46() {
        assert!(!has_block_incremental("pgBackRest 2.45\n"));
        assert!(has_block_incremental("pgBackRest 2.46"));
        assert!(has_block_incremental("pgBackRest 2.53.1"));
        assert!(has_block_incremental("pgBackRest 3.0dev"));
        assert!(!has_block_incremental(""));
    }

    #[test]
    fn the_system_id_is_read_from_pg_controldata() {
        let out = "pg_control version number:            1300\n\
                   Database system identifier:           7441234567890123456\n";
        assert_eq!(
            system_id_from_controldata(out).as_deref(),
            Some("7441234567890123456")
        );
        assert_eq!(system_id_from_controldata("nothing"), None);
    }

    #[test]
    fn foreign_and_invalid_repositories_are_told_apart() {
        let ours = r#"[{"name":"m.patroni-pg","status":{"code":0,"message":"ok"},
                        "db":[{"system-id":744}]}]"#;
        assert_eq!(
            check_repository(ours, "m.patroni-pg", "744", None, "u"),
            Ok(())
        );
        assert_eq!(
            check_repository("[]", "m.patroni-pg", "744", Some("u\n"), "u"),
            Ok(())
        );
        assert_eq!(
            check_repository(ours, "m.patroni-pg", "745", None, "u"),
            Err(RepoProblem::Foreign)
        );
        assert_eq!(
            check_repository(ours, "other.patroni-pg", "744", None, "u"),
            Err(RepoProblem::Foreign)
        );
        assert_eq!(
            check_repository("[]", "m.patroni-pg", "744", Some("another-uuid"), "u"),
            Err(RepoProblem::Foreign)
        );
        let missing = r#"[{"name":"m.patroni-pg","status":{"code":1,"message":"missing stanza path"},"db":[]}]"#;
        assert_eq!(
            check_repository(missing, "m.patroni-pg", "744", None, "u"),
            Ok(())
        );
        let broken = r#"[{"name":"m.patroni-pg","status":{"code":99,"message":"other"},"db":[]}]"#;
        let err = check_repository(broken, "m.patroni-pg", "744", None, "u").unwrap_err();
        assert_eq!(
            err.to_string(),
            "failed to initialize stanza, check your S3 settings: other"
        );
        assert_eq!(
            RepoProblem::Foreign.to_string(),
            "the S3 repository has backups from another cluster"
        );
    }

    #[test]
    fn error_lines_keep_errors_and_warnings_only() {
        let out = "2026 P00   INFO: stanza-create command begin\n\
                   2026 P00  ERROR: [049]: unable to get info for path/file: Forbidden\n";
        assert_eq!(
            error_lines(out),
            "2026 P00  ERROR: [049]: unable to get info for path/file: Forbidden"
        );
        assert_eq!(error_lines(&"x".repeat(300)).len(), 120);
    }
}
