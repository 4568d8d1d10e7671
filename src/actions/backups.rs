//! `create-backup`, `list-backups` and `restore` (spec §9.4, §9.6–§9.8): pgBackRest run in the
//! workload through Pebble, with the reference's parameters, results and failure messages.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context as _, Result};
use juju::{Context, HookTools, Status};
use pebble::{ExecRequest, MakeDirOptions};

use super::param;
use crate::charm::backups::{
    self, RESTORE_KEY, Restore, S3_KEY, S3View, output_text, pgbackrest as run_pgbackrest,
};
use crate::charm::{self, Paths};
use crate::patroni::Patroni;
use crate::workload::{self, pgbackrest};

const NO_RELATION: &str =
    "Relation with s3-integrator charm missing, cannot create/restore backup.";

/// The S3 view when backups can run here; the action failed (with the reason) otherwise.
fn usable_view(tools: &HookTools, state: &BTreeMap<String, String>) -> Result<Option<S3View>> {
    let view = state
        .get(S3_KEY)
        .and_then(|v| serde_json::from_str::<S3View>(v).ok());
    let failure = match &view {
        None => Some(NO_RELATION.to_string()),
        Some(v) if !v.sent => Some(NO_RELATION.to_string()),
        Some(v) => match &v.refused {
            Some(reason) => Some(reason.clone()),
            None if !v.ready() => Some(
                "The S3 settings are not in the workload yet (the repository's cipher \
                 passphrase is awaited from the leader)"
                    .to_string(),
            ),
            None => None,
        },
    };
    match failure {
        Some(message) => {
            tools.action_fail(&message)?;
            Ok(None)
        }
        None => Ok(view),
    }
}

fn workload_client(paths: &Paths) -> Result<pebble::Client> {
    pebble::Client::with_socket_dir(&paths.containers_dir, workload::CONTAINER)
        .context("building the Pebble client")
}

/// `pgbackrest info --output=json` for the stanza: its text, or the failure message.
async fn info(client: &pebble::Client, stanza: &str) -> Result<Result<String, String>> {
    let out = run_pgbackrest(
        client,
        &[&format!("--stanza={stanza}"), "info", "--output=json"],
        None,
        None,
    )
    .await?;
    Ok(if out.exit_code == 0 {
        Ok(out.stdout_text())
    } else {
        Err(pgbackrest::error_lines(&output_text(&out)))
    })
}

/// The backups in the repository (rows of `list-backups`), or pgBackRest's failure.
async fn backup_rows(
    client: &pebble::Client,
    view: &S3View,
) -> Result<Result<Vec<pgbackrest::BackupRow>, String>> {
    Ok(match info(client, &view.stanza).await? {
        Ok(json) => pgbackrest::list_backups(&json, &view.stanza, &view.bucket, &view.path)
            .map(|(_, rows)| rows),
        Err(e) => Err(e),
    })
}

/// Store `body` as `path` in the repository, as is (not compressed or encrypted).
async fn repo_put(client: &pebble::Client, path: &str, body: &str) -> Result<pebble::ExecOutput> {
    run_pgbackrest(
        client,
        &["repo-put", "--raw", path],
        Some(body.as_bytes()),
        None,
    )
    .await
}

/// Every row `list-backups` shows (backups and the restores that started timelines), sorted by
/// id; or pgBackRest's failure.
async fn listing(
    client: &pebble::Client,
    view: &S3View,
) -> Result<Result<Vec<pgbackrest::BackupRow>, String>> {
    let mut rows = match backup_rows(client, view).await? {
        Ok(rows) => rows,
        Err(e) => return Ok(Err(e)),
    };
    let archive = format!("archive/{}", view.stanza);
    let ls = run_pgbackrest(
        client,
        &[
            "repo-ls",
            &archive,
            "--recurse",
            "--filter=\\.history$",
            "--output=json",
        ],
        None,
        None,
    )
    .await?;
    if ls.exit_code != 0 {
        return Ok(Err(pgbackrest::error_lines(&output_text(&ls))));
    }
    match pgbackrest::timeline_rows(&ls.stdout_text()) {
        Ok(mut timelines) => rows.append(&mut timelines),
        Err(e) => return Ok(Err(e)),
    }
    rows.sort_by(|a, b| (&a.backup_id, &a.label).cmp(&(&b.backup_id, &b.label)));
    Ok(Ok(rows))
}

/// Whether this unit runs the primary, from its Patroni.
/// This unit's Patroni, when it runs the primary.
async fn primary_patroni(ctx: &Context, tools: &HookTools) -> Result<Option<Patroni>> {
    let Some(patroni) = super::primary::unit_patroni(ctx, tools)? else {
        return Ok(None);
    };
    let primary = patroni.health().await.is_ok_and(|h| h.is_primary());
    Ok(primary.then_some(patroni))
}

/// Record when a backup last ended (`key`: [`workload::LAST_BACKUP_PARAMETER`] or
/// [`workload::LAST_BACKUP_ERROR_PARAMETER`]) as a cluster-wide custom parameter in Patroni's
/// store, where every member's exporter reads it (cos/exporter/queries.yaml) and a failover
/// keeps it. A failure to record is logged; the backup's result stands.
async fn record_backup_end(patroni: &Patroni, key: &str) {
    let patch = serde_json::json!({"postgresql": {"parameters": {key: now_unix().to_string()}}});
    if let Err(e) = patroni.patch_config(&patch).await {
        tracing::warn!("recording {key} in Patroni's configuration: {e:#}");
    }
}

/// `list-backups`.
pub async fn list_backups(tools: &HookTools, paths: &Paths) -> Result<()> {
    let state = tools.state_get()?;
    let Some(view) = usable_view(tools, &state)? else {
        return Ok(());
    };
    let client = workload_client(paths)?;
    match listing(&client, &view).await? {
        Ok(rows) => {
            tools.action_set(&BTreeMap::from([
                (
                    "backups".to_string(),
                    pgbackrest::backups_table(&view.bucket, &view.path, &rows),
                ),
                (
                    "backups-json".to_string(),
                    serde_json::to_string(&rows).context("writing the rows")?,
                ),
            ]))?;
        }
        Err(e) => tools.action_fail(&format!(
            "Failed to list PostgreSQL backups with error: {e}"
        ))?,
    }
    Ok(())
}

/// `create-backup type=full|differential|incremental`.
pub async fn create_backup(
    ctx: &Context,
    tools: &HookTools,
    paths: &Paths,
    params: &serde_json::Value,
) -> Result<()> {
    let requested = param(params, "type").unwrap_or_else(|| "full".into());
    let kind = match pgbackrest::backup_type(&requested) {
        Ok(k) => k,
        Err(message) => {
            tools.action_fail(&message)?;
            return Ok(());
        }
    };
    let state = tools.state_get()?;
    let Some(view) = usable_view(tools, &state)? else {
        return Ok(());
    };
    let Some(patroni) = primary_patroni(ctx, tools).await? else {
        tools.action_fail(
            "Unit cannot perform backups as it is not the primary: run create-backup on the \
             primary unit (get-primary names it)",
        )?;
        return Ok(());
    };
    if backups::stanza_in(&state).is_none_or(|s| s.conf != view.conf || s.blocked.is_some()) {
        tools.action_fail("Stanza was not initialised")?;
        return Ok(());
    }
    let client = workload_client(paths)?;
    if kind != "full" {
        let has_full = backup_rows(&client, &view).await?.is_ok_and(|rows| {
            rows.iter()
                .any(|r| r.action == "full backup" && r.status == "finished")
        });
        if !has_full {
            tools.action_fail(&format!(
                "Invalid backup type: {requested}. No previous full backup to reference."
            ))?;
            return Ok(());
        }
    }
    tools.status_set(false, &Status::maintenance("creating backup"))?;
    let metadata = format!(
        "Date Backup Requested: {}\nModel Name: {}\nApplication Name: {}\nUnit Name: {}\n\
         Juju Version: {}\n",
        juju::time::utc_date_time(now_unix()),
        ctx.model_name,
        ctx.app_name,
        ctx.unit_name,
        ctx.juju_version,
    );
    let latest = format!("backup/{}/latest", view.stanza);
    let put = repo_put(&client, &latest, &metadata).await?;
    if put.exit_code != 0 {
        tracing::warn!(
            "uploading the backup metadata: {}",
            pgbackrest::error_lines(&output_text(&put))
        );
        tools.action_fail("Failed to upload metadata to provided S3")?;
        return finish(ctx, tools, paths).await;
    }
    tools.action_log(&format!("{requested} backup started"))?;
    let started = Instant::now();
    let out = run_pgbackrest(
        &client,
        &[
            &format!("--stanza={}", view.stanza),
            "--log-level-console=info",
            &format!("--type={kind}"),
            "--no-backup-standby",
            "backup",
        ],
        None,
        None,
    )
    .await?;
    let log = output_text(&out);
    if out.exit_code != 0 {
        let error = pgbackrest::error_lines(&log);
        tracing::error!("pgbackrest backup failed: {error}");
        record_backup_end(&patroni, workload::LAST_BACKUP_ERROR_PARAMETER).await;
        tools.action_fail(&format!("Failed to backup PostgreSQL with error: {error}"))?;
        return finish(ctx, tools, paths).await;
    }
    record_backup_end(&patroni, workload::LAST_BACKUP_PARAMETER).await;
    let label = pgbackrest::backup_label_from_output(&log)
        .context("pgbackrest backup named no backup label")?;
    tools.action_log(&format!(
        "backup {label} taken in {:.1} s; uploading its log",
        started.elapsed().as_secs_f64()
    ))?;
    let log_path = format!("backup/{}/{label}/backup.log", view.stanza);
    let mut put = repo_put(&client, &log_path, &log).await?;
    if put.exit_code == 0 {
        // pgBackRest's backup clears what it does not know from the stanza's backup path:
        // the request's metadata goes there again.
        put = repo_put(&client, &latest, &metadata).await?;
    }
    if put.exit_code != 0 {
        tools.action_fail("Error uploading logs to S3")?;
        return finish(ctx, tools, paths).await;
    }
    let id = backup_rows(&client, &view)
        .await?
        .ok()
        .and_then(|rows| rows.into_iter().find(|r| r.label == label))
        .map(|r| r.backup_id);
    let mut results = BTreeMap::from([
        ("backup-status".to_string(), "backup created".to_string()),
        ("backup-label".to_string(), label),
    ]);
    if let Some(id) = id {
        results.insert("backup-id".to_string(), id);
    }
    tools.action_set(&results)?;
    finish(ctx, tools, paths).await
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Put the status back (the hook's usual reconcile).
async fn finish(ctx: &Context, tools: &HookTools, paths: &Paths) -> Result<()> {
    if let Err(e) = charm::reconcile(ctx, tools, paths, charm::Overrides::default()).await {
        tracing::warn!("after the backup: {e:#}");
    }
    Ok(())
}

/// `restore backup-id=<id> restore-to-time=<time>`.
pub async fn restore(
    ctx: &Context,
    tools: &HookTools,
    paths: &Paths,
    params: &serde_json::Value,
) -> Result<()> {
    let backup_id = param(params, "backup-id");
    let target = param(params, "restore-to-time");
    if backup_id.is_none() && target.is_none() {
        tools.action_fail(
            "Either backup-id or restore-to-time parameters need to be provided to be able to \
             do restore",
        )?;
        return Ok(());
    }
    if let Some(t) = &target
        && let Err(message) = pgbackrest::parse_restore_to_time(t)
    {
        tools.action_fail(message)?;
        return Ok(());
    }
    if !tools.is_leader()? {
        tools
            .action_fail("Unit cannot restore backup as it was not elected the leader unit yet")?;
        return Ok(());
    }
    let state = tools.state_get()?;
    let Some(view) = usable_view(tools, &state)? else {
        return Ok(());
    };
    let client = workload_client(paths)?;
    if backups::restore_in(&state).is_some() {
        // A restore whose bootstrap failed (Patroni stopped) may be replaced by another one.
        let running = client
            .list_services(&["postgresql"])
            .await
            .context("reading the workload's services")?
            .iter()
            .any(|s| s.current == pebble::ServiceStatus::Active);
        if running {
            tools.action_fail("A restore is already in progress")?;
            return Ok(());
        }
    }
    let units = tools.goal_state().map(|g| g.planned_units()).unwrap_or(1);
    if units > 1 {
        tools.action_fail(
            "Unit cannot restore backup as there are more than one unit in the cluster",
        )?;
        return Ok(());
    }
    let rows = match listing(&client, &view).await? {
        Ok(r) => r,
        Err(e) => {
            tools.action_fail(&format!(
                "Failed to list PostgreSQL backups with error: {e}"
            ))?;
            return Ok(());
        }
    };
    let mut plan = pgbackrest::RestorePlan {
        stanza: view.stanza.clone(),
        label: None,
        target: target.clone(),
        timeline: None,
    };
    if let Some(id) = &backup_id {
        let Some(row) = rows
            .iter()
            .find(|r| &r.backup_id == id && r.status == "finished")
        else {
            tools.action_fail(&format!(
                "Invalid backup-id: {}",
                id.chars().take(64).collect::<String>()
            ))?;
            return Ok(());
        };
        if row.action == "restore" {
            // A timeline: recovery follows it to the time given; pgBackRest picks the backup.
            if target.is_none() {
                tools.action_fail(
                    "Cannot restore to the timeline without restore-to-time parameter",
                )?;
                return Ok(());
            }
        } else {
            plan.label = Some(row.label.clone());
        }
        if target.is_some() && !row.timeline.is_empty() {
            plan.timeline = Some(row.timeline.clone());
        }
    } else if !rows
        .iter()
        .any(|r| r.status == "finished" && r.action != "restore")
    {
        tools.action_fail("There is no base backup created from the latest timeline")?;
        return Ok(());
    }

    tools.status_set(false, &Status::maintenance("restoring backup"))?;
    tools.action_log("stopping the database")?;
    client
        .stop(&["postgresql"])
        .await
        .context("stopping Patroni")?;
    // The cluster's state in the store goes, so Patroni bootstraps from the backup.
    let scope = format!("patroni-{}", ctx.app_name);
    let removed = client
        .exec(&ExecRequest {
            service_context: Some("postgresql".into()),
            stdin: Some(format!("{scope}\nYes I am aware\n{}\n", ctx.pod_name()).into_bytes()),
            ..ExecRequest::new(["patronictl", "-c", workload::PATRONI_CONF, "remove", &scope])
        })
        .await
        .context("removing the cluster from Patroni's store")?;
    if removed.exit_code != 0 {
        tracing::error!(
            "patronictl remove: {}",
            output_text(&removed).chars().take(400).collect::<String>()
        );
        let _ = client.start(&["postgresql"]).await;
        tools.action_fail("Failed to remove the cluster from Patroni's store; nothing restored")?;
        return Ok(());
    }
    tools.action_log("removing the data directory")?;
    match client.remove_path(workload::DATA_DIR, true).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e).context("removing the data directory"),
    }
    client
        .make_dir(
            workload::DATA_DIR,
            &MakeDirOptions {
                make_parents: true,
                permissions: Some(0o700),
                user: Some(workload::WORKLOAD_USER.into()),
                group: Some(workload::WORKLOAD_USER.into()),
                ..MakeDirOptions::default()
            },
        )
        .await
        .context("creating the data directory")?;
    let restore = Restore {
        plan,
        started: false,
    };
    tools.state_set(&BTreeMap::from([(
        RESTORE_KEY.to_string(),
        serde_json::to_string(&restore).context("recording the restore")?,
    )]))?;
    tools.action_log("starting Patroni to restore the backup")?;
    charm::reconcile(ctx, tools, paths, charm::Overrides::default())
        .await
        .context("starting the restore")?;
    tools.action_set(&BTreeMap::from([(
        "restore-status".to_string(),
        "restore started".to_string(),
    )]))?;
    Ok(())
}
