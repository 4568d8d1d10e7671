//! System-user passwords: generation from the OS CSPRNG and the keys of the peer secret.
//!
//! The reference charm keeps every internal password in one application-owned Juju secret
//! labelled `database-peers.<app>.app`, one content key per user (`operator-password`, …). We keep
//! the same labels and keys so that a refresh from the reference charm finds its passwords.
//!
//! Randomness is an argument ([`generate_password`]); [`new_password`] is the thin wrapper that
//! draws from the operating system.

use juju::Secret;
use rand::Rng;
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;

/// Length of the passwords the charm generates for its system users (stricter than the
/// reference's 16; DESIGN §6).
pub const SYSTEM_PASSWORD_LEN: usize = 32;

/// Length of the passwords generated for client-relation users (as the reference).
pub const RELATION_PASSWORD_LEN: usize = 16;

/// The 62 characters passwords are drawn from: `[A-Za-z0-9]`. Nothing in it needs quoting in SQL,
/// YAML, URLs or a shell.
pub const PASSWORD_ALPHABET: &[u8; 62] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The database system users, in the order of the reference's `SYSTEM_USERS` (it appears in the
/// set-password error message).
pub const SYSTEM_USERS: [&str; 5] = ["backup", "replication", "rewind", "operator", "monitoring"];

/// The HTTP basic-auth user of Patroni's REST API. Not a database role.
pub const PATRONI_USERNAME: &str = "patroni";

/// The app-secret key holding Patroni's REST API password.
pub const PATRONI_PASSWORD_KEY: &str = "patroni-password";

/// A database user the charm (or Patroni) owns, whose password lives in the app peer secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SystemUser {
    /// `backup`: SUPERUSER, used by pgBackRest.
    Backup,
    /// `replication`: REPLICATION LOGIN, Patroni's streaming-replication user.
    Replication,
    /// `rewind`: LOGIN plus the pg_rewind function grants; Patroni's pg_rewind user.
    Rewind,
    /// `operator`: SUPERUSER, the charm's own connection and Patroni's superuser.
    Operator,
    /// `monitoring`: LOGIN, member of `pg_monitor`; the metrics exporter's user.
    Monitoring,
}

impl SystemUser {
    /// Every system user, in [`SYSTEM_USERS`] order.
    pub const ALL: [SystemUser; 5] = [
        SystemUser::Backup,
        SystemUser::Replication,
        SystemUser::Rewind,
        SystemUser::Operator,
        SystemUser::Monitoring,
    ];

    /// The database role name.
    pub fn username(self) -> &'static str {
        match self {
            SystemUser::Backup => "backup",
            SystemUser::Replication => "replication",
            SystemUser::Rewind => "rewind",
            SystemUser::Operator => "operator",
            SystemUser::Monitoring => "monitoring",
        }
    }

    /// The key of this user's password in the app peer secret (`<user>-password`).
    pub fn secret_key(self) -> &'static str {
        match self {
            SystemUser::Backup => "backup-password",
            SystemUser::Replication => "replication-password",
            SystemUser::Rewind => "rewind-password",
            SystemUser::Operator => "operator-password",
            SystemUser::Monitoring => "monitoring-password",
        }
    }

    /// The system user with this role name; `None` for anything else (including `patroni`, whose
    /// password the set-password action may not change).
    pub fn from_username(name: &str) -> Option<SystemUser> {
        SystemUser::ALL.into_iter().find(|u| u.username() == name)
    }
}

/// Anyone with a password in the app peer secret: a database system user or Patroni's REST API
/// user. This is what leader-elected creates passwords for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InternalUser {
    /// A database role.
    Db(SystemUser),
    /// Patroni's REST API user (`patroni`).
    Patroni,
}

impl InternalUser {
    /// Every internal user: the system users, then Patroni.
    pub const ALL: [InternalUser; 6] = [
        InternalUser::Db(SystemUser::Backup),
        InternalUser::Db(SystemUser::Replication),
        InternalUser::Db(SystemUser::Rewind),
        InternalUser::Db(SystemUser::Operator),
        InternalUser::Db(SystemUser::Monitoring),
        InternalUser::Patroni,
    ];

    /// The user name (a role name, or `patroni`).
    pub fn username(self) -> &'static str {
        match self {
            InternalUser::Db(user) => user.username(),
            InternalUser::Patroni => PATRONI_USERNAME,
        }
    }

    /// The key of this user's password in the app peer secret.
    pub fn secret_key(self) -> &'static str {
        match self {
            InternalUser::Db(user) => user.secret_key(),
            InternalUser::Patroni => PATRONI_PASSWORD_KEY,
        }
    }

    /// The internal user with this name, if any.
    pub fn from_username(name: &str) -> Option<InternalUser> {
        InternalUser::ALL.into_iter().find(|u| u.username() == name)
    }
}

/// The label of the application-owned peer secret: `database-peers.<app>.app`.
pub fn app_secret_label(app: &str) -> String {
    format!("database-peers.{app}.app")
}

/// The label of the unit-owned peer secret (TLS key and certificates): `database-peers.<app>.unit`.
pub fn unit_secret_label(app: &str) -> String {
    format!("database-peers.{app}.unit")
}

/// The passwords of the five system users, as [`crate::postgres::ensure_system_users`] applies
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemPasswords {
    /// `operator-password`.
    pub operator: Secret,
    /// `replication-password`.
    pub replication: Secret,
    /// `rewind-password`.
    pub rewind: Secret,
    /// `monitoring-password`.
    pub monitoring: Secret,
    /// `backup-password`.
    pub backup: Secret,
}

impl SystemPasswords {
    /// Fresh passwords of [`SYSTEM_PASSWORD_LEN`] characters for every system user, from `rng`.
    pub fn generate<R: Rng + ?Sized>(rng: &mut R) -> SystemPasswords {
        let mut next = || generate_password(rng, SYSTEM_PASSWORD_LEN);
        SystemPasswords {
            operator: next(),
            replication: next(),
            rewind: next(),
            monitoring: next(),
            backup: next(),
        }
    }

    /// The password of `user`.
    pub fn get(&self, user: SystemUser) -> &Secret {
        match user {
            SystemUser::Backup => &self.backup,
            SystemUser::Replication => &self.replication,
            SystemUser::Rewind => &self.rewind,
            SystemUser::Operator => &self.operator,
            SystemUser::Monitoring => &self.monitoring,
        }
    }
}

/// A password of `len` characters from [`PASSWORD_ALPHABET`], each drawn uniformly from `rng`.
///
/// Uniform means no modulo bias: a random byte is used only when it is below 248 (4 × 62), and
/// then reduced modulo 62; other bytes are thrown away. Pass a cryptographically secure generator
/// for anything real ([`new_password`] does); tests pass a seeded one.
pub fn generate_password<R: Rng + ?Sized>(rng: &mut R, len: usize) -> Secret {
    const ACCEPT_BELOW: u8 = (PASSWORD_ALPHABET.len() * 4) as u8;
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rng.fill_bytes(&mut buf);
        for &b in buf.iter().filter(|&&b| b < ACCEPT_BELOW) {
            if out.len() == len {
                break;
            }
            out.push(char::from(
                PASSWORD_ALPHABET[usize::from(b) % PASSWORD_ALPHABET.len()],
            ));
        }
    }
    // Best effort: do not leave the raw random bytes on the stack.
    buf.fill(0);
    std::hint::black_box(&mut buf);
    Secret::new(out)
}

/// A password of `len` characters drawn from the operating system's CSPRNG (`getrandom`).
///
/// # Panics
/// If the operating system cannot provide randomness, which on Linux does not happen once the
/// kernel's pool is initialised.
pub fn new_password(len: usize) -> Secret {
    generate_password(&mut UnwrapErr(SysRng), len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn passwords_have_the_length_and_alphabet_asked_for() {
        let mut rng = StdRng::seed_from_u64(7);
        for len in [0, 1, 16, 32, 100] {
            let pw = generate_password(&mut rng, len);
            assert_eq!(pw.expose().len(), len);
            assert!(pw.expose().bytes().all(|b| PASSWORD_ALPHABET.contains(&b)));
        }
        let pw = new_password(SYSTEM_PASSWORD_LEN);
        assert_eq!(pw.expose().len(), 32);
        assert!(pw.expose().bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(new_password(32), pw);
    }

    #[test]
    fn the_same_seed_gives_the_same_password() {
        let a = generate_password(&mut StdRng::seed_from_u64(1), 32);
        let b = generate_password(&mut StdRng::seed_from_u64(1), 32);
        assert_eq!(a, b);
    }

    /// A generator that returns the bytes 0, 1, 2, …, 255, 0, … in order.
    struct Counter(u8);

    impl rand::TryRng for Counter {
        type Error = std::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            let mut b = [0; 4];
            self.try_fill_bytes(&mut b)?;
            Ok(u32::from_le_bytes(b))
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            let mut b = [0; 8];
            self.try_fill_bytes(&mut b)?;
            Ok(u64::from_le_bytes(b))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for d in dst {
                *d = self.0;
                self.0 = self.0.wrapping_add(1);
            }
            Ok(())
        }
    }

    #[test]
    fn every_character_is_equally_likely() {
        // Over one full cycle of byte values, the 248 accepted bytes map to each of the 62
        // characters exactly 4 times, and the bytes 248..=255 are rejected.
        let pw = generate_password(&mut Counter(0), 248);
        let mut counts = [0usize; 62];
        for b in pw.expose().bytes() {
            counts[PASSWORD_ALPHABET.iter().position(|&c| c == b).unwrap()] += 1;
        }
        assert!(counts.iter().all(|&n| n == 4), "{counts:?}");
        // After byte 247 the next accepted byte is 0 (the next cycle): 'A', not a wrapped one.
        let pw = generate_password(&mut Counter(246), 3);
        assert_eq!(pw.expose(), "89A");
    }

    #[test]
    fn users_and_keys_match_the_reference() {
        let names: Vec<_> = SystemUser::ALL.iter().map(|u| u.username()).collect();
        assert_eq!(names, SYSTEM_USERS);
        for user in SystemUser::ALL {
            assert_eq!(user.secret_key(), format!("{}-password", user.username()));
            assert_eq!(SystemUser::from_username(user.username()), Some(user));
        }
        assert_eq!(SystemUser::from_username("patroni"), None);
        assert_eq!(SystemUser::from_username("postgres"), None);
        assert_eq!(
            InternalUser::from_username("patroni"),
            Some(InternalUser::Patroni)
        );
        assert_eq!(InternalUser::Patroni.secret_key(), "patroni-password");
        let keys: Vec<_> = InternalUser::ALL.iter().map(|u| u.secret_key()).collect();
        for key in [
            "operator-password",
            "replication-password",
            "rewind-password",
            "monitoring-password",
            "patroni-password",
            "backup-password",
        ] {
            assert!(keys.contains(&key), "{key}");
        }
        assert_eq!(app_secret_label("pg"), "database-peers.pg.app");
        assert_eq!(unit_secret_label("pg"), "database-peers.pg.unit");
    }

    #[test]
    fn system_passwords_are_distinct_and_long() {
        let pws = SystemPasswords::generate(&mut StdRng::seed_from_u64(3));
        let all: Vec<_> = SystemUser::ALL.iter().map(|&u| pws.get(u)).collect();
        for (i, a) in all.iter().enumerate() {
            assert_eq!(a.expose().len(), SYSTEM_PASSWORD_LEN);
            assert!(all[i + 1..].iter().all(|b| b != a));
        }
        assert!(!format!("{pws:?}").contains(pws.operator.expose()));
    }
}
