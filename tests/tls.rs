//! TLS end to end in the lab: the charm on the `certificates` relation with a provider built on
//! the real tls-certificates library (PyPI), real PostgreSQL, Patroni and etcd. Clients verify
//! the server with `verify-full`; bad certificates are refused; renewal needs no restart;
//! `set-tls-private-key` takes RSA and EC keys in every form; removing the relation turns TLS
//! off; no private key reaches a log, an argv or relation data.

mod common_lab;

use std::process::Command;
use std::time::{Duration, Instant};

use common_lab::postgres_client::connect_verified;
use common_lab::tls::{TLS_PYTHON_ENV, ca_sender_charm, provider_charm, tls_python};
use common_lab::{APP, Deployment, deploy_in};

const PROVIDER: &str = "tls";
const UNIT: &str = "postgresql-k8s/0";

fn deploy() -> Deployment {
    let python = tls_python();
    deploy_in(false, &[], &[(TLS_PYTHON_ENV, python.to_str().unwrap())])
}

/// The pod FQDN the certificate must name (spec §4.6; the namespace is the model's name).
fn fqdn(d: &Deployment) -> String {
    format!(
        "{APP}-0.{APP}-endpoints.{}.svc.cluster.local",
        d.model.state().name
    )
}

/// Deploy the provider, integrate, and wait until Patroni serves https. The relation id and
/// how long it took from `integrate`.
fn enable(d: &mut Deployment) -> (u64, Duration) {
    let charm = provider_charm(&d.scratch().join("charms"));
    d.model.deploy(&charm, Some(PROVIDER), 1, &[]).unwrap();
    d.model.settle().unwrap();
    let start = Instant::now();
    let rel = d
        .model
        .integrate(&format!("{APP}:certificates"), PROVIDER)
        .unwrap();
    assert!(
        wait(d, 60, |d| tls_on(d) && active(d)),
        "TLS never came on: {:?}\n{}",
        d.model.unit_status(UNIT),
        d.log_tail(80)
    );
    (rel, start.elapsed())
}

/// The charm's state says Patroni loaded a TLS configuration.
fn tls_on(d: &Deployment) -> bool {
    d.model.state().units[UNIT]
        .state
        .contains_key("patroni-api-ca")
}

fn active(d: &Deployment) -> bool {
    d.model
        .unit_status(UNIT)
        .is_some_and(|s| s.status == "active" && s.message == "Primary")
}

/// Settle and fire update-status until `done` holds (at most `secs` seconds).
fn wait(d: &mut Deployment, secs: u64, done: impl Fn(&Deployment) -> bool) -> bool {
    d.wait_until(Some(UNIT), secs, done)
}

/// The provider's CA, from its application data.
fn provider_ca(d: &Deployment, rel: u64) -> String {
    let state = d.model.state();
    let bag = &state.relations[&rel].app_data[PROVIDER];
    let certs: Vec<serde_json::Value> = serde_json::from_str(&bag["certificates"]).unwrap();
    certs[0]["ca"].as_str().unwrap().to_string()
}

fn set_mode(d: &mut Deployment, mode: &str) {
    d.model
        .config(PROVIDER, &[("mode".into(), mode.into())], &[])
        .unwrap();
    d.model.settle().unwrap();
}

#[allow(clippy::disallowed_methods)] // openssl and curl as independent clients
fn sh(script: &str) -> (bool, String) {
    let out = Command::new("sh").args(["-c", script]).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The serial number of the certificate PostgreSQL serves right now (openssl s_client).
fn served_serial(d: &Deployment) -> String {
    let (ok, out) = sh(&format!(
        "openssl s_client -starttls postgres -connect {}:5432 </dev/null 2>/dev/null \
         | openssl x509 -noout -serial",
        d.address(0)
    ));
    assert!(ok, "{out}");
    out.trim().trim_start_matches("serial=").to_string()
}

fn file(d: &Deployment, path: &str) -> String {
    String::from_utf8(d.pull(path)).unwrap()
}

/// The public key of a PEM private key or certificate (openssl), for comparing keys.
fn public_key(d: &Deployment, pem: &str, what: &str) -> String {
    let path = d.scratch().join("pubkey-input.pem");
    std::fs::write(&path, pem).unwrap();
    let cmd = if what == "cert" {
        format!("openssl x509 -noout -pubkey -in {}", path.display())
    } else {
        format!("openssl pkey -pubout -in {}", path.display())
    };
    let (ok, out) = sh(&cmd);
    assert!(ok, "{out}");
    out
}

fn hba_rules(d: &Deployment) -> Vec<String> {
    file(d, "/var/lib/postgresql/data/pgdata/pg_hba.conf")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn tls_on_bad_certificates_refused_and_off_again() {
    if !common_lab::can_run() {
        return;
    }
    let mut d = deploy();
    let operator = d.password("operator");
    let (rel, took) = enable(&mut d);
    let changed: Vec<usize> = d
        .model
        .history()
        .iter()
        .filter(|r| r.unit == UNIT && r.dispatch_path == "hooks/certificates-relation-changed")
        .map(|r| r.calls.len())
        .collect();
    eprintln!(
        "figures: integrate → TLS active in {:.2} s; certificates-relation-changed hook-tool calls: {changed:?}",
        took.as_secs_f64()
    );
    let ca = provider_ca(&d, rel);
    let ip = d.address(0);

    // verify-full by the pod's FQDN, and by the short names the reference puts in the SANs.
    let session = connect_verified(&ip, &fqdn(&d), &ca, "operator", &operator)
        .expect("a verify-full TLS connection by the pod FQDN");
    assert_eq!(session.value("SHOW ssl"), "on");
    assert_eq!(
        session.value("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()"),
        "true"
    );
    assert_eq!(session.value("SHOW ssl_min_protocol_version"), "TLSv1.2");
    // The served certificate's expiry, for the exporter's certificate alert.
    let (ok, end) = sh(&format!(
        "date -d \"$(openssl s_client -starttls postgres -connect {ip}:5432 </dev/null 2>/dev/null \
         | openssl x509 -noout -enddate | cut -d= -f2)\" +%s"
    ));
    assert!(ok, "{end}");
    assert_eq!(
        session.value("SHOW postgresql_k8s.tls_certificate_not_after"),
        end.trim()
    );
    for name in [format!("{APP}-0"), format!("{APP}-0.{APP}-endpoints")] {
        connect_verified(&ip, &name, &ca, "operator", &operator)
            .unwrap_or_else(|e| panic!("verify-full as {name}: {e}"));
    }
    // A name the certificate does not carry is refused by the client.
    assert!(connect_verified(&ip, "elsewhere.example", &ca, "operator", &operator).is_err());
    // A plain TCP connection is refused by the server.
    let err = d
        .connect(0, "operator", &operator)
        .err()
        .expect("plain TCP must fail");
    assert!(err.contains("no encryption"), "{err}");
    // Every network rule is hostssl.
    let rules = hba_rules(&d);
    assert!(rules.iter().any(|r| r.starts_with("hostssl ")));
    assert!(!rules.iter().any(|r| r.starts_with("host ")), "{rules:#?}");
    // Patroni answers on https (checked against the CA), not on http.
    let ca_file = d.scratch().join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let (ok, out) = sh(&format!(
        "curl -sS --fail --cacert {} https://{ip}:8008/health",
        ca_file.display()
    ));
    assert!(ok, "Patroni over https: {out}");
    let (ok, _) = sh(&format!(
        "curl -sS --fail --max-time 5 http://{ip}:8008/health"
    ));
    assert!(!ok, "Patroni still answers plain http");
    // The files: 0400, the workload user's.
    let pebble = d.model.pebble(UNIT, "postgresql").unwrap();
    for name in ["key.pem", "cert.pem", "ca.pem"] {
        let info = d
            .model
            .block_on(pebble.list_files(&format!("/var/lib/postgresql/data/{name}"), None, true))
            .unwrap();
        assert_eq!(info[0].permissions, 0o400, "{name}");
        assert_eq!(info[0].user, "postgres", "{name}");
    }

    // Bad certificates: each refused with a reason, TLS state unchanged.
    let good_cert = file(&d, "/var/lib/postgresql/data/cert.pem");
    let serial = served_serial(&d);
    for (mode, reason) in [
        ("wrong-san", "does not cover"),
        ("expired", "expired"),
        ("wrong-key", "private key"),
        ("wrong-ca", "chain"),
        ("revoked", "revoked"),
    ] {
        set_mode(&mut d, mode);
        let refused = wait(&mut d, 30, |d| {
            d.model
                .unit_status(UNIT)
                .is_some_and(|s| s.status == "blocked" && s.message.contains(reason))
        });
        assert!(
            refused,
            "{mode}: {:?}\n{}",
            d.model.unit_status(UNIT),
            d.log_tail(20)
        );
        assert_eq!(
            file(&d, "/var/lib/postgresql/data/cert.pem"),
            good_cert,
            "{mode}"
        );
        assert_eq!(served_serial(&d), serial, "{mode}");
        connect_verified(&ip, &fqdn(&d), &ca, "operator", &operator)
            .unwrap_or_else(|e| panic!("after {mode}: {e}"));
    }
    set_mode(&mut d, "valid");
    assert!(wait(&mut d, 30, active), "{:?}", d.model.unit_status(UNIT));
    assert_ne!(
        served_serial(&d),
        serial,
        "the new valid certificate is served"
    );

    // Remove the relation: plain connections work again, no hostssl, key kept.
    d.model.remove_relation(rel).unwrap();
    assert!(
        wait(&mut d, 60, |d| !tls_on(d) && active(d)),
        "{:?}\n{}",
        d.model.unit_status(UNIT),
        d.log_tail(30)
    );
    let plain = d
        .connect(0, "operator", &operator)
        .expect("plain TCP after TLS is removed");
    assert_eq!(plain.value("SHOW ssl"), "off");
    assert_eq!(
        plain.value(
            "SELECT coalesce(current_setting('postgresql_k8s.tls_certificate_not_after', true), '')"
        ),
        ""
    );
    assert!(!hba_rules(&d).iter().any(|r| r.starts_with("hostssl")));
    let (ok, out) = sh(&format!("curl -sS --fail http://{ip}:8008/health"));
    assert!(ok, "Patroni over http again: {out}");
    let key_pem = {
        let state = d.model.state();
        let secret = state
            .secrets
            .values()
            .find(|s| s.label.as_deref() == Some(&format!("database-peers.{APP}.unit")))
            .expect("the unit secret");
        let content = &secret.revisions[&secret.latest()];
        assert!(!content.contains_key("cert"));
        content.get("key").expect("the key is kept").clone()
    };
    assert!(
        !d.model
            .block_on(pebble.exists("/var/lib/postgresql/data/key.pem"))
            .unwrap(),
        "key.pem is removed from the workload"
    );

    // receive-ca-cert: the CA is kept in the unit secret and trusted in the workload, until the
    // relation goes.
    let sender = ca_sender_charm(&d.scratch().join("charms"));
    d.model.deploy(&sender, None, 1, &[]).unwrap();
    d.model.settle().unwrap();
    let transfer = d
        .model
        .integrate(&format!("{APP}:receive-ca-cert"), "ca-sender")
        .unwrap();
    let trusted = "/usr/local/share/ca-certificates/ca-ca-sender.crt";
    let linked = "/etc/ssl/certs/ca-ca-sender.pem";
    let exists = |d: &Deployment, path: &str| {
        let pebble = d.model.pebble(UNIT, "postgresql").unwrap();
        d.model.block_on(pebble.exists(path)).unwrap()
    };
    assert!(
        wait(&mut d, 30, |d| exists(d, trusted) && exists(d, linked)),
        "the received CA is not trusted\n{}",
        d.log_tail(20)
    );
    let received = file(&d, trusted);
    assert!(
        received.starts_with("-----BEGIN CERTIFICATE-----"),
        "{received}"
    );
    let state = d.model.state();
    let secret = state
        .secrets
        .values()
        .find(|s| s.label.as_deref() == Some(&format!("database-peers.{APP}.unit")))
        .unwrap();
    assert_eq!(
        secret.revisions[&secret.latest()]["ca-ca-sender"].trim(),
        received.trim()
    );
    d.model.remove_relation(transfer).unwrap();
    assert!(
        wait(&mut d, 30, |d| !exists(d, trusted) && !exists(d, linked)),
        "the received CA is still trusted\n{}",
        d.log_tail(20)
    );
    assert!(active(&d), "{:?}", d.model.unit_status(UNIT));

    // No private key material anywhere but the secret and the workload's key file.
    let state = d.model.state();
    let key_body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let key_line = key_pem
        .lines()
        .find(|l| !l.starts_with("-----"))
        .unwrap()
        .to_string();
    for line in &state.log {
        assert!(!line.message.contains("PRIVATE KEY"), "{}", line.message);
        assert!(!line.message.contains(&key_line));
    }
    for record in d.model.history() {
        for call in &record.calls {
            for arg in &call.args {
                assert!(
                    !arg.contains("PRIVATE KEY") && !arg.contains(&key_line),
                    "{} {:?}",
                    call.tool,
                    call.args
                );
            }
        }
        assert!(!record.output.contains("PRIVATE KEY"));
    }
    for relation in state.relations.values() {
        for bag in relation
            .app_data
            .values()
            .chain(relation.unit_data.values())
        {
            for value in bag.values() {
                assert!(!value.contains("PRIVATE KEY") && !value.contains(&key_body[..40]));
            }
        }
    }
}

#[test]
fn renewal_without_restart_and_operator_keys() {
    if !common_lab::can_run() {
        return;
    }
    let mut d = deploy();
    let operator = d.password("operator");
    let (rel, _) = enable(&mut d);
    let ca = provider_ca(&d, rel);
    let ip = d.address(0);

    // Short-lived certificates: the charm renews before expiry, on the same key, with a reload.
    d.model
        .config(PROVIDER, &[("validity-seconds".into(), "60".into())], &[])
        .unwrap();
    let short = |d: &Deployment| {
        let cert = file(d, "/var/lib/postgresql/data/cert.pem");
        let (_, out) = sh(&format!(
            "echo '{cert}' | openssl x509 -noout -startdate -enddate"
        ));
        let dates: Vec<i64> = out
            .lines()
            .map(|l| l.split_once('=').unwrap().1)
            .map(|t| {
                let (_, o) = sh(&format!("date -d '{t}' +%s"));
                o.trim().parse().unwrap()
            })
            .collect();
        dates.len() == 2 && dates[1] - dates[0] <= 120
    };
    assert!(wait(&mut d, 30, short), "{}", d.log_tail(20));
    let session = connect_verified(&ip, &fqdn(&d), &ca, "operator", &operator).unwrap();
    let started = session.value("SELECT pg_postmaster_start_time()::text");
    let key = file(&d, "/var/lib/postgresql/data/key.pem");
    let serial = served_serial(&d);
    let t0 = Instant::now();
    assert!(
        wait(&mut d, 90, |d| served_serial(d) != serial),
        "no renewal within 90 s\n{}",
        d.log_tail(30)
    );
    eprintln!(
        "figures: renewal of a 60 s certificate served after {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(
        file(&d, "/var/lib/postgresql/data/key.pem"),
        key,
        "same key"
    );
    let session = connect_verified(&ip, &fqdn(&d), &ca, "operator", &operator).unwrap();
    assert_eq!(
        session.value("SELECT pg_postmaster_start_time()::text"),
        started,
        "PostgreSQL was not restarted"
    );
    assert!(active(&d), "{:?}", d.model.unit_status(UNIT));
    d.model
        .config(PROVIDER, &[], &["validity-seconds".into()])
        .unwrap();
    d.model.settle().unwrap();

    // set-tls-private-key: RSA PKCS#1, EC SEC1, base64 of a PKCS#8 PEM, then garbage.
    let keys = [
        (
            "rsa-pkcs1",
            "openssl genrsa -traditional 2048 2>/dev/null".to_string(),
        ),
        (
            "ec-sec1",
            "openssl ecparam -name prime256v1 -genkey -noout".to_string(),
        ),
        (
            "base64-pkcs8",
            "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 | base64 -w0"
                .to_string(),
        ),
    ];
    for (name, cmd) in keys {
        let (ok, given) = sh(&cmd);
        assert!(ok, "{given}");
        let pem = if name.starts_with("base64") {
            let (_, decoded) = sh(&format!("echo '{}' | base64 -d", given.trim()));
            decoded
        } else {
            given.clone()
        };
        let want = public_key(&d, &pem, "key");
        let record = d.run(
            UNIT,
            "set-tls-private-key",
            &[("private-key", given.trim())],
        );
        let action = record.action.unwrap();
        assert_eq!(action.failed, None, "{name}: {}", record.output);
        assert!(
            wait(&mut d, 60, |d| {
                let served = file(d, "/var/lib/postgresql/data/key.pem");
                public_key(d, &served, "key") == want
                    && public_key(d, &file(d, "/var/lib/postgresql/data/cert.pem"), "cert") == want
            }),
            "{name}: the new key never got its certificate\n{}",
            d.log_tail(30)
        );
        connect_verified(&ip, &fqdn(&d), &ca, "operator", &operator)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(active(&d), "{name}: {:?}", d.model.unit_status(UNIT));
    }
    let key = file(&d, "/var/lib/postgresql/data/key.pem");
    let record = d.run(UNIT, "set-tls-private-key", &[("private-key", "not a key")]);
    let failed = record.action.unwrap().failed.expect("garbage is refused");
    assert!(failed.contains("Invalid private key"), "{failed}");
    assert!(
        !failed.contains("not a key"),
        "the input is not echoed: {failed}"
    );
    d.model.settle().unwrap();
    assert_eq!(file(&d, "/var/lib/postgresql/data/key.pem"), key);
}
