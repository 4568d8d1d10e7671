//! `open-port`, `close-port`, `opened-ports`, `network-get`, `storage-get`, `storage-list`,
//! `storage-add`, `goal-state`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use super::{HookTools, argv};
use crate::error::{Error, Result};

/// A port protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (Juju's default).
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (no port number).
    Icmp,
}

/// A port or port range as `open-port` takes it and `opened-ports` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Port {
    /// Protocol.
    pub protocol: Protocol,
    /// First port (0 for ICMP).
    pub from: u16,
    /// Last port (equal to `from` for a single port).
    pub to: u16,
}

impl Port {
    /// One TCP port.
    pub fn tcp(port: u16) -> Port {
        Port {
            protocol: Protocol::Tcp,
            from: port,
            to: port,
        }
    }

    /// Parse `5432/tcp`, `8000-8999/udp`, `icmp`, or `80` (TCP).
    pub fn parse(text: &str) -> Option<Port> {
        let text = text.split_whitespace().next()?;
        if text == "icmp" {
            return Some(Port {
                protocol: Protocol::Icmp,
                from: 0,
                to: 0,
            });
        }
        let (range, protocol) = match text.split_once('/') {
            Some((r, "tcp")) => (r, Protocol::Tcp),
            Some((r, "udp")) => (r, Protocol::Udp),
            Some(_) => return None,
            None => (text, Protocol::Tcp),
        };
        let (from, to) = match range.split_once('-') {
            Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
            None => {
                let p = range.parse().ok()?;
                (p, p)
            }
        };
        (from <= to).then_some(Port { protocol, from, to })
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proto = match self.protocol {
            Protocol::Icmp => return f.write_str("icmp"),
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        };
        if self.from == self.to {
            write!(f, "{}/{proto}", self.from)
        } else {
            write!(f, "{}-{}/{proto}", self.from, self.to)
        }
    }
}

/// One address of a binding.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Address {
    /// Host name, often empty.
    #[serde(default)]
    pub hostname: String,
    /// The address (older Juju calls it `address`).
    #[serde(alias = "address")]
    pub value: String,
    /// Its subnet.
    #[serde(default)]
    pub cidr: String,
}

/// One interface of a binding.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BindAddress {
    /// MAC address, often empty.
    #[serde(rename = "mac-address", default)]
    pub mac_address: String,
    /// Interface name (`eth0`).
    #[serde(rename = "interface-name", default)]
    pub interface_name: String,
    /// Addresses on it.
    #[serde(default)]
    pub addresses: Vec<Address>,
}

/// What `network-get` says about a binding.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NetworkInfo {
    /// Interfaces and addresses the unit can bind to.
    #[serde(rename = "bind-addresses", default)]
    pub bind_addresses: Vec<BindAddress>,
    /// Subnets traffic from this unit appears to come from.
    #[serde(rename = "egress-subnets", default)]
    pub egress_subnets: Vec<String>,
    /// Addresses other units should use to reach this one.
    #[serde(rename = "ingress-addresses", default)]
    pub ingress_addresses: Vec<String>,
}

impl NetworkInfo {
    /// The first bind address, which for a sidecar charm is the pod IP.
    pub fn bind_address(&self) -> Option<&str> {
        self.bind_addresses
            .iter()
            .flat_map(|b| &b.addresses)
            .map(|a| a.value.as_str())
            .next()
    }
}

/// What `storage-get` says about one storage instance.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StorageInfo {
    /// `filesystem` or `block`.
    pub kind: String,
    /// Mount point (charm container) or device path.
    pub location: String,
}

/// A unit's or relation's planned status in `goal-state`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct GoalStatus {
    /// `active`, `waiting`, `dying`, `joined`, ...
    pub status: String,
    /// Since when (RFC 3339).
    #[serde(default)]
    pub since: Option<String>,
}

/// What `goal-state` says the model will converge to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
pub struct GoalState {
    /// This application's units.
    #[serde(default)]
    pub units: BTreeMap<String, GoalStatus>,
    /// Per endpoint: remote applications and units.
    #[serde(default)]
    pub relations: BTreeMap<String, BTreeMap<String, GoalStatus>>,
}

impl GoalState {
    /// How many units the application is meant to have (those not dying), as ops'
    /// `planned_units()`.
    pub fn planned_units(&self) -> usize {
        self.units.values().filter(|u| u.status != "dying").count()
    }
}

pub(crate) fn port_args(port: &Port, endpoints: Option<&[&str]>) -> Vec<String> {
    let mut args = vec![port.to_string()];
    if let Some(eps) = endpoints {
        args.push("--endpoints".into());
        args.push(eps.join(","));
    }
    args
}

pub(crate) fn parse_opened_ports(stdout: &[u8]) -> Result<Vec<Port>> {
    let raw: Vec<String> = super::parse_json("opened-ports", stdout)?;
    raw.iter()
        .map(|p| {
            Port::parse(p).ok_or_else(|| Error::Parse {
                tool: "opened-ports".into(),
                message: format!("unknown port {p:?}"),
            })
        })
        .collect()
}

pub(crate) fn network_get_args(binding: &str, relation_id: Option<u64>) -> Vec<String> {
    let mut args = argv(["--format=json"]);
    if let Some(id) = relation_id {
        args.extend(argv(["-r", &id.to_string()]));
    }
    args.push(binding.to_string());
    args
}

pub(crate) fn storage_get_args(id: Option<&str>) -> Vec<String> {
    let mut args = argv(["--format=json"]);
    if let Some(id) = id {
        args.extend(argv(["-s", id]));
    }
    args
}

pub(crate) fn storage_list_args(name: Option<&str>) -> Vec<String> {
    let mut args = argv(["--format=json"]);
    args.extend(name.map(str::to_string));
    args
}

impl HookTools {
    /// `opened-ports --format=json`: the ports this unit has opened.
    pub fn opened_ports(&self) -> Result<Vec<Port>> {
        if let Some(ports) = &self.cache().opened_ports {
            return Ok(ports.clone());
        }
        let stdout = self.call("opened-ports", &argv(["--format=json"]), None)?;
        let ports = parse_opened_ports(&stdout)?;
        self.cache().opened_ports = Some(ports.clone());
        Ok(ports)
    }

    /// `open-port <port>[/<proto>] [--endpoints ..]`. Skipped when this hook already read the
    /// opened ports and the port is among them. Committed when the hook succeeds.
    pub fn open_port(&self, port: &Port, endpoints: Option<&[&str]>) -> Result<()> {
        if endpoints.is_none()
            && let Some(open) = &self.cache().opened_ports
            && open.contains(port)
        {
            return Ok(());
        }
        self.call("open-port", &port_args(port, endpoints), None)?;
        if let Some(open) = &mut self.cache().opened_ports
            && !open.contains(port)
        {
            open.push(*port);
        }
        Ok(())
    }

    /// `close-port <port>[/<proto>] [--endpoints ..]`. Skipped when this hook already read the
    /// opened ports and the port is not among them.
    pub fn close_port(&self, port: &Port, endpoints: Option<&[&str]>) -> Result<()> {
        if endpoints.is_none()
            && let Some(open) = &self.cache().opened_ports
            && !open.contains(port)
        {
            return Ok(());
        }
        self.call("close-port", &port_args(port, endpoints), None)?;
        if let Some(open) = &mut self.cache().opened_ports {
            open.retain(|p| p != port);
        }
        Ok(())
    }

    /// `network-get --format=json [-r <id>] <binding>`: addresses for an endpoint binding.
    pub fn network_get(&self, binding: &str, relation_id: Option<u64>) -> Result<NetworkInfo> {
        let key = (binding.to_string(), relation_id);
        if let Some(info) = self.cache().network.get(&key) {
            return Ok(info.clone());
        }
        let info: NetworkInfo =
            self.call_json("network-get", &network_get_args(binding, relation_id), None)?;
        self.cache().network.insert(key, info.clone());
        Ok(info)
    }

    /// `storage-get --format=json [-s <name>/<index>]`: kind and location of a storage instance
    /// (without an id: the one of the current storage hook).
    pub fn storage_get(&self, id: Option<&str>) -> Result<StorageInfo> {
        let key = id.map(str::to_string);
        if let Some(info) = self.cache().storage.get(&key) {
            return Ok(info.clone());
        }
        let info: StorageInfo = self.call_json("storage-get", &storage_get_args(id), None)?;
        self.cache().storage.insert(key, info.clone());
        Ok(info)
    }

    /// `storage-list --format=json [<name>]`: storage instance ids (`pgdata/0`).
    pub fn storage_list(&self, name: Option<&str>) -> Result<Vec<String>> {
        let key = name.map(str::to_string);
        if let Some(list) = self.cache().storage_list.get(&key) {
            return Ok(list.clone());
        }
        let list: Vec<String> = self.call_json("storage-list", &storage_list_args(name), None)?;
        self.cache().storage_list.insert(key, list.clone());
        Ok(list)
    }

    /// `storage-add <name>=<count>`: ask for more storage (committed when the hook succeeds).
    pub fn storage_add(&self, name: &str, count: u32) -> Result<()> {
        self.call("storage-add", &[format!("{name}={count}")], None)?;
        Ok(())
    }

    /// `goal-state --format=json`: the units and relations the model is converging to.
    pub fn goal_state(&self) -> Result<GoalState> {
        if let Some(goal) = &self.cache().goal_state {
            return Ok(goal.clone());
        }
        let goal: GoalState = self.call_json("goal-state", &argv(["--format=json"]), None)?;
        self.cache().goal_state = Some(goal.clone());
        Ok(goal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_parse_and_print() {
        assert_eq!(Port::parse("5432/tcp"), Some(Port::tcp(5432)));
        assert_eq!(Port::parse("80"), Some(Port::tcp(80)));
        assert_eq!(
            Port::parse("8000-8999/udp"),
            Some(Port {
                protocol: Protocol::Udp,
                from: 8000,
                to: 8999
            })
        );
        assert_eq!(Port::parse("8008/tcp (*)"), Some(Port::tcp(8008)));
        assert_eq!(Port::parse("icmp").unwrap().to_string(), "icmp");
        assert_eq!(Port::parse("9-1/tcp"), None);
        assert_eq!(Port::parse("5/sctp"), None);
        assert_eq!(Port::tcp(5432).to_string(), "5432/tcp");
        assert_eq!(
            port_args(&Port::tcp(8008), Some(&["database", "db"])),
            ["8008/tcp", "--endpoints", "database,db"]
        );
        assert_eq!(
            parse_opened_ports(br#"["5432/tcp", "8000-8999/udp", "icmp", "80"]"#)
                .unwrap()
                .len(),
            4
        );
    }

    #[test]
    fn argv_matches_the_spec() {
        assert_eq!(
            network_get_args("database-peers", Some(3)),
            ["--format=json", "-r", "3", "database-peers"]
        );
        assert_eq!(
            storage_get_args(Some("pgdata/0")),
            ["--format=json", "-s", "pgdata/0"]
        );
        assert_eq!(
            storage_list_args(Some("pgdata")),
            ["--format=json", "pgdata"]
        );
    }

    #[test]
    fn parses_network_and_goal_state() {
        let info: NetworkInfo = serde_json::from_str(
            r#"{"bind-addresses": [{"mac-address": "", "interface-name": "eth0",
                "addresses": [{"hostname": "", "value": "10.1.2.3", "cidr": "10.1.0.0/16"}]}],
                "egress-subnets": ["10.1.2.3/32"], "ingress-addresses": ["10.1.2.3"]}"#,
        )
        .unwrap();
        assert_eq!(info.bind_address(), Some("10.1.2.3"));
        let old: Address = serde_json::from_str(r#"{"address": "10.0.0.1"}"#).unwrap();
        assert_eq!(old.value, "10.0.0.1");
        let goal: GoalState = serde_json::from_str(
            r#"{"units": {"pg/0": {"status": "active", "since": "x"}, "pg/1": {"status": "dying"}},
                "relations": {"database": {"app": {"status": "joined"}}}}"#,
        )
        .unwrap();
        assert_eq!(goal.planned_units(), 1);
        assert_eq!(goal.relations["database"]["app"].status, "joined");
    }
}
