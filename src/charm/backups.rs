//! Backups to S3 with pgBackRest, the charm's side (spec §9): the `s3-parameters` relation read
//! on its own events and kept in the charm's state without its keys, `pgbackrest.conf` (which
//! holds them) pushed to the workload, the stanza initialised and checked on the primary, and
//! the restore a `restore` action started followed to its end.
//!
//! WAL archiving is on whenever a usable configuration is in the workload, on every member: a
//! primary whose stanza is not usable yet fails to archive and keeps its WAL (and says why in
//! its status) rather than discarding it, and a replica promoted by a failover archives from its
//! first WAL segment on. The reference archives to `/bin/true` until the stanza exists, which
//! silently leaves holes in the point-in-time history.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result};
use juju::{
    Context, Event, HookTools, RelationEventKind, Secret, SecretContent, SecretGetMode,
    SecretOwner, Status, Target,
};
use pebble::{ExecOutput, ExecRequest};
use serde::{Deserialize, Serialize};

use super::apply::{fingerprint, push_file};
use crate::relations::s3::{self, S3Parameters};
use crate::workload::{self, pgbackrest};

/// Charm-state key: the [`S3View`] last read (JSON).
pub const S3_KEY: &str = "s3";

/// Charm-state key: the [`StanzaState`] of this unit's last initialisation (JSON).
pub const STANZA_KEY: &str = "stanza";

/// Charm-state key: the [`Restore`] in progress (JSON).
pub const RESTORE_KEY: &str = "restore";

/// Key of the cipher passphrase in its secret.
pub const CIPHER_KEY: &str = "cipher-passphrase";

/// Label of the application secret holding the repository's cipher passphrase.
pub fn cipher_secret_label(app: &str) -> String {
    format!("backups.{app}.app")
}

/// Where pgBackRest writes its log files in the workload.
const PGBACKREST_LOG_DIR: &str = "/var/log/pgbackrest";

/// Bound of a pgBackRest command the charm runs in a hook (a stanza command or a check).
const HOOK_COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

/// Attempts of `stanza-create` and `check`, and the pause between them (the reference: 6 × 10 s).
const ATTEMPTS: u32 = 3;
const PAUSE: Duration = Duration::from_secs(5);

/// The S3 relation as last read. It holds no secret: the keys stay in the relation and in the
/// workload's configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3View {
    /// The relation.
    pub relation: u64,
    /// The provider sent credentials (before that, nothing is configured or reported).
    pub sent: bool,
    /// Why the provider's data is refused (a blocked status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Bucket.
    pub bucket: String,
    /// Path in the bucket (`/`-prefixed, or empty).
    pub path: String,
    /// Endpoint.
    pub endpoint: String,
    /// The stanza.
    pub stanza: String,
    /// The repository is encrypted with the application's cipher passphrase.
    pub encrypted: bool,
    /// Fingerprint of the configuration in the workload ("": none pushed).
    #[serde(default)]
    pub conf: String,
}

impl S3View {
    /// A configuration is in the workload: pgBackRest can run.
    pub fn ready(&self) -> bool {
        !self.conf.is_empty()
    }
}

/// The S3 relation as this hook found it.
#[derive(Debug, Clone, Default)]
pub enum S3Observed {
    /// No relation.
    #[default]
    NotRelated,
    /// The relation is being removed.
    Gone,
    /// Not read in this hook: what the last read found.
    Kept(S3View),
    /// Read in this hook.
    Read {
        /// What was found (its `conf` is the one in the workload before this hook).
        view: S3View,
        /// The usable parameters.
        params: Option<Box<S3Parameters>>,
        /// The cipher passphrase, when the repository is encrypted and the secret exists.
        passphrase: Option<Secret>,
    },
}

impl S3Observed {
    /// The view, read or kept.
    pub fn view(&self) -> Option<&S3View> {
        match self {
            S3Observed::Kept(v) | S3Observed::Read { view: v, .. } => Some(v),
            _ => None,
        }
    }
}

/// What this unit's last stanza initialisation found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StanzaState {
    /// The configuration it ran with.
    pub conf: String,
    /// Why it failed (a blocked status), `None` when the stanza is created and checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
}

/// A restore the `restore` action started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restore {
    /// What to restore.
    pub plan: pgbackrest::RestorePlan,
    /// Patroni was started to run it.
    #[serde(default)]
    pub started: bool,
}

/// The restore in progress, from the charm's state.
pub fn restore_in(state: &BTreeMap<String, String>) -> Option<Restore> {
    state
        .get(RESTORE_KEY)
        .and_then(|v| serde_json::from_str(v).ok())
}

/// The stanza state, from the charm's state.
pub fn stanza_in(state: &BTreeMap<String, String>) -> Option<StanzaState> {
    state
        .get(STANZA_KEY)
        .and_then(|v| serde_json::from_str(v).ok())
}

/// Read the relation when this hook is about it, or when the workload needs its configuration
/// again (a new container, `backup_encryption` changed) or has none yet; the kept view
/// otherwise (no hook-tool call).
pub fn observe(
    ctx: &Context,
    tools: &HookTools,
    state: &BTreeMap<String, String>,
    fresh_container: bool,
    encrypted: bool,
) -> Result<S3Observed> {
    let kept = state
        .get(S3_KEY)
        .and_then(|v| serde_json::from_str::<S3View>(v).ok());
    let event = match &ctx.event {
        Event::Relation { relation, kind, .. } if relation.endpoint == s3::ENDPOINT => Some(*kind),
        _ => None,
    };
    if event == Some(RelationEventKind::Broken) {
        return Ok(S3Observed::Gone);
    }
    let read = event.is_some()
        || kept.as_ref().is_some_and(|k| {
            fresh_container
                || k.encrypted != encrypted
                || (k.sent && k.refused.is_none() && !k.ready())
        });
    if !read {
        return Ok(kept.map_or(S3Observed::NotRelated, S3Observed::Kept));
    }
    let Some(relation) = tools
        .relation_ids(s3::ENDPOINT)
        .context("finding the s3-parameters relation")?
        .into_iter()
        .next()
    else {
        return Ok(if kept.is_some() {
            S3Observed::Gone
        } else {
            S3Observed::NotRelated
        });
    };
    let mut view = S3View {
        relation: relation.id,
        stanza: pgbackrest::stanza_name(&ctx.model_name, &ctx.app_name),
        encrypted,
        conf: kept.map(|k| k.conf).unwrap_or_default(),
        ..S3View::default()
    };
    let data = match tools.relation_remote_app(&relation)? {
        Some(remote) => tools
            .relation_get(&relation, &Target::App(remote))
            .context("reading the S3 provider's data")?,
        None => Default::default(),
    };
    // Nothing is configured or reported before the provider sends a key (the s3 library
    // itself waits for both; one without the other is reported as missing).
    view.sent = ["access-key", "secret-key"]
        .iter()
        .any(|k| data.get(*k).is_some_and(|v| !v.trim().is_empty()));
    if !view.sent {
        return Ok(S3Observed::Read {
            view,
            params: None,
            passphrase: None,
        });
    }
    let params = match s3::parse(&data) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("the S3 provider's data is refused: {e}");
            view.refused = Some(e.to_string());
            return Ok(S3Observed::Read {
                view,
                params: None,
                passphrase: None,
            });
        }
    };
    view.bucket = params.bucket.clone();
    view.path = params.path.clone();
    view.endpoint = params.endpoint.clone();
    let passphrase = if encrypted {
        match tools.secret_get(
            None,
            Some(&cipher_secret_label(&ctx.app_name)),
            SecretGetMode::Peek,
        ) {
            Ok(content) => content.get(CIPHER_KEY).cloned(),
            Err(e) if e.is_secret_not_found() => None,
            Err(e) => return Err(e).context("reading the backup cipher passphrase"),
        }
    } else {
        None
    };
    Ok(S3Observed::Read {
        view,
        params: Some(Box::new(params)),
        passphrase,
    })
}

/// Whether PostgreSQL should archive its WAL with pgBackRest (and the stanza), as this hook
/// will leave the workload: a configuration is there, or this hook pushes one.
pub fn archive_stanza(s3: &S3Observed, leader: bool) -> Option<String> {
    match s3 {
        S3Observed::Kept(view) => view.ready().then(|| view.stanza.clone()),
        S3Observed::Read {
            view,
            params,
            passphrase,
        } => {
            let pushes = params.is_some() && (!view.encrypted || passphrase.is_some() || leader);
            (pushes || view.ready()).then(|| view.stanza.clone())
        }
        S3Observed::NotRelated | S3Observed::Gone => None,
    }
}

/// What [`converge`] did.
#[derive(Debug, Default)]
pub struct Converged {
    /// Charm-state entries to record.
    pub state: BTreeMap<String, String>,
    /// Charm-state entries to forget.
    pub forget: Vec<String>,
    /// Files pushed or removed.
    pub pushed: Vec<String>,
    /// Why backups cannot work (a blocked status once all else is well).
    pub blocked: Option<String>,
}

/// Everything [`sync`] and [`check_stanza`] need from the hook.
pub struct Inputs<'a> {
    /// The hook's context.
    pub ctx: &'a Context,
    /// Hook tools.
    pub tools: &'a HookTools,
    /// The workload.
    pub client: &'a pebble::Client,
    /// The charm's state at the start of the hook.
    pub state: &'a BTreeMap<String, String>,
    /// The relation as observed.
    pub s3: &'a S3Observed,
    /// This unit leads.
    pub leader: bool,
    /// The container is new (its files must be pushed again).
    pub fresh_container: bool,
    /// CPU cores (pgBackRest's restore processes).
    pub cores: usize,
    /// PostgreSQL's binaries.
    pub bin_dir: &'a str,
}

/// Make the workload's pgBackRest configuration match the relation (it needs only the
/// container); the view to carry on with, if the relation is there.
pub async fn sync(i: &Inputs<'_>) -> Result<(Converged, Option<S3View>)> {
    let mut out = Converged::default();
    let view = match i.s3 {
        S3Observed::NotRelated | S3Observed::Gone => {
            if i.state.contains_key(S3_KEY) || matches!(i.s3, S3Observed::Gone) {
                remove_files(i.client, &mut out).await?;
            }
            for key in [S3_KEY, STANZA_KEY] {
                if i.state.contains_key(key) {
                    out.forget.push(key.to_string());
                }
            }
            return Ok((out, None));
        }
        S3Observed::Kept(view) => view.clone(),
        S3Observed::Read {
            view,
            params,
            passphrase,
        } => {
            let mut view = view.clone();
            if i.leader {
                let relation = juju::RelationRef {
                    endpoint: s3::ENDPOINT.to_string(),
                    id: view.relation,
                };
                i.tools
                    .relation_set(&relation, true, &s3::request(view.relation))
                    .context("asking the S3 provider for a bucket")?;
            }
            if let Some(params) = params {
                let passphrase = match (view.encrypted, passphrase) {
                    (false, _) => None,
                    (true, Some(p)) => Some(p.clone()),
                    (true, None) if i.leader => Some(create_passphrase(i.tools, &i.ctx.app_name)?),
                    (true, None) => {
                        tracing::info!(
                            "backups wait for the leader to create the repository's cipher passphrase"
                        );
                        None
                    }
                };
                if !view.encrypted || passphrase.is_some() {
                    view.conf = push_conf(i, params, passphrase.as_ref(), &view, &mut out).await?;
                }
            }
            let json = serde_json::to_string(&view).context("recording the S3 view")?;
            if i.state.get(S3_KEY) != Some(&json) {
                out.state.insert(S3_KEY.to_string(), json);
            }
            view
        }
    };
    out.blocked = view.refused.clone();
    Ok((out, Some(view)))
}

/// What to record when this hook read the relation but stopped before [`sync`] (the workload
/// not there, or blocked on something else): the view with no configuration, so a later hook
/// reads the relation again; a removed relation forgotten.
pub fn unsynced(s3: &S3Observed, state: &BTreeMap<String, String>) -> Converged {
    let mut out = Converged::default();
    match s3 {
        S3Observed::Read { view, .. } => {
            let view = S3View {
                conf: String::new(),
                ..view.clone()
            };
            if let Ok(json) = serde_json::to_string(&view) {
                out.state.insert(S3_KEY.to_string(), json);
            }
        }
        S3Observed::Gone => {
            for key in [S3_KEY, STANZA_KEY] {
                if state.contains_key(key) {
                    out.forget.push(key.to_string());
                }
            }
        }
        S3Observed::NotRelated | S3Observed::Kept(_) => {}
    }
    out
}

/// Initialise the stanza on the primary when the configuration is new to it (after [`sync`]).
pub async fn check_stanza(
    i: &Inputs<'_>,
    view: &S3View,
    primary: bool,
    out: &mut Converged,
) -> Result<()> {
    if view.refused.is_some() || !view.ready() || !primary || restore_in(i.state).is_some() {
        return Ok(());
    }
    let kept = stanza_in(i.state);
    let stanza = match kept {
        Some(s) if s.conf == view.conf => s,
        _ => {
            let blocked = init_stanza(i, view).await?;
            let s = StanzaState {
                conf: view.conf.clone(),
                blocked,
            };
            out.state.insert(
                STANZA_KEY.to_string(),
                serde_json::to_string(&s).context("recording the stanza")?,
            );
            s
        }
    };
    out.blocked = stanza.blocked;
    Ok(())
}

fn create_passphrase(tools: &HookTools, app: &str) -> Result<Secret> {
    let passphrase = pgbackrest::new_cipher_passphrase();
    let content: SecretContent = [(CIPHER_KEY.to_string(), passphrase.clone())].into();
    super::secrets::put_secret(
        tools,
        &cipher_secret_label(app),
        "pgBackRest repository cipher passphrase (needed to restore its backups)",
        SecretOwner::Application,
        &content,
    )?;
    tracing::info!("created the backup repository's cipher passphrase");
    Ok(passphrase)
}

/// Push `pgbackrest.conf` (0600, the workload user) and the endpoint's CA chain when they
/// differ from what is there; the configuration's fingerprint.
async fn push_conf(
    i: &Inputs<'_>,
    params: &S3Parameters,
    passphrase: Option<&Secret>,
    view: &S3View,
    out: &mut Converged,
) -> Result<String> {
    let version = pgbackrest(i.client, &["version"], None, Some(HOOK_COMMAND_TIMEOUT))
        .await?
        .check()
        .context("running pgbackrest version")?;
    let conf = match pgbackrest::render_conf(&pgbackrest::ConfInputs {
        s3: params,
        stanza: &view.stanza,
        cipher_passphrase: passphrase,
        cores: i.cores,
        block_incremental: pgbackrest::has_block_incremental(&version.stdout_text()),
    }) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("the S3 provider's data cannot be used: {e}");
            out.blocked = Some(e.to_string());
            return Ok(String::new());
        }
    };
    let ca = pgbackrest::ca_chain_pem(params);
    // A digest of the whole text: it holds a 40-character secret key (and a 64-character
    // passphrase), far beyond guessing from the digest.
    let fp = fingerprint(&[conf.expose(), ca.as_deref().unwrap_or_default()]);
    if fp == view.conf && !i.fresh_container {
        return Ok(fp);
    }
    let user = Some(workload::WORKLOAD_USER);
    i.client
        .make_dir(
            PGBACKREST_LOG_DIR,
            &pebble::MakeDirOptions {
                make_parents: true,
                permissions: Some(0o750),
                user: user.map(str::to_string),
                group: user.map(str::to_string),
                ..Default::default()
            },
        )
        .await
        .with_context(|| format!("creating {PGBACKREST_LOG_DIR} in the workload"))?;
    match &ca {
        Some(pem) => {
            if push_file(
                i.client,
                pgbackrest::TLS_CA_CHAIN_FILE,
                pem.as_bytes(),
                0o644,
                user,
            )
            .await?
            {
                out.pushed.push(pgbackrest::TLS_CA_CHAIN_FILE.to_string());
            }
        }
        None => remove(i.client, pgbackrest::TLS_CA_CHAIN_FILE, out).await?,
    }
    if push_file(
        i.client,
        pgbackrest::CONF_FILE,
        conf.expose().as_bytes(),
        0o600,
        user,
    )
    .await?
    {
        out.pushed.push(pgbackrest::CONF_FILE.to_string());
    }
    Ok(fp)
}

async fn remove(client: &pebble::Client, path: &str, out: &mut Converged) -> Result<()> {
    match client.remove_path(path, false).await {
        Ok(()) => {
            out.pushed.push(format!("-{path}"));
            Ok(())
        }
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {path}")),
    }
}

/// The relation is gone: nothing in the workload keeps its keys.
async fn remove_files(client: &pebble::Client, out: &mut Converged) -> Result<()> {
    remove(client, pgbackrest::CONF_FILE, out).await?;
    remove(client, pgbackrest::TLS_CA_CHAIN_FILE, out).await
}

/// Run pgBackRest in the workload as the workload user.
pub async fn pgbackrest(
    client: &pebble::Client,
    args: &[&str],
    stdin: Option<&[u8]>,
    timeout: Option<Duration>,
) -> Result<ExecOutput> {
    let mut request = ExecRequest::new(std::iter::once("pgbackrest").chain(args.iter().copied()));
    request.user = Some(workload::WORKLOAD_USER.into());
    request.group = Some(workload::WORKLOAD_USER.into());
    request.timeout = timeout;
    request.stdin = stdin.map(<[u8]>::to_vec);
    client
        .exec(&request)
        .await
        .with_context(|| format!("running pgbackrest {}", args.first().unwrap_or(&"")))
}

/// The output's text, both streams.
pub fn output_text(out: &ExecOutput) -> String {
    format!("{}{}", out.stdout_text(), out.stderr_text())
}

const ACCESS_FAILED: &str = "failed to access/create the bucket, check your S3 settings";

/// Spec §9.3: the bucket reachable, the repository this cluster's (or empty), the stanza created
/// and checked (WAL archived), the model recorded; `Some(message)` when it cannot be.
async fn init_stanza(i: &Inputs<'_>, view: &S3View) -> Result<Option<String>> {
    let status = |m: &str| i.tools.status_set(false, &Status::maintenance(m));
    status("initialising stanza")?;
    let stanza_arg = format!("--stanza={}", view.stanza);
    let timeout = Some(HOOK_COMMAND_TIMEOUT);
    // The bucket: a short I/O timeout, so an unreachable endpoint fails in seconds.
    let ls = pgbackrest(i.client, &["--io-timeout=10", "repo-ls"], None, timeout).await?;
    if ls.exit_code != 0 {
        tracing::warn!(
            "the S3 bucket cannot be listed: {}",
            pgbackrest::error_lines(&output_text(&ls))
        );
        return Ok(Some(ACCESS_FAILED.into()));
    }
    let uuid = pgbackrest(
        i.client,
        &["--io-timeout=10", "repo-get", "--raw", "model-uuid.txt"],
        None,
        timeout,
    )
    .await?;
    let uuid_in_repo = match uuid.exit_code {
        0 => Some(uuid.stdout_text()),
        _ if output_text(&uuid).contains("missing") => None,
        _ => {
            tracing::warn!(
                "reading model-uuid.txt: {}",
                pgbackrest::error_lines(&output_text(&uuid))
            );
            return Ok(Some(ACCESS_FAILED.into()));
        }
    };
    let info = pgbackrest(i.client, &["info", "--output=json"], None, timeout).await?;
    if info.exit_code != 0 {
        return Ok(Some(stanza_failed(&info)));
    }
    let controldata = i
        .client
        .exec(&ExecRequest {
            user: Some(workload::WORKLOAD_USER.into()),
            ..ExecRequest::new([
                format!("{}/pg_controldata", i.bin_dir),
                workload::DATA_DIR.to_string(),
            ])
        })
        .await
        .context("running pg_controldata")?
        .check()
        .context("running pg_controldata")?;
    let system_id = pgbackrest::system_id_from_controldata(&controldata.stdout_text())
        .context("pg_controldata gave no system identifier")?;
    if let Err(problem) = pgbackrest::check_repository(
        &info.stdout_text(),
        &view.stanza,
        &system_id,
        uuid_in_repo.as_deref(),
        &i.ctx.model_uuid,
    ) {
        tracing::warn!("{problem}");
        return Ok(Some(problem.to_string()));
    }
    for (step, message) in [
        ("stanza-create", "initialising stanza"),
        ("check", "checking stanza"),
    ] {
        status(message)?;
        let mut attempt = 1;
        loop {
            let out = pgbackrest(i.client, &[stanza_arg.as_str(), step], None, timeout).await?;
            if out.exit_code == 0 {
                break;
            }
            if attempt == ATTEMPTS {
                tracing::warn!(
                    "pgbackrest {step}: {}",
                    pgbackrest::error_lines(&output_text(&out))
                );
                return Ok(Some(stanza_failed(&out)));
            }
            attempt += 1;
            tokio::time::sleep(PAUSE).await;
        }
    }
    pgbackrest(
        i.client,
        &["repo-put", "--raw", "model-uuid.txt"],
        Some(i.ctx.model_uuid.as_bytes()),
        timeout,
    )
    .await?
    .check()
    .context("recording the model in the S3 repository")?;
    tracing::info!("stanza {} created and checked", view.stanza);
    Ok(None)
}

fn stanza_failed(out: &ExecOutput) -> String {
    let detail = pgbackrest::error_lines(&output_text(out));
    if detail.is_empty() {
        "failed to initialize stanza, check your S3 settings".into()
    } else {
        format!("failed to initialize stanza, check your S3 settings: {detail}")
    }
}
