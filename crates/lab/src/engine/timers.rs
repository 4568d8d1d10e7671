//! Time-driven secret events: `secret-rotate` when an owned secret's rotation policy comes due,
//! `secret-expired` when its expiry passes. The model's clock can be moved forward for tests.

use std::collections::{BTreeMap, BTreeSet};

use super::events::managing_unit;
use super::hooks::Hook;
use crate::state::ModelState;

/// Seconds of a rotation policy (`None` for `never` or unknown).
pub fn rotate_period(policy: &str) -> Option<u64> {
    const DAY: u64 = 86_400;
    Some(match policy {
        "hourly" => 3_600,
        "daily" => DAY,
        "weekly" => 7 * DAY,
        "monthly" => 30 * DAY,
        "quarterly" => 90 * DAY,
        "yearly" => 365 * DAY,
        _ => return None,
    })
}

/// When each secret is next due for rotation, and which expiries have fired.
#[derive(Debug, Default)]
pub struct SecretTimers {
    rotate_due: BTreeMap<String, u64>,
    expired: BTreeSet<(String, u64)>,
}

impl SecretTimers {
    /// The hooks due at `now` (seconds since the epoch, model clock).
    pub fn due(&mut self, state: &ModelState, now: u64) -> Vec<Hook> {
        let mut hooks = Vec::new();
        self.rotate_due
            .retain(|id, _| state.secrets.contains_key(id));
        for (id, secret) in &state.secrets {
            let uri = format!("secret://{}/{id}", state.uuid);
            let Some(unit) = managing_unit(state, &secret.owner) else {
                continue;
            };
            match secret.rotate.as_deref().and_then(rotate_period) {
                Some(period) => {
                    let due = *self.rotate_due.entry(id.clone()).or_insert(now + period);
                    if now >= due {
                        hooks.push(Hook::secret(
                            &unit,
                            "secret-rotate",
                            &uri,
                            secret.label.as_deref(),
                            None,
                        ));
                        self.rotate_due.insert(id.clone(), now + period);
                    }
                }
                None => {
                    self.rotate_due.remove(id);
                }
            }
            let latest = secret.latest();
            if let Some(at) = secret
                .expire
                .as_deref()
                .and_then(crate::agent::parse_rfc3339)
                && now >= at
                && self.expired.insert((id.clone(), latest))
            {
                hooks.push(Hook::secret(
                    &unit,
                    "secret-expired",
                    &uri,
                    secret.label.as_deref(),
                    Some(latest),
                ));
            }
        }
        hooks
    }
}
