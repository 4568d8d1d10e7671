//! The unit's side of TLS (spec §8): its private key and CSR in the unit secret, the CSR on the
//! `certificates` relation, the provider's certificate checked before use, renewal before expiry,
//! and the extra CAs of `receive-ca-cert`. Nothing here touches the workload: it decides what
//! the workload should serve ([`TlsDecision`]) and `apply` puts it there.
//!
//! The unit secret `database-peers.<app>.unit` holds `key` (PKCS#8 PEM), `csr`, `cert` (the
//! certificate followed by any intermediates), `cauth` (the CA), `chain` (the provider's chain as
//! sent), `ca-<app>` for each CA received on `receive-ca-cert`, and `pending-key` while a key
//! given by `set-tls-private-key` waits for its certificate: `key` and `cert` always belong
//! together, so the workload keeps serving the old pair until the new one is verified.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result};
use juju::{
    Context, Event, HookTools, RelationEventKind, RelationRef, Secret, SecretContent,
    SecretGetMode, SecretOwner, Target,
};
use serde::{Deserialize, Serialize};

use super::secrets::{put_secret, remove_secret};
use crate::passwords::unit_secret_label;
use crate::tls::csr::{csr_matches, identity, make_csr};
use crate::tls::keys::PrivateKey;
use crate::tls::relation::{
    CERTIFICATES_KEY, REQUESTS_KEY, find_for_csr, parse_provider, render_requests, same_pem,
};
use crate::tls::verify::{Verified, renewal_due, verify};

/// The endpoint of the TLS provider.
pub const CERTIFICATES: &str = "certificates";

/// The endpoint that receives extra CAs to trust (certificate_transfer).
pub const RECEIVE_CA: &str = "receive-ca-cert";

/// Charm-state key: the certificate in use ([`TlsState`]); its presence means TLS is on.
pub const TLS_KEY: &str = "tls";

/// Charm-state key: why the provider's last certificate was refused.
pub const REFUSED_KEY: &str = "tls-refused";

/// Charm-state key: the serial of the certificate a renewal was requested for.
pub const RENEWAL_KEY: &str = "tls-renewal";

/// Charm-state key: the remote applications whose CAs are trusted (comma-separated).
pub const TRUSTED_KEY: &str = "tls-trusted";

const KEY: &str = "key";
const PENDING_KEY: &str = "pending-key";
const CSR: &str = "csr";
const CERT: &str = "cert";
const CA: &str = "cauth";
const CHAIN: &str = "chain";
const TRUSTED_PREFIX: &str = "ca-";

/// What is remembered of the certificate in use (public facts only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsState {
    /// Serial number, hex.
    pub serial: String,
    /// Start of validity, seconds since the epoch.
    pub not_before: u64,
    /// End of validity, seconds since the epoch.
    pub not_after: u64,
}

impl TlsState {
    fn of(v: &Verified) -> TlsState {
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        TlsState {
            serial: v.serial_hex.clone(),
            not_before: secs(v.not_before),
            not_after: secs(v.not_after),
        }
    }

    fn renewal_due(&self, now: SystemTime) -> bool {
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        renewal_due(at(self.not_before), at(self.not_after), now)
    }
}

/// What the workload serves when TLS is on.
#[derive(Debug, Clone)]
pub struct Served {
    /// `key.pem`.
    pub key: Secret,
    /// `cert.pem`: the certificate and any intermediates.
    pub cert: String,
    /// `ca.pem`: the CA.
    pub ca: String,
    /// When the certificate expires (seconds since the epoch), when known.
    pub not_after: Option<u64>,
}

/// What the TLS part of a hook decided.
#[derive(Debug, Clone, Default)]
pub struct TlsDecision {
    /// The files to serve; `None`: TLS off.
    pub served: Option<Served>,
    /// Why the provider's certificate was refused, for a blocked status.
    pub refused: Option<String>,
    /// CAs to trust in the workload besides our own: file stem (`ca-<app>`) → PEM.
    pub trusted: BTreeMap<String, String>,
    /// Charm-state entries to record.
    pub state: BTreeMap<String, String>,
    /// Charm-state entries to forget.
    pub forget: Vec<String>,
    /// What changed, for the log.
    pub notes: Vec<String>,
}

/// Converge the unit's TLS material with the relations: make the key and CSR, send the CSR,
/// take the provider's certificate if it passes every check, renew, forget on removal. `new_key`
/// is the key `set-tls-private-key` was given.
pub fn converge(
    ctx: &Context,
    tools: &HookTools,
    state: &BTreeMap<String, String>,
    address: &str,
    new_key: Option<PrivateKey>,
) -> Result<TlsDecision> {
    let now = SystemTime::now();
    let mut decision = TlsDecision::default();
    let in_use = state
        .get(TLS_KEY)
        .and_then(|v| serde_json::from_str::<TlsState>(v).ok());
    let (event_relation, event_kind, remote_app, remote_unit) = match &ctx.event {
        Event::Relation {
            relation,
            kind,
            remote_app,
            remote_unit,
            ..
        } if relation.endpoint == CERTIFICATES || relation.endpoint == RECEIVE_CA => (
            Some(relation.clone()),
            Some(*kind),
            remote_app.clone(),
            remote_unit.clone(),
        ),
        _ => (None, None, String::new(), None),
    };
    let on = |endpoint: &str| {
        event_relation
            .as_ref()
            .is_some_and(|r| r.endpoint == endpoint)
    };
    let broken = event_kind == Some(RelationEventKind::Broken);
    let renewal = in_use
        .as_ref()
        .is_some_and(|s| s.renewal_due(now) && state.get(RENEWAL_KEY) != Some(&s.serial));
    let in_play = event_relation.is_some()
        || new_key.is_some()
        || in_use.is_some()
        || state.contains_key(TRUSTED_KEY)
        || state.contains_key(REFUSED_KEY);
    if !in_play {
        return Ok(decision);
    }

    let label = unit_secret_label(&ctx.app_name);
    let mut content = read_unit_secret(tools, &label)?;
    let original = content.clone();
    let id = identity(&ctx.app_name, &ctx.pod_name(), &ctx.model_name, address);

    // The key the next certificate is for.
    let has_cert = content.contains_key(CERT);
    if let Some(key) = new_key {
        if has_cert {
            content.insert(PENDING_KEY.into(), key.pem().clone());
        } else {
            content.insert(KEY.into(), key.pem().clone());
            content.remove(PENDING_KEY);
        }
        content.remove(CSR);
        decision
            .notes
            .push("a new private key waits for its certificate".into());
    }
    let wants_certificate = (on(CERTIFICATES) && !broken) || content.contains_key(KEY);
    if wants_certificate && !content.contains_key(KEY) {
        content.insert(KEY.into(), PrivateKey::generate().pem().clone());
        decision.notes.push("private key generated".into());
    }
    let signing_key = match content.get(PENDING_KEY).or_else(|| content.get(KEY)) {
        Some(pem) => match PrivateKey::parse(pem.expose()) {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::error!(
                    "the unit secret's private key cannot be used ({e}); a new one is generated"
                );
                let k = PrivateKey::generate();
                content.insert(KEY.into(), k.pem().clone());
                content.remove(PENDING_KEY);
                content.remove(CERT);
                Some(k)
            }
        },
        None => None,
    };

    // The relation to talk on: the event's, or looked up when there is something to send.
    let certificates_relation = if on(CERTIFICATES) {
        (!broken).then(|| event_relation.clone()).flatten()
    } else {
        None
    };
    if let Some(key) = &signing_key {
        let csr_fits = content
            .get(CSR)
            .is_some_and(|c| csr_matches(c.expose(), key, &id));
        let renew_now = renewal && !content.contains_key(PENDING_KEY);
        if !csr_fits || renew_now {
            let csr = make_csr(key, &id).context("making the certificate signing request")?;
            content.insert(CSR.into(), Secret::new(csr));
            if renew_now && let Some(s) = &in_use {
                decision.state.insert(RENEWAL_KEY.into(), s.serial.clone());
                decision
                    .notes
                    .push(format!("renewal requested for certificate {}", s.serial));
            }
        }
    }
    let csr_changed = content.get(CSR).map(Secret::expose) != original.get(CSR).map(Secret::expose);
    let relation = match certificates_relation {
        Some(r) => Some(r),
        None if csr_changed && !(on(CERTIFICATES) && broken) => tools
            .relation_ids(CERTIFICATES)
            .context("looking for the certificates relation")?
            .into_iter()
            .next(),
        None => None,
    };
    if let (Some(rel), Some(csr)) = (&relation, content.get(CSR)) {
        send_request(tools, rel, csr.expose())?;
    }

    // The provider's answer.
    if on(CERTIFICATES)
        && !broken
        && let (Some(rel), Some(key), Some(csr)) = (&relation, &signing_key, content.get(CSR))
        && !remote_app.is_empty()
    {
        let data = tools
            .relation_get(rel, &Target::App(remote_app.clone()))
            .context("reading the TLS provider's data")?;
        match parse_provider(&data) {
            Err(e) => {
                tracing::warn!("{remote_app}'s {CERTIFICATES_KEY} cannot be used: {e}");
                refuse(&mut decision, format!("TLS provider data refused: {e}"));
            }
            Ok(certs) => match find_for_csr(&certs, csr.expose()) {
                None => tracing::debug!("no certificate for our request yet"),
                Some(pc) if pc.revoked => {
                    // The reference's rule: only the certificate in use is replaced when it is
                    // revoked; a revoked certificate we never used is refused and waited out
                    // (replacing it too could loop with a provider that revokes what it issues).
                    let in_use = content
                        .get(CERT)
                        .is_some_and(|c| same_pem(leaf(c.expose()), &pc.certificate));
                    if in_use {
                        tracing::warn!(
                            "the provider revoked the certificate in use; requesting a new one"
                        );
                        let csr =
                            make_csr(key, &id).context("making the certificate signing request")?;
                        send_request(tools, rel, &csr)?;
                        content.insert(CSR.into(), Secret::new(csr));
                    }
                    refuse(
                        &mut decision,
                        "TLS certificate refused: it was revoked by the provider".into(),
                    );
                }
                Some(pc) => match verify(pc, key, &id, now) {
                    Ok(v) => {
                        let same = content.get(CERT).map(Secret::expose)
                            == Some(v.cert_file.as_str())
                            && !content.contains_key(PENDING_KEY);
                        if !same {
                            if let Some(pending) = content.remove(PENDING_KEY) {
                                content.insert(KEY.into(), pending);
                            }
                            content.insert(CERT.into(), Secret::new(v.cert_file.clone()));
                            content.insert(CA.into(), Secret::new(v.ca_file.clone()));
                            content.insert(CHAIN.into(), Secret::new(pc.chain.join("\n")));
                            let s = TlsState::of(&v);
                            decision.notes.push(format!(
                                "certificate {} accepted (valid until {} s after the epoch)",
                                s.serial, s.not_after
                            ));
                            decision.state.insert(
                                TLS_KEY.into(),
                                serde_json::to_string(&s).context("recording the certificate")?,
                            );
                        }
                        decision.forget.push(REFUSED_KEY.into());
                    }
                    Err(e) => {
                        tracing::warn!("refusing the certificate from {remote_app}: {e}");
                        refuse(&mut decision, format!("TLS certificate refused: {e}"));
                    }
                },
            },
        }
    }
    if on(CERTIFICATES) && broken {
        for k in [CERT, CA, CHAIN, PENDING_KEY] {
            content.remove(k);
        }
        decision
            .forget
            .extend([TLS_KEY, REFUSED_KEY, RENEWAL_KEY].map(String::from));
        decision.notes.push("TLS switched off".into());
    }

    // CAs received on receive-ca-cert.
    if on(RECEIVE_CA) && !remote_app.is_empty() {
        let name = format!("{TRUSTED_PREFIX}{remote_app}");
        if broken {
            content.remove(&name);
        } else if let Some(rel) = &event_relation {
            match received_cas(tools, rel, &remote_app, remote_unit.as_deref()) {
                Ok(Some(pem)) => {
                    content.insert(name, Secret::new(pem));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!("{remote_app}'s CA cannot be used: {e}"),
            }
        }
    }
    decision.trusted = content
        .iter()
        .filter(|(k, _)| k.starts_with(TRUSTED_PREFIX))
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect();
    if decision.trusted.is_empty() {
        decision.forget.push(TRUSTED_KEY.into());
    } else {
        decision.state.insert(
            TRUSTED_KEY.into(),
            decision
                .trusted
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(","),
        );
    }

    if content != original {
        write_unit_secret(tools, &label, &content)?;
    }
    let refused_before = state.get(REFUSED_KEY).cloned();
    if decision.refused.is_none() && !decision.forget.iter().any(|k| k == REFUSED_KEY) {
        decision.refused = refused_before;
    }
    let not_after = decision
        .state
        .get(TLS_KEY)
        .and_then(|v| serde_json::from_str::<TlsState>(v).ok())
        .or(in_use)
        .map(|s| s.not_after);
    decision.served = match (content.get(KEY), content.get(CERT), content.get(CA)) {
        (Some(key), Some(cert), Some(ca)) if !(on(CERTIFICATES) && broken) => Some(Served {
            key: key.clone(),
            cert: cert.expose().to_string(),
            ca: ca.expose().to_string(),
            not_after,
        }),
        _ => None,
    };
    Ok(decision)
}

/// Put our CSR in this unit's databag (a no-op when it is already there).
fn send_request(tools: &HookTools, relation: &RelationRef, csr: &str) -> Result<()> {
    tools
        .relation_set(
            relation,
            false,
            &BTreeMap::from([(REQUESTS_KEY.to_string(), render_requests(&[csr]))]),
        )
        .context("sending the certificate signing request")
}

/// The first certificate of a PEM bundle.
fn leaf(bundle: &str) -> &str {
    const END: &str = "-----END CERTIFICATE-----";
    bundle
        .find(END)
        .map_or(bundle, |i| &bundle[..i + END.len()])
}

fn refuse(decision: &mut TlsDecision, message: String) {
    decision.state.insert(REFUSED_KEY.into(), message.clone());
    decision.refused = Some(message);
}

fn read_unit_secret(tools: &HookTools, label: &str) -> Result<SecretContent> {
    match tools.secret_get(None, Some(label), SecretGetMode::Peek) {
        Ok(content) => Ok(content),
        Err(e) if e.is_secret_not_found() => Ok(SecretContent::new()),
        Err(e) => Err(e).context("reading the unit's TLS secret"),
    }
}

fn write_unit_secret(tools: &HookTools, label: &str, content: &SecretContent) -> Result<()> {
    if content.is_empty() {
        return remove_secret(tools, label);
    }
    put_secret(
        tools,
        label,
        "this unit's TLS key, certificate and trusted CAs",
        SecretOwner::Unit,
        content,
    )
    .map(drop)
}

/// The CA (and chain) a certificate_transfer provider publishes: v1 puts a JSON list of PEMs
/// under `certificates` in its application bag; v0 puts `ca` (and `chain`, a JSON list) in its
/// units' bags. Every PEM must parse as a certificate; `None` when nothing is published yet.
fn received_cas(
    tools: &HookTools,
    relation: &RelationRef,
    remote_app: &str,
    remote_unit: Option<&str>,
) -> Result<Option<String>> {
    let app = tools.relation_get(relation, &Target::App(remote_app.to_string()))?;
    let mut pems: Vec<String> = Vec::new();
    if let Some(list) = app.get("certificates") {
        pems = serde_json::from_str::<Vec<String>>(list)
            .map_err(|_| anyhow::anyhow!("`certificates` is not a JSON list of PEM strings"))?;
    } else if let Some(unit) = remote_unit {
        let data = tools.relation_get(relation, &Target::Unit(unit.to_string()))?;
        if let Some(ca) = data.get("ca") {
            pems.push(ca.clone());
        }
        if let Some(chain) = data.get("chain") {
            let chain = serde_json::from_str::<Vec<String>>(chain)
                .map_err(|_| anyhow::anyhow!("`chain` is not a JSON list of PEM strings"))?;
            for c in chain {
                if !pems.iter().any(|p| same_pem(p, &c)) {
                    pems.push(c);
                }
            }
        }
    }
    if pems.is_empty() {
        return Ok(None);
    }
    for pem in &pems {
        let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .map_err(|_| anyhow::anyhow!("a published CA is not PEM"))?;
        parsed
            .parse_x509()
            .map_err(|_| anyhow::anyhow!("a published CA is not an X.509 certificate"))?;
    }
    Ok(Some(
        pems.iter()
            .map(|p| format!("{}\n", p.trim()))
            .collect::<String>(),
    ))
}
