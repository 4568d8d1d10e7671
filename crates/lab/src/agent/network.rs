//! `open-port`, `close-port`, `opened-ports`, `network-get` (juju `jujuc/ports.go`,
//! `opened-ports.go`, `network-get.go`; Kubernetes model rules).

use std::collections::BTreeSet;

use super::Cx;
use super::flags::{
    FORMAT, Fail, Flag, Kind, OUTPUT, RELATION, check_empty, format_check, go_atoi, parse, run_err,
    usage_err,
};
use super::format::{Format, GoValue, go_quote};
use crate::agent::ToolAnswer;

const ALL: &[Format] = &[Format::Smart, Format::Json, Format::Yaml];

/// A port range: protocol, from, to (`icmp` has no ports: -1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortRange {
    /// `tcp`, `udp` or `icmp`.
    pub protocol: String,
    /// First port.
    pub from: i64,
    /// Last port.
    pub to: i64,
}

impl PortRange {
    /// Juju's text: `80/tcp`, `8000-8999/udp`, `icmp`.
    pub(crate) fn text(&self) -> String {
        if self.protocol == "icmp" {
            "icmp".into()
        } else if self.from == self.to {
            format!("{}/{}", self.from, self.protocol)
        } else {
            format!("{}-{}/{}", self.from, self.to, self.protocol)
        }
    }

    /// The sort key of `network.SortPortRanges` (protocol, from, to).
    fn key(&self) -> (String, i64, i64) {
        (self.protocol.clone(), self.from, self.to)
    }
}

/// `network.ParsePortRange` (texts of Juju's `core/network`, some reconstructed).
pub(crate) fn parse_port_range(text: &str) -> Result<PortRange, String> {
    let text = text.to_ascii_lowercase();
    let (range, mut protocol) = match text.split_once('/') {
        Some((r, p)) => (r.to_string(), p.to_string()),
        None => (text.clone(), "tcp".to_string()),
    };
    let atoi = |p: &str| {
        go_atoi(p).ok_or_else(|| {
            format!(
                "invalid port {}: strconv.Atoi: parsing {}: invalid syntax",
                go_quote(p),
                go_quote(p)
            )
        })
    };
    let parts: Vec<&str> = range.split('-').collect();
    let (from, to) = match parts.as_slice() {
        ["icmp"] => (-1, -1),
        [p] => {
            let n = atoi(p)?;
            (n, n)
        }
        [a, b] => (atoi(a)?, atoi(b)?),
        _ => return Err(format!("invalid port range {}", go_quote(&range))),
    };
    if from == -1 && parts == ["icmp"] {
        protocol = "icmp".into();
    }
    let pr = PortRange { protocol, from, to };
    if !matches!(pr.protocol.as_str(), "tcp" | "udp" | "icmp") {
        return Err(format!(
            "invalid protocol {}, expected \"tcp\", \"udp\", or \"icmp\"",
            go_quote(&pr.protocol)
        ));
    }
    let invalid = format!("invalid port range {}", pr.text());
    if pr.protocol == "icmp" {
        if pr.from == -1 && pr.to == -1 {
            return Ok(pr);
        }
        return Err(format!(
            "protocol \"icmp\" doesn't support any ports; got \"{}\"",
            pr.from
        ));
    }
    if pr.from > pr.to {
        return Err(invalid);
    }
    if pr.from < 1 || pr.from > 65535 || pr.to < 1 || pr.to > 65535 {
        return Err(format!(
            "{invalid}: port range bounds must be between 1 and 65535"
        ));
    }
    Ok(pr)
}

/// `open-port`/`close-port <port>[/<protocol>] | <from>-<to>[/<protocol>] | icmp
/// [--endpoints a,b]`: buffered in the working copy. Kubernetes models take single ports only.
pub(crate) fn open_port(cx: &mut Cx<'_>, args: &[String], open: bool) -> Result<ToolAnswer, Fail> {
    let tool = if open { "open-port" } else { "close-port" };
    let flags = [
        Flag {
            names: &["endpoints"],
            kind: Kind::Value,
        },
        Flag {
            names: &["format"],
            kind: Kind::Value,
        },
    ];
    let p = parse(args, &flags, &super::flags::no_check)?;
    let Some(first) = p.args.first() else {
        return usage_err("no port or range specified");
    };
    let range = parse_port_range(first).map_err(Fail::Usage)?;
    check_empty(&p.args[1..])?;
    let mut stderr = Vec::new();
    if p.value("format").is_some_and(|f| !f.is_empty()) {
        stderr = format!("--format flag deprecated for command \"{tool}\"").into_bytes();
    }
    if range.from != range.to {
        return run_err(
            "port ranges are not supported for k8s applications, please specify a single port",
        );
    }
    let endpoints: Vec<String> = match p.value("endpoints").filter(|e| !e.is_empty()) {
        None => vec![String::new()],
        Some(list) => list.split(',').map(|e| e.trim().to_string()).collect(),
    };
    let unit = cx.unit();
    let app = cx.app();
    for e in endpoints.iter().filter(|e| !e.is_empty()) {
        let known = e == "juju-info" || cx.charm().is_some_and(|c| c.endpoint(e).is_some());
        if !known {
            // The controller refuses unknown endpoints when it commits (text guessed).
            let verb = if open { "open" } else { "close" };
            return run_err(format!(
                "cannot {verb} {} (unit {}): endpoint {} not defined by application {}",
                range.text(),
                go_quote(&unit),
                go_quote(e),
                go_quote(&app)
            ));
        }
    }
    let Some(u) = cx.ctx.working.units.get_mut(&unit) else {
        return run_err(format!("unit {} not found", go_quote(&unit)));
    };
    let key = range.text();
    for e in endpoints {
        if open {
            match u.ports.get_mut(&key) {
                // Open for all endpoints already covers this one.
                Some(set) if set.is_empty() => {}
                Some(set) if e.is_empty() => set.clear(),
                Some(set) => {
                    set.insert(e);
                }
                None => {
                    let set: BTreeSet<String> = [e].into_iter().filter(|s| !s.is_empty()).collect();
                    u.ports.insert(key.clone(), set);
                }
            }
        } else if e.is_empty() {
            u.ports.remove(&key);
        } else if let Some(set) = u.ports.get_mut(&key)
            && set.remove(&e)
            && set.is_empty()
        {
            u.ports.remove(&key);
        }
    }
    Ok(ToolAnswer {
        stdout: Vec::new(),
        stderr,
        code: 0,
    })
}

/// `opened-ports [--endpoints]`: this unit's port ranges (uncommitted changes included), sorted;
/// with `--endpoints` each followed by ` (*)` or ` (ep1, ep2)`.
pub(crate) fn opened_ports(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let p = parse(
        args,
        &[
            FORMAT,
            OUTPUT,
            Flag {
                names: &["endpoints"],
                kind: Kind::Bool,
            },
        ],
        &format_check(ALL),
    )?;
    check_empty(&p.args)?;
    let mut ranges: Vec<(PortRange, Vec<String>)> = cx
        .ctx
        .working
        .units
        .get(&cx.ctx.unit)
        .map(|u| {
            u.ports
                .iter()
                .filter_map(|(k, eps)| {
                    parse_port_range(k)
                        .ok()
                        .map(|r| (r, eps.iter().cloned().collect()))
                })
                .collect()
        })
        .unwrap_or_default();
    ranges.sort_by_key(|(r, _)| r.key());
    let lines = ranges.into_iter().map(|(r, eps)| {
        if p.flag("endpoints") {
            let descr = if eps.is_empty() {
                "*".to_string()
            } else {
                eps.join(", ")
            };
            format!("{} ({descr})", r.text())
        } else {
            r.text()
        }
    });
    cx.out(&p, Format::Smart)
        .write(&GoValue::strings(lines, false))
}

/// `network-get [-r <id>] <binding> [--bind-address] [--ingress-address] [--egress-subnets]
/// [--primary-address]`: the unit's address for a charm endpoint (or `juju-info`).
pub(crate) fn network_get(cx: &mut Cx<'_>, args: &[String]) -> Result<ToolAnswer, Fail> {
    let b = |n: &'static [&'static str]| Flag {
        names: n,
        kind: Kind::Bool,
    };
    let flags = [
        FORMAT,
        OUTPUT,
        RELATION,
        b(&["primary-address"]),
        b(&["bind-address"]),
        b(&["ingress-address"]),
        b(&["egress-subnets"]),
    ];
    let fmt = format_check(ALL);
    let rel = cx.relation_check();
    let p = parse(args, &flags, &|n, v| {
        rel(n, v)?;
        fmt(n, v)
    })?;
    let Some(binding) = p.args.first().cloned() else {
        return usage_err("no arguments specified");
    };
    if binding.is_empty() {
        return usage_err("no binding name specified");
    }
    let keys: Vec<&str> = ["bind-address", "ingress-address", "egress-subnets"]
        .into_iter()
        .filter(|k| p.flag(k))
        .collect();
    check_empty(&p.args[1..])?;
    let known =
        binding == "juju-info" || cx.charm().is_some_and(|c| c.endpoint(&binding).is_some());
    let address = cx
        .ctx
        .working
        .units
        .get(&cx.ctx.unit)
        .map(|u| u.address.clone())
        .unwrap_or_default();
    if !known || address.is_empty() {
        return run_err(format!(
            "no network config found for binding {}",
            go_quote(&binding)
        ));
    }
    let out = cx.out(&p, Format::Smart);
    let primary = p.flag("primary-address");
    if primary {
        if !keys.is_empty() {
            return run_err("--primary-address must be the only flag specified");
        }
        return out.write(&GoValue::str(address));
    }
    let egress = GoValue::List(vec![GoValue::Str(format!("{address}/32"))]);
    if !keys.is_empty() {
        let value_of = |k: &str| match k {
            "egress-subnets" => egress.clone(),
            _ => GoValue::str(address.clone()),
        };
        if keys.len() == 1 {
            return out.write(&value_of(keys[0]));
        }
        return out.write(&GoValue::map(
            keys.iter().map(|k| (k.to_string(), value_of(k))),
        ));
    }
    let yaml = out.format != Format::Json;
    let mut addr = vec![
        ("hostname".to_string(), GoValue::str("")),
        ("value".into(), GoValue::str(address.clone())),
        ("cidr".into(), GoValue::Str(cidr24(&address))),
    ];
    let mut info = vec![
        ("mac-address".to_string(), GoValue::str("")),
        ("interface-name".into(), GoValue::str("eth0")),
    ];
    if yaml {
        addr.push(("address".into(), GoValue::str(address.clone())));
    }
    info.push(("addresses".into(), GoValue::List(vec![GoValue::Map(addr)])));
    if yaml {
        info.push(("macaddress".into(), GoValue::str("")));
        info.push(("interfacename".into(), GoValue::str("eth0")));
    }
    let value = GoValue::Map(vec![
        (
            "bind-addresses".into(),
            GoValue::List(vec![GoValue::Map(info)]),
        ),
        ("egress-subnets".into(), egress),
        (
            "ingress-addresses".into(),
            GoValue::List(vec![GoValue::str(address)]),
        ),
    ]);
    out.write(&value)
}

/// The /24 network of an IPv4 address (IPv6: the /64; other text: empty).
fn cidr24(address: &str) -> String {
    if let Ok(v4) = address.parse::<std::net::Ipv4Addr>() {
        let o = v4.octets();
        return format!("{}.{}.{}.0/24", o[0], o[1], o[2]);
    }
    if let Ok(v6) = address.parse::<std::net::Ipv6Addr>() {
        let s = v6.segments();
        let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
        return format!("{net}/64");
    }
    String::new()
}
