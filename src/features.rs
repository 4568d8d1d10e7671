//! What this revision of the charm implements, so that every hook and action that reaches a
//! feature not built yet says so plainly instead of pretending to work.

/// One feature area and the endpoints and actions that belong to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    /// Short name used in log lines and the README's feature table.
    pub name: &'static str,
    /// Relation endpoints owned by the feature.
    pub endpoints: &'static [&'static str],
    /// Actions owned by the feature.
    pub actions: &'static [&'static str],
    /// Whether this revision implements it.
    pub implemented: bool,
}

/// Every feature of the interface (metadata.yaml, actions.yaml), in README order.
pub const FEATURES: &[Feature] = &[
    Feature {
        name: "PostgreSQL under Patroni, system users and passwords",
        endpoints: &["database-peers", "restart", "etcd"],
        actions: &["get-password", "set-password", "get-primary"],
        implemented: true,
    },
    Feature {
        name: "TLS (certificates relation)",
        endpoints: &["certificates", "receive-ca-cert"],
        actions: &["set-tls-private-key"],
        implemented: true,
    },
    Feature {
        name: "Client applications (database)",
        endpoints: &["database"],
        actions: &["rotate-client-password"],
        implemented: true,
    },
    Feature {
        name: "Legacy client applications (db, db-admin)",
        endpoints: &["db", "db-admin"],
        actions: &[],
        implemented: true,
    },
    Feature {
        name: "Backups to S3 with pgBackRest",
        endpoints: &["s3-parameters"],
        actions: &["create-backup", "list-backups", "restore"],
        implemented: true,
    },
    Feature {
        name: "Observability (COS): metrics, alert rules, dashboards",
        endpoints: &["metrics-endpoint", "grafana-dashboard"],
        actions: &[],
        implemented: true,
    },
    Feature {
        name: "Tracing of the charm's hooks",
        endpoints: &["tracing"],
        actions: &[],
        implemented: true,
    },
    Feature {
        name: "Log forwarding to Loki (logging)",
        endpoints: &["logging"],
        actions: &[],
        implemented: true,
    },
    Feature {
        name: "Refresh (upgrade protocol)",
        endpoints: &["upgrade"],
        actions: &["pre-upgrade-check", "resume-upgrade"],
        implemented: false,
    },
    Feature {
        name: "Asynchronous replication between clusters",
        endpoints: &["replication", "replication-offer"],
        actions: &["create-replication", "promote-to-primary"],
        implemented: false,
    },
    Feature {
        name: "LDAP authentication",
        endpoints: &["ldap"],
        actions: &[],
        implemented: false,
    },
];

/// The feature that owns a relation endpoint.
pub fn for_endpoint(endpoint: &str) -> Option<&'static Feature> {
    FEATURES.iter().find(|f| f.endpoints.contains(&endpoint))
}

/// The feature that owns an action.
pub fn for_action(action: &str) -> Option<&'static Feature> {
    FEATURES.iter().find(|f| f.actions.contains(&action))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_and_action_has_one_owner() {
        let mut endpoints: Vec<&str> = FEATURES.iter().flat_map(|f| f.endpoints).copied().collect();
        let mut actions: Vec<&str> = FEATURES.iter().flat_map(|f| f.actions).copied().collect();
        let (ne, na) = (endpoints.len(), actions.len());
        endpoints.sort_unstable();
        endpoints.dedup();
        actions.sort_unstable();
        actions.dedup();
        assert_eq!((endpoints.len(), actions.len()), (ne, na), "owned twice");
        assert_eq!(
            for_endpoint("certificates").unwrap().actions,
            ["set-tls-private-key"]
        );
        assert_eq!(
            for_action("list-backups").unwrap().name,
            "Backups to S3 with pgBackRest"
        );
        assert!(for_endpoint("nope").is_none());
    }

    #[test]
    fn covers_exactly_the_interface_files() {
        let metadata: serde_yaml::Value =
            serde_yaml::from_str(include_str!("../metadata.yaml")).unwrap();
        let mut declared: Vec<String> = ["peers", "provides", "requires"]
            .iter()
            .flat_map(|section| metadata[*section].as_mapping().unwrap().keys())
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        declared.sort();
        let mut owned: Vec<String> = FEATURES
            .iter()
            .flat_map(|f| f.endpoints)
            .map(|e| e.to_string())
            .collect();
        owned.sort();
        assert_eq!(owned, declared);

        let actions: serde_yaml::Mapping =
            serde_yaml::from_str(include_str!("../actions.yaml")).unwrap();
        let mut declared: Vec<String> = actions
            .keys()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        declared.sort();
        let mut owned: Vec<String> = FEATURES
            .iter()
            .flat_map(|f| f.actions)
            .map(|a| a.to_string())
            .collect();
        owned.sort();
        assert_eq!(owned, declared);
    }
}
