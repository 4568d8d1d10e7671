//! The hook context: who we are and what happened, read once from the `JUJU_*` environment.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::event::Event;

/// Everything Juju tells a dispatch process through its environment (spec §A.4).
///
/// Built once in `main` from a map (so tests need no process environment) and passed down;
/// nothing deeper reads the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The event this process runs for.
    pub event: Event,
    /// `JUJU_DISPATCH_PATH` (`hooks/install`, `actions/get-password`).
    pub dispatch_path: String,
    /// This unit (`postgresql-k8s/0`).
    pub unit_name: String,
    /// This application (the part of the unit name before `/`).
    pub app_name: String,
    /// This unit's number (the part after `/`).
    pub unit_number: u32,
    /// Model name (`JUJU_MODEL_NAME`); the Kubernetes namespace for sidecar charms.
    pub model_name: String,
    /// Model UUID (`JUJU_MODEL_UUID`).
    pub model_uuid: String,
    /// Juju agent version (`JUJU_VERSION`; `0.0.0` when absent, as ops does).
    pub juju_version: Version,
    /// The charm directory (`JUJU_CHARM_DIR`, falling back to the legacy `CHARM_DIR`).
    pub charm_dir: PathBuf,
    /// `JUJU_AVAILABILITY_ZONE`, when set.
    pub availability_zone: Option<String>,
    /// `JUJU_DEBUG` is set: debug mode requested by the operator.
    pub debug: bool,
    /// True when the pod environment says we run in Kubernetes (`KUBERNETES_SERVICE_HOST`).
    pub in_kubernetes: bool,
}

impl Context {
    /// Read the context from an environment map.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Context> {
        let get = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        let need = |name: &str| {
            get(name).ok_or_else(|| Error::Env {
                var: name.to_string(),
                reason: "not set (is this running under Juju?)".to_string(),
            })
        };
        let dispatch_path = need("JUJU_DISPATCH_PATH")?;
        let unit_name = need("JUJU_UNIT_NAME")?;
        let (app_name, number) = unit_name.rsplit_once('/').ok_or_else(|| Error::Env {
            var: "JUJU_UNIT_NAME".into(),
            reason: format!("{unit_name:?} is not <application>/<number>"),
        })?;
        let unit_number = number.parse().map_err(|_| Error::Env {
            var: "JUJU_UNIT_NAME".into(),
            reason: format!("{unit_name:?} does not end in a number"),
        })?;
        let juju_version = match get("JUJU_VERSION") {
            Some(v) => Version::parse(&v).ok_or_else(|| Error::Env {
                var: "JUJU_VERSION".into(),
                reason: format!("{v:?} is not a version"),
            })?,
            None => Version::default(),
        };
        let charm_dir = get("JUJU_CHARM_DIR")
            .or_else(|| get("CHARM_DIR"))
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let event = Event::parse(&dispatch_path, env)?;
        Ok(Context {
            event,
            app_name: app_name.to_string(),
            unit_number,
            unit_name: unit_name.clone(),
            model_name: need("JUJU_MODEL_NAME")?,
            model_uuid: need("JUJU_MODEL_UUID")?,
            juju_version,
            charm_dir,
            availability_zone: get("JUJU_AVAILABILITY_ZONE"),
            debug: env.contains_key("JUJU_DEBUG"),
            in_kubernetes: get("KUBERNETES_SERVICE_HOST").is_some(),
            dispatch_path,
        })
    }

    /// Read the context from this process's environment (the only place this crate reads it).
    pub fn from_process_env() -> Result<Context> {
        Context::from_env(&process_env())
    }

    /// The Kubernetes pod name of this unit (`<app>-<n>`).
    pub fn pod_name(&self) -> String {
        format!("{}-{}", self.app_name, self.unit_number)
    }
}

/// This process's environment as a map (lossy for non-UTF-8 values, which Juju never sets).
pub fn process_env() -> HashMap<String, String> {
    #[allow(clippy::disallowed_methods)] // the one place the environment is read
    std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// A Juju version (`3.6.4`, `3.6-beta1`, `2.9.49.1`): compared numerically on major.minor.patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Version {
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Patch number (0 for tagged pre-releases such as `3.6-beta1`).
    pub patch: u32,
}

impl Version {
    /// Parse `major.minor[.patch[.build]]` or `major.minor-tagN`.
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor_text = parts.next()?;
        let minor = minor_text.split('-').next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => p.split('-').next()?.parse().ok()?,
            None => 0,
        };
        Some(Version {
            major,
            minor,
            patch,
        })
    }

    /// True when this version is at least `major.minor.patch`.
    pub fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        *self
            >= Version {
                major,
                minor,
                patch,
            }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> HashMap<String, String> {
        [
            ("JUJU_DISPATCH_PATH", "hooks/update-status"),
            ("JUJU_HOOK_NAME", "update-status"),
            ("JUJU_UNIT_NAME", "postgresql-k8s/2"),
            ("JUJU_MODEL_NAME", "dev"),
            ("JUJU_MODEL_UUID", "cdac5656-2423-4388-8f30-41854b4cca7d"),
            ("JUJU_VERSION", "3.6.4"),
            (
                "JUJU_CHARM_DIR",
                "/var/lib/juju/agents/unit-postgresql-k8s-2/charm",
            ),
            ("JUJU_AVAILABILITY_ZONE", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn reads_the_hook_environment() {
        let ctx = Context::from_env(&base()).unwrap();
        assert_eq!(ctx.event, Event::UpdateStatus);
        assert_eq!(ctx.app_name, "postgresql-k8s");
        assert_eq!(ctx.unit_number, 2);
        assert_eq!(ctx.pod_name(), "postgresql-k8s-2");
        assert_eq!(ctx.model_name, "dev");
        assert_eq!(
            ctx.juju_version,
            Version {
                major: 3,
                minor: 6,
                patch: 4
            }
        );
        assert_eq!(ctx.availability_zone, None);
        assert!(!ctx.debug && !ctx.in_kubernetes);
        assert_eq!(
            ctx.charm_dir,
            PathBuf::from("/var/lib/juju/agents/unit-postgresql-k8s-2/charm")
        );
    }

    #[test]
    fn missing_or_bad_variables_are_errors() {
        for var in [
            "JUJU_DISPATCH_PATH",
            "JUJU_UNIT_NAME",
            "JUJU_MODEL_NAME",
            "JUJU_MODEL_UUID",
        ] {
            let mut env = base();
            env.remove(var);
            assert!(
                matches!(Context::from_env(&env), Err(Error::Env { var: ref v, .. }) if v == var),
                "{var}"
            );
        }
        let mut env = base();
        env.insert("JUJU_UNIT_NAME".into(), "nounit".into());
        assert!(Context::from_env(&env).is_err());
        let mut env = base();
        env.insert("JUJU_VERSION".into(), "three".into());
        assert!(Context::from_env(&env).is_err());
        let mut env = base();
        env.insert("JUJU_DISPATCH_PATH".into(), "hooks/nope".into());
        assert!(matches!(
            Context::from_env(&env),
            Err(Error::UnknownEvent(_))
        ));
    }

    #[test]
    fn legacy_charm_dir_debug_and_kubernetes() {
        let mut env = base();
        env.remove("JUJU_CHARM_DIR");
        env.insert("CHARM_DIR".into(), "/charm".into());
        env.insert("JUJU_DEBUG".into(), String::new());
        env.insert("KUBERNETES_SERVICE_HOST".into(), "10.152.183.1".into());
        env.remove("JUJU_VERSION");
        let ctx = Context::from_env(&env).unwrap();
        assert_eq!(ctx.charm_dir, PathBuf::from("/charm"));
        assert!(ctx.debug && ctx.in_kubernetes);
        assert_eq!(ctx.juju_version, Version::default());
    }

    #[test]
    fn versions_compare_numerically() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("3.10.0") > v("3.9.9"));
        assert_eq!(
            v("3.6-beta1"),
            Version {
                major: 3,
                minor: 6,
                patch: 0
            }
        );
        assert_eq!(
            v("2.9.49.1"),
            Version {
                major: 2,
                minor: 9,
                patch: 49
            }
        );
        assert!(v("3.6.11").at_least(3, 6, 11));
        assert!(!v("3.6.10").at_least(3, 6, 11));
        assert!(Version::parse("x.y").is_none());
    }
}
