//! Ports, network-get, storage, goal-state, charm state, leader-*, credential-get, config values.

use lab::agent::{new_secret_id, parse_config_value};
use lab::charm::{ConfigOption, ConfigType};
use serde_json::json;

use crate::fixture::{call, call_in, commit, ctx, err, model, ok, rel_ctx};

#[test]
fn ports_open_close_and_list() {
    let mut m = model();
    let mut c = ctx(&m, "pg/0");
    ok(call(&mut m, &mut c, "open-port", &["5432/tcp"]));
    ok(call(
        &mut m,
        &mut c,
        "open-port",
        &["8008", "--endpoints", "database"],
    ));
    ok(call(
        &mut m,
        &mut c,
        "open-port",
        &["--endpoints", "database,database-peers", "8008/tcp"],
    ));
    ok(call(&mut m, &mut c, "open-port", &["53/UDP"]));
    ok(call(&mut m, &mut c, "open-port", &["icmp"]));
    assert_eq!(
        ok(call(&mut m, &mut c, "opened-ports", &["--format=json"])),
        "[\"icmp\",\"5432/tcp\",\"8008/tcp\",\"53/udp\"]\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "opened-ports",
            &["--endpoints", "--format=json"]
        )),
        "[\"icmp (*)\",\"5432/tcp (*)\",\"8008/tcp (database, database-peers)\",\"53/udp (*)\"]\n"
    );
    ok(call(&mut m, &mut c, "close-port", &["53/udp"]));
    ok(call(
        &mut m,
        &mut c,
        "close-port",
        &["8008", "--endpoints", "database"],
    ));
    ok(call(&mut m, &mut c, "close-port", &["9999"]));
    assert_eq!(
        ok(call(&mut m, &mut c, "opened-ports", &[])),
        "icmp\n5432/tcp\n8008/tcp\n"
    );
    assert!(m.units["pg/0"].ports.is_empty(), "buffered until commit");
    assert_eq!(
        err(call(&mut m, &mut c, "open-port", &["8000-8999/tcp"])),
        (1, "ERROR port ranges are not supported for k8s applications, please specify a single port\n".into())
    );
    assert_eq!(
        err(call(&mut m, &mut c, "open-port", &[])),
        (2, "ERROR no port or range specified\n".into())
    );
    assert_eq!(
        err(call(&mut m, &mut c, "open-port", &["80/sctp"])),
        (
            2,
            "ERROR invalid protocol \"sctp\", expected \"tcp\", \"udp\", or \"icmp\"\n".into()
        )
    );
    assert_eq!(err(call(&mut m, &mut c, "open-port", &["0"])).0, 2);
    assert_eq!(
        err(call(
            &mut m,
            &mut c,
            "open-port",
            &["80", "--endpoints", "nope"]
        ))
        .0,
        1
    );
}

#[test]
fn network_get_shapes() {
    let mut m = model();
    let mut c = ctx(&m, "pg/0");
    // ops and our client: --format=json [-r <id>] <binding>.
    let full = "{\"bind-addresses\":[{\"mac-address\":\"\",\"interface-name\":\"eth0\",\"addresses\":[{\"hostname\":\"\",\"value\":\"10.1.2.3\",\"cidr\":\"10.1.2.0/24\"}]}],\"egress-subnets\":[\"10.1.2.3/32\"],\"ingress-addresses\":[\"10.1.2.3\"]}\n";
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "network-get",
            &["--format=json", "database"]
        )),
        full
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "network-get",
            &["--format=json", "-r", "1", "database-peers"]
        )),
        full
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "network-get",
            &["database", "--bind-address"]
        )),
        "10.1.2.3\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "network-get",
            &[
                "database",
                "--ingress-address",
                "--egress-subnets",
                "--format=json"
            ]
        )),
        "{\"egress-subnets\":[\"10.1.2.3/32\"],\"ingress-address\":\"10.1.2.3\"}\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "network-get",
            &["juju-info", "--primary-address"]
        )),
        "10.1.2.3\n"
    );
    assert_eq!(
        err(call(&mut m, &mut c, "network-get", &["nope"])),
        (
            1,
            "ERROR no network config found for binding \"nope\"\n".into()
        )
    );
    assert_eq!(
        err(call(&mut m, &mut c, "network-get", &[])),
        (2, "ERROR no arguments specified\n".into())
    );
    assert_eq!(
        err(call(
            &mut m,
            &mut c,
            "network-get",
            &["-r", "9", "database"]
        )),
        (
            2,
            "ERROR invalid value \"9\" for option -r: relation not found\n".into()
        )
    );
    let yaml = ok(call(&mut m, &mut c, "network-get", &["database"]));
    assert!(yaml.starts_with("bind-addresses:\n- mac-address: \"\"\n  interface-name: eth0\n  addresses:\n  - hostname: \"\"\n    value: 10.1.2.3\n"), "{yaml}");
}

#[test]
fn storage_tools() {
    let mut m = model();
    let mut c = ctx(&m, "pg/0");
    assert_eq!(
        ok(call(&mut m, &mut c, "storage-list", &["--format=json"])),
        "[\"pgdata/0\"]\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "storage-list",
            &["--format=json", "other"]
        )),
        "[]\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "storage-get",
            &["--format=json", "-s", "pgdata/0"]
        )),
        "{\"kind\":\"filesystem\",\"location\":\"/var/lib/pg\"}\n"
    );
    assert_eq!(
        ok(call(
            &mut m,
            &mut c,
            "storage-get",
            &["-s", "pgdata/0", "location"]
        )),
        "/var/lib/pg\n"
    );
    assert_eq!(
        err(call(&mut m, &mut c, "storage-get", &[])),
        (2, "ERROR no storage instance specified\n".into())
    );
    assert_eq!(
        err(call(&mut m, &mut c, "storage-get", &["-s", "bad"])),
        (
            2,
            "ERROR invalid value \"bad\" for option -s: invalid storage ID \"bad\"\n".into()
        )
    );
    // In a storage hook -s defaults to JUJU_STORAGE_ID.
    let mut h = ctx(&m, "pg/0");
    h.env.storage_id = Some("pgdata/0".into());
    assert_eq!(
        ok(call(&mut m, &mut h, "storage-get", &["kind"])),
        "filesystem\n"
    );
    ok(call(&mut m, &mut c, "storage-add", &["pgdata=2"]));
    assert_eq!(
        ok(call(&mut m, &mut c, "storage-list", &["pgdata"])),
        "pgdata/0\npgdata/1\npgdata/2\n"
    );
    assert_eq!(err(call(&mut m, &mut c, "storage-add", &["logs=1"])).0, 1);
}

#[test]
fn goal_state_counts_units_and_relations() {
    let mut m = model();
    m.units.get_mut("pg/1").unwrap().dying = true;
    let mut c = ctx(&m, "pg/0");
    assert_eq!(
        ok(call(&mut m, &mut c, "goal-state", &["--format=json"])),
        "{\"units\":{\"pg/0\":{\"status\":\"waiting\",\"since\":\"2026-01-01T00:00:00Z\"},\"pg/1\":{\"status\":\"dying\",\"since\":\"2026-01-01T00:00:00Z\"}},\"relations\":{\"database\":{\"app\":{\"status\":\"joined\",\"since\":\"2026-01-01T00:00:00Z\"},\"app/0\":{\"status\":\"waiting\",\"since\":\"2026-01-01T00:00:00Z\"},\"app/1\":{\"status\":\"waiting\",\"since\":\"2026-01-01T00:00:00Z\"}}}}\n"
    );
}

#[test]
fn charm_state_get_set_delete() {
    let mut m = model();
    let mut c = ctx(&m, "pg/0");
    assert_eq!(
        ok(call(&mut m, &mut c, "state-get", &["--format=json"])),
        "{}\n"
    );
    ok(call_in(
        &mut m,
        &mut c,
        "state-set",
        &["--file", "-"],
        br#"{"a": "1", "b": "2"}"#,
        "/",
    ));
    ok(call(&mut m, &mut c, "state-set", &["c=3", "b="]));
    assert_eq!(
        ok(call(&mut m, &mut c, "state-get", &["--format=json"])),
        "{\"a\":\"1\",\"c\":\"3\"}\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut c, "state-get", &["--format=json", "a"])),
        "\"1\"\n"
    );
    assert_eq!(
        ok(call(&mut m, &mut c, "state-get", &["--format=json", "zz"])),
        "\"\"\n"
    );
    assert_eq!(
        err(call(&mut m, &mut c, "state-get", &["--strict", "zz"])).0,
        1
    );
    ok(call(&mut m, &mut c, "state-delete", &["a"]));
    assert_eq!(ok(call(&mut m, &mut c, "state-get", &[])), "c: \"3\"\n");
    assert!(m.units["pg/0"].state.is_empty());
    commit(&mut m, c);
    assert_eq!(m.units["pg/0"].state["c"], "3");
    assert_eq!(m.units["pg/1"].state.len(), 0, "state is per unit");
}

#[test]
fn leader_settings_trust_and_resources() {
    let mut m = model();
    let mut c = ctx(&m, "pg/1");
    assert_eq!(
        ok(call(&mut m, &mut c, "leader-get", &["--format=json"])),
        "{}\n"
    );
    assert_eq!(
        err(call(&mut m, &mut c, "leader-set", &["a=b"])),
        (1, "ERROR cannot write settings: not the leader\n".into())
    );
    assert_eq!(
        err(call(&mut m, &mut c, "credential-get", &["--format=json"])),
        (
            1,
            "ERROR cannot access cloud credentials: permission denied\n".into()
        )
    );
    assert_eq!(err(call(&mut m, &mut c, "resource-get", &["image"])).0, 1);
    // A relation hook context answers the same for these.
    let mut h = rel_ctx(&m, "pg/0", 2, Some("app/0"));
    assert_eq!(ok(call(&mut m, &mut h, "leader-get", &["key"])), "");
}

#[test]
fn config_values_for_juju_config() {
    let opt = |kind| ConfigOption {
        kind,
        default: None,
        description: String::new(),
    };
    assert_eq!(
        parse_config_value(&opt(ConfigType::Int), "-7"),
        Ok(json!(-7))
    );
    assert_eq!(
        parse_config_value(&opt(ConfigType::Int), "eighty"),
        Err("expected int, got \"eighty\"".into())
    );
    assert_eq!(
        parse_config_value(&opt(ConfigType::Int), ""),
        Err("expected int, got \"\"".into())
    );
    assert_eq!(
        parse_config_value(&opt(ConfigType::Float), "0.25"),
        Ok(json!(0.25))
    );
    assert_eq!(
        parse_config_value(&opt(ConfigType::Float), "x1"),
        Err("expected float, got \"x1\"".into())
    );
    assert_eq!(
        parse_config_value(&opt(ConfigType::Boolean), "false"),
        Ok(json!(false))
    );
    assert_eq!(
        parse_config_value(&opt(ConfigType::Boolean), "1"),
        Ok(json!(true))
    );
    assert_eq!(
        parse_config_value(&opt(ConfigType::Boolean), "on"),
        Err("expected boolean, got \"on\"".into())
    );
    assert_eq!(
        parse_config_value(&opt(ConfigType::String), " x "),
        Ok(json!(" x "))
    );
    assert_eq!(
        parse_config_value(
            &opt(ConfigType::Secret),
            "secret://cdac5656-2423-4388-8f30-41854b4cca7d/cuh0n7lmp25c7bgqtgsg"
        ),
        Ok(json!(
            "secret://cdac5656-2423-4388-8f30-41854b4cca7d/cuh0n7lmp25c7bgqtgsg"
        ))
    );
    assert_eq!(
        parse_config_value(&opt(ConfigType::Secret), "pw"),
        Err("expected secret, got \"pw\"".into())
    );
    let mut m = model();
    let a = new_secret_id(&mut m);
    let b = new_secret_id(&mut m);
    assert_ne!(a, b);
    assert_eq!(a.len(), 20);
}
