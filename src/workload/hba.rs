//! `pg_hba` rules: the reference's order (spec §5.2), with `scram-sha-256` on every password line
//! and no `trust` anywhere (DESIGN §6).

/// What the rules depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HbaInputs {
    /// TLS is on: every network rule is `hostssl`.
    pub tls: bool,
    /// Addresses (IPs or host names) of the cluster members, for replication.
    pub members: Vec<String>,
    /// Client users and the databases each may connect to (`relation_id_7` → `app_db`).
    pub users: Vec<(String, String)>,
}

/// The rules, one per line, in the order PostgreSQL must see them.
pub fn render_hba(inputs: &HbaInputs) -> Vec<String> {
    let h = if inputs.tls { "hostssl" } else { "host" };
    let mut rules = vec![
        // pgBackRest runs as the OS user postgres and connects as `backup` (pg_ident map).
        "local all backup peer map=operator".to_string(),
        // The exporter and Patroni use the unix socket, with their passwords.
        "local all monitoring scram-sha-256".to_string(),
        "local all operator scram-sha-256".to_string(),
        format!("{h} all +internal_access 0.0.0.0/0 scram-sha-256"),
        // Before the access groups exist (first bring-up), the charm (operator) and pg_rewind
        // (rewind) must still get in.
        format!("{h} all operator 0.0.0.0/0 scram-sha-256"),
        format!("{h} all rewind 0.0.0.0/0 scram-sha-256"),
    ];
    for (user, databases) in &inputs.users {
        rules.push(format!("{h} {databases} {user} 0.0.0.0/0 scram-sha-256"));
    }
    rules.push(format!(
        "{h} replication replication 127.0.0.1/32 scram-sha-256"
    ));
    rules.push(format!(
        "{h} replication replication 127.0.0.6/32 scram-sha-256"
    ));
    for member in &inputs.members {
        let address = if member.parse::<std::net::Ipv4Addr>().is_ok() {
            format!("{member}/32")
        } else {
            member.clone()
        };
        rules.push(format!(
            "{h} replication replication {address} scram-sha-256"
        ));
    }
    rules
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_password_line_is_scram_and_nothing_trusts() {
        let rules = render_hba(&HbaInputs {
            tls: false,
            members: vec![
                "10.1.2.3".into(),
                "pg-1.pg-endpoints.dev.svc.cluster.local".into(),
            ],
            users: vec![("relation_id_7".into(), "app_db".into())],
        });
        assert_eq!(
            rules,
            [
                "local all backup peer map=operator",
                "local all monitoring scram-sha-256",
                "local all operator scram-sha-256",
                "host all +internal_access 0.0.0.0/0 scram-sha-256",
                "host all operator 0.0.0.0/0 scram-sha-256",
                "host all rewind 0.0.0.0/0 scram-sha-256",
                "host app_db relation_id_7 0.0.0.0/0 scram-sha-256",
                "host replication replication 127.0.0.1/32 scram-sha-256",
                "host replication replication 127.0.0.6/32 scram-sha-256",
                "host replication replication 10.1.2.3/32 scram-sha-256",
                "host replication replication pg-1.pg-endpoints.dev.svc.cluster.local scram-sha-256",
            ]
        );
        for rule in &rules {
            assert!(
                !rule.contains("trust") && !rule.contains("md5") && !rule.ends_with(" password")
            );
        }
    }

    #[test]
    fn tls_makes_every_network_rule_hostssl() {
        let rules = render_hba(&HbaInputs {
            tls: true,
            members: vec![],
            users: vec![],
        });
        assert!(
            rules
                .iter()
                .filter(|r| !r.starts_with("local"))
                .all(|r| r.starts_with("hostssl "))
        );
    }
}
