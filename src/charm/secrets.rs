//! The application peer secret (`database-peers.<app>.app`) and its content keys (spec §6.2).

use anyhow::{Context as _, Result};
use juju::{HookTools, Secret, SecretContent, SecretOptions, SecretOwner};

use crate::passwords::{PATRONI_PASSWORD_KEY, SystemPasswords, SystemUser};

/// Every internal password: the database system users and Patroni's REST API user.
#[derive(Debug, Clone)]
pub struct Passwords {
    /// Database system users.
    pub system: SystemPasswords,
    /// Patroni's REST API basic-auth password.
    pub patroni: Secret,
}

/// A secret the charm owns and finds by label, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its id.
    pub id: String,
    /// It did not exist and was created now.
    pub created: bool,
}

/// Store `content` in the charm-owned secret labelled `label`: a new revision when it exists
/// (Juju's tools skip identical content), `secret-add` with `description` when it does not.
pub fn put_secret(
    tools: &HookTools,
    label: &str,
    description: &str,
    owner: SecretOwner,
    content: &SecretContent,
) -> Result<Stored> {
    match tools.secret_info_get(None, Some(label)) {
        Ok(info) => {
            tools
                .secret_set(&info.id, Some(content), &SecretOptions::owned_by(owner))
                .with_context(|| format!("updating secret {label}"))?;
            Ok(Stored {
                id: info.id,
                created: false,
            })
        }
        Err(e) if e.is_secret_not_found() => {
            let id = tools
                .secret_add(
                    content,
                    &SecretOptions {
                        label: Some(label.to_string()),
                        description: Some(description.to_string()),
                        ..SecretOptions::owned_by(owner)
                    },
                )
                .with_context(|| format!("storing secret {label}"))?;
            Ok(Stored { id, created: true })
        }
        Err(e) => Err(e).with_context(|| format!("looking up secret {label}")),
    }
}

/// Remove the charm-owned secret labelled `label`, if there is one.
pub fn remove_secret(tools: &HookTools, label: &str) -> Result<()> {
    match tools.secret_info_get(None, Some(label)) {
        Ok(info) => tools
            .secret_remove(&info.id, None)
            .with_context(|| format!("removing secret {label}")),
        Err(e) if e.is_secret_not_found() => Ok(()),
        Err(e) => Err(e).with_context(|| format!("looking up secret {label}")),
    }
}

/// Read the passwords from the secret's content; `None` when a key is missing (a secret written
/// by an older revision, or by the reference charm, which keeps no `backup-password`).
pub fn passwords_from_content(content: &SecretContent) -> Option<Passwords> {
    let get = |key: &str| content.get(key).filter(|s| !s.is_empty()).cloned();
    Some(Passwords {
        system: SystemPasswords {
            operator: get(SystemUser::Operator.secret_key())?,
            replication: get(SystemUser::Replication.secret_key())?,
            rewind: get(SystemUser::Rewind.secret_key())?,
            monitoring: get(SystemUser::Monitoring.secret_key())?,
            backup: get(SystemUser::Backup.secret_key())?,
        },
        patroni: get(PATRONI_PASSWORD_KEY)?,
    })
}

/// The secret content for `passwords`.
pub fn passwords_to_content(passwords: &Passwords) -> SecretContent {
    let mut content = SecretContent::new();
    for user in SystemUser::ALL {
        content.insert(
            user.secret_key().to_string(),
            passwords.system.get(user).clone(),
        );
    }
    content.insert(PATRONI_PASSWORD_KEY.to_string(), passwords.patroni.clone());
    content
}

/// Fill in what `existing` lacks with fresh passwords, keeping every existing one.
pub fn complete(existing: &SecretContent, fresh: &Passwords) -> SecretContent {
    let mut content = passwords_to_content(fresh);
    for (k, v) in existing {
        if !v.is_empty() {
            content.insert(k.clone(), v.clone());
        }
    }
    content
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seed: &str) -> Passwords {
        let s = |u: &str| Secret::new(format!("{seed}-{u}"));
        Passwords {
            system: SystemPasswords {
                operator: s("op"),
                replication: s("re"),
                rewind: s("rw"),
                monitoring: s("mo"),
                backup: s("ba"),
            },
            patroni: s("pa"),
        }
    }

    #[test]
    fn round_trips_and_completes_without_overwriting() {
        let content = passwords_to_content(&sample("a"));
        assert_eq!(content["operator-password"].expose(), "a-op");
        assert_eq!(content["patroni-password"].expose(), "a-pa");
        let back = passwords_from_content(&content).unwrap();
        assert_eq!(back.system.monitoring.expose(), "a-mo");
        // A reference-charm secret has no backup password: completed, the rest kept.
        let mut old = content.clone();
        old.remove("backup-password");
        assert!(passwords_from_content(&old).is_none());
        let done = complete(&old, &sample("b"));
        assert_eq!(done["operator-password"].expose(), "a-op");
        assert_eq!(done["backup-password"].expose(), "b-ba");
    }
}
