//! Pebble's `MergeServiceContext`: exec requests and exec checks may name a plan service whose
//! environment, user, group and working directory are the defaults for the command.

use std::collections::BTreeMap;

use pebble::Plan;

use super::users::Identity;

/// Environment, identity and working directory for a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextOptions {
    /// Extra environment (on top of Pebble's).
    pub environment: BTreeMap<String, String>,
    /// Who to run as.
    pub identity: Identity,
    /// Working directory (empty: the default).
    pub working_dir: String,
}

/// `overrides` on top of the context service's settings; no service name means `overrides`
/// as they are. Unknown service: `context service "x" not found`.
pub fn merge(
    plan: &Plan,
    service: &str,
    overrides: ContextOptions,
) -> Result<ContextOptions, String> {
    if service.is_empty() {
        return Ok(overrides);
    }
    let base = plan
        .services
        .get(service)
        .ok_or_else(|| format!("context service {service:?} not found"))?;
    let mut environment = base.environment.clone();
    environment.extend(overrides.environment);
    let identity = Identity {
        user_id: overrides.identity.user_id.or(base.user_id),
        user: pick(overrides.identity.user, &base.user),
        group_id: overrides.identity.group_id.or(base.group_id),
        group: pick(overrides.identity.group, &base.group),
    };
    Ok(ContextOptions {
        environment,
        identity,
        working_dir: pick(overrides.working_dir, &base.working_dir),
    })
}

fn pick(preferred: String, fallback: &str) -> String {
    if preferred.is_empty() {
        fallback.to_owned()
    } else {
        preferred
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win() {
        let layer = pebble::Layer::from_yaml(
            "services:\n  s:\n    override: replace\n    command: x\n    environment: {A: a, B: b}\n    user: root\n    working-dir: /tmp\n",
        )
        .unwrap();
        let plan = Plan::combine([("l", &layer)]).unwrap();
        let merged = merge(
            &plan,
            "s",
            ContextOptions {
                environment: BTreeMap::from([("B".into(), "x".into())]),
                ..ContextOptions::default()
            },
        )
        .unwrap();
        assert_eq!(merged.environment["A"], "a");
        assert_eq!(merged.environment["B"], "x");
        assert_eq!(merged.identity.user, "root");
        assert_eq!(merged.working_dir, "/tmp");
        assert_eq!(
            merge(&plan, "nope", ContextOptions::default()),
            Err("context service \"nope\" not found".into())
        );
    }
}
