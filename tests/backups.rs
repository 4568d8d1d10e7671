//! Backups to S3 end to end in the lab: the charm with real PostgreSQL, Patroni, etcd and
//! pgBackRest 2.45, the s3-provider test charm (ops and the real s3 library), and moto behind
//! nginx's TLS as the S3 server.

mod common_lab;

use std::time::Duration;

use common_lab::postgres_client;
use common_lab::s3::{BUCKET, BackupLab as Lab, PATH, UNIT};

/// Switch to a new WAL segment and wait until PostgreSQL archived it.
fn archive_now(sql: &postgres_client::Client) -> String {
    let segment = sql.value("SELECT pg_walfile_name(pg_switch_wal())");
    for _ in 0..120 {
        let last = sql.value("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
        if last.as_str() >= segment.as_str() {
            return segment;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "{segment} was never archived: {}",
        sql.value(
            "SELECT row(archived_count, failed_count, last_failed_wal)::text FROM pg_stat_archiver"
        )
    );
}

fn rows(sql: &postgres_client::Client) -> String {
    sql.value("SELECT coalesce(string_agg(v, ',' ORDER BY v), '') FROM marks")
}

#[test]
fn backups_are_encrypted_listed_and_restored_to_a_backup_or_a_time() {
    if !common_lab::can_run() {
        return;
    }
    let mut lab = Lab::start(false, &[]);
    let stanza = format!("{}.patroni-{}", lab.d.model.state().name, common_lab::APP);

    // The configuration holds the keys: 0600, the workload user's, encryption on.
    let client = lab.d.model.pebble(UNIT, "postgresql").unwrap();
    let files = lab
        .d
        .model
        .block_on(client.list_files("/etc/pgbackrest.conf", None, true))
        .unwrap();
    assert_eq!(
        (files[0].permissions, files[0].user.as_str()),
        (0o600, "postgres")
    );
    let conf = String::from_utf8(lab.d.pull("/etc/pgbackrest.conf")).unwrap();
    assert!(conf.contains("repo1-cipher-type=aes-256-cbc"), "{conf}");
    assert!(conf.contains(&format!("repo1-s3-key-secret={}", lab.server.secret_key)));
    assert!(conf.contains("repo1-storage-ca-file=") || conf.contains("repo1-s3-ca-file="));
    assert!(!conf.contains("verify-tls"));
    let log = common_lab::model_log(&lab.d.model);
    assert!(
        log.contains(&format!("stanza {stanza} created and checked")),
        "{log}"
    );
    assert!(
        !log.contains(&lab.server.secret_key),
        "the S3 secret key is in the log"
    );

    // WAL archiving works.
    let sql = lab.operator();
    assert_eq!(
        sql.value("SHOW archive_command"),
        format!("pgbackrest --stanza={stanza} archive-push %p")
    );
    sql.execute("CREATE TABLE marks (v text PRIMARY KEY)");
    sql.execute("INSERT INTO marks VALUES ('PLAINTEXT-MARKER-7f3a9c')");
    let segment = archive_now(&sql);
    let objects = lab.server.list_objects(BUCKET);
    assert!(
        objects
            .iter()
            .any(|k| k.contains(&format!("/archive/{stanza}/")) && k.contains(&segment)),
        "{segment} not in {objects:#?}"
    );

    // Backups: a type check, a full one, an incremental one; the listing shows both.
    let bad = lab
        .action("create-backup", &[("type", "weekly")])
        .unwrap_err();
    assert_eq!(
        bad,
        "Invalid backup type: weekly. Possible values: full, differential, incremental."
    );
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let full = lab.backup("full");
    // create-backup records when it ended in Patroni's store, for the exporter's backup age
    // (every member reads it after Patroni's next loop).
    let recorded = (0..60)
        .map(|_| {
            let v = sql.value(
                "SELECT coalesce(current_setting('postgresql_k8s.last_backup_time', true), '')",
            );
            if v.is_empty() {
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            v
        })
        .find(|v| !v.is_empty())
        .expect("postgresql_k8s.last_backup_time set after create-backup");
    let recorded: u64 = recorded.parse().unwrap();
    assert!(
        recorded >= before && recorded <= before + 600,
        "{recorded} {before}"
    );
    // ...which the exporter reports (the charm's queries), for the backup-age alert.
    let scraped = (0..30)
        .find_map(|_| {
            let body = common_lab::cos::curl(&format!("http://{}:9187/metrics", lab.d.address(0)))
                .unwrap_or_default();
            let line = body
                .lines()
                .find(|l| l.starts_with("pg_backup_last_completed_time"))
                .map(str::to_string);
            if line.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
            line
        })
        .expect("pg_backup_last_completed_time in the exporter's scrape");
    let value: f64 = scraped.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(value as u64, recorded, "{scraped}");
    sql.execute("INSERT INTO marks VALUES ('after-full')");
    let incremental = lab.backup("incremental");
    assert_ne!(full, incremental);
    let listed = lab.action("list-backups", &[]).unwrap();
    let table = &listed["backups"];
    assert!(table.starts_with(&format!(
        "Storage bucket name: {BUCKET}\nBackups base path: {PATH}/backup/\n\nbackup-id            | action              | status   | reference-backup-id  | LSN start/stop          | start-time           | finish-time          | timeline | backup-path\n"
    )), "{table}");
    let lines: Vec<&str> = table.lines().skip(5).collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].starts_with(&format!(
            "{full:<20} | full backup         | finished | None "
        )),
        "{table}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "{incremental:<20} | incremental backup  | finished | {full:<20} |"
        )),
        "{table}"
    );
    let json: Vec<serde_json::Value> = serde_json::from_str(&listed["backups-json"]).unwrap();
    assert_eq!(json.len(), 2);

    // Everything pgBackRest stored is encrypted: OpenSSL's salted format, never the marker.
    let mut checked = 0;
    for key in lab.server.list_objects(BUCKET) {
        let ours = ["model-uuid.txt", "/latest", "backup.log"];
        if ours.iter().any(|o| key.ends_with(o)) {
            continue;
        }
        let body = lab.server.get_object(BUCKET, &key);
        assert!(body.starts_with(b"Salted__"), "{key} is not encrypted");
        assert!(
            !body.windows(23).any(|w| w == b"PLAINTEXT-MARKER-7f3a9c"),
            "{key} holds the marker"
        );
        checked += 1;
    }
    assert!(checked > 5, "only {checked} objects checked");
    // Beside each backup, its log; and the last request's metadata.
    let objects = lab.server.list_objects(BUCKET);
    let backup_dir = format!("cluster-a/backup/{stanza}/");
    assert!(
        objects.contains(&format!("{backup_dir}latest")),
        "{objects:#?}"
    );
    let logs = objects
        .iter()
        .filter(|k| k.starts_with(&backup_dir) && k.ends_with("/backup.log"));
    assert_eq!(logs.count(), 2, "{objects:#?}");
    let latest = String::from_utf8(
        lab.server
            .get_object(BUCKET, &format!("{backup_dir}latest")),
    )
    .unwrap();
    assert!(latest.contains(&format!("Unit Name: {UNIT}")), "{latest}");

    // Bad restores change nothing.
    assert_eq!(
        lab.action("restore", &[("backup-id", "2020-01-01T00:00:00Z")])
            .unwrap_err(),
        "Invalid backup-id: 2020-01-01T00:00:00Z"
    );
    assert_eq!(
        lab.action("restore", &[("restore-to-time", "yesterday")])
            .unwrap_err(),
        "Bad restore-to-time format"
    );
    assert_eq!(
        lab.action("restore", &[]).unwrap_err(),
        "Either backup-id or restore-to-time parameters need to be provided to be able to do restore"
    );
    assert_eq!(rows(&sql), "PLAINTEXT-MARKER-7f3a9c,after-full");
    drop(sql);

    // Restore the full backup: what came after it is gone.
    lab.restore(&[("backup-id", &full)]);
    let sql = lab.operator();
    assert_eq!(rows(&sql), "PLAINTEXT-MARKER-7f3a9c");
    // The restore started timeline 2: list-backups shows it, and it needs a time.
    let listed = lab.action("list-backups", &[]).unwrap();
    let json: Vec<serde_json::Value> = serde_json::from_str(&listed["backups-json"]).unwrap();
    let timeline = json
        .iter()
        .find(|r| r["action"] == "restore")
        .unwrap_or_else(|| panic!("no restore row: {}", listed["backups"]));
    assert_eq!(timeline["timeline"], "2");
    let timeline_id = timeline["backup-id"].as_str().unwrap().to_string();
    assert!(
        listed["backups"].contains(&format!(
            "{timeline_id} | restore             | finished | None                 | n/a"
        )),
        "{}",
        listed["backups"]
    );
    assert_eq!(
        lab.action("restore", &[("backup-id", &timeline_id)])
            .unwrap_err(),
        "Cannot restore to the timeline without restore-to-time parameter"
    );
    // The stanza is checked again on the new timeline, and archiving goes on.
    lab.d.model.update_status(Some(UNIT));
    lab.wait_status("active", "Primary", 120);
    archive_now(&sql);

    // Point in time: a new base backup, then exactly the rows before the time.
    lab.backup("full");
    sql.execute("INSERT INTO marks VALUES ('before-time')");
    std::thread::sleep(Duration::from_millis(1500));
    let time = sql.value("SELECT now()::text");
    std::thread::sleep(Duration::from_millis(1500));
    sql.execute("INSERT INTO marks VALUES ('after-time')");
    archive_now(&sql);
    drop(sql);
    lab.restore(&[("restore-to-time", &time)]);
    let sql = lab.operator();
    assert_eq!(rows(&sql), "PLAINTEXT-MARKER-7f3a9c,before-time");
    sql.execute("INSERT INTO marks VALUES ('on-the-latest-timeline')");
    archive_now(&sql);
    drop(sql);

    // A time no WAL reaches: the bootstrap fails and says so; another restore recovers.
    let results = lab
        .action("restore", &[("restore-to-time", "2099-01-01 00:00:00+00")])
        .unwrap();
    assert_eq!(results["restore-status"], "restore started");
    lab.wait_status(
        "blocked",
        "cannot restore PITR, juju debug-log for details",
        300,
    );
    lab.restore(&[("restore-to-time", "latest")]);
    let sql = lab.operator();
    assert_eq!(
        rows(&sql),
        "PLAINTEXT-MARKER-7f3a9c,before-time,on-the-latest-timeline"
    );
}

#[test]
fn bad_s3_settings_block_with_the_reference_messages_and_recover() {
    if !common_lab::can_run() {
        return;
    }
    let mut lab = Lab::start(false, &[("backup_encryption", "false")]);
    let access = "failed to access/create the bucket, check your S3 settings";
    let conf = String::from_utf8(lab.d.pull("/etc/pgbackrest.conf")).unwrap();
    assert!(!conf.contains("cipher"), "{conf}");

    // A wrong secret key.
    lab.provider_config("secret-key", "not-the-key");
    lab.wait_status("blocked", access, 120);
    let good = lab.server.secret_key.clone();
    lab.provider_config("secret-key", &good);
    lab.wait_status("active", "Primary", 120);

    // A CA that did not sign the endpoint's certificate.
    let other = unrelated_ca();
    lab.provider_config("tls-ca-chain", &other);
    lab.wait_status("blocked", access, 120);
    let ca = lab.server.ca_pem.clone();
    lab.provider_config("tls-ca-chain", &ca);
    lab.wait_status("active", "Primary", 120);

    // An endpoint nothing answers at.
    let endpoint = lab.server.endpoint_in(&lab.d.model);
    lab.provider_config("endpoint", "https://s3.lab:1");
    lab.wait_status("blocked", access, 120);
    lab.provider_config("endpoint", &endpoint);
    lab.wait_status("active", "Primary", 120);

    // Another cluster's backups under another path.
    lab.server.put_object(
        BUCKET,
        "other/model-uuid.txt",
        "00000000-0000-4000-8000-000000000000",
    );
    lab.provider_config("path", "/other");
    lab.wait_status(
        "blocked",
        "the S3 repository has backups from another cluster",
        120,
    );
    lab.provider_config("path", PATH);
    lab.wait_status("active", "Primary", 120);

    // Missing fields: the reference's message.
    lab.provider_config("bucket", "");
    // The provider then hands back the bucket the charm asked for; an empty access key is
    // a missing field.
    lab.provider_config("access-key", " ");
    lab.wait_status("blocked", "Missing S3 parameters: ['access-key']", 120);
    let key = lab.server.access_key.clone();
    lab.provider_config("access-key", &key);
    lab.provider_config("bucket", BUCKET);
    lab.wait_status("active", "Primary", 120);

    // The relation removed: archiving off, the keys gone from the workload.
    let id = lab
        .d
        .model
        .state()
        .relations
        .values()
        .find(|r| r.interface == "s3")
        .map(|r| r.id)
        .unwrap();
    lab.d.model.remove_relation(id).unwrap();
    lab.wait_status("active", "Primary", 120);
    let sql = lab.operator();
    assert_eq!(sql.value("SHOW archive_command"), "/bin/true");
    let client = lab.d.model.pebble(UNIT, "postgresql").unwrap();
    assert!(
        !lab.d
            .model
            .block_on(client.exists("/etc/pgbackrest.conf"))
            .unwrap()
    );
    assert_eq!(
        lab.action("list-backups", &[]).unwrap_err(),
        "Relation with s3-integrator charm missing, cannot create/restore backup."
    );
}

/// A CA certificate with the server CA's name that did not sign the server's certificate.
fn unrelated_ca() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::default();
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "lab S3 CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.self_signed(&key).unwrap().pem()
}
