//! Backup and restore throughput: the release charm in the lab (real PostgreSQL, Patroni, etcd,
//! pgBackRest 2.45, moto behind nginx's TLS) with a generated database of about `SIZE_MB` MB
//! (1000 by default). The charm's `create-backup` (full) and `restore` are timed against
//! pgBackRest run by hand in the same workload, with the same configuration, through Pebble:
//! `pgbackrest backup --type=full` first (the WAL the load wrote archived before either), then
//! `pgbackrest restore` of the charm's backup into a scratch directory and PostgreSQL started on
//! it until it is promoted (what a restore by hand takes to give a usable database; the file
//! copy alone is shown too). The charm's `restore` is timed from the action to the unit being
//! active again: stopping Patroni, Patroni's bootstrap with the same restore, recovery,
//! promotion, and Patroni started again with its usual configuration.
//!
//! `sudo cargo bench --bench backups [-- SIZE_MB]` (needs root for the lab's pods).

use std::time::Instant;

use lab::engine::Isolation;
use pebble::ExecRequest;

use common_lab::s3::{BackupLab, UNIT};

/// Run pgBackRest in the unit's workload as `postgres`; seconds it took.
fn pgbackrest(lab: &BackupLab, args: &[&str]) -> f64 {
    run(
        lab,
        std::iter::once("pgbackrest")
            .chain(args.iter().copied())
            .collect(),
    )
}

/// Run `command` in the unit's workload as `postgres`; seconds it took.
fn run(lab: &BackupLab, command: Vec<&str>) -> f64 {
    let client = lab.d.model.pebble(UNIT, "postgresql").unwrap();
    let args = command.clone();
    let mut request = ExecRequest::new(command);
    request.user = Some("postgres".into());
    request.group = Some("postgres".into());
    let start = Instant::now();
    let out = lab.d.model.block_on(client.exec(&request)).unwrap();
    let took = start.elapsed().as_secs_f64();
    assert_eq!(
        out.exit_code,
        0,
        "pgbackrest {args:?}: {}{}",
        out.stdout_text(),
        out.stderr_text()
    );
    took
}

fn main() {
    let size_mb: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    if Isolation::best_available() != Isolation::Namespaces {
        eprintln!("the backups benchmark needs root (the lab's pods)");
        return;
    }
    let mut lab = BackupLab::start(true, &[]);
    let stanza = format!("{}.patroni-{}", lab.d.model.state().name, common_lab::APP);
    let sql = lab.operator();
    // About 300 bytes a row (incompressible-ish hex from md5, as zstd sees it).
    let rows = size_mb * 1_000_000 / 300;
    let start = Instant::now();
    sql.execute(&format!(
        "CREATE TABLE bench AS SELECT g AS id, md5(g::text) || md5((g * 3)::text) \
         || md5((g * 7)::text) || md5((g * 11)::text) || md5((g * 13)::text) \
         || md5((g * 17)::text) || md5((g * 19)::text) AS pad \
         FROM generate_series(1, {rows}) g"
    ));
    sql.execute("CHECKPOINT");
    let bytes: u64 = sql
        .value("SELECT pg_database_size('postgres')::text")
        .parse()
        .unwrap();
    let mb = bytes as f64 / 1e6;
    println!(
        "\ngenerated {mb:.0} MB ({rows} rows) in {:.1} s; release build, 1 unit, backups encrypted (aes-256-cbc), zstd",
        start.elapsed().as_secs_f64()
    );
    // The load's WAL archived first, so neither backup competes with the archiver.
    let segment = sql.value("SELECT pg_walfile_name(pg_switch_wal())");
    while sql.value("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver") < segment {
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    println!("load archived after {:.1} s", start.elapsed().as_secs_f64());
    drop(sql);

    let plain_backup = pgbackrest(
        &lab,
        &[
            &format!("--stanza={stanza}"),
            "--type=full",
            "--no-backup-standby",
            "backup",
        ],
    );
    let record = lab.d.run(UNIT, "create-backup", &[("type", "full")]);
    let action = record.action.clone().unwrap();
    assert_eq!(action.failed, None, "{}", record.output);
    let charm_backup = record.duration.as_secs_f64();
    let id = action.results["backup-id"].clone();
    let label = action.results["backup-label"].clone();

    let scratch = "/var/lib/postgresql/data/restore-bench";
    let plain_restore = pgbackrest(
        &lab,
        &[
            &format!("--stanza={stanza}"),
            &format!("--pg1-path={scratch}"),
            &format!("--set={label}"),
            "--type=immediate",
            "--target-action=promote",
            "restore",
        ],
    );
    // PostgreSQL on the copy, beside the cluster (another port, no archiving), until promoted.
    let bin = "/usr/lib/postgresql/15/bin";
    let pg_ctl = format!("{bin}/pg_ctl");
    let started = Instant::now();
    run(
        &lab,
        vec![
            &pg_ctl,
            "-D",
            scratch,
            "-w",
            "-t",
            "600",
            // Its output to a file: the server would otherwise hold the exec's streams open.
            "-l",
            "/tmp/restore-bench.log",
            "-o",
            "-p 5499 -c listen_addresses= -k /tmp -c archive_mode=off -c ssl=off",
            "start",
        ],
    );
    // PostgreSQL removes recovery.signal when it promotes.
    let client = lab.d.model.pebble(UNIT, "postgresql").unwrap();
    let signal = format!("{scratch}/recovery.signal");
    while lab.d.model.block_on(client.exists(&signal)).unwrap() {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let plain_start = started.elapsed().as_secs_f64();
    run(&lab, vec![&pg_ctl, "-D", scratch, "-m", "fast", "stop"]);
    let client = lab.d.model.pebble(UNIT, "postgresql").unwrap();
    lab.d
        .model
        .block_on(client.remove_path(scratch, true))
        .unwrap();

    let start = Instant::now();
    lab.restore(&[("backup-id", &id)]);
    let charm_restore = start.elapsed().as_secs_f64();
    let sql = lab.operator();
    assert_eq!(
        sql.value("SELECT count(*)::text FROM bench"),
        rows.to_string(),
        "the restored table"
    );

    let row = |what: &str, charm: f64, plain: f64| {
        println!(
            "{what:<8} charm {charm:>7.1} s {:>6.1} MB/s   plain pgbackrest {plain:>7.1} s {:>6.1} MB/s   ratio {:.2}",
            mb / charm,
            mb / plain,
            charm / plain
        );
    };
    row("backup", charm_backup, plain_backup);
    row("restore", charm_restore, plain_restore + plain_start);
    println!(
        "(plain restore: {plain_restore:.1} s copying the files, {plain_start:.1} s PostgreSQL's recovery and promotion)"
    );
    lab.d.model.destroy();
}

#[path = "../tests/common_lab/mod.rs"]
mod common_lab;
