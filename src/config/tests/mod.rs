//! Unit tests of the config module, table-driven where a rule covers many options.

mod mapping;
mod plugins_dcs;
mod table;
mod validation;

use serde_json::{Map, Value as Json};

use super::{Config, ConfigError, Resources};

/// A `config-get` answer holding only these options.
fn map(pairs: &[(&str, Json)]) -> Map<String, Json> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect()
}

fn parse(pairs: &[(&str, Json)]) -> Result<Config, ConfigError> {
    Config::parse(&map(pairs))
}

fn config(pairs: &[(&str, Json)]) -> Config {
    parse(pairs).expect("valid config")
}

/// 8 GiB and 4 vCores: the machine of the worked examples.
const EIGHT_GIB_FOUR_CORES: Resources = Resources {
    cpu_cores: 4,
    memory_bytes: 8 * 1024 * 1024 * 1024,
};
